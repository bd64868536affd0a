//! The `offers` and `pointOfPromotions` of a catalog import file (`shopkeeper catalog import`).
//!
//! An offer is the definition `shopkeeper offer create` takes (`offers::OfferInput`, coupon
//! codes included), except that it names its products by sku (`products`) and its categories
//! by name (`categories`), the way the file's products name their categories: ids differ
//! between databases, a file does not. It must have an `externalReferenceId`, which matches it
//! to the site's offer on a re-import (as a sku matches a product). A point of promotion is a
//! name and its offers in rank order, each named by `externalReferenceId`.
//!
//! Pure: what the site already has comes in as [`Known`]; every problem is returned, as the
//! file's products' are.

use crate::catalog::{ItemKey, Problem};
use crate::offers::{NewOffer, OfferInput, check_pop_name};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// An offer of the file, read but not yet checked.
#[derive(Debug, Clone)]
pub struct OfferItem {
    /// Skus of the products it covers (`productIds` of a definition).
    pub products: Vec<String>,
    /// Names of the categories it covers (`categoryIds` of a definition).
    pub categories: Vec<String>,
    pub definition: OfferInput,
}

/// A point of promotion of the file: its name and its offers' `externalReferenceId`s, first
/// shown first.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PopInput {
    pub name: String,
    #[serde(default)]
    pub offers: Vec<String>,
}

/// An offer checked, ready to store: its products and categories still named (the store finds
/// their ids once the file's products are written).
#[derive(Debug, Clone)]
pub struct ImportedOffer {
    /// `pricing.product_ids` and `pricing.category_ids` are empty: see `products`,
    /// `categories`. `external_reference_id` is set.
    pub offer: NewOffer,
    pub products: Vec<String>,
    pub categories: Vec<String>,
}

impl ImportedOffer {
    pub fn external_reference_id(&self) -> &str {
        self.offer
            .external_reference_id
            .as_deref()
            .unwrap_or_default()
    }
}

/// A point of promotion checked, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedPop {
    pub name: String,
    /// `externalReferenceId`s of its offers, in rank order.
    pub offers: Vec<String>,
}

/// The file's offers and POPs, checked.
#[derive(Debug, Clone, Default)]
pub struct ValidOffers {
    pub offers: Vec<ImportedOffer>,
    pub pops: Vec<ImportedPop>,
}

impl ValidOffers {
    pub fn is_empty(&self) -> bool {
        self.offers.is_empty() && self.pops.is_empty()
    }
}

/// What the file may name besides its own items: the site's, as the store answered.
#[derive(Debug, Default)]
pub struct Known {
    /// Skus of the file's products and variations, and the site's among those the offers name.
    pub skus: HashSet<String>,
    /// Category names of the file and of the site.
    pub categories: HashSet<String>,
    /// `externalReferenceId`s of the site's offers.
    pub offers: HashSet<String>,
    /// The site's coupon codes among the file's (upper-case), with the `externalReferenceId`
    /// of the offer holding each (`None`: an offer without one).
    pub coupon_codes: HashMap<String, Option<String>>,
}

/// The file's `offers` and `pointOfPromotions`, item by item, so that one malformed item does
/// not hide the others' problems.
#[derive(Debug, Default)]
pub struct OfferSection {
    offers: Vec<Result<OfferItem, Problem>>,
    pops: Vec<Result<PopInput, Problem>>,
}

fn problem(
    at: &str,
    name: Option<&str>,
    erid: Option<&str>,
    field: Option<&str>,
    message: impl Into<String>,
) -> Problem {
    Problem {
        at: at.to_owned(),
        key: name
            .map(|n| ItemKey::Name(n.to_owned()))
            .or_else(|| erid.map(|e| ItemKey::ExternalReferenceId(e.to_owned()))),
        field: field.map(str::to_owned),
        message: message.into(),
    }
}

/// Reads one offer of the file: `products` and `categories` (lists of names) taken out, the
/// rest an `OfferInput`.
fn parse_offer(value: Value, at: &str) -> Result<OfferItem, Problem> {
    let erid = value
        .get("externalReferenceId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let erid = erid.as_deref();
    let Value::Object(mut map) = value else {
        return Err(problem(at, None, erid, None, "an offer is a JSON object"));
    };
    let mut names = |key: &str, what: &str| match map.remove(key) {
        None => Ok(Vec::new()),
        Some(list) => serde_json::from_value::<Vec<String>>(list)
            .map_err(|_| problem(at, None, erid, Some(key), format!("a list of {what}"))),
    };
    let products = names("products", "skus")?;
    let categories = names("categories", "category names")?;
    let definition: OfferInput =
        serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
            let path = e.path().to_string();
            let field = Some(path.as_str()).filter(|f| !f.is_empty() && *f != ".");
            problem(at, None, erid, field, e.into_inner().to_string())
        })?;
    Ok(OfferItem {
        products,
        categories,
        definition,
    })
}

impl OfferSection {
    pub fn parse(offers: Vec<Value>, pops: Vec<Value>) -> Self {
        Self {
            offers: offers
                .into_iter()
                .enumerate()
                .map(|(i, v)| parse_offer(v, &format!("offers[{i}]")))
                .collect(),
            pops: pops
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    let at = format!("pointOfPromotions[{i}]");
                    let name = v.get("name").and_then(Value::as_str).map(str::to_owned);
                    serde_path_to_error::deserialize(v).map_err(|e| {
                        let path = e.path().to_string();
                        let field = Some(path.as_str()).filter(|f| !f.is_empty() && *f != ".");
                        problem(
                            &at,
                            name.as_deref(),
                            None,
                            field,
                            e.into_inner().to_string(),
                        )
                    })
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.offers.is_empty() && self.pops.is_empty()
    }

    /// Skus the offers name (for the store to say which the site has).
    pub fn skus(&self) -> HashSet<String> {
        self.offers
            .iter()
            .flatten()
            .flat_map(|o| o.products.iter().cloned())
            .collect()
    }

    /// Coupon codes the offers give, upper-case (for the store to say which the site has).
    pub fn coupon_codes(&self) -> HashSet<String> {
        self.offers
            .iter()
            .flatten()
            .flat_map(|o| &o.definition.coupon_codes)
            .filter_map(|raw| crate::offers::CouponCode::parse(raw))
            .map(|c| c.as_str().to_owned())
            .collect()
    }

    /// Checks every offer and POP against each other and `known`; every problem is returned.
    pub fn validate(self, known: &Known) -> Result<ValidOffers, Vec<Problem>> {
        let mut problems = Vec::new();
        let in_file: HashSet<String> = self
            .offers
            .iter()
            .flatten()
            .filter_map(|o| o.definition.external_reference_id.as_deref())
            .map(|e| e.trim().to_owned())
            .collect();
        let mut erids: HashMap<String, String> = HashMap::new();
        let mut codes: HashMap<String, String> = HashMap::new();
        let mut offers = Vec::new();
        for (i, item) in self.offers.into_iter().enumerate() {
            let at = format!("offers[{i}]");
            let item = match item {
                Ok(item) => item,
                Err(p) => {
                    problems.push(p);
                    continue;
                }
            };
            let before = problems.len();
            let erid = item
                .definition
                .external_reference_id
                .as_deref()
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_owned);
            let mut report = |field: Option<&str>, message: String| {
                problems.push(problem(&at, None, erid.as_deref(), field, message));
            };
            match &erid {
                None => report(
                    Some("externalReferenceId"),
                    "an imported offer needs an externalReferenceId: a re-import matches \
                     offers by it"
                        .into(),
                ),
                Some(e) if e.len() > 256 => report(
                    Some("externalReferenceId"),
                    "externalReferenceId must be at most 256 characters".into(),
                ),
                Some(e) => match erids.get(e) {
                    Some(first) => report(
                        Some("externalReferenceId"),
                        format!("externalReferenceId {e:?} repeated: first at {first}"),
                    ),
                    None => {
                        erids.insert(e.clone(), at.clone());
                    }
                },
            }
            for (field, ids) in [
                ("productIds", &item.definition.product_ids),
                ("categoryIds", &item.definition.category_ids),
            ] {
                if !ids.is_empty() {
                    report(
                        Some(field),
                        "an import names products by sku (`products`) and categories by name \
                         (`categories`): ids differ between databases"
                            .into(),
                    );
                }
            }
            for (j, sku) in item.products.iter().enumerate() {
                if !known.skus.contains(sku) {
                    report(
                        Some(&format!("products[{j}]")),
                        format!("sku {sku:?} is neither in the file nor stored"),
                    );
                }
            }
            for (j, name) in item.categories.iter().enumerate() {
                if !known.categories.contains(name) {
                    report(
                        Some(&format!("categories[{j}]")),
                        format!("category {name:?} is neither in the file nor stored"),
                    );
                }
            }
            let offer = match item.definition.parse(0) {
                Ok(offer) => Some(offer),
                Err(e) => {
                    // "percentOff: …" names its field; the other refusals are the offer's.
                    let (field, message) = match e.0.split_once(": ") {
                        Some((field, rest)) if field.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                            (Some(field), rest.to_owned())
                        }
                        _ => (None, e.0.clone()),
                    };
                    report(field, message);
                    None
                }
            };
            if let Some(offer) = &offer {
                for (j, code) in offer.coupon_codes.iter().enumerate() {
                    let field = format!("couponCodes[{j}]");
                    if let Some(first) = codes.get(code.as_str()) {
                        report(
                            Some(&field),
                            format!("coupon code {code} repeated: first at {first}"),
                        );
                        continue;
                    }
                    codes.insert(code.as_str().to_owned(), at.clone());
                    if let Some(holder) = known.coupon_codes.get(code.as_str())
                        && holder.as_deref() != erid.as_deref()
                    {
                        report(
                            Some(&field),
                            format!(
                                "coupon code {code} belongs to another offer of the site{}",
                                holder
                                    .as_deref()
                                    .map(|h| format!(" (externalReferenceId {h:?})"))
                                    .unwrap_or_default()
                            ),
                        );
                    }
                }
            }
            if let Some(offer) = offer
                && problems.len() == before
            {
                offers.push(ImportedOffer {
                    offer,
                    products: item.products,
                    categories: item.categories,
                });
            }
        }
        let mut names: HashMap<String, String> = HashMap::new();
        let mut pops = Vec::new();
        for (i, pop) in self.pops.into_iter().enumerate() {
            let at = format!("pointOfPromotions[{i}]");
            let pop = match pop {
                Ok(pop) => pop,
                Err(p) => {
                    problems.push(p);
                    continue;
                }
            };
            let before = problems.len();
            let mut report = |field: &str, message: String| {
                problems.push(problem(&at, Some(&pop.name), None, Some(field), message));
            };
            if let Err(e) = check_pop_name(&pop.name) {
                report("name", e.0);
            } else if let Some(first) = names.get(&pop.name) {
                report(
                    "name",
                    format!(
                        "point of promotion {:?} repeated: first at {first}",
                        pop.name
                    ),
                );
            } else {
                names.insert(pop.name.clone(), at.clone());
            }
            let mut listed = HashSet::new();
            for (j, erid) in pop.offers.iter().enumerate() {
                let field = format!("offers[{j}]");
                if !in_file.contains(erid) && !known.offers.contains(erid) {
                    report(
                        &field,
                        format!("offer {erid:?} is neither in the file nor stored"),
                    );
                } else if !listed.insert(erid) {
                    report(&field, format!("offer {erid:?} listed twice"));
                }
            }
            if problems.len() == before {
                pops.push(ImportedPop {
                    name: pop.name,
                    offers: pop.offers,
                });
            }
        }
        if problems.is_empty() {
            Ok(ValidOffers { offers, pops })
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn known() -> Known {
        Known {
            skus: ["A".to_owned(), "B".to_owned()].into(),
            categories: ["games".to_owned()].into(),
            offers: ["stored".to_owned()].into(),
            coupon_codes: [("TAKEN".to_owned(), Some("other".to_owned()))].into(),
        }
    }

    fn validate(offers: Value, pops: Value) -> Result<ValidOffers, Vec<Problem>> {
        OfferSection::parse(
            offers.as_array().unwrap().clone(),
            pops.as_array().unwrap().clone(),
        )
        .validate(&known())
    }

    #[test]
    fn offers_name_products_by_sku_and_pops_name_offers_by_reference() {
        let valid = validate(
            json!([
                {"externalReferenceId": "half", "name": "Half", "type": "Discount",
                 "percentOff": "50", "products": ["A"], "categories": ["games"]},
                {"externalReferenceId": "code", "name": "Code", "type": "Discount",
                 "level": "order", "trigger": "coupon", "percentOff": "10",
                 "couponCodes": ["welcome10"]}
            ]),
            json!([{"name": "Home_topSeller", "offers": ["code", "stored", "half"]}]),
        )
        .unwrap();
        assert_eq!(valid.offers[0].products, ["A"]);
        assert_eq!(valid.offers[0].categories, ["games"]);
        assert_eq!(valid.offers[1].offer.coupon_codes[0].as_str(), "WELCOME10");
        assert_eq!(valid.pops[0].offers, ["code", "stored", "half"]);
    }

    #[test]
    fn every_problem_of_the_offers_and_pops_is_reported_where_it_is() {
        let problems = validate(
            json!([
                {"name": "No reference", "type": "Discount", "percentOff": "5"},
                {"externalReferenceId": "x", "name": "X", "type": "Discount",
                 "percentOff": "5", "products": ["NOPE"], "categoryIds": [3]},
                {"externalReferenceId": "x", "name": "Again", "type": "Discount",
                 "percentOff": "500"},
                {"externalReferenceId": "c", "name": "C", "type": "Discount",
                 "trigger": "coupon", "percentOff": "5", "couponCodes": ["taken", "NEW", "new"]},
                {"externalReferenceId": "d", "name": "D", "type": "Discount", "colour": "red"}
            ]),
            json!([
                {"name": "has space", "offers": []},
                {"name": "P", "offers": ["x", "ghost", "x"]}
            ]),
        )
        .unwrap_err();
        let found: Vec<(&str, Option<&str>)> = problems
            .iter()
            .map(|p| (p.at.as_str(), p.field.as_deref()))
            .collect();
        assert_eq!(
            found,
            [
                ("offers[0]", Some("externalReferenceId")),
                ("offers[1]", Some("categoryIds")),
                ("offers[1]", Some("products[0]")),
                ("offers[2]", Some("externalReferenceId")),
                ("offers[2]", None),
                ("offers[3]", Some("couponCodes[0]")),
                ("offers[3]", Some("couponCodes[2]")),
                ("offers[4]", Some("colour")),
                ("pointOfPromotions[0]", Some("name")),
                ("pointOfPromotions[1]", Some("offers[1]")),
                ("pointOfPromotions[1]", Some("offers[2]")),
            ],
            "{problems:#?}"
        );
        assert_eq!(
            problems[1].key,
            Some(ItemKey::ExternalReferenceId("x".into()))
        );
        assert!(
            problems[5].message.contains("another offer"),
            "{problems:?}"
        );
    }
}
