//! The OpenAPI document matches the router: every routed path is documented, every documented
//! operation is routed. Shopper API resources are routed from the access table, so for them
//! "routed" means a provided row of that table (tests/api/policy.rs checks the router against
//! the table).
use crate::helpers::*;
use serde_json::Value;
use shopkeeper::domain::access_policy::ROUTES;

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
