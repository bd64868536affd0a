//! The docs' own examples, measured (docs/docs-examples.md). `tests/docs_examples/cases.json` is
//! what `tests/docs_examples/extract.py` derives from every documented request of a provided
//! route; this module sends each against one server set up with its own fixtures (a catalog, a
//! signed-in shopper with an address, a reusable card and a submitted order, a cart put back in
//! a known state before each cart case) and records per case:
//!
//! - accepted: the documented status (or any 2xx where the docs show none);
//! - which documented response keys the answer has;
//! - every `uri` in the answer, followed with the same credentials: 2xx or not;
//! - prices and quantities of the fixture products in the answer against what the test stored.
//!
//! It is a ratchet: `tests/docs_examples/expected.json` lists the cases known to fail (and why)
//! and the key coverage reached. The test fails when a case not listed fails, when a listed case
//! passes (the list must stay true), or when the coverage falls below the recorded figure.
//! `SHOPKEEPER_BLESS_DOCS_EXAMPLES=1 cargo test --test api docs_examples::` rewrites the file
//! with today's figures. Every run writes them to `target/tmp/docs-examples-report.json`.

use crate::helpers::*;
use serde_json::{Value, json};
use shopkeeper::provision;
use std::collections::{BTreeMap, BTreeSet};

const CASES: &str = include_str!("../docs_examples/cases.json");
const CATALOG: &str = include_str!("../docs_examples/catalog.json");
const EXPECTED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/docs_examples/expected.json"
);
const EXTRACT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/docs_examples/extract.py"
);
const REPORT: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/docs-examples-report.json");
const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/docs-examples.md");
const FIGURES_BEGIN: &str = "<!-- docs-examples:figures:begin -->";
const FIGURES_END: &str = "<!-- docs-examples:figures:end -->";
pub const BLESS_VAR: &str = "SHOPKEEPER_BLESS_DOCS_EXAMPLES";
/// The fixture's point of promotion (`{{popName}}`), named as the docs' first sample names one.
const FIXTURE_POP: &str = "Home_topSeller";

/// The cart line the fixture puts in every cart before a cart case, and its quantity.
const CART_QUANTITY: i64 = 2;
/// What the store credit applied to every fixture cart is worth (the card pays the rest).
const STORE_CREDIT: &str = "5.00";
/// The quantity of the fixture order's line.
const ORDER_QUANTITY: i64 = 3;

#[test]
fn the_cases_file_is_what_the_extract_script_writes() {
    if storage_free_test_ran_in_first_pass() {
        return;
    }
    let docs = std::process::Command::new("python3")
        .args([EXTRACT, "--docs-found"])
        .output()
        .expect("python3 runs");
    if !docs.status.success() {
        skip(
            "docs_examples: the Global Commerce docs are not found (SHOPKEEPER_GLOBAL_COMMERCE_DOCS)",
        );
        return;
    }
    let out = std::process::Command::new("python3")
        .args([EXTRACT, "--check"])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What the test set up, and the values the cases' markers take.
struct Fixtures {
    /// The fixture shopper's full token: the credential of every Shopper API case.
    full: String,
    /// Another signed-in shopper, whose profile the `POST /v1/shoppers/me` cases change: one
    /// who signs in with a password, as the docs' update (which sends a new one) assumes.
    profile: String,
    payments_key: String,
    /// The product in every cart (`CART_QUANTITY`), and in the order: a variation (brass) of
    /// its base product.
    lamp: i64,
    /// The product the cart cases add (`{{productId}}` in a cart request).
    mug: i64,
    /// A base product with variations.
    shirt: i64,
    /// Price (minor units) of each fixture product.
    prices: BTreeMap<i64, i64>,
    category: i64,
    /// A promotional-URL offer of carts holding the lamp (`{{offerId}}`), shown by the POP
    /// [`FIXTURE_POP`] and triggered by every cart case: it takes $1.00 off the order, never
    /// off a line, so the lines keep the prices the checks compare.
    offer: i64,
    address: String,
    source: String,
    order: i64,
    /// The order's invoice (`{{fileId}}`, `{{receiptId}}`), rendered as its job would.
    invoice: String,
    /// An order of its own for the refund cases (one lamp), so that refunding its line leaves
    /// the fixture order's lines to the return cases: its id and its line.
    refund_order: i64,
    refund_line: String,
    order_line: String,
    order_email: String,
    order_card_last_digits: String,
    /// Per cart case: the lamp's line and the cart's first shipping option.
    cart_line: String,
    shipping_option: String,
    /// The address a deleting case deletes (saved just before it).
    spare_address: Option<String>,
    /// A reusable source made for a case that saves a payment option (`{{sourceId}}` there):
    /// the fixture's source is a payment option already, so saving it would be an update.
    spare_source: Option<String>,
    /// The fixture's coupon code (`{{couponCode}}`): 10 % off the order.
    coupon_code: String,
    /// The fixture's private store (`{{purchasePlanId}}`, `{{targetMarketId}}`): the docs'
    /// e-mail domain opens it, and the full token's session is in it.
    purchase_plan: (i64, i64),
    /// The monthly newsletter the fixture shopper subscribes to, and their subscription
    /// (`{{subscriptionId}}`); a case that cancels one cancels one of its own.
    newsletter: i64,
    subscription: i64,
    spare_subscription: Option<i64>,
    /// The promotional-URL offers a body applies in its other slots (`appliedProductOffers`:
    /// 10 % off the lamp and the mug; `shippingOffer`: half the shipping), by id and external
    /// reference id; `offer` is the order's.
    item_offer: i64,
    shipping_offer: i64,
    unique: u32,
    /// The Admin API's credentials: `Basic key:secret` of a confidential Admin key, and a staff
    /// token (from `/auth` with that key) whose user holds every documented role.
    admin_basic: String,
    staff_bearer: String,
}

/// Documented response keys Shopkeeper leaves out on purpose (README, "Left out on purpose"),
/// by the name of a segment of their path, and why: counted apart, so that the coverage of
/// what it does serve is seen beside the raw figure.
const UNSERVED_BY_DECISION: &[(&str, &str)] = &[
    (
        "charges",
        "a payment's charges: a cart has none until its submit charges it",
    ),
    (
        "clientSecret",
        "a source's or payment session's client secret is never served",
    ),
    (
        "sourceClientSecret",
        "a source's client secret is never served",
    ),
    (
        "redirectUrl",
        "no payment flow redirects the shopper (test cards need none)",
    ),
];

/// Whether a documented key is one Shopkeeper leaves out on purpose.
fn unserved_by_decision(key: &str) -> bool {
    key.split('.').any(|segment| {
        let name = segment.trim_end_matches("[]");
        UNSERVED_BY_DECISION.iter().any(|(n, _)| *n == name)
    })
}

#[derive(Default, Clone, serde::Serialize)]
struct Outcome {
    status: u16,
    accepted: bool,
    keys_documented: usize,
    keys_present: usize,
    /// Missing keys that Shopkeeper leaves out on purpose ([`UNSERVED_BY_DECISION`]).
    keys_unserved_by_decision: usize,
    missing_keys: Vec<String>,
    uris_followed: usize,
    uris_failed: Vec<String>,
    /// Values (quantities, list prices, line totals) of fixture products compared.
    values_checked: usize,
    problems: Vec<String>,
}

impl Outcome {
    fn passes(&self) -> bool {
        self.accepted && self.uris_failed.is_empty() && self.problems.is_empty()
    }

    /// One line saying why the case fails (for the expectation file).
    fn summary(&self) -> String {
        let mut parts = Vec::new();
        if !self.accepted {
            parts.push(format!("status {}", self.status));
        }
        if !self.uris_failed.is_empty() {
            parts.push(format!("uris not 2xx: {}", self.uris_failed.join(", ")));
        }
        parts.extend(self.problems.iter().cloned());
        parts.join("; ")
    }
}

#[tokio::test]
async fn the_documented_examples_of_provided_routes_are_accepted() {
    let cases: Value = serde_json::from_str(CASES).unwrap();
    let cases = cases["cases"].as_array().unwrap();
    let app = spawn_app().await;
    let mut fx = Fixtures::set_up(&app).await;
    let mut uri_results: BTreeMap<String, u16> = BTreeMap::new();
    let mut outcomes: BTreeMap<String, Outcome> = BTreeMap::new();
    for case in cases {
        let id = case["id"].as_str().unwrap().to_owned();
        let outcome = run_case(&app, &mut fx, case, &mut uri_results).await;
        outcomes.insert(id, outcome);
    }

    // The figures.
    let accepted = outcomes.values().filter(|o| o.accepted).count();
    let passing = outcomes.values().filter(|o| o.passes()).count();
    let documented: usize = outcomes.values().map(|o| o.keys_documented).sum();
    let present: usize = outcomes.values().map(|o| o.keys_present).sum();
    // Tenths of a percent, rounded down: the figure the ratchet records.
    let coverage = (present * 1000)
        .checked_div(documented)
        .map_or(100.0, |tenths| tenths as f64 / 10.0);
    let unserved: usize = outcomes.values().map(|o| o.keys_unserved_by_decision).sum();
    let served_coverage = (present * 1000)
        .checked_div(documented - unserved)
        .map_or(100.0, |tenths| tenths as f64 / 10.0);
    let uris_ok = uri_results
        .values()
        .filter(|s| (200..300).contains(*s))
        .count();
    let values_checked: usize = outcomes.values().map(|o| o.values_checked).sum();
    let values_wrong = outcomes
        .values()
        .flat_map(|o| &o.problems)
        .filter(|p| p.starts_with("product "))
        .count();
    let failing: BTreeMap<String, String> = outcomes
        .iter()
        .filter(|(_, o)| !o.passes())
        .map(|(id, o)| (id.clone(), o.summary()))
        .collect();
    let figures = json!({
        "cases": outcomes.len(),
        "accepted": accepted,
        "passing": passing,
        "documentedKeys": documented,
        "keysPresent": present,
        "keyCoveragePercent": coverage,
        "keysUnservedByDecision": unserved,
        "keyCoverageOfServedPercent": served_coverage,
        "urisFollowed": uri_results.len(),
        "urisAnswering2xx": uris_ok,
        "pricesAndQuantitiesChecked": values_checked,
        "pricesAndQuantitiesWrong": values_wrong,
    });
    println!(
        "docs examples: accepted {accepted}/{} (passing every check: {passing}); documented \
         response keys present {present}/{documented} = {coverage}% ({served_coverage}% of the \
         {} not left out on purpose); uris followed {}, 2xx \
         {uris_ok}; prices and quantities checked {values_checked}, wrong {values_wrong}",
        outcomes.len(),
        documented - unserved,
        uri_results.len()
    );
    // What each route's answers lack, over all its cases (for whoever raises the figures).
    let mut missing_by_route: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for case in cases {
        let outcome = &outcomes[case["id"].as_str().unwrap()];
        let route = format!(
            "{} {}",
            case["method"].as_str().unwrap(),
            case["route"].as_str().unwrap()
        );
        missing_by_route
            .entry(route)
            .or_default()
            .extend(outcome.missing_keys.iter().cloned());
    }
    let report = json!({
        "figures": figures,
        "cases": outcomes,
        "uris": uri_results,
        "missingKeysByRoute": missing_by_route,
    });
    std::fs::write(
        REPORT,
        serde_json::to_string_pretty(&report).unwrap() + "\n",
    )
    .unwrap();

    // The ratchet.
    let expected = json!({
        "about": "The cases of tests/docs_examples/cases.json known to fail, and the key \
                  coverage reached: the ratchet of tests/api/docs_examples.rs. Rewrite with \
                  SHOPKEEPER_BLESS_DOCS_EXAMPLES=1 cargo test --test api docs_examples::",
        "figures": figures,
        "minKeyCoveragePercent": coverage,
        "failing": failing,
    });
    if std::env::var(BLESS_VAR).is_ok_and(|v| v == "1") {
        std::fs::write(
            EXPECTED,
            serde_json::to_string_pretty(&expected).unwrap() + "\n",
        )
        .unwrap();
        // The doc page's figures, between their markers.
        let page = std::fs::read_to_string(DOC).unwrap();
        let (head, rest) = page
            .split_once(FIGURES_BEGIN)
            .expect("the figures' begin marker");
        let (_, tail) = rest
            .split_once(FIGURES_END)
            .expect("the figures' end marker");
        std::fs::write(DOC, format!("{head}{}{tail}", figures_markdown(&figures))).unwrap();
        return;
    }
    let recorded: Value = serde_json::from_str(
        &std::fs::read_to_string(EXPECTED).expect("tests/docs_examples/expected.json"),
    )
    .unwrap();
    let listed: BTreeSet<&str> = recorded["failing"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut complaints = Vec::new();
    for (id, why) in &failing {
        if !listed.contains(id.as_str()) {
            complaints.push(format!("{id} fails and is not listed: {why}"));
        }
    }
    for id in &listed {
        if !failing.contains_key(*id) {
            complaints.push(format!(
                "{id} passes now: take it off the list ({BLESS_VAR}=1)"
            ));
        }
    }
    let page = std::fs::read_to_string(DOC).unwrap();
    if !page.contains(&figures_markdown(&recorded["figures"])) {
        complaints.push(format!(
            "docs/docs-examples.md does not show the recorded figures ({BLESS_VAR}=1 writes them)"
        ));
    }
    let floor = recorded["minKeyCoveragePercent"].as_f64().unwrap();
    if coverage < floor {
        complaints.push(format!(
            "documented keys present fell to {coverage}% (recorded {floor}%)"
        ));
    }
    assert!(
        complaints.is_empty(),
        "docs examples against tests/docs_examples/expected.json (bless with {BLESS_VAR}=1 \
         once the change is meant):\n{}",
        complaints.join("\n")
    );
}

/// The figures as the doc page shows them, markers included.
fn figures_markdown(f: &Value) -> String {
    format!(
        "{FIGURES_BEGIN}\n\
         | figure | value |\n\
         | --- | --- |\n\
         | documented request examples of provided routes run | {cases} |\n\
         | accepted with the documented status (or 2xx) | {accepted} / {cases} |\n\
         | passing every check (accepted, uris 2xx, prices and quantities right) | {passing} / {cases} |\n\
         | documented response keys present | {present} / {documented} ({coverage} %) |\n\
         | of them, left out on purpose ({reasons}) | {unserved} |\n\
         | documented response keys present, of those not left out on purpose | {present} / {servable} ({served} %) |\n\
         | `uri`s followed (GET routes) answering 2xx | {uris_ok} / {uris} |\n\
         | prices and quantities compared, wrong | {values}, {wrong} |\n\
         {FIGURES_END}",
        cases = f["cases"],
        accepted = f["accepted"],
        passing = f["passing"],
        present = f["keysPresent"],
        documented = f["documentedKeys"],
        coverage = f["keyCoveragePercent"],
        unserved = f["keysUnservedByDecision"],
        servable =
            f["documentedKeys"].as_u64().unwrap() - f["keysUnservedByDecision"].as_u64().unwrap(),
        served = f["keyCoverageOfServedPercent"],
        reasons = UNSERVED_BY_DECISION
            .iter()
            .map(|(name, why)| format!("`{name}`: {why}"))
            .collect::<Vec<_>>()
            .join("; "),
        uris_ok = f["urisAnswering2xx"],
        uris = f["urisFollowed"],
        values = f["pricesAndQuantitiesChecked"],
        wrong = f["pricesAndQuantitiesWrong"],
    )
}

/// Saves the fixture address under `nickname` for the shopper of `token` (default for billing
/// and shipping): its id. A nickname names one address (the docs' rule), so saving under a
/// nickname already used updates that address; the id is the one now under the nickname.
async fn save_address(app: &TestApp, token: &str, nickname: &str) -> String {
    let mut address = address_fixture(true);
    address["nickName"] = json!(nickname);
    let saved = app
        .http
        .post(app.url("/v1/shoppers/me/addresses"))
        .bearer_auth(token)
        .json(&json!({ "address": address }))
        .send()
        .await
        .unwrap();
    assert!(
        saved.status().is_success(),
        "{}",
        saved.text().await.unwrap()
    );
    let after = app.get_ok(token, "/v1/shoppers/me/addresses").await;
    as_list(&after["addresses"]["address"])
        .iter()
        .find(|a| a["nickName"] == nickname)
        .and_then(|a| id_text(&a["id"]))
        .unwrap_or_else(|| panic!("no address {nickname:?} in {after}"))
}

/// A full token of a shopper signed up with a password (`POST /v1/shoppers`, then the
/// password grant).
async fn profile_shopper(app: &TestApp) -> String {
    let (username, password) = ("profile@example.com", "profile's password");
    let created = app
        .http
        .post(app.url("/v1/shoppers"))
        .query(&[("apiKey", app.public_key.as_str())])
        .json(
            &json!({"shopper": {"username": username, "password": password,
            "emailAddress": username, "firstName": "Pro", "lastName": "File"}}),
        )
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "{}",
        created.text().await.unwrap()
    );
    TokenPair::from(ok_json(app.password_grant(username, password).await).await).access
}

/// A list, or the one object the docs' shapes sometimes give instead, or nothing.
fn as_list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

impl Fixtures {
    /// The fixture shopper subscribes to the newsletter (paid with the fixture's reusable
    /// card, the terms accepted): the subscription's id.
    async fn subscribe(&self, app: &TestApp) -> i64 {
        let token = &self.full;
        ok_json(app.add_to_cart(token, self.newsletter, 1).await).await;
        ok_json(app.apply_source(token, &self.source).await).await;
        let terms = app
            .http
            .post(app.url("/v1/shoppers/me/carts/active"))
            .bearer_auth(token)
            .json(&json!({"cart": {"termsOfSalesAcceptance": true,
                "billingAddress": address_fixture(false)}}))
            .send()
            .await
            .unwrap();
        ok_json(terms).await;
        ok_json(app.submit(token).await).await;
        let list = app.get_ok(token, "/v1/shoppers/me/subscriptions").await;
        list["subscriptions"]["subscription"][0]["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("no subscription in {list}"))
    }

    /// A spare address, for a case that deletes one.
    async fn save_address(&self, app: &TestApp) -> String {
        save_address(app, &self.full, "spare").await
    }

    async fn set_up(app: &TestApp) -> Self {
        let store = &app.state.store;
        let summary = provision::import_catalog(
            store,
            SITE,
            provision::parse_catalog(CATALOG).unwrap(),
            app.now(),
        )
        .await
        .unwrap();
        let (lamp_base, mug, shirt) = (
            summary.product_ids[0],
            summary.product_ids[1],
            summary.product_ids[2],
        );
        let full = app.shopper_pair().await.access;
        // The lamp is the (only) variation of its base product, as the docs' line items are:
        // their samples show each line's `parentProduct`.
        let variations = app
            .get_ok(
                &full,
                &format!("/v1/shoppers/me/products/{lamp_base}/variations"),
            )
            .await;
        let lamp = first_id(&variations["variations"]["product"])
            .unwrap_or_else(|| panic!("no lamp variation in {variations}"));
        // Prices as the fixture file states them.
        let catalog: Value = serde_json::from_str(CATALOG).unwrap();
        let products = catalog["products"].as_array().unwrap();
        let prices = [
            (lamp, &products[0]["variations"][0]),
            (mug, &products[1]),
            (shirt, &products[2]),
        ]
        .into_iter()
        .map(|(id, p)| (id, minor_units(&p["listPrice"]).unwrap()))
        .collect();
        let profile = profile_shopper(app).await;
        let payments_key = app.payments_key().await;
        // A financing term, so the docs' `financingTerm` has one to show.
        let term = shopkeeper::domain::financing::Term::new(12, 990).unwrap();
        store
            .add_financing_term(&site_id(), term, None, app.now())
            .await
            .unwrap();

        let categories = app
            .get_ok(&full, "/v1/shoppers/me/categories?expand=all")
            .await;
        let category = first_id(&categories["categories"]["category"]).unwrap_or_else(|| {
            panic!("no category in {categories}");
        });

        // A saved address, the default for billing and shipping.
        let address = save_address(app, &full, "home").await;

        // An offer of the lamp, in a POP.
        let offer = shopkeeper::offers::create(
            store,
            SITE,
            &json!({"name": "Home Page Featured Lamp", "type": "Discount", "level": "order",
                    "trigger": "promotional-url", "amountOff": {"currency": "USD", "value": "1.00"},
                    "externalReferenceId": "docs-order-offer",
                    "productIds": [lamp], "salesPitch": "Header Message\nFooter Message",
                    "image": "https://example.com/images/promo/lamp_header.gif"})
            .to_string(),
            app.now(),
        )
        .await
        .unwrap()["id"]
            .as_i64()
            .unwrap();
        shopkeeper::offers::create_pop(store, SITE, FIXTURE_POP, app.now())
            .await
            .unwrap();
        shopkeeper::offers::add_to_pop(store, SITE, FIXTURE_POP, offer)
            .await
            .unwrap();

        // A reusable card (a payment option), and an order of the lamp paid with it.
        let source = app.create_source(APPROVE_CARD, true).await;
        let mut fx = Self {
            full,
            profile,
            payments_key,
            lamp,
            mug,
            shirt,
            prices,
            category,
            offer,
            address,
            source,
            order: 0,
            invoice: String::new(),
            refund_order: 0,
            refund_line: String::new(),
            order_line: String::new(),
            order_email: "jane.docs@example.com".into(),
            order_card_last_digits: APPROVE_CARD[APPROVE_CARD.len() - 4..].to_owned(),
            cart_line: String::new(),
            shipping_option: String::new(),
            spare_address: None,
            spare_source: None,
            coupon_code: "DOCS-COUPON".into(),
            purchase_plan: (0, 0),
            newsletter: summary.product_ids[3],
            subscription: 0,
            spare_subscription: None,
            item_offer: 0,
            shipping_offer: 0,
            unique: 0,
            admin_basic: String::new(),
            staff_bearer: String::new(),
        };
        let admin = crate::admin_access::admin_key(app).await;
        fx.staff_bearer = format!(
            "Bearer {}",
            crate::admin_access::staff_token(
                app,
                &admin,
                &[
                    "customer-service-director",
                    "customer-service-supervisor",
                    "customer-service-representative",
                    "site-manager",
                ],
            )
            .await
        );
        fx.admin_basic = admin.basic();
        fx.reset_cart(app, ORDER_QUANTITY).await;
        let submitted = ok_json(app.submit(&fx.full).await).await;
        fx.order = submitted["submitCart"]["order"]["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no order id in {submitted}"));
        fx.invoice = shopkeeper::invoices::create_invoice(&app.state, fx.order)
            .await
            .unwrap()
            .id;
        let lines = app
            .get_ok(
                &fx.full,
                &format!("/v1/shoppers/me/orders/{}/line-items", fx.order),
            )
            .await;
        fx.order_line = id_text(&lines["lineItems"]["lineItem"][0]["id"])
            .unwrap_or_else(|| panic!("no line item in {lines}"));
        // One unit of it asked back, so the returns the docs read have one to show (two units
        // stay for the docs' own return request).
        let returned = app
            .http
            .post(app.url(&format!("/v1/shoppers/me/orders/{}/returns", fx.order)))
            .bearer_auth(&fx.full)
            .json(
                &json!({"return": {"reason": "CUSTOMER_ERROR", "returnLineItems": {
                "returnLineItem": [{"lineItem": {"id": fx.order_line, "quantity": 1}}]}}}),
            )
            .send()
            .await
            .unwrap();
        ok_json(returned).await;
        fx.reset_cart(app, 1).await;
        let refunded = ok_json(app.submit(&fx.full).await).await;
        fx.refund_order = refunded["submitCart"]["order"]["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no order id in {refunded}"));
        let lines = app
            .get_ok(
                &fx.full,
                &format!("/v1/shoppers/me/orders/{}/line-items", fx.refund_order),
            )
            .await;
        fx.refund_line = id_text(&lines["lineItems"]["lineItem"][0]["id"])
            .unwrap_or_else(|| panic!("no line item in {lines}"));
        let promotion = |definition: Value| {
            let store = app.state.store.clone();
            async move {
                shopkeeper::offers::create(&store, SITE, &definition.to_string(), app.now())
                    .await
                    .unwrap()["id"]
                    .as_i64()
                    .unwrap()
            }
        };
        fx.item_offer = promotion(json!({"name": "Docs item offer", "type": "Discount",
            "trigger": "promotional-url", "percentOff": "10", "productIds": [lamp, mug],
            "externalReferenceId": "docs-item-offer"}))
        .await;
        fx.shipping_offer = promotion(json!({"name": "Docs shipping offer",
            "type": "Shipping Cost Discount", "trigger": "promotional-url", "percentOff": "50",
            "externalReferenceId": "docs-shipping-offer"}))
        .await;
        fx.subscription = fx.subscribe(app).await;
        let plan = store
            .create_purchase_plan(
                &site_id(),
                &shopkeeper::store::PlanSettings {
                    name: Some("Student Discounts".into()),
                    target_market: Some("Students".into()),
                    add_rules: vec![shopkeeper::store::NewPlanRule {
                        method: shopkeeper::domain::purchase_plans::AccessMethod::EmailDomain,
                        value: "university.edu".into(),
                        pin_hash: None,
                    }],
                    ..Default::default()
                },
                app.now(),
            )
            .await
            .unwrap();
        fx.purchase_plan = (plan.id, plan.target_market_id);
        let authorized = app
            .http
            .post(app.url("/v1/shoppers/me/purchase-plan/authorize"))
            .bearer_auth(&fx.full)
            .json(&json!({"purchasePlanAuthorize": {"id": plan.id,
                "emailDomain": "university.edu"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(authorized.status(), 204, "the fixture's private store");
        shopkeeper::offers::create(
            store,
            SITE,
            &json!({"name": "Docs coupon", "type": "Discount", "level": "order",
                    "trigger": "coupon", "percentOff": "10", "couponCodes": [fx.coupon_code]})
            .to_string(),
            app.now(),
        )
        .await
        .unwrap();
        fx
    }

    /// The cart as every cart case finds it: only the lamp (`quantity`), the fixture address
    /// for billing and shipping, a custom attribute on the cart and on the line, new store
    /// credit and the reusable card applied.
    async fn reset_cart(&mut self, app: &TestApp, quantity: i64) {
        let token = self.full.clone();
        let cleared = app
            .http
            .delete(app.url("/v1/shoppers/me/carts/active/line-items"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert!(
            cleared.status().is_success(),
            "clearing the cart: {}",
            cleared.status()
        );
        ok_json(app.add_to_cart(&token, self.lamp, quantity).await).await;
        for which in ["billing-address", "shipping-address"] {
            let put = app
                .http
                .put(app.url(&format!("/v1/shoppers/me/carts/active/{which}")))
                .bearer_auth(&token)
                .json(&json!({"address": address_fixture(false)}))
                .send()
                .await
                .unwrap();
            assert!(put.status().is_success(), "{which}: {}", put.status());
        }
        // A custom attribute on the cart, as the docs' samples carry one (the line's below).
        let attributes = ok_json(
            app.http
                .post(app.url("/v1/shoppers/me/carts/active"))
                .bearer_auth(&token)
                .json(&json!({"cart": {"customAttributes": {"attribute": [
                    {"name": "giftNote", "value": "docs"}]}}}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(attributes["cart"]["customAttributes"]["attribute"][0].is_object());
        // Store credit first, then the card, as the docs apply them: their cart samples show
        // the credit among `supplementaryPaymentMethods`.
        let credit = app.create_store_credit(STORE_CREDIT).await;
        ok_json(app.apply_source(&token, &credit).await).await;
        ok_json(app.apply_source(&token, &self.source).await).await;
        let cart = app.get_ok(&token, "/v1/shoppers/me/carts/active").await;
        self.cart_line = id_text(&cart["cart"]["lineItems"]["lineItem"][0]["id"])
            .unwrap_or_else(|| panic!("no line in {cart}"));
        let line = app
            .http
            .post(app.url(&format!(
                "/v1/shoppers/me/carts/active/line-items/{}",
                self.cart_line
            )))
            .bearer_auth(&token)
            .json(&json!({"lineItem": {"customAttributes": {"attribute": {
                "name": "engraving", "value": "D"}}}}))
            .send()
            .await
            .unwrap();
        ok_json(line).await;
        {
            let triggered = app
                .http
                .post(app.url(&format!(
                    "/v1/shoppers/me/carts/active?offerId={}",
                    self.offer
                )))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            ok_json(triggered).await;
        }
        let options = app
            .get_ok(&token, "/v1/shoppers/me/carts/active/shipping-options")
            .await;
        self.shipping_option =
            id_text(&options["shippingOptions"]["shippingOption"][0]["id"]).unwrap_or_default();
    }

    /// The value of a marker: (text, as a JSON value when a whole string is the marker).
    fn marker(&mut self, name: &str, route: &str) -> Option<(String, Value)> {
        let adding = route == "/v1/shoppers/me/carts/active"
            || route == "/v1/shoppers/me/carts/active/line-items";
        let refunding = route.starts_with("/orders/{orderId}/refunds");
        let text = match name {
            // A cart request adds the mug to a cart holding the lamp; elsewhere the lamp.
            "productId" if adding => self.mug.to_string(),
            "productId" => self.lamp.to_string(),
            "baseProductId" => self.shirt.to_string(),
            "categoryId" => self.category.to_string(),
            "offerId" => self.offer.to_string(),
            "popName" => FIXTURE_POP.to_owned(),
            "addressId" => self
                .spare_address
                .clone()
                .unwrap_or_else(|| self.address.clone()),
            "sourceId" => self
                .spare_source
                .clone()
                .unwrap_or_else(|| self.source.clone()),
            "paymentOptionId" => self.source.clone(),
            "orderId" if refunding => self.refund_order.to_string(),
            "orderId" => self.order.to_string(),
            "orderLineItemId" if refunding => self.refund_line.clone(),
            // A refund's amount: in the order's currency, a dollar of the line's price.
            "orderCurrency" => "USD".into(),
            "refundAmountValue" => "1.00".into(),
            "fileId" | "receiptId" => self.invoice.clone(),
            "orderLineItemId" => self.order_line.clone(),
            "orderEmail" | "orderPassword" => self.order_email.clone(),
            "orderCardLastDigits" => self.order_card_last_digits.clone(),
            "cartLineItemId" => self.cart_line.clone(),
            "shippingOptionId" => self.shipping_option.clone(),
            "couponCode" => self.coupon_code.clone(),
            "purchasePlanId" => self.purchase_plan.0.to_string(),
            "targetMarketId" => self.purchase_plan.1.to_string(),
            "subscriptionId" => self
                .spare_subscription
                .unwrap_or(self.subscription)
                .to_string(),
            "orderOfferId" => self.offer.to_string(),
            "orderOfferReference" => "docs-order-offer".into(),
            "itemOfferId" => self.item_offer.to_string(),
            "itemOfferReference" => "docs-item-offer".into(),
            "shippingOfferId" => self.shipping_offer.to_string(),
            "shippingOfferReference" => "docs-shipping-offer".into(),
            // The sku of the product `{{productId}}` names on the route.
            "productReference" => {
                let catalog: Value = serde_json::from_str(CATALOG).unwrap();
                let products = &catalog["products"];
                let sku = if adding {
                    &products[1]["sku"]
                } else {
                    &products[0]["variations"][0]["sku"]
                };
                sku.as_str().unwrap().to_owned()
            }
            "uniqueUsername" | "uniqueEmail" => {
                self.unique += 1;
                format!("docs-shopper-{}@example.com", self.unique)
            }
            "uniqueExternalReferenceId" => {
                self.unique += 1;
                format!("docs-ref-{}", self.unique)
            }
            "BrowserIP" => "192.0.2.10".into(),
            "ServerIP" => "192.0.2.20".into(),
            "billingAgreementId" => "docs-billing-agreement-1".into(),
            // The Admin API's site: the fixture key's own.
            "siteId" => SITE.to_owned(),
            _ => return None,
        };
        Some((text.clone(), Value::String(text)))
    }

    /// `text` with every `{{name}}` filled.
    fn fill_text(&mut self, text: &str, route: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let Some(len) = rest[start..].find("}}") else {
                break;
            };
            let name = &rest[start + 2..start + len];
            out.push_str(&rest[..start]);
            match self.marker(name.trim_end_matches(":number"), route) {
                Some((value, _)) => out.push_str(&value),
                None => out.push_str(&rest[start..start + len + 2]),
            }
            rest = &rest[start + len + 2..];
        }
        out.push_str(rest);
        out
    }

    fn fill_json(&mut self, value: &Value, route: &str) -> Value {
        match value {
            Value::String(s) if s.starts_with("{{") && s.ends_with(":number}}") => {
                let text = self.fill_text(s, route);
                text.parse::<serde_json::Number>()
                    .map(Value::Number)
                    .unwrap_or(Value::String(text))
            }
            Value::String(s) => Value::String(self.fill_text(s, route)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.fill_json(v, route)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.fill_json(v, route)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// The fixture's postal address (the shopper's saved one when `saved`).
fn address_fixture(saved: bool) -> Value {
    let mut address = json!({
        "firstName": "Jane", "lastName": "Docs", "line1": "10 Example Street",
        "city": "Minneapolis", "countrySubdivision": "MN", "postalCode": "55401",
        "country": "US", "phoneNumber": "555-0100", "emailAddress": "jane.docs@example.com",
        // The optional fields the docs' address requests send too.
        "countyName": "Hennepin", "phoneticFirstName": "クリス", "phoneticLastName": "ミラー",
        "division": "製品開発", "title": "M"
    });
    if saved {
        address["isDefaultBilling"] = json!(true);
        address["isDefaultShipping"] = json!(true);
        address["nickName"] = json!("home");
    }
    address
}

async fn run_case(
    app: &TestApp,
    fx: &mut Fixtures,
    case: &Value,
    uri_results: &mut BTreeMap<String, u16>,
) -> Outcome {
    let route = case["route"].as_str().unwrap();
    let method = case["method"].as_str().unwrap();
    if route.starts_with("/v1/shoppers/me/carts/active") {
        fx.reset_cart(app, CART_QUANTITY).await;
    }
    if route.starts_with("/v1/shoppers/me/carts/active/tax-registrations") {
        // The docs' tax identifiers are Brazil's: the cart bills to Brazil. The one answer the
        // docs show for the POST is the 409 of a site without Global Tax ID Management, so the
        // site has it off for that case only.
        let put = app
            .http
            .put(app.url("/v1/shoppers/me/carts/active/billing-address"))
            .bearer_auth(&fx.full)
            .json(
                &json!({"address": {"firstName": "Ada", "lastName": "Lovelace",
                "line1": "1067 Rua Coronel Quirino", "city": "Centro", "postalCode": "13025-002",
                "country": "BR", "emailAddress": "ada@example.com"}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 204);
        app.state
            .store
            .set_site_tax_id_management(&site_id(), method != "POST")
            .await
            .unwrap();
    }
    if route == "/v1/shoppers/me/addresses/{id}" && method == "DELETE" {
        // The case deletes an address of its own, not the fixture's.
        fx.spare_address = Some(fx.save_address(app).await);
    }
    if route == "/v1/subscriptions/{id}/cancel" {
        // The case cancels a subscription of its own, not the fixture's.
        fx.spare_subscription = Some(fx.subscribe(app).await);
    }
    if route == "/v1/shoppers/me/payment-options" && method == "POST" {
        // The case saves a source of its own as a new payment option.
        fx.spare_source = Some(app.create_source(APPROVE_CARD, true).await);
    }
    let authorization = match case["auth"].as_str().unwrap() {
        "anonymous" => format!("Bearer {}", app.anonymous_pair().await.access),
        "payments-key" => format!("Bearer {}", fx.payments_key),
        "confidential-key" => format!("Bearer {}", app.confidential_secret),
        "admin-key" => fx.admin_basic.clone(),
        "admin-staff" => fx.staff_bearer.clone(),
        _ if route == "/v1/shoppers/me" && method == "POST" => format!("Bearer {}", fx.profile),
        _ => format!("Bearer {}", fx.full),
    };
    let path = fx.fill_text(case["path"].as_str().unwrap(), route);
    let query: Vec<(String, String)> = case["query"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| {
            (
                kv[0].as_str().unwrap().to_owned(),
                fx.fill_text(kv[1].as_str().unwrap(), route),
            )
        })
        .collect();
    let mut request = app
        .http
        .request(method.parse().unwrap(), app.url(&path))
        .header("Authorization", &authorization)
        .header("Accept", "application/json")
        .query(&query);
    let mut sent_body = Value::Null;
    if let Some(form) = case["form"].as_array() {
        let form: Vec<(String, String)> = form
            .iter()
            .map(|kv| {
                (
                    kv[0].as_str().unwrap().to_owned(),
                    fx.fill_text(kv[1].as_str().unwrap(), route),
                )
            })
            .collect();
        request = request.form(&form);
    } else if !case["body"].is_null() {
        sent_body = fx.fill_json(&case["body"], route);
        request = request.json(&sent_body);
    }
    let response = request.send().await.unwrap();
    fx.spare_address = None;
    fx.spare_source = None;
    fx.spare_subscription = None;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);

    let mut outcome = Outcome {
        status,
        accepted: match case["status"].as_u64() {
            Some(documented) => u64::from(status) == documented,
            None => (200..300).contains(&status),
        },
        ..Outcome::default()
    };
    if !outcome.accepted {
        outcome.problems.push(format!(
            "answer: {}",
            text.chars().take(200).collect::<String>()
        ));
    }

    // Documented keys, compared with `[]` left out (the docs show some lists as one object),
    // and inside the answer's envelope as well (the docs show many samples without their
    // `{"cart": ...}` or `{"address": ...}`).
    let mut present_paths: BTreeSet<String> = key_paths(&answer, "")
        .into_iter()
        .map(|p| p.replace("[]", ""))
        .collect();
    if let Some(map) = answer.as_object()
        && map.len() == 1
    {
        let inner = map.values().next().unwrap();
        present_paths.extend(
            key_paths(inner, "")
                .into_iter()
                .map(|p| p.replace("[]", "")),
        );
    }
    for key in case["responseKeys"].as_array().unwrap() {
        let key = key.as_str().unwrap();
        outcome.keys_documented += 1;
        if present_paths.contains(&key.replace("[]", "")) {
            outcome.keys_present += 1;
        } else {
            if unserved_by_decision(key) {
                outcome.keys_unserved_by_decision += 1;
            }
            outcome.missing_keys.push(key.to_owned());
        }
    }

    // Every uri, followed (once per run) with the case's credentials.
    let mut uris = BTreeSet::new();
    collect_uris(&answer, &mut uris);
    for uri in uris {
        let Some(local) = local_path(app, &uri) else {
            outcome.uris_failed.push(format!("{uri} (not this server)"));
            continue;
        };
        // Links to actions (`submitCart.uri`, `applyShippingOptionToCart.uri`) name a route a
        // client POSTs to: followed only where the access table has a GET for the path.
        if !has_get_route(&local) {
            continue;
        }
        let status = match uri_results.get(&local) {
            Some(s) => *s,
            None => {
                let s = app
                    .http
                    .get(app.url(&local))
                    .header("Authorization", &authorization)
                    .header("Accept", "application/json")
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16();
                uri_results.insert(local.clone(), s);
                s
            }
        };
        outcome.uris_followed += 1;
        // The web checkout's link answers as documented: `302 Found` to the hosted pages.
        let answered = if local.starts_with("/v1/shoppers/me/carts/active/web-checkout") {
            status == 302
        } else {
            (200..300).contains(&status)
        };
        if !answered {
            outcome.uris_failed.push(format!("{local} → {status}"));
        }
    }

    // Prices and quantities of the fixture products against what the test stored.
    let expected_quantities = expected_quantities(fx, route, &sent_body, &query);
    outcome.values_checked = check_lines(fx, &answer, &expected_quantities, &mut outcome.problems);
    outcome
}

/// The quantity of each fixture product an answer of this case may show: the lamp as the
/// cart (or the order) holds it unless the case changes its line, the mug as the case adds it.
fn expected_quantities(
    fx: &Fixtures,
    route: &str,
    body: &Value,
    query: &[(String, String)],
) -> BTreeMap<i64, i64> {
    let mut expected = BTreeMap::new();
    // The fixture order (lists of orders hold the cart cases' submits too: prices only).
    if route.starts_with("/v1/shoppers/me/orders/{id}") {
        expected.insert(fx.lamp, ORDER_QUANTITY);
        return expected;
    }
    if !route.starts_with("/v1/shoppers/me/carts/active") {
        return expected;
    }
    let query_quantity = query
        .iter()
        .find(|(k, _)| k == "quantity")
        .and_then(|(_, v)| v.parse::<i64>().ok());
    if route == "/v1/shoppers/me/carts/active/line-items/{id}" {
        expected.insert(fx.lamp, query_quantity.unwrap_or(CART_QUANTITY));
        return expected;
    }
    expected.insert(fx.lamp, CART_QUANTITY);
    let mut added = 0;
    let mut lines = Vec::new();
    collect_lines(body, &mut lines);
    for line in lines {
        if id_text(&line["product"]["id"]).as_deref() == Some(&fx.mug.to_string()) {
            added += quantity_of(&line["quantity"]).unwrap_or(1);
        }
    }
    if query
        .iter()
        .any(|(k, v)| k == "productId" && *v == fx.mug.to_string())
    {
        added += query_quantity.unwrap_or(1);
    }
    if added > 0 {
        expected.insert(fx.mug, added);
    }
    expected
}

/// Every object of `value` with a `product` (a line item), wherever it is.
fn collect_lines<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Object(map) => {
            if map.contains_key("product") {
                out.push(value);
            }
            map.values().for_each(|v| collect_lines(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_lines(v, out)),
        _ => {}
    }
}

/// Line items of fixture products: quantity as expected, list price as stored, and the
/// quantity's price their product.
fn check_lines(
    fx: &Fixtures,
    answer: &Value,
    expected: &BTreeMap<i64, i64>,
    problems: &mut Vec<String>,
) -> usize {
    let mut checked = 0;
    let mut lines = Vec::new();
    collect_lines(answer, &mut lines);
    for line in lines {
        let Some(product) = id_text(&line["product"]["id"]).and_then(|s| s.parse::<i64>().ok())
        else {
            continue;
        };
        let Some(price) = fx.prices.get(&product) else {
            continue;
        };
        let quantity = quantity_of(&line["quantity"]);
        if let (Some(want), Some(got)) = (expected.get(&product), quantity) {
            checked += 1;
            if *want != got {
                problems.push(format!("product {product}: quantity {got}, stored {want}"));
            }
        }
        let pricing = &line["pricing"];
        if let Some(list) = minor_units(&pricing["listPrice"]["value"]) {
            checked += 1;
            if list != *price {
                problems.push(format!(
                    "product {product}: listPrice {list}, stored {price}"
                ));
            }
        }
        if let (Some(total), Some(q)) = (
            minor_units(&pricing["listPriceWithQuantity"]["value"]),
            quantity,
        ) {
            checked += 1;
            if total != price * q {
                problems.push(format!(
                    "product {product}: listPriceWithQuantity {total}, stored {price} × {q}"
                ));
            }
        }
    }
    // A product answer: its own list price.
    if let Some(product) = id_text(&answer["product"]["id"]).and_then(|s| s.parse::<i64>().ok())
        && let (Some(price), Some(list)) = (
            fx.prices.get(&product),
            minor_units(&answer["product"]["pricing"]["listPrice"]["value"]),
        )
    {
        checked += 1;
        if list != *price {
            problems.push(format!(
                "product {product}: listPrice {list}, stored {price}"
            ));
        }
    }
    checked
}

/// A JSON number or numeric string as minor units (cents), without floating point.
fn minor_units(value: &Value) -> Option<i64> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    if frac.len() > 2 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = format!("{frac:0<2}").parse().ok()?;
    Some(whole * 100 + if whole < 0 { -frac } else { frac })
}

fn quantity_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// The id of the first element of a list (or of the one object the list is).
fn first_id(list: &Value) -> Option<i64> {
    let first = if list.is_array() { &list[0] } else { list };
    id_text(&first["id"])?.parse().ok()
}

/// Key paths of a JSON value as the extraction script writes them (`a.b[].c`).
fn key_paths(value: &Value, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.push(p.clone());
                out.extend(key_paths(v, &p));
            }
        }
        Value::Array(items) => {
            for v in items {
                out.extend(key_paths(v, &format!("{prefix}[]")));
            }
        }
        _ => {}
    }
    out
}

fn collect_uris(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::String(s) if k == "uri" => {
                        out.insert(s.clone());
                    }
                    _ => collect_uris(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_uris(v, out)),
        _ => {}
    }
}

/// The path and query of a `uri` this server built (its public URL is the listen address in
/// tests), or None when it points elsewhere.
fn local_path(app: &TestApp, uri: &str) -> Option<String> {
    uri.strip_prefix(&app.address)
        .filter(|rest| rest.starts_with('/'))
        .map(str::to_owned)
}

/// Whether the access table (provided or not) has a GET route for this path (query and a
/// `.json` suffix left out).
fn has_get_route(local: &str) -> bool {
    let path = local.split('?').next().unwrap_or(local);
    let path = path.strip_suffix(".json").unwrap_or(path);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    shopkeeper::domain::access_policy::ROUTES.iter().any(|r| {
        let pattern: Vec<&str> = r.path.trim_matches('/').split('/').collect();
        r.method == "GET"
            && pattern.len() == segments.len()
            && pattern
                .iter()
                .zip(&segments)
                .all(|(p, s)| p.starts_with('{') || p == s)
    })
}
