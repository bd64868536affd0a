//! `shopkeeper catalog import` run as a separate process on the server's database:
//! the whole file checked before anything is written, batched commits a running server's token
//! grants get between, an idempotent re-run, and an interruption that says what it committed.

use crate::helpers::{SITE, TestApp, ok_json, spawn_app};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Output, Stdio};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_shopkeeper");

/// `n` products, each with `variations` variations; every third one has volume pricing.
fn catalog(n: usize, variations: usize) -> Value {
    let products: Vec<Value> = (0..n)
        .map(|i| {
            let variations: Vec<Value> = (0..variations)
                .map(|k| {
                    json!({"sku": format!("P{i}-V{k}"), "name": format!("Product {i} variant {k}"),
                           "productType": "PHYSICAL", "currency": "USD", "listPrice": "25.00",
                           "availableQuantity": k, "attributes": {"size": format!("S{k}")}})
                })
                .collect();
            json!({
                "sku": format!("P{i}"),
                "name": format!("Product {i}"),
                "productType": if i % 2 == 0 { "DIGITAL" } else { "PHYSICAL" },
                "currency": "USD",
                "listPrice": format!("{}.99", 10 + i),
                "salePrice": format!("{}.49", 10 + i),
                "categories": if i % 2 == 0 { vec!["all", "games"] } else { vec!["all"] },
                "volumePricing": if i % 3 == 0 {
                    json!([{"minQuantity": 5, "unitPrice": "9.00"}])
                } else {
                    json!([])
                },
                "variations": variations,
            })
        })
        .collect();
    json!({
        "categories": [
            {"name": "all", "displayName": "Everything"},
            {"name": "games", "displayName": "Games", "parent": "all"},
        ],
        "products": products,
    })
}

/// Writes `file` into `dir` and runs `catalog import` on the app's database.
async fn import(
    app: &TestApp,
    dir: &Path,
    file: &Value,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    import_process(app, dir, file, args, env)
        .wait_with_output()
        .await
        .unwrap()
}

fn import_process(
    app: &TestApp,
    dir: &Path,
    file: &Value,
    args: &[&str],
    env: &[(&str, &str)],
) -> tokio::process::Child {
    let path = dir.join("catalog.json");
    std::fs::write(&path, file.to_string()).unwrap();
    Command::new(BIN)
        .args(["--database", &app.database_url, "catalog", "import"])
        .arg(&path)
        .args(["--site", SITE])
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn shopkeeper catalog import")
}

/// The import's summary (stdout) of a successful run.
fn summary(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The JSON error of a failed run: its stderr's last line.
fn error(out: &Output) -> Value {
    assert!(!out.status.success(), "the import succeeded");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().last().unwrap_or_default();
    serde_json::from_str::<Value>(line).unwrap_or_else(|_| panic!("not JSON: {stderr}"))["error"]
        .clone()
}

/// Every product of the site as the API shows it (all fields expanded), and the categories.
async fn catalog_view(app: &TestApp) -> (Value, Value) {
    let get = |path: &str, query: Vec<(&str, String)>| {
        app.http
            .get(app.url(path))
            .query(&[("apiKey", app.public_key.as_str())])
            .query(&query)
            .send()
    };
    let mut products = Vec::new();
    for page in 1.. {
        let query = vec![
            ("expand", "all".to_owned()),
            ("pageSize", "100".to_owned()),
            ("pageNumber", page.to_string()),
        ];
        let body = ok_json(get("/v1/shoppers/me/products", query).await.unwrap()).await;
        let list = body["products"]["product"].as_array().unwrap().clone();
        let last = body["products"]["nextPage"].is_null();
        products.extend(list);
        if last {
            break;
        }
    }
    let categories = ok_json(get("/v1/shoppers/me/categories", vec![]).await.unwrap()).await;
    (Value::Array(products), categories)
}

#[tokio::test]
async fn an_invalid_file_writes_nothing_and_reports_every_problem() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let mut file = catalog(8, 2);
    let products = file["products"].as_array_mut().unwrap();
    products[1]["sku"] = json!("P0");
    products[2]["listPrice"] = json!(19.99);
    products[3]["variations"][0]["sku"] = json!("P0-V1");
    products[4]["categories"] = json!(["all", "no-such-category"]);
    products[5]["colour"] = json!("red");
    products[6]["variations"][1]["salePrice"] = json!("abc");
    file["categories"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "games"}));

    let out = import(&app, dir.path(), &file, &[], &[]).await;
    let error = error(&out);
    assert_eq!(error["code"], "invalid-catalog", "{error}");
    let found: Vec<(String, String)> = error["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["at"].as_str().unwrap().to_owned(),
                p["field"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expected = [
        ("categories[2]", "name"),
        ("products[1]", "sku"),
        ("products[2]", "listPrice"),
        ("products[3].variations[0]", "sku"),
        ("products[4]", "categories[1]"),
        ("products[5]", "colour"),
        ("products[6].variations[1]", "salePrice"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, f)| (a.to_string(), f.to_string()))
        .collect();
    assert_eq!(found, expected, "{error}");
    let repeated = &error["problems"][1];
    assert_eq!(repeated["sku"], "P0");
    assert!(
        repeated["message"]
            .as_str()
            .unwrap()
            .contains("products[0]"),
        "names the first occurrence: {repeated}"
    );
    assert!(
        error["problems"][3]["message"]
            .as_str()
            .unwrap()
            .contains("products[0].variations[1]"),
        "{error}"
    );

    let (products, categories) = catalog_view(&app).await;
    assert_eq!(products, json!([]), "nothing imported");
    assert_eq!(
        categories["categories"]["category"],
        json!([]),
        "{categories}"
    );
}

#[tokio::test]
async fn a_rerun_of_an_import_changes_nothing_and_the_summary_counts_it() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let file = catalog(7, 2);

    let first = summary(&import(&app, dir.path(), &file, &["--batch-size", "3"], &[]).await);
    assert_eq!(first["site"], SITE);
    assert_eq!(first["products"], json!({"created": 7, "updated": 0}));
    assert_eq!(first["variations"], json!({"created": 14, "updated": 0}));
    assert_eq!(first["categories"], json!({"created": 2, "updated": 0}));
    assert_eq!(first["batches"], 3);
    assert_eq!(first["batchSize"], 3);
    assert!(first["seconds"].as_f64().unwrap() > 0.0, "{first}");
    assert!(first.get("productIds").is_none(), "no id list: {first}");
    let before = catalog_view(&app).await;
    assert_eq!(before.0.as_array().unwrap().len(), 7);

    let again = summary(&import(&app, dir.path(), &file, &[], &[]).await);
    assert_eq!(again["products"], json!({"created": 0, "updated": 7}));
    assert_eq!(again["variations"], json!({"created": 0, "updated": 14}));
    assert_eq!(again["categories"], json!({"created": 0, "updated": 2}));
    assert_eq!(again["batches"], 1);
    assert_eq!(
        catalog_view(&app).await,
        before,
        "the same catalog, the same ids"
    );
}

/// A category's products page as `(totalResults, [sku…])`.
async fn category_page(app: &TestApp, category: i64, page: u32) -> (i64, Vec<String>) {
    let body = ok_json(
        app.http
            .get(app.url(&format!("/v1/shoppers/me/categories/{category}/products")))
            .query(&[("apiKey", app.public_key.as_str())])
            .query(&[
                ("pageSize", "2"),
                ("pageNumber", &page.to_string()),
                ("expand", "product"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let list = &body["products"];
    let skus = list["product"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sku"].as_str().unwrap().to_owned())
        .collect();
    (list["totalResults"].as_i64().unwrap(), skus)
}

#[tokio::test]
async fn a_categorys_total_and_pages_follow_imports_that_move_products_between_categories() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let mut file = catalog(5, 0);
    summary(&import(&app, dir.path(), &file, &[], &[]).await);
    let (_, categories) = catalog_view(&app).await;
    let id = |name: &str| {
        let mut stack = vec![&categories["categories"]["category"]];
        while let Some(list) = stack.pop() {
            for c in list.as_array().into_iter().flatten() {
                if c["name"] == name {
                    return c["id"].as_i64().unwrap();
                }
                stack.push(&c["categories"]["category"]);
            }
        }
        panic!("no category {name}: {categories}")
    };
    let (all, games) = (id("all"), id("games"));
    // Pages in product order; "games" holds the even products.
    assert_eq!(
        category_page(&app, all, 1).await,
        (5, vec!["P0".into(), "P1".into()])
    );
    assert_eq!(category_page(&app, all, 3).await, (5, vec!["P4".into()]));
    assert_eq!(
        category_page(&app, games, 1).await,
        (3, vec!["P0".into(), "P2".into()])
    );

    // P1 joins games, P2 leaves both categories: the totals follow, the ids stay.
    file["products"][1]["categories"] = json!(["all", "games"]);
    file["products"][2]["categories"] = json!([]);
    summary(&import(&app, dir.path(), &file, &[], &[]).await);
    assert_eq!(
        category_page(&app, all, 1).await,
        (4, vec!["P0".into(), "P1".into()])
    );
    assert_eq!(
        category_page(&app, all, 2).await,
        (4, vec!["P3".into(), "P4".into()])
    );
    assert_eq!(
        category_page(&app, games, 1).await,
        (3, vec!["P0".into(), "P1".into()])
    );
    assert_eq!(category_page(&app, games, 2).await, (3, vec!["P4".into()]));
}

#[tokio::test]
async fn a_server_on_the_same_database_answers_token_requests_during_an_import() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = import_process(
        &app,
        dir.path(),
        &catalog(150, 3),
        &["--batch-size", "1"],
        &[],
    );
    let (mut answered, mut failures) = (0, Vec::new());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        let response = app.public_token(&[("grant_type", "password")]).await;
        if response.status() == 200 {
            answered += 1;
        } else {
            failures.push(response.status());
        }
    };
    let out = child.wait_with_output().await.unwrap();
    assert!(status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let done: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(done["batches"], 150, "{done}");
    assert!(
        failures.is_empty(),
        "token requests failed during the import: {failures:?}"
    );
    assert!(
        answered > 0,
        "no token request was answered during the import"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("import: batch 150/150, 150/150 products (100.0 %), 450 variations"),
        "progress ends with the last batch: {stderr}"
    );
}

#[tokio::test]
async fn an_interrupted_import_says_what_it_committed_and_a_rerun_finishes_it() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let file = catalog(10, 1);

    // Batch 3 breaks a foreign key before its commit (a debug build's failpoint).
    let failpoint = [("SHOPKEEPER_IMPORT_FAIL_AT_BATCH", "3")];
    let out = import(&app, dir.path(), &file, &["--batch-size", "2"], &failpoint).await;
    let error = error(&out);
    assert_eq!(error["code"], "import-interrupted", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "committed 4 of 10 products (batches 1-2 of 5) and 2 categories; batch 3 failed"
        ),
        "{message}"
    );
    assert!(message.contains("Re-run the same file"), "{message}");
    assert_eq!(
        error["committed"]["products"],
        json!({"created": 4, "updated": 0})
    );
    assert_eq!(error["committed"]["batches"], 2);
    let (products, _) = catalog_view(&app).await;
    let skus: Vec<&str> = products
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sku"].as_str().unwrap())
        .collect();
    assert_eq!(
        skus,
        ["P0", "P1", "P2", "P3"],
        "batches 1-2 kept, nothing of batch 3"
    );

    let rerun = summary(&import(&app, dir.path(), &file, &["--batch-size", "2"], &[]).await);
    assert_eq!(rerun["products"], json!({"created": 6, "updated": 4}));
    assert_eq!(rerun["variations"], json!({"created": 6, "updated": 4}));
    let (products, _) = catalog_view(&app).await;
    assert_eq!(products.as_array().unwrap().len(), 10);
}

/// The site's offers (as `shopkeeper offer list` prints them) and POPs (`pop list`).
async fn offers_and_pops(app: &TestApp) -> (Vec<Value>, Value) {
    let offers = shopkeeper::offers::list(&app.state.store, SITE)
        .await
        .unwrap();
    let pops = shopkeeper::offers::list_pops(&app.state.store, SITE)
        .await
        .unwrap();
    (offers.as_array().unwrap().clone(), pops)
}

fn by_reference<'a>(offers: &'a [Value], erid: &str) -> &'a Value {
    offers
        .iter()
        .find(|o| o["externalReferenceId"] == erid)
        .unwrap_or_else(|| panic!("no offer {erid} in {offers:?}"))
}

/// `catalog(3, 1)` with three offers naming its products by sku and categories by name, and a
/// POP naming two of them.
fn catalog_with_offers() -> Value {
    let mut file = catalog(3, 1);
    file["offers"] = json!([
        {"externalReferenceId": "half", "name": "Half off", "type": "Discount",
         "percentOff": "50", "products": ["P0", "P1-V0"], "categories": ["games"],
         "totalLimit": 5},
        {"externalReferenceId": "welcome", "name": "Welcome", "type": "Discount",
         "level": "order", "trigger": "coupon", "percentOff": "10",
         "couponCodes": ["Welcome10"]},
        {"externalReferenceId": "featured", "name": "Featured", "type": "FeatureProducts",
         "products": ["P2"]}
    ]);
    file["pointOfPromotions"] = json!([
        {"name": "Home_topSeller", "offers": ["featured", "half"]}
    ]);
    file
}

#[tokio::test]
async fn offers_and_pops_are_imported_by_reference_and_a_rerun_updates_them_in_place() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let mut file = catalog_with_offers();

    let first = summary(&import(&app, dir.path(), &file, &[], &[]).await);
    assert_eq!(
        first["offers"],
        json!({"created": 3, "updated": 0}),
        "{first}"
    );
    assert_eq!(
        first["pointOfPromotions"],
        json!({"created": 1, "updated": 0})
    );
    let (offers, pops) = offers_and_pops(&app).await;
    assert_eq!(offers.len(), 3);
    let half = by_reference(&offers, "half");
    assert_eq!(half["percentOff"], "50.00");
    assert_eq!(half["totalLimit"], 5);
    assert_eq!(half["productIds"].as_array().unwrap().len(), 2, "{half}");
    assert_eq!(half["categoryIds"].as_array().unwrap().len(), 1, "{half}");
    let (products, _) = catalog_view(&app).await;
    let p0 = products
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["sku"] == "P0")
        .unwrap()["id"]
        .clone();
    assert!(
        half["productIds"].as_array().unwrap().contains(&p0),
        "{half}"
    );
    let welcome = by_reference(&offers, "welcome");
    assert_eq!(welcome["trigger"], "coupon");
    assert_eq!(welcome["couponCodes"], json!(["WELCOME10"]));
    let featured = by_reference(&offers, "featured");
    assert_eq!(featured["type"], "FeatureProducts");
    assert_eq!(featured["trigger"], "always");
    assert_eq!(
        pops,
        json!([{"name": "Home_topSeller", "offerIds": [featured["id"], half["id"]]}])
    );

    // Again, changed: the same offers and POP are updated (ids kept, codes added to).
    file["offers"][0]["percentOff"] = json!("40");
    file["offers"][1]["couponCodes"] = json!(["SPRING"]);
    file["pointOfPromotions"][0]["offers"] = json!(["half", "welcome", "featured"]);
    let again = summary(&import(&app, dir.path(), &file, &[], &[]).await);
    assert_eq!(
        again["offers"],
        json!({"created": 0, "updated": 3}),
        "{again}"
    );
    assert_eq!(
        again["pointOfPromotions"],
        json!({"created": 0, "updated": 1})
    );
    let (after, pops) = offers_and_pops(&app).await;
    assert_eq!(after.len(), 3);
    let half_after = by_reference(&after, "half");
    assert_eq!(half_after["id"], half["id"]);
    assert_eq!(half_after["percentOff"], "40.00");
    assert_eq!(half_after["productIds"], half["productIds"]);
    assert_eq!(
        by_reference(&after, "welcome")["couponCodes"],
        json!(["SPRING", "WELCOME10"])
    );
    assert_eq!(
        pops,
        json!([{"name": "Home_topSeller",
                "offerIds": [half["id"], welcome["id"], featured["id"]]}])
    );
}

#[tokio::test]
async fn an_offer_problem_writes_nothing_and_is_listed_with_the_products_problems() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let stored = shopkeeper::offers::create(
        &app.state.store,
        SITE,
        &json!({"name": "Stored", "type": "Discount", "trigger": "coupon", "level": "order",
                "percentOff": "5", "couponCodes": ["TAKEN"], "externalReferenceId": "stored"})
        .to_string(),
        app.now(),
    )
    .await
    .unwrap();
    let mut file = catalog_with_offers();
    file["products"][1]["listPrice"] = json!("1.999");
    let offers = file["offers"].as_array_mut().unwrap();
    offers[0]["products"] = json!(["P0", "NO-SUCH-SKU"]);
    offers[1]["couponCodes"] = json!(["taken"]);
    offers[2]
        .as_object_mut()
        .unwrap()
        .remove("externalReferenceId");
    offers.push(
        json!({"externalReferenceId": "half", "name": "Twice", "type": "Discount",
                       "percentOff": "1"}),
    );
    file["pointOfPromotions"] = json!([
        {"name": "Home_topSeller", "offers": ["half", "stored", "ghost"]}
    ]);

    let out = import(&app, dir.path(), &file, &[], &[]).await;
    let error = error(&out);
    assert_eq!(error["code"], "invalid-catalog", "{error}");
    let found: Vec<(&str, &str)> = error["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["at"].as_str().unwrap(), p["field"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        found,
        [
            ("products[1]", "listPrice"),
            ("offers[0]", "products[1]"),
            ("offers[1]", "couponCodes[0]"),
            ("offers[2]", "externalReferenceId"),
            ("offers[3]", "externalReferenceId"),
            ("pointOfPromotions[0]", "offers[2]"),
        ],
        "{error}"
    );
    assert_eq!(error["problems"][1]["externalReferenceId"], "half");
    assert!(
        error["problems"][2]["message"]
            .as_str()
            .unwrap()
            .contains("another offer"),
        "{error}"
    );

    // Nothing written: no product, no offer but the stored one, no POP.
    let (products, _) = catalog_view(&app).await;
    assert_eq!(products, json!([]));
    let (offers, pops) = offers_and_pops(&app).await;
    assert_eq!(offers, std::slice::from_ref(&stored));
    assert_eq!(pops, json!([]));

    // Offers may name the site's products and POPs the site's offers.
    summary(&import(&app, dir.path(), &catalog(2, 0), &[], &[]).await);
    let file = json!({
        "offers": [{"externalReferenceId": "p1", "name": "P1 deal", "type": "Discount",
                    "percentOff": "5", "products": ["P1"]}],
        "pointOfPromotions": [{"name": "Banner_ShoppingCartLocal", "offers": ["stored", "p1"]}],
    });
    let done = summary(&import(&app, dir.path(), &file, &[], &[]).await);
    assert_eq!(
        done["offers"],
        json!({"created": 1, "updated": 0}),
        "{done}"
    );
    let (offers, pops) = offers_and_pops(&app).await;
    let p1 = by_reference(&offers, "p1");
    assert_eq!(p1["productIds"].as_array().unwrap().len(), 1);
    assert_eq!(
        pops,
        json!([{"name": "Banner_ShoppingCartLocal", "offerIds": [stored["id"], p1["id"]]}])
    );
}
