//! The offer and point-of-promotion reads (`how-to-use-offers.md`, the POP pages): the
//! documented shapes, what a shopper is shown (never coupon offers; promotional-URL offers in
//! POP lists only; only enabled offers inside their window, by the test clock), 404s,
//! `expand=all`, the price a product offer shows, XML, and that every `uri` answers.

use crate::checkout::catalog;
use crate::helpers::*;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};
use shopkeeper::domain::time::iso8601;

const OFFERS: &str = "/v1/shoppers/me/offers";
const POPS: &str = "/v1/shoppers/me/point-of-promotions";

async fn create_offer(app: &TestApp, definition: Value) -> i64 {
    shopkeeper::offers::create(&app.state.store, SITE, &definition.to_string(), app.now())
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

async fn pop(app: &TestApp, name: &str, offers: &[i64]) {
    let store = &app.state.store;
    shopkeeper::offers::create_pop(store, SITE, name, app.now())
        .await
        .unwrap();
    for id in offers {
        shopkeeper::offers::add_to_pop(store, SITE, name, *id)
            .await
            .unwrap();
    }
}

/// `GET path` with the public API key alone: status and body.
async fn get_key(app: &TestApp, path: &str) -> (u16, Value) {
    let r = app
        .http
        .get(app.url(path))
        .query(&[("apiKey", app.public_key.as_str())])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn ok_key(app: &TestApp, path: &str) -> Value {
    let (status, body) = get_key(app, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

async fn not_found_key(app: &TestApp, path: &str) {
    let (status, body) = get_key(app, path).await;
    assert_eq!(status, 404, "{path}: {body}");
    assert_eq!(
        body["errors"]["error"][0]["code"], "resource-not-found",
        "{body}"
    );
}

fn ids(list: &Value) -> Vec<i64> {
    list["offer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect()
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

/// Every `uri` in `v` but the `addProductToCart` links (`POST` routes).
fn uris(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (key, value) in map {
                match value {
                    Value::String(s) if key == "uri" => out.push(s.clone()),
                    _ if key == "addProductToCart" => {}
                    _ => uris(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| uris(i, out)),
        _ => {}
    }
}

/// Follows every `uri` of `answer` as the bearer of `token`: each answers 200.
async fn follow_all(app: &TestApp, token: &str, answer: &Value) -> usize {
    let mut found = Vec::new();
    uris(answer, &mut found);
    for uri in &found {
        let r = app.http.get(uri).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), 200, "{uri}");
    }
    found.len()
}

struct Offers {
    product: i64,
    /// A base product with variations, and one of its variations.
    keyboard: i64,
    variation: i64,
    software: i64,
    /// Always-triggered: 15 % off `product`.
    percent: i64,
    /// Always-triggered cross-sell of `product` and `keyboard`, on the software category.
    cross_sell: i64,
    coupon: i64,
    promotional: i64,
    disabled: i64,
    /// Always-triggered, order level, no products: every scope's.
    order: i64,
    /// Always-triggered, item level, on `variation` only.
    variation_offer: i64,
}

async fn offers(app: &TestApp) -> Offers {
    let (product, variation) = catalog(app).await;
    let store = &app.state.store;
    let keyboard = store
        .product(&site_id(), variation)
        .await
        .unwrap()
        .unwrap()
        .base_product_id
        .unwrap();
    let software = store
        .categories(&site_id())
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "software")
        .unwrap()
        .id;
    let percent = create_offer(
        app,
        json!({"name": "Launch week", "type": "Discount", "percentOff": "15",
               "productIds": [product], "salesPitch": "Header message\nFooter message",
               "image": "https://example.com/promo.gif"}),
    )
    .await;
    let cross_sell = create_offer(
        app,
        json!({"name": "Protect it", "type": "Cross-sell", "productIds": [product, keyboard],
               "categoryIds": [software]}),
    )
    .await;
    let coupon = create_offer(
        app,
        json!({"name": "Secret", "type": "Discount", "trigger": "coupon", "percentOff": "50",
               "productIds": [product], "couponCodes": ["SECRET50"]}),
    )
    .await;
    let promotional = create_offer(
        app,
        json!({"name": "Newsletter", "type": "Discount", "trigger": "promotional-url",
               "percentOff": "20", "productIds": [product]}),
    )
    .await;
    let disabled = create_offer(
        app,
        json!({"name": "Off", "type": "Discount", "percentOff": "30", "enabled": false}),
    )
    .await;
    let order = create_offer(
        app,
        json!({"name": "Order", "type": "Discount", "level": "order",
               "amountOff": {"currency": "USD", "value": "1.00"}}),
    )
    .await;
    let variation_offer = create_offer(
        app,
        json!({"name": "Keys", "type": "Discount", "percentOff": "5",
               "productIds": [variation]}),
    )
    .await;
    Offers {
        product,
        keyboard,
        variation,
        software,
        percent,
        cross_sell,
        coupon,
        promotional,
        disabled,
        order,
        variation_offer,
    }
}

#[tokio::test]
async fn offer_lists_offers_and_product_offers_have_the_documented_shapes() {
    let app = spawn_app().await;
    let o = offers(&app).await;

    // R1: always-triggered offers only, as briefs.
    let list = ok_key(&app, OFFERS).await;
    let offers = &list["offers"];
    assert_eq!(
        ids(offers),
        vec![o.percent, o.cross_sell, o.order, o.variation_offer],
        "{list}"
    );
    assert_eq!(offers["uri"], app.url(OFFERS));
    assert_eq!(offers["totalResults"], 4);
    assert_eq!(offers["totalResultPages"], 1);
    assert_eq!(offers["pageNumber"], 1);
    let brief = &offers["offer"][0];
    assert_eq!(
        keys(brief),
        vec![
            "categoryOffers",
            "id",
            "name",
            "offerBundleGroups",
            "productOffers",
            "trigger",
            "uri"
        ],
        "{brief}"
    );
    assert_eq!(brief["uri"], app.url(&format!("{OFFERS}/{}", o.percent)));
    assert_eq!(brief["name"], "Launch week");
    assert_eq!(brief["trigger"], "Always Triggered");
    assert_eq!(
        brief["productOffers"],
        json!({"uri": app.url(&format!("{OFFERS}/{}/product-offers", o.percent))})
    );
    assert_eq!(brief["categoryOffers"], json!({}));
    assert_eq!(brief["offerBundleGroups"], json!({}));
    // The cross-sell covers a category: its category offers are linked.
    assert_eq!(
        offers["offer"][1]["categoryOffers"]["uri"],
        app.url(&format!("{OFFERS}/{}/category-offers", o.cross_sell))
    );

    // Paging as the products do.
    let page = ok_key(&app, &format!("{OFFERS}?pageSize=3&pageNumber=2")).await;
    assert_eq!(ids(&page["offers"]), vec![o.variation_offer], "{page}");
    assert_eq!(page["offers"]["totalResultPages"], 2);
    assert!(page["offers"]["previousPage"]["uri"].is_string(), "{page}");

    // R2: the full offer, its product offers inline; the sale price is 15 % off the catalog's
    // $39.99: 5.9985 → $6.00 off, $33.99.
    let full = ok_key(&app, &format!("{OFFERS}/{}", o.percent)).await;
    let offer = &full["offer"];
    assert_eq!(offer["id"], o.percent, "{full}");
    assert_eq!(offer["type"], "Discount");
    assert_eq!(offer["trigger"], "Always Triggered");
    assert_eq!(offer["image"], "https://example.com/promo.gif");
    assert_eq!(
        offer["salesPitch"],
        json!(["Header message", "Footer message"])
    );
    assert_eq!(offer["categoryOffers"], json!({}));
    assert_eq!(offer["offerBundleGroups"], json!({}));
    let po = &offer["productOffers"]["productOffer"][0];
    assert_eq!(
        po["uri"],
        app.url(&format!(
            "{OFFERS}/{}/product-offers/{}",
            o.percent, o.product
        ))
    );
    assert!(po["id"].is_i64(), "{po}");
    assert_eq!(po["id"], o.product);
    assert_eq!(
        keys(&po["product"]),
        vec!["displayName", "id", "thumbnailImage", "uri"]
    );
    assert_eq!(
        po["product"]["uri"],
        app.url(&format!("/v1/shoppers/me/products/{}", o.product))
    );
    let pricing = &po["pricing"];
    assert_eq!(
        pricing["listPrice"],
        json!({"currency": "USD", "value": 49.99})
    );
    assert_eq!(
        pricing["salePriceWithQuantity"],
        json!({"currency": "USD", "value": 33.99}),
        "{pricing}"
    );
    assert_eq!(pricing["formattedListPrice"], "$49.99");
    assert_eq!(pricing["formattedSalePriceWithQuantity"], "$33.99");
    assert_eq!(pricing["totalDiscountWithQuantity"]["value"], 16.0);
    assert_eq!(pricing["discountDescription"], "32%");
    assert_eq!(pricing["listPriceIncludesTax"], "false");
    assert_eq!(po["salesPitch"], offer["salesPitch"]);
    assert_eq!(po["image"], offer["image"]);
    let query = format!("productId={}&offerId={}", o.product, o.percent);
    assert_eq!(
        po["addProductToCart"],
        json!({
            "uri": app.url(&format!("/v1/shoppers/me/carts/active/line-items?{query}")),
            "cartUri": app.url(&format!("/v1/shoppers/me/carts/active?{query}")),
        })
    );

    // R3 and R4.
    let r3 = ok_key(&app, &format!("{OFFERS}/{}/product-offers", o.percent)).await;
    assert_eq!(
        r3["productOffers"]["uri"], offer["productOffers"]["uri"],
        "{r3}"
    );
    assert_eq!(r3["productOffers"]["productOffer"][0], *po);
    let r4 = ok_key(
        &app,
        &format!("{OFFERS}/{}/product-offers/{}", o.percent, o.product),
    )
    .await;
    assert_eq!(r4["productOffer"], *po, "{r4}");

    // A merchandising offer takes nothing off; a base product with variations cannot be
    // added itself.
    let cross = ok_key(&app, &format!("{OFFERS}/{}", o.cross_sell)).await;
    let pos = cross["offer"]["productOffers"]["productOffer"]
        .as_array()
        .unwrap();
    assert_eq!(pos.len(), 2, "{cross}");
    assert_eq!(
        pos[0]["pricing"]["formattedSalePriceWithQuantity"],
        "$39.99"
    );
    assert_eq!(pos[0]["salesPitch"], json!([]));
    assert_eq!(pos[1]["id"], o.keyboard);
    assert!(pos[1].get("addProductToCart").is_none(), "{}", pos[1]);
    assert_eq!(cross["offer"]["type"], "Cross-sell");

    // R5: the category offers (shaped like product offers).
    let r5 = ok_key(&app, &format!("{OFFERS}/{}/category-offers", o.cross_sell)).await;
    let category = &r5["categoryOffers"]["categoryOffer"][0];
    assert_eq!(category["id"], o.software, "{r5}");
    assert_eq!(
        category["uri"],
        app.url(&format!("/v1/shoppers/me/categories/{}", o.software))
    );
    let none = ok_key(&app, &format!("{OFFERS}/{}/category-offers", o.percent)).await;
    assert_eq!(none["categoryOffers"]["categoryOffer"], json!([]), "{none}");

    // expand=all: full offers in the list, each product the catalog's with its stock.
    let expanded = ok_key(&app, &format!("{OFFERS}?expand=all")).await;
    let first = &expanded["offers"]["offer"][0];
    assert_eq!(first["salesPitch"][0], "Header message", "{expanded}");
    let product = &first["productOffers"]["productOffer"][0]["product"];
    assert_eq!(product["id"], o.product);
    assert_eq!(
        product["inventoryStatus"]["productIsInStock"], true,
        "{product}"
    );
    assert!(product["pricing"].is_object());

    // R6: the listed offers covering a product (by product, category or every product).
    let r6 = ok_key(
        &app,
        &format!("/v1/shoppers/me/products/{}/offers", o.product),
    )
    .await;
    assert_eq!(
        ids(&r6["offers"]),
        vec![o.percent, o.cross_sell, o.order],
        "{r6}"
    );
    let r6 = ok_key(
        &app,
        &format!("/v1/shoppers/me/products/{}/offers", o.variation),
    )
    .await;
    assert_eq!(ids(&r6["offers"]), vec![o.order, o.variation_offer], "{r6}");

    // Every link of these answers can be followed.
    let token = app.anonymous_pair().await.access;
    let mut followed = 0;
    for answer in [&list, &full, &cross, &r5, &expanded, &r6] {
        followed += follow_all(&app, &token, answer).await;
    }
    assert!(followed > 20, "{followed}");
}

#[tokio::test]
async fn coupon_disabled_unknown_and_out_of_window_offers_are_not_found() {
    let app = spawn_app().await;
    let o = offers(&app).await;
    // Coupon offers never show: not listed, not at their uri nor their parts.
    for path in [
        format!("{OFFERS}/{}", o.coupon),
        format!("{OFFERS}/{}/product-offers", o.coupon),
        format!("{OFFERS}/{}/product-offers/{}", o.coupon, o.product),
        format!("{OFFERS}/{}/category-offers", o.coupon),
        format!("{OFFERS}/{}", o.disabled),
        format!("{OFFERS}/999999"),
        format!("{OFFERS}/abc"),
        // A product the offer does not have, and one that does not exist.
        format!("{OFFERS}/{}/product-offers/{}", o.percent, o.variation),
        format!("{OFFERS}/{}/product-offers/999999", o.percent),
        "/v1/shoppers/me/products/999999/offers".to_owned(),
    ] {
        not_found_key(&app, &path).await;
    }
    // A promotional-URL offer is not listed but answers at its uri (POP lists link to it).
    let list = ok_key(&app, OFFERS).await;
    assert!(!ids(&list["offers"]).contains(&o.promotional), "{list}");
    assert!(!ids(&list["offers"]).contains(&o.coupon));
    let promo = ok_key(&app, &format!("{OFFERS}/{}", o.promotional)).await;
    assert_eq!(promo["offer"]["trigger"], "User Triggered", "{promo}");

    // A window, by the server's clock: hidden before, shown inside, hidden after.
    let start = app.now() + 3_600;
    let windowed = create_offer(
        &app,
        json!({"name": "Later", "type": "Discount", "percentOff": "10",
               "startsAt": iso8601(start), "endsAt": iso8601(start + 3_600)}),
    )
    .await;
    let path = format!("{OFFERS}/{windowed}");
    not_found_key(&app, &path).await;
    app.advance_clock(3_601).await;
    ok_key(&app, &path).await;
    assert!(ids(&ok_key(&app, OFFERS).await["offers"]).contains(&windowed));
    app.advance_clock(3_600).await;
    not_found_key(&app, &path).await;
    assert!(!ids(&ok_key(&app, OFFERS).await["offers"]).contains(&windowed));

    // Disabling an offer hides it at once.
    shopkeeper::offers::set_enabled(&app.state.store, SITE, o.percent, false, app.now())
        .await
        .unwrap();
    not_found_key(&app, &format!("{OFFERS}/{}", o.percent)).await;

    // An offer whose uses are all taken is not shown either (it beats the $1.00 order offer).
    let once = create_offer(
        &app,
        json!({"name": "Once", "type": "Discount", "level": "order",
               "amountOff": {"currency": "USD", "value": "2.00"}, "totalLimit": 1}),
    )
    .await;
    let path = format!("{OFFERS}/{once}");
    ok_key(&app, &path).await;
    let token = app.anonymous_pair().await.access;
    app.buy(&token, o.product).await;
    not_found_key(&app, &path).await;
    assert!(!ids(&ok_key(&app, OFFERS).await["offers"]).contains(&once));
}

#[tokio::test]
async fn points_of_promotion_show_their_offers_in_rank_for_the_site_a_product_and_the_cart() {
    let app = spawn_app().await;
    let o = offers(&app).await;
    let ranked = [
        o.promotional,
        o.percent,
        o.coupon,
        o.variation_offer,
        o.disabled,
        o.cross_sell,
    ];
    pop(&app, "Home_topSeller", &ranked).await;
    pop(&app, "CandyRack_ShoppingCart", &[o.order, o.cross_sell]).await;

    // R7, R8: POPs by name, the types of the offers they show.
    let list = ok_key(&app, POPS).await;
    let pops = &list["pointOfPromotions"];
    assert_eq!(pops["uri"], app.url(POPS), "{list}");
    let home = &pops["pointOfPromotion"][1];
    assert_eq!(
        keys(home),
        vec!["id", "offerTypes", "offers", "uri"],
        "{home}"
    );
    assert_eq!(home["id"], "Home_topSeller");
    assert_eq!(home["uri"], app.url(&format!("{POPS}/Home_topSeller")));
    assert_eq!(
        home["offers"]["uri"],
        app.url(&format!("{POPS}/Home_topSeller/offers"))
    );
    assert_eq!(home["offerTypes"], json!(["Discount", "Cross-sell"]));
    assert_eq!(pops["pointOfPromotion"][0]["id"], "CandyRack_ShoppingCart");
    let one = ok_key(&app, &format!("{POPS}/Home_topSeller")).await;
    assert_eq!(one["pointOfPromotion"], *home, "{one}");

    // R9: in rank; promotional-URL offers shown, coupon and disabled ones never.
    let offers = ok_key(&app, &format!("{POPS}/Home_topSeller/offers")).await;
    assert_eq!(
        ids(&offers["offers"]),
        vec![o.promotional, o.percent, o.variation_offer, o.cross_sell],
        "{offers}"
    );
    assert_eq!(
        offers["offers"]["uri"],
        app.url(&format!("{POPS}/Home_topSeller/offers"))
    );
    assert_eq!(offers["offers"]["totalResults"], 4);
    assert_eq!(offers["offers"]["offer"][0]["trigger"], "User Triggered");
    let expanded = ok_key(&app, &format!("{POPS}/Home_topSeller/offers?expand=all")).await;
    assert!(
        expanded["offers"]["offer"][0]["productOffers"]["productOffer"][0]["pricing"].is_object(),
        "{expanded}"
    );

    // R10–R12: a product's POPs, and the offers of a POP that cover the product.
    let product_pops = format!("/v1/shoppers/me/products/{}/point-of-promotions", o.product);
    let r10 = ok_key(&app, &product_pops).await;
    assert_eq!(
        r10["pointOfPromotions"]["pointOfPromotion"][1]["uri"],
        app.url(&format!("{product_pops}/Home_topSeller")),
        "{r10}"
    );
    let r11 = ok_key(&app, &format!("{product_pops}/Home_topSeller")).await;
    assert_eq!(
        r11["pointOfPromotion"]["offerTypes"],
        json!(["Discount", "Cross-sell"]),
        "{r11}"
    );
    let r12 = ok_key(&app, &format!("{product_pops}/Home_topSeller/offers")).await;
    assert_eq!(
        ids(&r12["offers"]),
        vec![o.promotional, o.percent, o.cross_sell],
        "{r12}"
    );

    // R13–R15: the cart's; its POP offers are those covering a product in the cart, or every
    // product.
    let token = app.anonymous_pair().await.access;
    let cart_pops = "/v1/shoppers/me/carts/active/point-of-promotions";
    let r13 = app.get_ok(&token, cart_pops).await;
    assert_eq!(
        r13["pointOfPromotions"]["pointOfPromotion"][0]["offers"]["uri"],
        app.url(&format!("{cart_pops}/CandyRack_ShoppingCart/offers")),
        "{r13}"
    );
    let candy = format!("{cart_pops}/CandyRack_ShoppingCart/offers");
    assert_eq!(
        ids(&app.get_ok(&token, &candy).await["offers"]),
        vec![o.order]
    );
    ok_json(app.add_to_cart(&token, o.product, 1).await).await;
    let r15 = app.get_ok(&token, &candy).await;
    assert_eq!(ids(&r15["offers"]), vec![o.order, o.cross_sell], "{r15}");
    let r14 = app
        .get_ok(&token, &format!("{cart_pops}/CandyRack_ShoppingCart"))
        .await;
    assert_eq!(
        r14["pointOfPromotion"]["offerTypes"],
        json!(["Discount", "Cross-sell"]),
        "{r14}"
    );
    let home_cart = app
        .get_ok(&token, &format!("{cart_pops}/Home_topSeller/offers"))
        .await;
    assert_eq!(
        ids(&home_cart["offers"]),
        vec![o.promotional, o.percent, o.cross_sell],
        "{home_cart}"
    );
    // The cart's POPs need a token.
    let (status, _) = get_key(&app, cart_pops).await;
    assert_eq!(status, 401);

    // Unknown POPs and products.
    for path in [
        format!("{POPS}/Nowhere"),
        format!("{POPS}/Nowhere/offers"),
        format!("{product_pops}/Nowhere"),
        format!("{product_pops}/Nowhere/offers"),
        "/v1/shoppers/me/products/999999/point-of-promotions".to_owned(),
        "/v1/shoppers/me/products/999999/point-of-promotions/Home_topSeller/offers".to_owned(),
    ] {
        not_found_key(&app, &path).await;
    }
    for path in [
        format!("{cart_pops}/Nowhere"),
        format!("{cart_pops}/Nowhere/offers"),
    ] {
        crate::checkout::shopper_error(app.get_as(&token, &path).await, 404, "resource-not-found")
            .await;
    }

    // Every link can be followed.
    for answer in [&list, &offers, &expanded, &r10, &r12, &r13, &r15] {
        follow_all(&app, &token, answer).await;
    }
}

#[tokio::test]
async fn an_offer_answers_in_xml_and_jsonp_too() {
    let app = spawn_app().await;
    let o = offers(&app).await;
    let path = format!("{OFFERS}/{}", o.percent);
    let r = app
        .http
        .get(app.url(&path))
        .query(&[("apiKey", app.public_key.as_str())])
        .header(ACCEPT, "application/xml")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()[CONTENT_TYPE].to_str().unwrap(),
        "application/xml; charset=utf-8"
    );
    let body = r.text().await.unwrap();
    let read = shopkeeper::http::xml::to_json(body.as_bytes()).unwrap();
    let offer = &read["offer"];
    assert_eq!(offer["name"], "Launch week", "{body}");
    assert_eq!(offer["trigger"], "Always Triggered");
    assert_eq!(
        offer["productOffers"]["productOffer"]["pricing"]["formattedSalePriceWithQuantity"],
        "$33.99",
        "{body}"
    );

    let jsonp = app
        .http
        .get(app.url(&format!("{POPS}.json")))
        .query(&[("apiKey", app.public_key.as_str()), ("callback", "show")])
        .send()
        .await
        .unwrap();
    assert_eq!(jsonp.status(), 200);
    let text = jsonp.text().await.unwrap();
    assert!(text.contains("show("), "{text}");
    assert!(text.contains("pointOfPromotions"), "{text}");
}
