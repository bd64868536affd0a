//! `POST /payments/sources`: test-mode payment sources, as DigitalRiver.js creates them with
//! the site's payments public key. Not a Shopper API route: it has its own error shape,
//! `{"type": "bad_request", "errors": [{"code", "parameter", "message"}]}`.
//!
//! Only the card's brand, last four digits and expiry are kept; the number and the CVV are
//! checked and dropped. Which test numbers approve and which decline: `domain::checkout`.
//! [`create_card_source`] is the card's path, shared with the hosted payment page.

use crate::error::internal;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shopkeeper_domain::SiteId;
use shopkeeper_domain::checkout::{CUSTOMER_CREDIT, check_test_card};
use shopkeeper_domain::time::iso8601;
use shopkeeper_services::state::AppState;
use shopkeeper_store::{NewPaymentSource, PaymentSourceRecord, StoreError};
use utoipa::ToSchema;

/// The payments API's error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentsErrorBody {
    /// `bad_request`, `unauthorized`, `service_unavailable`, `internal_server_error`.
    #[serde(rename = "type")]
    kind: &'static str,
    errors: Vec<PaymentsErrorItem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentsErrorItem {
    code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameter: Option<String>,
    message: String,
}

#[derive(Debug)]
pub struct PaymentsError {
    status: StatusCode,
    body: PaymentsErrorBody,
}

impl PaymentsError {
    fn new(
        status: StatusCode,
        kind: &'static str,
        code: &str,
        parameter: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            body: PaymentsErrorBody {
                kind,
                errors: vec![PaymentsErrorItem {
                    code: code.to_owned(),
                    parameter: parameter.map(str::to_owned),
                    message: message.into(),
                }],
            },
        }
    }

    fn bad_request(code: &str, parameter: &str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            code,
            Some(parameter),
            message,
        )
    }

    /// The HTTP status the payments API answers this refusal with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The field refused (`owner.email`, `creditCard.number`, ...), if the refusal names one.
    pub fn parameter(&self) -> Option<&str> {
        self.body
            .errors
            .first()
            .and_then(|e| e.parameter.as_deref())
    }

    /// What was wrong, in words fit to show a shopper.
    pub fn message(&self) -> &str {
        self.body.errors.first().map_or("", |e| e.message.as_str())
    }

    fn unauthorized(message: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "unauthorized",
            None,
            message,
        )
    }
}

/// Any method but `POST` on `/payments/sources`, in the payments error shape.
pub async fn method_not_allowed() -> PaymentsError {
    PaymentsError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method_not_allowed",
        None,
        "only POST creates a payment source",
    )
}

impl IntoResponse for PaymentsError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"payments\""),
            );
        }
        response
    }
}

impl From<StoreError> for PaymentsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "service_unavailable",
                None,
                "the service is temporarily unavailable, retry shortly",
            ),
            other => {
                let _ = internal(other);
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_server_error",
                    "internal_server_error",
                    None,
                    "internal error",
                )
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OwnerAddress {
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    pub country: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Owner {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub address: OwnerAddress,
}

impl Owner {
    /// An owner from a form with one cardholder-name field: the last word is the last name,
    /// the words before it the first name (`Jane Q. Doe`: `Jane Q.` and `Doe`). A name of one
    /// word is refused (`owner.firstName`), as a card source needs both.
    pub fn of_cardholder(
        name: &str,
        email: &str,
        address: OwnerAddress,
    ) -> Result<Self, PaymentsError> {
        let name = name.trim();
        let Some((first, last)) = name.rsplit_once(char::is_whitespace) else {
            return Err(PaymentsError::bad_request(
                "invalid_parameter",
                "owner.firstName",
                "give the cardholder's first and last names",
            ));
        };
        Ok(Self {
            first_name: first.trim_end().to_owned(),
            last_name: last.to_owned(),
            email: email.trim().to_owned(),
            address,
        })
    }
}

/// A card as typed: its number and CVV are checked and dropped, never stored or logged.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreditCardInput {
    /// A test card number (see the README).
    pub number: String,
    pub expiration_month: i64,
    pub expiration_year: i64,
    #[serde(default)]
    pub cvv: Option<String>,
}

/// Without the number and the CVV, so that no `{:?}` can put them in a log.
impl std::fmt::Debug for CreditCardInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreditCardInput")
            .field("number", &"<hidden>")
            .field("expiration_month", &self.expiration_month)
            .field("expiration_year", &self.expiration_year)
            .field("cvv", &self.cvv.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

/// `POST /payments/sources` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceRequest {
    /// `creditCard` (the payments public key), or `customerCredit`: store credit, created by
    /// the merchant's backend with its confidential key.
    #[serde(rename = "type")]
    pub kind: String,
    /// Store credit: its currency (default: the site's).
    #[serde(default)]
    pub currency: Option<String>,
    /// Store credit: what it pays, required. A card: informational in test mode (the cart
    /// total is what a submit charges).
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub amount: Option<Value>,
    #[serde(default)]
    pub reusable: Option<bool>,
    /// Required for a card; optional for store credit (the docs advise leaving it out).
    #[serde(default)]
    pub owner: Option<Owner>,
    #[serde(default)]
    pub credit_card: Option<CreditCardInput>,
    /// Store credit: an empty object named after its type, as the docs send it.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub customer_credit: Option<Value>,
    /// Store credit: the merchant's own id for it (its credit system's).
    #[serde(default)]
    pub upstream_id: Option<String>,
    /// Store credit: the cart's payment session it is meant for, kept as given.
    #[serde(default)]
    pub payment_session_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreditCardOut {
    pub brand: String,
    pub last_four_digits: String,
    pub expiration_month: i64,
    pub expiration_year: i64,
}

/// A payment source.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceResponse {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// `chargeable`, or `consumed` once a single-use source paid an order.
    pub state: String,
    pub created_time: String,
    pub reusable: bool,
    pub live_mode: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub amount: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_card: Option<CreditCardOut>,
    /// Store credit: `{}`, as the docs show it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_credit: Option<crate::views::Empty>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_session_id: Option<String>,
}

fn response_of(r: &PaymentSourceRecord) -> SourceResponse {
    let credit = r.is_credit();
    SourceResponse {
        id: r.id.clone(),
        kind: r.source_type.clone(),
        state: r.state.as_str().to_owned(),
        created_time: iso8601(r.created_at),
        reusable: r.reusable,
        live_mode: false,
        currency: r.currency.clone(),
        amount: r
            .amount
            .as_deref()
            .and_then(|a| serde_json::from_str(a).ok()),
        // Store credit created without an owner keeps `{}`, which is no owner.
        owner: serde_json::from_str(&r.owner).ok(),
        credit_card: (!credit).then(|| CreditCardOut {
            brand: r.brand.clone(),
            last_four_digits: r.last_four.clone(),
            expiration_month: r.expiration_month,
            expiration_year: r.expiration_year,
        }),
        customer_credit: credit.then_some(crate::views::Empty {}),
        upstream_id: r.upstream_id.clone(),
        payment_session_id: r.payment_session_id.clone(),
    }
}

/// Which key a `POST /payments/sources` came with.
enum PaymentsKey {
    /// The site's payments public key (a browser's): cards only.
    Public(SiteId),
    /// The secret of one of the site's confidential keys (the merchant's backend).
    Confidential(SiteId),
}

impl PaymentsKey {
    fn site(&self) -> &SiteId {
        match self {
            Self::Public(site) | Self::Confidential(site) => site,
        }
    }
}

/// The bearer must be a site's payments public key, or the secret of one of its confidential
/// keys (not an access token, not an API key).
async fn payments_key(state: &AppState, headers: &HeaderMap) -> Result<PaymentsKey, PaymentsError> {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim())
        .filter(|k| !k.is_empty() && k.len() <= 128)
        .ok_or_else(|| {
            PaymentsError::unauthorized("send the site's payments public key as a Bearer token")
        })?;
    if let Some(site) = state.store.site_of_payments_key(key).await? {
        return Ok(PaymentsKey::Public(site));
    }
    let secret = shopkeeper_domain::SecretHash::of(key);
    match state.store.site_of_confidential_secret(&secret).await? {
        Some(site) => Ok(PaymentsKey::Confidential(site)),
        None => Err(PaymentsError::unauthorized(
            "the payments public key is not valid",
        )),
    }
}

fn check_owner(o: &Owner) -> Result<(), PaymentsError> {
    let required = [
        ("owner.firstName", o.first_name.as_str()),
        ("owner.lastName", o.last_name.as_str()),
        ("owner.email", o.email.as_str()),
        ("owner.address.line1", o.address.line1.as_str()),
        ("owner.address.city", o.address.city.as_str()),
    ];
    for (name, value) in required {
        if value.trim().is_empty() || value.len() > 256 || value.chars().any(char::is_control) {
            return Err(PaymentsError::bad_request(
                "invalid_parameter",
                name,
                "must be 1-256 printable characters",
            ));
        }
    }
    for (name, value) in [
        ("owner.address.line2", &o.address.line2),
        ("owner.address.state", &o.address.state),
        ("owner.address.postalCode", &o.address.postal_code),
    ] {
        if value
            .as_deref()
            .is_some_and(|v| v.len() > 256 || v.chars().any(char::is_control))
        {
            return Err(PaymentsError::bad_request(
                "invalid_parameter",
                name,
                "must be at most 256 printable characters",
            ));
        }
    }
    let (local, domain) = o.email.split_once('@').unwrap_or(("", ""));
    if local.is_empty() || !domain.contains('.') {
        return Err(PaymentsError::bad_request(
            "invalid_parameter",
            "owner.email",
            "is not an email address",
        ));
    }
    let c = &o.address.country;
    if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(PaymentsError::bad_request(
            "invalid_parameter",
            "owner.address.country",
            "must be a two-letter ISO 3166 code such as US",
        ));
    }
    Ok(())
}

/// `amount` as exact decimal text (`4.84`), or a 400.
fn amount_text(raw: &Option<Value>) -> Result<Option<String>, PaymentsError> {
    let text = match raw {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(PaymentsError::bad_request(
                "invalid_parameter",
                "amount",
                "must be a decimal number",
            ));
        }
    };
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 12 || !digits(whole) || !digits(frac) || frac.len() > 4 {
        return Err(PaymentsError::bad_request(
            "invalid_parameter",
            "amount",
            "must be a non-negative decimal number",
        ));
    }
    Ok(Some(text))
}

fn month_of(at: shopkeeper_domain::time::UnixSeconds) -> (i64, i64) {
    let t =
        time::OffsetDateTime::from_unix_timestamp(at).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    (i64::from(t.year()), i64::from(u8::from(t.month())))
}

/// An owner as a source row keeps it: its JSON, or `{}` for none.
fn owner_json(owner: Option<&Owner>) -> Result<String, PaymentsError> {
    match owner {
        Some(owner) => serde_json::to_string(owner).map_err(|e| {
            let _ = internal(e);
            PaymentsError::from(StoreError::NotFound("owner".into()))
        }),
        None => Ok("{}".to_owned()),
    }
}

/// Creates a test-mode card source for `site_id`, as `POST /payments/sources` does for a
/// `creditCard` (and the hosted payment page for the card typed into it).
///
/// Checks the owner (first and last name, e-mail, address line 1, city, a two-letter country;
/// [`Owner::of_cardholder`] builds one from a single cardholder-name field), then the card: a
/// documented test number (its outcome, approve or decline, comes from the number), a CVV of
/// the brand's length if given, and an expiry not before this month. Only the brand, the last
/// four digits and the expiry are stored; the number and the CVV are dropped here and are never
/// logged (`CreditCardInput`'s `Debug` hides them). A refusal is a 400 [`PaymentsError`] naming
/// the field (`owner.email`, `creditCard.number`, ...) with a message fit to show a shopper
/// ([`PaymentsError::parameter`], [`PaymentsError::message`]); a store failure is a 503 or 500.
pub async fn create_card_source(
    state: &AppState,
    site_id: &SiteId,
    owner: &Owner,
    card: &CreditCardInput,
    reusable: bool,
) -> Result<PaymentSourceRecord, PaymentsError> {
    card_source(state, site_id, owner, card, reusable, None, None).await
}

/// [`create_card_source`], keeping the currency and amount a `POST /payments/sources` body
/// gave (informational for a card in test mode; the page has none).
async fn card_source(
    state: &AppState,
    site_id: &SiteId,
    owner: &Owner,
    card: &CreditCardInput,
    reusable: bool,
    currency: Option<&str>,
    amount: Option<&str>,
) -> Result<PaymentSourceRecord, PaymentsError> {
    check_owner(owner)?;
    let checked = check_test_card(
        &card.number,
        card.cvv.as_deref(),
        card.expiration_month,
        card.expiration_year,
        month_of(state.clock.now()),
    )
    .map_err(|(parameter, message)| {
        PaymentsError::bad_request("invalid_card", parameter, message)
    })?;
    let owner = owner_json(Some(owner))?;
    Ok(state
        .store
        .create_payment_source(
            &NewPaymentSource {
                site_id,
                source_type: "creditCard",
                reusable,
                owner: &owner,
                brand: checked.brand,
                last_four: &checked.last_four,
                expiration_month: checked.expiration_month,
                expiration_year: checked.expiration_year,
                currency,
                amount,
                test_outcome: checked.outcome.as_str(),
                upstream_id: None,
                payment_session_id: None,
            },
            state.clock.now(),
        )
        .await?)
}

#[utoipa::path(
    post,
    path = "/payments/sources",
    tag = "payments",
    description = "Creates a test-mode payment source. Access: a `creditCard` with \
                   `Authorization: Bearer <the site's payments public key>` (printed as `payments_public_key` \
                   by `site create` and the first-start demo); only documented test card \
                   numbers are accepted, and the number and CVV are never stored. Store credit \
                   (`customerCredit`, with a required `amount`): `Authorization: Bearer <the \
                   secret of one of the site's confidential keys>`, the merchant's backend; the \
                   public key gets 403. Any other bearer is refused.",
    request_body(content = SourceRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The source", body = SourceResponse),
        (status = 400, description = "Invalid body or card", body = PaymentsErrorBody),
        (status = 401, description = "Missing or wrong payments public key", body = PaymentsErrorBody),
        (status = 403, description = "Store credit asked for with the payments public key", body = PaymentsErrorBody),
        (status = 503, description = "Database unavailable", body = PaymentsErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_source(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PaymentsError> {
    let key = payments_key(&state, &headers).await?;
    let request: SourceRequest = serde_json::from_slice(&body).map_err(|e| {
        PaymentsError::bad_request("invalid_request", "body", format!("invalid JSON body: {e}"))
    })?;
    if let Some(c) = &request.currency {
        if !shopkeeper_domain::catalog::valid_currency(c) {
            return Err(PaymentsError::bad_request(
                "invalid_parameter",
                "currency",
                "must be an ISO 4217 code such as USD",
            ));
        }
    }
    let amount = amount_text(&request.amount)?;
    if let Some(owner) = &request.owner {
        check_owner(owner)?;
    }
    let owner = owner_json(request.owner.as_ref())?;
    for (name, value) in [
        ("upstreamId", &request.upstream_id),
        ("paymentSessionId", &request.payment_session_id),
    ] {
        if value
            .as_deref()
            .is_some_and(|v| v.is_empty() || v.len() > 128 || v.chars().any(char::is_control))
        {
            return Err(PaymentsError::bad_request(
                "invalid_parameter",
                name,
                "must be 1-128 printable characters",
            ));
        }
    }
    let record = match request.kind.as_str() {
        CUSTOMER_CREDIT => {
            let site = match &key {
                PaymentsKey::Confidential(site) => site,
                // A browser's key would let anyone mint money.
                PaymentsKey::Public(_) => {
                    return Err(PaymentsError::new(
                        StatusCode::FORBIDDEN,
                        "forbidden",
                        "forbidden",
                        None,
                        "store credit is created with a confidential key's secret, not the \
                         payments public key",
                    ));
                }
            };
            if request.reusable == Some(true) {
                return Err(PaymentsError::bad_request(
                    "invalid_parameter",
                    "reusable",
                    "store credit is single-use",
                ));
            }
            let no_amount = || {
                PaymentsError::bad_request(
                    "invalid_parameter",
                    "amount",
                    "store credit needs an amount above zero",
                )
            };
            let amount = amount.as_deref().ok_or_else(no_amount)?;
            let site_record = state
                .store
                .site(site)
                .await?
                .ok_or_else(|| PaymentsError::from(StoreError::NotFound("site".into())))?;
            let currency = request.currency.clone().unwrap_or(site_record.currency);
            let exact = shopkeeper_domain::catalog::parse_amount(
                &Value::String(amount.to_owned()),
                &currency,
            )
            .map_err(|e| PaymentsError::bad_request("invalid_parameter", "amount", e))?;
            if exact <= 0 {
                return Err(no_amount());
            }
            let amount = shopkeeper_domain::catalog::format_amount(exact, &currency);
            state
                .store
                .create_payment_source(
                    &NewPaymentSource {
                        site_id: site,
                        source_type: CUSTOMER_CREDIT,
                        reusable: false,
                        owner: &owner,
                        brand: "",
                        last_four: "",
                        expiration_month: 0,
                        expiration_year: 0,
                        currency: Some(&currency),
                        amount: Some(&amount),
                        test_outcome: "approve",
                        upstream_id: request.upstream_id.as_deref(),
                        payment_session_id: request.payment_session_id.as_deref(),
                    },
                    state.clock.now(),
                )
                .await?
        }
        "creditCard" => {
            let Some(owner) = request.owner.as_ref() else {
                return Err(PaymentsError::bad_request(
                    "invalid_request",
                    "owner",
                    "a card needs its owner",
                ));
            };
            let card = request.credit_card.as_ref().ok_or_else(|| {
                PaymentsError::bad_request(
                    "invalid_request",
                    "creditCard",
                    "a card source needs creditCard",
                )
            })?;
            card_source(
                &state,
                key.site(),
                owner,
                card,
                request.reusable.unwrap_or(false),
                request.currency.as_deref(),
                amount.as_deref(),
            )
            .await?
        }
        _ => {
            return Err(PaymentsError::bad_request(
                "invalid_parameter",
                "type",
                "test mode supports creditCard and customerCredit sources",
            ));
        }
    };
    Ok((StatusCode::CREATED, Json(response_of(&record))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address() -> OwnerAddress {
        OwnerAddress {
            line1: "10380 Bren Road West".into(),
            line2: None,
            city: "Minnetonka".into(),
            state: None,
            postal_code: Some("55343".into()),
            country: "US".into(),
        }
    }

    #[test]
    fn a_cardholder_name_splits_at_its_last_word() {
        let owner =
            Owner::of_cardholder("  Jane Q.  Doe ", " jane@example.com", address()).unwrap();
        assert_eq!(owner.first_name, "Jane Q.");
        assert_eq!(owner.last_name, "Doe");
        assert_eq!(owner.email, "jane@example.com");
        check_owner(&owner).unwrap();
        let one_word = Owner::of_cardholder("Cher", "cher@example.com", address()).unwrap_err();
        assert_eq!(one_word.status(), StatusCode::BAD_REQUEST);
        assert_eq!(one_word.parameter(), Some("owner.firstName"));
        assert_eq!(
            one_word.message(),
            "give the cardholder's first and last names"
        );
    }

    #[test]
    fn a_cards_debug_hides_its_number_and_cvv() {
        let card = CreditCardInput {
            number: "4111111111111111".into(),
            expiration_month: 7,
            expiration_year: 2031,
            cvv: Some("123".into()),
        };
        let shown = format!("{card:?}");
        assert!(
            !shown.contains("4111") && !shown.contains("1111"),
            "{shown}"
        );
        assert!(!shown.contains("123"), "{shown}");
        assert!(shown.contains("2031"), "{shown}");
    }
}
