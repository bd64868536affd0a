//! The one postal address: what a cart, an order and a shopper's saved address hold, and what
//! every rendering of them shows.

use serde::{Deserialize, Serialize};

/// A postal address. Carts and orders keep it as this type's JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostalAddress {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
    pub line1: String,
    pub line2: Option<String>,
    pub line3: Option<String>,
    pub city: String,
    pub country_subdivision: Option<String>,
    pub postal_code: Option<String>,
    pub country: String,
    pub phone_number: Option<String>,
    pub email_address: Option<String>,
    /// The county (the docs' `countyName`); shown only when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub county_name: Option<String>,
    /// The docs' phonetic name (`phoneticFirstName`, `phoneticLastName`: the kana reading of a
    /// Japanese name), the department (`division`) and the form of address (`title`); each shown
    /// only when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phonetic_first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phonetic_last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl PostalAddress {
    /// The English name of the address's ISO 3166 country (`None` for a code that names none).
    pub fn country_name(&self) -> Option<&'static str> {
        self.country
            .parse::<iso_country::Country>()
            .ok()
            .map(|c| c.name())
            .filter(|n| !n.is_empty())
    }
}

/// A shopper's saved address: the postal address with its nickname and default flags.
/// `is_default` is the docs' `isDefault` (at most one per shopper): the address `apply-shopper`
/// and a body-less `apply-billing-address` use when no default of the kind is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SavedAddress {
    pub nickname: Option<String>,
    pub address: PostalAddress,
    pub is_default: bool,
    pub is_default_billing: bool,
    pub is_default_shipping: bool,
}

/// A cart's or an order's two addresses (`None`: not set, or stored unreadably).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BillingAndShipping {
    pub billing: Option<PostalAddress>,
    pub shipping: Option<PostalAddress>,
}
