//! Private stores (`product-discovery/private-stores/`): proving eligibility by each access
//! method binds the plan to the session, a wrong code is refused and guessing is throttled,
//! plan prices show in the product, the cart and the order, a private site closes its catalog
//! to sessions outside its plans, and a plan's per-shopper limit holds under concurrent submits.

use crate::checkout::{catalog, shopper_error};
use crate::helpers::*;
use crate::offers::ready_guest;
use serde_json::{Value, json};
use shopkeeper::domain::purchase_plans::{AccessMethod, normalize_rule_value};
use shopkeeper::store::{NewPlanRule, PlanPrice, PlanSettings};

const PLAN: &str = "/v1/shoppers/me/purchase-plan";
const CART: &str = "/v1/shoppers/me/carts/active";
const PIN: &str = "K7mP2xQa";

async fn rule(app: &TestApp, method: AccessMethod, value: &str) -> NewPlanRule {
    NewPlanRule {
        method,
        value: normalize_rule_value(method, value).unwrap(),
        pin_hash: if method.has_pin() {
            Some(app.state.hasher.hash(PIN.to_owned()).await.unwrap())
        } else {
            None
        },
    }
}

/// An open plan on the test site with one rule of every access method.
async fn plan_with(app: &TestApp, configure: impl FnOnce(&mut PlanSettings)) -> (i64, i64) {
    let mut settings = PlanSettings {
        name: Some("Employees".into()),
        brand_display_name: Some("@Example".into()),
        target_market: Some("Staff".into()),
        add_rules: vec![
            rule(app, AccessMethod::EmailDomain, "example.com").await,
            rule(app, AccessMethod::EmailAddress, "chi@partner.test").await,
            rule(app, AccessMethod::GenericIdentifier, "staff").await,
            rule(app, AccessMethod::EmailInvitation, "friend@family.test").await,
            rule(app, AccessMethod::IpAddress, "10.9.0.0/16").await,
            rule(app, AccessMethod::IpAddress, "127.0.0.1").await,
            rule(
                app,
                AccessMethod::ReferralUrl,
                "https://intranet.example.com/shop",
            )
            .await,
        ],
        ..PlanSettings::default()
    };
    configure(&mut settings);
    let plan = app
        .state
        .store
        .create_purchase_plan(&site_id(), &settings, app.now())
        .await
        .unwrap();
    (plan.id, plan.target_market_id)
}

/// The plan's own unit price of `product` (minor units).
async fn plan_price(app: &TestApp, plan: i64, product: i64, unit_price_minor: i64) {
    let price = PlanPrice {
        product_id: product,
        unit_price_minor: Some(unit_price_minor),
        max_quantity: None,
    };
    app.state
        .store
        .set_purchase_plan_prices(&site_id(), plan, &[price])
        .await
        .unwrap();
}

async fn authorize(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url(&format!("{PLAN}/authorize")))
        .bearer_auth(token)
        .json(&json!({ "purchasePlanAuthorize": body }))
        .send()
        .await
        .unwrap()
}

async fn put_shipping_address(app: &TestApp, token: &str) {
    let answer = app
        .http
        .put(app.url(&format!("{CART}/shipping-address")))
        .bearer_auth(token)
        .json(
            &json!({"address": {"firstName": "Ada", "lastName": "Lovelace",
            "line1": "1 Main St", "city": "Austin", "countrySubdivision": "TX",
            "postalCode": "78701", "country": "US", "emailAddress": "ada@example.com"}}),
        )
        .send()
        .await
        .unwrap();
    assert!(
        answer.status().is_success(),
        "{}",
        answer.text().await.unwrap()
    );
}

fn value(money: &Value) -> f64 {
    money["value"].as_f64().unwrap()
}

fn attribute<'a>(attributes: &'a Value, name: &str) -> Option<&'a Value> {
    attributes["attribute"]
        .as_array()?
        .iter()
        .find(|a| a["name"] == name)
        .map(|a| &a["value"])
}

#[tokio::test]
async fn each_access_method_authorizes_the_session_into_the_plan() {
    let app = spawn_app().await;
    let (plan, market) = plan_with(&app, |_| {}).await;
    let proofs = [
        json!({"emailDomain": "example.com"}),
        json!({"emailAddress": "Jane@Example.com"}),
        json!({"emailAddress": "chi@partner.test"}),
        json!({"genericIdentifier": "Staff", "genericIdentifierPin": PIN}),
        json!({"emailInvitationAddress": "friend@family.test", "emailInvitationPin": PIN}),
        // A public client may claim only its own address (tests call over loopback).
        json!({"ipAddress": "127.0.0.1"}),
        json!({"referralUrl": "https://intranet.example.com/shop/landing?x=1"}),
    ];
    for proof in proofs {
        let token = app.anonymous_pair().await.access;
        // Before: the session has no plan.
        shopper_error(app.get_as(&token, PLAN).await, 404, "resource-not-found").await;
        let mut body = proof.clone();
        body["id"] = json!(plan.to_string());
        body["targetMarketId"] = json!(market.to_string());
        let answer = authorize(&app, &token, body).await;
        assert_eq!(
            answer.status(),
            204,
            "{proof}: {}",
            answer.text().await.unwrap()
        );
        let got = app.get_ok(&token, PLAN).await;
        assert_eq!(got["id"], plan.to_string(), "{got}");
        assert_eq!(got["purchasePlanName"], "Employees");
        assert_eq!(got["brandDisplayName"], "@Example");
        assert_eq!(got["targetMarketId"], market.to_string());
        assert_eq!(got["targetMarketName"], "Staff");
        assert_eq!(got["isAuthenticationRequiredToBrowse"], "false");
    }

    // Wrong proofs: 403, the session stays outside (a session each: the throttle counts a
    // session's failures).
    let mut token = String::new();
    for proof in [
        json!({"emailDomain": "example.org"}),
        json!({"emailAddress": "jane@sub.example.com"}),
        json!({"genericIdentifier": "staff", "genericIdentifierPin": "wrong-pin"}),
        json!({"emailInvitationAddress": "other@family.test", "emailInvitationPin": PIN}),
        // Another address than the caller's own, from a public client.
        json!({"ipAddress": "10.9.1.1"}),
        json!({"referralUrl": "https://intranet.example.com/other"}),
        // Only a confidential (server-side) client may vouch.
        json!({"bypassAccessRuleType": "EmailDomain"}),
    ] {
        token = app.anonymous_pair().await.access;
        let mut body = proof.clone();
        body["id"] = json!(plan);
        shopper_error(authorize(&app, &token, body).await, 403, "forbidden").await;
    }
    shopper_error(app.get_as(&token, PLAN).await, 404, "resource-not-found").await;

    // A confidential client may vouch, and may name the address it checked.
    let vouched = TokenPair::from(
        ok_json(
            app.confidential_token(&[("grant_type", "client_credentials")])
                .await,
        )
        .await,
    )
    .access;
    for proof in [
        json!({"bypassAccessRuleType": "EmailDomain"}),
        json!({"ipAddress": "10.9.1.1"}),
    ] {
        let mut body = proof.clone();
        body["id"] = json!(plan);
        let answer = authorize(&app, &vouched, body).await;
        assert_eq!(answer.status(), 204, "{proof}");
    }

    // Malformed or unknown: 400 and 404 in the documented shape.
    shopper_error(
        authorize(&app, &token, json!({"id": plan})).await,
        400,
        "invalid-request",
    )
    .await;
    shopper_error(
        authorize(&app, &token, json!({"emailDomain": "example.com"})).await,
        400,
        "invalid-request",
    )
    .await;
    shopper_error(
        authorize(
            &app,
            &token,
            json!({"id": plan, "emailDomain": "example.com", "emailAddress": "a@example.com"}),
        )
        .await,
        400,
        "invalid-request",
    )
    .await;
    shopper_error(
        authorize(
            &app,
            &token,
            json!({"id": plan + 99, "emailDomain": "example.com"}),
        )
        .await,
        404,
        "resource-not-found",
    )
    .await;
    shopper_error(
        authorize(
            &app,
            &token,
            json!({"id": plan, "targetMarketId": market + 1, "emailDomain": "example.com"}),
        )
        .await,
        404,
        "resource-not-found",
    )
    .await;

    // The search finds the plan by any one claim; a wrong PIN finds nothing.
    let search = |query: &'static str| {
        let app = &app;
        async move {
            ok_json(
                app.http
                    .get(app.url(&format!("{PLAN}/search?{query}")))
                    .query(&[("apiKey", app.public_key.as_str())])
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let found = search("emailDomain=example.com").await;
    assert_eq!(found["purchasePlans"]["totalResults"], "1", "{found}");
    assert_eq!(
        found["purchasePlans"]["purchasePlan"][0]["id"],
        plan.to_string()
    );
    let found = search("genericIdentifier=staff&genericIdentifierPin=K7mP2xQa").await;
    assert_eq!(found["purchasePlans"]["totalResults"], "1", "{found}");
    let none = search("genericIdentifier=staff&genericIdentifierPin=nope").await;
    assert_eq!(none["purchasePlans"]["totalResults"], "0", "{none}");
    let none = search("").await;
    assert_eq!(none["purchasePlans"]["totalResults"], "0", "{none}");

    // A switched-off plan takes no one.
    app.state
        .store
        .update_purchase_plan(
            &site_id(),
            plan,
            &PlanSettings {
                enabled: Some(false),
                ..PlanSettings::default()
            },
            app.now(),
        )
        .await
        .unwrap();
    let token = app.anonymous_pair().await.access;
    shopper_error(
        authorize(
            &app,
            &token,
            json!({"id": plan, "emailDomain": "example.com"}),
        )
        .await,
        404,
        "resource-not-found",
    )
    .await;
}

#[tokio::test]
async fn guessing_codes_is_throttled_like_sign_ins() {
    let app = spawn_app_with(|s| throttle_accounts(s, 3, 60, 600)).await;
    let (plan, _) = plan_with(&app, |_| {}).await;
    let token = app.anonymous_pair().await.access;
    let guess = |pin: &'static str| {
        authorize(
            &app,
            &token,
            json!({"id": plan, "genericIdentifier": "staff", "genericIdentifierPin": pin}),
        )
    };
    // Three free failures, then a wait.
    let mut refused = 0;
    loop {
        let answer = guess("guess").await;
        if answer.status() == 429 {
            break;
        }
        shopper_error(answer, 403, "forbidden").await;
        refused += 1;
        assert!(refused <= 4, "never throttled");
    }
    assert!(refused >= 3, "throttled after {refused} failures");
    // Past the free failures the session must wait, even with the right code.
    let throttled = guess(PIN).await;
    assert_eq!(throttled.status(), 429);
    assert!(throttled.headers().contains_key("retry-after"));
    shopper_error(throttled, 429, "rate-limit-quota-exceeded").await;
    // Once the wait is over (the test clock), the right code gets in.
    app.advance_clock(61).await;
    assert_eq!(guess(PIN).await.status(), 204);
}

#[tokio::test]
async fn plan_prices_show_in_the_product_the_cart_and_the_order() {
    let app = spawn_app().await;
    let (product, variation) = catalog(&app).await;
    let (plan, market) = plan_with(&app, |s| s.discount_bp = Some(Some(2_000))).await;
    // The digital product at its own plan price; everything else 20 % off.
    plan_price(&app, plan, product, 2_500).await;
    let outside = app.anonymous_pair().await.access;
    let inside = ready_guest(&app, product).await;
    let public = app
        .get_ok(&outside, &format!("/v1/shoppers/me/products/{product}"))
        .await;
    assert_eq!(
        value(&public["product"]["pricing"]["salePriceWithQuantity"]),
        39.99
    );
    let answer = authorize(
        &app,
        &inside,
        json!({"id": plan, "emailDomain": "example.com"}),
    )
    .await;
    assert_eq!(answer.status(), 204);

    let planned = app
        .get_ok(&inside, &format!("/v1/shoppers/me/products/{product}"))
        .await;
    let pricing = &planned["product"]["pricing"];
    assert_eq!(value(&pricing["salePriceWithQuantity"]), 25.00, "{pricing}");
    assert_eq!(
        value(&pricing["listPrice"]),
        value(&public["product"]["pricing"]["listPrice"])
    );
    let list = app
        .get_ok(&inside, "/v1/shoppers/me/products?expand=product")
        .await;
    let shown = list["products"]["product"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == product)
        .unwrap()
        .clone();
    assert_eq!(
        value(&shown["pricing"]["salePriceWithQuantity"]),
        25.00,
        "{shown}"
    );
    // The plan price replaces the volume tiers for the session in the plan.
    let tiers = app
        .get_ok(
            &inside,
            &format!("/v1/shoppers/me/products/{product}/pricing/volume-pricing"),
        )
        .await;
    let tier = tiers["volumePricing"]["tier"].as_array().unwrap();
    assert_eq!(tier.len(), 1, "{tiers}");
    assert_eq!(value(&tier[0]["pricing"]["salePriceWithQuantity"]), 25.00);
    let public_tiers = app
        .get_ok(
            &outside,
            &format!("/v1/shoppers/me/products/{product}/pricing/volume-pricing"),
        )
        .await;
    // Outside: the base price and the two imported tiers.
    assert_eq!(
        public_tiers["volumePricing"]["tier"]
            .as_array()
            .unwrap()
            .len(),
        3,
        "{public_tiers}"
    );
    // The session outside still sees the public price.
    let again = app
        .get_ok(
            &outside,
            &format!("/v1/shoppers/me/products/{product}/pricing"),
        )
        .await;
    assert_eq!(value(&again["pricing"]["salePriceWithQuantity"]), 39.99);

    // The cart: the plan price, and what the plan took off in its attributes.
    ok_json(app.add_to_cart(&inside, variation, 1).await).await;
    let cart = app.get_ok(&inside, CART).await;
    let lines = cart["cart"]["lineItems"]["lineItem"].as_array().unwrap();
    let line = lines
        .iter()
        .find(|l| l["product"]["id"] == product)
        .unwrap();
    assert_eq!(
        value(&line["pricing"]["salePriceWithQuantity"]),
        25.00,
        "{line}"
    );
    let other = lines
        .iter()
        .find(|l| l["product"]["id"] == variation)
        .unwrap();
    let full = value(&other["pricing"]["listPriceWithQuantity"]);
    let discounted = value(&other["pricing"]["salePriceWithQuantity"]);
    assert!(discounted < full, "{other}");
    let attributes = &cart["cart"]["customAttributes"];
    assert_eq!(
        attribute(attributes, "purchasePlanID"),
        Some(&json!(plan.to_string()))
    );
    assert_eq!(
        attribute(attributes, "marketID"),
        Some(&json!(market.to_string()))
    );
    let incentive: f64 = attribute(attributes, "PURCHASEPLAN_INCENTIVE_TOTAL")
        .and_then(Value::as_str)
        .unwrap()
        .parse()
        .unwrap();
    assert!(incentive > 14.99, "{attributes}");

    // The order keeps the plan and its prices.
    put_shipping_address(&app, &inside).await;
    let submitted = ok_json(
        app.http
            .post(app.url(&format!("{CART}/submit-cart")))
            .bearer_auth(&inside)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let order = &submitted["submitCart"]["order"];
    assert_eq!(
        attribute(&order["customAttributes"], "purchasePlanID"),
        Some(&json!(plan.to_string())),
        "{order}"
    );
    let id = order["id"].as_i64().unwrap();
    let read = app
        .get_ok(&inside, &format!("/v1/shoppers/me/orders/{id}"))
        .await;
    assert_eq!(
        attribute(
            &read["order"]["customAttributes"],
            "PURCHASEPLAN_INCENTIVE_TOTAL"
        ),
        attribute(attributes, "PURCHASEPLAN_INCENTIVE_TOTAL"),
        "{read}"
    );
}

#[tokio::test]
async fn a_private_site_closes_its_catalog_and_checkout_to_sessions_outside_its_plans() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let (plan, _) = plan_with(&app, |s| {
        s.storefront = Some(true);
        s.auth_required_to_browse = Some(true);
    })
    .await;
    let outside = ready_guest(&app, product).await;
    // The plan in effect, not yet authorized.
    let shown = app.get_ok(&outside, PLAN).await;
    assert_eq!(shown["id"], plan.to_string());
    assert_eq!(shown["isAuthenticationRequiredToBrowse"], "true");
    for path in [
        "/v1/shoppers/me/products".to_owned(),
        format!("/v1/shoppers/me/products/{product}"),
        "/v1/shoppers/me/categories".to_owned(),
        "/v1/shoppers/me/product-search?keyword=a".to_owned(),
    ] {
        shopper_error(app.get_as(&outside, &path).await, 403, "forbidden").await;
        let key_only = app
            .http
            .get(app.url(&path))
            .query(&[("apiKey", app.public_key.as_str())])
            .send()
            .await
            .unwrap();
        shopper_error(key_only, 403, "forbidden").await;
    }
    shopper_error(
        app.http
            .post(app.url(&format!("{CART}/submit-cart")))
            .bearer_auth(&outside)
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;

    let answer = authorize(
        &app,
        &outside,
        json!({"id": plan, "emailDomain": "example.com"}),
    )
    .await;
    assert_eq!(answer.status(), 204);
    app.get_ok(&outside, "/v1/shoppers/me/products").await;
    let submitted = app
        .http
        .post(app.url(&format!("{CART}/submit-cart")))
        .bearer_auth(&outside)
        .send()
        .await
        .unwrap();
    assert_eq!(
        submitted.status(),
        200,
        "{}",
        submitted.text().await.unwrap()
    );
}

#[tokio::test]
async fn a_plan_limit_holds_under_concurrent_submits() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let (plan, _) = plan_with(&app, |s| s.max_quantity_per_shopper = Some(Some(1))).await;
    plan_price(&app, plan, product, 1_000).await;
    // Eight sessions of the same shopper (one proven address, which limits count).
    let mut tokens = Vec::new();
    for _ in 0..8 {
        let token = ready_guest(&app, product).await;
        let answer = authorize(
            &app,
            &token,
            json!({"id": plan, "emailAddress": "ada@example.com"}),
        )
        .await;
        assert_eq!(answer.status(), 204);
        tokens.push(token);
    }
    let answers = app.submit_together(tokens.clone()).await;
    let placed = answers.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(placed, 1, "{answers:?}");
    for (status, body) in &answers {
        if *status != 200 {
            assert_eq!(*status, 409, "{body}");
            assert_eq!(
                body["errors"]["error"][0]["code"], "over-private-store-shopper-restriction",
                "{body}"
            );
            let description = body["errors"]["error"][0]["description"].as_str().unwrap();
            assert!(
                description.starts_with(
                    "Maximum purchasable quantity[1]; Remaining purchasable quantity[0];"
                ),
                "{description}"
            );
        }
    }
    // A cart of that shopper is refused as the product is added, or its line raised.
    let earlier = ready_guest(&app, product).await;
    let line = app.get_ok(&earlier, &format!("{CART}/line-items")).await["lineItems"]["lineItem"]
        [0]["id"]
        .clone();
    let answer = authorize(
        &app,
        &earlier,
        json!({"id": plan, "emailAddress": "ada@example.com"}),
    )
    .await;
    assert_eq!(answer.status(), 204);
    shopper_error(
        app.http
            .post(app.url(&format!("{CART}/line-items/{line}?quantity=2")))
            .bearer_auth(&earlier)
            .send()
            .await
            .unwrap(),
        409,
        "over-private-store-shopper-restriction",
    )
    .await;
    let token = app.anonymous_pair().await.access;
    let answer = authorize(
        &app,
        &token,
        json!({"id": plan, "emailAddress": "ada@example.com"}),
    )
    .await;
    assert_eq!(answer.status(), 204);
    shopper_error(
        app.add_to_cart(&token, product, 1).await,
        409,
        "over-private-store-shopper-restriction",
    )
    .await;
}
