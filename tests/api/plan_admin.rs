//! Purchase plans (private stores) as the operator manages them: `shopkeeper purchase-plan`
//! (PINs made, printed once, stored only as Argon2id hashes; rules listed without them),
//! `catalog import` of `purchasePlans` (checked with the rest of the file, exact in the
//! product's currency), and the demo's "Employee Store".

use crate::helpers::*;
use crate::multinode::cli;
use serde_json::{Value, json};
use shopkeeper::domain::{ApiKey, SiteId};

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// Whether `pin` is the PIN of the rule's stored hash (an Argon2id PHC string).
async fn pin_matches(app: &TestApp, plan: i64, method: &str, pin: &str) -> bool {
    let site = SiteId::parse(SITE).unwrap();
    let rules = app
        .state
        .store
        .purchase_plan_rules(&site, Some(plan))
        .await
        .unwrap();
    let hash = rules
        .into_iter()
        .find(|r| r.method == method)
        .and_then(|r| r.pin_hash)
        .expect("the rule has a PIN hash");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(pin));
    let key = ApiKey::parse(&shopkeeper::domain::secret::random_hex(16)).unwrap();
    app.state
        .hasher
        .verify(pin.to_owned(), Some(hash), &key)
        .await
        .unwrap()
}

#[tokio::test]
async fn plans_are_created_listed_changed_and_disabled_and_their_prices_imported() {
    let app = spawn_app().await;
    let db = app.database_url.as_str();
    let hashing = ["--argon2-memory-kib", "1024", "--argon2-iterations", "1"];
    let mut create = vec![
        "purchase-plan",
        "create",
        "--site",
        SITE,
        "--name",
        "Staff",
        "--target-market",
        "Employees",
        "--discount-percent",
        "12.5",
        "--max-quantity-per-shopper",
        "2",
        "--ends-at",
        "2030-01-01T00:00:00Z",
        "--email-domain",
        "@Example.COM",
        "--generic-identifier",
        "Staff",
        "--invite",
        "Friend@Family.example",
    ];
    create.extend(hashing);
    let (ok, out) = cli(db, &create, None).await;
    assert!(ok, "{out}");
    let plan = json(&out);
    let id = plan["id"].as_i64().unwrap();
    assert_eq!(plan["discountPercent"], "12.5");
    assert_eq!(plan["maxQuantityPerShopper"], 2);
    assert_eq!(plan["targetMarket"]["name"], "Employees");
    assert_eq!(plan["endsAt"], "2030-01-01T00:00:00Z");
    assert_eq!(plan["storefront"], false);
    let codes = plan["accessCodes"].as_array().unwrap();
    assert_eq!(codes.len(), 2, "{plan}");
    assert_eq!(codes[0]["genericIdentifier"], "staff");
    assert_eq!(codes[1]["emailInvitation"], "friend@family.example");
    let pin = codes[0]["pin"].as_str().unwrap().to_owned();
    assert_eq!(pin.len(), 8);
    assert!(pin_matches(&app, id, "GenericIdentifier", &pin).await);
    assert!(!pin_matches(&app, id, "GenericIdentifier", "WRONGPIN").await);
    let invitation = codes[1]["pin"].as_str().unwrap();
    assert!(pin_matches(&app, id, "EmailInvitation", invitation).await);

    // The same name again, a bad percentage: refused, one JSON error each.
    let (ok, message) = cli(db, &create, None).await;
    assert!(
        !ok && message.contains("already has a plan named"),
        "{message}"
    );
    let (ok, message) = cli(
        db,
        &[
            "purchase-plan",
            "create",
            "--site",
            SITE,
            "--name",
            "Other",
            "--discount-percent",
            "100.5",
        ],
        None,
    )
    .await;
    assert!(!ok, "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        json(&message)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--discount-percent")
    );

    // Listed with rules (normalized, no hashes, no PINs).
    let (ok, out) = cli(db, &["purchase-plan", "list", "--site", SITE], None).await;
    assert!(ok, "{out}");
    assert!(!out.contains("argon2") && !out.contains(&pin), "{out}");
    let listed = json(&out);
    assert_eq!(
        listed[0]["rules"],
        json!([
            {"method": "EmailDomain", "value": "example.com", "hasPin": false},
            {"method": "GenericIdentifier", "value": "staff", "hasPin": true},
            {"method": "EmailInvitation", "value": "friend@family.example", "hasPin": true},
        ])
    );

    // Prices imported with the catalog; a file naming an unknown plan or sku, or a price the
    // currency cannot have, is refused whole.
    let dir = tempfile::tempdir().unwrap();
    let product = json!({"sku": "PP-1", "name": "Plan product", "productType": "DIGITAL",
                         "currency": "USD", "listPrice": "30.00"});
    let bad = json!({"products": [product], "purchasePlans": [
        {"name": "Nope", "prices": [{"sku": "PP-1"}]},
        {"name": "Staff", "prices": [{"sku": "PP-2", "unitPrice": "1"},
                                     {"sku": "PP-1", "unitPrice": "9.999"}]}
    ]});
    let bad_file = dir.path().join("bad.json");
    std::fs::write(&bad_file, bad.to_string()).unwrap();
    let (ok, message) = cli(
        db,
        &[
            "catalog",
            "import",
            "--site",
            SITE,
            bad_file.to_str().unwrap(),
        ],
        None,
    )
    .await;
    assert!(!ok);
    let error = json(message.lines().last().unwrap())["error"].clone();
    assert_eq!(error["code"], "invalid-catalog", "{error}");
    assert_eq!(error["problems"].as_array().unwrap().len(), 3, "{error}");
    let site = SiteId::parse(SITE).unwrap();
    assert_eq!(
        app.state
            .store
            .product_id_by_sku(&site, "PP-1")
            .await
            .unwrap(),
        None,
        "nothing was written"
    );
    let good = json!({"products": [product], "purchasePlans": [
        {"name": "Staff", "prices": [{"sku": "PP-1", "unitPrice": "19.99", "maxQuantity": 1}]}
    ]});
    let good_file = dir.path().join("good.json");
    std::fs::write(&good_file, good.to_string()).unwrap();
    let (ok, out) = cli(
        db,
        &[
            "catalog",
            "import",
            "--site",
            SITE,
            good_file.to_str().unwrap(),
        ],
        None,
    )
    .await;
    assert!(ok, "{out}");
    assert_eq!(json(&out)["purchasePlanPrices"], 1);
    let (_, out) = cli(db, &["purchase-plan", "list", "--site", SITE], None).await;
    let prices = &json(&out)[0]["prices"];
    assert_eq!(prices[0]["sku"], "PP-1", "{prices}");
    assert_eq!(
        prices[0]["unitPrice"],
        json!({"currency": "USD", "value": "19.99"})
    );
    assert_eq!(prices[0]["maxQuantity"], 1);

    // Changed: a rule removed, a new PIN for the access code (the old one stops working),
    // the site made this private store; then disabled.
    let id_text = id.to_string();
    let mut update = vec![
        "purchase-plan",
        "update",
        "--site",
        SITE,
        "--id",
        &id_text,
        "--remove-rule",
        "EmailDomain:example.com",
        "--generic-identifier",
        "staff",
        "--storefront",
    ];
    update.extend(hashing);
    let (ok, out) = cli(db, &update, None).await;
    assert!(ok, "{out}");
    let updated = json(&out);
    assert_eq!(updated["storefront"], true);
    assert_eq!(updated["rules"].as_array().unwrap().len(), 2, "{updated}");
    let new_pin = updated["accessCodes"][0]["pin"].as_str().unwrap();
    assert!(pin_matches(&app, id, "GenericIdentifier", new_pin).await);
    assert!(!pin_matches(&app, id, "GenericIdentifier", &pin).await);
    let (ok, out) = cli(
        db,
        &["purchase-plan", "disable", "--site", SITE, "--id", &id_text],
        None,
    )
    .await;
    assert!(ok, "{out}");
    assert_eq!(json(&out)["enabled"], false);
    let (ok, message) = cli(
        db,
        &["purchase-plan", "disable", "--site", SITE, "--id", "999"],
        None,
    )
    .await;
    assert!(!ok, "{message}");
}

#[tokio::test]
async fn the_demo_has_an_employee_store_whose_pin_is_printed_once() {
    let app = spawn_app().await;
    let db = app.database_url.as_str();
    let demo = shopkeeper::provision::create_demo(
        &app.state.store,
        &app.state.hasher,
        "http://127.0.0.1:8080/",
        app.now(),
    )
    .await
    .unwrap();
    let private = &demo.private_store;
    assert_eq!(private.generic_identifier, "employee");
    let pin = private.pin.clone().expect("the first start prints the PIN");
    let printed = serde_json::to_value(&demo).unwrap();
    assert_eq!(printed["private_store"]["pin"], pin.as_str());

    let (ok, out) = cli(db, &["purchase-plan", "list", "--site", "demo"], None).await;
    assert!(ok, "{out}");
    let plan = &json(&out)[0];
    assert_eq!(plan["id"], private.id);
    assert_eq!(plan["name"], "Employee Store");
    assert_eq!(plan["targetMarket"]["name"], "Employees");
    assert_eq!(plan["targetMarket"]["id"], private.target_market_id);
    assert_eq!(plan["discountPercent"], "20");
    assert_eq!(plan["maxQuantityPerShopper"], 2);
    assert_eq!(plan["storefront"], false);
    assert_eq!(plan["authRequiredToBrowse"], false);
    assert_eq!(
        plan["rules"],
        json!([
            {"method": "EmailDomain", "value": "example.com", "hasPin": false},
            {"method": "GenericIdentifier", "value": "employee", "hasPin": true},
        ])
    );
    assert_eq!(plan["prices"][0]["sku"], "DEMO-AV-1Y");
    assert_eq!(plan["prices"][0]["unitPrice"]["value"], "24.99");
    let demo_site = SiteId::parse("demo").unwrap();
    let hash = app
        .state
        .store
        .purchase_plan_rules(&demo_site, Some(private.id))
        .await
        .unwrap()
        .into_iter()
        .find_map(|r| r.pin_hash)
        .unwrap();
    let key = ApiKey::parse(&shopkeeper::domain::secret::random_hex(16)).unwrap();
    assert!(
        app.state
            .hasher
            .verify(pin.clone(), Some(hash), &key)
            .await
            .unwrap()
    );

    // `demo show` names the store but cannot show the PIN again, and says so.
    let (ok, out) = cli(db, &["demo", "show"], None).await;
    assert!(ok, "{out}");
    let shown = &json(&out)["demo"]["private_store"];
    assert_eq!(shown["id"], private.id);
    assert!(shown.get("pin").is_none(), "{shown}");
    assert!(!out.contains(&pin));
    assert!(
        shown["pin_note"]
            .as_str()
            .unwrap()
            .contains("cannot be shown again"),
        "{shown}"
    );
}
