//! A site's authorized countries as the Admin API's `200 OK` shows them
//! (`admin-apis/sites/getting-a-sites-authorized-billing-countries.md`, `...-shipping-...`):
//! `{"authorizedBillingCountries": [{"locale", "countries": [{"displayName", "countryCode"}]}]}`
//! and the same under `authorizedShippingCountries`.

use serde::Serialize;
use shopkeeper_domain::authorized_countries::{Country, Kind, Policies};
use utoipa::ToSchema;

/// `GET /v1/sites/{siteId}/authorized-billing-countries`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizedBillingCountries {
    pub authorized_billing_countries: Vec<LocaleCountries>,
}

/// `GET /v1/sites/{siteId}/authorized-shipping-countries`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizedShippingCountries {
    pub authorized_shipping_countries: Vec<LocaleCountries>,
}

/// One locale: every country its setting (its own, or the default locale's) allows, by code.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocaleCountries {
    /// e.g. `en_US`.
    pub locale: String,
    pub countries: Vec<CountryView>,
}

/// `{"displayName": "Japan", "countryCode": "JP"}`: the ISO 3166-1 alpha-2 code and its
/// English short name.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CountryView {
    pub display_name: &'static str,
    pub country_code: &'static str,
}

impl From<Country> for CountryView {
    fn from(c: Country) -> Self {
        CountryView {
            display_name: c.display_name(),
            country_code: c.code(),
        }
    }
}

/// The locales' lists: `locale` alone when given, else the default locale and each customized
/// one.
pub fn locale_countries(
    policies: &Policies,
    kind: Kind,
    default_locale: &str,
    locale: Option<&str>,
) -> Vec<LocaleCountries> {
    let locales = match locale {
        Some(l) => vec![l.to_owned()],
        None => policies.listed_locales(kind, default_locale),
    };
    locales
        .into_iter()
        .map(|locale| LocaleCountries {
            countries: policies
                .countries(kind, &locale)
                .into_iter()
                .map(CountryView::from)
                .collect(),
            locale,
        })
        .collect()
}
