//! The Admin API's access over real HTTP: API key permissions (a Shopper-only key is refused
//! on the Admin API, an Admin-only key on the Shopper API and the token service), staff users
//! signing in through `POST /auth` with the confidential key, their tokens refused on the
//! Shopper API and shopper tokens refused here, the roles each admin row needs, revocation
//! (sign-out, disable, new roles, new password, the key's Admin permission taken away), the
//! sign-in throttle, and the order log. Helpers here are shared by the admin routes' tests.

use crate::helpers::*;
use serde_json::Value;
use shopkeeper::domain::staff::Roles;
use shopkeeper::domain::{ClientKind, Permissions};
use shopkeeper::provision;

/// A confidential key with the Admin APIs permission (and the Shopper APIs one) on the test site.
pub struct AdminKey {
    pub key: String,
    pub secret: String,
}

impl AdminKey {
    /// The `Authorization` header value: `Basic base64(key:secret)`.
    pub fn basic(&self) -> String {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", self.key, self.secret))
        )
    }
}

async fn key_with(app: &TestApp, permissions: &str) -> AdminKey {
    let created = provision::create_client_with_permissions(
        &app.state.store,
        SITE,
        ClientKind::Confidential,
        &[],
        Permissions::parse_list(permissions).unwrap(),
        app.now(),
    )
    .await
    .unwrap();
    AdminKey {
        key: created.api_key,
        secret: created.secret.unwrap(),
    }
}

pub async fn admin_key(app: &TestApp) -> AdminKey {
    key_with(app, "shopper,admin").await
}

/// The test app's confidential key: Shopper APIs permission only.
pub fn shopper_only_key(app: &TestApp) -> AdminKey {
    AdminKey {
        key: app.confidential_key.clone(),
        secret: app.confidential_secret.clone(),
    }
}

pub const STAFF_PASSWORD: &str = "correct horse battery";

/// Creates a staff user with `roles` (names as the CLI takes them).
pub async fn staff_user(app: &TestApp, username: &str, roles: &[&str]) {
    shopkeeper::staff::create_staff_user(
        &app.state.store,
        &app.state.hasher,
        &site_id(),
        username,
        STAFF_PASSWORD,
        &Roles::parse_list(&roles.join(",")).unwrap(),
        app.now(),
    )
    .await
    .unwrap();
}

/// `POST /auth` with `key` for `username` and `password`.
pub async fn sign_in(
    app: &TestApp,
    key: &AdminKey,
    username: &str,
    password: &str,
) -> reqwest::Response {
    app.http
        .post(app.url("/auth"))
        .header("authorization", key.basic())
        .header("accept", "application/json")
        .form(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

/// A staff token for a new user with `roles`, signed in through `/auth` with `key`.
pub async fn staff_token(app: &TestApp, key: &AdminKey, roles: &[&str]) -> String {
    let username = format!(
        "staff-{}",
        roles.join("-").chars().take(60).collect::<String>()
    );
    let username = format!("{username}-{}", shopkeeper::domain::secret::random_hex(4));
    staff_user(app, &username, roles).await;
    let body = ok_json(sign_in(app, key, &username, STAFF_PASSWORD).await).await;
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);
    body["access_token"].as_str().unwrap().to_owned()
}

/// GET `path` with an `Authorization` header.
pub async fn admin_get(app: &TestApp, authorization: &str, path: &str) -> reqwest::Response {
    app.http
        .get(app.url(path))
        .header("authorization", authorization)
        .send()
        .await
        .unwrap()
}

/// Asserts the Admin API's error shape with `status` and `code`; the error object.
pub async fn assert_admin_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "{:?}", response.url());
    let body: Value = response.json().await.unwrap();
    let errors = body["errors"].as_array().expect("an errors array");
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["code"], code, "{body}");
    assert!(
        errors[0]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    errors[0].clone()
}

/// The demo catalog (without offers) on the test site: its product ids.
pub async fn demo_products(app: &TestApp) -> Vec<i64> {
    let mut file = provision::demo_catalog().unwrap();
    file.offers.clear();
    file.point_of_promotions.clear();
    provision::import_catalog(&app.state.store, SITE, file, app.now())
        .await
        .unwrap()
        .product_ids
}

/// `token` buys `quantity` of `product` with the approving test card: the order's id.
pub async fn placed_order(app: &TestApp, token: &str, product: i64, quantity: i64) -> i64 {
    ok_json(app.add_to_cart(token, product, quantity).await).await;
    let source = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(token, &source).await).await;
    let body = ok_json(app.submit(token).await).await;
    body["submitCart"]["order"]["id"].as_i64().unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn staff_sign_in_through_auth_with_an_admin_key_and_read_the_order_log() {
    let app = spawn_app().await;
    let admin = admin_key(&app).await;
    let products = demo_products(&app).await;
    let shopper = app.shopper_pair().await;
    let order = placed_order(&app, &shopper.access, products[0], 1).await;

    let csr = staff_token(&app, &admin, &["customer-service-representative"]).await;
    let log: Value =
        ok_json(admin_get(&app, &bearer(&csr), &format!("/v1/orders/{order}/log")).await).await;
    assert_eq!(log["entries"], serde_json::json!([]));
    // Unknown and malformed order ids, in the Admin shape.
    for id in ["999999", "nope"] {
        let error = assert_admin_error(
            admin_get(&app, &bearer(&csr), &format!("/v1/orders/{id}/log")).await,
            404,
            "resource-not-found",
        )
        .await;
        assert_eq!(error["subcode"], "invalid-order-id");
    }

    // The staff user's own log (for a Customer Service Director or a Site Manager).
    staff_user(&app, "jane", &["customer-service-director"]).await;
    let jane = ok_json(sign_in(&app, &admin, "JANE", STAFF_PASSWORD).await).await;
    let jane = jane["access_token"].as_str().unwrap().to_owned();
    let mine: Value =
        ok_json(admin_get(&app, &bearer(&jane), "/v1/staff-users/jane/log").await).await;
    assert_eq!(mine["entries"], serde_json::json!([]));
    // ... which the representative may not read.
    let refused = assert_admin_error(
        admin_get(&app, &bearer(&csr), "/v1/staff-users/jane/log").await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        refused["message"],
        "The user is not a Customer Service Director / Site Manager."
    );
    assert_admin_error(
        admin_get(&app, &bearer(&jane), "/v1/staff-users/nobody/log").await,
        404,
        "resource-not-found",
    )
    .await;
}

#[tokio::test]
async fn admin_rows_refuse_shopper_keys_shopper_tokens_bare_keys_and_wrong_roles() {
    let app = spawn_app().await;
    let admin = admin_key(&app).await;
    let products = demo_products(&app).await;
    let shopper = app.shopper_pair().await;
    let order = placed_order(&app, &shopper.access, products[0], 1).await;
    let path = format!("/v1/orders/{order}/log");

    // Nothing at all, a shopper's token, a public key, a wrong secret: 401.
    let r = app.http.get(app.url(&path)).send().await.unwrap();
    assert!(r.headers().contains_key("www-authenticate"));
    assert_admin_error(r, 401, "unauthorized").await;
    assert_admin_error(
        admin_get(&app, &bearer(&shopper.access), &path).await,
        401,
        "unauthorized",
    )
    .await;
    let public = AdminKey {
        key: app.public_key.clone(),
        secret: String::new(),
    };
    assert_admin_error(
        admin_get(&app, &public.basic(), &path).await,
        401,
        "unauthorized",
    )
    .await;
    let wrong = AdminKey {
        key: admin.key.clone(),
        secret: "not-the-secret".into(),
    };
    assert_admin_error(
        admin_get(&app, &wrong.basic(), &path).await,
        401,
        "unauthorized",
    )
    .await;
    // A confidential key with the Shopper APIs permission only: 403.
    let error = assert_admin_error(
        admin_get(&app, &shopper_only_key(&app).basic(), &path).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(error["subcode"], "missing-admin-permission");
    // The Admin key alone, where the row needs a staff user with a role: 401, sign in first.
    let bare = admin_get(&app, &admin.basic(), &path).await;
    assert_eq!(bare.headers()["www-authenticate"], "Bearer realm=\"admin\"");
    assert_admin_error(bare, 401, "unauthorized").await;
    // A staff user without a Customer Service role: 403 in the docs' words.
    let site_manager = staff_token(&app, &admin, &["site-manager"]).await;
    let error = assert_admin_error(
        admin_get(&app, &bearer(&site_manager), &path).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        error["message"],
        "The user is not a Customer Service Director / Customer Service Supervisor / Customer Service Representative."
    );
    // Each Customer Service role passes.
    for role in [
        "customer-service-director",
        "customer-service-supervisor",
        "customer-service-representative",
    ] {
        let token = staff_token(&app, &admin, &[role]).await;
        ok_json(admin_get(&app, &bearer(&token), &path).await).await;
    }
}

#[tokio::test]
async fn staff_tokens_never_work_on_the_shopper_api_and_auth_needs_an_admin_key() {
    let app = spawn_app().await;
    let admin = admin_key(&app).await;
    let token = staff_token(&app, &admin, &["customer-service-director"]).await;
    // On the Shopper API and the token service, a staff token is no token.
    let r = app.get_as(&token, "/v1/shoppers/me").await;
    assert_eq!(r.status(), 401);
    let r = app.access_tokens(&token).await;
    assert_eq!(r.status(), 401);

    staff_user(&app, "sam", &["customer-service-representative"]).await;
    // A Shopper-only confidential key: 403 unauthorized_client; a public key or a wrong
    // secret: 401 invalid_client; wrong password or unknown user: 400 invalid_grant.
    assert_oauth_error(
        sign_in(&app, &shopper_only_key(&app), "sam", STAFF_PASSWORD).await,
        403,
        "unauthorized_client",
    )
    .await;
    let public = AdminKey {
        key: app.public_key.clone(),
        secret: String::new(),
    };
    assert_oauth_error(
        sign_in(&app, &public, "sam", STAFF_PASSWORD).await,
        401,
        "invalid_client",
    )
    .await;
    let wrong = AdminKey {
        key: admin.key.clone(),
        secret: "nope".into(),
    };
    assert_oauth_error(
        sign_in(&app, &wrong, "sam", STAFF_PASSWORD).await,
        401,
        "invalid_client",
    )
    .await;
    assert_oauth_error(
        sign_in(&app, &admin, "sam", "wrong password!").await,
        400,
        "invalid_grant",
    )
    .await;
    assert_oauth_error(
        sign_in(&app, &admin, "nobody", STAFF_PASSWORD).await,
        400,
        "invalid_grant",
    )
    .await;
    // A shopper's credentials are not a staff user's.
    assert_oauth_error(
        sign_in(&app, &admin, SHOPPER_USERNAME, SHOPPER_PASSWORD).await,
        400,
        "invalid_grant",
    )
    .await;
    // Another grant, or credentials in the query string, are refused.
    let r = app
        .http
        .post(app.url("/auth?username=sam&password=x"))
        .header("authorization", admin.basic())
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(r, 400, "invalid_request").await;
    let r = app
        .http
        .post(app.url("/auth"))
        .header("authorization", admin.basic())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(r, 400, "unsupported_grant_type").await;

    // An Admin-only key gets no shopper tokens and cannot call the Shopper API on its own.
    let admin_only = key_with(&app, "admin").await;
    let r = app
        .http
        .post(app.url("/oauth20/token"))
        .basic_auth(&admin_only.key, Some(&admin_only.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(r, 401, "invalid_client").await;
    let r = app
        .http
        .get(app.url(&format!(
            "/v1/shoppers/me/products?apiKey={}",
            admin_only.key
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // ... yet signs staff in.
    ok_json(sign_in(&app, &admin_only, "sam", STAFF_PASSWORD).await).await;
}

#[tokio::test]
async fn staff_tokens_end_on_sign_out_disable_new_roles_new_password_and_lost_permission() {
    let app = spawn_app().await;
    let admin = admin_key(&app).await;
    let products = demo_products(&app).await;
    let shopper = app.shopper_pair().await;
    let order = placed_order(&app, &shopper.access, products[0], 1).await;
    let path = format!("/v1/orders/{order}/log");
    let store = &app.state.store;
    let sign_in_as = |name: &'static str| {
        let app = &app;
        let admin = &admin;
        async move {
            let body = ok_json(sign_in(app, admin, name, STAFF_PASSWORD).await).await;
            bearer(body["access_token"].as_str().unwrap())
        }
    };
    staff_user(&app, "ann", &["customer-service-supervisor"]).await;

    // DELETE /auth signs the token out; a second time there is nothing to sign out.
    let token = sign_in_as("ann").await;
    ok_json(admin_get(&app, &token, &path).await).await;
    let out = |token: String| {
        let app = &app;
        async move {
            app.http
                .delete(app.url("/auth"))
                .header("authorization", token)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(out(token.clone()).await.status(), 204);
    assert_admin_error(admin_get(&app, &token, &path).await, 401, "unauthorized").await;
    assert_eq!(out(token.clone()).await.status(), 401);

    // New roles end the token; the new ones apply at the next sign-in.
    let token = sign_in_as("ann").await;
    let site = site_id();
    store
        .update_staff_user(
            &site,
            "ann",
            shopkeeper::store::StaffChange::Roles(&Roles::parse_list("site-manager").unwrap()),
            app.now(),
        )
        .await
        .unwrap();
    assert_admin_error(admin_get(&app, &token, &path).await, 401, "unauthorized").await;
    let token = sign_in_as("ann").await;
    assert_admin_error(admin_get(&app, &token, &path).await, 403, "forbidden").await;

    // A new password ends it, and the old password no longer signs in.
    shopkeeper::staff::set_staff_password(
        store,
        &app.state.hasher,
        &site,
        "ann",
        "another long password",
        app.now(),
    )
    .await
    .unwrap();
    assert_admin_error(
        admin_get(&app, &token, "/v1/staff-users/ann/log").await,
        401,
        "unauthorized",
    )
    .await;
    assert_oauth_error(
        sign_in(&app, &admin, "ann", STAFF_PASSWORD).await,
        400,
        "invalid_grant",
    )
    .await;
    let body = ok_json(sign_in(&app, &admin, "ann", "another long password").await).await;
    let token = bearer(body["access_token"].as_str().unwrap());
    ok_json(admin_get(&app, &token, "/v1/staff-users/ann/log").await).await;

    // Disabled: its token ends and it cannot sign in.
    store
        .update_staff_user(
            &site,
            "ann",
            shopkeeper::store::StaffChange::Disabled(true),
            app.now(),
        )
        .await
        .unwrap();
    assert_admin_error(
        admin_get(&app, &token, "/v1/staff-users/ann/log").await,
        401,
        "unauthorized",
    )
    .await;
    assert_oauth_error(
        sign_in(&app, &admin, "ann", "another long password").await,
        400,
        "invalid_grant",
    )
    .await;

    // The key loses the Admin APIs permission: its staff tokens end; its shopper tokens go on.
    staff_user(&app, "bob", &["customer-service-director"]).await;
    let token = sign_in_as("bob").await;
    let key = shopkeeper::domain::ApiKey::parse(&admin.key).unwrap();
    provision::set_client_permissions(store, None, &key, Permissions::SHOPPER, app.now())
        .await
        .unwrap();
    assert_admin_error(admin_get(&app, &token, &path).await, 401, "unauthorized").await;
    // The key loses the Shopper APIs permission: the shopper tokens it issued end.
    let shopper_key = shopper_only_key(&app);
    let r = app
        .http
        .post(app.url("/oauth20/token"))
        .basic_auth(&shopper_key.key, Some(&shopper_key.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let issued = ok_json(r).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.get_as(&issued, "/v1/shoppers/me").await.status(), 200);
    provision::set_client_permissions(
        store,
        Some(&app.state.verifier),
        &shopkeeper::domain::ApiKey::parse(&shopper_key.key).unwrap(),
        Permissions::parse_list("admin").unwrap(),
        app.now(),
    )
    .await
    .unwrap();
    assert_eq!(app.get_as(&issued, "/v1/shoppers/me").await.status(), 401);
    // A public key cannot be given the Admin APIs.
    assert!(
        provision::set_client_permissions(
            store,
            None,
            &app.public_api_key(),
            Permissions::parse_list("shopper,admin").unwrap(),
            app.now(),
        )
        .await
        .is_err()
    );
}

#[tokio::test]
async fn staff_sign_ins_are_throttled_like_shoppers() {
    let app = spawn_app_with(|s| throttle_accounts(s, 3, 60, 600)).await;
    let admin = admin_key(&app).await;
    staff_user(&app, "eve", &["customer-service-director"]).await;
    // Three free failures, then the fourth starts a wait.
    for _ in 0..4 {
        assert_oauth_error(
            sign_in(&app, &admin, "eve", "not her password").await,
            400,
            "invalid_grant",
        )
        .await;
    }
    // Past the throttle even the right password waits, told how long.
    let r = sign_in(&app, &admin, "eve", STAFF_PASSWORD).await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0 && wait <= 600, "{wait}");
    // Once the wait has passed (on the test clock), the right password signs in.
    app.advance_clock(wait + 1).await;
    ok_json(sign_in(&app, &admin, "eve", STAFF_PASSWORD).await).await;
}

#[tokio::test]
async fn the_audit_log_refuses_updates_and_deletes_on_either_engine() {
    use sqlx::Connection;
    let app = spawn_app().await;
    let insert = "INSERT INTO audit_log (site_id, at, api_key, action, subject_type, subject_id) \
                  VALUES ('testsite', 1, 'k', 'test.done', 'order', '1')";
    let edits = [
        "UPDATE audit_log SET action = 'forged'",
        "DELETE FROM audit_log",
    ];
    let refused: Vec<bool> = if suite_on_postgres() {
        let mut conn = sqlx::postgres::PgConnection::connect(&app.database_url)
            .await
            .unwrap();
        sqlx::query(insert).execute(&mut conn).await.unwrap();
        let mut refused = Vec::new();
        for edit in edits {
            refused.push(sqlx::query(edit).execute(&mut conn).await.is_err());
        }
        refused
    } else {
        let mut conn =
            sqlx::sqlite::SqliteConnection::connect(&format!("sqlite://{}", app.db_path.display()))
                .await
                .unwrap();
        sqlx::query(insert).execute(&mut conn).await.unwrap();
        let mut refused = Vec::new();
        for edit in edits {
            refused.push(sqlx::query(edit).execute(&mut conn).await.is_err());
        }
        refused
    };
    assert_eq!(refused, [true, true]);
    let rows = app.state.store.audit_for_site(&site_id()).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].action, "test.done");
}
