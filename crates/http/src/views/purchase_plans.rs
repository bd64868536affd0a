//! Private stores (purchase plans) as the docs show them (`managing-private-stores.md`,
//! `private-store-workflow.md`): every value a string, as the samples write them.

use crate::shopper_api::ApiQuery;
use serde::Serialize;
use shopkeeper_store::PurchasePlanRecord;
use utoipa::ToSchema;

pub const PURCHASE_PLAN: &str = "/v1/shoppers/me/purchase-plan";

/// The plan, flat, as the docs' `GET purchase-plan` answer shows it (plus `uri` and
/// `brandLogoImage`, which the search's answer shows).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PurchasePlanView {
    pub uri: String,
    pub id: String,
    pub is_authentication_required_to_browse: String,
    pub purchase_plan_name: String,
    pub brand_display_name: String,
    pub brand_logo_image: String,
    pub target_market_id: String,
    pub target_market_name: String,
}

impl PurchasePlanView {
    pub fn new(q: &ApiQuery, p: &PurchasePlanRecord) -> Self {
        Self {
            uri: q.uri(PURCHASE_PLAN),
            id: p.id.to_string(),
            is_authentication_required_to_browse: p.auth_required_to_browse.to_string(),
            purchase_plan_name: p.name.clone(),
            brand_display_name: p.brand_display_name.clone(),
            brand_logo_image: p.brand_logo_image.clone(),
            target_market_id: p.target_market_id.to_string(),
            target_market_name: p.target_market_name.clone(),
        }
    }
}

/// `{"purchasePlans": {"uri", "purchasePlan": [...], "totalResults"}}`: the workflow page's
/// sample in the API's camelCase (README, "Where the docs disagree").
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PurchasePlansEnvelope {
    pub purchase_plans: PurchasePlans,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PurchasePlans {
    pub uri: String,
    pub purchase_plan: Vec<PurchasePlanView>,
    pub total_results: String,
}
