//! A site's authorized billing and shipping countries (Global Commerce's Security tab:
//! "Allow Billing From", "Allow Shipping To", `general-resources/admin-apis-reference/sites/
//! authorized-shipping-and-billing-countries.md`): per kind, the option and its list for the
//! site's default locale, and the locales customized to a list of their own; every other locale
//! inherits the default locale's. The cart and the submit ask [`Policies::allows`]; the Admin
//! API lists what [`Policies::countries`] allows.

use std::collections::{BTreeMap, BTreeSet};

/// Which address a policy restricts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Billing,
    Shipping,
}

impl Kind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Billing => "billing",
            Kind::Shipping => "shipping",
        }
    }

    pub fn parse(raw: &str) -> Option<Kind> {
        match raw {
            "billing" => Some(Kind::Billing),
            "shipping" => Some(Kind::Shipping),
            _ => None,
        }
    }
}

/// The documented options ("Allow Billing From" has the first three; "Allow Shipping To" all
/// four).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// "Any Country": no restriction.
    Any,
    /// "Only Specifically Allowed Countries": the list is what is allowed.
    AllowedOnly,
    /// "Any Country Except Specifically Denied Countries": the list is what is denied.
    AllExceptDenied,
    /// "Any Authorized Billing Country" (shipping only): whatever billing allows in the locale.
    AuthorizedBilling,
}

impl Mode {
    /// The stored name (also the CLI's `--mode`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::Any => "all",
            Mode::AllowedOnly => "allow",
            Mode::AllExceptDenied => "deny",
            Mode::AuthorizedBilling => "billing",
        }
    }

    pub fn parse(raw: &str) -> Option<Mode> {
        match raw {
            "all" => Some(Mode::Any),
            "allow" => Some(Mode::AllowedOnly),
            "deny" => Some(Mode::AllExceptDenied),
            "billing" => Some(Mode::AuthorizedBilling),
            _ => None,
        }
    }

    /// The Admin API's spelling of the option (the UI's names, in the API's kebab case).
    pub const fn option_name(self) -> &'static str {
        match self {
            Mode::Any => "any-country",
            Mode::AllowedOnly => "only-allowed-countries",
            Mode::AllExceptDenied => "any-country-except-denied",
            Mode::AuthorizedBilling => "any-authorized-billing-country",
        }
    }

    pub fn from_option_name(raw: &str) -> Option<Mode> {
        [
            Mode::Any,
            Mode::AllowedOnly,
            Mode::AllExceptDenied,
            Mode::AuthorizedBilling,
        ]
        .into_iter()
        .find(|m| m.option_name() == raw)
    }

    /// Whether the mode is one of `kind`'s options.
    pub fn fits(self, kind: Kind) -> bool {
        kind == Kind::Shipping || self != Mode::AuthorizedBilling
    }

    /// Whether the mode keeps a list of countries.
    pub fn has_list(self) -> bool {
        matches!(self, Mode::AllowedOnly | Mode::AllExceptDenied)
    }
}

/// Longest comment kept.
pub const MAX_COMMENTS: usize = 2000;

/// A country code that is ISO 3166-1 alpha-2 (upper case), with its English short name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Country(&'static str);

impl Country {
    /// An assigned ISO 3166-1 alpha-2 code (exactly as written: `US`, never `us`).
    pub fn parse(raw: &str) -> Option<Country> {
        if raw.len() != 2 || !raw.bytes().all(|b| b.is_ascii_uppercase()) {
            return None;
        }
        rust_iso3166::from_alpha2(raw).map(|c| Country(c.alpha2))
    }

    pub fn code(self) -> &'static str {
        self.0
    }

    /// The ISO 3166 English short name (`rust_iso3166`'s table).
    pub fn display_name(self) -> &'static str {
        rust_iso3166::from_alpha2(self.0)
            .map(|c| c.name)
            .unwrap_or(self.0)
    }

    /// Every assigned country, by code.
    pub fn all() -> impl Iterator<Item = Country> {
        let mut all: Vec<Country> = rust_iso3166::ALL
            .iter()
            .map(|c| Country(c.alpha2))
            .collect();
        all.sort();
        all.into_iter()
    }
}

/// Why a setting is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    #[error("{0:?} is not an ISO 3166-1 alpha-2 country code (two upper-case letters, e.g. US)")]
    Country(String),
    #[error("the option {0} is for shipping countries only")]
    ModeForShippingOnly(&'static str),
    #[error("the option {0} takes no countries")]
    ListNotTaken(&'static str),
    #[error("the option {0} needs at least one country")]
    ListNeeded(&'static str),
    #[error("{0:?} is not a locale such as en_US")]
    Locale(String),
    #[error("comments are at most {MAX_COMMENTS} characters, without control characters")]
    Comments,
}

/// One locale's setting: the option, its countries (allowed or denied), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalePolicy {
    pub mode: Mode,
    pub countries: BTreeSet<Country>,
    pub comments: Option<String>,
}

impl Default for LocalePolicy {
    /// Any country: a site nobody restricted.
    fn default() -> Self {
        LocalePolicy {
            mode: Mode::Any,
            countries: BTreeSet::new(),
            comments: None,
        }
    }
}

impl LocalePolicy {
    /// A setting for `kind` from its parts as given (codes checked one by one; a list only with
    /// the options that keep one, and then not empty).
    pub fn checked<S: AsRef<str>>(
        kind: Kind,
        mode: Mode,
        countries: &[S],
        comments: Option<&str>,
    ) -> Result<LocalePolicy, SettingError> {
        if !mode.fits(kind) {
            return Err(SettingError::ModeForShippingOnly(mode.option_name()));
        }
        let countries = countries
            .iter()
            .map(|c| {
                let c = c.as_ref().trim();
                Country::parse(c).ok_or_else(|| SettingError::Country(c.to_owned()))
            })
            .collect::<Result<BTreeSet<_>, _>>()?;
        match (mode.has_list(), countries.is_empty()) {
            (false, false) => return Err(SettingError::ListNotTaken(mode.option_name())),
            (true, true) => return Err(SettingError::ListNeeded(mode.option_name())),
            _ => {}
        }
        let comments = comments.map(str::trim).filter(|c| !c.is_empty());
        let bad = |c: &str| {
            c.chars().count() > MAX_COMMENTS
                || c.chars()
                    .any(|ch| ch.is_control() && ch != '\n' && ch != '\t')
        };
        if comments.is_some_and(bad) {
            return Err(SettingError::Comments);
        }
        Ok(LocalePolicy {
            mode,
            countries,
            comments: comments.map(str::to_owned),
        })
    }

    /// The list as stored: codes joined by commas, in order.
    pub fn stored_countries(&self) -> String {
        self.countries
            .iter()
            .map(|c| c.code())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// From its stored parts; `None` for a row no check would have written.
    pub fn from_stored(mode: &str, countries: &str, comments: Option<String>) -> Option<Self> {
        let mode = Mode::parse(mode)?;
        let countries = countries
            .split(',')
            .filter(|c| !c.is_empty())
            .map(Country::parse)
            .collect::<Option<BTreeSet<_>>>()?;
        Some(LocalePolicy {
            mode,
            countries,
            comments,
        })
    }

    fn lists(&self, country: Country) -> bool {
        self.countries.contains(&country)
    }
}

impl LocalePolicy {
    /// As the audit trail, the outbox and the CLI show it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "option": self.mode.option_name(),
            "countries": self.countries.iter().map(|c| c.code()).collect::<Vec<_>>(),
            "comments": self.comments,
        })
    }
}

/// One kind's setting: the default locale's and the locales customized.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindPolicy {
    pub default: LocalePolicy,
    /// Locales with a setting of their own ("Customize for This Locale").
    pub locales: BTreeMap<String, LocalePolicy>,
}

impl KindPolicy {
    /// The setting `locale` uses: its own, else the default locale's.
    pub fn for_locale(&self, locale: &str) -> &LocalePolicy {
        self.locales.get(locale).unwrap_or(&self.default)
    }
}

impl KindPolicy {
    /// The default locale's setting and each customized locale's, as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        let locales: serde_json::Map<String, serde_json::Value> = self
            .locales
            .iter()
            .map(|(l, p)| (l.clone(), p.to_json()))
            .collect();
        serde_json::json!({"default": self.default.to_json(), "locales": locales})
    }
}

/// A site's two policies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policies {
    pub billing: KindPolicy,
    pub shipping: KindPolicy,
}

impl Policies {
    pub fn of(&self, kind: Kind) -> &KindPolicy {
        match kind {
            Kind::Billing => &self.billing,
            Kind::Shipping => &self.shipping,
        }
    }

    pub fn of_mut(&mut self, kind: Kind) -> &mut KindPolicy {
        match kind {
            Kind::Billing => &mut self.billing,
            Kind::Shipping => &mut self.shipping,
        }
    }

    /// Whether an address of `kind` in `country` (as the address holds it) may be used in a
    /// cart of `locale`. A code that is no assigned country is allowed only where every
    /// country is.
    pub fn allows(&self, kind: Kind, country: &str, locale: &str) -> bool {
        let setting = self.of(kind).for_locale(locale);
        let parsed = Country::parse(country);
        match (setting.mode, parsed) {
            (Mode::Any, _) => true,
            (Mode::AuthorizedBilling, _) => self.allows(Kind::Billing, country, locale),
            (_, None) => false,
            (Mode::AllowedOnly, Some(c)) => setting.lists(c),
            (Mode::AllExceptDenied, Some(c)) => !setting.lists(c),
        }
    }

    /// Every country `kind` allows in `locale`, by code.
    pub fn countries(&self, kind: Kind, locale: &str) -> Vec<Country> {
        Country::all()
            .filter(|c| self.allows(kind, c.code(), locale))
            .collect()
    }

    /// The locales an answer without `?locale` lists: the default locale, then the
    /// customized ones of `kind` (for shipping that follows billing, billing's too).
    pub fn listed_locales(&self, kind: Kind, default_locale: &str) -> Vec<String> {
        let mut locales: BTreeSet<&str> =
            self.of(kind).locales.keys().map(String::as_str).collect();
        if kind == Kind::Shipping {
            let follows_billing = |l: &LocalePolicy| l.mode == Mode::AuthorizedBilling;
            if follows_billing(&self.shipping.default)
                || self.shipping.locales.values().any(follows_billing)
            {
                locales.extend(self.billing.locales.keys().map(String::as_str));
            }
        }
        locales.remove(default_locale);
        std::iter::once(default_locale.to_owned())
            .chain(locales.into_iter().map(str::to_owned))
            .collect()
    }
}

/// A locale as settings name it: `en_US`.
pub fn check_locale(raw: &str) -> Result<(), SettingError> {
    crate::shopper::check_locale(raw).map_err(|_| SettingError::Locale(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(kind: Kind, mode: Mode, countries: &[&str]) -> LocalePolicy {
        LocalePolicy::checked(kind, mode, countries, None).unwrap()
    }

    #[test]
    fn a_site_nobody_restricted_allows_every_country() {
        let p = Policies::default();
        assert!(p.allows(Kind::Billing, "US", "en_US"));
        assert!(p.allows(Kind::Shipping, "KP", "fr_FR"));
        assert_eq!(
            p.countries(Kind::Billing, "en_US").len(),
            rust_iso3166::ALL.len()
        );
    }

    #[test]
    fn allowed_only_and_all_except_denied() {
        let mut p = Policies::default();
        p.billing.default = set(Kind::Billing, Mode::AllowedOnly, &["TW", "JP"]);
        p.shipping.default = set(Kind::Shipping, Mode::AllExceptDenied, &["FR"]);
        assert!(p.allows(Kind::Billing, "JP", "en_US"));
        assert!(!p.allows(Kind::Billing, "US", "en_US"));
        assert!(p.allows(Kind::Shipping, "US", "en_US"));
        assert!(!p.allows(Kind::Shipping, "FR", "en_US"));
        let listed: Vec<_> = p
            .countries(Kind::Billing, "en_US")
            .iter()
            .map(|c| c.code())
            .collect();
        assert_eq!(listed, ["JP", "TW"]);
        assert_eq!(
            p.countries(Kind::Shipping, "en_US").len(),
            rust_iso3166::ALL.len() - 1
        );
    }

    #[test]
    fn a_locale_inherits_the_default_unless_customized() {
        let mut p = Policies::default();
        p.billing.default = set(Kind::Billing, Mode::AllowedOnly, &["US"]);
        p.billing.locales.insert(
            "en_GB".into(),
            set(Kind::Billing, Mode::AllowedOnly, &["GB"]),
        );
        assert!(p.allows(Kind::Billing, "US", "fr_FR"));
        assert!(!p.allows(Kind::Billing, "GB", "fr_FR"));
        assert!(p.allows(Kind::Billing, "GB", "en_GB"));
        assert!(!p.allows(Kind::Billing, "US", "en_GB"));
        assert_eq!(p.listed_locales(Kind::Billing, "en_US"), ["en_US", "en_GB"]);
        assert_eq!(p.listed_locales(Kind::Billing, "en_GB"), ["en_GB"]);
        assert_eq!(p.listed_locales(Kind::Shipping, "en_US"), ["en_US"]);
    }

    #[test]
    fn shipping_may_follow_billing() {
        let mut p = Policies::default();
        p.billing.default = set(Kind::Billing, Mode::AllowedOnly, &["CA"]);
        p.billing.locales.insert(
            "de_DE".into(),
            set(Kind::Billing, Mode::AllowedOnly, &["DE"]),
        );
        p.shipping.default = set(Kind::Shipping, Mode::AuthorizedBilling, &[]);
        assert!(p.allows(Kind::Shipping, "CA", "en_US"));
        assert!(!p.allows(Kind::Shipping, "US", "en_US"));
        assert!(p.allows(Kind::Shipping, "DE", "de_DE"));
        assert_eq!(
            p.listed_locales(Kind::Shipping, "en_US"),
            ["en_US", "de_DE"]
        );
    }

    #[test]
    fn unknown_codes_pass_only_where_everything_does() {
        let mut p = Policies::default();
        assert!(p.allows(Kind::Billing, "ZZ", "en_US"));
        p.billing.default = set(Kind::Billing, Mode::AllExceptDenied, &["FR"]);
        assert!(!p.allows(Kind::Billing, "ZZ", "en_US"));
        assert!(!p.allows(Kind::Billing, "us", "en_US"));
    }

    #[test]
    fn settings_are_checked() {
        use SettingError as E;
        let c = |kind, mode, list: &[&str]| LocalePolicy::checked(kind, mode, list, None);
        assert_eq!(
            c(Kind::Billing, Mode::AllowedOnly, &["XX"]),
            Err(E::Country("XX".into()))
        );
        assert_eq!(
            c(Kind::Billing, Mode::AllowedOnly, &["us"]),
            Err(E::Country("us".into()))
        );
        assert!(matches!(
            c(Kind::Billing, Mode::AuthorizedBilling, &[]),
            Err(E::ModeForShippingOnly(_))
        ));
        assert!(matches!(
            c(Kind::Billing, Mode::Any, &["US"]),
            Err(E::ListNotTaken(_))
        ));
        assert!(matches!(
            c(Kind::Shipping, Mode::AllExceptDenied, &[]),
            Err(E::ListNeeded(_))
        ));
        assert!(
            LocalePolicy::checked(Kind::Billing, Mode::Any, &[] as &[&str], Some("a\u{0}b"))
                .is_err()
        );
        let ok = LocalePolicy::checked(
            Kind::Billing,
            Mode::AllowedOnly,
            &["US", "CA", "US"],
            Some(" why "),
        )
        .unwrap();
        assert_eq!(ok.stored_countries(), "CA,US");
        assert_eq!(ok.comments.as_deref(), Some("why"));
        assert_eq!(
            LocalePolicy::from_stored("allow", "CA,US", Some("why".into())),
            Some(ok)
        );
        assert_eq!(LocalePolicy::from_stored("nope", "", None), None);
    }

    #[test]
    fn names_come_from_iso_3166() {
        assert_eq!(Country::parse("JP").unwrap().display_name(), "Japan");
        assert_eq!(Mode::from_option_name("any-country"), Some(Mode::Any));
        assert_eq!(Mode::parse("deny"), Some(Mode::AllExceptDenied));
        assert!(check_locale("en_US").is_ok() && check_locale("EN").is_err());
    }
}
