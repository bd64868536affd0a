//! Wish lists over real HTTP, as a storefront uses them: a signed-in shopper creates lists,
//! fills them, changes quantities, removes products, picks a default and deletes lists; the
//! default list is made on demand; a product goes to the cart through its link; another
//! shopper's list is a 404, a guest's token is refused, bad input is a documented 4xx.

use crate::checkout::shopper_error;
use crate::helpers::*;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};
use shopkeeper::domain::wish_lists::MAX_WISH_LISTS;
use shopkeeper::provision;

const LISTS: &str = "/v1/shoppers/me/wish-lists";

/// The demo catalog in the test site: (the antivirus download: list $49.99, sale $39.99, $34.99
/// from 5; the keyboard, a base product with variations).
async fn catalog(app: &TestApp) -> (i64, i64) {
    let mut file = provision::demo_catalog().unwrap();
    file.offers.clear();
    file.point_of_promotions.clear();
    let summary = provision::import_catalog(&app.state.store, SITE, file, app.now())
        .await
        .unwrap();
    (summary.product_ids[0], summary.product_ids[1])
}

async fn post(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url(LISTS))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn delete(app: &TestApp, token: &str, query: &str) -> reqwest::Response {
    app.http
        .delete(app.url(&format!("{LISTS}{query}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Creates a list (asserting 201 and its `Location`): the answer's `wishList`.
async fn create(app: &TestApp, token: &str, list: Value) -> Value {
    let response = post(app, token, json!({ "wishList": list })).await;
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    let list = body["wishList"].clone();
    assert_eq!(location.as_deref(), list["uri"].as_str(), "{body}");
    list
}

/// Updates a list (asserting 200): the answer's `wishList`.
async fn update(app: &TestApp, token: &str, list: Value) -> Value {
    ok_json(post(app, token, json!({ "wishList": list })).await).await["wishList"].clone()
}

fn product(list: &Value, id: i64) -> Option<&Value> {
    list["products"]["product"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
}

#[tokio::test]
async fn a_shopper_creates_fills_changes_and_deletes_wish_lists() {
    let app = spawn_app().await;
    let (antivirus, keyboard) = catalog(&app).await;
    let full = app.shopper_pair().await.access;

    // A new list with a product: the product as a cart line shows it, at the cart's prices.
    let birthday = create(
        &app,
        &full,
        json!({"name": "  Birthday ", "products": {"product": [{"id": antivirus, "quantity": 2}]}}),
    )
    .await;
    let birthday_id = birthday["id"].as_i64().unwrap();
    assert_eq!(birthday["uri"], app.url(&format!("{LISTS}/{birthday_id}")));
    assert_eq!(birthday["name"], "Birthday");
    assert_eq!(birthday["isDefault"], true, "the only list is the default");
    assert!(birthday["createdDate"].as_str().unwrap().ends_with('Z'));
    assert_eq!(birthday["products"]["totalResults"], 1);
    let p = product(&birthday, antivirus).unwrap();
    assert_eq!(
        p["uri"],
        app.url(&format!("/v1/shoppers/me/products/{antivirus}"))
    );
    assert_eq!(p["displayName"], "Antivirus Pro (1-year license)");
    assert_eq!(p["quantity"], 2);
    assert!(p["addedDate"].is_string());
    assert_eq!(
        p["pricing"]["listPrice"],
        json!({"currency": "USD", "value": 49.99})
    );
    assert_eq!(p["pricing"]["salePrice"]["value"], json!(39.99));
    assert_eq!(p["pricing"]["formattedSalePriceWithQuantity"], "$79.98");
    assert_eq!(p["pricing"]["formattedListPriceWithQuantity"], "$99.98");
    assert_eq!(
        p["addProductToCart"]["uri"],
        app.url(&format!(
            "/v1/shoppers/me/carts/active/line-items?productId={antivirus}&quantity=2"
        ))
    );

    // A second list made the default: the first no longer is.
    let later = create(&app, &full, json!({"name": "Later", "isDefault": "true"})).await;
    let later_id = later["id"].as_i64().unwrap();
    assert_eq!(later["isDefault"], true);
    assert_eq!(later["products"], json!({"product": [], "totalResults": 0}));
    let all = app.get_ok(&full, LISTS).await;
    assert_eq!(all["wishLists"]["uri"], app.url(LISTS));
    assert_eq!(all["wishLists"]["totalResults"], 2);
    let lists = all["wishLists"]["wishList"].as_array().unwrap();
    assert_eq!(lists[0]["id"], birthday_id, "oldest first");
    assert_eq!(lists[0]["isDefault"], false);
    assert_eq!(lists[1]["isDefault"], true);
    assert_eq!(lists[0]["products"]["totalResults"], 1);
    let default = app.get_ok(&full, &format!("{LISTS}/default")).await;
    assert_eq!(default["wishList"]["id"], later_id);

    // Adding products (one object for a collection of one, string numbers, `productId`),
    // renaming; a base product with variations is kept but cannot go to the cart as is.
    let later = update(
        &app,
        &full,
        json!({"id": later_id.to_string(), "name": "Someday",
               "products": {"product": {"productId": keyboard}}}),
    )
    .await;
    assert_eq!(later["name"], "Someday");
    assert_eq!(product(&later, keyboard).unwrap()["quantity"], 1);
    assert!(
        product(&later, keyboard)
            .unwrap()
            .get("addProductToCart")
            .is_none()
    );
    let later = update(
        &app,
        &full,
        json!({"id": later_id, "products": {"product": [{"id": antivirus, "quantity": "5"}]}}),
    )
    .await;
    assert_eq!(later["products"]["totalResults"], 2);
    let p = product(&later, antivirus).unwrap();
    assert_eq!(p["quantity"], 5);
    // Five reach the volume tier, as in the cart.
    assert_eq!(p["pricing"]["formattedSalePrice"], "$34.99");
    assert_eq!(p["pricing"]["formattedSalePriceWithQuantity"], "$174.95");
    assert!(later["lastModifiedDate"].as_str().unwrap() >= later["createdDate"].as_str().unwrap());

    // Quantity 0 removes a product; naming one without a quantity leaves it as it is.
    let later = update(
        &app,
        &full,
        json!({"id": later_id, "products": {"product": [
            {"id": keyboard, "quantity": 0}, {"id": antivirus}]}}),
    )
    .await;
    assert!(product(&later, keyboard).is_none(), "{later}");
    assert_eq!(product(&later, antivirus).unwrap()["quantity"], 5);
    // The list by id, with the `.json` suffix too; the other list is unchanged.
    let one = app.get_ok(&full, &format!("{LISTS}/{later_id}.json")).await;
    assert_eq!(one["wishList"], later);
    let first = app.get_ok(&full, &format!("{LISTS}/{birthday_id}")).await;
    assert_eq!(
        product(&first["wishList"], antivirus).unwrap()["quantity"],
        2
    );

    // Deleting the default list: the oldest one left is the default.
    no_content(delete(&app, &full, &format!("?id={later_id}")).await).await;
    shopper_error(
        app.get_as(&full, &format!("{LISTS}/{later_id}")).await,
        404,
        "resource-not-found",
    )
    .await;
    shopper_error(
        delete(&app, &full, &format!("?id={later_id}")).await,
        404,
        "resource-not-found",
    )
    .await;
    let default = app.get_ok(&full, &format!("{LISTS}/default")).await;
    assert_eq!(default["wishList"]["id"], birthday_id);
    assert_eq!(default["wishList"]["isDefault"], true);
    assert_eq!(
        app.get_ok(&full, LISTS).await["wishLists"]["totalResults"],
        1
    );
    // A DELETE must name its list.
    shopper_error(delete(&app, &full, "").await, 400, "invalid-request").await;
    shopper_error(delete(&app, &full, "?id=abc").await, 400, "invalid-request").await;
}

#[tokio::test]
async fn the_default_list_is_made_on_demand_once() {
    let app = spawn_app().await;
    let full = app.shopper_pair().await.access;
    // The signed-in shopper's object and account link to their lists.
    let me = app.me(&full).await;
    assert_eq!(me["shopper"]["wishLists"]["uri"], app.url(LISTS), "{me}");
    let account = app.get_ok(&full, "/v1/shoppers/me/account").await;
    assert_eq!(
        account["account"]["wishLists"]["uri"],
        app.url(LISTS),
        "{account}"
    );
    let none = app.get_ok(&full, LISTS).await;
    assert_eq!(none["wishLists"]["totalResults"], 0);
    assert_eq!(none["wishLists"]["wishList"], json!([]));

    let made = app.get_ok(&full, &format!("{LISTS}/default.json")).await;
    assert_eq!(made["wishList"]["name"], "Wish list");
    assert_eq!(made["wishList"]["isDefault"], true);
    let again = app.get_ok(&full, &format!("{LISTS}/default")).await;
    assert_eq!(again["wishList"]["id"], made["wishList"]["id"]);
    assert_eq!(
        app.get_ok(&full, LISTS).await["wishLists"]["totalResults"],
        1
    );
}

#[tokio::test]
async fn a_wish_list_is_its_shoppers_own_and_needs_a_full_token() {
    let app = spawn_app().await;
    let (antivirus, _) = catalog(&app).await;
    let full = app.shopper_pair().await.access;
    let other = app.external_shopper_pair().await.access;
    let theirs = create(&app, &other, json!({"name": "Theirs"})).await;
    let theirs_id = theirs["id"].as_i64().unwrap();

    // Another shopper's list: 404 to read, change or delete, and it stays as it was.
    shopper_error(
        app.get_as(&full, &format!("{LISTS}/{theirs_id}")).await,
        404,
        "resource-not-found",
    )
    .await;
    shopper_error(
        post(
            &app,
            &full,
            json!({"wishList": {"id": theirs_id, "name": "Mine now",
                   "products": {"product": [{"id": antivirus}]}}}),
        )
        .await,
        404,
        "resource-not-found",
    )
    .await;
    shopper_error(
        delete(&app, &full, &format!("?id={theirs_id}")).await,
        404,
        "resource-not-found",
    )
    .await;
    assert_eq!(
        app.get_ok(&full, LISTS).await["wishLists"]["totalResults"],
        0
    );
    let still = app.get_ok(&other, &format!("{LISTS}/{theirs_id}")).await;
    assert_eq!(still["wishList"], theirs);

    // A guest's (limited) token: 403 `forbidden` with the scope challenge; none at all: 401.
    let guest = app.anonymous_pair().await.access;
    let paths = [
        ("GET", LISTS.to_owned()),
        ("POST", LISTS.to_owned()),
        ("DELETE", format!("{LISTS}?id={theirs_id}")),
        ("GET", format!("{LISTS}/{theirs_id}")),
        ("GET", format!("{LISTS}/default")),
    ];
    for (method, path) in &paths {
        let request = || {
            app.http
                .request(method.parse().unwrap(), app.url(path))
                .header(CONTENT_TYPE, "application/json")
                .body(json!({"wishList": {"name": "Guest"}}).to_string())
        };
        let refused = request().bearer_auth(&guest).send().await.unwrap();
        let challenge = refused.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.contains("insufficient_scope"),
            "{method} {path}: {challenge}"
        );
        shopper_error(refused, 403, "forbidden").await;
        shopper_error(request().send().await.unwrap(), 401, "invalid_token").await;
    }
    assert_eq!(
        app.get_ok(&other, LISTS).await["wishLists"]["totalResults"],
        1
    );
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let (antivirus, _) = catalog(&app).await;
    let full = app.shopper_pair().await.access;
    let list = create(&app, &full, json!({"name": "Gifts"})).await;
    let id = list["id"].as_i64().unwrap();

    // A product the site does not have: the cart's own answer, 404.
    for body in [
        json!({"wishList": {"name": "New", "products": {"product": [{"id": 999_999}]}}}),
        json!({"wishList": {"id": id, "products": {"product": [{"id": antivirus}, {"id": 999_999}]}}}),
    ] {
        let refused = shopper_error(post(&app, &full, body).await, 404, "resource-not-found").await;
        let description = refused["errors"]["error"][0]["description"]
            .as_str()
            .unwrap();
        assert!(description.contains("999999"), "{refused}");
    }
    // Wrong quantities, names, ids and shapes: 400 `invalid-request`.
    for body in [
        json!({}),
        json!({"wishList": {}}),
        json!({"wishList": {"isDefault": true}}),
        json!({"wishList": {"name": "   "}}),
        json!({"wishList": {"name": "x".repeat(101)}}),
        json!({"wishList": {"name": "two\nlines"}}),
        json!({"wishList": {"name": "Q", "products": {"product": [{"id": antivirus, "quantity": -1}]}}}),
        json!({"wishList": {"id": id, "products": {"product": [{"id": antivirus, "quantity": 10_001}]}}}),
        json!({"wishList": {"id": id, "products": {"product": [{"quantity": 1}]}}}),
        json!({"wishList": {"id": id, "products": {"product": [{"id": "abc"}]}}}),
        json!({"wishList": {"id": "abc"}}),
        json!({"wishList": {"id": id, "products": "lots"}}),
        json!({"wishList": {"name": ["a"]}}),
        json!({"wishList": "gifts"}),
    ] {
        shopper_error(post(&app, &full, body).await, 400, "invalid-request").await;
    }
    // An unknown list id: 404.
    shopper_error(
        post(
            &app,
            &full,
            json!({"wishList": {"id": id + 1000, "name": "X"}}),
        )
        .await,
        404,
        "resource-not-found",
    )
    .await;
    shopper_error(
        app.get_as(&full, &format!("{LISTS}/not-an-id")).await,
        404,
        "resource-not-found",
    )
    .await;
    // Not JSON nor XML: 415.
    let refused = app
        .http
        .post(app.url(LISTS))
        .bearer_auth(&full)
        .header(CONTENT_TYPE, "text/plain")
        .body("name=Gifts")
        .send()
        .await
        .unwrap();
    shopper_error(refused, 415, "unsupported-media-type").await;
    // Nothing was written.
    let all = app.get_ok(&full, LISTS).await;
    assert_eq!(all["wishLists"]["totalResults"], 1, "{all}");
    assert_eq!(all["wishLists"]["wishList"][0], list);

    // At most MAX_WISH_LISTS lists a shopper.
    for n in 1..MAX_WISH_LISTS {
        create(&app, &full, json!({"name": format!("List {n}")})).await;
    }
    let refused = shopper_error(
        post(&app, &full, json!({"wishList": {"name": "One too many"}})).await,
        400,
        "invalid-request",
    )
    .await;
    assert!(
        refused.to_string().contains(&MAX_WISH_LISTS.to_string()),
        "{refused}"
    );
    // Deleting one makes room again.
    no_content(delete(&app, &full, &format!("?id={id}")).await).await;
    create(&app, &full, json!({"name": "Room again"})).await;
}

#[tokio::test]
async fn a_wished_product_goes_to_the_cart_by_its_link_and_lists_speak_xml() {
    let app = spawn_app().await;
    let (antivirus, _) = catalog(&app).await;
    let full = app.shopper_pair().await.access;
    let list = create(
        &app,
        &full,
        json!({"name": "Soon", "products": {"product": [{"id": antivirus, "quantity": 3}]}}),
    )
    .await;
    let p = product(&list, antivirus).unwrap();
    for link in ["uri", "cartUri"] {
        let uri = p["addProductToCart"][link].as_str().unwrap();
        let added = app.http.post(uri).bearer_auth(&full).send().await.unwrap();
        ok_json(added).await;
    }
    let cart = app.get_ok(&full, "/v1/shoppers/me/carts/active").await;
    let lines = cart["cart"]["lineItems"]["lineItem"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{cart}");
    assert_eq!(lines[0]["product"]["id"], antivirus);
    assert_eq!(
        lines[0]["quantity"], 6,
        "both links added the wished quantity"
    );

    // XML: the answer rendered, and an XML body read as the JSON it renders.
    let id = list["id"].as_i64().unwrap();
    let xml = app
        .http
        .get(app.url(&format!("{LISTS}/{id}")))
        .bearer_auth(&full)
        .header(ACCEPT, "application/xml")
        .send()
        .await
        .unwrap();
    assert_eq!(xml.status(), 200);
    assert!(
        xml.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    let text = xml.text().await.unwrap();
    assert!(text.contains("<wishList>"), "{text}");
    assert!(text.contains("<name>Soon</name>"), "{text}");
    let created = app
        .http
        .post(app.url(LISTS))
        .bearer_auth(&full)
        .header(CONTENT_TYPE, "application/xml")
        .body(format!(
            "<wishList><name>From XML</name><products><product><id>{antivirus}</id>\
             <quantity>4</quantity></product></products></wishList>"
        ))
        .send()
        .await
        .unwrap();
    let status = created.status();
    let body: Value = created.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["wishList"]["name"], "From XML");
    assert_eq!(
        product(&body["wishList"], antivirus).unwrap()["quantity"],
        4
    );
}

/// Sends `requests` (method, path, body) at once as the bearer of `token`: each status.
async fn together(app: &TestApp, token: &str, requests: Vec<(&str, String, Value)>) -> Vec<u16> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(requests.len()));
    let mut tasks = Vec::new();
    for (method, path, body) in requests {
        let barrier = barrier.clone();
        let request = reqwest::Client::new()
            .request(method.parse().unwrap(), app.url(&path))
            .bearer_auth(token)
            .json(&body);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            request.send().await.unwrap().status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses
}

#[tokio::test]
async fn concurrent_requests_make_one_default_list_and_keep_the_limit() {
    let app = spawn_app().await;
    let full = app.shopper_pair().await.access;
    // First calls of `default` at once: one list.
    let gets = (0..8)
        .map(|_| ("GET", format!("{LISTS}/default"), Value::Null))
        .collect();
    assert!(together(&app, &full, gets).await.iter().all(|s| *s == 200));
    let all = app.get_ok(&full, LISTS).await;
    assert_eq!(all["wishLists"]["totalResults"], 1, "{all}");

    // Creates racing for the last places: exactly the limit is reached.
    for n in 2..MAX_WISH_LISTS - 2 {
        create(&app, &full, json!({"name": format!("List {n}")})).await;
    }
    let creates = (0..8)
        .map(|n| {
            (
                "POST",
                LISTS.to_owned(),
                json!({"wishList": {"name": format!("Race {n}")}}),
            )
        })
        .collect();
    let statuses = together(&app, &full, creates).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        3,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [201, 400].contains(s)),
        "{statuses:?}"
    );
    let all = app.get_ok(&full, LISTS).await;
    assert_eq!(all["wishLists"]["totalResults"], MAX_WISH_LISTS, "{all}");
}
