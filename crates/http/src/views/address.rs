//! Addresses as the API shows them: a cart's or an order's (`id` names which one) and a
//! shopper's saved ones (numeric `id`, nickname and default flags).

use super::Link;
use serde::Serialize;
use shopkeeper_domain::address::{PostalAddress, SavedAddress};
use utoipa::ToSchema;

/// A cart's or an order's billing or shipping address.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddressView<'a> {
    pub uri: String,
    pub id: &'static str,
    /// The address fields (`firstName`, `line1`, `city`, `country`, ...).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub address: &'a PostalAddress,
    /// The country's English name, from its ISO 3166 code.
    #[serde(rename = "countryName", skip_serializing_if = "Option::is_none")]
    pub country_name: Option<&'static str>,
}

impl<'a> AddressView<'a> {
    pub fn new(uri: String, id: &'static str, address: &'a PostalAddress) -> Self {
        AddressView {
            uri,
            id,
            address,
            country_name: address.country_name(),
        }
    }
}

/// `{"address": ...}`
#[derive(Debug, Serialize)]
pub struct AddressEnvelope<T> {
    pub address: T,
}

/// An address where one is set, else the link to its resource.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum AddressOrLink<'a> {
    Address(AddressView<'a>),
    Link(Link),
}

impl<'a> AddressOrLink<'a> {
    pub fn new(uri: String, id: &'static str, address: Option<&'a PostalAddress>) -> Self {
        match address {
            Some(address) => AddressOrLink::Address(AddressView::new(uri, id, address)),
            None => AddressOrLink::Link(Link { uri }),
        }
    }
}

/// One of a shopper's saved addresses.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedAddressView<'a> {
    pub uri: String,
    pub id: i64,
    pub nick_name: &'a Option<String>,
    #[serde(flatten)]
    pub address: &'a PostalAddress,
    /// The country's English name, from its ISO 3166 code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_name: Option<&'static str>,
    pub is_default: bool,
    pub is_default_billing: bool,
    pub is_default_shipping: bool,
}

impl<'a> SavedAddressView<'a> {
    pub fn new(uri: String, id: i64, saved: &'a SavedAddress) -> Self {
        SavedAddressView {
            uri,
            id,
            nick_name: &saved.nickname,
            address: &saved.address,
            country_name: saved.address.country_name(),
            is_default: saved.is_default,
            is_default_billing: saved.is_default_billing,
            is_default_shipping: saved.is_default_shipping,
        }
    }
}

/// `{"addresses": {"uri", "address": [...]}}`
#[derive(Debug, Serialize)]
pub struct SavedAddressList<'a> {
    pub addresses: SavedAddresses<'a>,
}

#[derive(Debug, Serialize)]
pub struct SavedAddresses<'a> {
    pub uri: String,
    pub address: Vec<SavedAddressView<'a>>,
}

/// One suggested correction of a cart's address (`address_check`): the corrected address, the
/// docs' numeric `id` and the link that applies it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddressSuggestion {
    pub uri: String,
    pub apply_address: Link,
    pub id: i64,
    /// The corrected address fields (`line1`, `city`, `postalCode`, `country`, ...).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub address: PostalAddress,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_name: Option<&'static str>,
}

/// `{"suggestions": {"uri", "address": [...]}}`: empty when the address needs no correction.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddressSuggestionsEnvelope {
    pub suggestions: AddressSuggestions,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AddressSuggestions {
    pub uri: String,
    pub address: Vec<AddressSuggestion>,
}

/// `{"address": {...}}`: one suggestion.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddressSuggestionEnvelope {
    pub address: AddressSuggestion,
}
