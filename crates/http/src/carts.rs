//! The active cart of the shopper session (limited or full token): line items, addresses,
//! shipping options, payment, `apply-shopper` (full) and `submit-cart`. The cart belongs to the
//! session, so it survives refresh and the limited→full upgrade (same session id).

use super::access::{Full, Limited};
use super::error::ShopperApiError;
use super::shopper_api::{
    ApiQuery, ApiResult, bad_request, json_body, not_found, optional_json_body, path_id,
};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use shopkeeper_domain::address::PostalAddress;
use shopkeeper_domain::catalog::{formatted, money};
use shopkeeper_domain::checkout::{
    LineForPricing, MAX_LINE_QUANTITY, SHIPPING_OPTIONS, ShippingOption, SourceUser, TestOutcome,
    Totals, may_use_source, price,
};
use shopkeeper_domain::shopper::AddressInput;
use shopkeeper_services::auth::{AccessLevel, Principal};
use shopkeeper_services::state::AppState;
use shopkeeper_store::{
    AddressRecord, CartLineRecord, CartSnapshot, CartWriter, FromAccount, NewOrder, NewOrderLine,
    PaymentSourceRecord, SubmitFailure,
};
use std::collections::HashMap;

pub const CART: &str = "/v1/shoppers/me/carts/active";

pub fn cart_conflict(code: &'static str, description: impl Into<String>) -> ShopperApiError {
    ShopperApiError::new(StatusCode::CONFLICT, code, description)
}

// --- reading and pricing ----------------------------------------------------------------------

/// The cart's lines, fields, source and the site's tax table, as a submit would see them.
async fn snapshot(state: &AppState, p: &Principal) -> ApiResult<CartSnapshot> {
    let lines = state.store.cart_lines(&p.session_id).await?;
    let ids: Vec<i64> = lines.iter().map(|l| l.product_id).collect();
    let volume_prices = state.store.volume_price_map(&ids).await?;
    let cart = state.store.cart(&p.session_id).await?;
    let source = match &cart.payment_source_id {
        Some(id) => state.store.payment_source(&p.site_id, id).await?,
        None => None,
    };
    Ok(CartSnapshot {
        session_id: p.session_id.clone(),
        site_id: p.site_id.clone(),
        shopper_id: shopper_of(p),
        cart,
        lines,
        volume_prices,
        source,
        tax_rates: state.store.tax_rates(&p.site_id).await?,
    })
}

fn shopper_of(p: &Principal) -> Option<i64> {
    match p.level {
        AccessLevel::Full => p.shopper_id,
        AccessLevel::Limited => None,
    }
}

/// The caller as the store's cart writes see it: a limited token's write drops what only the
/// shopper's full tokens may use (`store::CartWriter`).
fn cart_writer(p: &Principal) -> CartWriter<'_> {
    CartWriter {
        session_id: &p.session_id,
        full_token_shopper: shopper_of(p),
    }
}

/// The caller as a payment source's owner check sees it.
fn source_user(p: &Principal) -> SourceUser<'_> {
    SourceUser {
        full_token_shopper: shopper_of(p),
        session: &p.session_id,
    }
}

/// The owner address of a payment source, as a billing address.
fn source_owner_address(source: &PaymentSourceRecord) -> Option<PostalAddress> {
    let owner: Value = serde_json::from_str(&source.owner).ok()?;
    let a = owner.get("address")?;
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    Some(PostalAddress {
        first_name: text(&owner, "firstName"),
        last_name: text(&owner, "lastName"),
        line1: text(a, "line1")?,
        line2: text(a, "line2"),
        city: text(a, "city")?,
        country_subdivision: text(a, "state"),
        postal_code: text(a, "postalCode"),
        country: text(a, "country")?,
        email_address: text(&owner, "email"),
        ..PostalAddress::default()
    })
}

/// Priced view of a snapshot: shared by the cart rendering and the submit.
struct Priced {
    currency: String,
    lines: Vec<(LineForPricing, CartLineRecord)>,
    totals: Totals,
    shipping_option: Option<&'static ShippingOption>,
    billing: Option<PostalAddress>,
    shipping: Option<PostalAddress>,
}

fn priced(s: &CartSnapshot, default_currency: &str) -> Priced {
    let currency = s
        .lines
        .first()
        .map(|l| l.currency.clone())
        .unwrap_or_else(|| default_currency.to_owned());
    let lines: Vec<(LineForPricing, CartLineRecord)> = s
        .lines
        .iter()
        .map(|l| {
            (
                LineForPricing {
                    quantity: l.quantity,
                    list_price_minor: l.list_price_minor,
                    sale_price_minor: l.sale_price_minor,
                    volume_prices: s
                        .volume_prices
                        .get(&l.product_id)
                        .cloned()
                        .unwrap_or_default(),
                    physical: l.product_type == "PHYSICAL",
                },
                l.clone(),
            )
        })
        .collect();
    let physical = lines.iter().any(|(p, _)| p.physical);
    let shipping_option = physical.then(|| {
        s.cart
            .shipping_option_id
            .and_then(ShippingOption::find)
            .unwrap_or(&SHIPPING_OPTIONS[0])
    });
    let billing = s
        .cart
        .addresses
        .billing
        .clone()
        .or_else(|| s.source.as_ref().and_then(source_owner_address));
    let shipping = s.cart.addresses.shipping.clone();
    // Tax follows where the goods go: the shipping address, else the billing address.
    let country = shipping
        .as_ref()
        .or(billing.as_ref())
        .map(|a| a.country.as_str());
    let rate = country
        .and_then(|c| s.tax_rates.iter().find(|(tc, _)| tc == c))
        .map(|(_, bp)| *bp)
        .unwrap_or(0);
    let for_pricing: Vec<LineForPricing> = lines.iter().map(|(p, _)| p.clone()).collect();
    let totals = price(&for_pricing, shipping_option, &currency, rate);
    Priced {
        currency,
        lines,
        totals,
        shipping_option,
        billing,
        shipping,
    }
}

pub fn pricing_object(t: &Totals, currency: &str) -> Value {
    json!({
        "subtotal": money(t.subtotal, currency),
        "discount": money(t.discount, currency),
        "shippingAndHandling": money(t.shipping, currency),
        "tax": money(t.tax, currency),
        "orderTotal": money(t.total, currency),
        "formattedSubtotal": formatted(t.subtotal, currency),
        "formattedDiscount": formatted(t.discount, currency),
        "formattedShippingAndHandling": formatted(t.shipping, currency),
        "formattedTax": formatted(t.tax, currency),
        "formattedOrderTotal": formatted(t.total, currency),
    })
}

pub fn address_object(q: &ApiQuery, path: &str, id: &str, a: &PostalAddress) -> Value {
    json!({
        "uri": q.uri(path),
        "id": id,
        "firstName": a.first_name,
        "lastName": a.last_name,
        "companyName": a.company_name,
        "line1": a.line1,
        "line2": a.line2,
        "line3": a.line3,
        "city": a.city,
        "countrySubdivision": a.country_subdivision,
        "postalCode": a.postal_code,
        "country": a.country,
        "phoneNumber": a.phone_number,
        "emailAddress": a.email_address,
    })
}

fn line_item_object(q: &ApiQuery, line: &LineForPricing, r: &CartLineRecord, cur: &str) -> Value {
    let unit = line.unit_price_minor();
    json!({
        "uri": q.uri(&format!("{CART}/line-items/{}", r.id)),
        "id": r.id,
        "quantity": r.quantity,
        "product": {
            "uri": q.uri(&format!("/v1/shoppers/me/products/{}", r.product_id)),
            "id": r.product_id,
            "name": r.name,
            "displayName": r.display_name,
            "shortDescription": r.short_description,
            "sku": r.sku,
            "thumbnailImage": r.thumbnail_image,
        },
        "pricing": {
            "listPrice": money(r.list_price_minor, cur),
            "salePrice": money(unit, cur),
            "listPriceWithQuantity": money(r.list_price_minor * r.quantity, cur),
            "salePriceWithQuantity": money(unit * r.quantity, cur),
            "formattedListPrice": formatted(r.list_price_minor, cur),
            "formattedSalePriceWithQuantity": formatted(unit * r.quantity, cur),
        },
    })
}

pub fn payment_method_object(source: &PaymentSourceRecord) -> Value {
    json!({
        "type": source.source_type,
        "sourceId": source.id,
        "reusable": source.reusable != 0,
        "creditCard": {
            "brand": source.brand,
            "lastFourDigits": source.last_four,
            "expirationMonth": source.expiration_month,
            "expirationYear": source.expiration_year,
        },
    })
}

async fn cart_body(state: &AppState, q: &ApiQuery, p: &Principal) -> ApiResult<Value> {
    let session = state
        .store
        .session(&p.session_id)
        .await?
        .ok_or_else(|| not_found("session"))?;
    let s = snapshot(state, p).await?;
    let pr = priced(&s, &session.currency);
    let cur = pr.currency.as_str();
    let items: Vec<Value> = pr
        .lines
        .iter()
        .map(|(l, r)| line_item_object(q, l, r, cur))
        .collect();
    let address = |path: &str, id: &str, a: &Option<PostalAddress>| match a {
        Some(a) => address_object(q, path, id, a),
        None => q.link(path),
    };
    Ok(json!({"cart": {
        "uri": q.uri(CART),
        "id": session.cart_id,
        "lineItems": {"uri": q.uri(&format!("{CART}/line-items")), "lineItem": items},
        "totalItemsInCart": pr.lines.iter().map(|(l, _)| l.quantity).sum::<i64>(),
        "billingAddress": address(&format!("{CART}/billing-address"), "billingAddress", &pr.billing),
        "shippingAddress": address(&format!("{CART}/shipping-address"), "shippingAddress", &pr.shipping),
        "paymentMethod": s.source.as_ref().map(payment_method_object).unwrap_or_else(|| json!({})),
        "shippingOptions": q.link(&format!("{CART}/shipping-options")),
        "shippingMethod": pr.shipping_option.map(|o| json!({"code": o.id, "description": o.description})),
        "pricing": pricing_object(&pr.totals, cur),
        "submitCart": q.link(&format!("{CART}/submit-cart")),
    }}))
}

// --- line items -------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductRef {
    id: Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LineItemInput {
    quantity: Option<i64>,
    product: Option<ProductRef>,
}

#[derive(Debug, Deserialize)]
struct LineItemList {
    #[serde(rename = "lineItem", default)]
    line_item: Vec<LineItemInput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CartInput {
    line_items: Option<LineItemList>,
    billing_address: Option<AddressInput>,
    shipping_address: Option<AddressInput>,
}

#[derive(Debug, Deserialize)]
struct CartBody {
    cart: CartInput,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LineItemsBody {
    line_items: LineItemList,
}

/// Actions that take their parameters in the query (`apply-shopper`, `apply-shipping-option`,
/// `submit-cart`) refuse a body rather than silently ignore what a client meant to send.
fn refuse_body(body: &Bytes) -> ApiResult<()> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(())
    } else {
        Err(bad_request(
            "invalid-request-body",
            "this action takes no body: send its parameters in the query string",
        ))
    }
}

fn parse_id(v: &Value, what: &str) -> ApiResult<i64> {
    let id = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    id.filter(|i| *i > 0)
        .ok_or_else(|| bad_request("invalid-parameter", format!("{what} is not an id")))
}

fn parse_quantity(raw: Option<&str>) -> ApiResult<i64> {
    let q = match raw {
        None => 1,
        Some(s) => s
            .parse::<i64>()
            .map_err(|_| bad_request("invalid-parameter", "quantity must be a whole number"))?,
    };
    check_quantity(q)
}

fn check_quantity(q: i64) -> ApiResult<i64> {
    if !(1..=MAX_LINE_QUANTITY).contains(&q) {
        return Err(bad_request(
            "invalid-parameter",
            format!("quantity must be between 1 and {MAX_LINE_QUANTITY}"),
        ));
    }
    Ok(q)
}

/// The `(productId, quantity)` pairs a request adds: `?productId=&quantity=` or a body's
/// `lineItems.lineItem`.
fn requested_lines(q: &ApiQuery, body: Option<&LineItemList>) -> ApiResult<Vec<(i64, i64)>> {
    let mut out = Vec::new();
    if let Some(raw) = q.get("productId") {
        let id = parse_id(&Value::String(raw.to_owned()), "productId")?;
        out.push((id, parse_quantity(q.get("quantity"))?));
    }
    for item in body.map(|b| b.line_item.as_slice()).unwrap_or_default() {
        let product = item
            .product
            .as_ref()
            .ok_or_else(|| bad_request("invalid-parameter", "lineItem.product.id is required"))?;
        let id = parse_id(&product.id, "lineItem.product.id")?;
        out.push((id, check_quantity(item.quantity.unwrap_or(1))?));
    }
    Ok(out)
}

/// Adds lines after checking each product exists on the site, is purchasable (not a base
/// product with variations), matches the cart's currency and has the stock.
async fn add_lines(state: &AppState, p: &Principal, wanted: &[(i64, i64)]) -> ApiResult<()> {
    let existing = state.store.cart_lines(&p.session_id).await?;
    let mut currency = existing.first().map(|l| l.currency.clone());
    let mut in_cart: HashMap<i64, i64> = existing
        .iter()
        .map(|l| (l.product_id, l.quantity))
        .collect();
    let mut checked = Vec::new();
    for &(product_id, quantity) in wanted {
        let product = state
            .store
            .product(&p.site_id, product_id)
            .await?
            .ok_or_else(|| not_found(format!("product {product_id}")))?;
        if !state.store.variations(product_id).await?.is_empty() {
            return Err(cart_conflict(
                "product-not-purchasable",
                format!("product {product_id} has variations: add one of its variations"),
            ));
        }
        match &currency {
            Some(c) if *c != product.currency => {
                return Err(cart_conflict(
                    "currency-mismatch",
                    format!(
                        "product {product_id} is priced in {}, the cart in {c}",
                        product.currency
                    ),
                ));
            }
            _ => currency = Some(product.currency.clone()),
        }
        let total = in_cart.get(&product_id).copied().unwrap_or(0) + quantity;
        if total > MAX_LINE_QUANTITY {
            return Err(bad_request(
                "invalid-parameter",
                format!("quantity must be at most {MAX_LINE_QUANTITY}"),
            ));
        }
        if let Some(available) = product.available_quantity {
            if total > available {
                return Err(cart_conflict(
                    "inventory-unavailable",
                    format!(
                        "product {product_id} has {} unit(s) in stock",
                        available.max(0)
                    ),
                ));
            }
        }
        in_cart.insert(product_id, total);
        checked.push((product_id, quantity));
    }
    if !checked.is_empty() {
        state.store.add_cart_lines(cart_writer(p), &checked).await?;
    }
    Ok(())
}

async fn apply_address(
    state: &AppState,
    p: &Principal,
    billing: bool,
    input: AddressInput,
) -> ApiResult<PostalAddress> {
    let address = input.validate()?.address;
    state
        .store
        .set_cart_address(cart_writer(p), billing, &address)
        .await?;
    Ok(address)
}

/// `GET /v1/shoppers/me/carts/active`
pub async fn get_cart(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
) -> ApiResult<Response> {
    Ok(q.respond(cart_body(&state, &q, &p).await?))
}

/// `POST /v1/shoppers/me/carts/active`: `?productId=&quantity=[&testOrder=true]` with an empty
/// body (the quick start), and/or `{"cart": {"lineItems": {"lineItem": [...]},
/// "billingAddress", "shippingAddress"}}`.
pub async fn update_cart(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let input = optional_json_body::<CartBody>(&headers, &body)?.map(|b| b.cart);
    let wanted = requested_lines(&q, input.as_ref().and_then(|c| c.line_items.as_ref()))?;
    add_lines(&state, &p, &wanted).await?;
    if let Some(input) = input {
        if let Some(a) = input.billing_address {
            apply_address(&state, &p, true, a).await?;
        }
        if let Some(a) = input.shipping_address {
            apply_address(&state, &p, false, a).await?;
        }
    }
    Ok(q.respond(cart_body(&state, &q, &p).await?))
}

async fn line_items_body(state: &AppState, q: &ApiQuery, p: &Principal) -> ApiResult<Value> {
    let session = state
        .store
        .session(&p.session_id)
        .await?
        .ok_or_else(|| not_found("session"))?;
    let s = snapshot(state, p).await?;
    let pr = priced(&s, &session.currency);
    let items: Vec<Value> = pr
        .lines
        .iter()
        .map(|(l, r)| line_item_object(q, l, r, &pr.currency))
        .collect();
    Ok(json!({"lineItems": {"uri": q.uri(&format!("{CART}/line-items")), "lineItem": items}}))
}

/// `GET .../line-items`
pub async fn list_line_items(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
) -> ApiResult<Response> {
    Ok(q.respond(line_items_body(&state, &q, &p).await?))
}

/// `POST .../line-items`: `?productId=&quantity=` or `{"lineItems": {"lineItem": [...]}}`.
pub async fn add_line_items(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let input = optional_json_body::<LineItemsBody>(&headers, &body)?.map(|b| b.line_items);
    let wanted = requested_lines(&q, input.as_ref())?;
    if wanted.is_empty() {
        return Err(bad_request(
            "invalid-parameter",
            "give productId (and quantity) or lineItems.lineItem",
        ));
    }
    add_lines(&state, &p, &wanted).await?;
    Ok(q.respond(line_items_body(&state, &q, &p).await?))
}

async fn one_line(state: &AppState, q: &ApiQuery, p: &Principal, id: i64) -> ApiResult<Value> {
    let body = line_items_body(state, q, p).await?;
    body["lineItems"]["lineItem"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["id"] == json!(id)).cloned())
        .map(|item| json!({ "lineItem": item }))
        .ok_or_else(|| not_found(format!("line item {id}")))
}

/// `GET .../line-items/{id}`
pub async fn get_line_item(
    State(state): State<AppState>,
    Limited(p): Limited,
    Path(id): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let id = path_id(&id, "line item")?;
    Ok(q.respond(one_line(&state, &q, &p, id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LineItemBody {
    line_item: LineItemInput,
}

/// `POST .../line-items/{id}?quantity=N` (or `{"lineItem": {"quantity": N}}`): sets the
/// quantity, checked against stock.
pub async fn update_line_item(
    State(state): State<AppState>,
    Limited(p): Limited,
    Path(id): Path<String>,
    q: ApiQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let id = path_id(&id, "line item")?;
    let from_body =
        optional_json_body::<LineItemBody>(&headers, &body)?.and_then(|b| b.line_item.quantity);
    let quantity = match (q.get("quantity"), from_body) {
        (Some(raw), _) => parse_quantity(Some(raw))?,
        (None, Some(n)) => check_quantity(n)?,
        (None, None) => return Err(bad_request("invalid-parameter", "quantity is required")),
    };
    let lines = state.store.cart_lines(&p.session_id).await?;
    let line = lines
        .iter()
        .find(|l| l.id == id)
        .ok_or_else(|| not_found(format!("line item {id}")))?;
    if line.available_quantity.is_some_and(|a| quantity > a) {
        return Err(cart_conflict(
            "inventory-unavailable",
            format!(
                "product {} has {} unit(s) in stock",
                line.product_id,
                line.available_quantity.unwrap_or(0).max(0)
            ),
        ));
    }
    if !state
        .store
        .set_cart_line_quantity(cart_writer(&p), id, quantity)
        .await?
    {
        return Err(not_found(format!("line item {id}")));
    }
    Ok(q.respond(one_line(&state, &q, &p, id).await?))
}

/// `DELETE .../line-items/{id}`
pub async fn delete_line_item(
    State(state): State<AppState>,
    Limited(p): Limited,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_id(&id, "line item")?;
    if state.store.delete_cart_line(cart_writer(&p), id).await? {
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
    state.store.delete_cart_lines(cart_writer(&p)).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- addresses --------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct AddressBody {
    address: AddressInput,
}

async fn get_address(
    state: &AppState,
    q: &ApiQuery,
    p: &Principal,
    billing: bool,
) -> ApiResult<Response> {
    let session = state
        .store
        .session(&p.session_id)
        .await?
        .ok_or_else(|| not_found("session"))?;
    let s = snapshot(state, p).await?;
    let pr = priced(&s, &session.currency);
    let (a, name, path) = if billing {
        (
            pr.billing,
            "billingAddress",
            format!("{CART}/billing-address"),
        )
    } else {
        (
            pr.shipping,
            "shippingAddress",
            format!("{CART}/shipping-address"),
        )
    };
    // A cart always has its two address resources; one not set yet has empty fields.
    let a = a.unwrap_or_default();
    Ok(q.respond(json!({"address": address_object(q, &path, name, &a)})))
}

async fn put_address(
    state: &AppState,
    q: &ApiQuery,
    p: &Principal,
    billing: bool,
    headers: &HeaderMap,
    body: &Bytes,
) -> ApiResult<Response> {
    let AddressBody { address } = json_body(headers, body)?;
    let a = apply_address(state, p, billing, address).await?;
    let (name, path) = if billing {
        ("billingAddress", format!("{CART}/billing-address"))
    } else {
        ("shippingAddress", format!("{CART}/shipping-address"))
    };
    Ok(q.respond(json!({"address": address_object(q, &path, name, &a)})))
}

pub async fn get_billing_address(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
) -> ApiResult<Response> {
    get_address(&state, &q, &p, true).await
}

pub async fn get_shipping_address(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
) -> ApiResult<Response> {
    get_address(&state, &q, &p, false).await
}

/// `PUT .../billing-address` `{"address": {...}}`
pub async fn put_billing_address(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    put_address(&state, &q, &p, true, &headers, &body).await
}

/// `PUT .../shipping-address` `{"address": {...}}`
pub async fn put_shipping_address(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    put_address(&state, &q, &p, false, &headers, &body).await
}

/// `POST .../apply-billing-address` `{"address": {...}}` → the cart.
pub async fn apply_billing_address(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let AddressBody { address } = json_body(&headers, &body)?;
    apply_address(&state, &p, true, address).await?;
    Ok(q.respond(cart_body(&state, &q, &p).await?))
}

/// `POST .../apply-shipping-address` `{"address": {...}}` → the cart.
pub async fn apply_shipping_address(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let AddressBody { address } = json_body(&headers, &body)?;
    apply_address(&state, &p, false, address).await?;
    Ok(q.respond(cart_body(&state, &q, &p).await?))
}

// --- shipping options -------------------------------------------------------------------------

fn shipping_option_object(q: &ApiQuery, o: &ShippingOption, currency: &str) -> Value {
    json!({
        "uri": q.uri(&format!("{CART}/shipping-options/{}", o.id)),
        "id": o.id,
        "description": o.description,
        "cost": money(o.cost_minor(currency), currency),
        "formattedCost": formatted(o.cost_minor(currency), currency),
    })
}

async fn cart_currency_and_physical(state: &AppState, p: &Principal) -> ApiResult<(String, bool)> {
    let lines = state.store.cart_lines(&p.session_id).await?;
    let currency = match lines.first() {
        Some(l) => l.currency.clone(),
        None => state
            .store
            .session(&p.session_id)
            .await?
            .map(|s| s.currency)
            .unwrap_or_else(|| "USD".into()),
    };
    Ok((currency, lines.iter().any(|l| l.product_type == "PHYSICAL")))
}

/// `GET .../shipping-options`: empty when nothing in the cart ships.
pub async fn list_shipping_options(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
) -> ApiResult<Response> {
    let (currency, physical) = cart_currency_and_physical(&state, &p).await?;
    let options: Vec<Value> = if physical {
        SHIPPING_OPTIONS
            .iter()
            .map(|o| shipping_option_object(&q, o, &currency))
            .collect()
    } else {
        Vec::new()
    };
    Ok(q.respond(json!({"shippingOptions": {
        "uri": q.uri(&format!("{CART}/shipping-options")),
        "shippingOption": options,
    }})))
}

/// `GET .../shipping-options/{id}`
pub async fn get_shipping_option(
    State(state): State<AppState>,
    Limited(p): Limited,
    Path(id): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let id = path_id(&id, "shipping option")?;
    let (currency, physical) = cart_currency_and_physical(&state, &p).await?;
    let option = ShippingOption::find(id)
        .filter(|_| physical)
        .ok_or_else(|| not_found(format!("shipping option {id}")))?;
    Ok(q.respond(json!({"shippingOption": shipping_option_object(&q, option, &currency)})))
}

/// `POST .../apply-shipping-option?shippingOptionId=ID` → the cart.
pub async fn apply_shipping_option(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
    body: Bytes,
) -> ApiResult<Response> {
    refuse_body(&body)?;
    let raw = q
        .get("shippingOptionId")
        .ok_or_else(|| bad_request("invalid-parameter", "shippingOptionId is required"))?;
    let id = parse_id(&Value::String(raw.to_owned()), "shippingOptionId")?;
    let (_, physical) = cart_currency_and_physical(&state, &p).await?;
    if ShippingOption::find(id).is_none() || !physical {
        return Err(cart_conflict(
            "invalid-shipping-option",
            format!("shipping option {id} is not available for this cart"),
        ));
    }
    state
        .store
        .set_cart_shipping_option(cart_writer(&p), id)
        .await?;
    Ok(q.respond(cart_body(&state, &q, &p).await?))
}

// --- payment ----------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentMethodInput {
    source_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentMethodBody {
    payment_method: PaymentMethodInput,
}

/// The rules a source must pass to be applied: on the site, chargeable, and usable by the
/// caller (`domain::checkout::may_use_source`). One answer for all three, so it tells nothing
/// about sources that are not the caller's.
fn source_check(
    p: &Principal,
    source_id: &str,
) -> impl FnOnce(Option<&PaymentSourceRecord>) -> ApiResult<()> {
    move |source| match source {
        Some(s) if s.state == "chargeable" && may_use_source(s.owner(), source_user(p)) => Ok(()),
        _ => Err(cart_conflict(
            "invalid-payment-source",
            format!(
                "payment source {source_id:?} does not exist, was already used, or was applied \
                 by another session or shopper"
            ),
        )),
    }
}

async fn apply_source(state: &AppState, p: &Principal, source_id: &str) -> ApiResult<()> {
    state
        .store
        .apply_cart_source(
            cart_writer(p),
            &p.site_id,
            source_id,
            source_check(p, source_id),
        )
        .await?
}

/// `POST .../apply-payment-method` `{"paymentMethod": {"sourceId": ...}}` → the cart. A
/// signed-in shopper's reusable source is saved as a payment option.
pub async fn apply_payment_method(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let from_body = optional_json_body::<PaymentMethodBody>(&headers, &body)?
        .and_then(|b| b.payment_method.source_id);
    let source_id = from_body
        .or_else(|| q.get("sourceId").map(str::to_owned))
        .ok_or_else(|| bad_request("invalid-parameter", "paymentMethod.sourceId is required"))?;
    apply_source(&state, &p, &source_id).await?;
    Ok(q.respond(cart_body(&state, &q, &p).await?))
}

// --- apply-shopper ----------------------------------------------------------------------------

fn apply_shopper_failure(description: impl Into<String>) -> ShopperApiError {
    cart_conflict("apply-shopper-failure", description)
}

/// `POST .../apply-shopper[?billingAddressId=&shippingAddressId=&paymentOptionId=]` (full):
/// copies the shopper's default (or the named) addresses and payment option into the cart.
pub async fn apply_shopper(
    State(state): State<AppState>,
    full: Full,
    q: ApiQuery,
    body: Bytes,
) -> ApiResult<Response> {
    refuse_body(&body)?;
    let shopper = full.shopper_id();
    let p = &full.0;
    let addresses = state.store.addresses(shopper).await?;
    let profile = state.store.profile(shopper).await?;
    let pick =
        |param: &str, is_default: fn(&AddressRecord) -> bool| -> ApiResult<Option<AddressRecord>> {
            match q.get(param) {
                Some(raw) => {
                    let id = parse_id(&Value::String(raw.to_owned()), param)?;
                    addresses
                        .iter()
                        .find(|a| a.id == id)
                        .cloned()
                        .map(Some)
                        .ok_or_else(|| {
                            apply_shopper_failure(format!("the shopper has no address {id}"))
                        })
                }
                None => Ok(addresses.iter().find(|a| is_default(a)).cloned()),
            }
        };
    let billing = pick("billingAddressId", |a| a.saved.is_default_billing)?;
    let shipping = pick("shippingAddressId", |a| a.saved.is_default_shipping)?;
    let options = state.store.payment_options(shopper).await?;
    let option = match q.get("paymentOptionId") {
        Some(id) => Some(
            options
                .iter()
                .find(|o| o.id == id)
                .cloned()
                .ok_or_else(|| {
                    apply_shopper_failure(format!("the shopper has no payment option {id:?}"))
                })?,
        ),
        None => options.first().cloned(),
    };
    if billing.is_none() && shipping.is_none() && option.is_none() {
        return Err(apply_shopper_failure(
            "the shopper has no default billing or shipping address and no payment option",
        ));
    }
    let email = profile.and_then(|pr| pr.email);
    let with_email = |a: Option<AddressRecord>| {
        a.map(|a| {
            let mut address = a.saved.address;
            if address.email_address.is_none() {
                address.email_address = email.clone();
            }
            address
        })
    };
    let (billing, shipping) = (with_email(billing), with_email(shipping));
    let source_id = option.map(|o| o.id);
    let from = FromAccount {
        billing_address: billing.as_ref(),
        shipping_address: shipping.as_ref(),
        source_id: source_id.as_deref(),
    };
    let check = source_check(p, source_id.as_deref().unwrap_or_default());
    state
        .store
        .apply_account_to_cart(cart_writer(p), &p.site_id, from, check)
        .await??;
    Ok(q.respond(cart_body(&state, &q, p).await?))
}

// --- submit -----------------------------------------------------------------------------------

/// Why a cart cannot become an order (all 409 in the Shopper API error shape).
#[derive(Debug)]
pub enum Refusal {
    Empty,
    AlreadySubmitted(i64),
    NoShippingAddress,
    NoBillingAddress,
    NoPayment,
    /// A limited token's write dropped the shopper's source (and account addresses).
    PaymentDropped,
    Declined(&'static str),
}

/// The pure decision of a submit: the snapshot → the order to write, or why not.
fn decide_order(
    s: &CartSnapshot,
    default_currency: &str,
    email: Option<String>,
) -> Result<NewOrder, Refusal> {
    if s.lines.is_empty() {
        return Err(match s.cart.last_order_id {
            Some(id) => Refusal::AlreadySubmitted(id),
            None => Refusal::Empty,
        });
    }
    if s.source.is_none() && s.cart.source_dropped != 0 {
        return Err(Refusal::PaymentDropped);
    }
    let pr = priced(s, default_currency);
    let physical = pr.lines.iter().any(|(l, _)| l.physical);
    if physical && pr.shipping.is_none() {
        return Err(Refusal::NoShippingAddress);
    }
    let billing = pr.billing.clone().ok_or(Refusal::NoBillingAddress)?;
    let source = s.source.as_ref().ok_or(Refusal::NoPayment)?;
    // Only its owner may charge a source: never a limited token a shopper's source, even in
    // the shopper's own session (finding 1), nor another session a guest's (finding 5).
    let user = SourceUser {
        full_token_shopper: s.shopper_id,
        session: &s.session_id,
    };
    if source.state != "chargeable" || !may_use_source(source.owner(), user) {
        return Err(Refusal::NoPayment);
    }
    if let TestOutcome::Decline(reason) = TestOutcome::parse(&source.test_outcome) {
        return Err(Refusal::Declined(reason));
    }
    let email = billing
        .email_address
        .clone()
        .or_else(|| source_owner_address(source).and_then(|a| a.email_address))
        .or(email);
    Ok(NewOrder {
        email,
        currency: pr.currency.clone(),
        subtotal_minor: pr.totals.subtotal,
        discount_minor: pr.totals.discount,
        shipping_minor: pr.totals.shipping,
        tax_minor: pr.totals.tax,
        total_minor: pr.totals.total,
        billing_address: billing,
        shipping_address: pr.shipping.clone(),
        payment_source_id: source.id.clone(),
        card_brand: source.brand.clone(),
        card_last_four: source.last_four.clone(),
        lines: pr
            .lines
            .iter()
            .map(|(l, r)| NewOrderLine {
                product_id: r.product_id,
                sku: r.sku.clone(),
                display_name: r.display_name.clone(),
                quantity: r.quantity,
                list_price_minor: r.list_price_minor,
                unit_price_minor: l.unit_price_minor(),
                tracked: r.available_quantity.is_some(),
            })
            .collect(),
        consume_source: source.reusable == 0,
    })
}

/// `POST .../submit-cart` → `{"submitCart": {"order": {"id"}}}`. One transaction: validate,
/// charge the test source, write the order, decrement stock (conditionally), empty the cart.
pub async fn submit_cart(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
    body: Bytes,
) -> ApiResult<Response> {
    refuse_body(&body)?;
    let session = state
        .store
        .session(&p.session_id)
        .await?
        .ok_or_else(|| not_found("session"))?;
    let profile_email = match shopper_of(&p) {
        Some(id) => state.store.profile(id).await?.and_then(|pr| pr.email),
        None => None,
    };
    let currency = session.currency.clone();
    let outcome = state
        .store
        .submit_cart(&p.session_id, &p.site_id, shopper_of(&p), |s| {
            decide_order(s, &currency, profile_email)
        })
        .await?;
    let order_id = outcome.map_err(|f| match f {
        SubmitFailure::Refused(Refusal::Empty) => {
            cart_conflict("cart-empty", "the cart has no line items")
        }
        SubmitFailure::Refused(Refusal::AlreadySubmitted(id)) => cart_conflict(
            "cart-already-submitted",
            format!("this cart was already submitted as order {id}; it is empty now"),
        ),
        SubmitFailure::Refused(Refusal::NoShippingAddress) => cart_conflict(
            "shipping-address-required",
            "the cart has physical products: set a shipping address",
        ),
        SubmitFailure::Refused(Refusal::NoBillingAddress) => cart_conflict(
            "billing-address-required",
            "set a billing address or apply a payment source with an owner address",
        ),
        SubmitFailure::Refused(Refusal::NoPayment) | SubmitFailure::SourceSpent => cart_conflict(
            "payment-method-required",
            "apply a chargeable payment source (apply-payment-method)",
        ),
        SubmitFailure::Refused(Refusal::PaymentDropped) => cart_conflict(
            "payment-method-required",
            "the cart was changed with a limited (guest) token after the shopper's payment \
             method was applied, which removed it and the account's addresses: apply them \
             again (apply-shopper or apply-payment-method)",
        ),
        SubmitFailure::Refused(Refusal::Declined(reason)) => cart_conflict(
            "payment-declined",
            format!("the payment was declined ({reason}); the cart is unchanged"),
        ),
        SubmitFailure::OutOfStock { product_id } => cart_conflict(
            "inventory-unavailable",
            format!("product {product_id} does not have the ordered quantity in stock"),
        ),
    })?;
    Ok(q.respond(json!({"submitCart": {
        "uri": q.uri(&format!("{CART}/submit-cart")),
        "order": {
            "uri": q.uri(&format!("/v1/shoppers/me/orders/{order_id}")),
            "id": order_id,
        },
    }})))
}
