//! The start page at `/` (a demo storefront on the public API) and the API reference page.
//!
//! Over plain HTTP: the pages' security headers, the configuration the page learns the demo
//! site's public values from, and what it says when there is no demo site. In headless
//! Chromium (Debian `chromium` + `chromium-driver`, over WebDriver; needs
//! `SHOPKEEPER_TEST_CHROMEDRIVER`, else SKIP, which `.ci/run` turns into a failure): a guest
//! buys through the page and the order's totals are checked through the API; a shopper signs
//! in through the hosted page from `/` (on a --public-url host) and buys signed in; the API
//! reference renders `/openapi.json`. axe-core (`SHOPKEEPER_TEST_AXE`, else SKIP) finds no
//! serious or critical violation on the start page, the hosted sign-in page in the demo
//! site's look, and the API reference. Screenshots go to `target/screenshots/`.

use crate::helpers::*;
use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use shopkeeper::http::start_page;
use shopkeeper::provision::{self, DEMO_TAX_RATES, Demo};
use std::time::Duration;

/// The address the page's checkout form is filled in with (the page's own defaults, except
/// the country: Germany has a tax rate in the demo table, so tax is not zero).
const EMAIL: &str = "jane.doe@example.com";
const COUNTRY: &str = "DE";

async fn with_demo(app: &TestApp) -> Demo {
    let start = start_page::redirect_uri(&app.state.web);
    provision::create_demo(&app.state.store, &app.state.hasher, &start, app.now())
        .await
        .unwrap()
}

fn minor(v: &Value) -> i64 {
    let value = v["value"].as_f64().unwrap_or_else(|| panic!("money: {v}"));
    (value * 100.0).round() as i64
}

// --- Without a browser ---------------------------------------------------------------------

#[tokio::test]
async fn start_page_and_api_reference_are_served_with_a_self_only_content_security_policy() {
    let app = spawn_app().await;
    for path in ["/", "/api-reference"] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers();
        assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(csp.contains("connect-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-content-type-options"], "nosniff");
        let html = r.text().await.unwrap();
        // No inline code: every script and style comes from a file the CSP allows.
        assert!(
            !html.contains("<script>") && !html.contains("<style"),
            "{path}"
        );
    }
    for (path, kind) in [
        ("/start/start.js", "text/javascript"),
        ("/start/api-reference.js", "text/javascript"),
        ("/start/style.css", "text/css"),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind),
            "{path}"
        );
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    }
}

#[tokio::test]
async fn without_a_demo_site_the_start_page_config_says_how_to_create_one() {
    let app = spawn_app().await; // the test site only, no demo site
    let config = ok_json(app.get("/start/config.json").await).await;
    assert_eq!(config["siteId"], "demo");
    assert!(config["apiKey"].is_null(), "{config}");
    assert!(config["paymentsPublicKey"].is_null(), "{config}");
    assert!(config["redirectUri"].is_null(), "{config}");
    let setup: Vec<&str> = config["setup"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(setup[0], "shopkeeper site create --id demo", "{setup:?}");
    let start = format!("{}/", app.address);
    assert!(
        setup.iter().any(
            |c| c.starts_with("shopkeeper client create --site demo --kind public")
                && c.ends_with(&format!("--redirect-uri {start}"))
        ),
        "{setup:?}"
    );
}

#[tokio::test]
async fn start_page_config_names_the_demo_sites_public_values_and_its_sign_in() {
    let app = spawn_app().await;
    let demo = with_demo(&app).await;
    let config = ok_json(app.get("/start/config.json").await).await;
    assert_eq!(config["apiKey"], demo.public_client.api_key.as_str());
    assert_eq!(
        config["paymentsPublicKey"],
        demo.payments_public_key.as_deref().unwrap()
    );
    assert_eq!(config["redirectUri"], format!("{}/", app.address));
    assert_eq!(config["setup"], json!([]));
    // The redirect URI really is registered for that key: /oauth20/authorize accepts it.
    let r = app
        .http
        .get(app.url("/oauth20/authorize"))
        .query(&[
            ("client_id", demo.public_client.api_key.as_str()),
            ("response_type", "code"),
            ("redirect_uri", config["redirectUri"].as_str().unwrap()),
            ("state", "s"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .contains("/oauth20/sign-in"),
        "to the hosted page"
    );

    // A key disabled is no longer handed out; the page then says how to make a new one.
    provision_disable(&app, &demo.public_client.api_key).await;
    let config = ok_json(app.get("/start/config.json").await).await;
    assert!(config["apiKey"].is_null(), "{config}");
    assert_eq!(config["setup"].as_array().unwrap().len(), 1, "{config}");
}

async fn provision_disable(app: &TestApp, key: &str) {
    app.state
        .store
        .disable_client(&shopkeeper::domain::ApiKey::parse(key).unwrap(), app.now())
        .await
        .unwrap();
}

// --- In headless Chromium ------------------------------------------------------------------

/// The page's message box (where it shows an API error), for failure reports.
async fn page_message(client: &Client) -> String {
    match client.find(Locator::Id("message")).await {
        Ok(m) => m.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn wait_for(client: &Client, css: &str) -> Element {
    match client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(e) => e,
        Err(e) => {
            let message = page_message(client).await;
            let url = client.current_url().await.map(|u| u.to_string());
            screenshot(client, "start-page-failure.png").await;
            panic!("no {css} on {url:?} ({e}); the page says: {message:?}")
        }
    }
}

/// Waits until the page has loaded and no action of it is running.
async fn wait_idle(client: &Client) {
    wait_for(client, "body[data-ready]:not([aria-busy])").await;
}

async fn click(client: &Client, css: &str) {
    wait_for(client, css).await.click().await.unwrap();
}

async fn fill(client: &Client, css: &str, value: &str) {
    let field = wait_for(client, css).await;
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

/// The first in-stock variation of the demo's physical product, through the catalog API.
async fn physical_variation(app: &TestApp, key: &str, base: i64) -> (i64, i64) {
    let body = ok_json(
        app.http
            .get(app.url(&format!("/v1/shoppers/me/products/{base}/variations")))
            .query(&[("apiKey", key), ("expand", "all")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let variation = body["variations"]["product"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["inventoryStatus"]["productIsInStock"] == true)
        .expect("an in-stock variation")
        .clone();
    (
        variation["id"].as_i64().unwrap(),
        minor(&variation["pricing"]["salePriceWithQuantity"]),
    )
}

/// Adds `product` × `quantity` on the page and waits for its cart line.
async fn add_on_page(client: &Client, card: i64, variation: Option<i64>, quantity: i64) {
    if let Some(v) = variation {
        wait_for(client, &format!("#product-{card} select"))
            .await
            .select_by_value(&v.to_string())
            .await
            .unwrap();
    }
    fill(
        client,
        &format!("#product-{card} input[type=number]"),
        &quantity.to_string(),
    )
    .await;
    click(client, &format!("#product-{card} button")).await;
    wait_idle(client).await;
    let line = variation.unwrap_or(card);
    wait_for(client, &format!("#cart-lines tr[data-product-id='{line}']")).await;
}

async fn place_order_on_page(client: &Client, country: &str) -> i64 {
    fill(client, "#country", country).await;
    click(client, "#place-order").await;
    wait_idle(client).await;
    let order = wait_for(client, "#order[data-order-id]").await;
    order
        .attr("data-order-id")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_guest_buys_on_the_start_page_and_the_orders_totals_are_the_apis() {
    let test = "a_guest_buys_on_the_start_page_and_the_orders_totals_are_the_apis";
    let Some(browser) = chromium(test, &[]).await else {
        return;
    };
    let client = &browser.client;
    let app = spawn_app().await;
    let demo = with_demo(&app).await;
    let key = demo.public_client.api_key.clone();
    let digital = demo.catalog.product_ids[0];
    let physical = demo.catalog.product_ids[1];
    let (variation, unit_price) = physical_variation(&app, &key, physical).await;

    client.goto(&app.url("/")).await.unwrap();
    wait_idle(client).await;
    assert!(
        wait_for(client, "#account-status")
            .await
            .text()
            .await
            .unwrap()
            .contains("guest")
    );
    assert_accessible(client, "the start page").await;
    // Add the download, then remove it again; keep two keyboards.
    add_on_page(client, digital, None, 1).await;
    add_on_page(client, physical, Some(variation), 2).await;
    click(
        client,
        &format!("#cart-lines tr[data-product-id='{digital}'] button"),
    )
    .await;
    wait_idle(client).await;
    let lines = client
        .find_all(Locator::Css("#cart-lines tr"))
        .await
        .unwrap();
    assert_eq!(lines.len(), 1, "the download was removed");
    let order_id = place_order_on_page(client, COUNTRY).await;
    let shown_total = wait_for(client, "#order-totals dd[data-total]")
        .await
        .text()
        .await
        .unwrap();
    screenshot(client, "start-page-guest-order.png").await;
    client.clone().close().await.unwrap();

    // The order, through the API (not from the page): a look-up by id and email.
    let guest = app_token(&app, &key).await;
    let found = ok_json(
        app.order_lookup(&guest, json!({"orderId": order_id, "emailAddress": EMAIL}))
            .await,
    )
    .await;
    let order = &found["orders"]["order"][0];
    assert_eq!(order["id"], order_id);
    let line_items = order["lineItems"]["lineItem"].as_array().unwrap();
    assert_eq!(line_items.len(), 1, "{order}");
    assert_eq!(line_items[0]["product"]["id"], variation);
    assert_eq!(line_items[0]["quantity"], 2);
    let pricing = &order["pricing"];
    assert_eq!(
        pricing["formattedOrderTotal"],
        shown_total.as_str(),
        "the page showed the API's total"
    );

    // What the API says the same purchase costs: its shipping options and the tax table.
    let scratch = app_token(&app, &key).await;
    ok_json(app.add_to_cart(&scratch, variation, 2).await).await;
    let options = app
        .get_ok(&scratch, "/v1/shoppers/me/carts/active/shipping-options")
        .await;
    let standard = minor(&options["shippingOptions"]["shippingOption"][0]["cost"]);
    let rate_bp = DEMO_TAX_RATES
        .iter()
        .find(|(c, _)| *c == COUNTRY)
        .unwrap()
        .1;
    let items = unit_price * 2;
    let shipping = minor(&pricing["shippingAndHandling"]);
    let tax = minor(&pricing["tax"]);
    assert_eq!(
        minor(&pricing["subtotal"]) - minor(&pricing["discount"]),
        items
    );
    assert_eq!(shipping, standard, "the default (first) shipping option");
    // Rounded half up to the cent (README: tax table).
    assert_eq!(tax, ((items + shipping) * rate_bp + 5000) / 10000);
    assert!(tax > 0);
    assert_eq!(minor(&pricing["orderTotal"]), items + shipping + tax);
}

/// A new limited token of the demo key.
async fn app_token(app: &TestApp, key: &str) -> String {
    let body = ok_json(
        app.token_with(key, None, &[("grant_type", "password")])
            .await,
    )
    .await;
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_shopper_signs_in_from_the_start_page_on_its_public_url_keeps_the_cart_and_buys() {
    let test = "a_shopper_signs_in_from_the_start_page_on_its_public_url_keeps_the_cart_and_buys";
    // Served on a --public-url whose host is not the listen address (as behind a proxy).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let public = format!("http://shop.test:{port}");
    let Some(browser) = chromium(
        test,
        &[
            // Only shop.test is mapped, to this server; the origin counts as secure, as the
            // https:// of a real deployment would (WebCrypto, for PKCE, needs one).
            "--host-resolver-rules=MAP shop.test 127.0.0.1".to_owned(),
            format!("--unsafely-treat-insecure-origin-as-secure={public}"),
        ],
    )
    .await
    else {
        return;
    };
    let client = &browser.client;
    let app = spawn_app_with(|s| {
        s.listen = format!("127.0.0.1:{port}").parse().unwrap();
        s.web.public_url = Some(public.clone());
    })
    .await;
    let demo = with_demo(&app).await;
    let digital = demo.catalog.product_ids[0];

    client.goto(&format!("{public}/")).await.unwrap();
    wait_idle(client).await;
    add_on_page(client, digital, None, 3).await;
    click(client, "#sign-in").await;
    // The hosted sign-in page, in the demo site's look.
    let username = wait_for(client, "#username").await;
    assert_accessible(client, "the demo site's hosted sign-in page").await;
    username.send_keys(&demo.shopper.username).await.unwrap();
    fill(client, "#password", &demo.shopper.password).await;
    click(client, "button[type=submit]").await;
    // Back on the start page, which redeemed the code.
    wait_idle(client).await;
    let status = wait_for(client, "#account-status")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        status,
        format!("Signed in as {}", demo.shopper.username),
        "{}",
        page_message(client).await
    );
    let url = client.current_url().await.unwrap();
    assert_eq!(
        url.as_str(),
        format!("{public}/"),
        "the code is off the address bar"
    );
    // The guest's cart came along.
    let line = wait_for(
        client,
        &format!("#cart-lines tr[data-product-id='{digital}']"),
    )
    .await;
    assert!(line.text().await.unwrap().contains('3'));
    screenshot(client, "start-page-signed-in.png").await;

    let order_id = place_order_on_page(client, "US").await;
    screenshot(client, "start-page-signed-in-order.png").await;
    // Sign out: the page is a guest's again.
    click(client, "#sign-out").await;
    wait_idle(client).await;
    let status = wait_for(client, "#account-status")
        .await
        .text()
        .await
        .unwrap();
    assert!(status.contains("guest"), "{status}");
    client.clone().close().await.unwrap();

    // The order is the shopper's: their own full token reads it.
    let full = ok_json(
        app.token_with(
            &demo.public_client.api_key,
            None,
            &[
                ("grant_type", "password"),
                ("username", demo.shopper.username.as_str()),
                ("password", demo.shopper.password.as_str()),
            ],
        )
        .await,
    )
    .await;
    let order = app
        .get_ok(
            full["access_token"].as_str().unwrap(),
            &format!("/v1/shoppers/me/orders/{order_id}"),
        )
        .await;
    let line = &order["order"]["lineItems"]["lineItem"][0];
    assert_eq!(line["product"]["id"], digital);
    assert_eq!(line["quantity"], 3);
}

#[tokio::test]
async fn the_api_reference_page_renders_every_operation_of_openapi_json() {
    let test = "the_api_reference_page_renders_every_operation_of_openapi_json";
    let Some(browser) = chromium(test, &[]).await else {
        return;
    };
    let client = &browser.client;
    let app = spawn_app().await;
    let doc = ok_json(app.get("/openapi.json").await).await;
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| k.as_str() != "parameters")
                .count()
        })
        .sum();

    client.goto(&app.url("/")).await.unwrap();
    click(client, "a[href='api-reference']").await;
    wait_for(client, "body[data-ready]").await;
    let shown = client
        .find_all(Locator::Css("article.operation"))
        .await
        .unwrap();
    assert_eq!(shown.len(), operations);
    let token = wait_for(client, "article[id='post--oauth20-token']").await;
    let text = token.text().await.unwrap();
    assert!(text.contains("/oauth20/token"), "{text}");
    assert!(text.contains("application/x-www-form-urlencoded"), "{text}");
    let all = wait_for(client, "#reference").await.text().await.unwrap();
    assert!(!all.contains("[object"), "rendered as text, not as objects");
    screenshot(client, "api-reference.png").await;
    assert_accessible(client, "the API reference page").await;
    // The filter narrows the list.
    fill(client, "#filter", "submit-cart").await;
    let visible = client
        .find_all(Locator::Css("article.operation:not([hidden])"))
        .await
        .unwrap();
    assert_eq!(visible.len(), 1);
    client.clone().close().await.unwrap();
}
