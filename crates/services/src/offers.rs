//! Managing a site's offers and points of promotion: JSON definitions in (`OfferInput`), the
//! offer as the merchant wrote it out, so what `list` prints can be edited and given back to
//! `update`. The CLI uses it today; the admin API will.

use anyhow::Context;
use serde_json::{Value, json};
use shopkeeper_domain::SiteId;
use shopkeeper_domain::catalog::format_amount;
use shopkeeper_domain::offers::{OfferId, OfferInput, Reduction};
use shopkeeper_domain::time::{UnixSeconds, iso8601};
use shopkeeper_store::{OfferRecord, PopRecord, Store};

/// A site that exists, or why not (the management commands' `--site`).
pub(crate) async fn site(store: &Store, site: &str) -> anyhow::Result<SiteId> {
    let id = SiteId::parse(site).map_err(|_| anyhow::anyhow!("not a site id: {site:?}"))?;
    store
        .site(&id)
        .await?
        .with_context(|| format!("no site {site}"))?;
    Ok(id)
}

fn parse(json: &str, id: OfferId) -> anyhow::Result<shopkeeper_domain::offers::NewOffer> {
    let input: OfferInput = serde_json::from_str(json).map_err(|e| anyhow::anyhow!("{e}"))?;
    input.parse(id).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The offer as a definition (the `OfferInput` fields) with its id, site and uses.
pub fn definition(offer: &OfferRecord) -> Value {
    let p = &offer.pricing;
    let money = |currency: &str, minor: i64| json!({"currency": currency, "value": format_amount(minor, currency)});
    let mut out = json!({
        "id": offer.id,
        "site": offer.site_id.as_str(),
        "name": offer.name,
        "type": p.offer_type.as_str(),
        "level": p.level.as_str(),
        "trigger": p.trigger.as_str(),
        "productIds": p.product_ids,
        "categoryIds": p.category_ids,
        "shippingOptionIds": p.shipping_option_ids,
        "enabled": p.enabled,
        "totalLimit": offer.total_limit,
        "perShopperLimit": offer.per_shopper_limit,
        "uses": offer.uses,
        "externalReferenceId": offer.external_reference_id,
        "salesPitch": offer.sales_pitch,
        "image": offer.image,
        "couponCodes": offer.coupon_codes,
        "startsAt": p.starts_at.map(iso8601),
        "endsAt": p.ends_at.map(iso8601),
        "minimumOrder": p.minimum_order.as_ref().map(|(c, m)| money(c, *m)),
    });
    match &p.reduction {
        // Basis points are hundredths of a percent: "12.50".
        Some(Reduction::PercentOff(bp)) => out["percentOff"] = json!(format_amount(*bp, "USD")),
        Some(Reduction::AmountOff { currency, minor }) => {
            out["amountOff"] = money(currency, *minor)
        }
        None => {}
    }
    out
}

pub async fn create(
    store: &Store,
    site_id: &str,
    json: &str,
    now: UnixSeconds,
) -> anyhow::Result<Value> {
    let site_id = site(store, site_id).await?;
    let offer = parse(json, 0)?;
    Ok(definition(
        &store.create_offer(&site_id, &offer, now).await?,
    ))
}

pub async fn update(
    store: &Store,
    site_id: &str,
    id: OfferId,
    json: &str,
    now: UnixSeconds,
) -> anyhow::Result<Value> {
    let site_id = site(store, site_id).await?;
    let offer = parse(json, id)?;
    Ok(definition(
        &store.update_offer(&site_id, id, &offer, now).await?,
    ))
}

pub async fn set_enabled(
    store: &Store,
    site_id: &str,
    id: OfferId,
    enabled: bool,
    now: UnixSeconds,
) -> anyhow::Result<Value> {
    let site_id = site(store, site_id).await?;
    store.set_offer_enabled(&site_id, id, enabled, now).await?;
    let offer = store
        .offer(&site_id, id)
        .await?
        .with_context(|| format!("no offer {id}"))?;
    Ok(definition(&offer))
}

pub async fn list(store: &Store, site_id: &str) -> anyhow::Result<Value> {
    let site_id = site(store, site_id).await?;
    Ok(Value::Array(
        store
            .offers(&site_id)
            .await?
            .iter()
            .map(definition)
            .collect(),
    ))
}

/// A POP's name, checked (`domain::offers::check_pop_name`).
fn pop_name(raw: &str) -> anyhow::Result<&str> {
    shopkeeper_domain::offers::check_pop_name(raw).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(raw)
}

fn pop_json(pop: &PopRecord) -> Value {
    json!({"name": pop.name, "offerIds": pop.offer_ids})
}

pub async fn create_pop(
    store: &Store,
    site_id: &str,
    name: &str,
    now: UnixSeconds,
) -> anyhow::Result<Value> {
    let site_id = site(store, site_id).await?;
    store.create_pop(&site_id, pop_name(name)?, now).await?;
    Ok(json!({"site": site_id.as_str(), "name": name, "offerIds": []}))
}

pub async fn add_to_pop(
    store: &Store,
    site_id: &str,
    name: &str,
    offer_id: OfferId,
) -> anyhow::Result<Value> {
    let site_id = site(store, site_id).await?;
    store
        .add_offer_to_pop(&site_id, pop_name(name)?, offer_id)
        .await?;
    let pops = store.pops(&site_id).await?;
    let pop = pops
        .iter()
        .find(|p| p.name == name)
        .with_context(|| format!("no POP {name}"))?;
    let mut out = pop_json(pop);
    out["site"] = json!(site_id.as_str());
    Ok(out)
}

pub async fn list_pops(store: &Store, site_id: &str) -> anyhow::Result<Value> {
    let site_id = site(store, site_id).await?;
    Ok(Value::Array(
        store.pops(&site_id).await?.iter().map(pop_json).collect(),
    ))
}
