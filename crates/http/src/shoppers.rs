//! Shoppers: `POST /v1/shoppers` (token optional), the session's shopper `/me` (limited;
//! a limited token sees `"id": "Anonymous"`), `/me/account` and `/me/addresses` (full).

use super::access::{Full, Limited, TokenOptional, insufficient_scope};
use super::error::ShopperApiError;
use super::extract::{AppJson, OptionalJson};
use super::shopper_api::{ApiQuery, ApiResult, Found, PathResource, not_found, path_id};
use super::views::address::{AddressEnvelope, SavedAddressList, SavedAddressView, SavedAddresses};
use axum::Json;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use shopkeeper_domain::shopper::{AddressBody, NewLogin, ShopperBody};
use shopkeeper_services::auth::{AccessLevel, Principal};
use shopkeeper_services::state::AppState;
use shopkeeper_store::{
    AddressRecord, NewShopper, ProfileFields, StoreError, TAKEN_EMAIL, TAKEN_EXTERNAL_REFERENCE,
};

const ME: &str = "/v1/shoppers/me";

/// The documented shopper object: `{"shopper": {...}}`.
#[derive(serde::Serialize)]
struct ShopperEnvelope {
    shopper: ShopperObject,
}

/// Typed, not a `json!` map: `GET /v1/shoppers/me` is a hot bearer check and the map was most of its time.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ShopperObject {
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
    links: Option<AccountLinks>,
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
struct AccountLinks {
    addresses: Link,
    account: Link,
    orders: Link,
    payment_options: Link,
    subscriptions: Link,
}

/// The documented shopper object of the session behind `principal`.
async fn shopper_object(
    state: &AppState,
    q: &ApiQuery,
    principal: &Principal,
) -> ApiResult<ShopperEnvelope> {
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
        shopper.links = Some(AccountLinks {
            addresses: link("/addresses"),
            account: link("/account"),
            orders: link("/orders"),
            payment_options: link("/payment-options"),
            subscriptions: link("/subscriptions"),
        });
    }
    Ok(ShopperEnvelope { shopper })
}

/// A refused shopper write as the documented 409 naming the field that is taken (usernames
/// and e-mail addresses are unique per site without regard to case).
fn taken(e: StoreError) -> ShopperApiError {
    match e {
        StoreError::Conflict(what) => super::shopper_api::conflict(match what.as_str() {
            TAKEN_EMAIL => "a shopper with this emailAddress already exists",
            TAKEN_EXTERNAL_REFERENCE => "a shopper with this externalReferenceId already exists",
            _ => "a shopper with this username already exists",
        }),
        other => other.into(),
    }
}

/// `POST /v1/shoppers`: a shopper whose login we keep (username, password, emailAddress) or
/// whose login the client keeps (externalReferenceId), on the caller's site.
pub async fn create(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    q: ApiQuery,
    AppJson(ShopperBody { shopper }): AppJson<ShopperBody>,
) -> ApiResult<Response> {
    let new = shopper.into_new()?;
    let site = caller.site_id();
    let record = match &new.login {
        NewLogin::Credentials { username, password } => {
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
                    },
                    state.clock.now(),
                )
                .await
        }
        NewLogin::External {
            external_reference_id,
        } => {
            state
                .store
                .create_shopper(
                    site,
                    NewShopper::External {
                        external_reference_id,
                        email: new.email.as_deref(),
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
    Ok(q.respond_with(&shopper_object(&state, &q, &principal).await?))
}

/// `POST /v1/shoppers/me`: `{"shopper": {...}}` or, as the docs also show, `?locale=`,
/// `?currency=` and `?ipAddress=` alone. A limited token may change only those three (the
/// session's); asking for more needs a full token (403 `insufficient_scope`).
pub async fn update_me(
    State(state): State<AppState>,
    Limited(principal): Limited,
    q: ApiQuery,
    OptionalJson(body): OptionalJson<ShopperBody>,
) -> ApiResult<Response> {
    let mut input = body.map(|b| b.shopper).unwrap_or_default();
    for (name, slot) in [
        ("locale", &mut input.locale),
        ("currency", &mut input.currency),
        ("ipAddress", &mut input.ip_address),
    ] {
        if let Some(v) = q.get(name) {
            if slot.as_deref().is_some_and(|b| b != v) {
                return Err(super::shopper_api::bad_request(
                    "invalid-parameter",
                    format!("{name} differs between the query and the body"),
                ));
            }
            *slot = Some(v.to_owned());
        }
    }
    let needs_full = input.fields_needing_full();
    if !needs_full.is_empty() && principal.level != AccessLevel::Full {
        return Err(insufficient_scope(format!(
            "changing {} needs a signed-in shopper's (full) access token; a limited token \
             may change only locale, currency and ipAddress",
            needs_full.join(", ")
        )));
    }
    let update = input.into_update()?;
    let shopper_id = principal.acting_shopper();
    state
        .store
        .update_me(&principal.session_id, shopper_id, &update)
        .await
        .map_err(taken)?;
    Ok(q.respond_with(&shopper_object(&state, &q, &principal).await?))
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
    Ok(q.respond(json!({"account": {
        "uri": q.uri(&format!("{ME}/account")),
        "id": profile.id,
        "username": profile.username,
        "externalReferenceId": profile.external_reference_id,
        "emailAddress": profile.email,
        "shopper": q.link(ME),
        "addresses": q.link(&format!("{ME}/addresses")),
        "orders": q.link(&format!("{ME}/orders")),
        "paymentOptions": q.link(&format!("{ME}/payment-options")),
        "subscriptions": q.link(&format!("{ME}/subscriptions")),
    }})))
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

/// `POST /v1/shoppers/me/addresses`: creates (201), or updates the address the body's `id`
/// names (200).
pub async fn save_address(
    State(state): State<AppState>,
    full: Full,
    q: ApiQuery,
    AppJson(AddressBody { address }): AppJson<AddressBody>,
) -> ApiResult<Response> {
    let target = address.target_id()?;
    let fields = address.validate()?;
    let shopper = full.shopper_id();
    let id = state
        .store
        .save_address(shopper, target, &fields, state.clock.now())
        .await?
        .ok_or_else(|| not_found(format!("address {}", target.unwrap_or_default())))?;
    let a = saved_address(&state, shopper, id).await?;
    let address = address_view(&q, &a);
    let location = HeaderValue::from_str(&address.uri).ok();
    let status = if target.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut response = (status, Json(AddressEnvelope { address })).into_response();
    if let Some(location) = location {
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
