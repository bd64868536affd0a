//! The hosted web checkout over HTTP (`managing-web-checkout.md`): the transfer answers 302 with
//! a one-time handle and never the token; the handle is single use, expires, and gives its
//! session only to the browser that redeemed it; the pages' forms need their CSRF token, explain
//! refusals with the cart unchanged, and place the order the API then reads back.

use crate::checkout::{catalog, shopper_error};
use crate::helpers::*;
use serde_json::{Value, json};

const WEB_CHECKOUT: &str = "/v1/shoppers/me/carts/active/web-checkout";

/// `GET web-checkout` with `token`: its 302's location.
async fn transfer(app: &TestApp, token: &str) -> String {
    let answer = browser()
        .get(app.url(WEB_CHECKOUT))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 302);
    assert_eq!(answer.headers()["cache-control"], "no-store");
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&app.url(&format!("/store/{SITE}/checkout/enter?h="))),
        "{location}"
    );
    assert!(!location.contains(token), "the token stays out of the URL");
    location
}

/// A browser that followed the transfer: its cookie leads to the token's session.
pub(crate) async fn entered(app: &TestApp, token: &str) -> reqwest::Client {
    let location = transfer(app, token).await;
    let client = browser();
    let answer = client.get(&location).send().await.unwrap();
    assert_eq!(answer.status(), 303, "{}", answer.text().await.unwrap());
    assert_eq!(
        answer.headers()["location"],
        format!("/store/{SITE}/checkout/cart")
    );
    client
}

pub(crate) fn page_url(app: &TestApp, page: &str) -> String {
    app.url(&format!("/store/{SITE}/checkout/{page}"))
}

/// A page's HTML (asserting its status).
pub(crate) async fn page(client: &reqwest::Client, url: &str, status: u16) -> String {
    let answer = client.get(url).send().await.unwrap();
    assert_eq!(answer.status(), status, "{url}");
    answer.text().await.unwrap()
}

/// The value of the form's CSRF token on a page.
pub(crate) fn csrf(html: &str) -> String {
    let needle = "name=\"csrf_token\" value=\"";
    let at = html.find(needle).expect("a CSRF field") + needle.len();
    html[at..].split('"').next().unwrap().to_owned()
}

pub(crate) async fn post(
    client: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client.post(url).form(form).send().await.unwrap()
}

pub(crate) fn address_form(token: &str) -> Vec<(&str, &str)> {
    vec![
        ("csrf_token", token),
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        ("email", "ada@example.com"),
        ("line1", "1 Main St"),
        ("city", "Austin"),
        ("region", "TX"),
        ("postal_code", "78701"),
        ("country", "us"),
    ]
}

#[tokio::test]
async fn the_transfer_answers_302_with_a_one_time_handle_never_the_token() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let token = app.anonymous_pair().await.access;
    // The docs' body: one line item as an object, its quantity a string.
    let answer = browser()
        .post(app.url(WEB_CHECKOUT))
        .bearer_auth(&token)
        .json(&json!({"cart": {"lineItems": {"lineItem": {"quantity": "2",
            "product": {"id": product.to_string(), "companyId": "company"}}},
            "offers": {"offerId": "1234567890"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 302);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(!location.contains(&token));
    let cart = app.get_ok(&token, "/v1/shoppers/me/carts/active").await;
    assert_eq!(cart["cart"]["totalItemsInCart"], 2, "{cart}");

    // A refused body writes nothing and is the API's documented error.
    let refused = browser()
        .post(app.url(WEB_CHECKOUT))
        .bearer_auth(&token)
        .json(&json!({"cart": {"lineItems": {"lineItem": {"quantity": "2",
            "product": {"id": "999999"}}}}}))
        .send()
        .await
        .unwrap();
    shopper_error(refused, 404, "resource-not-found").await;
    let again = app.get_ok(&token, "/v1/shoppers/me/carts/active").await;
    assert_eq!(again["cart"]["totalItemsInCart"], 2);

    // No token: the documented 401.
    let none = browser().get(app.url(WEB_CHECKOUT)).send().await.unwrap();
    assert_eq!(none.status(), 401);

    // GET with a product adds it first.
    let other = app.anonymous_pair().await.access;
    let answer = browser()
        .get(app.url(&format!("{WEB_CHECKOUT}?productId={product}&quantity=3")))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 302);
    let cart = app.get_ok(&other, "/v1/shoppers/me/carts/active").await;
    assert_eq!(cart["cart"]["totalItemsInCart"], 3, "{cart}");
}

#[tokio::test]
async fn a_handle_works_once_before_it_expires_and_only_for_the_browser_that_used_it() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let token = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&token, product, 1).await).await;

    let location = transfer(&app, &token).await;
    let first = browser();
    assert_eq!(first.get(&location).send().await.unwrap().status(), 303);
    // Used: refused, and no cookie is set for the second browser.
    let second = browser();
    let again = second.get(&location).send().await.unwrap();
    assert_eq!(again.status(), 400);
    assert!(again.headers().get("set-cookie").is_none());
    // The second browser has no checkout; the first has the cart.
    page(&second, &page_url(&app, "cart"), 400).await;
    let cart = page(&first, &page_url(&app, "cart"), 200).await;
    assert!(cart.contains("$39.99"), "{cart}");

    // Expired: the codes' lifetime (60 s) on the test clock.
    let late = transfer(&app, &token).await;
    app.advance_clock(61).await;
    assert_eq!(browser().get(&late).send().await.unwrap().status(), 400);

    // Two browsers racing for one handle: one gets in.
    let raced = transfer(&app, &token).await;
    let (a, b) = (browser(), browser());
    let (ra, rb) = tokio::join!(a.get(&raced).send(), b.get(&raced).send());
    let mut statuses = [ra.unwrap().status().as_u16(), rb.unwrap().status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [303, 400]);

    // Another site's handle, or a malformed one: refused.
    let malformed = app.url(&format!("/store/{SITE}/checkout/enter?h=abc"));
    assert_eq!(
        browser().get(&malformed).send().await.unwrap().status(),
        400
    );
}

#[tokio::test]
async fn a_guest_checks_out_on_the_pages_and_the_api_reads_the_order_back() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let token = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&token, product, 1).await).await;
    let client = entered(&app, &token).await;

    // The cart page: the API's figures, the security headers, the site's language.
    let answer = client.get(page_url(&app, "cart")).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let headers = answer.headers().clone();
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    let html = answer.text().await.unwrap();
    assert!(html.contains("<html lang=\"en-US\">"), "{html}");
    let api_cart = app.get_ok(&token, "/v1/shoppers/me/carts/active").await;
    let api_total = api_cart["cart"]["pricing"]["formattedOrderTotal"]
        .as_str()
        .unwrap();
    assert!(html.contains(api_total), "{api_total} in {html}");

    // A form without its CSRF token changes nothing.
    let forged = post(
        &client,
        &page_url(&app, "cart"),
        &[("action", "quantity"), ("line", "1"), ("quantity", "5")],
    )
    .await;
    assert_eq!(forged.status(), 403);
    let unchanged = app.get_ok(&token, "/v1/shoppers/me/carts/active").await;
    assert_eq!(unchanged["cart"]["totalItemsInCart"], 1);

    // Quantity 2, then a coupon the site does not have: explained, the cart kept.
    let line = api_cart["cart"]["lineItems"]["lineItem"][0]["id"].to_string();
    let token_field = csrf(&html);
    let updated = post(
        &client,
        &page_url(&app, "cart"),
        &[
            ("csrf_token", &token_field),
            ("action", "quantity"),
            ("line", &line),
            ("quantity", "2"),
        ],
    )
    .await;
    assert_eq!(updated.status(), 303);
    let coupon = post(
        &client,
        &page_url(&app, "cart"),
        &[
            ("csrf_token", &token_field),
            ("action", "coupon"),
            ("code", "NOPE"),
        ],
    )
    .await;
    assert_eq!(coupon.status(), 409);
    let explained = coupon.text().await.unwrap();
    assert!(explained.contains("role=\"alert\""), "{explained}");
    let cart = app.get_ok(&token, "/v1/shoppers/me/carts/active").await;
    assert_eq!(cart["cart"]["totalItemsInCart"], 2);

    // The address (a download: nothing ships, so payment is next).
    let html = page(&client, &page_url(&app, "address"), 200).await;
    let token_field = csrf(&html);
    let answer = post(
        &client,
        &page_url(&app, "address"),
        &address_form(&token_field),
    )
    .await;
    assert_eq!(answer.status(), 303);
    assert_eq!(
        answer.headers()["location"],
        format!("/store/{SITE}/checkout/payment")
    );

    // A declined card: the reason, and the cart as it was.
    let html = page(&client, &page_url(&app, "payment"), 200).await;
    let token_field = csrf(&html);
    let card = |number: &'static str| {
        vec![
            ("csrf_token", token_field.clone()),
            ("card_name", "Ada Lovelace".to_owned()),
            ("card_number", number.to_owned()),
            ("card_exp_month", "12".to_owned()),
            ("card_exp_year", "2035".to_owned()),
            ("card_cvv", "123".to_owned()),
        ]
    };
    let pairs = card(DECLINE_CARD);
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = post(&client, &page_url(&app, "payment"), &pairs).await;
    assert_eq!(
        answer.status(),
        303,
        "a declined card is saved; the charge is refused"
    );
    let review = page(&client, &page_url(&app, "review"), 200).await;
    let place = post(
        &client,
        &page_url(&app, "review"),
        &[("csrf_token", &csrf(&review))],
    )
    .await;
    assert_eq!(place.status(), 409);
    let refused = place.text().await.unwrap();
    assert!(refused.contains("declined"), "{refused}");
    assert!(
        !refused.contains(DECLINE_CARD),
        "the card number is never shown"
    );
    let kept = app.get_ok(&token, "/v1/shoppers/me/carts/active").await;
    assert_eq!(kept["cart"]["totalItemsInCart"], 2);

    // An approved card, then the order.
    let pairs = card(APPROVE_CARD);
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = post(&client, &page_url(&app, "payment"), &pairs).await;
    assert_eq!(answer.status(), 303);
    let review = page(&client, &page_url(&app, "review"), 200).await;
    assert!(review.contains("ending in 0129"), "{review}");
    let place = post(
        &client,
        &page_url(&app, "review"),
        &[("csrf_token", &csrf(&review))],
    )
    .await;
    assert_eq!(place.status(), 303);
    let confirmation_path = place.headers()["location"].to_str().unwrap().to_owned();
    let order_id: i64 = confirmation_path
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let confirmation = page(&client, &app.url(&confirmation_path), 200).await;
    let order = app
        .get_ok(&token, &format!("/v1/shoppers/me/orders/{order_id}"))
        .await;
    let total = order["order"]["pricing"]["formattedTotal"]
        .as_str()
        .unwrap_or_else(|| panic!("{order}"));
    assert!(confirmation.contains(total), "{total} in {confirmation}");
    assert!(confirmation.contains(&order_id.to_string()));
    let lines: Value = order["order"]["lineItems"]["lineItem"].clone();
    assert_eq!(lines[0]["quantity"], 2, "{order}");
    // The cart is empty now; resuming goes to the cart page.
    let resume = client
        .get(app.url(&format!("/store/{SITE}/checkout")))
        .send()
        .await
        .unwrap();
    assert_eq!(resume.status(), 303);
    assert_eq!(
        resume.headers()["location"],
        format!("/store/{SITE}/checkout/cart")
    );
}
