//! The cart's applied offers (`GET carts/active/applied-offers`), shaped as the docs' sample
//! (`getting-all-applied-offers.md`): ids are strings there.

use serde::Serialize;
use utoipa::ToSchema;

/// `{"appliedOffers": [...]}`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppliedOffersEnvelope {
    pub applied_offers: Vec<AppliedOfferView>,
}

/// One offer that won its level, once per place it applies (each line an item offer won;
/// the order; the shipping).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppliedOfferView {
    pub id: String,
    pub cart_description: String,
    /// The code that brought the offer in, when a code did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied_coupon_code: Option<String>,
    pub applied_to: AppliedTo,
    /// `offer.type` (`Discount`, `Shipping Cost Discount`).
    #[serde(rename = "type")]
    pub offer_type: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppliedTo {
    /// `Product(s) (Line Item)` (the docs' sample), `Order` or `Shipping`.
    pub applied_level: &'static str,
    pub cart_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_item_id: Option<String>,
}
