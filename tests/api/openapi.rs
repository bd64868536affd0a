//! The OpenAPI document matches the router: every routed path is documented, every documented
//! operation is routed. Shopper API resources are routed from the access table, so for them
//! "routed" means a provided row of that table (tests/api/policy.rs checks the router against
//! the table).
use crate::helpers::*;
use serde_json::{Value, json};
use shopkeeper::domain::access_policy::ROUTES;
use shopkeeper::domain::admin_policy::ADMIN_ROUTES;

fn table_row(method: &str, path: &str) -> bool {
    ROUTES
        .iter()
        .any(|r| r.is_provided() && r.method.eq_ignore_ascii_case(method) && r.path == path)
}

/// The path literals given to `.route(` in the router's source.
fn routed_paths() -> Vec<String> {
    let source = include_str!("../../crates/http/src/lib.rs");
    let mut paths = Vec::new();
    for chunk in source.split(".route(").skip(1) {
        let rest = chunk.trim_start();
        if let Some(rest) = rest.strip_prefix('"') {
            paths.push(rest[..rest.find('"').unwrap()].to_owned());
        }
    }
    paths
}

#[tokio::test]
async fn every_routed_path_is_documented_and_every_documented_operation_is_routed() {
    let app = spawn_app().await;
    let r = app.get("/openapi.json").await;
    let doc: Value = ok_json(r).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let documented = doc["paths"].as_object().unwrap();

    let routed = routed_paths();
    assert!(routed.len() >= 10, "router source not parsed: {routed:?}");
    for path in &routed {
        assert!(
            documented.contains_key(path),
            "{path} is routed but not in /openapi.json"
        );
    }
    for row in ROUTES.iter().filter(|r| r.is_provided()) {
        assert!(
            documented
                .get(row.path)
                .and_then(|item| item.get(row.method.to_lowercase()))
                .is_some(),
            "{} {} is provided by the access table but not documented",
            row.method,
            row.path
        );
    }
    for row in ADMIN_ROUTES.iter().filter(|r| r.is_provided()) {
        assert!(
            documented
                .get(row.path)
                .and_then(|item| item.get(row.method.to_lowercase()))
                .is_some(),
            "{} {} is provided by the admin access table but not documented",
            row.method,
            row.path
        );
    }
    for (path, item) in documented {
        for method in item.as_object().unwrap().keys() {
            if table_row(method, path) {
                continue;
            }
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            // Concrete values for templated segments are enough to reach the route.
            let concrete = path
                .replace("{site_id}", SITE)
                .replace('{', "x")
                .replace('}', "");
            let r = app
                .http
                .request(method.clone(), app.url(&concrete))
                .send()
                .await
                .unwrap();
            assert!(
                r.status() != 404 && r.status() != 405,
                "{method} {path} is documented but answers {}",
                r.status()
            );
        }
    }
    // Each operation states its access and documents its error responses.
    for (path, item) in documented {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["description"].as_str().unwrap_or("").contains("Access"),
                "{method} {path}: no access level"
            );
        }
    }
}

/// Every `"$ref"` in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (key, value) in map {
                match value {
                    Value::String(s) if key == "$ref" => out.push(s.clone()),
                    _ => refs(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| refs(i, out)),
        _ => {}
    }
}

/// The schema `schema` is, its `$ref` followed.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => resolve(
            doc,
            &doc["components"]["schemas"][r.rsplit('/').next().unwrap()],
        ),
        None => schema,
    }
}

/// The property names of an object schema (`oneOf` alternatives and `allOf` parts, which a
/// flattened field becomes, together).
fn properties(doc: &Value, schema: &Value) -> Vec<String> {
    let schema = resolve(doc, schema);
    let mut names: Vec<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for part in ["oneOf", "allOf"] {
        for alternative in schema[part].as_array().into_iter().flatten() {
            names.extend(properties(doc, alternative));
        }
    }
    names
}

#[tokio::test]
async fn shopper_api_answers_are_described_by_their_typed_views() {
    use shopkeeper::http::openapi::response_view;
    let app = spawn_app().await;
    let doc: Value = ok_json(app.get("/openapi.json").await).await;
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut found = Vec::new();
    refs(&doc, &mut found);
    for r in &found {
        let name = r.strip_prefix("#/components/schemas/").unwrap();
        assert!(schemas.contains_key(name), "{r} does not resolve");
    }
    // Each route with a view answers 200 with that view's schema.
    let mut described = 0;
    for row in ROUTES.iter().filter(|r| r.is_provided()) {
        let Some(view) = response_view(row.method, row.path) else {
            continue;
        };
        let op = &doc["paths"][row.path][row.method.to_lowercase()];
        let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
        assert_eq!(
            schema["$ref"],
            format!("#/components/schemas/{view}"),
            "{} {}",
            row.method,
            row.path
        );
        described += 1;
    }
    assert!(described >= 30, "only {described} routes described");

    // A live cart's fields are the ones its schema names, and its lines carry productType.
    let (product, _) = crate::checkout::catalog(&app).await;
    let guest = app.anonymous_pair().await.access;
    let cart = ok_json(app.add_to_cart(&guest, product, 1).await).await;
    let envelope = json!({"$ref": "#/components/schemas/CartEnvelope"});
    let cart_schema = &resolve(&doc, &envelope)["properties"]["cart"];
    let mut documented = properties(&doc, cart_schema);
    documented.sort();
    for key in cart["cart"].as_object().unwrap().keys() {
        assert!(
            documented.contains(key),
            "cart.{key} is not in {documented:?}"
        );
    }
    // So are a live product's, its line-product part flattened in (`allOf`).
    let answer = app
        .get_ok(&guest, &format!("/v1/shoppers/me/products/{product}"))
        .await;
    let envelope = json!({"$ref": "#/components/schemas/ProductEnvelope"});
    let product_schema = &resolve(&doc, &envelope)["properties"]["product"];
    let documented = properties(&doc, product_schema);
    for key in answer["product"].as_object().unwrap().keys() {
        assert!(
            documented.contains(key),
            "product.{key} is not in {documented:?}"
        );
    }
    let line_schema = resolve(&doc, &doc["components"]["schemas"]["LineProduct"]);
    assert!(
        line_schema["properties"]["productType"].is_object(),
        "{line_schema}"
    );
}
