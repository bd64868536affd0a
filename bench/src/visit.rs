//! `visit`: the same guest visit on Shopkeeper (its Shopper API) and on a commerce peer
//! (Vendure's Shop API, GraphQL), for `--peer vendure`. A guest browses (the category tree, a
//! category's first products, a product with its price and stock), adds two products to a
//! cart, sets an address and a shipping option, pays with the system's test payment, places the
//! order and reads it back. Every answer is checked (Vendure's errors come back in 200 answers,
//! so its answers' `__typename`s are); a visit with any failed step counts as failed.

use crate::load::{Scenario, Worker};
use crate::scenarios::{form_post, get, send_json};
use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};

/// The steps a visit's latencies are reported by, on both systems.
pub const STEPS: &[&str] = &[
    "session",
    "category tree",
    "product list",
    "product",
    "add to cart",
    "address",
    "shipping option",
    "payment",
    "place order",
    "read order",
];

const SESSION: usize = 0;
const CATEGORIES: usize = 1;
const PRODUCT_LIST: usize = 2;
const PRODUCT: usize = 3;
const ADD: usize = 4;
const ADDRESS: usize = 5;
const SHIPPING: usize = 6;
const PAYMENT: usize = 7;
const PLACE: usize = 8;
const READ: usize = 9;

/// What the generated catalog looks like to a visit: `products` products, picked by index
/// from 0 (product `BENCH-{index + 1}`: both systems' catalogs number them from 1).
#[derive(Clone)]
pub struct Catalog {
    pub products: u64,
}

impl Catalog {
    /// The two products (indexes) a worker's visit adds, spread over the whole catalog.
    fn picks(&self, w: &Worker) -> [u64; 2] {
        let seed = (w.id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ w.round.wrapping_mul(31);
        let a = splitmix(seed) % self.products;
        let b = (a + 1 + splitmix(seed ^ 0xA5A5) % (self.products - 1).max(1)) % self.products;
        [a, b]
    }
}

/// A well-mixed 64-bit hash (SplitMix64's finalizer), for spreading picks over the catalog.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A visit scenario: its tally and how many requests one visit takes.
pub trait Visit: Scenario {
    const REQUESTS: usize;
    fn tally(&self) -> &Tally;
}

/// Visits completed with every step answered well, and visits with a failed step.
#[derive(Default)]
pub struct Tally {
    pub visits: AtomicU64,
    pub failed: AtomicU64,
}

impl Tally {
    fn end(&self, w: &mut Worker) {
        if w.spoiled {
            self.failed.fetch_add(1, Ordering::Relaxed);
        } else {
            self.visits.fetch_add(1, Ordering::Relaxed);
        }
        w.spoiled = false;
        w.step = 0;
        w.round += 1;
        w.carry = None;
        w.token = None;
    }
    pub fn visits(&self) -> u64 {
        self.visits.load(Ordering::Relaxed)
    }
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
}

// ---------------------------------------------------------------------------------------------
// Shopkeeper

const CART: &str = "/v1/shoppers/me/carts/active";

/// The visit on Shopkeeper's Shopper API, 12 requests: token, categories, a category's
/// products, a product (`expand=inventoryStatus`), two adds, the shipping address, the
/// shipping option, a payment source (test card, the site's payments key) and applying it,
/// submitting the cart, reading the order.
pub struct ShopkeeperVisit {
    /// `Basic` credentials of the public key.
    pub auth: String,
    pub payments_key: String,
    /// The id of `BENCH-1`; the product of index `i` has id `first_product_id + i`.
    pub first_product_id: i64,
    /// The category ids a product list step cycles through.
    pub categories: Vec<i64>,
    pub shipping_option_id: i64,
    pub catalog: Catalog,
    pub tally: Tally,
}

impl ShopkeeperVisit {
    /// The same visit with its tally at zero.
    pub fn fresh(&self) -> Self {
        Self {
            auth: self.auth.clone(),
            payments_key: self.payments_key.clone(),
            first_product_id: self.first_product_id,
            categories: self.categories.clone(),
            shipping_option_id: self.shipping_option_id,
            catalog: self.catalog.clone(),
            tally: Tally::default(),
        }
    }
}

/// The Shopkeeper visit's requests, each with its [`STEPS`] index.
impl Visit for ShopkeeperVisit {
    const REQUESTS: usize = SHOPKEEPER_SEQUENCE.len();
    fn tally(&self) -> &Tally {
        &self.tally
    }
}

const SHOPKEEPER_SEQUENCE: [usize; 12] = [
    SESSION,
    CATEGORIES,
    PRODUCT_LIST,
    PRODUCT,
    ADD,
    ADD,
    ADDRESS,
    SHIPPING,
    PAYMENT,
    PAYMENT,
    PLACE,
    READ,
];

impl Scenario for ShopkeeperVisit {
    fn step_names(&self) -> &'static [&'static str] {
        STEPS
    }
    fn step_of(&self, w: &Worker) -> usize {
        SHOPKEEPER_SEQUENCE[w.step]
    }
    fn request(&self, w: &mut Worker) -> Request<Full<Bytes>> {
        let token = w.token.as_deref().unwrap_or_default();
        let carry = w.carry.as_deref().unwrap_or_default();
        let [a, b] = self.catalog.picks(w);
        let product = |i: u64| self.first_product_id + i as i64;
        match w.step {
            0 => form_post("/oauth20/token", &self.auth, "grant_type=password".into()),
            1 => get("/v1/shoppers/me/categories", token),
            2 => {
                let c = self.categories[(w.id + w.round as usize) % self.categories.len()];
                get(&format!("/v1/shoppers/me/categories/{c}/products"), token)
            }
            3 => get(
                &format!(
                    "/v1/shoppers/me/products/{}?expand=inventoryStatus",
                    product(a)
                ),
                token,
            ),
            4 | 5 => {
                let p = product(if w.step == 4 { a } else { b });
                let path = format!("{CART}/line-items?productId={p}&quantity=1");
                send_json("POST", &path, token, None)
            }
            6 => send_json(
                "PUT",
                &format!("{CART}/shipping-address"),
                token,
                Some(&json!({"address": {
                    "firstName": "Bench", "lastName": "Shopper", "line1": "1 Main St",
                    "city": "Minneapolis", "countrySubdivision": "MN", "postalCode": "55401",
                    "country": "US", "emailAddress": "bench@example.com"}})),
            ),
            7 => send_json(
                "POST",
                &format!(
                    "{CART}/apply-shipping-option?shippingOptionId={}",
                    self.shipping_option_id
                ),
                token,
                None,
            ),
            8 => send_json(
                "POST",
                "/payments/sources",
                &self.payments_key,
                Some(&json!({
                    "type": "creditCard",
                    "currency": "USD",
                    "reusable": false,
                    "owner": {
                        "firstName": "Bench", "lastName": "Shopper",
                        "email": "bench@example.com",
                        "address": {"line1": "1 Main St", "city": "Minneapolis",
                                    "state": "MN", "country": "US", "postalCode": "55401"}
                    },
                    "creditCard": {"number": "4111111111111111", "expirationMonth": 7,
                                   "expirationYear": 2040, "cvv": "415"}
                })),
            ),
            9 => send_json(
                "POST",
                &format!("{CART}/apply-payment-method"),
                token,
                Some(&json!({"paymentMethod": {"sourceId": carry}})),
            ),
            10 => send_json("POST", &format!("{CART}/submit-cart"), token, None),
            _ => get(&format!("/v1/shoppers/me/orders/{carry}"), token),
        }
    }

    fn observe(&self, w: &mut Worker, status: u16, body: &[u8]) -> bool {
        let mut ok = (200..300).contains(&status);
        if ok && matches!(w.step, 0 | 8 | 10) {
            let v: Value = serde_json::from_slice(body).unwrap_or_default();
            match w.step {
                0 => w.token = v["access_token"].as_str().map(str::to_owned),
                8 => w.carry = v["id"].as_str().map(str::to_owned),
                _ => {
                    w.carry = v["submitCart"]["order"]["id"]
                        .as_i64()
                        .map(|i| i.to_string())
                }
            }
            ok = w.token.is_some() && (w.step == 0 || w.carry.is_some());
        }
        w.spoiled |= !ok;
        w.step += 1;
        if w.step == SHOPKEEPER_SEQUENCE.len() {
            self.tally.end(w);
        }
        ok
    }
}

// ---------------------------------------------------------------------------------------------
// Vendure

/// The visit on Vendure's Shop API (`POST /shop-api`, GraphQL), 10 requests: the collection
/// tree, a collection's first products, a product, two `addItemToOrder`s (the first opens the
/// session: its token comes back in `vendure-auth-token`), the customer and shipping address
/// (one document), the shipping method, the transition to `ArrangingPayment`, the payment with
/// the dummy handler (which places the order), and the order by its code.
pub struct VendureVisit {
    pub shipping_method_id: String,
    pub payment_method: String,
    /// The collection slugs a product list step cycles through.
    pub collections: Vec<String>,
    /// The variant id of `BENCH-1`; the product of index `i` has variant `first_variant_id + i`.
    pub first_variant_id: i64,
    pub catalog: Catalog,
    pub tally: Tally,
}

impl Visit for VendureVisit {
    const REQUESTS: usize = VENDURE_SEQUENCE.len();
    fn tally(&self) -> &Tally {
        &self.tally
    }
}

const VENDURE_SEQUENCE: [usize; 10] = [
    CATEGORIES,
    PRODUCT_LIST,
    PRODUCT,
    ADD,
    ADD,
    ADDRESS,
    SHIPPING,
    PAYMENT,
    PLACE,
    READ,
];

// The documents a Vendure storefront sends (its starters list a collection with `search`).
// Every list names `take`: Vendure's HardenPlugin prices a list without it as 1,000 items and
// refuses the query as too complex.
const COLLECTIONS: &str = "query Collections { collections(options: { take: 100 }) { totalItems items { id slug name parentId } } }";
const SEARCH: &str = "query ProductList($slug: String!) { search(input: { collectionSlug: $slug, groupByProduct: true, take: 10, skip: 0 }) { totalItems items { productId productName slug productVariantId sku currencyCode inStock priceWithTax { __typename ... on SinglePrice { value } ... on PriceRange { min max } } } } }";
const PRODUCT_QUERY: &str = "query Product($slug: String!) { product(slug: $slug) { id name slug description variants { id name sku currencyCode price priceWithTax stockLevel } } }";
const ADD_ITEM: &str = "mutation AddItem($id: ID!, $qty: Int!) { addItemToOrder(productVariantId: $id, quantity: $qty) { __typename ... on Order { id code state totalQuantity subTotalWithTax totalWithTax lines { id quantity unitPriceWithTax linePriceWithTax productVariant { id name sku } } } ... on ErrorResult { errorCode message } } }";
const SET_ADDRESS: &str = "mutation SetCustomerAndAddress($customer: CreateCustomerInput!, $address: CreateAddressInput!) { setCustomerForOrder(input: $customer) { __typename ... on Order { id customer { id emailAddress } } ... on ErrorResult { errorCode message } } setOrderShippingAddress(input: $address) { __typename ... on Order { id shippingAddress { fullName streetLine1 city province postalCode countryCode } } ... on ErrorResult { errorCode message } } }";
const SHIPPING_METHOD: &str = "mutation SetShipping($id: [ID!]!) { setOrderShippingMethod(shippingMethodId: $id) { __typename ... on Order { id state shippingWithTax totalWithTax shippingLines { shippingMethod { id code name } priceWithTax } } ... on ErrorResult { errorCode message } } }";
const ARRANGE_PAYMENT: &str = "mutation ArrangePayment { transitionOrderToState(state: \"ArrangingPayment\") { __typename ... on Order { id state totalWithTax } ... on OrderStateTransitionError { errorCode message transitionError fromState toState } } }";
const PLACE_ORDER: &str = "mutation Place($input: PaymentInput!) { addPaymentToOrder(input: $input) { __typename ... on Order { id code state totalWithTax payments { id method amount state } } ... on ErrorResult { errorCode message } } }";
const ORDER_BY_CODE: &str = "query OrderByCode($code: String!) { orderByCode(code: $code) { id code state orderPlacedAt currencyCode totalQuantity subTotalWithTax shippingWithTax totalWithTax lines { id quantity unitPriceWithTax linePriceWithTax productVariant { id name sku } } } }";

/// The document of the Vendure visit's request `i`.
const VENDURE_DOCUMENTS: [&str; 10] = [
    COLLECTIONS,
    SEARCH,
    PRODUCT_QUERY,
    ADD_ITEM,
    ADD_ITEM,
    SET_ADDRESS,
    SHIPPING_METHOD,
    ARRANGE_PAYMENT,
    PLACE_ORDER,
    ORDER_BY_CODE,
];

/// What request `i`'s answer must carry: its `data` fields, each with the `__typename` it must
/// have (`None`: any non-null object), and the order `state` a field must show, if any.
/// Vendure answers errors with 200 (an `ErrorResult` member or `errors`), so these are checked.
fn vendure_expect(
    step: usize,
) -> (
    &'static [(&'static str, Option<&'static str>)],
    Option<&'static str>,
) {
    match step {
        0 => (&[("collections", None)], None),
        1 => (&[("search", None)], None),
        2 => (&[("product", None)], None),
        3 | 4 => (&[("addItemToOrder", Some("Order"))], None),
        5 => (
            &[
                ("setCustomerForOrder", Some("Order")),
                ("setOrderShippingAddress", Some("Order")),
            ],
            None,
        ),
        6 => (&[("setOrderShippingMethod", Some("Order"))], None),
        7 => (
            &[("transitionOrderToState", Some("Order"))],
            Some("ArrangingPayment"),
        ),
        8 => (
            &[("addPaymentToOrder", Some("Order"))],
            Some("PaymentSettled"),
        ),
        _ => (&[("orderByCode", None)], Some("PaymentSettled")),
    }
}

impl VendureVisit {
    /// The same visit with its tally at zero.
    pub fn fresh(&self) -> Self {
        Self {
            shipping_method_id: self.shipping_method_id.clone(),
            payment_method: self.payment_method.clone(),
            collections: self.collections.clone(),
            first_variant_id: self.first_variant_id,
            catalog: self.catalog.clone(),
            tally: Tally::default(),
        }
    }

    fn variables(&self, w: &Worker) -> Value {
        let [a, b] = self.catalog.picks(w);
        match w.step {
            1 => {
                json!({"slug": self.collections[(w.id + w.round as usize) % self.collections.len()]})
            }
            2 => json!({"slug": format!("bench-product-{}", a + 1)}),
            3 => json!({"id": (self.first_variant_id + a as i64).to_string(), "qty": 1}),
            4 => json!({"id": (self.first_variant_id + b as i64).to_string(), "qty": 1}),
            5 => json!({
                "customer": {"emailAddress": format!("bench-{}-{}@example.com", w.id, w.round),
                             "firstName": "Bench", "lastName": "Shopper"},
                "address": {"fullName": "Bench Shopper", "streetLine1": "1 Main St",
                            "city": "Minneapolis", "province": "MN", "postalCode": "55401",
                            "countryCode": "US", "phoneNumber": "555-0100"}
            }),
            6 => json!({"id": [self.shipping_method_id]}),
            8 => json!({"input": {"method": self.payment_method, "metadata": {}}}),
            9 => json!({"code": w.carry.clone().unwrap_or_default()}),
            _ => json!({}),
        }
    }
}

impl Scenario for VendureVisit {
    fn step_names(&self) -> &'static [&'static str] {
        STEPS
    }
    fn step_of(&self, w: &Worker) -> usize {
        VENDURE_SEQUENCE[w.step]
    }
    fn request(&self, w: &mut Worker) -> Request<Full<Bytes>> {
        let body = json!({"query": VENDURE_DOCUMENTS[w.step], "variables": self.variables(w)});
        let mut request = Request::post("/shop-api")
            .header("host", "127.0.0.1")
            .header("content-type", "application/json");
        // No session until the first cart write opens one (its token comes in a header).
        if let Some(token) = &w.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap()
    }

    fn headers(&self, w: &mut Worker, headers: &hyper::HeaderMap) {
        if let Some(token) = headers
            .get("vendure-auth-token")
            .and_then(|v| v.to_str().ok())
        {
            w.token = Some(token.to_owned());
        }
    }

    fn observe(&self, w: &mut Worker, status: u16, body: &[u8]) -> bool {
        let v: Value = serde_json::from_slice(body).unwrap_or_default();
        let (fields, state) = vendure_expect(w.step);
        let ok = status == 200
            && v.get("errors").is_none()
            && fields.iter().all(|(field, typename)| {
                let answer = &v["data"][field];
                answer.is_object()
                    && typename.is_none_or(|t| answer["__typename"] == t)
                    && state.is_none_or(|s| answer["state"] == s)
            });
        if ok && w.step == 8 {
            w.carry = v["data"]["addPaymentToOrder"]["code"]
                .as_str()
                .map(str::to_owned);
        }
        w.spoiled |= !ok;
        w.step += 1;
        if w.step == VENDURE_SEQUENCE.len() {
            self.tally.end(w);
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_are_two_different_products_of_the_catalog() {
        let catalog = Catalog { products: 1_000 };
        let mut seen = std::collections::HashSet::new();
        for id in 0..64 {
            for round in 0..50 {
                let w = Worker {
                    id,
                    round,
                    ..Default::default()
                };
                let [a, b] = catalog.picks(&w);
                assert!(a < 1_000 && b < 1_000 && a != b, "{a} {b}");
                seen.insert(a);
            }
        }
        // 3,200 visits over 1,000 products reach most of them (no hot subset).
        assert!(seen.len() > 900, "{} distinct products", seen.len());
    }

    #[test]
    fn both_visits_report_every_step_but_the_session_on_vendure() {
        let shopkeeper: std::collections::BTreeSet<_> = SHOPKEEPER_SEQUENCE.into_iter().collect();
        let vendure: std::collections::BTreeSet<_> = VENDURE_SEQUENCE.into_iter().collect();
        assert_eq!(shopkeeper.len(), STEPS.len());
        assert_eq!(
            shopkeeper.difference(&vendure).copied().collect::<Vec<_>>(),
            vec![SESSION]
        );
    }
}
