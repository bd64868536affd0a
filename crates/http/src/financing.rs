//! `GET /v1/shoppers/me/products/{id}/financing` (token optional): the site's financing terms
//! for the product's price (`product-discovery/financing.md`). The terms are the operator's
//! (`shopkeeper site financing`); the figures are `domain::financing`'s (exact, rounded up to
//! the minor unit). An unknown product is the catalog's 404.

use super::access::TokenOptional;
use super::shopper_api::{ApiResult, Found};
use super::views::financing::{FinancingTermView, FinancingView};
use axum::extract::State;
use axum::response::Response;
use shopkeeper_services::state::AppState;
use shopkeeper_store::ProductRecord;

/// `GET .../products/{id}/financing`: every term of the site on the product's sale price as the
/// caller sees it (a private store's plan price for a session in the plan). A product free to
/// the caller has nothing to finance: no terms.
pub async fn get_financing(
    State(state): State<AppState>,
    Found { q, item: p, .. }: Found<TokenOptional, ProductRecord>,
) -> ApiResult<Response> {
    let terms = state.store.financing_terms(&p.site_id).await?;
    let credit = p.sale_price_minor;
    let financing_term = if credit > 0 {
        terms
            .iter()
            .map(|t| FinancingTermView::new(t, t.term.quote(credit), &p.currency))
            .collect()
    } else {
        Vec::new()
    };
    Ok(q.respond_with(&FinancingView {
        uri: FinancingView::uri(&q, p.id),
        financing_term,
    }))
}
