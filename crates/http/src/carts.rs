//! The active cart of the shopper session (limited or full token): line items, addresses,
//! shipping options, payment, `apply-shopper` (full) and `submit-cart`. The cart belongs to the
//! session, so it survives refresh and the limited→full upgrade (same session id).

use super::access::{Full, Limited};
use super::cart_offers::{
    AppliedOffers, AppliedOffersInput, apply_checked, check_applied, refused_trigger,
    trigger_refusal,
};
use super::error::{Code, ShopperApiError};
use super::extract::{AppJson, NoBody, OptionalJson};
use super::shopper_api::{ApiQuery, ApiResult, bad_request, cart_conflict, not_found, path_id};
use super::shoppers::{AddressBody, AddressWire};
use super::tolerant::{one_or_many, opt_bool, opt_i64, opt_object, opt_scalar, opt_text};
use super::views::address::{AddressEnvelope, AddressView};
use super::views::cart::{
    CART, CartEnvelope, CartView, LineItemEnvelope, LineItems, LineItemsEnvelope,
    ShippingOptionEnvelope, ShippingOptionView, ShippingOptions, ShippingOptionsEnvelope, Warning,
};
use super::views::order::{SubmitCart, SubmitCartEnvelope};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use shopkeeper_domain::address::PostalAddress;
use shopkeeper_domain::address_check;
use shopkeeper_domain::authorized_countries::Kind;
use shopkeeper_domain::catalog::{CustomAttribute, CustomAttributes, MAX_CUSTOM_ATTRIBUTES};
use shopkeeper_domain::checkout::cart::{LineRefusal, check_quantity};
use shopkeeper_domain::checkout::order::{CHARGE_TYPES, CartFields, Refusal};
use shopkeeper_domain::checkout::{MAX_LINE_QUANTITY, ShippingOption};
use shopkeeper_domain::offers::{DiscountLevel, LimitReached};
use shopkeeper_domain::shopper::{AddressInput, ProfileUpdate};
use shopkeeper_domain::subscriptions::{MAX_TERMS, SubscriptionInfo};
use shopkeeper_domain::time::UnixSeconds;
use shopkeeper_services::auth::Principal;
use shopkeeper_services::checkout::{self as service, AccountChoice, CheckoutError};
use shopkeeper_services::state::AppState;
use shopkeeper_store::{CouponRecord, SubmitFailure, TriggerDetails};
use std::collections::HashMap;
use std::net::IpAddr;

/// A checkout failure as the documented Shopper API error.
impl From<CheckoutError> for ShopperApiError {
    fn from(e: CheckoutError) -> Self {
        match e {
            CheckoutError::Store(e) => e.into(),
            CheckoutError::NotFound(what) => not_found(what),
            CheckoutError::Field(e) => e.into(),
            CheckoutError::Line(refusal) => line_refusal(refusal),
            CheckoutError::NotAnId(param) => bad_request(format!("{param} is not an id")),
            CheckoutError::InvalidShippingOption(id) => cart_conflict(
                Code::OperationFailed,
                format!("shipping option {id} is not available for this cart"),
            ),
            CheckoutError::InvalidSource(source_id) => cart_conflict(
                Code::ApplyPaymentFailure,
                format!(
                    "payment source {source_id:?} does not exist, was already used, or was \
                     applied by another session or shopper"
                ),
            ),
            CheckoutError::TooManyAttributes => too_many_attributes(),
            CheckoutError::SingleUseSource(source_id) => cart_conflict(
                Code::InvalidPaymentMethod,
                format!(
                    "payment source {source_id:?} is single-use: only a reusable source can be \
                     saved as a payment option"
                ),
            ),
            CheckoutError::ApplyShopper(description) => {
                cart_conflict(Code::ApplyShopperFailure, description)
            }
            CheckoutError::Submit(failure) => submit_failure(failure),
            CheckoutError::RestrictedCountry { kind, country } => {
                restricted_country(kind, &country)
            }
            CheckoutError::Trigger {
                refusal,
                named,
                by_code,
            } => trigger_refusal(refusal, &named, by_code),
        }
    }
}

fn too_many_attributes() -> ShopperApiError {
    bad_request(format!(
        "customAttributes: a cart or a line keeps at most {MAX_CUSTOM_ATTRIBUTES} attributes"
    ))
}

fn line_refusal(refusal: LineRefusal) -> ShopperApiError {
    match refusal {
        LineRefusal::NoSuchProduct(id) => not_found(format!("product {id}")),
        LineRefusal::HasVariations(id) => cart_conflict(
            Code::AddBaseProductCartError,
            format!("product {id} has variations: add one of its variations"),
        ),
        LineRefusal::CurrencyMismatch {
            product_id,
            product_currency,
            cart_currency,
        } => cart_conflict(
            Code::LineItemCreationFailure,
            format!(
                "product {product_id} is priced in {product_currency}, the cart in {cart_currency}"
            ),
        ),
        LineRefusal::QuantityOutOfRange => bad_request(format!(
            "quantity must be between 1 and {MAX_LINE_QUANTITY}"
        )),
        LineRefusal::LineTooLarge => {
            bad_request(format!("quantity must be at most {MAX_LINE_QUANTITY}"))
        }
        LineRefusal::OutOfStock {
            product_id,
            available,
        } => cart_conflict(
            Code::InventoryUnavailableError,
            format!("product {product_id} has {available} unit(s) in stock"),
        ),
    }
}

/// The documented 409 of an address in a country the site does not authorize
/// (`authorized-shipping-and-billing-countries.md`, `409-conflict.md`): its documented
/// description, and what to do.
fn restricted_country(kind: Kind, country: &str) -> ShopperApiError {
    let (code, what) = match kind {
        Kind::Billing => (Code::RestrictedBillToCountry, "Billing"),
        Kind::Shipping => (Code::RestrictedShipToCountry, "Shipping"),
    };
    cart_conflict(
        code,
        format!(
            "{what} Address country is restricted for request ({country}: the site does not \
             authorize it for {}; use an address in an authorized country)",
            kind.as_str()
        ),
    )
}

fn submit_failure(f: SubmitFailure<Refusal>) -> ShopperApiError {
    match f {
        SubmitFailure::Refused(Refusal::RestrictedCountry { kind, country }) => {
            restricted_country(kind, &country)
        }
        SubmitFailure::Refused(Refusal::Empty) => {
            cart_conflict(Code::SubmitCartFailed, "the cart has no line items")
        }
        SubmitFailure::Refused(Refusal::AlreadySubmitted(id)) => cart_conflict(
            Code::SubmitCartFailed,
            format!("this cart was already submitted as order {id}; it is empty now"),
        ),
        SubmitFailure::Refused(Refusal::NoShippingAddress) => cart_conflict(
            Code::SubmitCartFailed,
            "the cart has physical products: set a shipping address",
        ),
        SubmitFailure::Refused(Refusal::NoBillingAddress) => cart_conflict(
            Code::SubmitCartFailed,
            "set a billing address or apply a payment source with an owner address",
        ),
        SubmitFailure::Refused(Refusal::NoPayment) | SubmitFailure::SourceSpent => cart_conflict(
            Code::InvalidPaymentFailure,
            "apply a chargeable payment source (apply-payment-method) that pays what the \
             store credit does not",
        ),
        SubmitFailure::Refused(Refusal::CreditCurrency) => cart_conflict(
            Code::InvalidPaymentFailure,
            "the applied store credit is in another currency than the cart",
        ),
        SubmitFailure::Refused(Refusal::PaymentDropped) => cart_conflict(
            Code::InvalidPaymentFailure,
            "the cart was changed with a limited (guest) token after the shopper's payment \
             method was applied, which removed it and the account's addresses: apply them \
             again (apply-shopper or apply-payment-method)",
        ),
        SubmitFailure::Refused(Refusal::Declined(reason)) => cart_conflict(
            if reason == "expired_card" {
                Code::CreditCardExpired
            } else {
                Code::CreditCardDeclined
            },
            format!("the payment was declined ({reason}); the cart is unchanged"),
        ),
        // The docs give no guest-specific text (their refusals of subscriptions are about
        // the payment source): the documented code, a description of our own.
        SubmitFailure::Refused(Refusal::SubscriptionNeedsShopper) => cart_conflict(
            Code::SubmitCartFailed,
            "the cart has a subscription product: a subscription is a signed-in shopper's \
             (sign in, then submit with the shopper's full token)",
        ),
        SubmitFailure::Refused(Refusal::TermsNotAccepted) => cart_conflict(
            Code::SubmitCartFailed,
            "Terms of Sales Acceptance must be true so shopper confirmed the agreement.",
        ),
        SubmitFailure::Refused(Refusal::SubscriptionNeedsReusableSource) => cart_conflict(
            Code::SubmitCartFailed,
            "Cannot use non-recurring payment method to purchase commitment type subscription",
        ),
        SubmitFailure::Refused(Refusal::OutsidePrivateStore) => ShopperApiError::new(
            Code::Forbidden,
            "this site is a private store: authorize the shopper session into one of its \
             purchase plans (POST /v1/shoppers/me/purchase-plan/authorize) before submitting",
        ),
        SubmitFailure::Refused(Refusal::OverPlanLimit { product_id, over })
        | SubmitFailure::OverPlanLimit { product_id, over } => cart_conflict(
            Code::OverPrivateStoreShopperRestriction,
            format!("{} (product {product_id})", over.description()),
        ),
        SubmitFailure::OutOfStock { product_id } => cart_conflict(
            Code::InventoryUnavailableError,
            format!("product {product_id} does not have the ordered quantity in stock"),
        ),
        SubmitFailure::OfferUsedUp { offer_id, limit } => match limit {
            LimitReached::Total => cart_conflict(
                Code::OfferUsageLimitExceeded,
                format!(
                    "Exceeded the offer usage limit (offer {offer_id}): the cart is unchanged; \
                     it prices without the offer once the offer no longer applies"
                ),
            ),
            LimitReached::Shopper => cart_conflict(
                Code::ShopperUsageLimitExceeded,
                format!(
                    "The shopper exceeded the offer usage limit (offer {offer_id}); the cart is \
                     unchanged"
                ),
            ),
        },
        SubmitFailure::CodeLapsed { code, refusal } => {
            let (status_code, text) = refused_trigger(refusal, &code, true);
            let description = format!(
                "{text} (coupon code {code}; the cart is unchanged: remove the code with DELETE \
                 applied-offers/{{offerId}} or eligible-offers to order without it)"
            );
            ShopperApiError::new(status_code, description)
        }
    }
}

// --- rendering --------------------------------------------------------------------------------

/// The cart as its documented body.
pub(crate) async fn cart_response(
    state: &AppState,
    q: &ApiQuery,
    p: &Principal,
) -> ApiResult<Response> {
    cart_response_after(state, q, p, None).await
}

/// The cart as its documented body, warning when `coupon` (just applied) triggers no offer the
/// cart qualifies for yet (`applying-a-coupon-code.md`: "A `warnings object` appears in the
/// response only when neither set of criteria is met").
async fn cart_response_after(
    state: &AppState,
    q: &ApiQuery,
    p: &Principal,
    coupon: Option<&CouponRecord>,
) -> ApiResult<Response> {
    let read = service::read_cart(&state.store, p, state.clock.now()).await?;
    let pr = read.priced();
    let sources = (read.snapshot.source.as_ref(), read.snapshot.credit.as_ref());
    let fields = &read.snapshot.cart.fields;
    let cart = CartView::new(q, &read.cart_id, &pr, sources, fields, p.site_id.as_str());
    let warnings = coupon
        .filter(|c| {
            let mut offers = std::iter::once(c.offer_id).chain(c.secondary_offer_id);
            !offers.any(|id| pr.offers.eligible.contains(&id))
        })
        .map(|c| Warning {
            code: "couponcode_not_eligible",
            description: format!(
                "The relevant discount triggered by {} will be applied to the cart once it \
                 meets the offer criteria.",
                c.code
            ),
        })
        .into_iter()
        .collect();
    Ok(q.respond_with(&CartEnvelope { cart, warnings }))
}

// --- line items -------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a product object")]
pub struct ProductRef {
    #[serde(default)]
    id: Option<Value>,
}

/// One custom attribute as the docs send it (`"value"` may be a boolean or a number).
#[derive(Debug, Deserialize)]
#[serde(expecting = "an attribute object {\"name\", \"type\", \"value\"}")]
pub struct AttributeInput {
    #[serde(default, deserialize_with = "opt_text")]
    name: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "opt_text")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    value: Option<String>,
}

/// `{"attribute": [...]}`, or `{"attribute": {...}}` for one.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "an object {\"attribute\": ...}")]
pub struct AttributesInput {
    #[serde(default, deserialize_with = "one_or_many")]
    attribute: Vec<AttributeInput>,
}

impl AttributesInput {
    /// The attributes, checked by the catalog's rule; `at` names the field in a 400.
    fn checked(self, at: &str) -> ApiResult<CustomAttributes> {
        if self.attribute.len() > MAX_CUSTOM_ATTRIBUTES {
            return Err(bad_request(format!(
                "{at}.attribute lists more than {MAX_CUSTOM_ATTRIBUTES} attributes"
            )));
        }
        let mut out: Vec<CustomAttribute> = Vec::with_capacity(self.attribute.len());
        for (i, a) in self.attribute.into_iter().enumerate() {
            let attribute = CustomAttribute {
                name: a.name.unwrap_or_default(),
                kind: a.kind.unwrap_or_else(|| "String".to_owned()),
                value: a.value.unwrap_or_default(),
            };
            if let Some((field, why)) = attribute.problem() {
                return Err(bad_request(format!("{at}.attribute[{i}].{field}: {why}")));
            }
            // The same name twice in one request: the last one is what it sets.
            out.retain(|o| o.name != attribute.name);
            out.push(attribute);
        }
        Ok(CustomAttributes(out))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a line item object")]
pub struct LineItemInput {
    #[serde(default, deserialize_with = "opt_i64")]
    quantity: Option<i64>,
    #[serde(default, deserialize_with = "opt_object")]
    product: Option<ProductRef>,
    /// The line's own attributes (merged into the line's by name).
    #[serde(default, deserialize_with = "opt_object")]
    custom_attributes: Option<AttributesInput>,
    /// What the storefront says of the subscription the line buys.
    #[serde(default, deserialize_with = "opt_object")]
    subscription_info: Option<SubscriptionInfoInput>,
}

/// `{"autoRenewal", "terms", "freeTrial", "billingAgreementId"}`
/// (`providing-subscription-information.md`). The trial is the product's plan's, and the
/// billing agreement is assigned at submit: those two are taken and ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a subscriptionInfo object")]
pub struct SubscriptionInfoInput {
    #[serde(default, deserialize_with = "opt_bool")]
    auto_renewal: Option<bool>,
    #[serde(default, deserialize_with = "opt_text")]
    terms: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    #[allow(dead_code)]
    free_trial: Option<bool>,
    #[serde(default, deserialize_with = "opt_text")]
    #[allow(dead_code)]
    billing_agreement_id: Option<String>,
}

impl SubscriptionInfoInput {
    fn checked(self) -> ApiResult<SubscriptionInfo> {
        if self
            .terms
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_TERMS)
        {
            return Err(bad_request(format!(
                "Terms cannot exceed a length of {MAX_TERMS} characters."
            )));
        }
        Ok(SubscriptionInfo {
            auto_renewal: self.auto_renewal,
            terms: self.terms.filter(|t| !t.trim().is_empty()),
        })
    }
}

/// `{"lineItem": [...]}`, or `{"lineItem": {...}}` for one.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "an object {\"lineItem\": ...}")]
pub struct LineItemList {
    #[serde(rename = "lineItem", default, deserialize_with = "one_or_many")]
    line_item: Vec<LineItemInput>,
    /// Item-level offers the storefront applies (beside `lineItem`, as the docs send them).
    #[serde(
        rename = "appliedProductOffers",
        default,
        deserialize_with = "opt_object"
    )]
    applied_product_offers: Option<AppliedOffersInput>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a cart object")]
pub struct CartInput {
    #[serde(default, deserialize_with = "opt_object")]
    line_items: Option<LineItemList>,
    #[serde(default, deserialize_with = "opt_object")]
    billing_address: Option<AddressWire>,
    #[serde(default, deserialize_with = "opt_object")]
    shipping_address: Option<AddressWire>,
    /// The shopper's address, for the session (the docs' fraud-screening field).
    #[serde(default, deserialize_with = "opt_text")]
    ip_address: Option<String>,
    #[serde(default, deserialize_with = "opt_object")]
    custom_attributes: Option<AttributesInput>,
    #[serde(default, deserialize_with = "opt_bool")]
    terms_of_sales_acceptance: Option<bool>,
    #[serde(default, deserialize_with = "opt_text")]
    charge_type: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    organization_id: Option<String>,
    /// Order-level offers the storefront applies.
    #[serde(default, deserialize_with = "opt_object")]
    applied_order_offers: Option<AppliedOffersInput>,
}

impl CartInput {
    /// The cart's own fields the body sets, checked; `None` when it sets none.
    fn fields(&mut self) -> ApiResult<Option<CartFields>> {
        let custom_attributes = match self.custom_attributes.take() {
            Some(a) => a.checked("cart.customAttributes")?,
            None => CustomAttributes::default(),
        };
        if let Some(c) = &self.charge_type {
            if !CHARGE_TYPES.contains(&c.as_str()) {
                return Err(bad_request(format!(
                    "cart.chargeType must be one of {}",
                    CHARGE_TYPES.join(", ")
                )));
            }
        }
        if let Some(o) = &self.organization_id {
            if o.len() > 128 || o.chars().any(char::is_control) {
                return Err(bad_request(
                    "cart.organizationId must be at most 128 printable characters",
                ));
            }
        }
        let fields = CartFields {
            custom_attributes,
            terms_of_sales_acceptance: self.terms_of_sales_acceptance,
            charge_type: self.charge_type.take(),
            organization_id: self.organization_id.take(),
            ..CartFields::default()
        };
        Ok((fields != CartFields::default()).then_some(fields))
    }
}

/// `{"cart": {...}}`; `{"cart": ""}` (what storefronts send to make sure a cart exists) is
/// no cart input at all.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "an object {\"cart\": {...}}")]
pub struct CartBody {
    #[serde(default, deserialize_with = "opt_object")]
    cart: Option<CartInput>,
    /// The docs also post bare line items to this route ("Triggering an offer by cart").
    #[serde(default, deserialize_with = "opt_object")]
    line_items: Option<LineItemList>,
}

impl CartBody {
    /// The cart input, with bare `lineItems` moved into it (not both).
    fn into_input(self) -> ApiResult<Option<CartInput>> {
        match (self.cart, self.line_items) {
            (Some(c), Some(_)) if c.line_items.is_some() => Err(bad_request(
                "give lineItems at the top of the body or inside cart, not both",
            )),
            (Some(mut c), Some(lines)) => {
                c.line_items = Some(lines);
                Ok(Some(c))
            }
            (None, Some(lines)) => Ok(Some(CartInput {
                line_items: Some(lines),
                ..CartInput::default()
            })),
            (cart, None) => Ok(cart),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "an object {\"lineItems\": {...}}"
)]
pub struct LineItemsBody {
    #[serde(default, deserialize_with = "opt_object")]
    line_items: Option<LineItemList>,
    /// The docs also send line items to this route inside the cart's envelope.
    #[serde(default, deserialize_with = "opt_object")]
    cart: Option<CartInput>,
}

impl LineItemsBody {
    /// The line items, at the top or in `cart` (not both), and the order offers `cart`
    /// applies.
    fn into_lines(self) -> ApiResult<(Option<LineItemList>, Option<AppliedOffersInput>)> {
        let (in_cart, order_offers) = match self.cart {
            Some(c) => (c.line_items, c.applied_order_offers),
            None => (None, None),
        };
        match (self.line_items, in_cart) {
            (Some(_), Some(_)) => Err(bad_request(
                "give lineItems at the top of the body or inside cart, not both",
            )),
            (top, in_cart) => Ok((top.or(in_cart), order_offers)),
        }
    }
}

/// A body's `ipAddress`, checked (`None` when it gives none).
fn parse_ip_address(raw: Option<String>) -> ApiResult<Option<IpAddr>> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(None);
    };
    raw.trim()
        .parse()
        .map(Some)
        .map_err(|_| bad_request("cart.ipAddress is not an IPv4 or IPv6 address"))
}

/// Sets the session's client address from a body's `ipAddress`.
pub(crate) async fn set_ip_address(
    state: &AppState,
    p: &Principal,
    raw: Option<String>,
) -> ApiResult<()> {
    match parse_ip_address(raw)? {
        Some(ip) => write_ip_address(state, p, ip).await,
        None => Ok(()),
    }
}

async fn write_ip_address(state: &AppState, p: &Principal, ip: IpAddr) -> ApiResult<()> {
    let update = ProfileUpdate {
        ip_address: Some(ip.to_string()),
        ..ProfileUpdate::default()
    };
    state.store.update_me(&p.session_id, None, &update).await?;
    Ok(())
}

fn parse_id(v: &Value, what: &str) -> ApiResult<i64> {
    let id = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    id.filter(|i| *i > 0)
        .ok_or_else(|| bad_request(format!("{what} is not an id")))
}

pub(crate) fn parse_quantity(raw: Option<&str>) -> ApiResult<i64> {
    let q = match raw {
        None => 1,
        Some(s) => s
            .parse::<i64>()
            .map_err(|_| bad_request("quantity must be a whole number"))?,
    };
    check_quantity(q).map_err(line_refusal)
}

/// What a request adds: the `(productId, quantity)` pairs of `?productId=&quantity=` or a
/// body's `lineItems.lineItem`, the custom attributes given for a product's line, and what
/// it says of the subscription a product's line buys.
type RequestedLines = (
    Vec<(i64, i64)>,
    HashMap<i64, CustomAttributes>,
    HashMap<i64, SubscriptionInfo>,
);

fn requested_lines(q: &ApiQuery, body: Option<LineItemList>) -> ApiResult<RequestedLines> {
    let mut out = Vec::new();
    let mut attributes: HashMap<i64, CustomAttributes> = HashMap::new();
    let mut infos: HashMap<i64, SubscriptionInfo> = HashMap::new();
    if let Some(raw) = q.get("productId") {
        let id = parse_id(&Value::String(raw.to_owned()), "productId")?;
        out.push((id, parse_quantity(q.get("quantity"))?));
    }
    for item in body.map(|b| b.line_item).unwrap_or_default() {
        let id = item
            .product
            .as_ref()
            .and_then(|p| p.id.as_ref())
            .ok_or_else(|| bad_request("lineItem.product.id is required"))?;
        let id = parse_id(id, "lineItem.product.id")?;
        out.push((
            id,
            check_quantity(item.quantity.unwrap_or(1)).map_err(line_refusal)?,
        ));
        if let Some(info) = item.subscription_info {
            infos.insert(id, info.checked()?);
        }
        if let Some(given) = item.custom_attributes {
            let given = given.checked("lineItem.customAttributes")?;
            let merged = attributes
                .remove(&id)
                .unwrap_or_default()
                .merged(&given)
                .map_err(|_| too_many_attributes())?;
            attributes.insert(id, merged);
        }
    }
    Ok((out, attributes, infos))
}

/// `offerId`: the cart triggers the offer. Named with products (`addProductToCart`) it must
/// cover them (`line-item-creation-failure`); named alone it is a promotional URL's offer
/// (`triggering-a-promotional-url-offer.md`). Checked and written before the lines.
async fn trigger_named_offer(
    state: &AppState,
    p: &Principal,
    q: &ApiQuery,
    wanted: &[(i64, i64)],
    now: UnixSeconds,
) -> ApiResult<()> {
    if let Some(raw) = q.get("offerId") {
        let offer_id = parse_id(&Value::String(raw.to_owned()), "offerId")?;
        if let Some(offer) = state.store.offer(&p.site_id, offer_id).await? {
            // An item offer's products are the ones it prices; an order or shipping offer's
            // are a condition on the cart, not a limit on what is added with it.
            let pricing = &offer.pricing;
            let scope = &pricing.product_ids;
            if let Some((product_id, _)) = wanted.iter().find(|(id, _)| {
                pricing.level == DiscountLevel::Item
                    && !scope.is_empty()
                    && pricing.category_ids.is_empty()
                    && !scope.contains(id)
            }) {
                return Err(cart_conflict(
                    Code::LineItemCreationFailure,
                    format!(
                        "Line Item could not be created for the product specified: product \
                         {product_id} is not in offer {offer_id}."
                    ),
                ));
            }
        }
        service::trigger_offer(&state.store, p, offer_id, &TriggerDetails::default(), now).await?;
    }
    Ok(())
}

/// Keeps on each product's line what the request said of its subscription.
async fn set_infos(
    state: &AppState,
    p: &Principal,
    infos: &HashMap<i64, SubscriptionInfo>,
) -> ApiResult<()> {
    for (product_id, info) in infos {
        service::set_subscription_info(&state.store, p, *product_id, info).await?;
    }
    Ok(())
}

/// `GET /v1/shoppers/me/carts/active`
pub async fn get_cart(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
) -> ApiResult<Response> {
    cart_response(&state, &q, &p).await
}

/// `POST /v1/shoppers/me/carts/active`: `?productId=&quantity=[&testOrder=true]` with an empty
/// body (the quick start), and/or `{"cart": {"lineItems": {"lineItem": [...]},
/// "billingAddress", "shippingAddress"}}`.
pub async fn update_cart(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
    OptionalJson(body): OptionalJson<CartBody>,
) -> ApiResult<Response> {
    // Every part is checked before any is written, so a 4xx leaves the cart as it was.
    let mut input = body.map(CartBody::into_input).transpose()?.flatten();
    let fields = input.as_mut().map(CartInput::fields).transpose()?.flatten();
    let mut line_items = input.as_mut().and_then(|c| c.line_items.take());
    let applied = AppliedOffers::new(
        line_items
            .as_mut()
            .and_then(|l| l.applied_product_offers.take()),
        input.as_mut().and_then(|c| c.applied_order_offers.take()),
    );
    let (wanted, attributes, infos) = requested_lines(&q, line_items)?;
    let address = |a: Option<AddressWire>| {
        a.map(|a| AddressInput::from(a).validate().map(|v| v.address))
            .transpose()
    };
    let (billing, shipping, ip) = match input {
        Some(input) => (
            address(input.billing_address)?,
            address(input.shipping_address)?,
            parse_ip_address(input.ip_address)?,
        ),
        None => (None, None, None),
    };
    service::check_countries(&state.store, &p, billing.as_ref(), shipping.as_ref()).await?;
    let checked = check_applied(&state, &p, applied).await?;
    let now = state.clock.now();
    trigger_named_offer(&state, &p, &q, &wanted, now).await?;
    let coupon = match q.get("promoCode") {
        Some(raw) => Some(service::apply_coupon(&state.store, &p, raw, now).await?),
        None => None,
    };
    apply_checked(&state, &p, checked).await?;
    service::add_lines(&state.store, &p, &wanted, &attributes, now).await?;
    set_infos(&state, &p, &infos).await?;
    if let Some(fields) = &fields {
        service::set_cart_fields(&state.store, &p, fields).await?;
    }
    if let Some(a) = &billing {
        service::apply_valid_address(&state.store, &p, true, a).await?;
    }
    if let Some(a) = &shipping {
        service::apply_valid_address(&state.store, &p, false, a).await?;
    }
    if let Some(ip) = ip {
        write_ip_address(&state, &p, ip).await?;
    }
    cart_response_after(&state, &q, &p, coupon.as_ref()).await
}

async fn line_items_response(state: &AppState, q: &ApiQuery, p: &Principal) -> ApiResult<Response> {
    let read = service::read_cart(&state.store, p, state.clock.now()).await?;
    let pr = read.priced();
    let line_items = LineItems::new(q, &pr);
    Ok(q.respond_with(&LineItemsEnvelope { line_items }))
}

/// `GET .../line-items`
pub async fn list_line_items(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
) -> ApiResult<Response> {
    line_items_response(&state, &q, &p).await
}

/// `POST .../line-items`: `?productId=&quantity=` or `{"lineItems": {"lineItem": [...]}}` (one
/// line item may be the object itself).
pub async fn add_line_items(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
    OptionalJson(body): OptionalJson<LineItemsBody>,
) -> ApiResult<Response> {
    let (mut input, order_offers) = match body {
        Some(b) => b.into_lines()?,
        None => (None, None),
    };
    let applied = AppliedOffers::new(
        input.as_mut().and_then(|l| l.applied_product_offers.take()),
        order_offers,
    );
    let (wanted, attributes, infos) = requested_lines(&q, input)?;
    if wanted.is_empty() {
        return Err(bad_request(
            "give productId (and quantity) or lineItems.lineItem",
        ));
    }
    let checked = check_applied(&state, &p, applied).await?;
    let now = state.clock.now();
    trigger_named_offer(&state, &p, &q, &wanted, now).await?;
    apply_checked(&state, &p, checked).await?;
    service::add_lines(&state.store, &p, &wanted, &attributes, now).await?;
    set_infos(&state, &p, &infos).await?;
    line_items_response(&state, &q, &p).await
}

async fn one_line(state: &AppState, q: &ApiQuery, p: &Principal, id: i64) -> ApiResult<Response> {
    let read = service::read_cart(&state.store, p, state.clock.now()).await?;
    let pr = read.priced();
    // Priced with the others: a line's share of the cart's tax depends on them.
    let line_item = LineItems::new(q, &pr)
        .line_item
        .into_iter()
        .find(|l| l.id == id)
        .ok_or_else(|| not_found(format!("line item {id}")))?;
    Ok(q.respond_with(&LineItemEnvelope { line_item }))
}

/// `GET .../line-items/{id}`
pub async fn get_line_item(
    State(state): State<AppState>,
    Limited(p): Limited,
    Path(id): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let id = path_id(&id, "line item")?;
    one_line(&state, &q, &p, id).await
}

#[derive(Debug, Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "an object {\"lineItem\": {...}}"
)]
pub struct LineItemBody {
    #[serde(default, deserialize_with = "opt_object")]
    line_item: Option<LineItemInput>,
}

/// `POST .../line-items/{id}?quantity=N` (or `{"lineItem": {"quantity": N}}`): sets the
/// quantity, checked against stock; without a quantity, answers the line unchanged.
pub async fn update_line_item(
    State(state): State<AppState>,
    Limited(p): Limited,
    Path(id): Path<String>,
    q: ApiQuery,
    OptionalJson(body): OptionalJson<LineItemBody>,
) -> ApiResult<Response> {
    let id = path_id(&id, "line item")?;
    let line = body.and_then(|b| b.line_item);
    let (from_body, given) = match line {
        Some(l) => (l.quantity, l.custom_attributes),
        None => (None, None),
    };
    let quantity = match (q.get("quantity"), from_body) {
        (Some(raw), _) => Some(parse_quantity(Some(raw))?),
        (None, Some(n)) => Some(check_quantity(n).map_err(line_refusal)?),
        // Nothing to change (the docs' bare update): the line as it is.
        (None, None) => None,
    };
    if let Some(quantity) = quantity {
        service::set_line_quantity(&state.store, &p, id, quantity, state.clock.now()).await?;
    }
    if let Some(given) = given {
        let given = given.checked("lineItem.customAttributes")?;
        service::set_line_attributes(&state.store, &p, id, &given).await?;
    }
    one_line(&state, &q, &p, id).await
}

/// `DELETE .../line-items/{id}`
pub async fn delete_line_item(
    State(state): State<AppState>,
    Limited(p): Limited,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_id(&id, "line item")?;
    if service::delete_line(&state.store, &p, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(format!("line item {id}")))
    }
}

/// `DELETE .../line-items`: empties the cart.
pub async fn delete_line_items(
    State(state): State<AppState>,
    Limited(p): Limited,
) -> ApiResult<StatusCode> {
    service::delete_lines(&state.store, &p).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- addresses --------------------------------------------------------------------------------

/// One of the cart's two addresses, as its routes name it.
pub trait CartAddress: Send + 'static {
    const BILLING: bool;
    /// The `id` of its resource.
    const ID: &'static str;
    /// Its path below the cart.
    const SEGMENT: &'static str;
}

pub struct Billing;

impl CartAddress for Billing {
    const BILLING: bool = true;
    const ID: &'static str = "billingAddress";
    const SEGMENT: &'static str = "billing-address";
}

pub struct Shipping;

impl CartAddress for Shipping {
    const BILLING: bool = false;
    const ID: &'static str = "shippingAddress";
    const SEGMENT: &'static str = "shipping-address";
}

fn address_response<A: CartAddress>(q: &ApiQuery, a: &PostalAddress) -> Response {
    let address = AddressView::new(q.uri(&format!("{CART}/{}", A::SEGMENT)), A::ID, a);
    q.respond_with(&AddressEnvelope { address })
}

/// `GET .../billing-address`, `GET .../shipping-address`
pub async fn get_address<A: CartAddress>(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
) -> ApiResult<Response> {
    let a = cart_address::<A>(&state, &p).await?;
    // A cart always has its two address resources; one not set yet has empty fields.
    Ok(address_response::<A>(&q, &a.unwrap_or_default()))
}

/// The cart's billing (or shipping) address, when set.
pub(crate) async fn cart_address<A: CartAddress>(
    state: &AppState,
    p: &Principal,
) -> ApiResult<Option<PostalAddress>> {
    let read = service::read_cart(&state.store, p, state.clock.now()).await?;
    let pr = read.priced();
    Ok(if A::BILLING { pr.billing } else { pr.shipping })
}

/// `PUT .../billing-address`, `PUT .../shipping-address` `{"address": {...}}`
pub async fn put_address<A: CartAddress>(
    State(state): State<AppState>,
    Limited(p): Limited,
    // Read for its checks (a malformed query is a 400 here as everywhere).
    _q: ApiQuery,
    AppJson(body): AppJson<AddressBody>,
) -> ApiResult<StatusCode> {
    service::apply_address(&state.store, &p, A::BILLING, body.into_input()?).await?;
    // The docs answer 204 No Content; the address is read back with GET.
    Ok(StatusCode::NO_CONTENT)
}

/// `POST .../apply-billing-address`, `POST .../apply-shipping-address` `{"address": {...}}`
/// → the cart. Without a body (as the docs call it) the customer's address is applied: a
/// signed-in shopper's default one, else the one already on the cart
/// (`service::apply_account_address`); with neither, 400 `invalid-request` (the request
/// lacks the address it needs). `?suggestionid=1` applies the address's suggested correction
/// (`address_suggestions`).
pub async fn apply_address<A: CartAddress>(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
    OptionalJson(body): OptionalJson<AddressBody>,
) -> ApiResult<Response> {
    let given = body.map(AddressBody::into_input).transpose()?;
    let suggestion = q.get("suggestionid").or_else(|| q.get("suggestionId"));
    match (given, suggestion) {
        (Some(_), Some(_)) => {
            return Err(bad_request(
                "send either an address or a suggestionId, not both",
            ));
        }
        (None, Some(id)) => {
            let address = match id.parse::<i64>() {
                Ok(address_check::SUGGESTION_ID) => cart_address::<A>(&state, &p)
                    .await?
                    .as_ref()
                    .and_then(address_check::suggestion),
                _ => None,
            }
            .ok_or_else(|| not_found(format!("address suggestion {id:?}")))?;
            service::apply_valid_address(&state.store, &p, A::BILLING, &address).await?;
        }
        (Some(address), None) => {
            service::apply_address(&state.store, &p, A::BILLING, address).await?;
        }
        (None, None) => {
            if !service::apply_account_address(&state.store, &p, A::BILLING, state.clock.now())
                .await?
            {
                let kind = if A::BILLING { "billing" } else { "shipping" };
                return Err(bad_request(format!(
                    "no {kind} address to apply: send {{\"address\": {{...}}}}, set the \
                     cart's {kind} address first, or save a default address (signed in)"
                )));
            }
        }
    }
    cart_response(&state, &q, &p).await
}

// --- shipping options -------------------------------------------------------------------------

/// `GET .../shipping-options`: empty when nothing in the cart ships.
pub async fn list_shipping_options(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
) -> ApiResult<Response> {
    let read = service::read_cart(&state.store, &p, state.clock.now()).await?;
    let pr = read.priced();
    Ok(q.respond_with(&ShippingOptionsEnvelope {
        shipping_options: ShippingOptions::new(&q, &pr),
    }))
}

/// `GET .../shipping-options/{id}`
pub async fn get_shipping_option(
    State(state): State<AppState>,
    Limited(p): Limited,
    Path(id): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let id = path_id(&id, "shipping option")?;
    let read = service::read_cart(&state.store, &p, state.clock.now()).await?;
    let pr = read.priced();
    let option = ShippingOption::find(id)
        .filter(|_| pr.physical())
        .ok_or_else(|| not_found(format!("shipping option {id}")))?;
    let shipping_option = ShippingOptionView::new(&q, option, &pr);
    Ok(q.respond_with(&ShippingOptionEnvelope { shipping_option }))
}

/// `POST .../apply-shipping-option?shippingOptionId=ID` → the cart.
pub async fn apply_shipping_option(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
    _: NoBody,
) -> ApiResult<Response> {
    let raw = q
        .get("shippingOptionId")
        .ok_or_else(|| bad_request("shippingOptionId is required"))?;
    let id = parse_id(&Value::String(raw.to_owned()), "shippingOptionId")?;
    service::apply_shipping_option(&state.store, &p, id).await?;
    cart_response(&state, &q, &p).await
}

// --- payment ----------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a payment method object")]
pub struct PaymentMethodInput {
    #[serde(default, deserialize_with = "opt_text")]
    source_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "an object {\"paymentMethod\": {...}}"
)]
pub struct PaymentMethodBody {
    #[serde(default, deserialize_with = "opt_object")]
    payment_method: Option<PaymentMethodInput>,
}

/// `POST .../apply-payment-method` `{"paymentMethod": {"sourceId": ...}}` → the cart. A
/// signed-in shopper's reusable source is saved as a payment option.
pub async fn apply_payment_method(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
    OptionalJson(body): OptionalJson<PaymentMethodBody>,
) -> ApiResult<Response> {
    let from_body = body
        .and_then(|b| b.payment_method)
        .and_then(|m| m.source_id);
    let source_id = from_body
        .or_else(|| q.get("sourceId").map(str::to_owned))
        .ok_or_else(|| bad_request("paymentMethod.sourceId is required"))?;
    service::apply_source(&state.store, &p, &source_id).await?;
    cart_response(&state, &q, &p).await
}

// --- apply-shopper ----------------------------------------------------------------------------

/// `POST .../apply-shopper[?billingAddressId=&shippingAddressId=&paymentOptionId=]` (full):
/// copies the shopper's default (or the named) addresses and payment option into the cart.
pub async fn apply_shopper(
    State(state): State<AppState>,
    full: Full,
    q: ApiQuery,
    _: NoBody,
) -> ApiResult<Response> {
    let choice = AccountChoice {
        billing_address_id: q.get("billingAddressId"),
        shipping_address_id: q.get("shippingAddressId"),
        payment_option_id: q.get("paymentOptionId"),
    };
    let p = &full.0;
    service::apply_shopper(&state.store, p, full.shopper_id(), choice).await?;
    cart_response(&state, &q, p).await
}

// --- submit -----------------------------------------------------------------------------------

/// `{"cart": {"ipAddress": ...}}`, the body the docs give `submit-cart`.
#[derive(Debug, Deserialize)]
#[serde(expecting = "an object {\"cart\": {...}}")]
pub struct SubmitBody {
    #[serde(default, deserialize_with = "opt_object")]
    cart: Option<SubmitCartInput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a cart object")]
pub struct SubmitCartInput {
    #[serde(default, deserialize_with = "opt_text")]
    ip_address: Option<String>,
}

/// `POST .../submit-cart` (no body, or `{"cart": {"ipAddress"}}`, which the session keeps
/// first) → `{"submitCart": {"uri", "order": {...}}}`, the order as `GET orders/{id}` shows
/// it. One transaction: validate, charge the test source, write the order, decrement stock
/// (conditionally), empty the cart.
pub async fn submit_cart(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
    OptionalJson(body): OptionalJson<SubmitBody>,
) -> ApiResult<Response> {
    let ip = body.and_then(|b| b.cart).and_then(|c| c.ip_address);
    set_ip_address(&state, &p, ip).await?;
    let order_id = service::submit(&state.store, &p, state.clock.now()).await?;
    let order = state
        .store
        .order_visible(&p.site_id, &p.session_id, p.acting_shopper(), order_id)
        .await?
        .ok_or_else(|| not_found(format!("order {order_id}")))?;
    let lines = state.store.order_lines(order_id).await?;
    Ok(q.respond_with(&SubmitCartEnvelope {
        submit_cart: SubmitCart::new(&q, &order, &lines),
    }))
}
