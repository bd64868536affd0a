//! Private stores, pure (the v1 API still calls them purchase plans): how a shopper proves they
//! may use one (the docs' access methods, `submitting-an-order-for-a-private-store.md`), what a
//! plan's prices make of the public ones, and its per-shopper purchase limits
//! (`409-conflict.md`, `over-private-store-shopper-restriction`).

use crate::time::UnixSeconds;
use email_address::EmailAddress;
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;
use url::Url;

/// How a shopper proves eligibility, as the docs name the access methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessMethod {
    EmailAddress,
    EmailDomain,
    /// "Friends and family": an address a member invited, with the invitation's PIN.
    EmailInvitation,
    /// A name and a PIN the merchant hands out (an access code).
    GenericIdentifier,
    IpAddress,
    ReferralUrl,
}

impl AccessMethod {
    pub const ALL: [AccessMethod; 6] = [
        AccessMethod::EmailAddress,
        AccessMethod::EmailDomain,
        AccessMethod::EmailInvitation,
        AccessMethod::GenericIdentifier,
        AccessMethod::IpAddress,
        AccessMethod::ReferralUrl,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            AccessMethod::EmailAddress => "EmailAddress",
            AccessMethod::EmailDomain => "EmailDomain",
            AccessMethod::EmailInvitation => "EmailInvitation",
            AccessMethod::GenericIdentifier => "GenericIdentifier",
            AccessMethod::IpAddress => "IpAddress",
            AccessMethod::ReferralUrl => "ReferralUrl",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(raw))
    }

    /// A PIN goes with the value (it is stored only as a hash).
    pub const fn has_pin(self) -> bool {
        matches!(
            self,
            AccessMethod::EmailInvitation | AccessMethod::GenericIdentifier
        )
    }

    /// The methods `bypassAccessRuleType` may name (the docs' list).
    pub const fn bypassable(self) -> bool {
        matches!(
            self,
            AccessMethod::EmailAddress
                | AccessMethod::EmailDomain
                | AccessMethod::EmailInvitation
                | AccessMethod::IpAddress
        )
    }
}

/// Why a rule's value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadRuleValue(pub String);

/// A rule's value in the one form matching compares: e-mail addresses and domains lower-cased,
/// a domain without its `@`, an address as a network (`/32` for one address), a referral URL
/// without its fragment, an identifier trimmed and lower-cased.
pub fn normalize_rule_value(method: AccessMethod, raw: &str) -> Result<String, BadRuleValue> {
    let raw = raw.trim();
    match method {
        AccessMethod::EmailAddress | AccessMethod::EmailInvitation => email(raw),
        AccessMethod::EmailDomain => domain(raw),
        AccessMethod::IpAddress => raw
            .parse::<IpNet>()
            .or_else(|_| raw.parse::<IpAddr>().map(IpNet::from))
            .map(|n| n.trunc().to_string())
            .map_err(|_| BadRuleValue(format!("`{raw}` is not an IP address or network"))),
        AccessMethod::ReferralUrl => referral(raw).map(|u| u.to_string()),
        AccessMethod::GenericIdentifier => {
            if raw.is_empty() || raw.len() > 128 {
                Err(BadRuleValue(
                    "an identifier must have 1 to 128 characters".into(),
                ))
            } else {
                Ok(raw.to_lowercase())
            }
        }
    }
}

fn email(raw: &str) -> Result<String, BadRuleValue> {
    EmailAddress::parse_with_options(raw, email_address::Options::default())
        .map(|e| e.as_str().to_lowercase())
        .map_err(|_| BadRuleValue(format!("`{raw}` is not an e-mail address")))
}

fn domain(raw: &str) -> Result<String, BadRuleValue> {
    let d = raw.strip_prefix('@').unwrap_or(raw).to_lowercase();
    match url::Host::parse(&d) {
        Ok(url::Host::Domain(h)) if h.contains('.') => Ok(h),
        _ => Err(BadRuleValue(format!("`{raw}` is not an e-mail domain"))),
    }
}

fn referral(raw: &str) -> Result<Url, BadRuleValue> {
    let mut url =
        Url::parse(raw).map_err(|_| BadRuleValue(format!("`{raw}` is not an absolute URL")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(BadRuleValue(format!("`{raw}` is not an http(s) URL")));
    }
    url.set_fragment(None);
    Ok(url)
}

/// A configured access rule: its method and normalized value. The PIN of an invitation or a
/// generic identifier is checked by the caller against the stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRule {
    pub method: AccessMethod,
    pub value: String,
}

/// What a shopper presents to prove eligibility (the authorize body or the search query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    EmailAddress(String),
    EmailDomain(String),
    EmailInvitation {
        address: String,
        pin: String,
    },
    GenericIdentifier {
        name: String,
        pin: String,
    },
    IpAddress(IpAddr),
    ReferralUrl(String),
    /// A trusted (confidential) client vouches that the shopper passed this method.
    Bypass(AccessMethod),
}

impl Claim {
    /// The PIN to check against a matching rule's hash, if the claim carries one.
    pub fn pin(&self) -> Option<&str> {
        match self {
            Claim::EmailInvitation { pin, .. } | Claim::GenericIdentifier { pin, .. } => Some(pin),
            _ => None,
        }
    }

    /// The e-mail address the claim proves, which limits and the order's billing address
    /// follow.
    pub fn email(&self) -> Option<String> {
        match self {
            Claim::EmailAddress(a) | Claim::EmailInvitation { address: a, .. } => email(a).ok(),
            _ => None,
        }
    }

    /// Whether the claim satisfies `rule` (a PIN still to be checked).
    pub fn matches(&self, rule: &AccessRule) -> bool {
        match (self, rule.method) {
            (Claim::EmailAddress(a), AccessMethod::EmailAddress) => {
                email(a).is_ok_and(|a| a == rule.value)
            }
            // An address proves its domain.
            (Claim::EmailAddress(a), AccessMethod::EmailDomain) => {
                email(a).is_ok_and(|a| a.rsplit_once('@').is_some_and(|(_, d)| d == rule.value))
            }
            (Claim::EmailDomain(d), AccessMethod::EmailDomain) => {
                domain(d).is_ok_and(|d| d == rule.value)
            }
            (Claim::EmailInvitation { address, .. }, AccessMethod::EmailInvitation) => {
                email(address).is_ok_and(|a| a == rule.value)
            }
            (Claim::GenericIdentifier { name, .. }, AccessMethod::GenericIdentifier) => {
                name.trim().to_lowercase() == rule.value
            }
            (Claim::IpAddress(ip), AccessMethod::IpAddress) => rule
                .value
                .parse::<IpNet>()
                .is_ok_and(|net| net.contains(ip)),
            (Claim::ReferralUrl(u), AccessMethod::ReferralUrl) => {
                match (referral(u), Url::parse(&rule.value)) {
                    (Ok(u), Ok(r)) => {
                        u.scheme() == r.scheme()
                            && u.host_str() == r.host_str()
                            && u.port_or_known_default() == r.port_or_known_default()
                            && u.path().starts_with(r.path())
                    }
                    _ => false,
                }
            }
            (Claim::Bypass(m), method) => *m == method && m.bypassable(),
            _ => false,
        }
    }
}

/// Whether a plan takes shoppers at `now`: switched on and inside its window.
pub fn is_open(
    enabled: bool,
    starts_at: Option<UnixSeconds>,
    ends_at: Option<UnixSeconds>,
    now: UnixSeconds,
) -> bool {
    enabled && starts_at.is_none_or(|s| s <= now) && ends_at.is_none_or(|e| now < e)
}

/// Basis points in a whole (a discount of 1 500 bp is 15 %).
pub const WHOLE_BP: i64 = 10_000;

/// A plan's pricing, as a cart or the catalog applies it to the session bound to the plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanPricing {
    pub plan_id: i64,
    pub target_market_id: i64,
    /// Off every product's public sale price, unless the product has a plan price.
    pub discount_bp: Option<i64>,
    /// The plan's own unit price of a product (the product's currency, minor units).
    pub prices: HashMap<i64, i64>,
    /// Most units of each product a shopper may buy in the plan, over all their orders.
    pub max_quantity: Option<i64>,
    /// A product's own limit, over the plan's.
    pub product_limits: HashMap<i64, i64>,
}

impl PlanPricing {
    /// Whether the plan prices `product_id` (the public price applies otherwise).
    pub fn covers(&self, product_id: i64) -> bool {
        self.prices.contains_key(&product_id) || self.discount_bp.is_some()
    }

    /// The unit price in the plan: the plan's price of the product, else the public sale
    /// price less the plan's discount (rounded half up to the minor unit), else the public
    /// price. Never above the public price: a plan only lowers prices.
    pub fn unit_price(&self, product_id: i64, public_minor: i64) -> i64 {
        let planned = match (self.prices.get(&product_id), self.discount_bp) {
            (Some(p), _) => *p,
            (None, Some(bp)) => public_minor - (public_minor * bp + WHOLE_BP / 2) / WHOLE_BP,
            (None, None) => public_minor,
        };
        planned.min(public_minor)
    }

    /// The most units of `product_id` a shopper may buy in the plan, if limited.
    pub fn limit(&self, product_id: i64) -> Option<i64> {
        self.product_limits
            .get(&product_id)
            .copied()
            .or(self.max_quantity)
    }
}

/// A purchase past a plan's per-shopper limit (`over-private-store-shopper-restriction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverLimit {
    pub maximum: i64,
    pub remaining: i64,
}

impl OverLimit {
    /// The docs' description.
    pub fn description(&self) -> String {
        format!(
            "Maximum purchasable quantity[{}]; Remaining purchasable quantity[{}]; The product \
             cannot be added to the cart.",
            self.maximum, self.remaining
        )
    }
}

/// Whether a shopper who bought `bought` units in the plan may have `wanted` more.
pub fn check_limit(limit: Option<i64>, bought: i64, wanted: i64) -> Result<(), OverLimit> {
    match limit {
        Some(maximum) if bought + wanted > maximum => Err(OverLimit {
            maximum,
            remaining: (maximum - bought).max(0),
        }),
        _ => Ok(()),
    }
}

/// Whose purchases a plan's limits count: a signed-in shopper's, else those of the e-mail
/// address the session proved or the order is billed to, else the session's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Purchaser {
    Shopper(i64),
    Email(String),
    Session(String),
}

impl Purchaser {
    pub fn key(&self) -> String {
        match self {
            Purchaser::Shopper(id) => format!("shopper:{id}"),
            Purchaser::Email(e) => format!("email:{}", e.to_lowercase()),
            Purchaser::Session(s) => format!("session:{s}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(method: AccessMethod, raw: &str) -> AccessRule {
        AccessRule {
            method,
            value: normalize_rule_value(method, raw).unwrap(),
        }
    }

    #[test]
    fn email_rules_match_addresses_and_domains_without_regard_to_case() {
        let domain = rule(AccessMethod::EmailDomain, "@University.edu");
        assert_eq!(domain.value, "university.edu");
        assert!(Claim::EmailDomain("university.EDU".into()).matches(&domain));
        assert!(Claim::EmailAddress("Jane@university.edu".into()).matches(&domain));
        assert!(!Claim::EmailAddress("jane@evil-university.edu".into()).matches(&domain));
        assert!(!Claim::EmailDomain("sub.university.edu".into()).matches(&domain));
        let address = rule(AccessMethod::EmailAddress, "Chi.Liu@digitalriver.com");
        assert!(Claim::EmailAddress("chi.liu@DigitalRiver.com".into()).matches(&address));
        assert!(!Claim::EmailDomain("digitalriver.com".into()).matches(&address));
    }

    #[test]
    fn addresses_match_networks_and_urls_match_by_prefix() {
        let net = rule(AccessMethod::IpAddress, "10.1.0.0/16");
        assert!(Claim::IpAddress("10.1.200.3".parse().unwrap()).matches(&net));
        assert!(!Claim::IpAddress("10.2.0.1".parse().unwrap()).matches(&net));
        let one = rule(AccessMethod::IpAddress, "1.2.3.4");
        assert_eq!(one.value, "1.2.3.4/32");
        assert!(Claim::IpAddress("1.2.3.4".parse().unwrap()).matches(&one));
        let url = rule(
            AccessMethod::ReferralUrl,
            "https://partner.example/employees",
        );
        assert!(Claim::ReferralUrl("https://PARTNER.example/employees/x?y=1".into()).matches(&url));
        assert!(!Claim::ReferralUrl("http://partner.example/employees".into()).matches(&url));
        assert!(!Claim::ReferralUrl("https://partner.example/other".into()).matches(&url));
        assert!(normalize_rule_value(AccessMethod::ReferralUrl, "ftp://x.example").is_err());
    }

    #[test]
    fn bypass_names_only_the_documented_methods() {
        let domain = rule(AccessMethod::EmailDomain, "example.com");
        assert!(Claim::Bypass(AccessMethod::EmailDomain).matches(&domain));
        let code = rule(AccessMethod::GenericIdentifier, "Staff");
        assert!(!Claim::Bypass(AccessMethod::GenericIdentifier).matches(&code));
        assert!(
            Claim::GenericIdentifier {
                name: " staff ".into(),
                pin: "x".into()
            }
            .matches(&code)
        );
    }

    #[test]
    fn plan_prices_only_lower_and_round_half_up() {
        let plan = PlanPricing {
            discount_bp: Some(1_500),
            prices: HashMap::from([(1, 500), (2, 9_000)]),
            ..PlanPricing::default()
        };
        assert_eq!(plan.unit_price(1, 1_000), 500);
        // A plan price above the public one gives way to it.
        assert_eq!(plan.unit_price(2, 8_000), 8_000);
        // 15 % of 999 is 149.85: 150 off.
        assert_eq!(plan.unit_price(3, 999), 849);
        assert!(plan.covers(3));
        let no_discount = PlanPricing::default();
        assert_eq!(no_discount.unit_price(3, 999), 999);
        assert!(!no_discount.covers(3));
    }

    #[test]
    fn limits_count_what_was_bought() {
        assert_eq!(check_limit(Some(2), 1, 1), Ok(()));
        assert_eq!(
            check_limit(Some(2), 1, 2),
            Err(OverLimit {
                maximum: 2,
                remaining: 1
            })
        );
        assert_eq!(check_limit(None, 100, 100), Ok(()));
        let plan = PlanPricing {
            max_quantity: Some(5),
            product_limits: HashMap::from([(7, 1)]),
            ..PlanPricing::default()
        };
        assert_eq!(plan.limit(7), Some(1));
        assert_eq!(plan.limit(8), Some(5));
    }

    #[test]
    fn plans_open_inside_their_window_when_enabled() {
        assert!(is_open(true, Some(10), Some(20), 10));
        assert!(!is_open(true, Some(10), Some(20), 20));
        assert!(!is_open(false, None, None, 10));
        assert!(is_open(true, None, None, 10));
    }
}
