//! Offers, pure: what a site's offers take off (a line, the order, shipping), when they are in
//! force, what triggers them, and the arbitration that picks, per discount level, the offer
//! that takes the most off (`reconciling-conflicting-offers.md`: "we only reconcile offers
//! against other offers with the same discount level. The offers with the largest discount
//! value per discount level win").
//!
//! Money is in minor units. A percentage is in basis points and its discount is rounded half
//! up to the minor unit, once, on the whole amount it applies to (a line's total, the order's
//! subtotal, the shipping cost), never per unit: 15 % of $33.33 is $5.00 (4.9995 → 5.00).

use crate::catalog::{parse_amount, valid_currency};
use serde::Deserialize;
use serde_json::Value;

pub type OfferId = i64;

/// What an offer is, as `offer.type` says on the wire (`offer-types.md`, the docs' samples).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OfferType {
    /// Takes money off a product or the order.
    Discount,
    /// Takes money off the shipping cost.
    ShippingDiscount,
    /// Merchandising: products shown beside a product or the cart (no price of their own
    /// unless the offer has a reduction).
    CrossSell,
    UpSell,
    FeatureProducts,
    Banner,
}

impl OfferType {
    pub const ALL: [OfferType; 6] = [
        OfferType::Discount,
        OfferType::ShippingDiscount,
        OfferType::CrossSell,
        OfferType::UpSell,
        OfferType::FeatureProducts,
        OfferType::Banner,
    ];

    /// The wire spelling (`Discount` and `FeatureProducts` are the docs' samples; the others
    /// are the names of `offer-types.md` in the same style).
    pub const fn as_str(self) -> &'static str {
        match self {
            OfferType::Discount => "Discount",
            OfferType::ShippingDiscount => "Shipping Cost Discount",
            OfferType::CrossSell => "Cross-sell",
            OfferType::UpSell => "Up-sell",
            OfferType::FeatureProducts => "FeatureProducts",
            OfferType::Banner => "Banner",
        }
    }

    /// Its wire spelling, or a command-line one (`shipping-discount`, `cross-sell`), any case.
    pub fn parse(raw: &str) -> Option<Self> {
        let key: String = raw
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        Self::ALL.into_iter().find(|t| {
            let wire: String = t
                .as_str()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase();
            wire == key || (key == "shippingdiscount" && *t == OfferType::ShippingDiscount)
        })
    }
}

/// Where an offer's reduction applies; offers compete only within a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiscountLevel {
    /// Each line on its own: every line can have its own best offer.
    Item,
    /// The order's subtotal (after item discounts).
    Order,
    /// The order's shipping cost.
    Shipping,
}

impl DiscountLevel {
    pub const fn as_str(self) -> &'static str {
        match self {
            DiscountLevel::Item => "item",
            DiscountLevel::Order => "order",
            DiscountLevel::Shipping => "shipping",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Item, Self::Order, Self::Shipping]
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(raw.trim()))
    }
}

/// How an offer comes into a cart (`offer.trigger`: `Always Triggered` or `User Triggered`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// Every cart that meets its conditions.
    Always,
    /// A cart that applied one of its coupon codes (`promoCode`).
    Coupon,
    /// A cart that names it (a promotional URL or an API trigger: `offerId`).
    PromotionalUrl,
}

impl Trigger {
    pub const fn as_str(self) -> &'static str {
        match self {
            Trigger::Always => "always",
            Trigger::Coupon => "coupon",
            Trigger::PromotionalUrl => "promotional-url",
        }
    }

    /// The docs' wire value of `offer.trigger`.
    pub const fn wire(self) -> &'static str {
        match self {
            Trigger::Always => "Always Triggered",
            Trigger::Coupon | Trigger::PromotionalUrl => "User Triggered",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Always, Self::Coupon, Self::PromotionalUrl]
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(raw.trim()))
    }
}

/// What an offer takes off what it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reduction {
    /// A percentage in basis points (1500 = 15 %), at most 10 000.
    PercentOff(i64),
    /// A fixed amount in minor units of one currency (carts in another currency do not
    /// qualify).
    AmountOff { currency: String, minor: i64 },
}

impl Reduction {
    /// What it takes off `amount` (minor units of `currency`): at most `amount`, never less
    /// than 0; `None` when it cannot apply in that currency.
    pub fn off(&self, amount: i64, currency: &str) -> Option<i64> {
        let amount = amount.max(0);
        match self {
            Reduction::PercentOff(bp) => Some(percent_of(amount, *bp).min(amount)),
            Reduction::AmountOff { currency: c, minor } => {
                (c == currency).then(|| (*minor).clamp(0, amount))
            }
        }
    }

    /// Checked: a percentage in 0..=100 %, an amount ≥ 0 in an ISO 4217 currency.
    pub fn checked(self) -> Result<Self, OfferError> {
        match &self {
            Reduction::PercentOff(bp) if !(0..=10_000).contains(bp) => Err(OfferError(
                "a percentage off must be between 0 and 100".into(),
            )),
            Reduction::AmountOff { currency, .. } if !valid_currency(currency) => Err(OfferError(
                format!("{currency} is not an ISO 4217 currency code"),
            )),
            Reduction::AmountOff { minor, .. } if *minor < 0 => {
                Err(OfferError("an amount off cannot be negative".into()))
            }
            _ => Ok(self),
        }
    }
}

/// `bp` basis points of `amount`, rounded half up to the minor unit.
pub fn percent_of(amount: i64, bp: i64) -> i64 {
    let exact = i128::from(amount) * i128::from(bp);
    ((exact + 5_000).div_euclid(10_000)) as i64
}

/// A refused offer definition or code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferError(pub String);

impl std::fmt::Display for OfferError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An offer as pricing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub id: OfferId,
    pub offer_type: OfferType,
    pub level: DiscountLevel,
    pub trigger: Trigger,
    /// `None`: a merchandising offer that shows products and takes nothing off.
    pub reduction: Option<Reduction>,
    /// The products (`product_ids`) or categories (`category_ids`) an item-level offer covers;
    /// both empty: every product. For order and shipping offers: products one of which the
    /// cart must hold (empty: any cart).
    pub product_ids: Vec<i64>,
    pub category_ids: Vec<i64>,
    /// The subtotal (after item discounts) a cart must reach, in one currency.
    pub minimum_order: Option<(String, i64)>,
    /// Shipping offers: the shipping options they take off (empty: any).
    pub shipping_option_ids: Vec<i64>,
    /// In force from (inclusive) and until (exclusive), Unix seconds.
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    /// Disabled offers never apply (deploying is enabling).
    pub enabled: bool,
}

impl Offer {
    /// Enabled and inside its window at `now`.
    pub fn in_force(&self, now: i64) -> bool {
        self.enabled
            && self.starts_at.is_none_or(|s| now >= s)
            && self.ends_at.is_none_or(|e| now < e)
    }

    /// Whether a shopper is shown the offer where `showing` says, at `now`: in force, and
    /// by its trigger. Coupon offers are never shown unasked (listing one would tell anyone
    /// that a code exists: "You cannot use the Offers resource to retrieve coupon-related
    /// offers"); promotional-URL offers show in a POP's lists, "even if an offer is not
    /// triggered", and at their own uri, but the offer lists show only always-triggered ones
    /// (those a session triggered are the caller's to add).
    pub fn shown(&self, showing: Showing, now: i64) -> bool {
        self.in_force(now)
            && match self.trigger {
                Trigger::Always => true,
                Trigger::PromotionalUrl => showing != Showing::OfferList,
                Trigger::Coupon => false,
            }
    }

    /// Whether an item-level offer covers a line of `product_id` in `category_ids`.
    pub fn covers(&self, product_id: i64, category_ids: &[i64]) -> bool {
        (self.product_ids.is_empty() && self.category_ids.is_empty())
            || self.product_ids.contains(&product_id)
            || category_ids.iter().any(|c| self.category_ids.contains(c))
    }

    /// Checks what an offer definition must hold, whoever writes it (CLI, import, admin API).
    pub fn check(&self) -> Result<(), OfferError> {
        if let Some(r) = &self.reduction {
            r.clone().checked()?;
        }
        let level_fits = match self.offer_type {
            OfferType::ShippingDiscount => self.level == DiscountLevel::Shipping,
            OfferType::Discount => self.level != DiscountLevel::Shipping,
            _ => self.level == DiscountLevel::Item,
        };
        if !level_fits {
            return Err(OfferError(format!(
                "a {} offer cannot take off at the {} level",
                self.offer_type.as_str(),
                self.level.as_str()
            )));
        }
        if matches!(
            self.offer_type,
            OfferType::Discount | OfferType::ShippingDiscount
        ) && self.reduction.is_none()
        {
            return Err(OfferError(format!(
                "a {} offer needs a reduction (percent or amount off)",
                self.offer_type.as_str()
            )));
        }
        if let (Some(s), Some(e)) = (self.starts_at, self.ends_at) {
            if e <= s {
                return Err(OfferError("an offer must end after it starts".into()));
            }
        }
        if let Some((currency, minor)) = &self.minimum_order {
            if !valid_currency(currency) || *minor < 0 {
                return Err(OfferError(
                    "a minimum order is a non-negative amount in an ISO 4217 currency".into(),
                ));
            }
        }
        Ok(())
    }
}

/// Where a shopper sees offers (`how-to-use-offers.md`, the POP pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Showing {
    /// `offers` and `products/{id}/offers`.
    OfferList,
    /// A point of promotion's `offers` (the site's, a product's, the cart's).
    PointOfPromotion,
    /// One offer at its own uri (`offers/{id}` and its product and category offers): what
    /// any list links to.
    OfferUri,
}

/// A cart line as the arbitration sees it: its product and what it costs after sale and
/// volume prices (the base item discounts come off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArbitratedLine {
    pub product_id: i64,
    pub category_ids: Vec<i64>,
    pub total_minor: i64,
}

/// The cart the arbitration prices.
#[derive(Debug, Clone)]
pub struct CartForOffers<'a> {
    pub lines: &'a [ArbitratedLine],
    pub currency: &'a str,
    /// The chosen shipping option and its cost; `None` when nothing ships.
    pub shipping: Option<(i64, i64)>,
    pub now: i64,
}

/// An offer that won its level, and what it takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub offer_id: OfferId,
    pub discount_minor: i64,
}

/// The arbitration's outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Arbitration {
    /// Each line's winning item offer, in the order of the lines.
    pub lines: Vec<Option<Applied>>,
    pub order: Option<Applied>,
    pub shipping: Option<Applied>,
    /// Every triggered, in-force offer whose conditions the cart meets (winners included),
    /// by id.
    pub eligible: Vec<OfferId>,
}

impl Arbitration {
    /// The winners, each once (an item offer winning several lines is one applied offer).
    pub fn applied(&self) -> Vec<OfferId> {
        let mut ids: Vec<OfferId> = self
            .lines
            .iter()
            .flatten()
            .chain(self.order.iter())
            .chain(self.shipping.iter())
            .map(|a| a.offer_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Everything taken off the lines by item offers.
    pub fn item_discount(&self) -> i64 {
        self.lines.iter().flatten().map(|a| a.discount_minor).sum()
    }
}

/// The best of `candidates` (largest discount; on a tie the lower offer id, so the outcome
/// never depends on the order offers were listed in).
fn best(candidates: impl Iterator<Item = Applied>) -> Option<Applied> {
    candidates.filter(|a| a.discount_minor > 0).max_by(|a, b| {
        a.discount_minor
            .cmp(&b.discount_minor)
            .then(b.offer_id.cmp(&a.offer_id))
    })
}

/// Picks, among `triggered` offers (the caller passes the `Always` offers and those the cart
/// triggered by code or by name), the best item offer of each line, then the best order offer
/// on the subtotal after item discounts, then the best shipping offer on the shipping cost.
pub fn arbitrate(triggered: &[&Offer], cart: &CartForOffers<'_>) -> Arbitration {
    let in_force: Vec<&Offer> = triggered
        .iter()
        .copied()
        .filter(|o| o.in_force(cart.now) && o.reduction.is_some())
        .collect();
    let mut eligible = Vec::new();
    let holds_product = |o: &Offer| {
        o.product_ids.is_empty() && o.category_ids.is_empty()
            || cart
                .lines
                .iter()
                .any(|l| o.covers(l.product_id, &l.category_ids))
    };

    let lines: Vec<Option<Applied>> = cart
        .lines
        .iter()
        .map(|line| {
            best(
                in_force
                    .iter()
                    .filter(|o| o.level == DiscountLevel::Item)
                    .filter(|o| o.covers(line.product_id, &line.category_ids))
                    .filter_map(|o| {
                        let off = o.reduction.as_ref()?.off(line.total_minor, cart.currency)?;
                        eligible.push(o.id);
                        Some(Applied {
                            offer_id: o.id,
                            discount_minor: off,
                        })
                    }),
            )
        })
        .collect();
    let item_discount: i64 = lines.iter().flatten().map(|a| a.discount_minor).sum();
    let subtotal: i64 = cart.lines.iter().map(|l| l.total_minor).sum::<i64>() - item_discount;
    let reaches_minimum = |o: &Offer| match &o.minimum_order {
        None => true,
        Some((currency, minor)) => currency == cart.currency && subtotal >= *minor,
    };

    let order = best(
        in_force
            .iter()
            .filter(|o| o.level == DiscountLevel::Order)
            .filter(|o| holds_product(o) && reaches_minimum(o))
            .filter_map(|o| {
                let off = o.reduction.as_ref()?.off(subtotal, cart.currency)?;
                eligible.push(o.id);
                Some(Applied {
                    offer_id: o.id,
                    discount_minor: off,
                })
            }),
    );
    let shipping = cart.shipping.and_then(|(option, cost)| {
        best(
            in_force
                .iter()
                .filter(|o| o.level == DiscountLevel::Shipping)
                .filter(|o| {
                    o.shipping_option_ids.is_empty() || o.shipping_option_ids.contains(&option)
                })
                .filter(|o| holds_product(o) && reaches_minimum(o))
                .filter_map(|o| {
                    let off = o.reduction.as_ref()?.off(cost, cart.currency)?;
                    eligible.push(o.id);
                    Some(Applied {
                        offer_id: o.id,
                        discount_minor: off,
                    })
                }),
        )
    });
    eligible.sort_unstable();
    eligible.dedup();
    Arbitration {
        lines,
        order,
        shipping,
        eligible,
    }
}

/// An offer as a merchant writes it (`shopkeeper offer create`, an import file's `offers`):
/// JSON, camelCase, amounts as exact decimals, times as RFC 3339.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OfferInput {
    pub name: String,
    /// `offer.type` (`Discount`, `Shipping Cost Discount`, `Cross-sell`, …).
    #[serde(rename = "type")]
    pub offer_type: String,
    /// `item`, `order` or `shipping`; by default `shipping` for a shipping discount, `item`
    /// for the others.
    #[serde(default)]
    pub level: Option<String>,
    /// `always` (the default), `coupon` or `promotional-url`.
    #[serde(default)]
    pub trigger: Option<String>,
    /// A percentage, `"15"` or `"12.5"`.
    #[serde(default)]
    pub percent_off: Option<Value>,
    /// `{"currency": "USD", "value": "5.00"}`.
    #[serde(default)]
    pub amount_off: Option<MoneyInput>,
    #[serde(default)]
    pub product_ids: Vec<i64>,
    #[serde(default)]
    pub category_ids: Vec<i64>,
    #[serde(default)]
    pub minimum_order: Option<MoneyInput>,
    #[serde(default)]
    pub shipping_option_ids: Vec<i64>,
    #[serde(default)]
    pub starts_at: Option<String>,
    #[serde(default)]
    pub ends_at: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub total_limit: Option<i64>,
    #[serde(default)]
    pub per_shopper_limit: Option<i64>,
    #[serde(default)]
    pub external_reference_id: Option<String>,
    #[serde(default)]
    pub sales_pitch: Option<String>,
    #[serde(default)]
    pub image: Option<String>,
    /// Coupon codes that trigger it (a coupon offer needs at least one).
    #[serde(default)]
    pub coupon_codes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoneyInput {
    pub currency: String,
    pub value: Value,
}

/// An offer definition, checked: what the store keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOffer {
    pub name: String,
    pub pricing: Offer,
    pub total_limit: Option<i64>,
    pub per_shopper_limit: Option<i64>,
    pub external_reference_id: Option<String>,
    pub sales_pitch: String,
    pub image: Option<String>,
    pub coupon_codes: Vec<CouponCode>,
}

fn money(input: &MoneyInput, what: &str) -> Result<(String, i64), OfferError> {
    if !valid_currency(&input.currency) {
        return Err(OfferError(format!(
            "{what}.currency: {:?} is not an ISO 4217 currency code",
            input.currency
        )));
    }
    let minor = parse_amount(&input.value, &input.currency)
        .map_err(|e| OfferError(format!("{what}.value: {e}")))?;
    Ok((input.currency.clone(), minor))
}

fn instant(raw: &Option<String>, what: &str) -> Result<Option<i64>, OfferError> {
    raw.as_deref()
        .map(|text| {
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .map(|t| t.unix_timestamp())
                .map_err(|_| OfferError(format!("{what}: {text:?} is not an RFC 3339 time")))
        })
        .transpose()
}

impl OfferInput {
    /// Checks the definition; `id` is the offer's (0 for a new one).
    pub fn parse(self, id: OfferId) -> Result<NewOffer, OfferError> {
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.len() > 200 {
            return Err(OfferError("name: 1 to 200 characters".into()));
        }
        let offer_type = OfferType::parse(&self.offer_type).ok_or_else(|| {
            OfferError(format!(
                "type: {:?} is not one of {}",
                self.offer_type,
                OfferType::ALL.map(OfferType::as_str).join(", ")
            ))
        })?;
        let level = match self.level.as_deref() {
            Some(raw) => DiscountLevel::parse(raw).ok_or_else(|| {
                OfferError(format!("level: {raw:?} is not item, order or shipping"))
            })?,
            None if offer_type == OfferType::ShippingDiscount => DiscountLevel::Shipping,
            None => DiscountLevel::Item,
        };
        let trigger = match self.trigger.as_deref() {
            Some(raw) => Trigger::parse(raw).ok_or_else(|| {
                OfferError(format!(
                    "trigger: {raw:?} is not always, coupon or promotional-url"
                ))
            })?,
            None => Trigger::Always,
        };
        let reduction = match (&self.percent_off, &self.amount_off) {
            (Some(_), Some(_)) => {
                return Err(OfferError("give percentOff or amountOff, not both".into()));
            }
            // Hundredths of a percent are basis points.
            (Some(percent), None) => Some(Reduction::PercentOff(
                parse_amount(percent, "USD").map_err(|_| {
                    OfferError(format!(
                        "percentOff: {percent} is not a percentage with at most two decimals"
                    ))
                })?,
            )),
            (None, Some(amount)) => {
                let (currency, minor) = money(amount, "amountOff")?;
                Some(Reduction::AmountOff { currency, minor })
            }
            (None, None) => None,
        };
        let minimum_order = self
            .minimum_order
            .as_ref()
            .map(|m| money(m, "minimumOrder"))
            .transpose()?;
        for (limit, what) in [
            (self.total_limit, "totalLimit"),
            (self.per_shopper_limit, "perShopperLimit"),
        ] {
            if limit.is_some_and(|n| n < 1) {
                return Err(OfferError(format!("{what}: at least 1 when given")));
            }
        }
        let coupon_codes = self
            .coupon_codes
            .iter()
            .map(|raw| {
                CouponCode::parse(raw).ok_or_else(|| {
                    OfferError(format!(
                        "couponCodes: {raw:?} is not 1 to 64 letters, digits, - or _"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if trigger == Trigger::Coupon && coupon_codes.is_empty() {
            return Err(OfferError(
                "a coupon-triggered offer needs at least one of couponCodes".into(),
            ));
        }
        if trigger != Trigger::Coupon && !coupon_codes.is_empty() {
            return Err(OfferError(
                "couponCodes need \"trigger\": \"coupon\"".into(),
            ));
        }
        let pricing = Offer {
            id,
            offer_type,
            level,
            trigger,
            reduction,
            product_ids: self.product_ids,
            category_ids: self.category_ids,
            minimum_order,
            shipping_option_ids: self.shipping_option_ids,
            starts_at: instant(&self.starts_at, "startsAt")?,
            ends_at: instant(&self.ends_at, "endsAt")?,
            enabled: self.enabled.unwrap_or(true),
        };
        pricing.check()?;
        Ok(NewOffer {
            name,
            pricing,
            total_limit: self.total_limit,
            per_shopper_limit: self.per_shopper_limit,
            external_reference_id: self
                .external_reference_id
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
            sales_pitch: self.sales_pitch.unwrap_or_default(),
            image: self.image,
            coupon_codes,
        })
    }
}

/// A coupon (promo) code: 1–64 letters, digits, `-` or `_`, matched without regard to case
/// (kept upper-case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CouponCode(String);

impl CouponCode {
    pub fn parse(raw: &str) -> Option<Self> {
        let code = raw.trim();
        let valid = (1..=64).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| Self(code.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CouponCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A point of promotion's name: what its routes take (`/point-of-promotions/{popName}`),
/// 1–100 letters, digits, `_`, `-` or `.`.
pub fn check_pop_name(raw: &str) -> Result<(), OfferError> {
    let ok = (1..=100).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(OfferError(format!(
            "a POP name is 1 to 100 letters, digits, _, - or . ({raw:?})"
        )))
    }
}

/// Why a use of an offer is refused at submit (`409-conflict.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitReached {
    /// `offer-usage-limit-exceeded`: every use the offer allows is taken.
    Total,
    /// `shopper-usage-limit-exceeded`: this shopper (or e-mail address) used it up.
    Shopper,
}

/// Whether one more use fits: `total_limit` uses in all and `per_shopper_limit` per shopper.
pub fn one_more_use(
    total_uses: i64,
    total_limit: Option<i64>,
    shopper_uses: i64,
    per_shopper_limit: Option<i64>,
) -> Result<(), LimitReached> {
    if total_limit.is_some_and(|limit| total_uses >= limit) {
        return Err(LimitReached::Total);
    }
    if per_shopper_limit.is_some_and(|limit| shopper_uses >= limit) {
        return Err(LimitReached::Shopper);
    }
    Ok(())
}

/// Where a storefront applies an offer in a cart's body (`api-trigger-offer.md`):
/// `appliedProductOffers` or `appliedOrderOffers`, each with an `offer` and a `shippingOffer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    ProductOffer,
    /// Shipping is priced per order here: a product's shipping offer takes off the order's.
    ProductShippingOffer,
    OrderOffer,
    OrderShippingOffer,
}

impl Slot {
    /// The body path of the slot, for error descriptions.
    pub const fn as_str(self) -> &'static str {
        match self {
            Slot::ProductOffer => "lineItems.appliedProductOffers.offer",
            Slot::ProductShippingOffer => "lineItems.appliedProductOffers.shippingOffer",
            Slot::OrderOffer => "appliedOrderOffers.offer",
            Slot::OrderShippingOffer => "appliedOrderOffers.shippingOffer",
        }
    }
}

/// Why an offer does not fit the slot it was applied in (`409 precondition-failure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotMismatch {
    /// "Invalid offer level": an order offer among the product offers, or the reverse.
    Level,
    /// "Invalid offer type": a shipping discount as an `offer`, or a discount as a
    /// `shippingOffer`.
    Type,
}

/// Whether `offer` may be applied in `slot`.
pub fn fits_slot(offer: &Offer, slot: Slot) -> Result<(), SlotMismatch> {
    let shipping = offer.offer_type == OfferType::ShippingDiscount;
    match slot {
        Slot::ProductShippingOffer | Slot::OrderShippingOffer if !shipping => {
            Err(SlotMismatch::Type)
        }
        Slot::ProductOffer | Slot::OrderOffer if shipping => Err(SlotMismatch::Type),
        Slot::ProductOffer if offer.level != DiscountLevel::Item => Err(SlotMismatch::Level),
        Slot::OrderOffer if offer.level != DiscountLevel::Order => Err(SlotMismatch::Level),
        _ => Ok(()),
    }
}

/// A discount a storefront puts in place of the offer's own (`overrideDiscount`), on one
/// product of the offer or (`None`) wherever the offer applies.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscountOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_off_bp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_off: Option<(String, i64)>,
}

impl DiscountOverride {
    pub fn new(product_id: Option<i64>, reduction: Reduction) -> Self {
        let (percent_off_bp, amount_off) = match reduction {
            Reduction::PercentOff(bp) => (Some(bp), None),
            Reduction::AmountOff { currency, minor } => (None, Some((currency, minor))),
        };
        DiscountOverride {
            product_id,
            percent_off_bp,
            amount_off,
        }
    }

    pub fn reduction(&self) -> Option<Reduction> {
        match (&self.percent_off_bp, &self.amount_off) {
            (Some(bp), None) => Some(Reduction::PercentOff(*bp)),
            (None, Some((currency, minor))) => Some(Reduction::AmountOff {
                currency: currency.clone(),
                minor: *minor,
            }),
            _ => None,
        }
    }
}

/// Why an `overrideDiscount` is refused (`412-precondition-failed.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverrideRefusal {
    /// `no-discount-or-type`.
    Missing,
    /// `invalid-discount-type`: not `amountOff` or `percentOff`.
    InvalidType,
    /// `invalid-discount`: negative, not a number, over 100 as a percentage, or finer than
    /// the currency's minor unit.
    InvalidDiscount,
}

/// An `overrideDiscount`'s `discount` and `discountType` as a reduction in the cart's
/// `currency` (`"discount": 50, "discountType": "amountOff"` is 50.00 of it).
pub fn override_reduction(
    discount: Option<&Value>,
    discount_type: Option<&str>,
    currency: &str,
) -> Result<Reduction, OverrideRefusal> {
    let (Some(discount), Some(kind)) = (discount, discount_type) else {
        return Err(OverrideRefusal::Missing);
    };
    let text = match discount {
        Value::Number(n) => Value::String(n.to_string()),
        Value::String(s) => Value::String(s.trim().to_owned()),
        _ => return Err(OverrideRefusal::InvalidDiscount),
    };
    match kind.trim() {
        k if k.eq_ignore_ascii_case("percentOff") => parse_amount(&text, "USD")
            .ok()
            .filter(|bp| *bp <= 10_000)
            .map(Reduction::PercentOff)
            .ok_or(OverrideRefusal::InvalidDiscount),
        k if k.eq_ignore_ascii_case("amountOff") => parse_amount(&text, currency)
            .map(|minor| Reduction::AmountOff {
                currency: currency.to_owned(),
                minor,
            })
            .map_err(|_| OverrideRefusal::InvalidDiscount),
        _ => Err(OverrideRefusal::InvalidType),
    }
}

impl Offer {
    /// The offer as a cart that applied it with `overrides` prices it: each override is the
    /// offer with that reduction, on its product alone when it names one (an arbitration
    /// candidate each, so every line gets the best of them); none: the offer itself.
    pub fn with_overrides(&self, overrides: &[DiscountOverride]) -> Vec<Offer> {
        if overrides.is_empty() {
            return vec![self.clone()];
        }
        overrides
            .iter()
            .filter_map(|o| {
                let mut offer = self.clone();
                offer.reduction = Some(o.reduction()?);
                if let Some(product) = o.product_id {
                    offer.product_ids = vec![product];
                    offer.category_ids = Vec::new();
                }
                Some(offer)
            })
            .collect()
    }
}

/// Why a cart cannot bring an offer in, by code (`promoCode`) or by name (`offerId`)
/// (`409-conflict.md`, `404-not-found.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerRefusal {
    /// No such code, or no such offer, on the site.
    Unknown,
    /// Switched off: `offer-not-deployed`.
    NotDeployed,
    /// Outside its window: `offer-not-active`.
    NotActive,
    /// Its uses are taken, in all or by this shopper.
    UsedUp(LimitReached),
    /// Named by id, but it applies to every cart anyway (`invalid-offer-id`, 409).
    AlwaysTriggered,
    /// Named by id, but only its coupon code triggers it (`precondition-failure`).
    NeedsCode,
}

/// Whether a cart may bring `offer` in at `now` by `by` (a coupon code, or naming it), given
/// its uses so far (in all, and by this shopper when the shopper is known).
pub fn check_trigger(
    offer: &Offer,
    by: Trigger,
    now: i64,
    uses: (i64, Option<i64>),
    shopper_uses: (i64, Option<i64>),
) -> Result<(), TriggerRefusal> {
    match (by, offer.trigger) {
        (Trigger::PromotionalUrl, Trigger::Always) => return Err(TriggerRefusal::AlwaysTriggered),
        (Trigger::PromotionalUrl, Trigger::Coupon) => return Err(TriggerRefusal::NeedsCode),
        _ => {}
    }
    if !offer.enabled {
        return Err(TriggerRefusal::NotDeployed);
    }
    if !offer.in_force(now) {
        return Err(TriggerRefusal::NotActive);
    }
    one_more_use(uses.0, uses.1, shopper_uses.0, shopper_uses.1).map_err(TriggerRefusal::UsedUp)
}

/// An always-triggered discount (a shipping discount at the shipping level), in force with no
/// window: the tests' offer.
#[cfg(test)]
pub(crate) fn test_offer(id: OfferId, level: DiscountLevel, reduction: Reduction) -> Offer {
    Offer {
        id,
        offer_type: match level {
            DiscountLevel::Shipping => OfferType::ShippingDiscount,
            _ => OfferType::Discount,
        },
        level,
        trigger: Trigger::Always,
        reduction: Some(reduction),
        product_ids: vec![],
        category_ids: vec![],
        minimum_order: None,
        shipping_option_ids: vec![],
        starts_at: None,
        ends_at: None,
        enabled: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_override_is_a_reduction_in_the_carts_currency_or_the_documented_refusal() {
        let r = |d: Value, t: &str| override_reduction(Some(&d), Some(t), "USD");
        assert_eq!(
            r(json!(50), "amountOff"),
            Ok(Reduction::AmountOff {
                currency: "USD".into(),
                minor: 5_000
            })
        );
        assert_eq!(r(json!(8.99), "amountOff").map(|_| ()), Ok(()));
        assert_eq!(r(json!(10), "percentOff"), Ok(Reduction::PercentOff(1_000)));
        assert_eq!(
            r(json!("12.5"), "percentOff"),
            Ok(Reduction::PercentOff(1_250))
        );
        assert_eq!(
            r(json!(101), "percentOff"),
            Err(OverrideRefusal::InvalidDiscount)
        );
        assert_eq!(
            r(json!(-1), "amountOff"),
            Err(OverrideRefusal::InvalidDiscount)
        );
        assert_eq!(
            r(json!(1.005), "amountOff"),
            Err(OverrideRefusal::InvalidDiscount)
        );
        assert_eq!(
            r(json!(true), "amountOff"),
            Err(OverrideRefusal::InvalidDiscount)
        );
        assert_eq!(r(json!(5), "fixedPrice"), Err(OverrideRefusal::InvalidType));
        assert_eq!(
            override_reduction(None, Some("amountOff"), "USD"),
            Err(OverrideRefusal::Missing)
        );
        assert_eq!(
            override_reduction(Some(&json!(5)), None, "USD"),
            Err(OverrideRefusal::Missing)
        );
    }

    #[test]
    fn overrides_per_product_compete_as_offers_of_their_product() {
        let offer = test_offer(3, DiscountLevel::Item, Reduction::PercentOff(1_000));
        assert_eq!(offer.with_overrides(&[]), vec![offer.clone()]);
        let overridden = offer.with_overrides(&[
            DiscountOverride::new(Some(7), Reduction::PercentOff(5_000)),
            DiscountOverride::new(None, Reduction::PercentOff(2_000)),
        ]);
        assert_eq!(overridden.len(), 2);
        assert_eq!(overridden[0].product_ids, vec![7]);
        assert_eq!(overridden[0].reduction, Some(Reduction::PercentOff(5_000)));
        assert!(overridden[1].product_ids.is_empty());
        let lines = [
            ArbitratedLine {
                product_id: 7,
                category_ids: vec![],
                total_minor: 1_000,
            },
            ArbitratedLine {
                product_id: 8,
                category_ids: vec![],
                total_minor: 1_000,
            },
        ];
        let refs: Vec<&Offer> = overridden.iter().collect();
        let a = arbitrate(
            &refs,
            &CartForOffers {
                lines: &lines,
                currency: "USD",
                shipping: None,
                now: 0,
            },
        );
        let off: Vec<i64> = a.lines.iter().map(|l| l.unwrap().discount_minor).collect();
        assert_eq!(off, vec![500, 200]);
        assert_eq!(a.applied(), vec![3]);
    }

    #[test]
    fn an_offer_fits_the_slot_of_its_level_and_type() {
        let item = test_offer(1, DiscountLevel::Item, Reduction::PercentOff(1));
        let order = test_offer(2, DiscountLevel::Order, Reduction::PercentOff(1));
        let shipping = test_offer(3, DiscountLevel::Shipping, Reduction::PercentOff(1));
        assert_eq!(fits_slot(&item, Slot::ProductOffer), Ok(()));
        assert_eq!(
            fits_slot(&order, Slot::ProductOffer),
            Err(SlotMismatch::Level)
        );
        assert_eq!(fits_slot(&order, Slot::OrderOffer), Ok(()));
        assert_eq!(fits_slot(&item, Slot::OrderOffer), Err(SlotMismatch::Level));
        assert_eq!(
            fits_slot(&shipping, Slot::OrderOffer),
            Err(SlotMismatch::Type)
        );
        assert_eq!(
            fits_slot(&order, Slot::OrderShippingOffer),
            Err(SlotMismatch::Type)
        );
        assert_eq!(fits_slot(&shipping, Slot::OrderShippingOffer), Ok(()));
        assert_eq!(fits_slot(&shipping, Slot::ProductShippingOffer), Ok(()));
    }

    #[test]
    fn a_trigger_is_refused_for_the_documented_reasons_in_order() {
        let mut coupon = test_offer(7, DiscountLevel::Order, Reduction::PercentOff(1000));
        coupon.trigger = Trigger::Coupon;
        let free = ((0, None), (0, None));
        let check = |o: &Offer, by, now, (uses, shopper)| check_trigger(o, by, now, uses, shopper);
        assert_eq!(check(&coupon, Trigger::Coupon, 50, free), Ok(()));
        assert_eq!(
            check(&coupon, Trigger::PromotionalUrl, 50, free),
            Err(TriggerRefusal::NeedsCode)
        );
        let always = test_offer(8, DiscountLevel::Order, Reduction::PercentOff(1000));
        assert_eq!(
            check(&always, Trigger::PromotionalUrl, 50, free),
            Err(TriggerRefusal::AlwaysTriggered)
        );
        let mut windowed = coupon.clone();
        windowed.starts_at = Some(100);
        windowed.ends_at = Some(200);
        assert_eq!(
            check(&windowed, Trigger::Coupon, 99, free),
            Err(TriggerRefusal::NotActive)
        );
        assert_eq!(check(&windowed, Trigger::Coupon, 100, free), Ok(()));
        assert_eq!(
            check(&windowed, Trigger::Coupon, 200, free),
            Err(TriggerRefusal::NotActive)
        );
        windowed.enabled = false;
        assert_eq!(
            check(&windowed, Trigger::Coupon, 150, free),
            Err(TriggerRefusal::NotDeployed)
        );
        assert_eq!(
            check(&coupon, Trigger::Coupon, 50, ((3, Some(3)), (0, None))),
            Err(TriggerRefusal::UsedUp(LimitReached::Total))
        );
        assert_eq!(
            check(&coupon, Trigger::Coupon, 50, ((1, Some(3)), (1, Some(1)))),
            Err(TriggerRefusal::UsedUp(LimitReached::Shopper))
        );
    }

    fn offer(id: OfferId, level: DiscountLevel, reduction: Reduction) -> Offer {
        test_offer(id, level, reduction)
    }

    #[test]
    fn shoppers_never_see_coupon_offers_and_see_promotional_ones_only_in_pops_and_by_uri() {
        let mut o = offer(1, DiscountLevel::Item, Reduction::PercentOff(1_000));
        for showing in [
            Showing::OfferList,
            Showing::PointOfPromotion,
            Showing::OfferUri,
        ] {
            o.trigger = Trigger::Always;
            assert!(o.shown(showing, 0));
            o.trigger = Trigger::Coupon;
            assert!(!o.shown(showing, 0));
            o.trigger = Trigger::PromotionalUrl;
            assert_eq!(o.shown(showing, 0), showing != Showing::OfferList);
        }
        o.trigger = Trigger::Always;
        o.starts_at = Some(10);
        o.ends_at = Some(20);
        assert!(!o.shown(Showing::OfferUri, 9));
        assert!(o.shown(Showing::OfferUri, 10));
        assert!(!o.shown(Showing::OfferUri, 20));
        o.starts_at = None;
        o.ends_at = None;
        o.enabled = false;
        assert!(!o.shown(Showing::PointOfPromotion, 0));
    }

    fn line(product_id: i64, total_minor: i64) -> ArbitratedLine {
        ArbitratedLine {
            product_id,
            category_ids: vec![10],
            total_minor,
        }
    }

    fn usd(minor: i64) -> Reduction {
        Reduction::AmountOff {
            currency: "USD".into(),
            minor,
        }
    }

    fn cart<'a>(lines: &'a [ArbitratedLine], shipping: Option<(i64, i64)>) -> CartForOffers<'a> {
        CartForOffers {
            lines,
            currency: "USD",
            shipping,
            now: 1_000,
        }
    }

    #[test]
    fn percentages_round_half_up_once_on_the_whole_amount() {
        // 15 % of $33.33 = 4.9995 → $5.00; of $33.32 = 4.998 → $5.00; of $0.03 = 0.0045 → 0.
        assert_eq!(percent_of(3333, 1500), 500);
        assert_eq!(percent_of(3332, 1500), 500);
        assert_eq!(percent_of(3, 1500), 0);
        // Exactly half a cent rounds up: 50 % of 1 cent, 12.5 % of 4 cents.
        assert_eq!(percent_of(1, 5000), 1);
        assert_eq!(percent_of(4, 1250), 1);
        // On the line's total, not per unit: 3 × $0.99 at 10 % = $0.297 → $0.30 (per unit it
        // would be 3 × $0.10 = $0.30 only by luck; 7 × $0.15 at 10 % = $0.105 → $0.11, per
        // unit 7 × $0.02 = $0.14).
        assert_eq!(percent_of(297, 1000), 30);
        assert_eq!(percent_of(105, 1000), 11);
        // Three-decimal currencies round at their own minor unit: 10 % of 1.255 BHD.
        assert_eq!(percent_of(1255, 1000), 126);
        // Never more than the amount, never negative.
        assert_eq!(Reduction::PercentOff(10_000).off(1999, "USD"), Some(1999));
        assert_eq!(usd(5000).off(1999, "USD"), Some(1999));
        assert_eq!(usd(500).off(-3, "USD"), Some(0));
        assert_eq!(usd(500).off(1999, "EUR"), None);
    }

    #[test]
    fn each_level_keeps_its_best_offer_and_levels_stack() {
        let ten_percent = offer(1, DiscountLevel::Item, Reduction::PercentOff(1000));
        let three_dollars = offer(2, DiscountLevel::Item, usd(300));
        let order_five = offer(3, DiscountLevel::Order, usd(500));
        let order_20pc = offer(4, DiscountLevel::Order, Reduction::PercentOff(2000));
        let half_shipping = offer(5, DiscountLevel::Shipping, Reduction::PercentOff(5000));
        let lines = [line(7, 5000), line(8, 2000)];
        let all = [
            &ten_percent,
            &three_dollars,
            &order_five,
            &order_20pc,
            &half_shipping,
        ];
        let outcome = arbitrate(&all, &cart(&lines, Some((1, 500))));
        // $50 line: 10 % ($5) beats $3; $20 line: $3 beats 10 % ($2).
        assert_eq!(
            outcome.lines,
            vec![
                Some(Applied {
                    offer_id: 1,
                    discount_minor: 500
                }),
                Some(Applied {
                    offer_id: 2,
                    discount_minor: 300
                }),
            ]
        );
        // The order level prices what is left (70 − 8 = 62): 20 % ($12.40) beats $5.
        assert_eq!(
            outcome.order,
            Some(Applied {
                offer_id: 4,
                discount_minor: 1240
            })
        );
        assert_eq!(
            outcome.shipping,
            Some(Applied {
                offer_id: 5,
                discount_minor: 250
            })
        );
        assert_eq!(outcome.applied(), vec![1, 2, 4, 5]);
        assert_eq!(outcome.eligible, vec![1, 2, 3, 4, 5]);
        assert_eq!(outcome.item_discount(), 800);
    }

    #[test]
    fn ties_go_to_the_lower_id_whatever_the_listing_order() {
        let a = offer(9, DiscountLevel::Order, usd(100));
        let b = offer(4, DiscountLevel::Order, Reduction::PercentOff(1000));
        let lines = [line(1, 1000)];
        for listing in [[&a, &b], [&b, &a]] {
            let outcome = arbitrate(&listing, &cart(&lines, None));
            assert_eq!(
                outcome.order,
                Some(Applied {
                    offer_id: 4,
                    discount_minor: 100
                })
            );
        }
    }

    #[test]
    fn windows_scopes_minimums_currencies_and_options_decide_eligibility() {
        let mut expired = offer(1, DiscountLevel::Item, usd(100));
        expired.ends_at = Some(1_000); // exclusive: over at `now`
        let mut future = offer(2, DiscountLevel::Item, usd(100));
        future.starts_at = Some(1_001);
        let mut disabled = offer(3, DiscountLevel::Item, usd(100));
        disabled.enabled = false;
        let mut other_product = offer(4, DiscountLevel::Item, usd(100));
        other_product.product_ids = vec![99];
        let mut by_category = offer(5, DiscountLevel::Item, usd(50));
        by_category.category_ids = vec![10];
        let mut big_orders = offer(6, DiscountLevel::Order, usd(100));
        big_orders.minimum_order = Some(("USD".into(), 5_000));
        let euros = offer(
            7,
            DiscountLevel::Order,
            Reduction::AmountOff {
                currency: "EUR".into(),
                minor: 100,
            },
        );
        let mut express_only = offer(8, DiscountLevel::Shipping, usd(200));
        express_only.shipping_option_ids = vec![2];
        let mut starts_now = offer(9, DiscountLevel::Shipping, usd(100));
        starts_now.starts_at = Some(1_000);
        let lines = [line(7, 4_000)];
        let all = [
            &expired,
            &future,
            &disabled,
            &other_product,
            &by_category,
            &big_orders,
            &euros,
            &express_only,
            &starts_now,
        ];
        let outcome = arbitrate(&all, &cart(&lines, Some((1, 500))));
        assert_eq!(
            outcome.lines,
            vec![Some(Applied {
                offer_id: 5,
                discount_minor: 50
            })]
        );
        assert_eq!(outcome.order, None, "39.50 is under the 50.00 minimum");
        assert_eq!(
            outcome.shipping,
            Some(Applied {
                offer_id: 9,
                discount_minor: 100
            })
        );
        assert_eq!(outcome.eligible, vec![5, 9]);
        // Nothing ships: no shipping offer.
        let outcome = arbitrate(&all, &cart(&lines, None));
        assert_eq!(outcome.shipping, None);
    }

    #[test]
    fn merchandising_offers_and_zero_discounts_never_win() {
        let mut cross_sell = offer(1, DiscountLevel::Item, usd(0));
        cross_sell.offer_type = OfferType::CrossSell;
        cross_sell.reduction = None;
        let zero = offer(2, DiscountLevel::Order, Reduction::PercentOff(0));
        let lines = [line(1, 1000)];
        let outcome = arbitrate(&[&cross_sell, &zero], &cart(&lines, None));
        assert_eq!(outcome.lines, vec![None]);
        assert_eq!(outcome.order, None);
        assert!(outcome.applied().is_empty());
    }

    #[test]
    fn definitions_are_checked() {
        let good = offer(1, DiscountLevel::Item, Reduction::PercentOff(2500));
        assert_eq!(good.check(), Ok(()));
        let mut over = good.clone();
        over.reduction = Some(Reduction::PercentOff(10_001));
        assert!(over.check().is_err());
        let mut shipping_on_items = good.clone();
        shipping_on_items.offer_type = OfferType::ShippingDiscount;
        assert!(shipping_on_items.check().is_err());
        let mut no_reduction = good.clone();
        no_reduction.reduction = None;
        assert!(no_reduction.check().is_err());
        let mut backwards = good.clone();
        backwards.starts_at = Some(10);
        backwards.ends_at = Some(10);
        assert!(backwards.check().is_err());
        let mut bad_currency = good.clone();
        bad_currency.reduction = Some(Reduction::AmountOff {
            currency: "usd".into(),
            minor: 5,
        });
        assert!(bad_currency.check().is_err());
        let mut featured = good;
        featured.offer_type = OfferType::FeatureProducts;
        featured.reduction = None;
        assert_eq!(featured.check(), Ok(()));
    }

    #[test]
    fn codes_types_levels_and_triggers_parse() {
        assert_eq!(
            CouponCode::parse(" summer-10 ").unwrap().as_str(),
            "SUMMER-10"
        );
        for bad in ["", "has space", "ünï", &"x".repeat(65), "semi;colon"] {
            assert_eq!(CouponCode::parse(bad), None, "{bad}");
        }
        for t in OfferType::ALL {
            assert_eq!(OfferType::parse(t.as_str()), Some(t));
        }
        assert_eq!(
            OfferType::parse("shipping-discount"),
            Some(OfferType::ShippingDiscount)
        );
        assert_eq!(OfferType::parse("cross-sell"), Some(OfferType::CrossSell));
        assert_eq!(OfferType::parse("bundle"), None);
        assert_eq!(DiscountLevel::parse("Order"), Some(DiscountLevel::Order));
        assert_eq!(Trigger::parse("coupon"), Some(Trigger::Coupon));
        assert_eq!(Trigger::Coupon.wire(), "User Triggered");
    }

    fn input(json: &str) -> Result<NewOffer, OfferError> {
        serde_json::from_str::<OfferInput>(json).unwrap().parse(0)
    }

    #[test]
    fn definitions_parse_from_json() {
        let coupon = input(
            r#"{"name": "Summer", "type": "Discount", "level": "order", "trigger": "coupon",
                "percentOff": "12.5", "minimumOrder": {"currency": "USD", "value": "50.00"},
                "startsAt": "2026-06-01T00:00:00Z", "endsAt": "2026-09-01T00:00:00Z",
                "totalLimit": 100, "perShopperLimit": 1, "couponCodes": ["summer26"]}"#,
        )
        .unwrap();
        assert_eq!(coupon.pricing.reduction, Some(Reduction::PercentOff(1250)));
        assert_eq!(coupon.pricing.level, DiscountLevel::Order);
        assert_eq!(coupon.pricing.minimum_order, Some(("USD".into(), 5000)));
        assert_eq!(coupon.pricing.starts_at, Some(1_780_272_000));
        assert_eq!(coupon.coupon_codes[0].as_str(), "SUMMER26");
        let shipping = input(
            r#"{"name": "Half shipping", "type": "Shipping Cost Discount",
                "amountOff": {"currency": "JPY", "value": "500"}}"#,
        )
        .unwrap();
        assert_eq!(shipping.pricing.level, DiscountLevel::Shipping);
        assert_eq!(
            shipping.pricing.reduction,
            Some(Reduction::AmountOff {
                currency: "JPY".into(),
                minor: 500
            })
        );
        for (bad, says) in [
            (
                r#"{"name": "x", "type": "Bundle", "percentOff": "5"}"#,
                "type",
            ),
            (r#"{"name": "x", "type": "Discount"}"#, "reduction"),
            (
                r#"{"name": "x", "type": "Discount", "percentOff": "5.555"}"#,
                "percentOff",
            ),
            (
                r#"{"name": "x", "type": "Discount", "percentOff": "101"}"#,
                "100",
            ),
            (
                r#"{"name": "x", "type": "Discount", "percentOff": "5", "amountOff": {"currency": "USD", "value": "1"}}"#,
                "not both",
            ),
            (
                r#"{"name": "x", "type": "Discount", "amountOff": {"currency": "USD", "value": "1.001"}}"#,
                "amountOff.value",
            ),
            (
                r#"{"name": "x", "type": "Discount", "percentOff": "5", "trigger": "coupon"}"#,
                "couponCodes",
            ),
            (
                r#"{"name": "x", "type": "Discount", "percentOff": "5", "couponCodes": ["A"]}"#,
                "trigger",
            ),
            (
                r#"{"name": "x", "type": "Discount", "percentOff": "5", "startsAt": "tomorrow"}"#,
                "startsAt",
            ),
            (
                r#"{"name": "x", "type": "Discount", "percentOff": "5", "totalLimit": 0}"#,
                "totalLimit",
            ),
            (
                r#"{"name": " ", "type": "Discount", "percentOff": "5"}"#,
                "name",
            ),
        ] {
            let e = input(bad).unwrap_err();
            assert!(e.0.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn use_limits_count_in_all_and_per_shopper() {
        assert_eq!(one_more_use(0, None, 0, None), Ok(()));
        assert_eq!(one_more_use(2, Some(3), 0, Some(1)), Ok(()));
        assert_eq!(one_more_use(3, Some(3), 0, None), Err(LimitReached::Total));
        assert_eq!(
            one_more_use(1, Some(3), 1, Some(1)),
            Err(LimitReached::Shopper)
        );
    }
}
