//! `POST /payments/sources`: test-mode payment sources, as DigitalRiver.js creates them with
//! the site's payments public key. Not a Shopper API route: it has its own error shape,
//! `{"type": "bad_request", "errors": [{"code", "parameter", "message"}]}`.
//!
//! Only the card's brand, last four digits and expiry are kept; the number and the CVV are
//! checked and dropped. Which test numbers approve and which decline: `domain::checkout`.

use crate::error::internal;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shopkeeper_domain::SiteId;
use shopkeeper_domain::checkout::check_test_card;
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreditCardInput {
    /// A test card number (see the README).
    pub number: String,
    pub expiration_month: i64,
    pub expiration_year: i64,
    #[serde(default)]
    pub cvv: Option<String>,
}

/// `POST /payments/sources` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceRequest {
    /// Only `creditCard`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub currency: Option<String>,
    /// Informational in test mode: the cart total is what a submit charges.
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub amount: Option<Value>,
    #[serde(default)]
    pub reusable: Option<bool>,
    pub owner: Owner,
    pub credit_card: CreditCardInput,
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
    pub owner: Owner,
    pub credit_card: CreditCardOut,
}

fn response_of(r: &PaymentSourceRecord) -> Result<SourceResponse, PaymentsError> {
    let owner: Owner = serde_json::from_str(&r.owner).map_err(|e| {
        let _ = internal(e);
        PaymentsError::from(StoreError::NotFound("owner".into()))
    })?;
    Ok(SourceResponse {
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
        owner,
        credit_card: CreditCardOut {
            brand: r.brand.clone(),
            last_four_digits: r.last_four.clone(),
            expiration_month: r.expiration_month,
            expiration_year: r.expiration_year,
        },
    })
}

/// The bearer must be a site's payments public key (not an access token, not an API key).
async fn payments_site(state: &AppState, headers: &HeaderMap) -> Result<SiteId, PaymentsError> {
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
    state
        .store
        .site_of_payments_key(key)
        .await?
        .ok_or_else(|| PaymentsError::unauthorized("the payments public key is not valid"))
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

#[utoipa::path(
    post,
    path = "/payments/sources",
    tag = "payments",
    description = "Creates a test-mode credit-card payment source. Access: `Authorization: \
                   Bearer <the site's payments public key>` (printed as `payments_public_key` \
                   by `site create` and the first-start demo); any other bearer is refused. \
                   Only documented test card numbers are accepted; the number and CVV are \
                   never stored.",
    request_body(content = SourceRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The source", body = SourceResponse),
        (status = 400, description = "Invalid body or card", body = PaymentsErrorBody),
        (status = 401, description = "Missing or wrong payments public key", body = PaymentsErrorBody),
        (status = 503, description = "Database unavailable", body = PaymentsErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_source(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PaymentsError> {
    let site = payments_site(&state, &headers).await?;
    let request: SourceRequest = serde_json::from_slice(&body).map_err(|e| {
        PaymentsError::bad_request("invalid_request", "body", format!("invalid JSON body: {e}"))
    })?;
    if request.kind != "creditCard" {
        return Err(PaymentsError::bad_request(
            "invalid_parameter",
            "type",
            "test mode supports only creditCard sources",
        ));
    }
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
    check_owner(&request.owner)?;
    let card = &request.credit_card;
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
    let owner = serde_json::to_string(&request.owner).map_err(|e| {
        let _ = internal(e);
        PaymentsError::from(StoreError::NotFound("owner".into()))
    })?;
    let record = state
        .store
        .create_payment_source(
            &NewPaymentSource {
                site_id: &site,
                source_type: "creditCard",
                reusable: request.reusable.unwrap_or(false),
                owner: &owner,
                brand: checked.brand,
                last_four: &checked.last_four,
                expiration_month: checked.expiration_month,
                expiration_year: checked.expiration_year,
                currency: request.currency.as_deref(),
                amount: amount.as_deref(),
                test_outcome: checked.outcome.as_str(),
            },
            state.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(response_of(&record)?)).into_response())
}
