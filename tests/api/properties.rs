//! Property tests over the pure functions the fuzz targets (`fuzz/`) exercise: parameter
//! parsing, the Basic header, the JSONP callback check, redirect-URI matching, the token
//! codec, and the throttle / rate / client-address rules. They run in `cargo test`.

use base64::Engine as _;
use proptest::prelude::*;
use shopkeeper::auth::PresentedClient;
use shopkeeper::clock::Clock;
use shopkeeper::config::SecuritySettings;
use shopkeeper::domain::authorize::{redirect_uri_registered, valid_jsonp_callback};
use shopkeeper::domain::client_address::{ProxyHeader, client_address};
use shopkeeper::domain::throttle::{FailureRecord, ThrottlePolicy};
use shopkeeper::domain::{SessionToken, TokenValue};
use shopkeeper::guard::Guard;
use shopkeeper::http::params::Params;
use shopkeeper::provision::check_redirect_uri;
use std::net::IpAddr;

fn encode(pairs: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn params_never_panic(query in ".{0,200}", body in proptest::collection::vec(any::<u8>(), 0..300), kind in 0u8..4) {
        let content_type = [None, Some("application/x-www-form-urlencoded"), Some("application/json"), Some("text/html")][kind as usize];
        let _ = Params::parse(Some(&query), content_type, &body);
    }

    #[test]
    fn form_parameters_round_trip(pairs in proptest::collection::btree_map("[a-z_]{1,20}", "[a-zA-Z0-9 &=+%/?#;é中🙂-]{0,40}", 0..10)) {
        let pairs: Vec<(String, String)> = pairs.into_iter().collect();
        let encoded = encode(&pairs);
        let params = Params::parse(None, Some("application/x-www-form-urlencoded"), encoded.as_bytes()).unwrap();
        for (k, v) in &pairs {
            prop_assert_eq!(params.get(k), Some(v.as_str()));
        }
        // The same in the query string merges without conflict.
        let both = Params::parse(Some(&encoded), Some("application/x-www-form-urlencoded"), encoded.as_bytes()).unwrap();
        for (k, v) in &pairs {
            prop_assert_eq!(both.get(k), Some(v.as_str()));
        }
    }

    #[test]
    fn a_parameter_given_twice_is_refused(name in "[a-z]{1,10}", a in "[a-z0-9]{0,10}", b in "[a-z0-9]{0,10}") {
        let body = format!("{name}={a}&{name}={b}");
        prop_assert!(Params::parse(None, Some("application/x-www-form-urlencoded"), body.as_bytes()).is_err());
    }

    #[test]
    fn basic_credentials_round_trip(key in "[A-Za-z0-9_.-]{1,64}", secret in "[ -~]{0,64}") {
        let header = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{key}:{secret}")));
        match PresentedClient::parse(Some(&header), None, None).unwrap() {
            PresentedClient::Basic { key: parsed, secret: parsed_secret } => {
                prop_assert_eq!(parsed.as_str(), key.as_str());
                prop_assert_eq!(parsed_secret, (!secret.is_empty()).then_some(secret));
            }
            other => prop_assert!(false, "{other:?}"),
        }
    }

    #[test]
    fn authorization_header_never_panics(header in "\\PC{0,200}") {
        let _ = PresentedClient::parse(Some(&header), None, None);
    }

    #[test]
    fn jsonp_accepts_dotted_identifiers_only(name in "\\PC{0,40}") {
        if valid_jsonp_callback(&name) {
            prop_assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.')));
            prop_assert!(!name.split('.').any(|part| part.is_empty() || part.as_bytes()[0].is_ascii_digit()));
        }
    }

    #[test]
    fn jsonp_accepts_every_identifier_path(name in "[A-Za-z_$][A-Za-z0-9_$]{0,15}(\\.[A-Za-z_$][A-Za-z0-9_$]{0,15}){0,3}") {
        prop_assert!(valid_jsonp_callback(&name));
    }

    #[test]
    fn redirect_uris_match_exactly(registered in proptest::collection::vec("https://[a-z.]{1,12}/[a-z/]{0,12}", 1..4), extra in "[/?#A-Z.]{1,4}", pick in any::<prop::sample::Index>()) {
        let exact = pick.get(&registered).clone();
        prop_assert!(redirect_uri_registered(&registered, &exact));
        let longer = format!("{exact}{extra}");
        prop_assert_eq!(redirect_uri_registered(&registered, &longer), registered.contains(&longer));
        prop_assert_eq!(redirect_uri_registered(&registered, &exact.to_uppercase()), registered.contains(&exact.to_uppercase()));
    }

    #[test]
    fn registrable_redirect_uris_have_no_fragment_or_space(uri in "\\PC{0,80}") {
        if check_redirect_uri(&uri).is_ok() {
            prop_assert!(!uri.contains('#') && !uri.chars().any(char::is_whitespace) && uri.contains(':'));
        }
    }

    #[test]
    fn tokens_round_trip_and_reject_other_shapes(bytes in any::<[u8; 32]>(), raw in "\\PC{0,80}") {
        let token = TokenValue::from_bytes(&bytes);
        prop_assert_eq!(TokenValue::parse(token.expose()), Some(token.clone()));
        prop_assert!(TokenValue::parse(&token.expose().to_uppercase()).is_none() || token.expose().bytes().all(|b| b.is_ascii_digit()));
        if let Some(t) = TokenValue::parse(&raw) {
            prop_assert_eq!(t.expose(), raw.as_str());
        }
        if let Some(s) = SessionToken::parse(&raw) {
            prop_assert!(s.expose().eq_ignore_ascii_case(&raw));
            prop_assert_eq!(SessionToken::parse(&raw.to_lowercase()).map(|t| t.hash()), Some(s.hash()));
        }
    }

    #[test]
    fn throttle_waits_never_shrink_and_never_pass_the_cap(free in 0u32..10, step in 1u64..100_000, cap in 1u64..1_000_000, failures in 0u32..1000) {
        let policy = ThrottlePolicy { free_failures: free, step_ms: step, max_wait_ms: cap, reset_ms: u64::MAX };
        prop_assert!(policy.wait_after(failures) <= policy.wait_after(failures + 1));
        prop_assert!(policy.wait_after(failures) <= cap);
        let record = FailureRecord { failures, last_failure_ms: 5_000 };
        if let Some(wait) = policy.retry_after(&record, 5_000) {
            prop_assert!(wait <= cap);
        }
        prop_assert_eq!(policy.after_failure(&record, 6_000).failures, failures + 1);
    }

    #[test]
    fn rate_quota_allows_exactly_a_burst_at_one_instant(limit in 1u32..500, period_ms in 60_000u64..10_000_000, now_ms in 0i64..1_000_000_000) {
        // Periods long enough that the loop below runs within one request's share of them.
        let clock = Clock::test();
        clock.set_offset_ms(now_ms).unwrap();
        let settings = SecuritySettings { rate_limit_per_key: limit, rate_limit_period_ms: period_ms, ..SecuritySettings::default() };
        let guard = Guard::new(&settings, clock);
        let mut allowed = 0;
        for _ in 0..(limit + 5) {
            if guard.rate_check_key("key").is_ok() {
                allowed += 1;
            }
        }
        // Integer division of the period may leave room for one more.
        prop_assert!(allowed >= limit && allowed <= limit + 1, "{allowed} of {limit}");
    }

    #[test]
    fn client_address_is_the_peer_or_a_forwarded_hop(peer in any::<[u8; 4]>(), hops in proptest::collection::vec(any::<[u8; 4]>(), 0..5), trust_peer in any::<bool>()) {
        let peer = IpAddr::from(peer);
        let hops: Vec<IpAddr> = hops.into_iter().map(IpAddr::from).collect();
        let line = hops.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        let trusted: Vec<IpAddr> = if trust_peer { vec![peer] } else { vec![] };
        let client = client_address(peer, ProxyHeader::XForwardedFor, &[line.as_str()], &trusted);
        // The same hops written as RFC 7239 elements name the same client.
        let elements = hops.iter().map(|h| format!("for={h}")).collect::<Vec<_>>().join(", ");
        prop_assert_eq!(client_address(peer, ProxyHeader::Forwarded, &[elements.as_str()], &trusted), client);
        if trust_peer {
            prop_assert!(client == peer || hops.contains(&client));
            if let Some(last) = hops.iter().rev().find(|h| !trusted.contains(h)) {
                prop_assert_eq!(client, *last);
            }
        } else {
            prop_assert_eq!(client, peer);
        }
    }
}

// Financing (`domain::financing`): the exact annuity's two ceilings.
proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn financing_payments_repay_the_total_and_one_unit_less_would_not(credit in 1i64..1_000_000_000_000, months in 1i64..=600, rate_bp in 0i64..=10_000) {
        use shopkeeper::domain::financing::Term;
        let q = Term::new(months, rate_bp).unwrap().quote(credit);
        prop_assert_eq!(q.credit_minor, credit);
        // The total repays at least the credit, and the rounded payments at least the total...
        prop_assert!(q.total_minor >= credit);
        prop_assert!(q.monthly_minor * months >= q.total_minor);
        // ...while a payment one minor unit lower would not (it is below the exact one).
        prop_assert!((q.monthly_minor - 1) * months < q.total_minor);
        if rate_bp == 0 {
            prop_assert_eq!(q.total_minor, credit);
            prop_assert_eq!(q.monthly_minor, (credit + months - 1) / months);
        }
    }

    #[test]
    fn financing_costs_more_at_a_higher_rate_and_less_a_month_over_longer(credit in 1i64..10_000_000_000, months in 1i64..600, rate_bp in 0i64..10_000) {
        use shopkeeper::domain::financing::Term;
        let q = |m: i64, r: i64| Term::new(m, r).unwrap().quote(credit);
        let base = q(months, rate_bp);
        let dearer = q(months, rate_bp + 1);
        prop_assert!(dearer.monthly_minor >= base.monthly_minor);
        prop_assert!(dearer.total_minor >= base.total_minor);
        let longer = q(months + 1, rate_bp);
        prop_assert!(longer.monthly_minor <= base.monthly_minor);
        prop_assert!(longer.total_minor >= base.total_minor);
    }
}
