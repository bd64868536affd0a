//! The README's purchase example (the ```sh blocks between `<!-- purchase-example:begin -->`
//! and `<!-- purchase-example:end -->`, under "Try it") runs as written: bash with `-e -u -o
//! pipefail` in an empty environment (so a variable the README uses without defining fails
//! it), `BASE` pointing at a test server with the demo data. Then the order it placed and the
//! shopper it signed in are checked through the API.

use crate::helpers::*;
use serde_json::Value;
use shopkeeper::http::start_page;
use shopkeeper::provision;
use std::collections::HashMap;

const BEGIN: &str = "<!-- purchase-example:begin -->";
const END: &str = "<!-- purchase-example:end -->";

/// The shell code of the README's purchase example.
fn purchase_example() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let start = readme
        .find(BEGIN)
        .expect("the README marks its purchase example")
        + BEGIN.len();
    let end = start + readme[start..].find(END).expect("the example's end marker");
    let mut script = String::new();
    let mut in_block = false;
    for line in readme[start..end].lines() {
        if !in_block && line.trim_start().starts_with("```sh") {
            in_block = true;
        } else if in_block && line.trim_start().starts_with("```") {
            in_block = false;
        } else if in_block {
            script.push_str(line);
            script.push('\n');
        }
    }
    script
}

fn minor(v: &Value) -> i64 {
    (v["value"].as_f64().unwrap_or_else(|| panic!("money: {v}")) * 100.0).round() as i64
}

#[tokio::test]
async fn the_readmes_purchase_example_runs_as_written_and_places_an_order() {
    let script = purchase_example();
    // Every step of a purchase is in it.
    for step in [
        "grant_type=password",
        "/v1/shoppers/me/products",
        "/v1/shoppers/me/carts/active/line-items",
        "/payments/sources",
        "apply-payment-method",
        "billing-address",
        "shipping-address",
        "submit-cart",
        "/v1/shoppers/me/orders/$ORDER",
        "/v1/shoppers\"",
        "-d username=",
    ] {
        assert!(script.contains(step), "the example has no {step:?}");
    }

    let app = spawn_app().await;
    let start = start_page::redirect_uri(&app.state.web);
    provision::create_demo(&app.state.store, &app.state.hasher, &start, app.now())
        .await
        .unwrap();

    // The README's commands, then the values this test checks through the API.
    let trailer = "printf '\\nORDER=%s\\nTOKEN=%s\\nFULL=%s\\nPRODUCT=%s\\nSHOPPER=%s\\n' \
                   \"$ORDER\" \"$TOKEN\" \"$FULL\" \"$PRODUCT\" \"$SHOPPER\"\n";
    let home = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new("bash")
        .args(["-e", "-u", "-o", "pipefail", "-c"])
        .arg(format!("{script}\n{trailer}"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("BASE", &app.address)
        .current_dir(home.path())
        .output()
        .await
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the README's purchase example failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    let values: HashMap<&str, &str> = stdout.lines().filter_map(|l| l.split_once('=')).collect();
    for name in ["ORDER", "TOKEN", "FULL", "PRODUCT", "SHOPPER"] {
        assert!(
            values.get(name).is_some_and(|v| !v.is_empty()),
            "{name} not set by the example:\n{stdout}"
        );
    }

    // The guest's order exists, holds what the example bought, and adds up.
    let order = app
        .get_ok(
            values["TOKEN"],
            &format!("/v1/shoppers/me/orders/{}", values["ORDER"]),
        )
        .await;
    let order = &order["order"];
    let line = &order["lineItems"]["lineItem"][0];
    assert_eq!(line["product"]["id"].to_string(), values["PRODUCT"]);
    assert_eq!(line["quantity"], 2);
    assert_eq!(
        order["paymentMethod"]["creditCard"]["lastFourDigits"],
        "0129"
    );
    let p = &order["pricing"];
    assert_eq!(
        minor(&p["orderTotal"]),
        minor(&p["subtotal"]) - minor(&p["discount"])
            + minor(&p["shippingAndHandling"])
            + minor(&p["tax"])
    );
    assert!(minor(&p["orderTotal"]) > 0);
    // The printed total is the order's.
    let total = p["formattedOrderTotal"].as_str().unwrap();
    assert!(
        stdout.lines().any(|l| l == total),
        "{total} not printed:\n{stdout}"
    );
    // The cart it came from is empty.
    let cart = app
        .get_ok(values["TOKEN"], "/v1/shoppers/me/carts/active")
        .await;
    assert_eq!(cart["cart"]["totalItemsInCart"], 0);

    // The signed-in token is a full token of the shopper the example created.
    let session = ok_json(app.access_tokens(values["FULL"]).await).await;
    assert_eq!(session["authenticated"], "true");
    let me = app.get_ok(values["FULL"], "/v1/shoppers/me").await;
    assert_eq!(me["shopper"]["username"], values["SHOPPER"]);
}
