//! The response side of the cart, line items, shipping options, submit-cart, orders and
//! products: every amount an answer shows is the one the test stored (prices, tiers, tax
//! rate), every line says whether it ships, and every link an answer carries can be followed.

use crate::checkout::get;
use crate::helpers::{APPROVE_CARD, SITE, TestApp, no_content, ok_json, site_id, spawn_app};
use serde_json::{Value, json};
use shopkeeper::provision;

/// The test's own catalog: (lamp: physical, 25.00 list, 20.00 sale, 18.00 from 3, 15.00 from
/// 10; song: digital, 1.29; desk: a base product with one variation).
async fn shop(app: &TestApp) -> (i64, i64, i64) {
    let file = json!({"products": [
        {"sku": "LAMP-R", "name": "lamp", "displayName": "Reading lamp", "productType": "PHYSICAL",
         "currency": "USD", "listPrice": "25.00", "salePrice": "20.00", "availableQuantity": 50,
         "volumePricing": [{"minQuantity": 3, "unitPrice": "18.00"},
                           {"minQuantity": 10, "unitPrice": "15.00"}]},
        {"sku": "SONG-R", "name": "song", "displayName": "A song", "productType": "DIGITAL",
         "currency": "USD", "listPrice": "1.29"},
        {"sku": "DESK-R", "name": "desk", "productType": "PHYSICAL", "currency": "USD",
         "listPrice": "300.00", "variations": [{"sku": "DESK-R-OAK", "name": "oak desk",
         "productType": "PHYSICAL", "currency": "USD", "listPrice": "320.00",
         "attributes": {"wood": "oak"}}]}
    ]});
    let catalog = provision::parse_catalog(&file.to_string()).unwrap();
    let summary = provision::import_catalog(&app.state.store, SITE, catalog, app.now())
        .await
        .unwrap();
    let ids = &summary.product_ids;
    (ids[0], ids[1], ids[2])
}

fn usd(value: Value) -> Value {
    json!({"currency": "USD", "value": value})
}

/// `GET` of an absolute link as the bearer of `token`.
async fn follow(app: &TestApp, token: &str, url: &str) -> reqwest::Response {
    app.http.get(url).bearer_auth(token).send().await.unwrap()
}

async fn post(app: &TestApp, token: &str, url: &str, body: Option<Value>) -> reqwest::Response {
    let request = app.http.post(url).bearer_auth(token);
    let request = match body {
        Some(b) => request.json(&b),
        None => request,
    };
    request.send().await.unwrap()
}

/// A cart in Canada (5 % tax) with 3 lamps (the 18.00 tier) and 2 songs.
async fn priced_cart(app: &TestApp, token: &str) -> (i64, i64, i64) {
    let (lamp, song, desk) = shop(app).await;
    app.state
        .store
        .set_tax_rate(&site_id(), "CA", 500)
        .await
        .unwrap();
    ok_json(app.add_to_cart(token, lamp, 3).await).await;
    ok_json(app.add_to_cart(token, song, 2).await).await;
    let address = json!({"address": {"line1": "1 Bay St", "city": "Toronto", "country": "CA",
                                      "postalCode": "M5J 2N8", "emailAddress": "g@example.com"}});
    let url = app.url("/v1/shoppers/me/carts/active/shipping-address");
    let response = app
        .http
        .put(url)
        .bearer_auth(token)
        .json(&address)
        .send()
        .await
        .unwrap();
    no_content(response).await;
    (lamp, song, desk)
}

fn line_of(lines: &Value, product: i64) -> Value {
    lines
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["product"]["id"] == product)
        .unwrap_or_else(|| panic!("no line of product {product} in {lines}"))
        .clone()
}

#[tokio::test]
async fn cart_lines_say_what_ships_and_price_what_was_stored() {
    let app = spawn_app().await;
    let guest = app.anonymous_pair().await.access;
    let (lamp, song, _) = priced_cart(&app, &guest).await;
    let cart = ok_json(get(&app, &guest, "/v1/shoppers/me/carts/active").await).await;
    let cart = &cart["cart"];
    let lines = &cart["lineItems"]["lineItem"];

    let l = line_of(lines, lamp);
    assert_eq!(l["quantity"], 3);
    assert_eq!(l["product"]["productType"], "PHYSICAL");
    assert_eq!(l["product"]["displayName"], "Reading lamp");
    let p = &l["pricing"];
    assert_eq!(p["listPrice"], usd(json!(25.00)));
    assert_eq!(p["listPriceWithQuantity"], usd(json!(75.00)));
    assert_eq!(
        p["salePrice"],
        usd(json!(18.00)),
        "3 units reach the 18.00 tier"
    );
    assert_eq!(p["salePriceWithQuantity"], usd(json!(54.00)));
    assert_eq!(p["totalDiscountWithQuantity"], usd(json!(21.00)));
    assert_eq!(p["formattedListPrice"], "$25.00");
    assert_eq!(p["formattedListPriceWithQuantity"], "$75.00");
    assert_eq!(p["formattedSalePrice"], "$18.00");
    assert_eq!(p["formattedSalePriceWithQuantity"], "$54.00");
    assert_eq!(p["formattedTotalDiscountWithQuantity"], "$21.00");
    assert_eq!(p["taxRate"], json!(0.05));
    assert_eq!(p["productTax"], usd(json!(2.70)));
    assert_eq!(
        p["shippingTax"],
        usd(json!(0.25)),
        "shipping's tax rides what ships"
    );
    assert_eq!(l["product"]["customAttributes"], json!({"attribute": []}));
    assert_eq!(p["importTax"], usd(json!(0.0)));
    assert_eq!(p["formattedImportDuty"], "$0.00");
    assert_eq!(
        p["tax"],
        usd(json!(2.95)),
        "the line's goods and shipping tax"
    );
    assert_eq!(p["feeTax"], usd(json!(0.0)));
    assert_eq!(
        p["commitmentPrice"],
        usd(json!(18.00)),
        "the unit price paid"
    );
    // The line's product as the catalog keeps it, in the docs' spelling.
    let lp = &l["product"];
    assert_eq!(lp["sku"], "LAMP-R");
    assert_eq!(lp["externalReferenceId"], "LAMP-R");
    assert_eq!(lp["companyId"], SITE);
    assert_eq!(lp["purchasable"], true, "50 in stock");

    let s = line_of(lines, song);
    assert_eq!(s["product"]["productType"], "DOWNLOAD");
    assert_eq!(s["pricing"]["salePriceWithQuantity"], usd(json!(2.58)));
    assert_eq!(s["pricing"]["formattedSalePriceWithQuantity"], "$2.58");
    assert_eq!(s["pricing"]["productTax"], usd(json!(0.13)));
    assert_eq!(s["pricing"]["shippingTax"], usd(json!(0.0)));

    // The totals: 75.00 + 2.58 at list, 21.00 off, 5.00 standard shipping, 5 % of 61.58.
    let t = &cart["pricing"];
    assert_eq!(t["subtotal"], usd(json!(77.58)));
    assert_eq!(t["discount"], usd(json!(21.00)));
    assert_eq!(t["subtotalWithDiscount"], usd(json!(56.58)));
    assert_eq!(t["shippingAndHandling"], usd(json!(5.00)));
    assert_eq!(t["tax"], usd(json!(3.08)));
    assert_eq!(t["orderTotal"], usd(json!(64.66)));
    assert_eq!(t["formattedSubtotalWithDiscount"], "$56.58");
    assert_eq!(t["formattedOrderTotal"], "$64.66");
    assert_eq!(t["importTaxAndDuty"], usd(json!(0.0)));
    assert_eq!(cart["totalItemsInCart"], 5);
    assert_eq!(cart["taxInclusive"], false);
    assert_eq!(cart["landedCostState"], "NOT_ELIGIBLE");
    assert_eq!(cart["businessEntityCode"], SITE);
    assert_eq!(cart["customerType"], "I");
    assert_eq!(cart["taxRegistrations"], json!([]));
    // Nothing applied pays yet: the whole total remains.
    assert_eq!(cart["paymentSession"]["status"], "requires_source");
    assert_eq!(
        cart["paymentSession"]["amountRemainingToBeContributed"],
        usd(json!(64.66))
    );
    assert!(cart.get("payment").is_none(), "no card applied: {cart}");

    // The options are in the cart itself, priced in its currency; Standard is the default.
    let options = &cart["shippingOptions"]["shippingOption"];
    assert_eq!(options.as_array().unwrap().len(), 2, "{cart}");
    assert_eq!(options[0]["cost"], usd(json!(5.00)));
    assert_eq!(options[0]["formattedCost"], "$5.00");
    assert_eq!(options[0]["costWithDiscount"], options[0]["cost"]);
    assert_eq!(options[1]["cost"], usd(json!(15.00)));
    assert_eq!(cart["shippingMethod"]["code"], options[0]["id"]);

    // The same lines from line-items and line-items/{id}.
    let listed = ok_json(get(&app, &guest, "/v1/shoppers/me/carts/active/line-items").await).await;
    assert_eq!(&listed["lineItems"]["lineItem"], lines);
    let one = ok_json(follow(&app, &guest, l["uri"].as_str().unwrap()).await).await;
    assert_eq!(one["lineItem"], l);

    // Express applied through the option's own link: 15.00 shipping, tax on 71.58.
    let apply = options[1]["applyShippingOptionToCart"]["uri"]
        .as_str()
        .unwrap();
    let cart = ok_json(post(&app, &guest, apply, None).await).await;
    assert_eq!(cart["cart"]["shippingMethod"]["code"], options[1]["id"]);
    assert_eq!(
        cart["cart"]["pricing"]["shippingAndHandling"],
        usd(json!(15.00))
    );
    assert_eq!(cart["cart"]["pricing"]["tax"], usd(json!(3.58)));
    assert_eq!(cart["cart"]["pricing"]["orderTotal"], usd(json!(75.16)));
}

#[tokio::test]
async fn a_cart_with_nothing_to_ship_lists_no_shipping_option() {
    let app = spawn_app().await;
    let guest = app.anonymous_pair().await.access;
    let (_, song, _) = shop(&app).await;
    let cart = ok_json(app.add_to_cart(&guest, song, 1).await).await;
    let cart = &cart["cart"];
    // Storefronts ask for delivery when `shippingOption` is there at all: it is absent.
    assert_eq!(
        cart["shippingOptions"],
        json!({"uri": app.url("/v1/shoppers/me/carts/active/shipping-options")})
    );
    assert_eq!(cart["shippingMethod"], json!({}));
    assert_eq!(cart["pricing"]["shippingAndHandling"], usd(json!(0.0)));
}

#[tokio::test]
async fn submit_cart_answers_the_order_it_stored() {
    let app = spawn_app().await;
    let guest = app.anonymous_pair().await.access;
    let (lamp, song, _) = priced_cart(&app, &guest).await;
    let source = app.create_source(APPROVE_CARD, false).await;
    let cart = ok_json(app.apply_source(&guest, &source).await).await;
    let before = cart["cart"]["pricing"].clone();
    // The applied card pays the whole cart.
    let c = &cart["cart"];
    assert_eq!(c["payment"]["displayableNumber"], "************0129");
    let card = &c["paymentMethod"]["creditCard"];
    assert_eq!(
        (
            &card["type"],
            &card["displayName"],
            &card["displayableNumber"]
        ),
        (&json!("visa"), &json!("Visa"), &json!("************0129")),
        "{card}"
    );
    assert_eq!(card["startMonth"], Value::Null);
    assert_eq!(
        c["paymentMethod"]["amountContributed"],
        before["orderTotal"]
    );
    assert_eq!(c["paymentSession"]["status"], "requires_confirmation");
    assert_eq!(
        c["paymentSession"]["amountRemainingToBeContributed"],
        usd(json!(0.0))
    );

    let submitted = ok_json(app.submit(&guest).await).await;
    let order = &submitted["submitCart"]["order"];
    let id = order["id"].as_i64().unwrap();
    let stored = ok_json(get(&app, &guest, &format!("/v1/shoppers/me/orders/{id}")).await).await;
    assert_eq!(
        order, &stored["order"],
        "submit-cart shows the order as stored"
    );
    // And its parts beside it, as the docs' sample shows them.
    let answer = &submitted["submitCart"];
    for part in [
        "lineItems",
        "pricing",
        "billingAddress",
        "shippingAddress",
        "payment",
    ] {
        assert_eq!(answer[part], order[part], "submitCart.{part}");
    }
    assert_eq!(order["testOrder"], true);
    assert_eq!(
        order["orderStateDetails"]["settled"], before["orderTotal"],
        "the submit's charge took the total"
    );
    assert_eq!(order["orderStateDetails"]["refunded"], usd(json!(0.0)));
    assert_eq!(order["businessEntityCode"], SITE);
    // The order charges what the cart showed, and names its total as order lists do.
    for (field, shown) in before.as_object().unwrap() {
        assert_eq!(&order["pricing"][field], shown, "pricing.{field}");
    }
    assert_eq!(order["pricing"]["total"], before["orderTotal"]);
    assert_eq!(order["pricing"]["formattedTotal"], "$64.66");
    assert_eq!(order["payment"]["displayableNumber"], "************0129");
    assert_eq!(order["totalItemsInOrder"], 5);
    assert_eq!(order["shippingAddress"]["city"], "Toronto");
    assert_eq!(order["shippingAddress"]["countryName"], "Canada", "from CA");
    let lines = &order["lineItems"]["lineItem"];
    let l = line_of(lines, lamp);
    assert_eq!(l["product"]["productType"], "PHYSICAL");
    assert_eq!(l["quantity"], 3);
    assert_eq!(l["lineItemState"], "Submitted");
    assert_eq!(l["lineItemStateDetails"]["shipped"], 0);
    assert_eq!(l["pricing"]["salePriceWithQuantity"], usd(json!(54.00)));
    assert_eq!(l["pricing"]["formattedListPrice"], "$25.00");
    assert_eq!(l["pricing"]["totalDiscountWithQuantity"], usd(json!(21.00)));
    // The lines' taxes add up to the order's, as the cart's did.
    assert_eq!(l["pricing"]["productTax"], usd(json!(2.70)));
    assert_eq!(l["pricing"]["shippingTax"], usd(json!(0.25)));
    assert_eq!(
        line_of(lines, song)["pricing"]["productTax"],
        usd(json!(0.13))
    );
    // Each line read on its own is the line of the order, its tax share included.
    for line in lines.as_array().unwrap() {
        let one = ok_json(
            get(
                &app,
                &guest,
                &format!("/v1/shoppers/me/orders/{id}/line-items/{}", line["id"]),
            )
            .await,
        )
        .await;
        assert_eq!(&one["lineItem"], line);
    }
    assert_eq!(order["shippingMethod"]["code"], 1);
    // Kept from the cart: the rate its lines were taxed at, the session's locale.
    assert_eq!(l["pricing"]["taxRate"], json!(0.05), "{l}");
    assert_eq!(order["locale"], app.me(&guest).await["shopper"]["locale"]);
    // 18.00 a unit against 25.00 list: 28 % off.
    assert_eq!(l["pricing"]["discountDescription"], "28%");
    assert_eq!(
        line_of(lines, song)["pricing"]["discountDescription"],
        Value::Null
    );
    assert_eq!(order["pricing"]["shipping"], usd(json!(5.00)));
    assert_eq!(order["pricing"]["incentive"], usd(json!(21.00)));
    assert_eq!(order["pricing"]["formattedIncentive"], "$21.00");
    assert_eq!(order["taxInclusive"], false);
    assert_eq!(line_of(lines, song)["product"]["productType"], "DOWNLOAD");
    // The order shows the card, never the source that paid.
    assert!(!order.to_string().contains(&source), "{order}");
}

#[tokio::test]
async fn product_answers_price_from_the_catalog() {
    let app = spawn_app().await;
    let guest = app.anonymous_pair().await.access;
    let (lamp, song, desk) = shop(&app).await;
    let path = format!("/v1/shoppers/me/products/{lamp}?expand=pricing,volumePricing");
    let product = ok_json(get(&app, &guest, &path).await).await;
    let p = &product["product"];
    assert_eq!(p["productType"], "PHYSICAL");
    assert_eq!(p["purchasable"], true);
    assert_eq!(p["companyId"], SITE);
    assert_eq!(p["displayableProduct"], true);
    assert_eq!(
        (&p["minimumQuantity"], &p["maximumQuantity"]),
        (&json!(1), &json!(10000))
    );
    let pricing = &p["pricing"];
    assert_eq!(pricing["listPrice"], usd(json!(25.00)));
    assert_eq!(pricing["salePriceWithQuantity"], usd(json!(20.00)));
    assert_eq!(pricing["formattedListPrice"], "$25.00");
    assert_eq!(pricing["formattedSalePriceWithQuantity"], "$20.00");
    assert_eq!(pricing["listPriceIncludesTax"], false);
    let volume = &pricing["volumePricing"];
    let tiers: Vec<(Value, Value, Value)> = volume["tier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["from"].clone(),
                t["to"].clone(),
                t["pricing"]["salePriceWithQuantity"]["value"].clone(),
            )
        })
        .collect();
    assert_eq!(
        tiers,
        vec![
            (json!(1), json!(2), json!(20.00)),
            (json!(3), json!(9), json!(54.00)),
            (json!(10), json!(10000), json!(150.00)),
        ]
    );
    assert_eq!(
        volume["tier"][1]["pricing"]["formattedListPriceWithQuantity"],
        "$75.00"
    );
    assert_eq!(volume["formattedSalesPriceRange"], "$15.00-$20.00");
    assert_eq!(
        p["addProductToCart"]["uri"],
        app.url(&format!(
            "/v1/shoppers/me/carts/active/line-items?productId={lamp}"
        ))
    );

    // Without stored tiers: one tier, every quantity at the sale price.
    let path = format!("/v1/shoppers/me/products/{song}/pricing/volume-pricing");
    let volume = ok_json(get(&app, &guest, &path).await).await;
    let tier = &volume["volumePricing"]["tier"];
    assert_eq!(tier.as_array().unwrap().len(), 1, "{volume}");
    assert_eq!(
        (&tier[0]["from"], &tier[0]["to"]),
        (&json!(1), &json!(10000))
    );
    assert_eq!(
        tier[0]["pricing"]["formattedSalePriceWithQuantity"],
        "$1.29"
    );
    assert_eq!(volume["volumePricing"]["formattedSalesPriceRange"], "$1.29");

    // A base product with variations is bought through a variation: no link to add it.
    let base = ok_json(get(&app, &guest, &format!("/v1/shoppers/me/products/{desk}")).await).await;
    assert_eq!(base["product"]["purchasable"], false);
    assert!(base["product"].get("addProductToCart").is_none(), "{base}");

    // A list shows each product's price summary.
    let list = ok_json(get(&app, &guest, "/v1/shoppers/me/products?pageSize=100").await).await;
    let items = list["products"]["product"].as_array().unwrap();
    let song_item = items.iter().find(|i| i["id"] == song).unwrap();
    assert_eq!(song_item["pricing"]["formattedListPrice"], "$1.29");
    assert_eq!(
        song_item["pricing"]["formattedSalePriceWithQuantity"],
        "$1.29"
    );
}

/// Every `uri` (and `cartUri`) in `body`, with the name of the object that holds it.
fn links(body: &Value, holder: &str, out: &mut Vec<(String, String)>) {
    match body {
        Value::Object(map) => {
            for (key, value) in map {
                match value {
                    Value::String(s) if key == "uri" || key == "cartUri" => {
                        let name = if key == "cartUri" { "cartUri" } else { holder };
                        out.push((name.to_owned(), s.clone()));
                    }
                    _ => links(value, key, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| links(i, holder, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_link_in_cart_line_product_and_order_answers_can_be_followed() {
    let app = spawn_app().await;
    let guest = app.anonymous_pair().await.access;
    let (lamp, _, desk) = priced_cart(&app, &guest).await;
    let source = app.create_source(APPROVE_CARD, false).await;
    // A variation's line links to its base product.
    let oak = app.state.store.variations(desk).await.unwrap()[0].id;
    let cart = ok_json(app.add_to_cart(&guest, oak, 1).await).await;
    let line = line_of(&cart["cart"]["lineItems"]["lineItem"], oak);
    assert_eq!(
        line["product"]["parentProduct"],
        json!({"uri": app.url(&format!("/v1/shoppers/me/products/{desk}")), "id": desk})
    );

    let mut found = Vec::new();
    for path in [
        "/v1/shoppers/me/carts/active".to_owned(),
        "/v1/shoppers/me/carts/active/line-items".to_owned(),
        "/v1/shoppers/me/carts/active/shipping-options".to_owned(),
        format!("/v1/shoppers/me/products/{lamp}?expand=all"),
        format!("/v1/shoppers/me/products/{desk}?expand=all"),
        "/v1/shoppers/me/products?expand=all&pageSize=100".to_owned(),
        "/v1/shoppers/me/categories".to_owned(),
    ] {
        links(
            &ok_json(get(&app, &guest, &path).await).await,
            "",
            &mut found,
        );
    }
    let cart = ok_json(get(&app, &guest, "/v1/shoppers/me/carts/active").await).await;
    // Links only to served routes (`views::served_link`): its payment methods now are, and the
    // link is followed below with the others.
    assert_eq!(
        cart["cart"]["paymentMethods"]["uri"],
        app.url("/v1/shoppers/me/carts/active/payment-methods"),
        "{cart}"
    );
    let submit = cart["cart"]["submitCart"]["uri"]
        .as_str()
        .unwrap()
        .to_owned();
    found.retain(|(_, uri)| uri != &submit);

    let mut followed = 0;
    for (holder, uri) in &found {
        assert!(uri.starts_with(&app.url("/v1/")), "{holder}: {uri}");
        let response = match holder.as_str() {
            "applyPaymentMethod" => {
                let body = json!({"paymentMethod": {"sourceId": source}});
                post(&app, &guest, uri, Some(body)).await
            }
            "addProductToCart" | "cartUri" | "applyShippingOptionToCart" => {
                post(&app, &guest, uri, None).await
            }
            _ => follow(&app, &guest, uri).await,
        };
        let status = response.status();
        // The web checkout transfers the browser, as documented: `302 Found`.
        if holder == "webCheckout" {
            assert_eq!(status, 302, "{holder} {uri}");
            followed += 1;
            continue;
        }
        assert!(status.is_success(), "{holder} {uri}: {status}");
        followed += 1;
    }
    assert!(followed > 20, "only {followed} links followed");

    // Last, the cart's submit link, then every link of the order it answers.
    let submitted = ok_json(post(&app, &guest, &submit, None).await).await;
    let mut order_links = Vec::new();
    links(&submitted, "", &mut order_links);
    assert!(order_links.len() > 5, "{submitted}");
    for (holder, uri) in order_links {
        if uri == submit {
            continue;
        }
        let status = follow(&app, &guest, &uri).await.status();
        assert!(status.is_success(), "{holder} {uri}: {status}");
    }
}
