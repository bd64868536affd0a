//! The API's other formats and transports: XML answers (by `Accept`, `format=`, a `.xml` path
//! or the server's default) that read back as the JSON answers the docs show, XML request
//! bodies without DTDs, JSONP on Shopper API GETs, and the mini-cart's method tunnelling.

use crate::checkout::{catalog, shopper_error};
use crate::helpers::{APPROVE_CARD, TestApp, ok_json, spawn_app, spawn_app_with};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Map, Value, json};
use shopkeeper::http::xml;

/// What the XML of `json` reads back as (`xml::to_json`): every value text, `null` empty, a
/// collection of one its element, an empty collection absent.
fn as_xml_reads(json: &Value) -> Value {
    match json {
        Value::Null => json!(""),
        Value::Bool(b) => json!(b.to_string()),
        Value::Number(n) => json!(n.to_string()),
        Value::String(s) => json!(s.trim()),
        Value::Array(items) => Value::Array(items.iter().map(as_xml_reads).collect()),
        Value::Object(fields) => {
            let mut out = Map::new();
            for (name, value) in fields {
                match value {
                    Value::Array(items) if items.is_empty() => {}
                    Value::Array(items) if items.len() == 1 => {
                        out.insert(name.clone(), as_xml_reads(&items[0]));
                    }
                    other => {
                        out.insert(name.clone(), as_xml_reads(other));
                    }
                }
            }
            if out.is_empty() {
                json!("")
            } else {
                Value::Object(out)
            }
        }
    }
}

/// The answer's status and body, which must be XML.
async fn xml_answer(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let content_type = response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    let body = response.text().await.unwrap();
    assert_eq!(content_type, "application/xml; charset=utf-8", "{body}");
    assert!(
        body.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?>"#),
        "{body}"
    );
    (status, body)
}

/// `GET path` in JSON and in XML (by `Accept`): the same status, and the XML is the JSON's.
async fn same_in_both(app: &TestApp, token: &str, path: &str) -> (Value, String) {
    let json_answer = app.get_as(token, path).await;
    let status = json_answer.status().as_u16();
    let json: Value = json_answer.json().await.unwrap();
    let xml_answer = app
        .http
        .get(app.url(path))
        .bearer_auth(token)
        .header(ACCEPT, "application/xml")
        .send()
        .await
        .unwrap();
    let (xml_status, body) = self::xml_answer(xml_answer).await;
    assert_eq!(xml_status, status, "{body}");
    assert_eq!(
        xml::to_json(body.as_bytes()).unwrap(),
        as_xml_reads(&json),
        "{path}: {body}"
    );
    (json, body)
}

#[tokio::test]
async fn the_token_endpoint_answers_xml_when_asked_and_json_otherwise() {
    let app = spawn_app().await;
    let form = [("grant_type", "password")];
    let json = ok_json(app.public_token(&form).await).await;
    assert!(json["access_token"].is_string(), "{json}");

    let answer = app
        .public_token_request(&form)
        .header(ACCEPT, "application/xml")
        .send()
        .await
        .unwrap();
    let (status, body) = xml_answer(answer).await;
    assert_eq!(status, 200);
    // Seed 002's `{"token": {...}}`: the document element is `token`, its fields the pair's.
    let read = xml::to_json(body.as_bytes()).unwrap();
    let token = read["token"]
        .as_object()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(token.len(), 4, "{body}");
    let at = |name: &str| body.find(&format!("<{name}>")).unwrap_or(usize::MAX);
    assert!(
        at("access_token") < at("token_type")
            && at("token_type") < at("expires_in")
            && at("expires_in") < at("refresh_token")
            && at("refresh_token") < usize::MAX,
        "the pair's fields in order: {body}"
    );
    assert_eq!(token["token_type"], "bearer");
    // The token works.
    let access = token["access_token"].as_str().unwrap();
    ok_json(app.get_as(access, "/v1/shoppers/me").await).await;

    // An OAuth error, flat, inside `errors`.
    let refused = app
        .public_token_request(&[("grant_type", "bogus")])
        .header(ACCEPT, "application/xml")
        .send()
        .await
        .unwrap();
    let (status, body) = xml_answer(refused).await;
    assert_eq!(status, 400);
    assert_eq!(
        xml::to_json(body.as_bytes()).unwrap()["errors"]["error"],
        "unsupported_grant_type",
        "{body}"
    );
}

#[tokio::test]
async fn products_cart_order_and_errors_in_xml_read_as_their_json() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let token = app.anonymous_pair().await.access;
    let (_, products) = same_in_both(&app, &token, "/v1/shoppers/me/products").await;
    assert!(products.contains("<products><uri>"), "{products}");
    // Each product its own `product` element, as the JSON's `product` list.
    assert!(
        products.matches("<product><uri>").count() >= 2,
        "{products}"
    );

    ok_json(app.add_to_cart(&token, product, 2).await).await;
    let (cart, body) = same_in_both(&app, &token, "/v1/shoppers/me/carts/active").await;
    // A collection of one is one element.
    assert_eq!(
        cart["cart"]["lineItems"]["lineItem"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(body.matches("<lineItem>").count(), 1, "{body}");

    let card = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&token, &card).await).await;
    crate::store_credit::put_billing_address(&app, &token).await;
    let submitted = ok_json(app.submit(&token).await).await;
    let order_id = submitted["submitCart"]["order"]["id"].as_i64().unwrap();
    same_in_both(&app, &token, &format!("/v1/shoppers/me/orders/{order_id}")).await;

    let (error, body) = same_in_both(&app, &token, "/v1/shoppers/me/orders/999999").await;
    assert_eq!(error["errors"]["error"][0]["code"], "resource-not-found");
    assert!(
        body.contains("<errors><error><relation>"),
        "the documented field order: {body}"
    );
}

#[tokio::test]
async fn format_beats_the_xml_path_which_beats_accept() {
    let app = spawn_app().await;
    let token = app.anonymous_pair().await.access;
    let get = |path: &str, accept: &str| {
        app.http
            .get(app.url(path))
            .bearer_auth(&token)
            .header(ACCEPT, accept)
            .send()
    };
    let json = get("/v1/shoppers/me?format=json", "application/xml")
        .await
        .unwrap();
    assert_eq!(json.headers()[CONTENT_TYPE], "application/json");
    let (_, body) = xml_answer(
        get("/v1/shoppers/me?format=xml", "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert!(body.contains("<shopper>"), "{body}");
    let (_, body) = xml_answer(get("/v1/shoppers/me.xml", "*/*").await.unwrap()).await;
    assert!(body.contains("<shopper>"), "{body}");
    let plain = get("/v1/shoppers/me", "*/*").await.unwrap();
    assert_eq!(plain.headers()[CONTENT_TYPE], "application/json");
    // Either format's answer says it depends on Accept (caches keep them apart).
    for answer in [&plain, &json] {
        let vary: Vec<_> = answer.headers().get_all("vary").iter().collect();
        assert!(vary.iter().any(|v| *v == "accept"), "{vary:?}");
    }
    shopper_error(
        get("/v1/shoppers/me?format=yaml", "*/*").await.unwrap(),
        400,
        "invalid-request",
    )
    .await;
}

#[tokio::test]
async fn the_documented_xml_default_is_a_setting() {
    let app = spawn_app_with(|s| {
        s.web.default_format = shopkeeper::config::WireFormat::Xml;
    })
    .await;
    let token = app.anonymous_pair().await.access;
    let (_, body) = xml_answer(app.get_as(&token, "/v1/shoppers/me").await).await;
    assert!(body.contains("<shopper>"), "{body}");
    // OAuth's documented default stays JSON.
    ok_json(app.public_token(&[("grant_type", "password")]).await).await;
}

#[tokio::test]
async fn xml_bodies_are_read_and_dtds_refused() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let token = app.anonymous_pair().await.access;
    let post = |body: String| {
        app.http
            .post(app.url("/v1/shoppers/me/carts/active"))
            .bearer_auth(&token)
            .header(CONTENT_TYPE, "application/xml")
            .body(body)
            .send()
    };
    let cart = ok_json(
        post(format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
            <cart><lineItems><lineItem><quantity>3</quantity>
            <product><id>{product}</id></product></lineItem></lineItems></cart>"#
        ))
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        cart["cart"]["lineItems"]["lineItem"][0]["quantity"], 3,
        "{cart}"
    );

    let xxe = format!(
        r#"<?xml version="1.0"?><!DOCTYPE cart [<!ENTITY x SYSTEM "file:///etc/passwd">]>
        <cart><lineItems><lineItem><quantity>&x;</quantity>
        <product><id>{product}</id></product></lineItem></lineItems></cart>"#
    );
    let refused = shopper_error(post(xxe).await.unwrap(), 400, "invalid-request").await;
    assert!(refused.to_string().contains("DTD"), "{refused}");
    // Nothing was added by the refused body.
    let cart = app.get_ok(&token, "/v1/shoppers/me/carts/active").await;
    assert_eq!(
        cart["cart"]["lineItems"]["lineItem"][0]["quantity"], 3,
        "{cart}"
    );
}

/// `GET path` with `callback=cb`: the JSONP script's JSON.
async fn jsonp(app: &TestApp, path_and_query: &str) -> (u16, Value) {
    let answer = app.http.get(app.url(path_and_query)).send().await.unwrap();
    let status = answer.status().as_u16();
    assert_eq!(
        answer.headers()[CONTENT_TYPE],
        "application/javascript; charset=utf-8"
    );
    assert_eq!(answer.headers()["referrer-policy"], "no-referrer");
    assert_eq!(answer.headers()["x-content-type-options"], "nosniff");
    let script = answer.text().await.unwrap();
    let json = script
        .strip_prefix("/**/cb(")
        .and_then(|s| s.strip_suffix(");"))
        .unwrap_or_else(|| panic!("not JSONP: {script}"));
    // `cb()`: an answer without a body (204).
    let value = if json.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(json).unwrap()
    };
    (status, value)
}

#[tokio::test]
async fn jsonp_serves_shopper_api_gets_and_tunnels_the_mini_carts_writes() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let token = app.anonymous_pair().await.access;
    let cart_path = "/v1/shoppers/me/carts/active/line-items";

    let (status, products) = jsonp(
        &app,
        &format!("/v1/shoppers/me/products?token={token}&callback=cb"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(products["products"]["product"].is_array(), "{products}");

    // The mini-cart adds a line by GET with method=post, its token in the query.
    let (status, lines) = jsonp(
        &app,
        &format!(
            "{cart_path}?token={token}&method=post&productId={product}&quantity=2&callback=cb"
        ),
    )
    .await;
    assert_eq!(status, 200, "{lines}");
    let line_id = lines["lineItems"]["lineItem"][0]["id"].as_i64().unwrap();
    let cart = app.get_ok(&token, "/v1/shoppers/me/carts/active").await;
    assert_eq!(cart["cart"]["totalItemsInCart"], 2, "{cart}");

    // ... and deletes it by GET with method=delete.
    let (status, answer) = jsonp(
        &app,
        &format!("{cart_path}/{line_id}?token={token}&method=delete&callback=cb"),
    )
    .await;
    // A 204 would run no callback: JSONP answers 200 with the callback called empty.
    assert_eq!((status, answer), (200, Value::Null));
    let cart = app.get_ok(&token, "/v1/shoppers/me/carts/active").await;
    assert_eq!(cart["cart"]["totalItemsInCart"], 0, "{cart}");

    // The tunnel keeps the real method's access level: no token, no cart.
    let (status, refused) = jsonp(
        &app,
        &format!("{cart_path}?method=post&productId={product}&quantity=1&callback=cb"),
    )
    .await;
    assert_eq!(status, 401, "{refused}");
}

#[tokio::test]
async fn submitting_or_paying_cannot_be_tunnelled() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let token = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&token, product, 1).await).await;
    let card = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&token, &card).await).await;
    crate::store_credit::put_billing_address(&app, &token).await;

    for path in [
        "/v1/shoppers/me/carts/active/submit-cart?method=post".to_owned(),
        format!("/v1/shoppers/me/carts/active/apply-payment-method?method=post&sourceId={card}"),
        "/v1/shoppers/me/carts/active/apply-shopper?method=post".to_owned(),
        "/v1/shoppers/me/payment-options/1?method=delete".to_owned(),
    ] {
        let (status, refused) = jsonp(&app, &format!("{path}&token={token}&callback=cb")).await;
        assert_eq!(status, 403, "{path}: {refused}");
        assert_eq!(refused["errors"]["error"][0]["code"], "forbidden");
    }
    // Without a callback the refusal is the plain documented error.
    shopper_error(
        app.get_as(
            &token,
            "/v1/shoppers/me/carts/active/submit-cart?method=post",
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // Nothing was ordered: the cart is as it was, and submits for real.
    let cart = app.get_ok(&token, "/v1/shoppers/me/carts/active").await;
    assert_eq!(cart["cart"]["totalItemsInCart"], 1, "{cart}");
    let orders = app.get_ok(&token, "/v1/shoppers/me/orders").await;
    assert_eq!(orders["orders"]["totalResults"], 0, "{orders}");
    ok_json(app.submit(&token).await).await;
}
