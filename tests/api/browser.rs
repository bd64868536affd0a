//! End to end in headless Chromium (Debian `chromium` + `chromium-driver`, over WebDriver):
//! a guest gets a limited token, the browser opens `/oauth20/authorize` with it, a shopper
//! signs in on the hosted page, and the token in the redirect's fragment is full and belongs
//! to the guest's session; axe-core finds no serious or critical violation on the page. Needs
//! `SHOPKEEPER_TEST_CHROMEDRIVER` (path to chromedriver) and `SHOPKEEPER_TEST_AXE` (path to
//! axe-core's `axe.min.js`); without either the test prints SKIP and passes.

use crate::helpers::*;
use fantoccini::Locator;
use std::collections::HashMap;
use std::time::Duration;

const REDIRECT: &str = "https://shop.example.com/callback";

#[tokio::test]
async fn guest_signs_in_through_the_hosted_page_in_headless_chromium() {
    let app = spawn_app().await;
    // The redirect URI must be registered exactly; the shop's callback is on a host nobody
    // serves, so the browser stops there and the test reads the fragment from its URL.
    let guest = app.anonymous_pair().await;
    let guest_session = ok_json(app.access_tokens(&guest.access).await).await;

    // Nothing else may answer for the shop's host: map it to an unroutable address.
    let Some(browser) = chromium(
        "guest_signs_in_through_the_hosted_page_in_headless_chromium",
        &["--host-resolver-rules=MAP shop.example.com 127.0.0.1:9".to_owned()],
    )
    .await
    else {
        return;
    };
    let client = &browser.client;

    let authorize = url_with(
        &app.url("/oauth20/authorize"),
        &[
            ("client_id", &app.public_key),
            ("response_type", "token"),
            ("redirect_uri", REDIRECT),
            ("state", "from-the-shop"),
            ("dr_limited_token", &guest.access),
        ],
    );
    client.goto(&authorize).await.unwrap();
    let current = client.current_url().await.unwrap();
    assert!(current.path().ends_with("/oauth20/sign-in"), "{current}");

    // Fill in the form by its labels' fields, as a shopper would, and keep a picture of it.
    let username = client.find(Locator::Id("username")).await.unwrap();
    username.send_keys(SHOPPER_USERNAME).await.unwrap();
    client
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(SHOPPER_PASSWORD)
        .await
        .unwrap();
    screenshot(client, "sign-in.png").await;
    // No serious or critical axe-core violation on the hosted page, as a shopper sees it.
    assert_accessible(client, "the hosted sign-in page").await;
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // The browser lands on the redirect URI (which does not load: nothing serves it).
    let mut landed = None;
    for _ in 0..50 {
        let url = client.current_url().await.unwrap();
        if url.as_str().starts_with(REDIRECT) {
            landed = Some(url);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let landed = landed.expect("the browser reached the redirect URI");
    client.clone().close().await.unwrap();
    let fragment: HashMap<String, String> =
        form_urlencoded::parse(landed.fragment().expect("a fragment").as_bytes())
            .into_owned()
            .collect();
    assert_eq!(fragment["state"], "from-the-shop");
    assert!(!fragment.contains_key("refresh_token"));
    let info = ok_json(app.access_tokens(&fragment["access_token"]).await).await;
    assert_eq!(info["authenticated"], "true", "a full token");
    assert_eq!(info["userId"], app.shopper_id.to_string());
    assert_eq!(
        info["sessionId"], guest_session["sessionId"],
        "the guest's session"
    );
    assert_eq!(info["cartId"], guest_session["cartId"], "with its cart");
    assert_eq!(
        app.access_tokens(&guest.access).await.status(),
        401,
        "the limited token stopped working"
    );
}
