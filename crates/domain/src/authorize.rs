//! The rules of `GET /oauth20/authorize`, the per-key flows, the strict profile, PKCE and the
//! JSONP callback check, as pure functions.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// One way of obtaining a shopper token that an API key may be allowed to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// `grant_type=password` with a shopper's username and password.
    Password,
    /// `response_type=token` (implicit, the documented legacy flow).
    Implicit,
    /// `response_type=code` + `grant_type=authorization_code`.
    Code,
    /// `grant_type=client_credentials`.
    ClientCredentials,
}

impl Flow {
    pub const ALL: [Flow; 4] = [
        Flow::Password,
        Flow::Implicit,
        Flow::Code,
        Flow::ClientCredentials,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Password => "password",
            Flow::Implicit => "token",
            Flow::Code => "code",
            Flow::ClientCredentials => "client_credentials",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Flow::ALL.into_iter().find(|f| f.as_str() == raw)
    }
}

/// The flows a key may use, stored as space-separated names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSet(Vec<Flow>);

impl FlowSet {
    /// Everything: what keys created before per-key flows existed could do.
    pub fn all() -> Self {
        Self(Flow::ALL.to_vec())
    }

    /// Parses the stored or CLI form (spaces or commas); unknown names are refused.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut flows = Vec::new();
        for name in raw.split([' ', ',']).filter(|s| !s.is_empty()) {
            let flow = Flow::parse(name).ok_or_else(|| {
                format!("unknown flow {name:?} (use password, token, code, client_credentials)")
            })?;
            if !flows.contains(&flow) {
                flows.push(flow);
            }
        }
        Ok(Self(flows))
    }

    /// A stored value that no longer parses allows nothing (fail closed).
    pub fn from_stored(raw: &str) -> Self {
        Self::parse(raw).unwrap_or(Self(Vec::new()))
    }

    pub fn contains(&self, flow: Flow) -> bool {
        self.0.contains(&flow)
    }

    pub fn to_stored(&self) -> String {
        self.0
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Server-wide policy on top of the per-key flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// What existing Global Commerce integrations use: every flow a key allows.
    #[default]
    Compatible,
    /// OAuth 2.1 / RFC 9700: no password grant with shopper credentials and no implicit flow,
    /// whatever a key allows. Guest tokens, codes and client credentials stay available.
    Strict,
}

impl Profile {
    pub fn permits(self, flow: Flow) -> bool {
        match self {
            Profile::Compatible => true,
            Profile::Strict => !matches!(flow, Flow::Password | Flow::Implicit),
        }
    }
}

/// Why a flow is refused for a key, if it is.
pub fn flow_refusal(profile: Profile, allowed: &FlowSet, flow: Flow) -> Option<String> {
    if !profile.permits(flow) {
        return Some(format!(
            "the {} flow is disabled on this server (strict profile)",
            flow.as_str()
        ));
    }
    if !allowed.contains(flow) {
        return Some(format!(
            "this API key may not use the {} flow",
            flow.as_str()
        ));
    }
    None
}

/// `response_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    Token,
    Code,
}

impl ResponseType {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "token" => Some(Self::Token),
            "code" => Some(Self::Code),
            _ => None,
        }
    }

    pub fn flow(self) -> Flow {
        match self {
            Self::Token => Flow::Implicit,
            Self::Code => Flow::Code,
        }
    }
}

/// A PKCE S256 challenge: base64url (no padding) of a SHA-256, so exactly 43 characters.
pub fn valid_code_challenge(raw: &str) -> bool {
    raw.len() == 43
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// RFC 7636 §4.1: 43-128 characters of `[A-Z a-z 0-9 - . _ ~]`.
pub fn valid_code_verifier(raw: &str) -> bool {
    (43..=128).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The S256 challenge of a verifier.
pub fn s256_challenge(verifier: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether a verifier matches a stored challenge (constant-time compare).
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    valid_code_verifier(verifier)
        && bool::from(
            s256_challenge(verifier)
                .as_bytes()
                .ct_eq(challenge.as_bytes()),
        )
}

/// A JSONP callback name: a JavaScript identifier or a dotted path of them (what jQuery and
/// friends generate). Anything else could smuggle script into the response, so it is refused.
pub fn valid_jsonp_callback(raw: &str) -> bool {
    let ident = |s: &str| {
        let mut bytes = s.bytes();
        matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b'$')
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
    };
    !raw.is_empty() && raw.len() <= 128 && raw.split('.').all(ident)
}

/// Whether `presented` is one of a key's registered redirect URIs: an exact, case-sensitive
/// string match, no prefix, no normalisation (RFC 9700 §4.1.3): anything looser is how
/// open redirectors leak codes and tokens.
pub fn redirect_uri_registered(registered: &[String], presented: &str) -> bool {
    registered.iter().any(|r| r == presented)
}

/// An origin as registered for a key or sent by a browser: `http(s)://host[:port]` with
/// nothing after it but an optional `/`, serialised as browsers send `Origin` (lowercase host,
/// default port dropped, IDNs in punycode).
pub fn normalise_origin(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw.trim()).ok()?;
    let bare = url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && !raw.trim().ends_with("//");
    let origin = url.origin();
    (matches!(url.scheme(), "http" | "https") && bare && origin.is_tuple())
        .then(|| origin.ascii_serialization())
}

/// Whether a cross-site request for a key may proceed: a key without allowed origins takes
/// any; otherwise the `Origin` header, or the origin of the `Referer` when there is no
/// `Origin` (a JSONP `<script>` sends only a Referer), must be one of them. A request with
/// neither is refused: a page can suppress its Referer, so absence proves nothing.
pub fn origin_allowed(allowed: &[String], origin: Option<&str>, referer: Option<&str>) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let presented = match origin {
        Some(origin) => normalise_origin(origin),
        None => referer
            .and_then(|r| url::Url::parse(r).ok())
            .map(|r| r.origin())
            .filter(|o| o.is_tuple())
            .map(|o| o.ascii_serialization()),
    };
    presented.is_some_and(|p| allowed.contains(&p))
}

/// Why a redirect URI cannot be registered for a key, by RFC 8252 §7 and RFC 6749 §3.1.2:
/// absolute, no fragment, no credentials; `https` to any host; `http` only to a loopback
/// host (a native app's local listener); a private-use scheme (`com.example.app:/cb`) for an
/// app; never a scheme a browser runs or reads locally (`javascript:`, `data:`, `file:`...).
/// The URI is kept as written: redirects match it exactly.
pub fn check_redirect_uri(raw: &str) -> Result<(), String> {
    if raw.is_empty() || raw.len() > 2048 {
        return Err("must be 1-2048 characters".into());
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".into());
    }
    if raw.contains('#') {
        return Err("must not have a fragment (RFC 6749 §3.1.2)".into());
    }
    let url = url::Url::parse(raw).map_err(|e| format!("is not an absolute URI ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    // The URL standard reads `https:///cb` as host `cb`: a web redirect must name its host.
    let authority = raw
        .split_once("://")
        .is_some_and(|(_, rest)| !rest.starts_with('/'));
    match url.scheme() {
        "http" | "https" if !authority => Err("must be scheme://host/...".into()),
        "https" if url.host().is_some() => Ok(()),
        "https" => Err("https needs a host".into()),
        "http" => match url.host() {
            Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => Ok(()),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            _ => Err(
                "http is allowed only to a loopback host (127.0.0.1, [::1], localhost); \
                      use https"
                    .into(),
            ),
        },
        "javascript" | "data" | "file" | "vbscript" | "about" | "blob" | "filesystem"
        | "view-source" | "ws" | "wss" | "ftp" => {
            Err(format!("the {}: scheme is not allowed", url.scheme()))
        }
        _ if url.host().is_none() && url.path().trim_matches('/').is_empty() => {
            Err("an app's redirect URI needs a path (com.example.app:/oauth2redirect)".into())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_origins_match_origin_or_the_referer_origin() {
        let allowed = vec!["https://shop.example.com".to_owned()];
        assert!(origin_allowed(&[], None, None));
        assert!(origin_allowed(
            &allowed,
            Some("https://shop.example.com"),
            None
        ));
        assert!(origin_allowed(
            &allowed,
            None,
            Some("https://Shop.example.com/cart?x=1")
        ));
        assert!(!origin_allowed(
            &allowed,
            Some("https://evil.example"),
            Some("https://shop.example.com/")
        ));
        assert!(!origin_allowed(
            &allowed,
            None,
            Some("https://shop.example.com.evil.example/")
        ));
        assert!(!origin_allowed(&allowed, None, None));
        assert!(!origin_allowed(&allowed, Some("null"), None));
        assert_eq!(normalise_origin("https://a.b/path"), None);
        assert_eq!(normalise_origin("javascript://x"), None);
        assert_eq!(
            normalise_origin("HTTPS://Shop.Example.com:443/").as_deref(),
            Some("https://shop.example.com")
        );
        assert_eq!(
            normalise_origin("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(normalise_origin("https://user@a.b"), None);
        assert_eq!(normalise_origin("https://a.b?x=1"), None);
    }

    #[test]
    fn redirect_uris_follow_rfc_8252() {
        for good in [
            "https://shop.example.com/callback",
            "https://shop.example.com/cb?app=1",
            "http://127.0.0.1:3000/cb",
            "http://[::1]/cb",
            "http://localhost:3000/callback",
            "com.example.app:/oauth2redirect",
            "myapp://callback",
        ] {
            assert_eq!(check_redirect_uri(good), Ok(()), "{good}");
        }
        for bad in [
            "http://shop.example.com/cb",
            "http://10.0.0.1/cb",
            "javascript://%0aalert(1)",
            "a:",
            "myapp:/",
            "JavaScript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "https://shop.example.com/cb#frag",
            "https://user:pw@shop.example.com/cb",
            "/relative/cb",
            "https:///cb",
            "https://shop.example.com/a b",
            "",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flow_sets_round_trip_and_refuse_unknown_names() {
        let set = FlowSet::parse("code, client_credentials code").unwrap();
        assert_eq!(set.to_stored(), "code client_credentials");
        assert!(!set.contains(Flow::Password));
        assert!(FlowSet::parse("implicit").is_err());
        assert_eq!(FlowSet::from_stored("bogus"), FlowSet(Vec::new()));
    }

    #[test]
    fn strict_profile_refuses_password_and_implicit_only() {
        let all = FlowSet::all();
        assert!(flow_refusal(Profile::Strict, &all, Flow::Password).is_some());
        assert!(flow_refusal(Profile::Strict, &all, Flow::Implicit).is_some());
        assert!(flow_refusal(Profile::Strict, &all, Flow::Code).is_none());
        assert!(flow_refusal(Profile::Compatible, &all, Flow::Implicit).is_none());
        let code_only = FlowSet::parse("code").unwrap();
        assert!(flow_refusal(Profile::Compatible, &code_only, Flow::Implicit).is_some());
    }

    #[test]
    fn pkce_s256_rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(s256_challenge(verifier), challenge);
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(&verifier.replace('d', "e"), challenge));
        assert!(valid_code_challenge(challenge));
        assert!(!valid_code_challenge("short"));
    }

    #[test]
    fn jsonp_callbacks() {
        for ok in ["cb", "jQuery3310_1700000000", "a.b.c", "$", "_x1"] {
            assert!(valid_jsonp_callback(ok), "{ok}");
        }
        for bad in [
            "",
            "alert(1)",
            "a..b",
            "1a",
            "a;b",
            "a[0]",
            "x</script>",
            ".a",
            "a b",
        ] {
            assert!(!valid_jsonp_callback(bad), "{bad}");
        }
        assert!(!valid_jsonp_callback(&"a".repeat(129)));
    }
}
