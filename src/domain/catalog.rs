//! Catalog rules: exact money, the import file's shape and its validation, inventory status,
//! paging, and the `fields` selection of the documented API. Pure: no I/O.

use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};

/// Digits after the decimal point of a currency (ISO 4217). Zero-decimal currencies are
/// listed; everything else has two.
pub fn currency_exponent(currency: &str) -> u32 {
    match currency {
        "JPY" | "KRW" | "CLP" | "ISK" | "VND" | "XAF" | "XOF" | "HUF" | "TWD" => 0,
        _ => 2,
    }
}

pub fn valid_currency(currency: &str) -> bool {
    currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase())
}

/// Parses an exact decimal amount ("19.99", "20", 20) into minor units, refusing more digits
/// than the currency has, negatives and anything that is not a plain decimal.
pub fn parse_amount(raw: &Value, currency: &str) -> Result<i64, String> {
    let text = match raw {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_u64() => n.to_string(),
        _ => return Err("must be a decimal string such as \"19.99\"".into()),
    };
    let exponent = currency_exponent(currency);
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (!frac.is_empty() && !digits(frac)) || text.ends_with('.') {
        return Err(format!("{text:?} is not a decimal amount"));
    }
    if frac.len() as u32 > exponent {
        return Err(format!(
            "{text:?} has more than {exponent} decimals for {currency}"
        ));
    }
    let scale = 10i64.pow(exponent);
    let whole: i64 = whole
        .parse()
        .map_err(|_| format!("{text:?} is too large"))?;
    let frac_value: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<i64>().unwrap() * 10i64.pow(exponent - frac.len() as u32)
    };
    whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(frac_value))
        .filter(|v| *v <= 1_000_000_000_000)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// "19.99" from 1999 minor units of USD: exact, no floating point.
pub fn format_amount(minor: i64, currency: &str) -> String {
    let exponent = currency_exponent(currency);
    if exponent == 0 {
        return minor.to_string();
    }
    let scale = 10i64.pow(exponent);
    format!(
        "{}.{:0width$}",
        minor / scale,
        minor % scale,
        width = exponent as usize
    )
}

/// The documented money object `{"currency", "value"}`. `value` is a JSON number as the API
/// documents it; it is written from the exact decimal text, never computed in floating point.
pub fn money(minor: i64, currency: &str) -> Value {
    let text = format_amount(minor, currency);
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    serde_json::json!({"currency": currency, "value": value})
}

/// "$19.99", "19.99 EUR": display strings of the documented `formatted…` fields.
pub fn formatted(minor: i64, currency: &str) -> String {
    let amount = format_amount(minor, currency);
    match currency {
        "USD" => format!("${amount}"),
        "GBP" => format!("£{amount}"),
        "EUR" => format!("{amount}€"),
        _ => format!("{amount} {currency}"),
    }
}

pub const IN_STOCK: &str = "PRODUCT_INVENTORY_IN_STOCK";
pub const OUT_OF_STOCK: &str = "PRODUCT_INVENTORY_OUT_OF_STOCK";

/// Inventory status: no tracked quantity (`None`, e.g. a download) is always in stock.
pub fn inventory_status(available_quantity: Option<i64>) -> &'static str {
    match available_quantity {
        Some(q) if q <= 0 => OUT_OF_STOCK,
        _ => IN_STOCK,
    }
}

/// `pageNumber` (from 1) and `pageSize` (1..=MAX_PAGE_SIZE) of a list request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub number: i64,
    pub size: i64,
}

pub const DEFAULT_PAGE_SIZE: i64 = 10;
pub const MAX_PAGE_SIZE: i64 = 100;

impl Page {
    pub fn parse(number: Option<&str>, size: Option<&str>) -> Result<Self, String> {
        let parse = |raw: Option<&str>, name: &str, default: i64, max: i64| match raw {
            None => Ok(default),
            Some(s) => s
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| format!("{name} must be an integer from 1 to {max}")),
        };
        Ok(Self {
            number: parse(number, "pageNumber", 1, 1_000_000)?,
            size: parse(size, "pageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?,
        })
    }

    pub fn offset(&self) -> i64 {
        (self.number - 1) * self.size
    }

    pub fn has_next(&self, total: i64) -> bool {
        self.number * self.size < total
    }
}

/// The `fields` parameter: dotted paths selecting what a response keeps. Paths are relative
/// to the response's root key; `product.id` also works on a list (`products.product.id`).
pub fn select_fields(body: Value, fields: Option<&str>) -> Value {
    let Some(fields) = fields.filter(|f| !f.trim().is_empty()) else {
        return body;
    };
    let Value::Object(root) = body else {
        return body;
    };
    let Some((root_key, inner)) = root.into_iter().next() else {
        return Value::Object(Map::new());
    };
    let mut tree = FieldTree::default();
    for path in fields.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let path = path.strip_prefix(&format!("{root_key}.")).unwrap_or(path);
        if path == root_key {
            tree.children.clear();
            tree.all = true;
            break;
        }
        tree.insert(path.split('.'));
    }
    let mut out = Map::new();
    out.insert(root_key, if tree.all { inner } else { tree.prune(inner) });
    Value::Object(out)
}

#[derive(Default)]
struct FieldTree {
    all: bool,
    children: BTreeMap<String, FieldTree>,
}

impl FieldTree {
    fn insert<'a>(&mut self, mut path: impl Iterator<Item = &'a str>) {
        match path.next() {
            None => self.all = true,
            Some(segment) => self
                .children
                .entry(segment.to_owned())
                .or_default()
                .insert(path),
        }
    }

    fn prune(&self, value: Value) -> Value {
        if self.all {
            return value;
        }
        match value {
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.prune(v)).collect()),
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .filter_map(|(k, v)| self.children.get(&k).map(|t| (k, t.prune(v))))
                    .collect(),
            ),
            other => other,
        }
    }
}

/// The `expand` parameter: `all`, or names such as `product`, `pricing`, `product.pricing`.
#[derive(Debug, Default)]
pub struct Expand {
    all: bool,
    names: HashSet<String>,
}

impl Expand {
    pub fn parse(raw: Option<&str>) -> Self {
        let mut expand = Self::default();
        for name in raw.unwrap_or("").split(',').map(str::trim) {
            if name == "all" {
                expand.all = true;
            } else if !name.is_empty() {
                // `product.pricing` expands `pricing` of products; `product` the products.
                for part in name.split('.') {
                    expand.names.insert(part.to_owned());
                }
            }
        }
        expand
    }

    pub fn has(&self, name: &str) -> bool {
        self.all || self.names.contains(name)
    }
}

/// `shopkeeper catalog import FILE`: the JSON file's shape.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CatalogFile {
    #[serde(default)]
    pub categories: Vec<CategoryInput>,
    #[serde(default)]
    pub products: Vec<ProductInput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CategoryInput {
    pub name: String,
    pub display_name: Option<String>,
    /// The `name` of the parent category, listed earlier in the file or already stored.
    pub parent: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductInput {
    pub sku: String,
    pub name: String,
    pub display_name: Option<String>,
    #[serde(default)]
    pub short_description: String,
    #[serde(default)]
    pub long_description: String,
    /// `DIGITAL` or `PHYSICAL`.
    pub product_type: String,
    #[serde(default)]
    pub keywords: String,
    pub thumbnail_image: Option<String>,
    pub product_image: Option<String>,
    pub currency: String,
    pub list_price: Value,
    pub sale_price: Option<Value>,
    /// Omitted: not tracked (always in stock).
    pub available_quantity: Option<i64>,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub volume_pricing: Vec<VolumePriceInput>,
    /// Variations of this base product (a variation's own `variations` must be empty).
    #[serde(default)]
    pub variations: Vec<ProductInput>,
    /// A variation's distinguishing attributes, e.g. `{"color": "red"}`.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumePriceInput {
    pub min_quantity: i64,
    pub unit_price: Value,
}

/// A product checked and converted, ready to store.
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub sku: String,
    pub name: String,
    pub display_name: String,
    pub short_description: String,
    pub long_description: String,
    pub product_type: &'static str,
    pub keywords: String,
    pub thumbnail_image: Option<String>,
    pub product_image: Option<String>,
    pub currency: String,
    pub list_price_minor: i64,
    pub sale_price_minor: i64,
    pub available_quantity: Option<i64>,
    pub categories: Vec<String>,
    pub volume_prices: Vec<(i64, i64)>,
    pub attributes: BTreeMap<String, String>,
    pub variations: Vec<NewProduct>,
}

fn text(field: &str, value: &str, max: usize) -> Result<(), String> {
    if value.trim().is_empty() || value.len() > max {
        return Err(format!("{field} must be 1-{max} characters"));
    }
    Ok(())
}

impl ProductInput {
    /// Validates; errors name the product's sku and the field.
    pub fn validate(self, is_variation: bool) -> Result<NewProduct, String> {
        let sku = self.sku.clone();
        let at = |e: String| format!("product {sku:?}: {e}");
        text("sku", &self.sku, 128).map_err(at)?;
        text("name", &self.name, 256).map_err(at)?;
        let product_type = match self.product_type.as_str() {
            "DIGITAL" => "DIGITAL",
            "PHYSICAL" => "PHYSICAL",
            _ => return Err(at("productType must be DIGITAL or PHYSICAL".into())),
        };
        if !valid_currency(&self.currency) {
            return Err(at("currency must be a three-letter ISO 4217 code".into()));
        }
        let list = parse_amount(&self.list_price, &self.currency)
            .map_err(|e| at(format!("listPrice {e}")))?;
        let sale = match &self.sale_price {
            None => list,
            Some(v) => parse_amount(v, &self.currency).map_err(|e| at(format!("salePrice {e}")))?,
        };
        if sale > list {
            return Err(at("salePrice must not exceed listPrice".into()));
        }
        if matches!(self.available_quantity, Some(q) if q < 0) {
            return Err(at("availableQuantity must not be negative".into()));
        }
        let mut volume_prices = Vec::new();
        for tier in &self.volume_pricing {
            if tier.min_quantity < 2 {
                return Err(at("volumePricing minQuantity must be at least 2".into()));
            }
            let unit = parse_amount(&tier.unit_price, &self.currency)
                .map_err(|e| at(format!("volumePricing unitPrice {e}")))?;
            volume_prices.push((tier.min_quantity, unit));
        }
        if is_variation && !self.variations.is_empty() {
            return Err(at("a variation cannot have variations".into()));
        }
        let variations = self
            .variations
            .into_iter()
            .map(|v| v.validate(true))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NewProduct {
            display_name: self.display_name.unwrap_or_else(|| self.name.clone()),
            sku: self.sku,
            name: self.name,
            short_description: self.short_description,
            long_description: self.long_description,
            product_type,
            keywords: self.keywords,
            thumbnail_image: self.thumbnail_image,
            product_image: self.product_image,
            currency: self.currency,
            list_price_minor: list,
            sale_price_minor: sale,
            available_quantity: self.available_quantity,
            categories: self.categories,
            volume_prices,
            attributes: self.attributes,
            variations,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_are_exact() {
        assert_eq!(parse_amount(&json!("19.99"), "USD"), Ok(1999));
        assert_eq!(parse_amount(&json!("20"), "USD"), Ok(2000));
        assert_eq!(parse_amount(&json!("0.1"), "USD"), Ok(10));
        assert_eq!(parse_amount(&json!(1500), "JPY"), Ok(1500));
        assert!(parse_amount(&json!("1.5"), "JPY").is_err());
        assert!(parse_amount(&json!("19.999"), "USD").is_err());
        assert!(parse_amount(&json!(19.99), "USD").is_err());
        assert!(parse_amount(&json!("-1"), "USD").is_err());
        assert!(parse_amount(&json!("1."), "USD").is_err());
        assert_eq!(format_amount(1999, "USD"), "19.99");
        assert_eq!(format_amount(5, "USD"), "0.05");
        assert_eq!(
            money(1999, "USD"),
            json!({"currency": "USD", "value": 19.99})
        );
    }

    #[test]
    fn fields_select_top_level_and_product_fields() {
        let list = json!({"products": {"uri": "u", "totalResults": 2,
            "product": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}});
        assert_eq!(
            select_fields(list.clone(), Some("product.id,totalResults")),
            json!({"products": {"totalResults": 2, "product": [{"id": 1}, {"id": 2}]}})
        );
        let one = json!({"product": {"id": 1, "name": "a", "sku": "s"}});
        assert_eq!(
            select_fields(one, Some("product.id,sku")),
            json!({"product": {"id": 1, "sku": "s"}})
        );
        assert_eq!(select_fields(list.clone(), None), list);
    }

    #[test]
    fn paging_bounds() {
        assert_eq!(
            Page::parse(None, None),
            Ok(Page {
                number: 1,
                size: 10
            })
        );
        assert!(Page::parse(Some("0"), None).is_err());
        assert!(Page::parse(None, Some("1000")).is_err());
        assert!(Page::parse(Some("x"), None).is_err());
        let p = Page::parse(Some("2"), Some("5")).unwrap();
        assert_eq!(p.offset(), 5);
        assert!(p.has_next(11));
        assert!(!p.has_next(10));
    }
}
