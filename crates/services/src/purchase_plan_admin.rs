//! Managing a site's purchase plans (private stores): the CLI's options in (`PlanInput`),
//! checked into the store's `PlanSettings`, and the plan out as JSON with its rules (never
//! their PIN hashes) and its prices.
//!
//! An access code (`GenericIdentifier`) or an invitation (`EmailInvitation`) gets a PIN made
//! here, at random; it is stored only as its Argon2id hash and returned once, in clear, for
//! the caller to print (`accessCodes`). Giving the same rule again makes a new PIN.

use crate::auth::PasswordHasher;
use crate::offers::site;
use anyhow::Context;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use shopkeeper_domain::SiteId;
use shopkeeper_domain::catalog::format_amount;
use shopkeeper_domain::purchase_plans::{AccessMethod, WHOLE_BP, normalize_rule_value};
use shopkeeper_domain::secret::random_pin;
use shopkeeper_domain::time::{UnixSeconds, iso8601};
use shopkeeper_store::{NewPlanRule, PlanSettings, PurchasePlanRecord, Store};

/// Characters of a generated PIN (of `secret::PIN_ALPHABET`: 40 bits).
pub const PIN_LENGTH: usize = 8;

/// A plan's options as an operator gives them (`None`, empty: not given).
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    pub name: Option<String>,
    pub brand_display_name: Option<String>,
    pub brand_logo_image: Option<String>,
    /// The target market's name (created on the site if new); a new plan's defaults to its
    /// name.
    pub target_market: Option<String>,
    pub auth_required_to_browse: Option<bool>,
    /// A percentage, `"15"` or `"12.5"` (at most two decimals: basis points).
    pub discount_percent: Option<String>,
    pub max_quantity_per_shopper: Option<i64>,
    /// RFC 3339.
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub enabled: Option<bool>,
    pub storefront: Option<bool>,
    /// Rules to add, values as given.
    pub rules: Vec<(AccessMethod, String)>,
    /// Rules to remove, as `METHOD:VALUE` (`EmailDomain:example.com`).
    pub remove_rules: Vec<String>,
}

/// A PIN made for a rule, shown once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessCode {
    pub method: AccessMethod,
    /// The rule's normalized value (the identifier, the invited address).
    pub value: String,
    pub pin: String,
}

impl AccessCode {
    /// `{"genericIdentifier": "staff", "pin": "..."}`, `{"emailInvitation": "a@b.c", ...}`.
    pub fn to_json(&self) -> Value {
        let key = match self.method {
            AccessMethod::EmailInvitation => "emailInvitation",
            _ => "genericIdentifier",
        };
        json!({ key: self.value, "pin": self.pin })
    }
}

/// A percentage (`"15"`, `"12.5"`, `"0.01"`) in basis points, exactly: at most two decimals,
/// from 0 to 100.
pub fn percent_to_bp(raw: &str) -> anyhow::Result<i64> {
    let text = raw.trim();
    let plain = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.starts_with(|c: char| c.is_ascii_digit())
        && text.ends_with(|c: char| c.is_ascii_digit());
    let percent = Decimal::from_str_exact(text)
        .ok()
        .filter(|_| plain)
        .with_context(|| format!("{raw:?} is not a percentage such as 15 or 12.5"))?;
    if percent.scale() > 2 {
        anyhow::bail!("{raw:?}: a percentage has at most two decimals");
    }
    let bp = (percent * Decimal::ONE_HUNDRED).trunc();
    let bp = i64::try_from(bp.mantissa() / 10i128.pow(bp.scale())).unwrap_or(i64::MAX);
    if bp > WHOLE_BP {
        anyhow::bail!("{raw:?}: a discount is at most 100 %");
    }
    Ok(bp)
}

/// Basis points as the percentage an operator wrote: `"20"`, `"12.5"`.
pub fn bp_to_percent(bp: i64) -> String {
    Decimal::new(bp, 2).normalize().to_string()
}

/// An RFC 3339 time in Unix seconds.
pub fn parse_instant(raw: &str, what: &str) -> anyhow::Result<UnixSeconds> {
    time::OffsetDateTime::parse(raw.trim(), &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| anyhow::anyhow!("{what}: {raw:?} is not an RFC 3339 time"))
}

/// A rule to remove, `METHOD:VALUE`, its value normalized as stored.
pub fn parse_rule_ref(raw: &str) -> anyhow::Result<(AccessMethod, String)> {
    let (method, value) = raw.split_once(':').with_context(|| {
        format!("{raw:?}: a rule is METHOD:VALUE, e.g. EmailDomain:example.com")
    })?;
    let method = AccessMethod::parse(method.trim()).with_context(|| {
        let known: Vec<&str> = AccessMethod::ALL.iter().map(|m| m.as_str()).collect();
        format!(
            "{raw:?}: no access method {method:?} (one of {})",
            known.join(", ")
        )
    })?;
    Ok((method, normalize_rule_value(method, value)?))
}

fn text(what: &str, value: &Option<String>, max: usize) -> anyhow::Result<Option<String>> {
    match value.as_deref().map(str::trim) {
        Some(v) if v.len() > max => anyhow::bail!("{what}: at most {max} characters"),
        Some(v) => Ok(Some(v.to_owned())),
        None => Ok(None),
    }
}

/// Checks the input into settings, without PINs: each `has_pin` rule's `pin_hash` is `None`
/// until [`settings`] makes one. Pure.
pub fn check(input: &PlanInput) -> anyhow::Result<PlanSettings> {
    let name = text("--name", &input.name, 200)?;
    if name.as_deref() == Some("") {
        anyhow::bail!("--name: 1 to 200 characters");
    }
    let target_market = text("--target-market", &input.target_market, 200)?;
    if target_market.as_deref() == Some("") {
        anyhow::bail!("--target-market: 1 to 200 characters");
    }
    if input.max_quantity_per_shopper.is_some_and(|q| q < 1) {
        anyhow::bail!("--max-quantity-per-shopper: at least 1");
    }
    let discount_bp = input
        .discount_percent
        .as_deref()
        .map(|p| percent_to_bp(p).context("--discount-percent"))
        .transpose()?;
    let starts_at = input
        .starts_at
        .as_deref()
        .map(|t| parse_instant(t, "--starts-at"))
        .transpose()?;
    let ends_at = input
        .ends_at
        .as_deref()
        .map(|t| parse_instant(t, "--ends-at"))
        .transpose()?;
    if let (Some(s), Some(e)) = (starts_at, ends_at)
        && e <= s
    {
        anyhow::bail!("--ends-at must be after --starts-at");
    }
    let mut add_rules: Vec<NewPlanRule> = Vec::new();
    for (method, raw) in &input.rules {
        let value = normalize_rule_value(*method, raw)
            .with_context(|| format!("a {} rule", method.as_str()))?;
        if !add_rules
            .iter()
            .any(|r| r.method == *method && r.value == value)
        {
            add_rules.push(NewPlanRule {
                method: *method,
                value,
                pin_hash: None,
            });
        }
    }
    let remove_rules = input
        .remove_rules
        .iter()
        .map(|r| parse_rule_ref(r).context("--remove-rule"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(PlanSettings {
        name,
        brand_display_name: text("--brand-display-name", &input.brand_display_name, 200)?,
        brand_logo_image: text("--brand-logo-image", &input.brand_logo_image, 2048)?,
        target_market,
        auth_required_to_browse: input.auth_required_to_browse,
        discount_bp: discount_bp.map(Some),
        max_quantity_per_shopper: input.max_quantity_per_shopper.map(Some),
        starts_at: starts_at.map(Some),
        ends_at: ends_at.map(Some),
        enabled: input.enabled,
        storefront: input.storefront,
        add_rules,
        remove_rules,
    })
}

/// The input checked, with a new PIN (hashed) for each rule that has one; the PINs in clear.
pub async fn settings(
    hasher: &PasswordHasher,
    input: &PlanInput,
) -> anyhow::Result<(PlanSettings, Vec<AccessCode>)> {
    let mut settings = check(input)?;
    let mut codes = Vec::new();
    for rule in &mut settings.add_rules {
        if rule.method.has_pin() {
            let pin = random_pin(PIN_LENGTH);
            rule.pin_hash = Some(hasher.hash(pin.clone()).await?);
            codes.push(AccessCode {
                method: rule.method,
                value: rule.value.clone(),
                pin,
            });
        }
    }
    Ok((settings, codes))
}

/// Creates a plan; returns it with the PINs made for its rules.
pub async fn create_plan(
    store: &Store,
    hasher: &PasswordHasher,
    site_id: &SiteId,
    input: &PlanInput,
    now: UnixSeconds,
) -> anyhow::Result<(PurchasePlanRecord, Vec<AccessCode>)> {
    if input.name.is_none() {
        anyhow::bail!("a plan needs a --name");
    }
    if !input.remove_rules.is_empty() {
        anyhow::bail!("a new plan has no rules to remove");
    }
    let (settings, codes) = settings(hasher, input).await?;
    let plan = store.create_purchase_plan(site_id, &settings, now).await?;
    Ok((plan, codes))
}

/// `shopkeeper purchase-plan create`: the plan as `list` shows it, with `accessCodes`.
pub async fn create(
    store: &Store,
    hasher: &PasswordHasher,
    site_id: &str,
    input: &PlanInput,
    now: UnixSeconds,
) -> anyhow::Result<Value> {
    let site_id = site(store, site_id).await?;
    let (plan, codes) = create_plan(store, hasher, &site_id, input, now).await?;
    with_codes(view(store, &plan).await?, &codes)
}

/// `shopkeeper purchase-plan update`: given options change, rules are removed then added
/// (a rule given again gets a new PIN).
pub async fn update(
    store: &Store,
    hasher: &PasswordHasher,
    site_id: &str,
    id: i64,
    input: &PlanInput,
    now: UnixSeconds,
) -> anyhow::Result<Value> {
    let site_id = site(store, site_id).await?;
    let current = store
        .purchase_plan(&site_id, id)
        .await?
        .with_context(|| format!("no purchase plan {id} on site {site_id}"))?;
    let (settings, codes) = settings(hasher, input).await?;
    let starts = settings.starts_at.unwrap_or(current.starts_at);
    let ends = settings.ends_at.unwrap_or(current.ends_at);
    if let (Some(s), Some(e)) = (starts, ends)
        && e <= s
    {
        anyhow::bail!(
            "the plan would end ({}) before it starts ({})",
            iso8601(e),
            iso8601(s)
        );
    }
    let plan = store
        .update_purchase_plan(&site_id, id, &settings, now)
        .await?;
    with_codes(view(store, &plan).await?, &codes)
}

/// Switches a plan off (`enabled: false`) or on again.
pub async fn set_enabled(
    store: &Store,
    site_id: &str,
    id: i64,
    enabled: bool,
    now: UnixSeconds,
) -> anyhow::Result<Value> {
    let site_id = site(store, site_id).await?;
    let settings = PlanSettings {
        enabled: Some(enabled),
        ..PlanSettings::default()
    };
    let plan = store
        .update_purchase_plan(&site_id, id, &settings, now)
        .await?;
    view(store, &plan).await
}

/// Every plan of the site, with its rules and prices.
pub async fn list(store: &Store, site_id: &str) -> anyhow::Result<Value> {
    let site_id = site(store, site_id).await?;
    let mut plans = Vec::new();
    for plan in store.purchase_plans(&site_id).await? {
        plans.push(view(store, &plan).await?);
    }
    Ok(Value::Array(plans))
}

fn with_codes(mut plan: Value, codes: &[AccessCode]) -> anyhow::Result<Value> {
    plan["accessCodes"] = Value::Array(codes.iter().map(AccessCode::to_json).collect());
    Ok(plan)
}

/// A plan as JSON: its settings, its rules (whether each has a PIN, never the PIN's hash) and
/// its prices (by sku, in the product's currency).
pub async fn view(store: &Store, plan: &PurchasePlanRecord) -> anyhow::Result<Value> {
    let rules: Vec<Value> = store
        .purchase_plan_rules(&plan.site_id, Some(plan.id))
        .await?
        .into_iter()
        .map(|r| json!({"method": r.method, "value": r.value, "hasPin": r.pin_hash.is_some()}))
        .collect();
    let mut prices = Vec::new();
    for p in store.purchase_plan_prices(plan.id).await? {
        let product = store.product(&plan.site_id, p.product_id).await?;
        let (sku, currency) = product
            .map(|p| (p.sku, p.currency))
            .unwrap_or_else(|| (String::new(), "USD".into()));
        prices.push(json!({
            "productId": p.product_id,
            "sku": sku,
            "unitPrice": p.unit_price_minor
                .map(|m| json!({"currency": currency, "value": format_amount(m, &currency)})),
            "maxQuantity": p.max_quantity,
        }));
    }
    Ok(json!({
        "id": plan.id,
        "site": plan.site_id.as_str(),
        "name": plan.name,
        "brandDisplayName": plan.brand_display_name,
        "brandLogoImage": plan.brand_logo_image,
        "targetMarket": {"id": plan.target_market_id, "name": plan.target_market_name},
        "authRequiredToBrowse": plan.auth_required_to_browse,
        "discountPercent": plan.discount_bp.map(bp_to_percent),
        "maxQuantityPerShopper": plan.max_quantity_per_shopper,
        "startsAt": plan.starts_at.map(iso8601),
        "endsAt": plan.ends_at.map(iso8601),
        "enabled": plan.enabled,
        "storefront": plan.storefront,
        "rules": rules,
        "prices": prices,
        "createdAt": iso8601(plan.created_at),
        "updatedAt": iso8601(plan.updated_at),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_are_exact_basis_points_up_to_a_whole() {
        assert_eq!(percent_to_bp("15").unwrap(), 1_500);
        assert_eq!(percent_to_bp("12.5").unwrap(), 1_250);
        assert_eq!(percent_to_bp("0.01").unwrap(), 1);
        assert_eq!(percent_to_bp("100").unwrap(), 10_000);
        assert_eq!(percent_to_bp("100.00").unwrap(), 10_000);
        assert_eq!(percent_to_bp("0").unwrap(), 0);
        for bad in [
            "100.01", "-5", "12.345", "", "abc", "1e2", ".5", "5.", "+5", "1_0",
        ] {
            assert!(percent_to_bp(bad).is_err(), "{bad}");
        }
        assert_eq!(bp_to_percent(1_250), "12.5");
        assert_eq!(bp_to_percent(2_000), "20");
    }

    #[test]
    fn rules_are_normalized_and_removals_named_by_method() {
        let input = PlanInput {
            name: Some(" Staff ".into()),
            discount_percent: Some("20".into()),
            starts_at: Some("2030-01-01T00:00:00Z".into()),
            ends_at: Some("2030-02-01T00:00:00+01:00".into()),
            rules: vec![
                (AccessMethod::EmailDomain, "@Example.COM".into()),
                (AccessMethod::EmailDomain, "example.com".into()),
                (AccessMethod::IpAddress, "10.0.0.1".into()),
                (AccessMethod::GenericIdentifier, " Staff ".into()),
            ],
            remove_rules: vec!["emaildomain:Old.example".into()],
            ..PlanInput::default()
        };
        let s = check(&input).unwrap();
        assert_eq!(s.name.as_deref(), Some("Staff"));
        assert_eq!(s.discount_bp, Some(Some(2_000)));
        assert_eq!(s.starts_at, Some(Some(1_893_456_000)));
        assert_eq!(s.ends_at, Some(Some(1_896_130_800)));
        let rules: Vec<(&str, &str)> = s
            .add_rules
            .iter()
            .map(|r| (r.method.as_str(), r.value.as_str()))
            .collect();
        assert_eq!(
            rules,
            [
                ("EmailDomain", "example.com"),
                ("IpAddress", "10.0.0.1/32"),
                ("GenericIdentifier", "staff"),
            ]
        );
        assert!(s.add_rules.iter().all(|r| r.pin_hash.is_none()));
        assert_eq!(
            s.remove_rules,
            [(AccessMethod::EmailDomain, "old.example".to_owned())]
        );
        assert_eq!(
            parse_rule_ref("ReferralUrl:https://p.example/x#y")
                .unwrap()
                .1,
            "https://p.example/x"
        );
        assert_eq!(
            parse_rule_ref("IpAddress:2001:db8::1").unwrap().1,
            "2001:db8::1/128"
        );
    }

    #[test]
    fn bad_input_is_refused_naming_the_option() {
        let refused = |input: PlanInput| format!("{:#}", check(&input).unwrap_err());
        let e = refused(PlanInput {
            discount_percent: Some("120".into()),
            ..PlanInput::default()
        });
        assert!(e.contains("--discount-percent") && e.contains("100"), "{e}");
        let e = refused(PlanInput {
            starts_at: Some("2030-02-01T00:00:00Z".into()),
            ends_at: Some("2030-01-01T00:00:00Z".into()),
            ..PlanInput::default()
        });
        assert!(e.contains("after"), "{e}");
        let e = refused(PlanInput {
            starts_at: Some("tomorrow".into()),
            ..PlanInput::default()
        });
        assert!(e.contains("RFC 3339"), "{e}");
        let e = refused(PlanInput {
            max_quantity_per_shopper: Some(0),
            ..PlanInput::default()
        });
        assert!(e.contains("--max-quantity-per-shopper"), "{e}");
        let e = refused(PlanInput {
            rules: vec![(AccessMethod::EmailDomain, "not a domain".into())],
            ..PlanInput::default()
        });
        assert!(e.contains("EmailDomain"), "{e}");
        let e = refused(PlanInput {
            remove_rules: vec!["Nope:x".into()],
            ..PlanInput::default()
        });
        assert!(e.contains("no access method"), "{e}");
        let e = refused(PlanInput {
            name: Some("  ".into()),
            ..PlanInput::default()
        });
        assert!(e.contains("--name"), "{e}");
    }
}
