//! Catalog rules: exact money, the import file's shape and its validation, inventory status,
//! paging, and the `fields` selection of the documented API. Pure: no I/O.

use crate::subscriptions::{MAX_GRACE_DAYS, MAX_TERM_DAYS, Plan, PlanError, Term, TermUnit};
use iso_currency::Currency;
use rust_decimal::{Decimal, Error as DecimalError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

/// The ISO 4217 currency of a code: a current one whose amounts have a number of decimals
/// (superseded codes and metals like XAU are not prices).
fn iso_currency(code: &str) -> Option<Currency> {
    Currency::from_code(code).filter(|c| c.exponent().is_some() && c.is_superseded().is_none())
}

/// Digits after the decimal point of a currency, as ISO 4217 lists them (JPY 0, USD 2, BHD 3).
/// A code that is not one (only stored before codes were checked) reads with two.
pub fn currency_exponent(currency: &str) -> u32 {
    iso_currency(currency)
        .and_then(Currency::exponent)
        .map_or(2, u32::from)
}

/// Whether a code is a current ISO 4217 currency (`USD`, `BHD`; not `ABC`, `usd` or `HRK`).
pub fn valid_currency(currency: &str) -> bool {
    iso_currency(currency).is_some()
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
    // The documented form is digits with one optional point between digits; Decimal's parser
    // would also take a sign, underscores and a bare leading or trailing point.
    let plain = text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.starts_with(|c: char| c.is_ascii_digit())
        && text.ends_with(|c: char| c.is_ascii_digit());
    let too_many = || format!("{text:?} has more than {exponent} decimals for {currency}");
    let mut amount = match Decimal::from_str_exact(&text) {
        Ok(amount) if plain => amount,
        Err(DecimalError::ExceedsMaximumPossibleValue) if plain => {
            return Err(format!("{text:?} is too large"));
        }
        Err(DecimalError::Underflow | DecimalError::ScaleExceedsMaximumPrecision(_)) if plain => {
            return Err(too_many());
        }
        _ => return Err(format!("{text:?} is not a decimal amount")),
    };
    if amount.scale() > exponent {
        return Err(too_many());
    }
    amount.rescale(exponent);
    i64::try_from(amount.mantissa())
        .ok()
        .filter(|minor| *minor <= MAX_AMOUNT_MINOR)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// The largest amount an import accepts, in minor units.
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000;

/// "19.99" from 1999 minor units of USD, "1.234" from 1234 of BHD: exact, no floating point.
pub fn format_amount(minor: i64, currency: &str) -> String {
    Decimal::new(minor, currency_exponent(currency)).to_string()
}

/// What a unit price `unit` takes off the list price `list` (minor units), as the docs'
/// `discountDescription` shows it: a whole percentage rounded half up (`"10%"`), `None` when
/// nothing is taken off.
pub fn discount_description(list: i64, unit: i64) -> Option<String> {
    if list <= 0 || unit >= list {
        return None;
    }
    let off = list - unit;
    Some(format!("{}%", (off * 200 + list) / (2 * list)))
}

/// The documented money object `{"currency", "value"}`. `value` is a JSON number as the API
/// documents it; it is written from the exact decimal text, never computed in floating point.
pub fn money(minor: i64, currency: &str) -> Value {
    serde_json::json!({"currency": currency, "value": amount_value(minor, currency)})
}

/// An amount as the JSON number its exact decimal text reads as (a string if it does not).
pub fn amount_value(minor: i64, currency: &str) -> Value {
    let text = format_amount(minor, currency);
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// The display strings of the documented `formatted…` fields, in en_US: the locale of the
/// sites' demo data and the one the storefront renders.
pub fn formatted(minor: i64, currency: &str) -> String {
    formatted_en_us(minor, currency)
}

/// en_US: digits grouped as num-format's `en` locale groups them; the sign of the locale's own
/// currency before the amount ("$1,059.50"); any other currency by its ISO code after it
/// ("1,059.50 GBP", "7.468 BHD"), since a bare "$" or "¥" could be any of several.
fn formatted_en_us(minor: i64, currency: &str) -> String {
    use num_format::{Locale, ToFormattedString};
    let exponent = currency_exponent(currency);
    let scale = 10u64.pow(exponent);
    let amount = minor.unsigned_abs();
    let mut digits = (amount / scale).to_formatted_string(&Locale::en);
    if exponent > 0 {
        // Every decimal the currency has, zeros included ("$0.00", "$5.10").
        digits.push_str(Locale::en.decimal());
        digits.push_str(&format!(
            "{:0width$}",
            amount % scale,
            width = exponent as usize
        ));
    }
    let minus = if minor < 0 { "-" } else { "" };
    match iso_currency(currency) {
        Some(Currency::USD) => format!("{minus}{}{digits}", Currency::USD.symbol().symbol),
        _ => format!("{minus}{digits} {currency}"),
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
    /// Offer definitions (`domain::offer_import`), kept as written until they are checked.
    #[serde(default)]
    pub offers: Vec<Value>,
    /// Points of promotion (`domain::offer_import`).
    #[serde(default)]
    pub point_of_promotions: Vec<Value>,
    /// Prices and limits of products in the site's purchase plans (`domain::plan_import`).
    #[serde(default)]
    pub purchase_plans: Vec<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CategoryInput {
    pub name: String,
    pub display_name: Option<String>,
    #[serde(default)]
    pub short_description: String,
    #[serde(default)]
    pub long_description: String,
    #[serde(default)]
    pub thumbnail_image: Option<String>,
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
    /// Who makes the product, as the docs' `manufacturerName`.
    #[serde(default)]
    pub manufacturer_name: Option<String>,
    /// The merchant's own attributes (`customAttributes.attribute[]` in the docs' answers).
    #[serde(default)]
    pub custom_attributes: Vec<CustomAttribute>,
    /// A subscription product's plan (`domain::subscriptions::PlanInput`).
    #[serde(default)]
    pub subscription: Option<PlanInput>,
}

/// A subscription product's `subscription` block as an import file writes it:
/// `{"term": {"termUnit": "MONTHS", "termLength": 1}, "isAutomatic": true,
/// "freeTrialPeriod": 0, "gracePeriodDays": 7, "billingAttemptDaysBeforeExpiration": [3, 1],
/// "postExpirationBillingAttemptIntervalInDays": 2, "renewalPrice": "9.99"}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanInput {
    pub term: TermInput,
    #[serde(default)]
    pub is_automatic: Option<bool>,
    #[serde(default)]
    pub free_trial_period: Option<u32>,
    #[serde(default)]
    pub grace_period_days: Option<u32>,
    #[serde(default)]
    pub billing_attempt_days_before_expiration: Vec<u32>,
    #[serde(default)]
    pub post_expiration_billing_attempt_interval_in_days: Option<u32>,
    #[serde(default)]
    pub renewal_price: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TermInput {
    pub term_unit: String,
    /// A number or a numeric string (the docs write both).
    pub term_length: Value,
}

impl PlanInput {
    /// The plan, checked; `currency` is the product's (for the renewal price).
    pub fn parse(self, currency: &str) -> Result<Plan, PlanError> {
        let unit = TermUnit::parse(&self.term.term_unit).ok_or_else(|| {
            PlanError(format!(
                "term.termUnit: {:?} is not DAYS, MONTHS or YEARS",
                self.term.term_unit
            ))
        })?;
        let length = match &self.term.term_length {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .and_then(|n| u32::try_from(n).ok());
        let term = length.and_then(|l| Term::new(unit, l)).ok_or_else(|| {
            PlanError(format!(
                "term.termLength: a whole number from 1, at most {MAX_TERM_DAYS} days"
            ))
        })?;
        let grace_days = self.grace_period_days.unwrap_or(0);
        let free_trial_days = self.free_trial_period.unwrap_or(0);
        for (value, what) in [
            (grace_days, "gracePeriodDays"),
            (free_trial_days, "freeTrialPeriod"),
        ] {
            if value > MAX_GRACE_DAYS {
                return Err(PlanError(format!("{what}: at most {MAX_GRACE_DAYS} days")));
            }
        }
        let term_days = term.days_from(0);
        let mut attempts = self.billing_attempt_days_before_expiration;
        if attempts.iter().any(|d| i64::from(*d) >= term_days) {
            return Err(PlanError(
                "billingAttemptDaysBeforeExpiration: each attempt falls inside the term".into(),
            ));
        }
        // Latest last: the most days before expiration comes first.
        attempts.sort_unstable_by(|a, b| b.cmp(a));
        attempts.dedup();
        let retry_interval_days = self
            .post_expiration_billing_attempt_interval_in_days
            .unwrap_or(0);
        if retry_interval_days > 0 && grace_days == 0 {
            return Err(PlanError(
                "postExpirationBillingAttemptIntervalInDays needs a grace period (the docs: not \
                 allowed when the grace period is None)"
                    .into(),
            ));
        }
        let renewal_price_minor = self
            .renewal_price
            .as_ref()
            .map(|p| parse_amount(p, currency))
            .transpose()
            .map_err(|e| PlanError(format!("renewalPrice: {e}")))?;
        Ok(Plan {
            term,
            auto_renewal: self.is_automatic.unwrap_or(true),
            free_trial_days,
            grace_days,
            attempt_days_before: attempts,
            retry_interval_days,
            renewal_price_minor,
        })
    }
}

/// A merchant-defined attribute of a product, as the docs' answers list them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomAttribute {
    pub name: String,
    /// One of [`ATTRIBUTE_TYPES`] (the docs write `string` and `String` alike).
    #[serde(rename = "type", default = "string_type")]
    pub kind: String,
    pub value: String,
}

/// The attribute types Global Commerce defines.
pub const ATTRIBUTE_TYPES: [&str; 6] = ["String", "Boolean", "Integer", "Decimal", "Date", "List"];

fn string_type() -> String {
    "String".to_owned()
}

impl CustomAttribute {
    /// The attribute's problem, if any: a named field and why.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if let Err(e) = text("name", &self.name, 128) {
            return Some(("name", e));
        }
        if !ATTRIBUTE_TYPES
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&self.kind))
        {
            return Some((
                "type",
                format!("must be one of {}", ATTRIBUTE_TYPES.join(", ")),
            ));
        }
        if self.value.len() > 4096 {
            return Some(("value", "must be at most 4096 characters".into()));
        }
        let ok = match self.kind.to_ascii_lowercase().as_str() {
            "boolean" => matches!(self.value.as_str(), "true" | "false"),
            "integer" => self.value.parse::<i64>().is_ok(),
            "decimal" => self.value.parse::<Decimal>().is_ok(),
            _ => true,
        };
        (!ok).then(|| ("value", format!("is not a {}", self.kind)))
    }
}

/// A product's custom attributes as the store keeps them (a JSON list).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomAttributes(pub Vec<CustomAttribute>);

/// Most custom attributes a cart or a line keeps.
pub const MAX_CUSTOM_ATTRIBUTES: usize = 50;

/// Setting the attributes would leave more than [`MAX_CUSTOM_ATTRIBUTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyAttributes;

impl CustomAttributes {
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).expect("attributes serialise")
    }

    /// These attributes with `given` set on them: one of the same name is replaced, a new one
    /// added (a storefront sends the attributes it sets, not the whole list); refused past
    /// [`MAX_CUSTOM_ATTRIBUTES`], so that repeated writes cannot grow a cart without bound.
    pub fn merged(&self, given: &CustomAttributes) -> Result<CustomAttributes, TooManyAttributes> {
        let mut out = self.0.clone();
        for a in &given.0 {
            match out.iter_mut().find(|o| o.name == a.name) {
                Some(o) => *o = a.clone(),
                None => out.push(a.clone()),
            }
        }
        if out.len() > MAX_CUSTOM_ATTRIBUTES {
            return Err(TooManyAttributes);
        }
        Ok(CustomAttributes(out))
    }
}

impl TryFrom<String> for CustomAttributes {
    type Error = serde_json::Error;
    fn try_from(json: String) -> Result<Self, Self::Error> {
        serde_json::from_str(&json).map(Self)
    }
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
    pub manufacturer_name: Option<String>,
    /// The file's custom attributes, then a variation's own attributes (as `String`
    /// attributes, unless the file names them too): Global Commerce lists both.
    pub custom_attributes: CustomAttributes,
    pub variations: Vec<NewProduct>,
    /// `Some`: a subscription product, sold by the term.
    pub subscription: Option<crate::subscriptions::Plan>,
}

/// One thing wrong with an import file, and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The item: `products[3]`, `products[3].variations[1]`, `categories[0]` (indexes from 0),
    /// or `file` for the file as a whole.
    pub at: String,
    /// What names the item, when the file gives it: a product's `sku`, a category's or point
    /// of promotion's `name`, an offer's `externalReferenceId`.
    #[serde(flatten)]
    pub key: Option<ItemKey>,
    /// The field as the file spells it (`listPrice`, `volumePricing[1].unitPrice`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

/// The key of an item of an import file, as the file spells its field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ItemKey {
    Sku(String),
    Name(String),
    ExternalReferenceId(String),
}

impl fmt::Display for ItemKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ItemKey::Sku(sku) => write!(f, "sku {sku:?}"),
            ItemKey::Name(name) => write!(f, "name {name:?}"),
            ItemKey::ExternalReferenceId(erid) => write!(f, "externalReferenceId {erid:?}"),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.at)?;
        if let Some(key) = &self.key {
            write!(f, " ({key})")?;
        }
        if let Some(field) = &self.field {
            write!(f, " {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// An import file parsed item by item, so that one malformed item does not hide the problems
/// of the others.
#[derive(Debug)]
pub struct ParsedFile {
    categories: Vec<Result<CategoryInput, Problem>>,
    products: Vec<Result<ProductInput, Problem>>,
    /// `offers` and `pointOfPromotions`, raw: `domain::offer_import` reads them.
    offers: Vec<Value>,
    point_of_promotions: Vec<Value>,
    /// `purchasePlans`, raw: `domain::plan_import` reads them.
    purchase_plans: Vec<Value>,
}

/// The top level of an import file, its items left raw (see [`ParsedFile`]).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    categories: Vec<Value>,
    #[serde(default)]
    products: Vec<Value>,
    #[serde(default)]
    offers: Vec<Value>,
    #[serde(default)]
    point_of_promotions: Vec<Value>,
    #[serde(default)]
    purchase_plans: Vec<Value>,
}

impl From<CatalogFile> for ParsedFile {
    fn from(file: CatalogFile) -> Self {
        Self {
            categories: file.categories.into_iter().map(Ok).collect(),
            products: file.products.into_iter().map(Ok).collect(),
            offers: file.offers,
            point_of_promotions: file.point_of_promotions,
            purchase_plans: file.purchase_plans,
        }
    }
}

impl ParsedFile {
    /// Parses an import file; an error only when it is not JSON or not the file's shape at its
    /// top level. Each item's own mistakes are kept for [`ParsedFile::validate`].
    pub fn parse(json: &str) -> Result<Self, Problem> {
        let raw: RawFile = serde_json::from_str(json).map_err(|e| Problem {
            at: "file".into(),
            key: None,
            field: None,
            message: format!("not a catalog file: {e}"),
        })?;
        Ok(Self {
            categories: raw
                .categories
                .into_iter()
                .enumerate()
                .map(|(i, v)| parse_item(v, format!("categories[{i}]"), "name"))
                .collect(),
            products: raw
                .products
                .into_iter()
                .enumerate()
                .map(|(i, v)| parse_item(v, format!("products[{i}]"), "sku"))
                .collect(),
            offers: raw.offers,
            point_of_promotions: raw.point_of_promotions,
            purchase_plans: raw.purchase_plans,
        })
    }

    pub fn product_count(&self) -> usize {
        self.products.len()
    }

    /// Takes the file's `offers` and `pointOfPromotions` out, as written.
    pub fn take_offers(&mut self) -> (Vec<Value>, Vec<Value>) {
        (
            std::mem::take(&mut self.offers),
            std::mem::take(&mut self.point_of_promotions),
        )
    }

    /// Takes the file's `purchasePlans` out, as written.
    pub fn take_purchase_plans(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.purchase_plans)
    }

    /// The currency of every product and variation of the file, by sku (of items that parsed).
    pub fn sku_currencies(&self) -> HashMap<String, String> {
        fn add(p: &ProductInput, out: &mut HashMap<String, String>) {
            out.insert(p.sku.clone(), p.currency.clone());
            for v in &p.variations {
                add(v, out);
            }
        }
        let mut out = HashMap::new();
        for p in self.products.iter().flatten() {
            add(p, &mut out);
        }
        out
    }

    /// Every sku the file gives a product or a variation (of items that parsed).
    pub fn skus(&self) -> HashSet<String> {
        fn add(p: &ProductInput, skus: &mut HashSet<String>) {
            skus.insert(p.sku.clone());
            for v in &p.variations {
                add(v, skus);
            }
        }
        let mut skus = HashSet::new();
        for p in self.products.iter().flatten() {
            add(p, &mut skus);
        }
        skus
    }

    /// Every category name the file lists (of items that parsed).
    pub fn category_names(&self) -> HashSet<String> {
        self.categories
            .iter()
            .flatten()
            .map(|c| c.name.clone())
            .collect()
    }

    /// Checks the whole file and returns every problem: each item's fields, skus repeated
    /// anywhere in the file (variations included: a sku names one product of the site),
    /// category names repeated, parents listed after their child, and categories neither in
    /// the file nor in `stored_categories` (the site's).
    pub fn validate(
        self,
        stored_categories: &HashSet<String>,
    ) -> Result<ValidCatalog, Vec<Problem>> {
        let mut problems = Vec::new();
        let in_file: HashSet<String> = self
            .categories
            .iter()
            .filter_map(|c| c.as_ref().ok().map(|c| c.name.clone()))
            .collect();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut categories = Vec::with_capacity(self.categories.len());
        for (i, c) in self.categories.into_iter().enumerate() {
            let c = match c {
                Ok(c) => c,
                Err(p) => {
                    problems.push(p);
                    continue;
                }
            };
            let mut problem = |field: &str, message: String| {
                problems.push(Problem {
                    at: format!("categories[{i}]"),
                    key: Some(ItemKey::Name(c.name.clone())),
                    field: Some(field.into()),
                    message,
                })
            };
            if let Err(e) = text("name", &c.name, 256) {
                problem("name", e);
            }
            if let Some(Err(e)) = c
                .display_name
                .as_deref()
                .map(|d| text("displayName", d, 256))
            {
                problem("displayName", e);
            }
            for (field, value, max) in [
                ("shortDescription", c.short_description.as_str(), 1024),
                ("longDescription", c.long_description.as_str(), 65536),
                (
                    "thumbnailImage",
                    c.thumbnail_image.as_deref().unwrap_or(""),
                    2048,
                ),
            ] {
                if value.len() > max {
                    problem(field, format!("{field} must be at most {max} characters"));
                }
            }
            match seen.get(&c.name) {
                Some(first) => problem(
                    "name",
                    format!(
                        "category {:?} repeated: first at categories[{first}]",
                        c.name
                    ),
                ),
                None => {
                    seen.insert(c.name.clone(), i);
                }
            }
            if let Some(parent) = &c.parent {
                if *parent == c.name {
                    problem("parent", "a category cannot be its own parent".into());
                } else if !seen.contains_key(parent) && !stored_categories.contains(parent) {
                    problem(
                        "parent",
                        if in_file.contains(parent) {
                            format!("parent {parent:?} must be listed before its children")
                        } else {
                            format!("parent {parent:?} is neither in the file nor stored")
                        },
                    );
                }
            }
            categories.push(c);
        }
        let known_category =
            |name: &str| in_file.contains(name) || stored_categories.contains(name);
        let mut skus = HashMap::new();
        let mut products = Vec::with_capacity(self.products.len());
        for (i, p) in self.products.into_iter().enumerate() {
            match p {
                Err(p) => problems.push(p),
                Ok(p) => {
                    let mut check = Check {
                        known_category: &known_category,
                        skus: &mut skus,
                        problems: &mut problems,
                    };
                    if let Some(p) = check.product(p, &format!("products[{i}]"), false) {
                        products.push(p);
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(ValidCatalog {
                categories,
                products,
            })
        } else {
            Err(problems)
        }
    }
}

/// Parses one item of the file; a problem names the item, its `key` (sku or name) and the path
/// of the field serde stopped at.
fn parse_item<T: DeserializeOwned>(value: Value, at: String, key: &str) -> Result<T, Problem> {
    let key_of = |v: &Value| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let item_key = key_of(&value);
    let variations = value.get("variations").cloned();
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        // `variations[2].listPrice`: the variation is the item, `listPrice` the field.
        let variation = path.strip_prefix("variations[").and_then(|rest| {
            let (index, field) = rest.split_once(']')?;
            Some((index.parse::<usize>().ok()?, field.trim_start_matches('.')))
        });
        let (at, item_key, field) = match variation {
            Some((index, field)) => (
                format!("{at}.variations[{index}]"),
                variations.as_ref().and_then(|v| key_of(&v[index])),
                field.to_owned(),
            ),
            None => (at, item_key, path),
        };
        Problem {
            at,
            key: item_key.map(|k| match key {
                "sku" => ItemKey::Sku(k),
                _ => ItemKey::Name(k),
            }),
            field: Some(field).filter(|f| !f.is_empty() && f != "."),
            message,
        }
    })
}

/// A catalog file with no problem, ready to store.
#[derive(Debug)]
pub struct ValidCatalog {
    pub categories: Vec<CategoryInput>,
    pub products: Vec<NewProduct>,
}

fn text(field: &str, value: &str, max: usize) -> Result<(), String> {
    if value.trim().is_empty() || value.len() > max {
        return Err(format!("{field} must be 1-{max} characters"));
    }
    Ok(())
}

/// The checks of products, collecting problems instead of stopping at the first.
struct Check<'a> {
    known_category: &'a dyn Fn(&str) -> bool,
    /// Where each sku was first seen in the file.
    skus: &'a mut HashMap<String, String>,
    problems: &'a mut Vec<Problem>,
}

impl Check<'_> {
    /// Checks a product (at `at`) and its variations; the converted product when none of them
    /// has a problem.
    fn product(&mut self, mut p: ProductInput, at: &str, is_variation: bool) -> Option<NewProduct> {
        let before = self.problems.len();
        let plan = p.subscription.take();
        let mut problem = |field: &str, message: String| {
            self.problems.push(Problem {
                at: at.to_owned(),
                key: Some(ItemKey::Sku(p.sku.clone())),
                field: Some(field.to_owned()),
                message,
            })
        };
        if let Err(e) = text("sku", &p.sku, 128) {
            problem("sku", e);
        } else if let Some(first) = self.skus.get(&p.sku) {
            problem("sku", format!("sku {:?} repeated: first at {first}", p.sku));
        } else {
            self.skus.insert(p.sku.clone(), at.to_owned());
        }
        if let Err(e) = text("name", &p.name, 256) {
            problem("name", e);
        }
        let product_type = match p.product_type.as_str() {
            "DIGITAL" => "DIGITAL",
            "PHYSICAL" => "PHYSICAL",
            _ => {
                problem("productType", "must be DIGITAL or PHYSICAL".into());
                "DIGITAL"
            }
        };
        let subscription = match plan.map(|plan| plan.parse(&p.currency)) {
            Some(Ok(plan)) => Some(plan),
            Some(Err(e)) => {
                problem("subscription", e.0);
                None
            }
            None => None,
        };
        let (mut list, mut sale) = (0, 0);
        let mut volume_prices = Vec::new();
        if !valid_currency(&p.currency) {
            // Amounts are read in the currency's decimals: unchecked without one.
            problem("currency", "must be a three-letter ISO 4217 code".into());
        } else {
            let list_ok = match parse_amount(&p.list_price, &p.currency) {
                Ok(v) => {
                    list = v;
                    true
                }
                Err(e) => {
                    problem("listPrice", e);
                    false
                }
            };
            sale = list;
            match p.sale_price.as_ref().map(|v| parse_amount(v, &p.currency)) {
                None => {}
                Some(Ok(v)) if list_ok && v > list => {
                    problem("salePrice", "must not exceed listPrice".into());
                }
                Some(Ok(v)) => sale = v,
                Some(Err(e)) => problem("salePrice", e),
            }
            let mut tiers = HashSet::new();
            for (j, tier) in p.volume_pricing.iter().enumerate() {
                let field = |name: &str| format!("volumePricing[{j}].{name}");
                if tier.min_quantity < 2 {
                    problem(&field("minQuantity"), "must be at least 2".into());
                } else if !tiers.insert(tier.min_quantity) {
                    problem(
                        &field("minQuantity"),
                        format!("minQuantity {} repeated", tier.min_quantity),
                    );
                }
                match parse_amount(&tier.unit_price, &p.currency) {
                    Ok(unit) => volume_prices.push((tier.min_quantity, unit)),
                    Err(e) => problem(&field("unitPrice"), e),
                }
            }
        }
        if matches!(p.available_quantity, Some(q) if q < 0) {
            problem("availableQuantity", "must not be negative".into());
        }
        let mut listed = HashSet::new();
        for (j, name) in p.categories.iter().enumerate() {
            if !(self.known_category)(name) {
                problem(
                    &format!("categories[{j}]"),
                    format!("category {name:?} is neither in the file nor stored"),
                );
            } else if !listed.insert(name) {
                problem(
                    &format!("categories[{j}]"),
                    format!("category {name:?} listed twice"),
                );
            }
        }
        if let Some(m) = &p.manufacturer_name {
            if let Err(e) = text("manufacturerName", m, 256) {
                problem("manufacturerName", e);
            }
        }
        let mut named = HashSet::new();
        for (j, a) in p.custom_attributes.iter().enumerate() {
            if let Some((field, message)) = a.problem() {
                problem(&format!("customAttributes[{j}].{field}"), message);
            } else if !named.insert(a.name.as_str()) {
                problem(
                    &format!("customAttributes[{j}].name"),
                    format!("attribute {:?} listed twice", a.name),
                );
            }
        }
        if is_variation && !p.variations.is_empty() {
            problem("variations", "a variation cannot have variations".into());
        }
        let variations: Vec<NewProduct> = if is_variation {
            Vec::new()
        } else {
            p.variations
                .into_iter()
                .enumerate()
                .filter_map(|(k, v)| self.product(v, &format!("{at}.variations[{k}]"), true))
                .collect()
        };
        if self.problems.len() > before {
            return None;
        }
        let mut custom_attributes = p.custom_attributes;
        for (name, value) in &p.attributes {
            if !custom_attributes.iter().any(|a| &a.name == name) {
                custom_attributes.push(CustomAttribute {
                    name: name.clone(),
                    kind: string_type(),
                    value: value.clone(),
                });
            }
        }
        Some(NewProduct {
            subscription,
            manufacturer_name: p.manufacturer_name,
            custom_attributes: CustomAttributes(custom_attributes),
            display_name: p.display_name.unwrap_or_else(|| p.name.clone()),
            sku: p.sku,
            name: p.name,
            short_description: p.short_description,
            long_description: p.long_description,
            product_type,
            keywords: p.keywords,
            thumbnail_image: p.thumbnail_image,
            product_image: p.product_image,
            currency: p.currency,
            list_price_minor: list,
            sale_price_minor: sale,
            available_quantity: p.available_quantity,
            categories: p.categories,
            volume_prices,
            attributes: p.attributes,
            variations,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(value: serde_json::Value) -> Result<Plan, PlanError> {
        serde_json::from_value::<PlanInput>(value)
            .map_err(|e| PlanError(e.to_string()))?
            .parse("USD")
    }

    #[test]
    fn a_plan_parses_from_the_import_shape_and_is_checked() {
        let p = plan(json!({"term": {"termUnit": "MONTHS", "termLength": "1"},
            "isAutomatic": true, "gracePeriodDays": 7, "billingAttemptDaysBeforeExpiration": [1, 3],
            "postExpirationBillingAttemptIntervalInDays": 2, "renewalPrice": "9.99"}))
        .unwrap();
        assert_eq!(p.term, Term::new(TermUnit::Months, 1).unwrap());
        assert_eq!(p.attempt_days_before, vec![3, 1]);
        assert_eq!(p.renewal_price_minor, Some(999));
        assert!(p.auto_renewal);
        for (bad, says) in [
            (
                json!({"term": {"termUnit": "WEEKS", "termLength": 1}}),
                "termUnit",
            ),
            (
                json!({"term": {"termUnit": "MONTHS", "termLength": 0}}),
                "termLength",
            ),
            (
                json!({"term": {"termUnit": "DAYS", "termLength": 7},
                       "billingAttemptDaysBeforeExpiration": [7]}),
                "inside the term",
            ),
            (
                json!({"term": {"termUnit": "DAYS", "termLength": 7},
                       "postExpirationBillingAttemptIntervalInDays": 1}),
                "grace period",
            ),
            (
                json!({"term": {"termUnit": "DAYS", "termLength": 7}, "renewalPrice": "1.001"}),
                "renewalPrice",
            ),
            (
                json!({"term": {"termUnit": "DAYS", "termLength": 7}, "extra": 1}),
                "extra",
            ),
        ] {
            let e = plan(bad).unwrap_err();
            assert!(e.0.contains(says), "{e}");
        }
    }

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
        for bad in [".5", "+1", "1_000", "1.2.3", "1e3", " 1", "", "0x10", "١٢"] {
            assert!(parse_amount(&json!(bad), "USD").is_err(), "{bad:?}");
        }
        assert_eq!(parse_amount(&json!("007.50"), "USD"), Ok(750));
        assert_eq!(
            parse_amount(&json!("10000000000"), "USD"),
            Ok(1_000_000_000_000)
        );
        assert!(parse_amount(&json!("10000000000.01"), "USD").is_err());
        assert!(parse_amount(&json!("99999999999999999999"), "USD").is_err());
        assert!(parse_amount(&json!("9".repeat(40)), "USD").is_err());
        assert!(parse_amount(&json!(format!("0.{}1", "0".repeat(30))), "USD").is_err());
        assert_eq!(format_amount(0, "USD"), "0.00");
        assert_eq!(format_amount(100_000, "USD"), "1000.00");
        assert_eq!(format_amount(1999, "USD"), "19.99");
        assert_eq!(format_amount(5, "USD"), "0.05");
        assert_eq!(
            money(1999, "USD"),
            json!({"currency": "USD", "value": 19.99})
        );
    }

    #[test]
    fn currencies_are_iso_4217_with_their_decimals() {
        assert_eq!(currency_exponent("USD"), 2);
        assert_eq!(currency_exponent("JPY"), 0);
        assert_eq!(currency_exponent("BHD"), 3);
        assert_eq!(currency_exponent("KWD"), 3);
        assert!(valid_currency("BHD") && valid_currency("EUR"));
        for code in ["ABC", "usd", "US", "USDD", "HRK", "XAU", ""] {
            assert!(!valid_currency(code), "{code}");
        }
    }

    #[test]
    fn three_decimal_currencies_keep_their_third_digit() {
        assert_eq!(parse_amount(&json!("1.234"), "BHD"), Ok(1234));
        assert_eq!(parse_amount(&json!("1.5"), "KWD"), Ok(1500));
        assert_eq!(parse_amount(&json!(2), "KWD"), Ok(2000));
        assert!(parse_amount(&json!("1.2345"), "BHD").is_err());
        assert_eq!(format_amount(1234, "BHD"), "1.234");
        assert_eq!(format_amount(5, "KWD"), "0.005");
        assert_eq!(
            money(1234, "BHD"),
            json!({"currency": "BHD", "value": 1.234})
        );
        assert_eq!(formatted(5000, "KWD"), "5.000 KWD");
    }

    #[test]
    fn en_us_formats_group_digits_and_sign_only_the_dollar() {
        assert_eq!(formatted(1999, "USD"), "$19.99");
        assert_eq!(formatted(105950, "USD"), "$1,059.50");
        assert_eq!(formatted(123456789012, "USD"), "$1,234,567,890.12");
        assert_eq!(formatted(5, "USD"), "$0.05");
        assert_eq!(formatted(-500, "USD"), "-$5.00");
        assert_eq!(formatted(105950, "GBP"), "1,059.50 GBP");
        assert_eq!(formatted(1000, "EUR"), "10.00 EUR");
        assert_eq!(formatted(1234567, "BHD"), "1,234.567 BHD");
        assert_eq!(formatted(1234567, "KWD"), "1,234.567 KWD");
        assert_eq!(formatted(1234567, "JPY"), "1,234,567 JPY");
        assert_eq!(formatted(0, "JPY"), "0 JPY");
        assert_eq!(formatted(0, "USD"), "$0.00", "zero keeps its decimals");
        assert_eq!(formatted(510, "USD"), "$5.10");
        assert_eq!(formatted(100, "CAD"), "1.00 CAD");
    }

    #[test]
    fn zero_decimal_currencies_have_no_point() {
        assert_eq!(parse_amount(&json!("1500"), "JPY"), Ok(1500));
        assert!(parse_amount(&json!("1500.0"), "JPY").is_err());
        assert_eq!(format_amount(1500, "JPY"), "1500");
        assert_eq!(
            money(1500, "JPY"),
            json!({"currency": "JPY", "value": 1500})
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

    #[test]
    fn custom_attributes_are_checked_and_a_variation_lists_its_own() {
        let file = |attributes: &str| {
            ParsedFile::parse(&format!(
                r#"{{"products": [{{"sku": "B", "name": "b", "productType": "PHYSICAL",
                "currency": "USD", "listPrice": "1.00", "manufacturerName": "Acme",
                "customAttributes": {attributes},
                "variations": [{{"sku": "V", "name": "v", "productType": "PHYSICAL",
                  "currency": "USD", "listPrice": "1.00", "attributes": {{"color": "red"}},
                  "customAttributes": [{{"name": "color", "value": "crimson"}}]}}]}}]}}"#
            ))
            .unwrap()
            .validate(&HashSet::new())
        };
        let valid = file(r#"[{"name": "warranty", "type": "Integer", "value": "2"}]"#).unwrap();
        let base = &valid.products[0];
        assert_eq!(base.manufacturer_name.as_deref(), Some("Acme"));
        assert_eq!(base.custom_attributes.0[0].kind, "Integer");
        // The file's own `color` wins over the variation attribute of that name.
        let variation = &base.variations[0].custom_attributes.0;
        assert_eq!(variation.len(), 1);
        assert_eq!(
            (variation[0].kind.as_str(), variation[0].value.as_str()),
            ("String", "crimson")
        );
        for (bad, field) in [
            (
                r#"[{"name": "w", "type": "Integer", "value": "two"}]"#,
                "customAttributes[0].value",
            ),
            (
                r#"[{"name": "w", "type": "Colour", "value": "x"}]"#,
                "customAttributes[0].type",
            ),
            (
                r#"[{"name": "w", "value": "x"}, {"name": "w", "value": "y"}]"#,
                "customAttributes[1].name",
            ),
            (
                r#"[{"name": "", "value": "x"}]"#,
                "customAttributes[0].name",
            ),
        ] {
            let problems = file(bad).unwrap_err();
            assert_eq!(problems[0].field.as_deref(), Some(field), "{bad}");
        }
    }

    #[test]
    fn discount_descriptions_are_whole_percentages_off_the_list_price() {
        assert_eq!(discount_description(4999, 3999).as_deref(), Some("20%"));
        assert_eq!(discount_description(1000, 900).as_deref(), Some("10%"));
        assert_eq!(discount_description(300, 299).as_deref(), Some("0%"));
        assert_eq!(discount_description(200, 199).as_deref(), Some("1%"));
        assert_eq!(discount_description(1000, 1000), None);
        assert_eq!(discount_description(0, 0), None);
    }

    #[test]
    fn merged_attributes_replace_by_name_and_add_new_ones() {
        let attr = |name: &str, value: &str| CustomAttribute {
            name: name.into(),
            kind: "String".into(),
            value: value.into(),
        };
        let stored = CustomAttributes(vec![attr("gift", "no"), attr("note", "hi")]);
        let merged = stored.merged(&CustomAttributes(vec![
            attr("gift", "yes"),
            attr("po", "7"),
        ]));
        assert_eq!(
            merged.unwrap(),
            CustomAttributes(vec![
                attr("gift", "yes"),
                attr("note", "hi"),
                attr("po", "7")
            ])
        );
        // Repeated writes of new names stop at the cap; renaming nothing new still works.
        let full = CustomAttributes(
            (0..MAX_CUSTOM_ATTRIBUTES)
                .map(|i| attr(&format!("a{i}"), "v"))
                .collect(),
        );
        assert_eq!(
            full.merged(&CustomAttributes(vec![attr("one-more", "v")])),
            Err(TooManyAttributes)
        );
        assert!(
            full.merged(&CustomAttributes(vec![attr("a0", "w")]))
                .is_ok()
        );
    }
}
