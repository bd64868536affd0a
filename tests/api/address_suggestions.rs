//! The cart's address suggestions: the correction `domain::address_check` makes to the stored
//! billing or shipping address (whitespace, the country's postal-code format, the ISO 3166-2
//! subdivision), listed, read by id and applied with `apply-…-address?suggestionid=1`.

use crate::checkout::shopper_error;
use crate::helpers::*;
use serde_json::{Value, json};

async fn put_address(app: &TestApp, token: &str, kind: &str, address: Value) {
    let response = app
        .http
        .put(app.url(&format!("/v1/shoppers/me/carts/active/{kind}-address")))
        .bearer_auth(token)
        .json(&json!({ "address": address }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204, "{}", response.text().await.unwrap());
}

#[tokio::test]
async fn an_untidy_address_gets_its_correction_which_applies_and_then_none_is_left() {
    let app = spawn_app().await;
    let token = app.anonymous_pair().await.access;
    put_address(
        &app,
        &token,
        "billing",
        json!({"firstName": " Ada ", "line1": "1   Main  St", "city": "Austin",
               "countrySubdivision": "texas", "postalCode": "787011234", "country": "US"}),
    )
    .await;

    let base = "/v1/shoppers/me/carts/active/billing-address/suggestions";
    let list = app.get_ok(&token, base).await;
    assert_eq!(list["suggestions"]["uri"], app.url(base));
    let all = list["suggestions"]["address"].as_array().unwrap();
    assert_eq!(all.len(), 1, "{list}");
    let suggestion = &all[0];
    assert_eq!(suggestion["id"], 1);
    assert_eq!(suggestion["uri"], app.url(&format!("{base}/1")));
    assert_eq!(suggestion["firstName"], "Ada");
    assert_eq!(suggestion["line1"], "1 Main St");
    assert_eq!(suggestion["countrySubdivision"], "TX");
    assert_eq!(suggestion["postalCode"], "78701-1234");
    assert_eq!(suggestion["country"], "US");
    assert_eq!(suggestion["countryName"], "United States of America");
    let one = app.get_ok(&token, &format!("{base}/1")).await;
    assert_eq!(&one["address"], suggestion);
    shopper_error(
        app.get_as(&token, &format!("{base}/2")).await,
        404,
        "resource-not-found",
    )
    .await;
    shopper_error(
        app.get_as(&token, &format!("{base}/x")).await,
        404,
        "resource-not-found",
    )
    .await;

    // The link applies it: the cart's address is the correction, and nothing is left to suggest.
    let apply = suggestion["applyAddress"]["uri"].as_str().unwrap();
    assert_eq!(
        apply,
        app.url("/v1/shoppers/me/carts/active/apply-billing-address?suggestionid=1")
    );
    let cart = ok_json(
        app.http
            .post(apply)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let billing = &cart["cart"]["billingAddress"];
    assert_eq!(billing["postalCode"], "78701-1234");
    assert_eq!(billing["countrySubdivision"], "TX");
    assert_eq!(billing["line1"], "1 Main St");
    let list = app.get_ok(&token, base).await;
    assert_eq!(list["suggestions"]["address"], json!([]));
    let response = app
        .http
        .post(apply)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    shopper_error(response, 404, "resource-not-found").await;
}

#[tokio::test]
async fn each_address_is_checked_on_its_own_and_what_cannot_be_fixed_stays() {
    let app = spawn_app().await;
    let token = app.anonymous_pair().await.access;
    let shipping = "/v1/shoppers/me/carts/active/shipping-address/suggestions";
    // No address yet: nothing to suggest.
    let list = app.get_ok(&token, shipping).await;
    assert_eq!(list["suggestions"]["address"], json!([]));
    shopper_error(
        app.get_as(&token, &format!("{shipping}/1")).await,
        404,
        "resource-not-found",
    )
    .await;

    // A Japanese address typed with full-width digits and hyphen; its prefecture in Japanese
    // (which the English ISO names cannot match) is kept.
    put_address(
        &app,
        &token,
        "shipping",
        json!({"line1": "新宿区新宿1-1-1", "city": "田原市", "countrySubdivision": "愛知県",
               "postalCode": "１２３－４５６７", "country": "JP"}),
    )
    .await;
    let one = app.get_ok(&token, &format!("{shipping}/1")).await;
    assert_eq!(one["address"]["postalCode"], "123-4567");
    assert_eq!(one["address"]["countrySubdivision"], "愛知県");
    // The billing address is another resource: none set, none suggested.
    let billing = app
        .get_ok(
            &token,
            "/v1/shoppers/me/carts/active/billing-address/suggestions",
        )
        .await;
    assert_eq!(billing["suggestions"]["address"], json!([]));

    // A tidy address whose postal code has the wrong shape: no correction to offer.
    put_address(
        &app,
        &token,
        "shipping",
        json!({"line1": "1 Main St", "city": "Toronto", "countrySubdivision": "ON",
               "postalCode": "ABCDEF", "country": "CA"}),
    )
    .await;
    let list = app.get_ok(&token, shipping).await;
    assert_eq!(list["suggestions"]["address"], json!([]));

    // A suggestion id with an address body is ambiguous; without a token, 401.
    let response = app
        .http
        .post(app.url("/v1/shoppers/me/carts/active/apply-shipping-address?suggestionid=1"))
        .bearer_auth(&token)
        .json(&json!({"address": {"line1": "x", "city": "y", "country": "US"}}))
        .send()
        .await
        .unwrap();
    shopper_error(response, 400, "invalid-request").await;
    assert_eq!(app.get(shipping).await.status(), 401);
}
