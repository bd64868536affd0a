//! The payment methods a site's carts offer (`managing-payment-methods/`,
//! `GET carts/active/payment-methods`): an ordered list per site, each method open to every
//! currency and billing country or limited to some. Pure: the store keeps the list, the handler
//! asks [`MethodRule::offers`] about the cart.

use crate::catalog::valid_currency;

/// What a new site offers until its operator says otherwise: the card brands the test-mode
/// payment source takes (`checkout::card_brand`), with the types and names the docs' saved
/// payment options and this API's cards already use (`visa`, `"American Express"`).
pub const DEFAULT_METHODS: [(&str, &str); 4] = [
    ("visa", "Visa"),
    ("mastercard", "MasterCard"),
    ("americanExpress", "American Express"),
    ("discover", "Discover"),
];

/// The longest type, display name or description.
pub const MAX_TYPE: usize = 50;
pub const MAX_TEXT: usize = 200;

/// Where a method may be used: empty lists put no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MethodRule {
    /// ISO 4217 codes (`USD`).
    pub currencies: Vec<String>,
    /// ISO 3166 alpha-2 codes (`US`).
    pub countries: Vec<String>,
}

impl MethodRule {
    /// Whether a cart in `currency`, billed to `country` (none until the cart has a billing
    /// address), may be paid with the method. A method limited to countries waits for the
    /// billing address: the country decides, and none is known before it.
    pub fn offers(&self, currency: &str, country: Option<&str>) -> bool {
        let currency_ok = self.currencies.is_empty()
            || self
                .currencies
                .iter()
                .any(|c| c.eq_ignore_ascii_case(currency));
        let country_ok = self.countries.is_empty()
            || country.is_some_and(|country| {
                self.countries
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(country.trim()))
            });
        currency_ok && country_ok
    }

    /// The rule from its stored form: comma-separated codes, empty for none.
    pub fn from_stored(currencies: &str, countries: &str) -> Self {
        let split = |s: &str| {
            s.split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect()
        };
        MethodRule {
            currencies: split(currencies),
            countries: split(countries),
        }
    }

    /// The stored form of the two lists.
    pub fn to_stored(&self) -> (String, String) {
        (self.currencies.join(","), self.countries.join(","))
    }

    /// The rule from an operator's codes: currencies ISO 4217 (`usd` → `USD`), countries ISO
    /// 3166 alpha-2 (`de` → `DE`); duplicates dropped, order kept.
    pub fn checked(currencies: &[String], countries: &[String]) -> Result<Self, String> {
        let mut rule = MethodRule::default();
        for raw in currencies {
            let code = raw.trim().to_ascii_uppercase();
            if !valid_currency(&code) {
                return Err(format!(
                    "{raw:?} is not an ISO 4217 currency code (USD, EUR)"
                ));
            }
            if !rule.currencies.contains(&code) {
                rule.currencies.push(code);
            }
        }
        for raw in countries {
            let code = raw.trim().to_ascii_uppercase();
            let known = code.len() == 2 && code.parse::<iso_country::Country>().is_ok();
            if !known {
                return Err(format!("{raw:?} is not an ISO 3166 country code (US, DE)"));
            }
            if !rule.countries.contains(&code) {
                rule.countries.push(code);
            }
        }
        Ok(rule)
    }
}

/// A method's `type` as the docs write them (`americanExpress`, `payPal`, `visa`): a letter,
/// then letters, digits, `_` or `-`, at most 50.
pub fn check_type(raw: &str) -> Result<(), String> {
    let ok = raw.len() <= MAX_TYPE
        && raw.starts_with(|c: char| c.is_ascii_alphabetic())
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "type {raw:?} must be a letter then letters, digits, _ or - (at most {MAX_TYPE}), \
             like americanExpress"
        ))
    }
}

/// A display name or description: trimmed, 1..=200 characters, one line.
pub fn check_text(what: &str, raw: &str) -> Result<String, String> {
    let text = raw.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT {
        return Err(format!("{what} must be 1-{MAX_TEXT} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("{what} must be one line of text"));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(currencies: &[&str], countries: &[&str]) -> MethodRule {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        MethodRule::checked(&owned(currencies), &owned(countries)).unwrap()
    }

    #[test]
    fn an_open_method_is_offered_everywhere() {
        let open = MethodRule::default();
        assert!(open.offers("USD", None));
        assert!(open.offers("JPY", Some("JP")));
    }

    #[test]
    fn currencies_and_countries_limit_a_method() {
        let ideal = rule(&["eur"], &["nl"]);
        assert_eq!(ideal.currencies, ["EUR"]);
        assert_eq!(ideal.countries, ["NL"]);
        assert!(ideal.offers("EUR", Some("NL")));
        assert!(ideal.offers("EUR", Some("nl")));
        assert!(!ideal.offers("USD", Some("NL")));
        assert!(!ideal.offers("EUR", Some("DE")));
        // No billing address yet: a country-limited method waits for it.
        assert!(!ideal.offers("EUR", None));
        let euros = rule(&["EUR", "EUR"], &[]);
        assert_eq!(euros.currencies, ["EUR"]);
        assert!(euros.offers("EUR", None));
    }

    #[test]
    fn codes_are_checked() {
        let owned = |s: &str| vec![s.to_owned()];
        assert!(MethodRule::checked(&owned("ABC"), &[]).is_err());
        assert!(MethodRule::checked(&[], &owned("XX")).is_err());
        assert!(MethodRule::checked(&[], &owned("USA")).is_err());
    }

    #[test]
    fn the_stored_form_round_trips() {
        let r = rule(&["USD", "EUR"], &["US"]);
        let (c, k) = r.to_stored();
        assert_eq!((c.as_str(), k.as_str()), ("USD,EUR", "US"));
        assert_eq!(MethodRule::from_stored(&c, &k), r);
        assert_eq!(MethodRule::from_stored("", ""), MethodRule::default());
    }

    #[test]
    fn types_and_texts_are_checked() {
        for ok in [
            "visa",
            "americanExpress",
            "payPal",
            "klarna_credit",
            "wire-transfer",
        ] {
            assert!(check_type(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1visa", "pay pal", "visa!", &"x".repeat(51)] {
            assert!(check_type(bad).is_err(), "{bad}");
        }
        assert_eq!(check_text("displayName", " Visa ").unwrap(), "Visa");
        assert!(check_text("displayName", "").is_err());
        assert!(check_text("description", "a\tb").is_err());
        for (t, _) in DEFAULT_METHODS {
            assert!(check_type(t).is_ok());
        }
    }
}
