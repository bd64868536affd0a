//! The payment methods a cart may be paid with, as the docs' `200 OK` shows them
//! (`getting-the-available-payment-methods-for-the-cart.md`): unwrapped, no envelope.

use super::{Link, served_link};
use crate::shopper_api::ApiQuery;
use crate::views::cart::CART;
use serde::Serialize;
use shopkeeper_store::PaymentMethodRecord;
use utoipa::ToSchema;

pub const PAYMENT_METHODS: &str = "/v1/shoppers/me/carts/active/payment-methods";

/// `{"uri", "applyPaymentMethod": {"uri"}, "paymentMethod": [{"type", "displayName",
/// "description"}]}`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AvailablePaymentMethods<'a> {
    pub uri: String,
    /// Where a source of one of them is applied (while that route is served).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply_payment_method: Option<Link>,
    /// The site's methods for the cart's currency and billing country, in the site's order;
    /// empty when none fits.
    pub payment_method: Vec<AvailablePaymentMethod<'a>>,
}

/// One method: `{"type": "americanExpress", "displayName": "American Express", "description":
/// "American Express"}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AvailablePaymentMethod<'a> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub display_name: &'a str,
    pub description: &'a str,
}

impl<'a> AvailablePaymentMethods<'a> {
    pub fn new(q: &ApiQuery, methods: impl IntoIterator<Item = &'a PaymentMethodRecord>) -> Self {
        let apply = format!("{CART}/apply-payment-method");
        AvailablePaymentMethods {
            uri: q.uri(PAYMENT_METHODS),
            apply_payment_method: served_link(q, "POST", &apply, &apply),
            payment_method: methods
                .into_iter()
                .map(|m| AvailablePaymentMethod {
                    kind: &m.method_type,
                    display_name: &m.display_name,
                    description: &m.description,
                })
                .collect(),
        }
    }
}
