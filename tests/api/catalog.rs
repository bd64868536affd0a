//! Catalog routes over real HTTP: lists, paging, `fields`, `expand`, `.json`, search,
//! pricing, volume pricing, inventory, variations, categories, bad input, site isolation.

use crate::helpers::{SITE, TestApp, ok_json, spawn_app};
use serde_json::{Value, json};
use shopkeeper::provision;

async fn app_with_catalog() -> (TestApp, Vec<i64>) {
    let app = spawn_app().await;
    let summary = provision::import_catalog(
        &app.state.store,
        SITE,
        provision::demo_catalog().unwrap(),
        app.now(),
    )
    .await
    .unwrap();
    (app, summary.product_ids)
}

async fn get(app: &TestApp, path: &str, query: &[(&str, &str)]) -> reqwest::Response {
    app.http
        .get(app.url(path))
        .query(&[("apiKey", app.public_key.as_str())])
        .query(query)
        .send()
        .await
        .unwrap()
}

async fn api_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"]["error"][0]["code"], code, "{body}");
    body
}

#[tokio::test]
async fn products_page_with_next_page_and_totals() {
    let (app, ids) = app_with_catalog().await;
    let page1 = ok_json(get(&app, "/v1/shoppers/me/products", &[("pageSize", "1")]).await).await;
    let list = &page1["products"];
    // Two products and the monthly subscription (variations are not counted).
    assert_eq!(list["totalResults"], 3, "{page1}");
    assert_eq!(list["pageNumber"], 1);
    assert_eq!(list["pageSize"], 1);
    assert_eq!(list["product"].as_array().unwrap().len(), 1);
    assert_eq!(list["product"][0]["id"], ids[0]);
    assert!(
        list["product"][0]["uri"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/products/{}", ids[0]))
    );
    let next = list["nextPage"]["uri"].as_str().expect("nextPage");
    let page2 = ok_json(
        app.http
            .get(next)
            .query(&[("apiKey", app.public_key.as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(page2["products"]["product"][0]["id"], ids[1]);
    assert!(page2["products"]["nextPage"]["uri"].is_string());
    assert!(page2["products"]["previousPage"]["uri"].is_string());
    // Variations are listed under their base product, not among the products.
    assert_eq!(page2["products"]["totalResults"], 3);
}

#[tokio::test]
async fn bad_paging_is_400() {
    let (app, _) = app_with_catalog().await;
    for (name, value) in [("pageNumber", "0"), ("pageSize", "1000"), ("pageSize", "x")] {
        api_error(
            get(&app, "/v1/shoppers/me/products", &[(name, value)]).await,
            400,
            "invalid-request",
        )
        .await;
    }
}

#[tokio::test]
async fn fields_select_top_level_and_product_fields() {
    let (app, ids) = app_with_catalog().await;
    let body = ok_json(
        get(
            &app,
            "/v1/shoppers/me/products",
            &[("fields", "product.id,totalResults"), ("pageSize", "1")],
        )
        .await,
    )
    .await;
    assert_eq!(
        body,
        json!({"products": {"totalResults": 3, "product": [{"id": ids[0]}]}})
    );
    let one = ok_json(
        get(
            &app,
            &format!("/v1/shoppers/me/products/{}", ids[0]),
            &[("fields", "product.sku,product.productType")],
        )
        .await,
    )
    .await;
    assert_eq!(
        one,
        json!({"product": {"sku": "DEMO-AV-1Y", "productType": "DOWNLOAD"}})
    );
}

#[tokio::test]
async fn product_with_json_suffix_and_expand() {
    let (app, ids) = app_with_catalog().await;
    let path = format!("/v1/shoppers/me/products/{}.json", ids[0]);
    let plain = ok_json(get(&app, &path, &[]).await).await;
    let p = &plain["product"];
    assert_eq!(p["id"], ids[0]);
    assert_eq!(p["displayName"], "Antivirus Pro (1-year license)");
    // The docs' product answer shows its pricing inline without `expand`; the rest are links.
    assert!(p["pricing"]["uri"].is_string());
    assert_eq!(p["pricing"]["formattedListPrice"], "$49.99", "{p}");
    assert!(p["pricing"]["volumePricing"]["uri"].is_string());
    assert!(p["pricing"]["volumePricing"].get("tier").is_none(), "{p}");
    assert!(
        p["inventoryStatus"].get("status").is_none(),
        "not expanded: {p}"
    );
    let expanded = ok_json(get(&app, &path, &[("expand", "all")]).await).await;
    let p = &expanded["product"];
    assert_eq!(
        p["pricing"]["listPrice"],
        json!({"currency": "USD", "value": 49.99})
    );
    assert_eq!(p["pricing"]["formattedSalePriceWithQuantity"], "$39.99");
    assert_eq!(p["inventoryStatus"]["status"], "PRODUCT_INVENTORY_IN_STOCK");
    assert_eq!(p["categories"]["category"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn pricing_volume_pricing_inventory_variations_and_categories() {
    let (app, ids) = app_with_catalog().await;
    let base = format!("/v1/shoppers/me/products/{}", ids[0]);
    let pricing = ok_json(get(&app, &format!("{base}/pricing"), &[]).await).await;
    assert_eq!(
        pricing["pricing"]["salePriceWithQuantity"]["value"],
        json!(39.99)
    );
    let volume = ok_json(get(&app, &format!("{base}/pricing/volume-pricing"), &[]).await).await;
    assert_eq!(volume["volumePricing"]["pricePoint"][0]["minQuantity"], 5);
    assert_eq!(
        volume["volumePricing"]["pricePoint"][1]["formattedUnitPrice"],
        "$29.99"
    );
    let categories = ok_json(get(&app, &format!("{base}/categories"), &[]).await).await;
    assert_eq!(categories["categories"]["category"][0]["name"], "software");

    let keyboard = format!("/v1/shoppers/me/products/{}", ids[1]);
    let variations = ok_json(get(&app, &format!("{keyboard}/variations"), &[]).await).await;
    let list = variations["variations"]["product"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(list.len(), 2);
    let de = list[1]["id"].as_i64().unwrap();
    let de_path = format!("/v1/shoppers/me/products/{de}");
    let inventory = ok_json(get(&app, &format!("{de_path}/inventory-status"), &[]).await).await;
    assert_eq!(
        inventory["inventoryStatus"]["status"],
        "PRODUCT_INVENTORY_OUT_OF_STOCK"
    );
    assert_eq!(inventory["inventoryStatus"]["productIsInStock"], false);
    let variation = ok_json(get(&app, &de_path, &[]).await).await;
    assert_eq!(
        variation["product"]["variationAttributes"],
        json!({"layout": "DE"})
    );
    assert_eq!(variation["product"]["baseProduct"]["id"], ids[1]);

    let ids_param = format!("{},{de}", ids[0]);
    let many = ok_json(
        get(
            &app,
            "/v1/shoppers/me/products/inventory-status",
            &[("productIds", &ids_param)],
        )
        .await,
    )
    .await;
    let statuses = many["products"]["inventoryStatus"].as_array().unwrap();
    assert_eq!(statuses[0]["status"], "PRODUCT_INVENTORY_IN_STOCK");
    assert_eq!(
        statuses[0]["product"],
        json!({"uri": app.url(&format!("/v1/shoppers/me/products/{}", ids[0])), "id": ids[0],
               "externalReferenceId": "DEMO-AV-1Y", "companyId": SITE})
    );
    assert_eq!(statuses[1]["status"], "PRODUCT_INVENTORY_OUT_OF_STOCK");
    // Without productIds (as the docs call it): a collection naming no product.
    let none = ok_json(get(&app, "/v1/shoppers/me/products/inventory-status", &[]).await).await;
    assert_eq!(none["products"]["inventoryStatus"], json!([]), "{none}");
    api_error(
        get(
            &app,
            "/v1/shoppers/me/products/inventory-status",
            &[("productIds", "1,x")],
        )
        .await,
        400,
        "invalid-request",
    )
    .await;
}

#[tokio::test]
async fn category_tree_and_category_products() {
    let (app, ids) = app_with_catalog().await;
    let tree = ok_json(get(&app, "/v1/shoppers/me/categories.json", &[]).await).await;
    let roots = tree["categories"]["category"].as_array().unwrap();
    assert_eq!(roots.len(), 2, "{tree}");
    assert_eq!(roots[0]["name"], "software");
    let child = &roots[0]["categories"]["category"][0];
    assert_eq!(child["name"], "security");
    let child_id = child["id"].as_i64().unwrap();
    let one =
        ok_json(get(&app, &format!("/v1/shoppers/me/categories/{child_id}"), &[]).await).await;
    assert_eq!(one["category"]["parentCategory"]["id"], roots[0]["id"]);
    // What the import gave, and `null` for the image it did not.
    assert_eq!(
        one["category"]["shortDescription"],
        "Protection for your devices."
    );
    assert_eq!(one["category"]["thumbnailImage"], Value::Null);
    assert_eq!(roots[1]["longDescription"], "", "{tree}");
    let products = ok_json(
        get(
            &app,
            &format!("/v1/shoppers/me/categories/{child_id}/products"),
            &[],
        )
        .await,
    )
    .await;
    assert_eq!(products["products"]["totalResults"], 1);
    assert_eq!(products["products"]["product"][0]["id"], ids[0]);
    api_error(
        get(&app, "/v1/shoppers/me/categories/999999", &[]).await,
        404,
        "resource-not-found",
    )
    .await;
}

#[tokio::test]
async fn search_by_keyword() {
    let (app, ids) = app_with_catalog().await;
    for path in ["/v1/shoppers/me/product-search", "/v1/shoppers/me/products"] {
        let found = ok_json(get(&app, path, &[("keyword", "KEYBOARD")]).await).await;
        assert_eq!(found["products"]["totalResults"], 1, "{path}: {found}");
        assert_eq!(found["products"]["product"][0]["id"], ids[1]);
        let none = ok_json(get(&app, path, &[("keyword", "100%_")]).await).await;
        assert_eq!(none["products"]["totalResults"], 0);
    }
    api_error(
        get(&app, "/v1/shoppers/me/product-search", &[]).await,
        400,
        "invalid-request",
    )
    .await;
}

#[tokio::test]
async fn unknown_or_foreign_products_are_404() {
    let (app, ids) = app_with_catalog().await;
    api_error(
        get(&app, "/v1/shoppers/me/products/999999", &[]).await,
        404,
        "resource-not-found",
    )
    .await;
    api_error(
        get(&app, "/v1/shoppers/me/products/abc", &[]).await,
        404,
        "resource-not-found",
    )
    .await;
    // Another site's API key does not see this site's catalog.
    let other = app.site_with_public_key("othersite", None).await;
    let response = app
        .http
        .get(app.url(&format!("/v1/shoppers/me/products/{}", ids[0])))
        .query(&[("apiKey", other.as_str())])
        .send()
        .await
        .unwrap();
    api_error(response, 404, "resource-not-found").await;
}

#[tokio::test]
async fn import_validates_and_is_all_or_nothing() {
    let app = spawn_app().await;
    let bad = provision::parse_catalog(
        r#"{"products": [
            {"sku": "OK-1", "name": "ok", "productType": "DIGITAL", "currency": "USD", "listPrice": "1.00"},
            {"sku": "BAD-1", "name": "bad", "productType": "DIGITAL", "currency": "USD", "listPrice": 19.99}
        ]}"#,
    )
    .unwrap();
    let err = provision::import_catalog(&app.state.store, SITE, bad, app.now())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("BAD-1") && err.contains("listPrice"), "{err}");
    let body = ok_json(get(&app, "/v1/shoppers/me/products", &[]).await).await;
    assert_eq!(body["products"]["totalResults"], 0, "nothing imported");
    // Importing twice updates by sku instead of duplicating.
    for _ in 0..2 {
        provision::import_catalog(
            &app.state.store,
            SITE,
            provision::demo_catalog().unwrap(),
            app.now(),
        )
        .await
        .unwrap();
    }
    let body = ok_json(get(&app, "/v1/shoppers/me/products", &[]).await).await;
    assert_eq!(body["products"]["totalResults"], 3);
}

#[tokio::test]
async fn manufacturer_and_custom_attributes_from_the_import_reach_products_and_cart_lines() {
    let app = spawn_app().await;
    let file = json!({"products": [{"sku": "KETTLE", "name": "kettle", "productType": "PHYSICAL",
        "currency": "USD", "listPrice": "30.00", "manufacturerName": "Acme",
        "customAttributes": [{"name": "warrantyYears", "type": "Integer", "value": "2"}],
        "variations": [{"sku": "KETTLE-RED", "name": "red kettle", "productType": "PHYSICAL",
            "currency": "USD", "listPrice": "30.00", "attributes": {"color": "red"},
            "manufacturerName": "Acme"}]}]});
    let catalog = provision::parse_catalog(&file.to_string()).unwrap();
    let summary = provision::import_catalog(&app.state.store, SITE, catalog, app.now())
        .await
        .unwrap();
    let base = summary.product_ids[0];
    let product = ok_json(get(&app, &format!("/v1/shoppers/me/products/{base}"), &[]).await).await;
    assert_eq!(product["product"]["manufacturerName"], "Acme");
    assert_eq!(
        product["product"]["customAttributes"],
        json!({"attribute": [{"name": "warrantyYears", "value": "2", "type": "Integer"}]})
    );
    // The variation lists its own attribute; on a cart line too.
    let variation = app.state.store.variations(base).await.unwrap()[0].id;
    let token = app.anonymous_pair().await.access;
    let cart = ok_json(app.add_to_cart(&token, variation, 1).await).await;
    let line = &cart["cart"]["lineItems"]["lineItem"][0]["product"];
    assert_eq!(
        line["customAttributes"],
        json!({"attribute": [{"name": "color", "value": "red", "type": "String"}]}),
        "{line}"
    );
    assert_eq!(line["manufacturerName"], "Acme");
}
