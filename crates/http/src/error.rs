//! The two error shapes the documented API uses, and the mapping of every internal failure
//! onto them. Nothing here echoes a presented secret back.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shopkeeper_domain::grant::GrantError;
use shopkeeper_services::auth::{ClientAuthError, VerifyError};
use shopkeeper_services::oauth::TokenError;
use shopkeeper_store::StoreError;
use std::marker::PhantomData;

/// An error answer: its status, code, description and `WWW-Authenticate` challenge, written
/// in the body shape `S` of the API that answers.
#[derive(Debug)]
pub struct ApiError<S> {
    pub status: StatusCode,
    pub code: &'static str,
    pub description: String,
    pub www_authenticate: Option<&'static str>,
    /// Further headers of the answer (a quota refusal's `Retry-After`), boxed: every handler's
    /// `Result` carries an error, and most have none.
    pub headers: Option<Box<HeaderMap>>,
    pub shape: PhantomData<S>,
}

/// How an API writes an error's code and description in its body (typed, so the fields keep
/// the documented order in JSON and in the XML rendered from it).
pub trait ErrorShape {
    fn body(code: &str, description: &str) -> Response;
}

/// The OAuth endpoints' flat error: `{"error", "error_description"}` (RFC 6749 §5.2).
#[derive(Debug)]
pub struct Flat;

#[derive(serde::Serialize)]
struct FlatBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl ErrorShape for Flat {
    fn body(code: &str, description: &str) -> Response {
        Json(FlatBody {
            error: code,
            error_description: description,
        })
        .into_response()
    }
}

/// The Shopper API's nested error: `{"errors": {"error": [{"relation", "code",
/// "description"}]}}`.
#[derive(Debug)]
pub struct Nested;

#[derive(serde::Serialize)]
struct NestedBody<'a> {
    errors: NestedErrors<'a>,
}

#[derive(serde::Serialize)]
struct NestedErrors<'a> {
    error: [NestedError<'a>; 1],
}

#[derive(serde::Serialize)]
struct NestedError<'a> {
    relation: &'a str,
    code: &'a str,
    description: &'a str,
}

impl ErrorShape for Nested {
    fn body(code: &str, description: &str) -> Response {
        Json(NestedBody {
            errors: NestedErrors {
                error: [NestedError {
                    relation: "https://developers.digitalriver.com/v1/shoppers",
                    code,
                    description,
                }],
            },
        })
        .into_response()
    }
}

pub type OAuthError = ApiError<Flat>;
pub type ShopperApiError = ApiError<Nested>;

impl<S> ApiError<S> {
    fn with(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
            www_authenticate: None,
            headers: None,
            shape: PhantomData,
        }
    }
}

impl ShopperApiError {
    /// The error `code` names, at the status the docs list it under.
    pub fn new(code: Code, description: impl Into<String>) -> Self {
        Self::with(code.status(), code.as_str(), description)
    }

    /// `code` at another status than its own: the documented-rejection hook, which rewrites
    /// whatever bare 4xx a layer answered, and the per-key quota's documented 409 (`limits`).
    pub fn at_status(status: StatusCode, code: Code, description: impl Into<String>) -> Self {
        Self::with(status, code.as_str(), description)
    }
}

impl OAuthError {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self::with(status, code, description)
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self {
            www_authenticate: Some("Basic realm=\"shopkeeper\""),
            ..Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
        }
    }

    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self {
            www_authenticate: Some("Bearer error=\"invalid_token\""),
            ..Self::new(StatusCode::UNAUTHORIZED, "invalid_token", description)
        }
    }
}

impl<S: ErrorShape> IntoResponse for ApiError<S> {
    fn into_response(self) -> Response {
        let mut response = (self.status, S::body(self.code, &self.description)).into_response();
        let headers = response.headers_mut();
        if let Some(extra) = self.headers {
            headers.extend(*extra);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(challenge) = self.www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

impl From<OAuthError> for ShopperApiError {
    fn from(e: OAuthError) -> Self {
        // The OAuth code's Shopper API counterpart, at the Shopper API's status for it.
        let code = match e.code {
            "invalid_token" => Code::InvalidToken,
            "invalid_client" => Code::InvalidClient,
            "dr_limited_token_invalid" => Code::DrLimitedTokenInvalid,
            "temporarily_unavailable" => Code::ServiceUnavailable,
            TOO_MANY_REQUESTS => Code::RateLimitQuotaExceeded,
            "unauthorized_client" => Code::Forbidden,
            _ if e.status.is_client_error() => Code::InvalidRequest,
            _ => Code::SystemError,
        };
        Self {
            www_authenticate: e.www_authenticate,
            headers: e.headers,
            ..Self::new(code, e.description)
        }
    }
}

/// Every code the Shopper API answers in its nested error shape, in one place: the codes
/// the docs list per status (`common-shopper-and-admin-apis/error-codes/
/// error-codes-for-shopper-apis/`), at that status, and the few deviations README lists
/// ("Error codes"), each for a status the docs do not list. Handlers name a variant, never a
/// string, so nothing else can reach the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    // 400
    /// A parameter, property or body that is missing, malformed or out of range.
    InvalidRequest,
    /// A new password that breaks the password rule.
    PasswordFailure,
    /// A `dr_limited_token` that is invalid, expired or revoked.
    DrLimitedTokenInvalid,
    // 401
    /// An API key that is unknown, disabled or of another site.
    InvalidClient,
    /// No usable access token.
    InvalidToken,
    // 403
    /// The call is not permitted (a limited token where a full one is needed, an origin
    /// the key does not allow).
    Forbidden,
    // 404
    ResourceNotFound,
    /// An `offerId` the site has no offer of.
    InvalidOfferId,
    /// An applied offer with neither `offerId` nor `externalReferenceId`.
    NoOfferIdentifier,
    /// An applied offer whose `offerId` and `externalReferenceId` name different offers.
    DuplicateOfferIdentifier,
    /// An `overrideDiscount` entry with neither `productId` nor `externalReferenceId`.
    NoProductIdentifier,
    /// An `overrideDiscount` entry whose `productId` and `externalReferenceId` differ.
    DuplicateProductIdentifier,
    // 405
    MethodNotAllowed,
    // 409 (`[resource]-already-exists`, one per resource)
    ShopperAlreadyExists,
    AddressAlreadyExists,
    /// Another unique key taken (the docs' `[resource]-already-exists` pattern).
    ResourceAlreadyExists,
    /// A base product (one with variations) added to the cart.
    AddBaseProductCartError,
    /// A line that cannot be created for the product (priced in another currency).
    LineItemCreationFailure,
    InventoryUnavailableError,
    /// The cart is not complete (empty, already submitted, an address missing).
    SubmitCartFailed,
    /// No chargeable payment method is set on the cart.
    InvalidPaymentFailure,
    /// A source that is unknown, spent or someone else's.
    ApplyPaymentFailure,
    /// A single-use source where only a reusable one will do.
    InvalidPaymentMethod,
    ApplyShopperFailure,
    /// A shipping option the cart does not offer.
    OperationFailed,
    CreditCardDeclined,
    CreditCardExpired,
    /// An offer the cart was priced with has no use left.
    OfferUsageLimitExceeded,
    /// This shopper (or e-mail address) used the offer as often as it allows.
    ShopperUsageLimitExceeded,
    /// A `promoCode` the site does not have.
    InvalidCoupon,
    /// A code's offer outside its validity window.
    OfferNotActive,
    /// A code's offer switched off.
    OfferNotDeployed,
    /// An always-triggered offer named by `offerId` (it applies without being named).
    AlwaysTriggeredOfferId,
    /// An offer named by `offerId` that only its coupon code triggers.
    PreconditionFailure,
    /// More units than a private store lets the shopper buy of a product.
    OverPrivateStoreShopperRestriction,
    /// Tax identifiers posted or removed on a site whose Global Tax ID Management is off
    /// (`managing-tax-identifiers.md`, at 409).
    VatExemptionFailure,
    /// A billing address in a country the site does not authorize for billing
    /// (`authorized-shipping-and-billing-countries.md`).
    RestrictedBillToCountry,
    /// A shipping address in a country the site does not authorize for shipping.
    RestrictedShipToCountry,
    // 412 (`overrideDiscount`)
    InvalidDiscount,
    InvalidDiscountType,
    NoDiscountOrType,
    /// An `overrideDiscount` entry naming a product the site does not have.
    InvalidProductId,
    // 413
    /// A `customDescription` over 2000 characters.
    CustomDescriptionsExceedsLimitation,
    // 500
    SystemError,
    // Deviations (README, "Error codes"): statuses the docs do not list.
    /// The documented code, at 429 with `Retry-After` rather than 409 from the server's own
    /// defences (`/oauth20/token`, `SessionToken`, order look-ups); the Commerce API's per-key
    /// quota answers it at the documented 409 (`limits::api_quota_exceeded`).
    RateLimitQuotaExceeded,
    /// 408.
    RequestTimeout,
    /// 413 for the whole body (the docs' one 413 code is about an offer's description).
    RequestTooLarge,
    /// 415.
    UnsupportedMediaType,
    /// 503: the database is unreachable; retry.
    ServiceUnavailable,
}

impl Code {
    /// Every variant, in declaration order.
    pub const ALL: [Code; 49] = [
        Code::InvalidRequest,
        Code::PasswordFailure,
        Code::DrLimitedTokenInvalid,
        Code::InvalidClient,
        Code::InvalidToken,
        Code::Forbidden,
        Code::ResourceNotFound,
        Code::InvalidOfferId,
        Code::NoOfferIdentifier,
        Code::DuplicateOfferIdentifier,
        Code::NoProductIdentifier,
        Code::DuplicateProductIdentifier,
        Code::MethodNotAllowed,
        Code::ShopperAlreadyExists,
        Code::AddressAlreadyExists,
        Code::ResourceAlreadyExists,
        Code::AddBaseProductCartError,
        Code::LineItemCreationFailure,
        Code::InventoryUnavailableError,
        Code::SubmitCartFailed,
        Code::InvalidPaymentFailure,
        Code::ApplyPaymentFailure,
        Code::InvalidPaymentMethod,
        Code::ApplyShopperFailure,
        Code::OperationFailed,
        Code::CreditCardDeclined,
        Code::CreditCardExpired,
        Code::OfferUsageLimitExceeded,
        Code::ShopperUsageLimitExceeded,
        Code::InvalidCoupon,
        Code::OfferNotActive,
        Code::OfferNotDeployed,
        Code::AlwaysTriggeredOfferId,
        Code::PreconditionFailure,
        Code::OverPrivateStoreShopperRestriction,
        Code::VatExemptionFailure,
        Code::RestrictedBillToCountry,
        Code::RestrictedShipToCountry,
        Code::InvalidDiscount,
        Code::InvalidDiscountType,
        Code::NoDiscountOrType,
        Code::InvalidProductId,
        Code::CustomDescriptionsExceedsLimitation,
        Code::SystemError,
        Code::RateLimitQuotaExceeded,
        Code::RequestTimeout,
        Code::RequestTooLarge,
        Code::UnsupportedMediaType,
        Code::ServiceUnavailable,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Code::InvalidRequest => "invalid-request",
            Code::PasswordFailure => "password-failure",
            Code::DrLimitedTokenInvalid => "dr_limited_token_invalid",
            Code::InvalidClient => "invalid_client",
            Code::InvalidToken => "invalid_token",
            Code::Forbidden => "forbidden",
            Code::ResourceNotFound => "resource-not-found",
            Code::InvalidOfferId | Code::AlwaysTriggeredOfferId => "invalid-offer-id",
            Code::NoOfferIdentifier => "no-offer-identifier",
            Code::DuplicateOfferIdentifier => "duplicate_offer_identifier",
            Code::NoProductIdentifier => "no-product-identifier",
            Code::DuplicateProductIdentifier => "duplicate_product_identifier",
            Code::InvalidDiscount => "invalid-discount",
            Code::InvalidDiscountType => "invalid-discount-type",
            Code::NoDiscountOrType => "no-discount-or-type",
            Code::InvalidProductId => "invalid-product-id",
            Code::CustomDescriptionsExceedsLimitation => "custom_descriptions_exceeds_limitation",
            Code::MethodNotAllowed => "method-not-allowed",
            Code::ShopperAlreadyExists => "shopper-already-exists",
            Code::AddressAlreadyExists => "address-already-exists",
            Code::ResourceAlreadyExists => "resource-already-exists",
            Code::AddBaseProductCartError => "add-base-product-cart-error",
            Code::LineItemCreationFailure => "line-item-creation-failure",
            Code::InventoryUnavailableError => "inventory-unavailable-error",
            Code::SubmitCartFailed => "submit-cart-failed",
            Code::InvalidPaymentFailure => "invalid-payment-failure",
            Code::ApplyPaymentFailure => "apply-payment-failure",
            Code::InvalidPaymentMethod => "invalid-payment-method",
            Code::ApplyShopperFailure => "apply-shopper-failure",
            Code::OperationFailed => "operation-failed",
            Code::CreditCardDeclined => "credit-card-declined",
            Code::CreditCardExpired => "credit-card-expired",
            Code::OfferUsageLimitExceeded => "offer-usage-limit-exceeded",
            Code::ShopperUsageLimitExceeded => "shopper-usage-limit-exceeded",
            Code::InvalidCoupon => "invalid-coupon",
            Code::OfferNotActive => "offer-not-active",
            Code::OfferNotDeployed => "offer-not-deployed",
            Code::PreconditionFailure => "precondition-failure",
            Code::OverPrivateStoreShopperRestriction => "over-private-store-shopper-restriction",
            Code::VatExemptionFailure => "vat-exemption-failure",
            Code::RestrictedBillToCountry => "restricted-bill-to-country",
            Code::RestrictedShipToCountry => "restricted-ship-to-country",
            Code::SystemError => "system-error",
            Code::RateLimitQuotaExceeded => "rate-limit-quota-exceeded",
            Code::RequestTimeout => "request-timeout",
            Code::RequestTooLarge => "request-too-large",
            Code::UnsupportedMediaType => "unsupported-media-type",
            Code::ServiceUnavailable => "service-unavailable",
        }
    }

    pub const fn status(self) -> StatusCode {
        match self {
            Code::InvalidRequest | Code::PasswordFailure | Code::DrLimitedTokenInvalid => {
                StatusCode::BAD_REQUEST
            }
            Code::InvalidClient | Code::InvalidToken => StatusCode::UNAUTHORIZED,
            Code::Forbidden => StatusCode::FORBIDDEN,
            Code::ResourceNotFound
            | Code::InvalidOfferId
            | Code::NoOfferIdentifier
            | Code::DuplicateOfferIdentifier
            | Code::NoProductIdentifier
            | Code::DuplicateProductIdentifier => StatusCode::NOT_FOUND,
            Code::InvalidDiscount
            | Code::InvalidDiscountType
            | Code::NoDiscountOrType
            | Code::InvalidProductId => StatusCode::PRECONDITION_FAILED,
            Code::CustomDescriptionsExceedsLimitation => StatusCode::PAYLOAD_TOO_LARGE,
            Code::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Code::ShopperAlreadyExists
            | Code::AddressAlreadyExists
            | Code::ResourceAlreadyExists
            | Code::AddBaseProductCartError
            | Code::LineItemCreationFailure
            | Code::InventoryUnavailableError
            | Code::SubmitCartFailed
            | Code::InvalidPaymentFailure
            | Code::ApplyPaymentFailure
            | Code::InvalidPaymentMethod
            | Code::ApplyShopperFailure
            | Code::OperationFailed
            | Code::CreditCardDeclined
            | Code::CreditCardExpired
            | Code::OfferUsageLimitExceeded
            | Code::ShopperUsageLimitExceeded
            | Code::InvalidCoupon
            | Code::OfferNotActive
            | Code::OfferNotDeployed
            | Code::AlwaysTriggeredOfferId
            | Code::PreconditionFailure
            | Code::OverPrivateStoreShopperRestriction
            | Code::VatExemptionFailure
            | Code::RestrictedBillToCountry
            | Code::RestrictedShipToCountry => StatusCode::CONFLICT,
            Code::SystemError => StatusCode::INTERNAL_SERVER_ERROR,
            Code::RateLimitQuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
            Code::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Code::RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Code::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The code the docs would give a bare `status` (the documented-rejection hook).
    pub fn for_status(status: StatusCode) -> Code {
        match status {
            StatusCode::UNAUTHORIZED => Code::InvalidToken,
            StatusCode::FORBIDDEN => Code::Forbidden,
            StatusCode::NOT_FOUND => Code::ResourceNotFound,
            StatusCode::METHOD_NOT_ALLOWED => Code::MethodNotAllowed,
            StatusCode::REQUEST_TIMEOUT => Code::RequestTimeout,
            StatusCode::PAYLOAD_TOO_LARGE => Code::RequestTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Code::UnsupportedMediaType,
            StatusCode::TOO_MANY_REQUESTS => Code::RateLimitQuotaExceeded,
            _ => Code::InvalidRequest,
        }
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                OAuthError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "the service is temporarily unavailable, retry shortly",
                )
            }
            other => internal(other),
        }
    }
}

pub fn internal(e: impl std::fmt::Display) -> OAuthError {
    tracing::error!(error = %e, "internal error");
    OAuthError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "internal error",
    )
}

impl From<ClientAuthError> for OAuthError {
    fn from(e: ClientAuthError) -> Self {
        match e {
            ClientAuthError::InvalidClient(d) | ClientAuthError::Forbidden(d) => {
                OAuthError::invalid_client(d)
            }
            ClientAuthError::InvalidRequest(d) => OAuthError::invalid_request(d),
            ClientAuthError::Store(e) => e.into(),
        }
    }
}

impl From<VerifyError> for OAuthError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Invalid => {
                OAuthError::invalid_token("the access token is invalid, expired or revoked")
            }
            VerifyError::Store(e) => e.into(),
        }
    }
}

impl From<GrantError> for OAuthError {
    fn from(e: GrantError) -> Self {
        match e {
            GrantError::InvalidRequest(d) => OAuthError::invalid_request(d),
            GrantError::UnsupportedGrantType(d) => {
                OAuthError::new(StatusCode::BAD_REQUEST, "unsupported_grant_type", d)
            }
            GrantError::InvalidGrant(d) => {
                OAuthError::new(StatusCode::BAD_REQUEST, "invalid_grant", d)
            }
            GrantError::DrLimitedTokenInvalid => OAuthError::new(
                StatusCode::BAD_REQUEST,
                "dr_limited_token_invalid",
                "dr_limited_token is not a valid limited access token of this site",
            ),
        }
    }
}

impl From<TokenError> for OAuthError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Grant(g) => g.into(),
            TokenError::UnauthorizedClient(d) => {
                OAuthError::new(StatusCode::BAD_REQUEST, "unauthorized_client", d)
            }
            TokenError::UnauthorizedClientOwned(d) => {
                OAuthError::new(StatusCode::BAD_REQUEST, "unauthorized_client", d)
            }
            TokenError::InvalidClient(d) => OAuthError::invalid_client(d),
            TokenError::Store(s) => s.into(),
            TokenError::Internal(e) => internal(e),
            // Handlers answer this themselves, with Retry-After (see `limits`).
            TokenError::Throttled(_) => OAuthError::new(
                StatusCode::TOO_MANY_REQUESTS,
                TOO_MANY_REQUESTS,
                SIGN_IN_THROTTLED,
            ),
        }
    }
}

/// The 429 code of the OAuth shape (the Shopper API spells codes with dashes).
pub const TOO_MANY_REQUESTS: &str = "too_many_requests";
pub const RATE_LIMITED: &str = "too many requests; retry after the time in Retry-After";
pub const SIGN_IN_THROTTLED: &str =
    "too many failed sign-ins for this username or address; retry after the time in Retry-After";

/// The OpenAPI schema of [`OAuthError`]'s body.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documentation only
pub struct OAuthErrorBody {
    /// RFC 6749 error code, e.g. `invalid_request`, `invalid_client`, `invalid_grant`.
    error: String,
    error_description: String,
}

/// The OpenAPI schema of [`ShopperApiError`]'s body.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documentation only
pub struct ShopperApiErrorBody {
    errors: ShopperApiErrorList,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ShopperApiErrorList {
    error: Vec<ShopperApiErrorItem>,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ShopperApiErrorItem {
    relation: String,
    /// One of [`Code`]'s: e.g. `invalid-request`, `invalid_token`, `resource-not-found`.
    code: String,
    description: String,
}

#[cfg(test)]
mod code_tests {
    use super::Code;
    use axum::http::StatusCode;

    /// The docs' Shopper API error codes by status (`error-codes-for-shopper-apis/*.md`), as
    /// far as Shopkeeper has a use for them; `[resource]-already-exists` is a pattern.
    const DOCUMENTED: &[(u16, &str)] = &[
        (400, "invalid-request"),
        (400, "password-failure"),
        (400, "dr_limited_token_invalid"),
        (400, "validation-error"),
        (401, "invalid_client"),
        (401, "invalid_request"),
        (401, "invalid_token"),
        (403, "forbidden"),
        (404, "resource-not-found"),
        (404, "invalid-offer-id"),
        (404, "no-offer-identifier"),
        (404, "duplicate_offer_identifier"),
        (404, "no-product-identifier"),
        (404, "duplicate_product_identifier"),
        (412, "invalid-discount"),
        (412, "invalid-discount-type"),
        (412, "no-discount-or-type"),
        (412, "invalid-product-id"),
        (413, "custom_descriptions_exceeds_limitation"),
        (405, "method-not-allowed"),
        (409, "add-base-product-cart-error"),
        (409, "apply-payment-failure"),
        (409, "apply-shopper-failure"),
        (409, "cart-failure"),
        (409, "cart-payment-failure"),
        (409, "credit-card-declined"),
        (409, "credit-card-expired"),
        (409, "field-too-long"),
        (409, "invalid-payment-failure"),
        (409, "invalid-payment-method"),
        (409, "invalid-postal-code"),
        (409, "invalid-product-id"),
        (409, "invalid-ship-to-country"),
        (409, "inventory-unavailable-error"),
        (409, "invalid-coupon"),
        (409, "invalid-offer-id"),
        (409, "offer-not-active"),
        (409, "offer-not-deployed"),
        (409, "precondition-failure"),
        (409, "over-private-store-shopper-restriction"),
        (409, "line-item-creation-failure"),
        (409, "offer-usage-limit-exceeded"),
        (409, "operation-failed"),
        (409, "rate-limit-quota-exceeded"),
        (409, "restricted-bill-to-country"),
        (409, "restricted-ship-to-country"),
        (409, "shopper-usage-limit-exceeded"),
        (409, "submit-cart-failed"),
        // Not on the error-code pages: `cart/configuring-taxes/managing-tax-identifiers.md`
        // documents it at 409 for tax identifiers on a site without Global Tax ID Management.
        (409, "vat-exemption-failure"),
        (500, "system-error"),
    ];

    fn documented(code: Code) -> bool {
        let (status, name) = (code.status().as_u16(), code.as_str());
        DOCUMENTED.contains(&(status, name))
            || (status == 409
                && name
                    .strip_suffix("-already-exists")
                    .is_some_and(|resource| !resource.is_empty()))
    }

    #[test]
    fn all_lists_every_variant_once() {
        for (i, code) in Code::ALL.iter().enumerate() {
            assert_eq!(*code as usize, i, "{code:?} out of place in Code::ALL");
        }
        assert_eq!(Code::ALL.len(), Code::ServiceUnavailable as usize + 1);
    }

    /// Every code the Shopper API can answer is one the docs list at its status, or a
    /// deviation README's error-code section names with its status and reason.
    #[test]
    fn every_code_is_documented_or_a_listed_deviation() {
        let readme = include_str!("../../../README.md");
        let section = readme
            .split("### Error codes")
            .nth(1)
            .expect("README has an \"### Error codes\" section");
        let section = section.split("\n## ").next().unwrap_or(section);
        for code in Code::ALL {
            if documented(code) {
                continue;
            }
            let row = section
                .lines()
                .find(|l| l.contains(&format!("`{}`", code.as_str())) && l.contains("deviation"))
                .unwrap_or_else(|| panic!("{code:?} is neither documented nor a README deviation"));
            assert!(
                row.contains(&code.status().as_u16().to_string()),
                "README's deviation row for {code:?} names its status: {row}"
            );
        }
    }

    #[test]
    fn bare_statuses_get_their_documented_code() {
        assert_eq!(
            Code::for_status(StatusCode::NOT_FOUND),
            Code::ResourceNotFound
        );
        assert_eq!(
            Code::for_status(StatusCode::BAD_REQUEST),
            Code::InvalidRequest
        );
        assert_eq!(
            Code::for_status(StatusCode::PAYLOAD_TOO_LARGE),
            Code::RequestTooLarge
        );
    }
}
