//! The `purchasePlans` of a catalog import file (`shopkeeper catalog import`): prices and
//! per-shopper limits of products in the site's purchase plans (private stores).
//!
//! Each entry names a plan the site already has (`shopkeeper purchase-plan create`) and lists
//! products by sku, in the file or on the site:
//! `{"name": "Employee Store", "prices": [{"sku": "X", "unitPrice": "12.99", "maxQuantity": 2}]}`.
//! A unit price is exact, in the product's currency (`catalog::parse_amount`).
//!
//! Pure: the plans and products the file may name come in as [`KnownPlans`]; every problem is
//! returned, as the file's products' are.

use crate::catalog::{ItemKey, Problem, parse_amount};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Most entries of one plan in a file.
const MAX_PRICES: usize = 100_000;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PlanInput {
    name: String,
    #[serde(default)]
    prices: Vec<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PriceInput {
    sku: String,
    unit_price: Option<Value>,
    max_quantity: Option<i64>,
}

/// A product's price or limit in a plan, checked; the product still named by its sku (the
/// store finds its id once the file's products are written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedPlanPrice {
    pub sku: String,
    /// In the product's currency, minor units; `None`: the plan's discount applies.
    pub unit_price_minor: Option<i64>,
    pub max_quantity: Option<i64>,
}

/// A plan's entries of the file, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedPlan {
    pub name: String,
    pub prices: Vec<ImportedPlanPrice>,
}

/// What the section may name: the site's plans, and the currency of each product of the file
/// or of the site that it names.
#[derive(Debug, Default)]
pub struct KnownPlans {
    pub plans: HashSet<String>,
    pub currencies: HashMap<String, String>,
}

/// The file's `purchasePlans`, item by item.
#[derive(Debug, Default)]
pub struct PlanSection {
    plans: Vec<Result<PlanInput, Problem>>,
}

fn problem(at: String, name: Option<&str>, field: Option<&str>, message: String) -> Problem {
    Problem {
        at,
        key: name.map(|n| ItemKey::Name(n.to_owned())),
        field: field.map(str::to_owned),
        message,
    }
}

impl PlanSection {
    pub fn parse(values: Vec<Value>) -> Self {
        let plans = values
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let name = v.get("name").and_then(Value::as_str).map(str::to_owned);
                serde_path_to_error::deserialize::<_, PlanInput>(v).map_err(|e| {
                    let path = e.path().to_string();
                    let field = Some(path.as_str()).filter(|f| !f.is_empty() && *f != ".");
                    problem(
                        format!("purchasePlans[{i}]"),
                        name.as_deref(),
                        field,
                        e.into_inner().to_string(),
                    )
                })
            })
            .collect();
        Self { plans }
    }

    pub fn is_empty(&self) -> bool {
        self.plans.is_empty()
    }

    /// Every sku the entries name (of plans that parsed).
    pub fn skus(&self) -> HashSet<String> {
        self.plans
            .iter()
            .flatten()
            .flat_map(|p| &p.prices)
            .filter_map(|v| v.get("sku").and_then(Value::as_str).map(str::to_owned))
            .collect()
    }

    /// Checks every entry: the plan is the site's (named once in the file), each sku is a
    /// product of the file or the site (once per plan), a unit price is an exact amount of
    /// the product's currency, a limit is at least 1.
    pub fn validate(self, known: &KnownPlans) -> Result<Vec<ImportedPlan>, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut plans = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, plan) in self.plans.into_iter().enumerate() {
            let plan = match plan {
                Ok(plan) => plan,
                Err(p) => {
                    problems.push(p);
                    continue;
                }
            };
            let at = format!("purchasePlans[{i}]");
            let name = Some(plan.name.as_str());
            if !known.plans.contains(&plan.name) {
                problems.push(problem(
                    at.clone(),
                    name,
                    Some("name"),
                    format!(
                        "the site has no purchase plan {:?} (`shopkeeper purchase-plan create` \
                         makes one)",
                        plan.name
                    ),
                ));
            }
            if let Some(first) = seen.insert(plan.name.clone(), i) {
                problems.push(problem(
                    at.clone(),
                    name,
                    Some("name"),
                    format!(
                        "plan {:?} repeated: first at purchasePlans[{first}]",
                        plan.name
                    ),
                ));
            }
            if plan.prices.len() > MAX_PRICES {
                problems.push(problem(
                    at.clone(),
                    name,
                    Some("prices"),
                    format!("at most {MAX_PRICES} prices per plan"),
                ));
                continue;
            }
            let mut skus: HashMap<String, usize> = HashMap::new();
            let mut prices = Vec::with_capacity(plan.prices.len());
            for (j, raw) in plan.prices.into_iter().enumerate() {
                let field = |f: &str| format!("prices[{j}].{f}");
                let entry: PriceInput = match serde_path_to_error::deserialize(raw) {
                    Ok(entry) => entry,
                    Err(e) => {
                        let path = e.path().to_string();
                        let f = if path.is_empty() || path == "." {
                            format!("prices[{j}]")
                        } else {
                            field(&path)
                        };
                        problems.push(problem(
                            at.clone(),
                            name,
                            Some(&f),
                            e.into_inner().to_string(),
                        ));
                        continue;
                    }
                };
                let mut bad = |f: &str, message: String| {
                    problems.push(problem(at.clone(), name, Some(&field(f)), message))
                };
                if let Some(first) = skus.insert(entry.sku.clone(), j) {
                    bad(
                        "sku",
                        format!("sku {:?} repeated: first at prices[{first}]", entry.sku),
                    );
                }
                let currency = known.currencies.get(&entry.sku);
                if currency.is_none() {
                    bad(
                        "sku",
                        format!(
                            "sku {:?} is neither a product of the file nor of the site",
                            entry.sku
                        ),
                    );
                }
                let unit_price_minor = match (&entry.unit_price, currency) {
                    (Some(raw), Some(currency)) => match parse_amount(raw, currency) {
                        Ok(minor) => Some(minor),
                        Err(e) => {
                            bad("unitPrice", e);
                            None
                        }
                    },
                    _ => None,
                };
                if entry.max_quantity.is_some_and(|q| q < 1) {
                    bad("maxQuantity", "maxQuantity must be at least 1".into());
                }
                prices.push(ImportedPlanPrice {
                    sku: entry.sku,
                    unit_price_minor,
                    max_quantity: entry.max_quantity,
                });
            }
            plans.push(ImportedPlan {
                name: plan.name,
                prices,
            });
        }
        if problems.is_empty() {
            Ok(plans)
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn known() -> KnownPlans {
        KnownPlans {
            plans: HashSet::from(["Employee Store".to_owned()]),
            currencies: HashMap::from([
                ("A".to_owned(), "USD".to_owned()),
                ("J".to_owned(), "JPY".to_owned()),
            ]),
        }
    }

    #[test]
    fn prices_are_exact_in_the_products_currency() {
        let section = PlanSection::parse(vec![json!({"name": "Employee Store", "prices": [
            {"sku": "A", "unitPrice": "12.99", "maxQuantity": 2},
            {"sku": "J", "unitPrice": "1200"},
            {"sku": "A2", "maxQuantity": 1}
        ]})]);
        assert_eq!(section.skus().len(), 3);
        let mut k = known();
        k.currencies.insert("A2".into(), "USD".into());
        let plans = section.validate(&k).unwrap();
        assert_eq!(plans[0].prices[0].unit_price_minor, Some(1299));
        assert_eq!(plans[0].prices[0].max_quantity, Some(2));
        assert_eq!(plans[0].prices[1].unit_price_minor, Some(1200));
        assert_eq!(plans[0].prices[2].unit_price_minor, None);
    }

    #[test]
    fn every_problem_is_named() {
        let section = PlanSection::parse(vec![
            json!({"name": "Nope", "prices": [{"sku": "A"}]}),
            json!({"name": "Employee Store", "prices": [
                {"sku": "missing"},
                {"sku": "J", "unitPrice": "12.5"},
                {"sku": "A", "maxQuantity": 0},
                {"sku": "A"},
                {"sku": "A", "price": "1"}
            ]}),
            json!({"prices": []}),
        ]);
        let problems = section.validate(&known()).unwrap_err();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 7, "{text:#?}");
        assert!(text[0].contains("no purchase plan \"Nope\""), "{text:#?}");
        assert!(
            text.iter()
                .any(|t| t.contains("prices[0].sku") && t.contains("missing"))
        );
        assert!(text.iter().any(|t| t.contains("prices[1].unitPrice")));
        assert!(text.iter().any(|t| t.contains("prices[2].maxQuantity")));
        assert!(
            text.iter()
                .any(|t| t.contains("prices[3].sku") && t.contains("repeated"))
        );
        assert!(
            text.iter()
                .any(|t| t.contains("prices[4]") && t.contains("price"))
        );
        assert!(text.iter().any(|t| t.starts_with("purchasePlans[2]")));
    }
}
