//! Runs the real binary with debug logging (JSON lines), drives every flow that hands out or
//! receives a secret, and greps everything it logged for those secrets. Also checks that
//! request log lines carry the request id, and that debug is not drowned in driver noise.
use crate::helpers::{LoggingBinary, send_json};
use base64::Engine as _;
use serde_json::Value;

#[tokio::test]
async fn debug_logs_never_contain_tokens_secrets_or_passwords() {
    let server = LoggingBinary::start(Some("debug")).await;
    let base = server.base.clone();
    // The demo credentials: printed once to stdout, not logged.
    let public = server.demo_str("/demo/public_client/api_key");
    let conf = server.demo_str("/demo/confidential_client/api_key");
    let conf_secret = server.demo_str("/demo/confidential_client/secret");
    let username = server.demo_str("/demo/shopper/username");
    let password = server.demo_str("/demo/shopper/password");
    // With them, the demo's coupon code and point of promotion.
    assert_eq!(server.demo_str("/demo/offers/coupon_codes/0"), "WELCOME10");
    assert_eq!(
        server.demo_str("/demo/offers/point_of_promotions/0"),
        "Home_topSeller"
    );
    let wrong_password = "not-the-password-9f3a1c";

    let http = reqwest::Client::new();
    let mut secrets = vec![
        conf_secret.clone(),
        password.clone(),
        wrong_password.to_owned(),
        base64::engine::general_purpose::STANDARD.encode(format!("{conf}:{conf_secret}")),
    ];
    let token = |form: Vec<(&'static str, String)>, basic: (String, Option<String>)| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let r = http
                .post(format!("{base}/oauth20/token"))
                .basic_auth(basic.0, basic.1)
                .form(&form)
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()
        }
    };
    let public_auth = (public.clone(), None::<String>);
    let conf_auth = (conf.clone(), Some(conf_secret.clone()));
    let mut pairs = vec![
        token(vec![("grant_type", "password".into())], public_auth.clone()).await,
        token(
            vec![
                ("grant_type", "password".into()),
                ("username", username.clone()),
                ("password", password.clone()),
            ],
            public_auth.clone(),
        )
        .await,
        token(
            vec![("grant_type", "client_credentials".into())],
            conf_auth.clone(),
        )
        .await,
    ];
    let failed = token(
        vec![
            ("grant_type", "password".into()),
            ("username", username.clone()),
            ("password", wrong_password.into()),
        ],
        public_auth.clone(),
    )
    .await;
    assert_eq!(failed["error"], "invalid_grant");
    // The demo staff user signs in through /auth with the demo confidential key (which has
    // the Admin APIs permission); its password and token are not logged either.
    let staff_name = server.demo_str("/demo/staff/username");
    let staff_password = server.demo_str("/demo/staff/password");
    let staff = http
        .post(format!("{base}/auth"))
        .basic_auth(&conf, Some(&conf_secret))
        .form(&[
            ("grant_type", "password"),
            ("username", staff_name.as_str()),
            ("password", staff_password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(staff.status(), 200);
    let staff_token = staff.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let log = http
        .get(format!("{base}/v1/staff-users/{staff_name}/log"))
        .bearer_auth(&staff_token)
        .send()
        .await
        .unwrap();
    assert_eq!(log.status(), 200);
    secrets.push(staff_password);
    secrets.push(staff_token);
    let refresh = pairs[1]["refresh_token"].as_str().unwrap().to_owned();
    let refreshed = token(
        vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", refresh.clone()),
        ],
        public_auth.clone(),
    )
    .await;
    // A replay inside the grace window (the same pair again).
    token(
        vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", refresh),
        ],
        public_auth.clone(),
    )
    .await;
    pairs.push(refreshed);
    let legacy: Value =
        send_json(http.get(format!("{base}/v1/shoppers/token?apiKey={public}"))).await;
    pairs.push(legacy);
    for p in &pairs {
        let access = p["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{p}"))
            .to_owned();
        let refresh = p["refresh_token"].as_str().unwrap().to_owned();
        // Token in the header and in the query string.
        http.get(format!("{base}/oauth20/access-tokens"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        http.get(format!("{base}/oauth20/access-tokens?token={access}"))
            .send()
            .await
            .unwrap();
        http.post(format!("{base}/oauth20/introspect"))
            .basic_auth(&conf, Some(&conf_secret))
            .form(&[("token", &access)])
            .send()
            .await
            .unwrap();
        secrets.push(access);
        secrets.push(refresh);
    }
    let last = pairs.last().unwrap();
    http.post(format!("{base}/oauth20/revoke"))
        .basic_auth(&public, None::<&str>)
        .form(&[("token", last["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    http.delete(format!("{base}/oauth20/access-tokens"))
        .bearer_auth(pairs[0]["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();

    // The hosted web checkout: its one-time handle, the browser's cookie and a card number
    // posted on the payment page.
    let fresh = token(vec![("grant_type", "password".into())], public_auth.clone()).await;
    let guest = fresh["access_token"].as_str().unwrap().to_owned();
    secrets.push(guest.clone());
    secrets.push(fresh["refresh_token"].as_str().unwrap().to_owned());
    let no_redirects = crate::helpers::browser();
    let transfer = no_redirects
        .get(format!(
            "{base}/v1/shoppers/me/carts/active/web-checkout?productId=1"
        ))
        .bearer_auth(&guest)
        .send()
        .await
        .unwrap();
    assert_eq!(transfer.status(), 302);
    let location = transfer.headers()["location"].to_str().unwrap().to_owned();
    let handle = location.rsplit("h=").next().unwrap().to_owned();
    let entered = no_redirects.get(&location).send().await.unwrap();
    assert_eq!(entered.status(), 303);
    let cookie = entered.headers()["set-cookie"].to_str().unwrap().to_owned();
    let cookie_handle = cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, v)| v.to_owned())
        .unwrap();
    let payment = format!("{base}/store/demo/checkout/payment");
    let html = no_redirects
        .get(&payment)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let needle = "name=\"csrf_token\" value=\"";
    let at = html.find(needle).unwrap() + needle.len();
    let csrf = html[at..].split('"').next().unwrap().to_owned();
    let card = "4111111111111111";
    no_redirects
        .post(&payment)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("card_name", "Ada Lovelace"),
            ("card_number", card),
            ("card_exp_month", "12"),
            ("card_exp_year", "2035"),
            ("card_cvv", "123"),
        ])
        .send()
        .await
        .unwrap();
    secrets.extend([handle, cookie_handle, card.to_owned()]);

    // SIGTERM: a graceful stop.
    let logs = server.stop();

    assert!(
        logs.lines().count() > 20,
        "debug logging produced too little: {logs}"
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret appears in the logs"
        );
    }
    // Every request's line, and every line logged while serving one, names the request id;
    // the drivers stay quiet at debug unless named (no statement per query).
    let mut request_lines = 0;
    for line in logs.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        let target = v["target"].as_str().unwrap_or("");
        assert!(
            !["sqlx", "hyper", "tower", "mio"]
                .iter()
                .any(|noisy| target.starts_with(noisy)),
            "driver noise at debug: {line}"
        );
        let id = if target == "shopkeeper::request" {
            request_lines += 1;
            &v["fields"]["request_id"]
        } else if v["span"]["name"] == "request" {
            &v["span"]["request_id"]
        } else {
            continue;
        };
        assert!(
            id.as_str().is_some_and(|id| !id.is_empty()),
            "no request id: {line}"
        );
    }
    assert!(request_lines > 10, "{logs}");
}
