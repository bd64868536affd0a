//! Shoppers: `POST /v1/shoppers` (token optional), the session's shopper `/me` (limited;
//! a limited token sees `"id": "Anonymous"`), `/me/account` and `/me/addresses` (full).

use super::access::{Caller, Full, Limited, TokenOptional, insufficient_scope};
use super::error::{Code, ShopperApiError};
use super::extract::{AppJson, OptionalJson};
use super::shopper_api::{
    ApiQuery, ApiResult, Found, PathResource, bad_request, not_found, path_id,
};
use super::tolerant::{self, opt_bool, opt_object, opt_text};
use super::views::address::{AddressEnvelope, SavedAddressList, SavedAddressView, SavedAddresses};
use super::views::order::PaymentOptions;
use super::views::served_link;
use axum::Json;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use shopkeeper_domain::shopper::{AddressInput, FieldError, NewLogin, ShopperInput};
use shopkeeper_services::auth::{AccessLevel, Principal};
use shopkeeper_services::state::AppState;
use shopkeeper_store::{
    AddressRecord, NewShopper, PaymentSourceRecord, ProfileFields, StoreError, TAKEN_EMAIL,
    TAKEN_EXTERNAL_REFERENCE,
};

const ME: &str = "/v1/shoppers/me";

/// The documented shopper object: `{"shopper": {...}}`.
#[derive(serde::Serialize)]
struct ShopperEnvelope<'a> {
    shopper: ShopperObject<'a>,
}

/// Typed, not a `json!` map: `GET /v1/shoppers/me` is a hot bearer check and the map was most of its time.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ShopperObject<'a> {
    uri: String,
    id: ShopperId,
    username: Option<String>,
    external_reference_id: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email_address: Option<String>,
    locale: String,
    currency: String,
    ip_address: Option<String>,
    send_email: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    links: Option<AccountLinks<'a>>,
}

/// `"Anonymous"` for a limited token, the shopper's id for a full one.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum ShopperId {
    Anonymous(&'static str),
    Shopper(i64),
}

#[derive(serde::Serialize)]
struct Link {
    uri: String,
}

/// The signed-in shopper's resources, linked from the full token's shopper object.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountLinks<'a> {
    addresses: Link,
    account: Link,
    orders: Link,
    /// The link with the options inline, as the docs' shopper samples show them (the same
    /// view `GET /v1/shoppers/me/payment-options` answers the same full token with).
    payment_options: PaymentOptions<'a>,
    /// Only while the route is served (`views::served_link`).
    #[serde(skip_serializing_if = "Option::is_none")]
    subscriptions: Option<super::views::Link>,
    /// The shopper's wish lists (no docs sample names them; served like `subscriptions`).
    #[serde(skip_serializing_if = "Option::is_none")]
    wish_lists: Option<super::views::Link>,
}

const SUBSCRIPTIONS: &str = "/v1/shoppers/me/subscriptions";
const WISH_LISTS: &str = super::views::wish_lists::WISH_LISTS;

/// The documented shopper object of the session behind `principal`; a full token's payment
/// options are read into `options`, which the object borrows.
async fn shopper_object<'a>(
    state: &AppState,
    q: &ApiQuery,
    principal: &Principal,
    options: &'a mut Vec<PaymentSourceRecord>,
) -> ApiResult<ShopperEnvelope<'a>> {
    let session = state
        .store
        .session_snapshot(&principal.session_id, state.clock.now_millis())
        .await?
        .ok_or_else(|| not_found("session"))?;
    let mut shopper = ShopperObject {
        uri: q.uri(ME),
        id: ShopperId::Anonymous("Anonymous"),
        username: None,
        external_reference_id: None,
        first_name: None,
        last_name: None,
        email_address: None,
        locale: session.locale.clone(),
        currency: session.currency.clone(),
        ip_address: session.client_ip.clone(),
        send_email: false,
        links: None,
    };
    if let Some(id) = principal.acting_shopper() {
        let profile = state
            .store
            .profile(id)
            .await?
            .ok_or_else(|| not_found("shopper"))?;
        let link = |path: &str| Link {
            uri: q.uri(&format!("{ME}{path}")),
        };
        shopper.id = ShopperId::Shopper(profile.id);
        shopper.username = profile.username;
        shopper.external_reference_id = profile.external_reference_id;
        shopper.first_name = profile.first_name;
        shopper.last_name = profile.last_name;
        shopper.email_address = profile.email;
        shopper.send_email = profile.send_email;
        *options = state.store.payment_options(id).await?;
        shopper.links = Some(AccountLinks {
            addresses: link("/addresses"),
            account: link("/account"),
            orders: link("/orders"),
            payment_options: PaymentOptions::new(q, options),
            subscriptions: served_link(q, "GET", SUBSCRIPTIONS, SUBSCRIPTIONS),
            wish_lists: served_link(q, "GET", WISH_LISTS, WISH_LISTS),
        });
    }
    Ok(ShopperEnvelope { shopper })
}

// --- request bodies ---------------------------------------------------------------------------

/// The shopper object as clients send it: `{"shopper": {...}}` or, as the docs' e-mail update
/// shows, the bare object. Unknown fields are ignored; booleans may be strings; `sendMail`
/// and `sendEMail` are the docs' other spellings of `sendEmail`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a shopper object")]
struct ShopperWire {
    #[serde(default)]
    id: Option<Value>,
    // Credentials are read strictly: strings only, never a number read as text.
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    external_reference_id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    first_name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    last_name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    email_address: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    locale: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    currency: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    ip_address: Option<String>,
    #[serde(default, alias = "sendemail", deserialize_with = "opt_bool")]
    send_email: Option<bool>,
    #[serde(default, alias = "sendmail", deserialize_with = "opt_bool")]
    send_mail: Option<bool>,
    #[serde(default, rename = "sendEMail", deserialize_with = "opt_bool")]
    send_e_mail: Option<bool>,
}

impl TryFrom<ShopperWire> for ShopperInput {
    type Error = FieldError;

    fn try_from(w: ShopperWire) -> Result<Self, FieldError> {
        let given = [w.send_email, w.send_mail, w.send_e_mail];
        let mut said = given.iter().flatten();
        let send_email = said.next().copied();
        if said.any(|other| Some(*other) != send_email) {
            return Err(FieldError::new(
                "shopper.sendEmail",
                "sendEmail, sendMail and sendEMail disagree",
            ));
        }
        Ok(ShopperInput {
            id: w.id,
            uri: None,
            username: w.username,
            password: w.password,
            external_reference_id: w.external_reference_id,
            first_name: w.first_name,
            last_name: w.last_name,
            email_address: w.email_address,
            locale: w.locale,
            currency: w.currency,
            ip_address: w.ip_address,
            send_email,
        })
    }
}

/// A shopper body (wrapped or bare) as the domain's input; a body that says nothing is an
/// empty one.
fn shopper_input(body: Value) -> ApiResult<ShopperInput> {
    let (inner, at) = tolerant::unwrap_envelope(body, "shopper");
    if tolerant::is_nothing(&inner) {
        return Ok(ShopperInput::default());
    }
    let wire: ShopperWire = tolerant::from_value(inner, at)?;
    Ok(wire.try_into()?)
}

/// A password as the caller's API key sends it: base64-encoded where the key's
/// `password_base64` setting says so (as at the password grant), else as typed.
async fn typed_password(
    state: &AppState,
    caller: &Caller,
    sent: Option<String>,
) -> ApiResult<Option<String>> {
    let Some(sent) = sent else {
        return Ok(None);
    };
    let client = state
        .store
        .client(caller.api_key(), state.clock.now_millis())
        .await?;
    let Some(client) = client else {
        return Ok(Some(sent));
    };
    shopkeeper_services::oauth::password::typed_password(&client, sent)
        .map(Some)
        .ok_or_else(|| {
            bad_request(
                "shopper.password: is not base64 (this API key sends passwords base64-encoded)",
            )
        })
}

/// A saved address as clients send it (the cart's addresses too). Unknown fields are ignored;
/// `isDefault` may be a string.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "an address object")]
pub struct AddressWire {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default, deserialize_with = "opt_text")]
    nick_name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    first_name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    last_name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    company_name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    line1: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    line2: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    line3: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    city: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    country_subdivision: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    postal_code: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    country: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    country_name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    county_name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    phone_number: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    email_address: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    phonetic_first_name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    phonetic_last_name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    division: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    title: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    is_default: Option<bool>,
    #[serde(default, deserialize_with = "opt_bool")]
    is_default_billing: Option<bool>,
    #[serde(default, deserialize_with = "opt_bool")]
    is_default_shipping: Option<bool>,
}

impl From<AddressWire> for AddressInput {
    fn from(w: AddressWire) -> Self {
        AddressInput {
            id: w.id,
            uri: None,
            nick_name: w.nick_name,
            first_name: w.first_name,
            last_name: w.last_name,
            company_name: w.company_name,
            line1: w.line1,
            line2: w.line2,
            line3: w.line3,
            city: w.city,
            country_subdivision: w.country_subdivision,
            postal_code: w.postal_code,
            country: w.country,
            country_name: w.country_name,
            county_name: w.county_name,
            phone_number: w.phone_number,
            email_address: w.email_address,
            phonetic_first_name: w.phonetic_first_name,
            phonetic_last_name: w.phonetic_last_name,
            division: w.division,
            title: w.title,
            is_default: w.is_default,
            is_default_billing: w.is_default_billing,
            is_default_shipping: w.is_default_shipping,
        }
    }
}

/// `{"address": {...}}`
#[derive(Debug, Deserialize)]
#[serde(expecting = "an object {\"address\": {...}}")]
pub struct AddressBody {
    #[serde(deserialize_with = "opt_object", default)]
    address: Option<AddressWire>,
}

impl AddressBody {
    /// The address, required.
    pub fn into_input(self) -> ApiResult<AddressInput> {
        self.address
            .map(AddressInput::from)
            .ok_or_else(|| bad_request("address is required"))
    }
}

// --- handlers ---------------------------------------------------------------------------------

/// A refused shopper write as the documented 409 naming the field that is taken (usernames
/// and e-mail addresses are unique per site without regard to case).
fn taken(e: StoreError) -> ShopperApiError {
    match e {
        StoreError::Conflict(what) => super::shopper_api::conflict(
            Code::ShopperAlreadyExists,
            match what.as_str() {
                TAKEN_EMAIL => "a shopper with this emailAddress already exists",
                TAKEN_EXTERNAL_REFERENCE => {
                    "a shopper with this externalReferenceId already exists"
                }
                _ => "a shopper with this username already exists",
            },
        ),
        other => other.into(),
    }
}

/// `POST /v1/shoppers`: a shopper whose login we keep (username, password, emailAddress) or
/// whose login the client keeps (externalReferenceId), on the caller's site.
pub async fn create(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    q: ApiQuery,
    AppJson(body): AppJson<Value>,
) -> ApiResult<Response> {
    let mut shopper = shopper_input(body)?;
    shopper.password = typed_password(&state, &caller, shopper.password.take()).await?;
    let new = shopper.into_new()?;
    let site = caller.site_id();
    let record = match &new.login {
        NewLogin::Credentials {
            username,
            password,
            external_reference_id,
        } => {
            // Argon2 runs on the hasher's bounded blocking pool, off the async workers.
            let hash = state
                .hasher
                .hash(password.clone())
                .await
                .map_err(super::error::internal)?;
            state
                .store
                .create_shopper(
                    site,
                    NewShopper::Credentials {
                        username,
                        password_hash: &hash,
                        email: new.email.as_deref(),
                        external_reference_id: external_reference_id.as_deref(),
                    },
                    state.clock.now(),
                )
                .await
        }
        NewLogin::External {
            external_reference_id,
            username,
        } => {
            state
                .store
                .create_shopper(
                    site,
                    NewShopper::External {
                        external_reference_id,
                        email: new.email.as_deref(),
                        username: username.as_deref(),
                    },
                    state.clock.now(),
                )
                .await
        }
    }
    .map_err(taken)?;
    state
        .store
        .set_profile_fields(
            record.id,
            &ProfileFields {
                first_name: new.first_name.clone(),
                last_name: new.last_name.clone(),
                locale: new.locale.clone(),
                currency: new.currency.clone(),
                send_email: new.send_email,
            },
        )
        .await?;
    let body = json!({"shopper": {
        "id": record.id,
        "username": record.username,
        "externalReferenceId": record.external_reference_id,
        "firstName": new.first_name,
        "lastName": new.last_name,
        "emailAddress": record.email,
        "locale": new.locale,
        "currency": new.currency,
        "sendEmail": new.send_email,
    }});
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(location) = HeaderValue::from_str(&q.uri(ME)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `GET /v1/shoppers/me`
pub async fn get_me(
    State(state): State<AppState>,
    Limited(principal): Limited,
    q: ApiQuery,
) -> ApiResult<Response> {
    let mut options = Vec::new();
    Ok(q.respond_with(&shopper_object(&state, &q, &principal, &mut options).await?))
}

/// `POST /v1/shoppers/me`: `{"shopper": {...}}` (or the bare shopper object) or, as the docs
/// also show, `?locale=`, `?currency=` and `?ipAddress=` alone. A limited token may change
/// only those three (the session's); asking for more needs a full token (403
/// `forbidden`). A new `password` (full token; base64 where the API key says so)
/// ends the shopper's other sessions. `?applyEmailToSubscriptions=true` asks that the new
/// `emailAddress` reach the shopper's subscriptions too: a subscription keeps no address of its
/// own (its notices go to the shopper's), so the shopper's own address is the only one there is.
pub async fn update_me(
    State(state): State<AppState>,
    Limited(principal): Limited,
    q: ApiQuery,
    OptionalJson(body): OptionalJson<Value>,
) -> ApiResult<Response> {
    let mut input = body.map(shopper_input).transpose()?.unwrap_or_default();
    for (name, slot) in [
        ("locale", &mut input.locale),
        ("currency", &mut input.currency),
        ("ipAddress", &mut input.ip_address),
    ] {
        if let Some(v) = q.get(name) {
            if slot.as_deref().is_some_and(|b| b != v) {
                return Err(bad_request(format!(
                    "{name} differs between the query and the body"
                )));
            }
            *slot = Some(v.to_owned());
        }
    }
    if let Some(raw) = q.get("applyEmailToSubscriptions") {
        query_flag("applyEmailToSubscriptions", raw)?;
    }
    let needs_full = input.fields_needing_full();
    if !needs_full.is_empty() && principal.level != AccessLevel::Full {
        return Err(insufficient_scope(format!(
            "changing {} needs a signed-in shopper's (full) access token; a limited token \
             may change only locale, currency and ipAddress",
            needs_full.join(", ")
        )));
    }
    let caller = Caller::Token(principal.clone());
    input.password = typed_password(&state, &caller, input.password.take()).await?;
    let update = input.into_update()?;
    let shopper_id = principal.acting_shopper();
    // A new password, hashed before anything is written; only for a login Shopkeeper keeps.
    let new_hash = match (&update.password, shopper_id) {
        (Some(password), Some(id)) => {
            let keeps_password = state
                .store
                .shopper(id)
                .await?
                .is_some_and(|s| s.password_hash.is_some());
            if !keeps_password {
                return Err(bad_request(
                    "shopper.password: this shopper signs in through the storefront \
                     (externalReferenceId), so there is no password to change",
                ));
            }
            let hash = state
                .hasher
                .hash(password.clone())
                .await
                .map_err(super::error::internal)?;
            Some((id, hash))
        }
        _ => None,
    };
    state
        .store
        .update_me(&principal.session_id, shopper_id, &update)
        .await
        .map_err(taken)?;
    if let Some((id, hash)) = new_hash {
        let revoked = state
            .store
            .change_shopper_password(
                &principal.site_id,
                id,
                &hash,
                &principal.session_id,
                state.clock.now(),
            )
            .await?;
        state.verifier.forget(&revoked);
    }
    let mut options = Vec::new();
    Ok(q.respond_with(&shopper_object(&state, &q, &principal, &mut options).await?))
}

/// A boolean query parameter (`true`/`false`, `1`/`0`, any case); anything else is a 400.
fn query_flag(name: &str, raw: &str) -> ApiResult<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(bad_request(format!("{name} must be true or false"))),
    }
}

/// `GET /v1/shoppers/me/account`
pub async fn get_account(
    State(state): State<AppState>,
    full: Full,
    q: ApiQuery,
) -> ApiResult<Response> {
    let profile = state
        .store
        .profile(full.shopper_id())
        .await?
        .ok_or_else(|| not_found("shopper"))?;
    let mut account = json!({
        "uri": q.uri(&format!("{ME}/account")),
        "id": profile.id,
        "username": profile.username,
        "externalReferenceId": profile.external_reference_id,
        "emailAddress": profile.email,
        "shopper": q.link(ME),
        "addresses": q.link(&format!("{ME}/addresses")),
        "orders": q.link(&format!("{ME}/orders")),
        "paymentOptions": q.link(&format!("{ME}/payment-options")),
    });
    // A link only while its route is served.
    if let Some(link) = served_link(&q, "GET", SUBSCRIPTIONS, SUBSCRIPTIONS) {
        account["subscriptions"] = json!(link);
    }
    if let Some(link) = served_link(&q, "GET", WISH_LISTS, WISH_LISTS) {
        account["wishLists"] = json!(link);
    }
    Ok(q.respond(json!({ "account": account })))
}

fn address_view<'a>(q: &ApiQuery, r: &'a AddressRecord) -> SavedAddressView<'a> {
    SavedAddressView::new(q.uri(&format!("{ME}/addresses/{}", r.id)), r.id, &r.saved)
}

/// `GET /v1/shoppers/me/addresses`
pub async fn list_addresses(
    State(state): State<AppState>,
    full: Full,
    q: ApiQuery,
) -> ApiResult<Response> {
    let addresses = state.store.addresses(full.shopper_id()).await?;
    Ok(q.respond_with(&SavedAddressList {
        addresses: SavedAddresses {
            uri: q.uri(&format!("{ME}/addresses")),
            address: addresses.iter().map(|a| address_view(&q, a)).collect(),
        },
    }))
}

async fn saved_address(state: &AppState, shopper: i64, id: i64) -> ApiResult<AddressRecord> {
    let address = state.store.address(shopper, id).await?;
    address.ok_or_else(|| not_found(format!("address {id}")))
}

impl PathResource<Full> for AddressRecord {
    async fn find(state: &AppState, full: &Full, raw_id: &str) -> ApiResult<Self> {
        saved_address(state, full.shopper_id(), path_id(raw_id, "address")?).await
    }
}

/// `GET /v1/shoppers/me/addresses/{id}`
pub async fn get_address(
    Found { q, item: a, .. }: Found<Full, AddressRecord>,
) -> ApiResult<Response> {
    Ok(q.respond_with(&AddressEnvelope {
        address: address_view(&q, &a),
    }))
}

/// `POST /v1/shoppers/me/addresses`: creates, or updates the address the body's `id` names
/// or, as the docs' rule goes (a nickname names one address), the saved address with the
/// body's `nickName`; either way `204 No Content`, as the docs answer (`Location` names the
/// address).
pub async fn save_address(
    State(state): State<AppState>,
    full: Full,
    q: ApiQuery,
    AppJson(body): AppJson<AddressBody>,
) -> ApiResult<Response> {
    let address = body.into_input()?;
    let target = address.target_id()?;
    write_address(&state, &full, &q, target, address).await
}

/// `POST /v1/shoppers/me/addresses/{id}`: updates that address (204, as the collection's
/// POST); a body `id`, when given, must name the same one.
pub async fn update_address(
    State(state): State<AppState>,
    full: Full,
    Path(raw): Path<String>,
    q: ApiQuery,
    AppJson(body): AppJson<AddressBody>,
) -> ApiResult<Response> {
    let id = path_id(&raw, "address")?;
    let address = body.into_input()?;
    if address.target_id()?.is_some_and(|named| named != id) {
        return Err(bad_request(format!(
            "address.id differs from the address {id} of the path"
        )));
    }
    write_address(&state, &full, &q, Some(id), address).await
}

/// Saves `address` as the shopper's address `target` (or the one its nickname names, or a new
/// one): `204 No Content` with the address's `Location`.
async fn write_address(
    state: &AppState,
    full: &Full,
    q: &ApiQuery,
    target: Option<i64>,
    address: AddressInput,
) -> ApiResult<Response> {
    let fields = address.validate()?;
    let shopper = full.shopper_id();
    // The store keeps the nickname rule in one statement: a new address with a nickname in
    // use updates that address; an update taking another's nickname meets the unique index.
    let id = state
        .store
        .save_address(shopper, target, &fields, state.clock.now())
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => super::shopper_api::conflict(
                Code::AddressAlreadyExists,
                "another of the shopper's addresses has this nickName",
            ),
            other => other.into(),
        })?
        .ok_or_else(|| not_found(format!("address {}", target.unwrap_or_default())))?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(location) = HeaderValue::from_str(&q.uri(&format!("{ME}/addresses/{id}"))) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `DELETE /v1/shoppers/me/addresses/{id}`
pub async fn delete_address(
    State(state): State<AppState>,
    full: Full,
    Path(id): Path<String>,
) -> Result<StatusCode, ShopperApiError> {
    let id = path_id(&id, "address")?;
    if state.store.delete_address(full.shopper_id(), id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(format!("address {id}")))
    }
}
