//! A product's financing terms, as the docs' `200 OK` shows them (`product-discovery/
//! financing.md`, and the `financing` of `individual-products.md`): unwrapped, no envelope.

use super::money::Money;
use crate::shopper_api::ApiQuery;
use serde::Serialize;
use serde_json::Value;
use shopkeeper_domain::catalog::formatted;
use shopkeeper_domain::financing::Quote;
use shopkeeper_store::FinancingTermRecord;
use utoipa::ToSchema;

/// The path of a product's financing.
pub fn financing_path(product_id: i64) -> String {
    format!("/v1/shoppers/me/products/{product_id}/financing")
}

/// `{"uri", "financingTerm": [...]}`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FinancingView<'a> {
    pub uri: String,
    /// The site's terms, shortest first; empty for a site without any, or a free product.
    pub financing_term: Vec<FinancingTermView<'a>>,
}

/// One term for the product's price (`domain::financing`: amounts rounded up to the minor
/// unit; rates as JSON numbers from their exact decimals).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FinancingTermView<'a> {
    pub id: i64,
    /// `⌈months × the exact monthly payment⌉`.
    pub total_repayable: Money<'a>,
    pub formatted_total_repayable: String,
    /// What is lent: the product's sale price as the caller sees it.
    pub credit_amount: Money<'a>,
    pub formatted_credit_amount: String,
    /// `⌈the annuity's monthly payment⌉`.
    pub monthly_payment_amount: Money<'a>,
    pub formatted_monthly_payment_amount: String,
    pub duration_in_months: u32,
    /// The annual rate as a fraction (`0.099`).
    #[schema(value_type = f64)]
    pub interest_rate_pct: Value,
    /// The annual rate in percent (`9.9`).
    #[schema(value_type = f64)]
    pub interest_rate_pct_for_display: Value,
    /// No fees are charged, so the effective rate is the nominal one, as the docs' example
    /// shows them.
    #[schema(value_type = f64)]
    pub effective_interest_rate: Value,
    #[schema(value_type = f64)]
    pub effective_interest_rate_for_display: Value,
    /// The operator's, else `"9.9% for 12 months"`.
    pub description: String,
}

/// A decimal's text as the JSON number it reads as.
fn number(d: impl std::fmt::Display) -> Value {
    let text = d.to_string();
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

impl<'a> FinancingTermView<'a> {
    pub fn new(t: &FinancingTermRecord, quote: Quote, currency: &'a str) -> Self {
        let fraction = number(t.term.rate_fraction());
        let percent = number(t.term.rate_percent());
        FinancingTermView {
            id: t.id,
            total_repayable: Money::new(quote.total_minor, currency),
            formatted_total_repayable: formatted(quote.total_minor, currency),
            credit_amount: Money::new(quote.credit_minor, currency),
            formatted_credit_amount: formatted(quote.credit_minor, currency),
            monthly_payment_amount: Money::new(quote.monthly_minor, currency),
            formatted_monthly_payment_amount: formatted(quote.monthly_minor, currency),
            duration_in_months: t.term.months,
            interest_rate_pct: fraction.clone(),
            interest_rate_pct_for_display: percent.clone(),
            effective_interest_rate: fraction,
            effective_interest_rate_for_display: percent,
            description: t
                .description
                .clone()
                .unwrap_or_else(|| t.term.default_description()),
        }
    }
}

impl FinancingView<'_> {
    pub fn uri(q: &ApiQuery, product_id: i64) -> String {
        q.uri(&financing_path(product_id))
    }
}
