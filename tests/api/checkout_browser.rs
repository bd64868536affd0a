//! The hosted web checkout in headless Chromium, from `web-checkout` to the order's
//! confirmation: a guest, and a guest who signs in midway (the cart kept). Each page is
//! photographed (`target/screenshots/checkout-*.png`) and checked with axe-core (no serious or
//! critical violation); the order read back through the API matches what the pages showed.
//! Needs `SHOPKEEPER_TEST_CHROMEDRIVER` and `SHOPKEEPER_TEST_AXE` (`.ci/run` sets both).

use crate::checkout::catalog;
use crate::helpers::*;
use fantoccini::{Client, Locator};
use serde_json::json;
use std::time::Duration;

/// The transfer's location for `token` (followed by the browser, never by the test).
async fn transfer(app: &TestApp, token: &str) -> String {
    let answer = browser()
        .get(app.url("/v1/shoppers/me/carts/active/web-checkout"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 302);
    answer.headers()["location"].to_str().unwrap().to_owned()
}

/// Waits until the browser is on a page whose path ends with `suffix`.
async fn arrive(client: &Client, suffix: &str) {
    for _ in 0..100 {
        let url = client.current_url().await.unwrap();
        if url.path().ends_with(suffix) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = client.current_url().await.unwrap();
    panic!("expected a page ending in {suffix}, at {url}");
}

/// Photographs the page and checks it with axe-core.
async fn record(client: &Client, name: &str) {
    screenshot(client, &format!("{name}.png")).await;
    assert_accessible(client, name).await;
}

async fn fill(client: &Client, id: &str, value: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

async fn click(client: &Client, id: &str) {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn text(client: &Client, id: &str) -> String {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn fill_address(client: &Client) {
    for (id, value) in [
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        ("email", "ada@example.com"),
        ("line1", "1 Main St"),
        ("city", "Austin"),
        ("region", "TX"),
        ("postal_code", "78701"),
        ("country", "US"),
    ] {
        fill(client, id, value).await;
    }
}

/// Shipping, payment, review and the confirmation: the order id and the total shown.
async fn finish(client: &Client, prefix: &str) -> (i64, String) {
    arrive(client, "/checkout/shipping").await;
    record(client, &format!("{prefix}-shipping")).await;
    click(client, "continue").await;
    arrive(client, "/checkout/payment").await;
    fill(client, "card_name", "Ada Lovelace").await;
    fill(client, "card_number", "4111 1111 1111 1111").await;
    fill(client, "card_exp_month", "12").await;
    fill(client, "card_exp_year", "2035").await;
    fill(client, "card_cvv", "123").await;
    record(client, &format!("{prefix}-payment")).await;
    click(client, "continue").await;
    arrive(client, "/checkout/review").await;
    record(client, &format!("{prefix}-review")).await;
    let shown_total = text(client, "order-total").await;
    click(client, "place-order").await;
    for _ in 0..100 {
        if client.find(Locator::Id("order-id")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    record(client, &format!("{prefix}-confirmation")).await;
    assert_eq!(text(client, "order-total").await, shown_total);
    let id: i64 = text(client, "order-id").await.parse().unwrap();
    (id, shown_total)
}

#[tokio::test]
async fn a_guest_checks_out_on_the_hosted_pages_in_headless_chromium() {
    let app = spawn_app().await;
    let (_, physical) = catalog(&app).await;
    let token = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&token, physical, 2).await).await;
    let location = transfer(&app, &token).await;
    let Some(browser) = chromium("a_guest_checks_out_on_the_hosted_pages", &[]).await else {
        return;
    };
    let client = &browser.client;
    client.goto(&location).await.unwrap();
    arrive(client, "/checkout/cart").await;
    record(client, "checkout-guest-cart").await;
    click(client, "continue").await;
    arrive(client, "/checkout/address").await;
    fill_address(client).await;
    record(client, "checkout-guest-address").await;
    click(client, "continue").await;
    let (order_id, shown_total) = finish(client, "checkout-guest").await;
    // The link again: used, so a page that says so.
    client.goto(&location).await.unwrap();
    let refused = client.source().await.unwrap();
    assert!(refused.contains("cannot be used"), "{refused}");
    record(client, "checkout-guest-link-used").await;
    client.clone().close().await.unwrap();

    // The order the pages placed is the guest's session's, at the total they showed.
    let order = app
        .get_ok(&token, &format!("/v1/shoppers/me/orders/{order_id}"))
        .await;
    assert_eq!(
        order["order"]["pricing"]["formattedTotal"],
        shown_total.as_str(),
        "{order}"
    );
    assert_eq!(order["order"]["lineItems"]["lineItem"][0]["quantity"], 2);
}

#[tokio::test]
async fn a_shopper_signs_in_midway_and_keeps_the_cart_in_headless_chromium() {
    let app = spawn_app().await;
    let (_, physical) = catalog(&app).await;
    // The shopper has a saved address, which the address page offers once signed in.
    let shopper = app.shopper_pair().await.access;
    let saved = app
        .http
        .post(app.url("/v1/shoppers/me/addresses"))
        .bearer_auth(&shopper)
        .json(
            &json!({"address": {"nickName": "Home", "firstName": "Jane", "lastName": "Doe",
            "line1": "2 Elm St", "city": "Boston", "countrySubdivision": "MA",
            "postalCode": "02108", "country": "US", "emailAddress": SHOPPER_USERNAME,
            "isDefault": true}}),
        )
        .send()
        .await
        .unwrap();
    assert!(
        saved.status().is_success(),
        "{}",
        saved.text().await.unwrap()
    );

    let guest = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&guest, physical, 1).await).await;
    let location = transfer(&app, &guest).await;
    let Some(browser) = chromium("a_shopper_signs_in_midway", &[]).await else {
        return;
    };
    let client = &browser.client;
    client.goto(&location).await.unwrap();
    arrive(client, "/checkout/cart").await;
    click(client, "continue").await;
    arrive(client, "/checkout/address").await;
    click(client, "sign-in").await;
    arrive(client, "/oauth20/sign-in").await;
    record(client, "checkout-signed-in-sign-in").await;
    fill(client, "username", SHOPPER_USERNAME).await;
    fill(client, "password", SHOPPER_PASSWORD).await;
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Back on the address page, signed in: the saved address is offered, the cart kept.
    arrive(client, "/checkout/address").await;
    let page = client.source().await.unwrap();
    assert!(page.contains("2 Elm St"), "the saved address is offered");
    record(client, "checkout-signed-in-address").await;
    click(client, "continue").await;
    let (order_id, shown_total) = finish(client, "checkout-signed-in").await;
    client.clone().close().await.unwrap();

    // The order is the shopper's (any of their full tokens reads it), with the guest's line.
    let order = app
        .get_ok(&shopper, &format!("/v1/shoppers/me/orders/{order_id}"))
        .await;
    assert_eq!(
        order["order"]["pricing"]["formattedTotal"],
        shown_total.as_str(),
        "{order}"
    );
    assert_eq!(order["order"]["lineItems"]["lineItem"][0]["quantity"], 1);
    assert!(
        order["order"]["shippingAddress"]
            .to_string()
            .contains("2 Elm St"),
        "{order}"
    );
}
