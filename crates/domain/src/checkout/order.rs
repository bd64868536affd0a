//! How a cart is priced and becomes an order: the cart as the rules see it, its pricing, and
//! the decision of a submit (the order to write, or why not).

use super::cart::CartLine;
use super::{
    LineForPricing, SHIPPING_OPTIONS, ShippingOption, SourceOwner, SourceUser, TestOutcome, Totals,
    may_use_source, price,
};
use crate::address::{BillingAndShipping, PostalAddress};
use crate::catalog::CustomAttributes;
use crate::offers::{Applied, ArbitratedLine, Arbitration, CartForOffers, Offer, arbitrate};
use crate::purchase_plans::{OverLimit, PlanPricing, Purchaser, check_limit};
use serde_json::Value;
use std::collections::HashMap;

/// Everything pricing and a submit decide on, read at one moment.
#[derive(Debug, Clone, Default)]
pub struct Cart {
    pub session_id: String,
    /// The shopper of a full token; `None` for a limited one.
    pub shopper_id: Option<i64>,
    pub lines: Vec<CartLine>,
    /// `(min_quantity, unit_price_minor)` tiers per product id.
    pub volume_prices: HashMap<i64, Vec<(i64, i64)>>,
    pub addresses: BillingAndShipping,
    pub shipping_option_id: Option<i64>,
    /// The order the cart last became (it is empty since).
    pub last_order_id: Option<i64>,
    /// A limited token's write dropped a shopper's source (until one is applied).
    pub source_dropped: bool,
    pub source: Option<ChargeSource>,
    /// Store credit applied beside (or instead of) the source.
    pub credit: Option<CreditSource>,
    /// `(country, rate in basis points)` of the site.
    pub tax_rates: Vec<(String, i64)>,
    /// What the storefront set on the cart (`POST carts/active`).
    pub fields: CartFields,
    /// The offers that may apply: the site's always-triggered ones and those the cart
    /// triggered (by code or by name); arbitration picks among them.
    pub offers: Vec<Offer>,
    /// The categories of each line's product (for category offers).
    pub product_categories: HashMap<i64, Vec<i64>>,
    /// The moment offers are judged at (their windows), Unix seconds.
    pub offers_at: i64,
    /// The private store the session is authorized into, while it is open.
    pub purchase_plan: Option<CartPlan>,
    /// The site is itself a private store (its storefront plan is on): a session outside its
    /// plans may not submit.
    pub private_site: bool,
}

/// The plan a cart is priced in, and what its limits count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CartPlan {
    pub pricing: PlanPricing,
    /// The e-mail address or domain the session proved (e-mail access methods).
    pub proven_email: Option<String>,
    /// Units of each product the purchaser already bought in the plan, when the purchaser is
    /// known before the submit (a signed-in shopper, a proven address).
    pub bought: HashMap<i64, i64>,
}

impl CartPlan {
    /// Whose purchases the plan's limits count for this cart: the signed-in shopper's, else
    /// the proven address's, else the order's e-mail address's, else the session's.
    pub fn purchaser(
        &self,
        shopper_id: Option<i64>,
        order_email: Option<&str>,
        session_id: &str,
    ) -> Purchaser {
        match (shopper_id, self.proven_email.as_deref()) {
            (Some(id), _) => Purchaser::Shopper(id),
            (None, Some(e)) if e.contains('@') => Purchaser::Email(e.to_owned()),
            _ => match order_email {
                Some(e) => Purchaser::Email(e.to_owned()),
                None => Purchaser::Session(session_id.to_owned()),
            },
        }
    }
}

/// What a storefront sets on a cart besides its lines, addresses and payment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CartFields {
    pub custom_attributes: CustomAttributes,
    /// `None` until the storefront says.
    pub terms_of_sales_acceptance: Option<bool>,
    /// One of [`CHARGE_TYPES`]; `None`: `customer_initiated`.
    pub charge_type: Option<String>,
    /// The shopper's organization (TreviPay's client reference, for instance).
    pub organization_id: Option<String>,
    /// `I` or `B` as `POST tax-registrations` set it; `None`: `I`.
    pub customer_type: Option<String>,
    /// The tax identifiers `POST tax-registrations` attached (checked against the country's
    /// schema then).
    pub tax_registrations: Vec<crate::tax_registrations::Registration>,
}

/// Who starts a charge, as the docs' `chargeType` says it; the first is the default.
pub const CHARGE_TYPES: [&str; 3] = ["customer_initiated", "merchant_initiated", "moto"];

impl CartFields {
    pub fn charge_type(&self) -> &str {
        self.charge_type.as_deref().unwrap_or(CHARGE_TYPES[0])
    }

    pub fn customer_type(&self) -> &str {
        self.customer_type
            .as_deref()
            .unwrap_or(crate::tax_registrations::CustomerType::Individual.as_str())
    }
}

/// The payment source applied to a cart, as charging it sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeSource {
    pub id: String,
    pub chargeable: bool,
    pub owner_shopper: Option<i64>,
    pub owner_session: Option<String>,
    /// The owner object as given when the source was created (JSON).
    pub owner: String,
    pub test_outcome: TestOutcome,
    pub brand: String,
    pub last_four: String,
    /// A single-use source is consumed by its charge.
    pub single_use: bool,
}

impl ChargeSource {
    /// Chargeable, and `user` may use it (`may_use_source`).
    pub fn usable_by(&self, user: SourceUser<'_>) -> bool {
        let owner = SourceOwner {
            shopper: self.owner_shopper,
            session: self.owner_session.as_deref(),
        };
        self.chargeable && may_use_source(owner, user)
    }

    /// The owner's address, as a billing address.
    pub fn owner_address(&self) -> Option<PostalAddress> {
        owner_address(&self.owner)
    }
}

/// Store credit (the docs' secondary `customerCredit` source): it pays first, up to its
/// amount; the primary source pays the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditSource {
    pub source: ChargeSource,
    pub currency: String,
    pub amount_minor: i64,
}

/// The address of a source's owner object (`firstName`, `lastName`, `email`, `address`), if
/// it has the line, city and country an address needs.
pub fn owner_address(owner_json: &str) -> Option<PostalAddress> {
    let owner: Value = serde_json::from_str(owner_json).ok()?;
    let a = owner.get("address")?;
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    Some(PostalAddress {
        first_name: text(&owner, "firstName"),
        last_name: text(&owner, "lastName"),
        line1: text(a, "line1")?,
        line2: text(a, "line2"),
        city: text(a, "city")?,
        country_subdivision: text(a, "state"),
        postal_code: text(a, "postalCode"),
        country: text(a, "country")?,
        email_address: text(&owner, "email"),
        ..PostalAddress::default()
    })
}

/// One line of a priced cart.
#[derive(Debug, Clone)]
pub struct PricedLine<'a> {
    pub line: &'a CartLine,
    pub pricing: LineForPricing,
    /// The item offer that won this line, and what it takes off the line.
    pub offer: Option<Applied>,
    /// The unit price outside the private store (equal to the unit price when no plan prices
    /// the line).
    pub public_unit_minor: i64,
}

impl PricedLine<'_> {
    pub fn unit_price_minor(&self) -> i64 {
        self.pricing.unit_price_minor()
    }

    /// What the line costs after sale and volume prices and its item offer (the order
    /// offer's share aside).
    pub fn sale_total_minor(&self) -> i64 {
        self.unit_price_minor() * self.pricing.quantity - self.offer.map_or(0, |a| a.discount_minor)
    }
}

/// A cart priced: what its rendering shows and what a submit charges.
#[derive(Debug, Clone)]
pub struct PricedCart<'a> {
    pub currency: String,
    pub lines: Vec<PricedLine<'a>>,
    pub totals: Totals,
    /// `None` when nothing in the cart ships.
    pub shipping_option: Option<&'static ShippingOption>,
    /// The cart's billing address, else the applied source's owner address.
    pub billing: Option<PostalAddress>,
    pub shipping: Option<PostalAddress>,
    /// The tax rate of the country the goods go to, in basis points (0 without one).
    pub tax_rate_bp: i64,
    /// What the applied store credit pays of the total (0 without one, or in another
    /// currency); the primary source pays the rest.
    pub credit_minor: i64,
    /// Store credit that can pay this cart is applied (chargeable, in the cart's currency).
    pub credit_applied: bool,
    /// What the offers take off, by level.
    pub offers: Arbitration,
    /// What the best shipping offer would take off each shipping option were it chosen
    /// (`costWithDiscount`), by option id; empty when no shipping offer can apply.
    pub shipping_discounts: Vec<(i64, i64)>,
    /// What the private store's prices take off the public ones (`PURCHASEPLAN_INCENTIVE_TOTAL`).
    pub plan_incentive_minor: i64,
    /// The private store the cart is priced in.
    pub purchase_plan: Option<&'a PlanPricing>,
}

impl PricedCart<'_> {
    /// The cart's custom attributes as its answers show them: the storefront's, then those
    /// its private store adds (computed, so they replace any of the same name).
    pub fn shown_attributes(&self, stored: &CustomAttributes) -> CustomAttributes {
        let mut shown = stored.clone();
        if let Some(plan) = self.purchase_plan {
            let computed = plan_attributes(plan, self.plan_incentive_minor, &self.currency);
            shown
                .0
                .retain(|a| !computed.0.iter().any(|c| c.name == a.name));
            shown.0.extend(computed.0);
        }
        shown
    }

    /// Each line's share of the goods' price after every offer: its sale total less its share
    /// of the order discount (in proportion to the sale totals; the shares add up exactly).
    pub fn goods_by_line(&self) -> Vec<i64> {
        let sale: Vec<i64> = self
            .lines
            .iter()
            .map(PricedLine::sale_total_minor)
            .collect();
        let order = self.offers.order.map_or(0, |a| a.discount_minor);
        let shares = super::allocate(order, &sale);
        sale.iter()
            .zip(shares)
            .map(|(s, share)| s - share)
            .collect()
    }

    /// What the shipping offers would take off `option_id` were it the cart's option.
    pub fn shipping_discount(&self, option_id: i64) -> i64 {
        self.shipping_discounts
            .iter()
            .find(|(id, _)| *id == option_id)
            .map_or(0, |(_, off)| *off)
    }

    /// The store credit pays the whole total: no primary source is needed.
    pub fn paid_by_credit(&self) -> bool {
        self.credit_applied && self.credit_minor == self.totals.total
    }

    pub fn physical(&self) -> bool {
        self.lines.iter().any(|l| l.pricing.physical)
    }

    pub fn total_items(&self) -> i64 {
        self.lines.iter().map(|l| l.pricing.quantity).sum()
    }
}

/// Prices a cart: in its lines' currency (else `default_currency`), taxed at the rate of
/// the country the goods go to.
pub fn price_cart<'a>(cart: &'a Cart, default_currency: &str) -> PricedCart<'a> {
    let currency = cart
        .lines
        .first()
        .map(|l| l.currency.clone())
        .unwrap_or_else(|| default_currency.to_owned());
    let plan = cart.purchase_plan.as_ref().map(|p| &p.pricing);
    let lines: Vec<PricedLine<'a>> = cart
        .lines
        .iter()
        .map(|l| PricedLine {
            line: l,
            offer: None,
            public_unit_minor: 0,
            pricing: LineForPricing {
                quantity: l.quantity,
                list_price_minor: l.list_price_minor,
                // A subscription with a free trial costs nothing now: its first charge is the
                // renewal at the trial's end.
                sale_price_minor: match &l.subscription {
                    Some(plan) if plan.free_trial_days > 0 => 0,
                    _ => l.sale_price_minor,
                },
                volume_prices: match &l.subscription {
                    Some(plan) if plan.free_trial_days > 0 => Vec::new(),
                    _ => cart
                        .volume_prices
                        .get(&l.product_id)
                        .cloned()
                        .unwrap_or_default(),
                },
                physical: l.physical(),
            },
        })
        .map(|mut l| {
            l.public_unit_minor = l.unit_price_minor();
            // A plan's price replaces the sale and volume prices of the products it covers.
            if let Some(plan) = plan.filter(|p| p.covers(l.line.product_id)) {
                let planned = plan.unit_price(l.line.product_id, l.public_unit_minor);
                l.pricing.sale_price_minor = planned;
                l.pricing.volume_prices = Vec::new();
            }
            l
        })
        .collect();
    let plan_incentive_minor = lines
        .iter()
        .map(|l| (l.public_unit_minor - l.unit_price_minor()) * l.pricing.quantity)
        .sum();
    let physical = lines.iter().any(|l| l.pricing.physical);
    let shipping_option = physical.then(|| {
        cart.shipping_option_id
            .and_then(ShippingOption::find)
            .unwrap_or(&SHIPPING_OPTIONS[0])
    });
    let billing = cart
        .addresses
        .billing
        .clone()
        .or_else(|| cart.source.as_ref().and_then(ChargeSource::owner_address));
    let shipping = cart.addresses.shipping.clone();
    // Tax follows where the goods go: the shipping address, else the billing address.
    let country = shipping
        .as_ref()
        .or(billing.as_ref())
        .map(|a| a.country.as_str());
    let rate = country
        .and_then(|c| cart.tax_rates.iter().find(|(tc, _)| tc == c))
        .map(|(_, bp)| *bp)
        .unwrap_or(0);
    let arbitrated: Vec<ArbitratedLine> = lines
        .iter()
        .map(|l| ArbitratedLine {
            product_id: l.line.product_id,
            category_ids: cart
                .product_categories
                .get(&l.line.product_id)
                .cloned()
                .unwrap_or_default(),
            total_minor: l.unit_price_minor() * l.pricing.quantity,
        })
        .collect();
    let triggered: Vec<&Offer> = cart.offers.iter().collect();
    let offers = arbitrate(
        &triggered,
        &CartForOffers {
            lines: &arbitrated,
            currency: &currency,
            shipping: shipping_option.map(|o| (o.id, o.cost_minor(&currency))),
            now: cart.offers_at,
        },
    );
    let shipping_discounts = if physical
        && cart
            .offers
            .iter()
            .any(|o| o.level == crate::offers::DiscountLevel::Shipping)
    {
        SHIPPING_OPTIONS
            .iter()
            .map(|o| {
                let cost = o.cost_minor(&currency);
                let if_chosen = arbitrate(
                    &triggered,
                    &CartForOffers {
                        lines: &arbitrated,
                        currency: &currency,
                        shipping: Some((o.id, cost)),
                        now: cart.offers_at,
                    },
                );
                (o.id, if_chosen.shipping.map_or(0, |a| a.discount_minor))
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut lines = lines;
    for (line, won) in lines.iter_mut().zip(&offers.lines) {
        line.offer = *won;
    }
    let for_pricing: Vec<LineForPricing> = lines.iter().map(|l| l.pricing.clone()).collect();
    let totals = price(&for_pricing, shipping_option, &currency, rate, &offers);
    let credit = cart
        .credit
        .as_ref()
        .filter(|c| c.currency == currency && c.source.chargeable);
    PricedCart {
        credit_minor: credit.map_or(0, |c| c.amount_minor.min(totals.total)),
        credit_applied: credit.is_some(),
        currency,
        lines,
        totals,
        shipping_option,
        billing,
        shipping,
        tax_rate_bp: rate,
        offers,
        shipping_discounts,
        plan_incentive_minor,
        purchase_plan: plan,
    }
}

/// Why a cart cannot become an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Empty,
    AlreadySubmitted(i64),
    NoShippingAddress,
    NoBillingAddress,
    NoPayment,
    /// The applied store credit is in another currency than the cart.
    CreditCurrency,
    /// A limited token's write dropped the shopper's source (and account addresses).
    PaymentDropped,
    Declined(&'static str),
    /// A subscription line in a guest's (limited token's) cart.
    SubscriptionNeedsShopper,
    /// A subscription line without `termsOfSalesAcceptance: true`.
    TermsNotAccepted,
    /// A subscription paid with a single-use source (renewals could not be charged).
    SubscriptionNeedsReusableSource,
    /// The site is a private store the session is not authorized into.
    OutsidePrivateStore,
    /// A line would take the purchaser past the plan's limit of its product.
    OverPlanLimit {
        product_id: i64,
        over: OverLimit,
    },
    /// The billing (or shipping) address is in a country the site does not authorize
    /// (`domain::authorized_countries`).
    RestrictedCountry {
        kind: crate::authorized_countries::Kind,
        country: String,
    },
}

/// The order a submit writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub email: Option<String>,
    pub currency: String,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub shipping_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub billing_address: PostalAddress,
    pub shipping_address: Option<PostalAddress>,
    /// The primary source: the card, or the store credit when it pays the whole total alone.
    pub payment_source_id: String,
    /// The card's brand and last digits (empty when store credit pays alone).
    pub card_brand: String,
    pub card_last_four: String,
    pub lines: Vec<NewOrderLine>,
    /// Whether the source is single-use (consumed by this charge).
    pub consume_source: bool,
    /// The store credit used (always consumed: it is single-use), and what it paid.
    pub credit_source_id: Option<String>,
    pub credit_minor: i64,
    /// The rate the lines were taxed at (basis points) and the shipping option chosen.
    pub tax_rate_bp: i64,
    pub shipping_option_id: Option<i64>,
    /// The cart's custom attributes and charge type, kept with the order.
    pub custom_attributes: CustomAttributes,
    pub charge_type: String,
    /// The cart's customer type and tax identifiers, kept with the order.
    pub customer_type: String,
    pub tax_registrations: Vec<crate::tax_registrations::Registration>,
    /// The order offer and the shipping offer that won, with what each took off.
    pub order_offer: Option<Applied>,
    pub shipping_offer: Option<Applied>,
    /// The private store the order was bought in.
    pub purchase_plan: Option<OrderPlan>,
}

/// An order's private store: the plan, whose purchases its limits count, and the units of
/// each product it counts against them (`None`: no limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPlan {
    pub plan_id: i64,
    pub purchaser: Purchaser,
    pub units: Vec<(i64, i64, Option<i64>)>,
}

/// The cart attributes a private store adds (`submitting-an-order-for-a-private-store.md`:
/// the session's `marketID` and `purchasePlanID`, the cart's `PURCHASEPLAN_INCENTIVE_TOTAL`).
pub fn plan_attributes(
    plan: &PlanPricing,
    incentive_minor: i64,
    currency: &str,
) -> CustomAttributes {
    let attribute = |name: &str, value: String| crate::catalog::CustomAttribute {
        name: name.to_owned(),
        kind: "String".to_owned(),
        value,
    };
    CustomAttributes(vec![
        attribute("purchasePlanID", plan.plan_id.to_string()),
        attribute("marketID", plan.target_market_id.to_string()),
        attribute(
            "PURCHASEPLAN_INCENTIVE_TOTAL",
            crate::catalog::format_amount(incentive_minor, currency),
        ),
    ])
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrderLine {
    pub product_id: i64,
    pub sku: String,
    pub display_name: String,
    pub quantity: i64,
    pub list_price_minor: i64,
    pub unit_price_minor: i64,
    /// The item offer that won the line and what it took off the line's total.
    pub offer: Option<Applied>,
    /// Whether the product's stock is tracked (then it is decremented).
    pub tracked: bool,
    /// The cart line's own custom attributes.
    pub custom_attributes: CustomAttributes,
    /// The plan of a subscription the line buys.
    pub subscription: Option<crate::subscriptions::Plan>,
    /// What the storefront said of it (`subscriptionInfo`).
    pub subscription_info: Option<crate::subscriptions::SubscriptionInfo>,
}

/// The decision of a submit: the order to write, or why not. `profile_email` is the signed-in
/// shopper's, used when neither the billing address nor the source's owner has one.
pub fn decide_order(
    cart: &Cart,
    default_currency: &str,
    profile_email: Option<String>,
) -> Result<NewOrder, Refusal> {
    if cart.lines.is_empty() {
        return Err(match cart.last_order_id {
            Some(id) => Refusal::AlreadySubmitted(id),
            None => Refusal::Empty,
        });
    }
    // A subscription is a signed-in shopper's, bought with the terms of sale accepted.
    let subscribing = cart.lines.iter().any(|l| l.subscription.is_some());
    if subscribing && cart.shopper_id.is_none() {
        return Err(Refusal::SubscriptionNeedsShopper);
    }
    if subscribing && cart.fields.terms_of_sales_acceptance != Some(true) {
        return Err(Refusal::TermsNotAccepted);
    }
    if cart.private_site && cart.purchase_plan.is_none() {
        return Err(Refusal::OutsidePrivateStore);
    }
    let pr = price_cart(cart, default_currency);
    let paid_by_credit = pr.paid_by_credit();
    if cart.source.is_none() && cart.source_dropped && !paid_by_credit {
        return Err(Refusal::PaymentDropped);
    }
    if pr.physical() && pr.shipping.is_none() {
        return Err(Refusal::NoShippingAddress);
    }
    let billing = pr.billing.clone().ok_or(Refusal::NoBillingAddress)?;
    // Only its owner may charge a source: never a limited token a shopper's source, even in
    // the shopper's own session, nor another session a guest's.
    let user = SourceUser {
        full_token_shopper: cart.shopper_id,
        session: &cart.session_id,
    };
    let credit = cart.credit.as_ref();
    if let Some(c) = credit {
        if !c.source.usable_by(user) {
            return Err(Refusal::NoPayment);
        }
        if c.currency != pr.currency {
            return Err(Refusal::CreditCurrency);
        }
    }
    let source = match (cart.source.as_ref(), credit) {
        (Some(card), _) => card,
        (None, Some(c)) if paid_by_credit => &c.source,
        _ => return Err(Refusal::NoPayment),
    };
    if !source.usable_by(user) {
        return Err(Refusal::NoPayment);
    }
    // Renewals charge the source again: it must outlive this order.
    if subscribing && source.single_use {
        return Err(Refusal::SubscriptionNeedsReusableSource);
    }
    if let Err(reason) = source.test_outcome.charge(false) {
        return Err(Refusal::Declined(reason));
    }
    let email = billing
        .email_address
        .clone()
        .or_else(|| source.owner_address().and_then(|a| a.email_address))
        .or(profile_email);
    let purchase_plan = match &cart.purchase_plan {
        Some(plan) => Some(order_plan(cart, plan, email.as_deref())?),
        None => None,
    };
    let mut custom_attributes = cart.fields.custom_attributes.clone();
    if let Some(plan) = &cart.purchase_plan {
        // Computed, so they replace anything a storefront set under the same names.
        let computed = plan_attributes(&plan.pricing, pr.plan_incentive_minor, &pr.currency);
        custom_attributes
            .0
            .retain(|a| !computed.0.iter().any(|c| c.name == a.name));
        custom_attributes.0.extend(computed.0);
    }
    Ok(NewOrder {
        email,
        currency: pr.currency.clone(),
        subtotal_minor: pr.totals.subtotal,
        discount_minor: pr.totals.discount,
        shipping_minor: pr.totals.shipping,
        tax_minor: pr.totals.tax,
        total_minor: pr.totals.total,
        billing_address: billing,
        shipping_address: pr.shipping.clone(),
        payment_source_id: source.id.clone(),
        card_brand: source.brand.clone(),
        card_last_four: source.last_four.clone(),
        lines: pr
            .lines
            .iter()
            .map(|l| NewOrderLine {
                product_id: l.line.product_id,
                sku: l.line.sku.clone(),
                display_name: l.line.display_name.clone(),
                quantity: l.line.quantity,
                list_price_minor: l.line.list_price_minor,
                unit_price_minor: l.unit_price_minor(),
                offer: l.offer,
                tracked: l.line.available_quantity.is_some(),
                custom_attributes: l.line.line_attributes.clone(),
                subscription: l.line.subscription.clone(),
                subscription_info: l.line.subscription_info.clone(),
            })
            .collect(),
        consume_source: source.single_use,
        credit_source_id: credit.map(|c| c.source.id.clone()),
        credit_minor: pr.credit_minor,
        tax_rate_bp: pr.tax_rate_bp,
        shipping_option_id: pr.shipping_option.map(|o| o.id),
        custom_attributes,
        charge_type: cart.fields.charge_type().to_owned(),
        customer_type: cart.fields.customer_type().to_owned(),
        tax_registrations: cart.fields.tax_registrations.clone(),
        order_offer: pr.offers.order,
        shipping_offer: pr.offers.shipping,
        purchase_plan,
    })
}

/// The order's plan: the purchaser and the units its limits count, refused when a line goes
/// past a limit as far as the purchases known now tell (the submit's conditional update has
/// the last word).
fn order_plan(cart: &Cart, plan: &CartPlan, email: Option<&str>) -> Result<OrderPlan, Refusal> {
    let purchaser = plan.purchaser(cart.shopper_id, email, &cart.session_id);
    let mut units: Vec<(i64, i64, Option<i64>)> = Vec::new();
    for line in cart
        .lines
        .iter()
        .filter(|l| plan.pricing.covers(l.product_id))
    {
        match units.iter_mut().find(|u| u.0 == line.product_id) {
            Some(u) => u.1 += line.quantity,
            None => units.push((
                line.product_id,
                line.quantity,
                plan.pricing.limit(line.product_id),
            )),
        }
    }
    for &(product_id, quantity, limit) in &units {
        let bought = plan.bought.get(&product_id).copied().unwrap_or(0);
        check_limit(limit, bought, quantity)
            .map_err(|over| Refusal::OverPlanLimit { product_id, over })?;
    }
    Ok(OrderPlan {
        plan_id: plan.pricing.plan_id,
        purchaser,
        units,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(country: &str) -> PostalAddress {
        PostalAddress {
            line1: "1 Main St".into(),
            city: "Springfield".into(),
            country: country.into(),
            ..PostalAddress::default()
        }
    }

    fn line(product_id: i64, quantity: i64, physical: bool) -> CartLine {
        CartLine {
            id: product_id * 10,
            product_id,
            quantity,
            sku: format!("sku-{product_id}"),
            display_name: format!("Product {product_id}"),
            product_type: if physical { "PHYSICAL" } else { "DIGITAL" }.into(),
            currency: "USD".into(),
            list_price_minor: 1000,
            sale_price_minor: 800,
            available_quantity: Some(9),
            ..CartLine::default()
        }
    }

    fn source() -> ChargeSource {
        ChargeSource {
            id: "src_1".into(),
            chargeable: true,
            owner_shopper: None,
            owner_session: Some("s1".into()),
            owner: r#"{"email":"owner@example.com","address":
                {"line1":"3 Elm St","city":"Austin","country":"US"}}"#
                .into(),
            test_outcome: TestOutcome::Approve,
            brand: "visa".into(),
            last_four: "0129".into(),
            single_use: true,
        }
    }

    /// A digital cart with a billing address and a usable source: it can be submitted.
    fn ready() -> Cart {
        Cart {
            session_id: "s1".into(),
            lines: vec![line(1, 2, false)],
            addresses: BillingAndShipping {
                billing: Some(address("US")),
                shipping: None,
            },
            source: Some(source()),
            tax_rates: vec![("DE".into(), 1900), ("US".into(), 500)],
            ..Cart::default()
        }
    }

    #[test]
    fn offers_take_off_lines_the_order_and_shipping_and_tax_follows() {
        use crate::offers::{DiscountLevel, Reduction};
        let offer = crate::offers::test_offer;
        let mut on_product_1 = offer(1, DiscountLevel::Item, Reduction::PercentOff(1500));
        on_product_1.product_ids = vec![1];
        let order_off = offer(
            2,
            DiscountLevel::Order,
            Reduction::AmountOff {
                currency: "USD".into(),
                minor: 100,
            },
        );
        let free_shipping = offer(3, DiscountLevel::Shipping, Reduction::PercentOff(10_000));
        let mut cart = ready();
        // 3 × $8.00 of product 1 (physical) and 1 × $8.00 of product 2.
        cart.lines = vec![line(1, 3, true), line(2, 1, false)];
        cart.addresses.shipping = Some(address("US"));
        cart.offers = vec![on_product_1, order_off, free_shipping];
        let pr = price_cart(&cart, "USD");
        // 15 % of $24.00 = $3.60 off line 1; $1.00 off the order; shipping $5.00 → $0.
        assert_eq!(pr.lines[0].offer.map(|a| a.discount_minor), Some(360));
        assert_eq!(pr.lines[1].offer, None);
        assert_eq!(pr.lines[0].sale_total_minor(), 2040);
        let goods = pr.goods_by_line();
        // The $1.00 is shared 2040 : 800 → 72 + 28 cents.
        assert_eq!(goods, vec![2040 - 72, 800 - 28]);
        assert_eq!(goods.iter().sum::<i64>(), 2040 + 800 - 100);
        assert_eq!(pr.totals.subtotal, 4000);
        assert_eq!(pr.totals.discount, 4000 - 2740);
        assert_eq!(pr.totals.shipping, 0);
        // Tax (5 % in the US) after every discount: 5 % of $27.40 = $1.37.
        assert_eq!(pr.totals.tax, 137);
        assert_eq!(pr.totals.total, 2740 + 137);
        // Every shipping option would ship free (`costWithDiscount` 0), the chosen one too.
        assert_eq!(pr.shipping_discounts.len(), SHIPPING_OPTIONS.len());
        for (id, off) in &pr.shipping_discounts {
            assert_eq!(*off, ShippingOption::find(*id).unwrap().cost_minor("USD"));
        }
        // Out of its window, an offer is not applied.
        cart.offers_at = 100;
        cart.offers[1].ends_at = Some(100);
        let pr = price_cart(&cart, "USD");
        assert_eq!(pr.offers.order, None);
        assert_eq!(pr.totals.total, 2840 + 142);
    }

    #[test]
    fn pricing_uses_volume_tiers_and_the_tax_of_where_goods_go() {
        let mut cart = ready();
        cart.volume_prices.insert(1, vec![(2, 700)]);
        let pr = price_cart(&cart, "EUR");
        assert_eq!(pr.currency, "USD");
        assert_eq!(pr.lines[0].unit_price_minor(), 700);
        assert_eq!(pr.shipping_option, None);
        assert_eq!(pr.totals.tax, 70); // 500 basis points of 14.00: the billing country's rate
        cart.lines.push(line(2, 1, true));
        cart.addresses.shipping = Some(address("DE"));
        let pr = price_cart(&cart, "EUR");
        assert_eq!(pr.shipping_option, Some(&SHIPPING_OPTIONS[0]));
        assert_eq!(pr.total_items(), 3);
        assert_eq!(pr.totals.tax, (1400 + 800 + 500) * 1900 / 10_000);
    }

    #[test]
    fn an_empty_cart_prices_in_the_session_currency_and_billing_falls_back_to_the_owner() {
        let cart = Cart {
            source: Some(ChargeSource {
                owner: r#"{"firstName":"Ann","email":"a@example.com","address":
                    {"line1":"2 High St","city":"Leeds","country":"GB","state":"WYK"}}"#
                    .into(),
                ..source()
            }),
            ..Cart::default()
        };
        let pr = price_cart(&cart, "GBP");
        assert_eq!(pr.currency, "GBP");
        let billing = pr.billing.unwrap();
        assert_eq!(billing.country, "GB");
        assert_eq!(billing.country_subdivision.as_deref(), Some("WYK"));
        assert_eq!(billing.email_address.as_deref(), Some("a@example.com"));
        assert_eq!(owner_address(r#"{"address":{"line1":"x"}}"#), None);
    }

    #[test]
    fn a_ready_cart_becomes_an_order() {
        let order = decide_order(&ready(), "USD", Some("profile@example.com".into())).unwrap();
        assert_eq!(order.email.as_deref(), Some("owner@example.com"));
        assert_eq!((order.subtotal_minor, order.discount_minor), (2000, 400));
        assert_eq!(order.total_minor, 1600 + 80);
        assert_eq!(order.lines[0].unit_price_minor, 800);
        assert!(order.lines[0].tracked);
        assert!(order.consume_source);
        assert_eq!(order.shipping_address, None);
    }

    #[test]
    fn an_empty_cart_is_refused_saying_whether_it_was_just_submitted() {
        let empty = Cart {
            lines: vec![],
            ..ready()
        };
        assert_eq!(decide_order(&empty, "USD", None), Err(Refusal::Empty));
        let submitted = Cart {
            last_order_id: Some(42),
            ..empty
        };
        assert_eq!(
            decide_order(&submitted, "USD", None),
            Err(Refusal::AlreadySubmitted(42))
        );
    }

    #[test]
    fn addresses_are_required_as_the_goods_need_them() {
        let mut cart = ready();
        cart.lines.push(line(2, 1, true));
        assert_eq!(
            decide_order(&cart, "USD", None),
            Err(Refusal::NoShippingAddress)
        );
        let mut cart = ready();
        cart.addresses.billing = None;
        cart.source.as_mut().unwrap().owner = "{}".into();
        assert_eq!(
            decide_order(&cart, "USD", None),
            Err(Refusal::NoBillingAddress)
        );
    }

    #[test]
    fn the_source_must_be_there_chargeable_the_callers_and_approved() {
        let mut cart = ready();
        cart.source = None;
        assert_eq!(decide_order(&cart, "USD", None), Err(Refusal::NoPayment));
        cart.source_dropped = true;
        assert_eq!(
            decide_order(&cart, "USD", None),
            Err(Refusal::PaymentDropped)
        );
        let mut cart = ready();
        cart.source.as_mut().unwrap().chargeable = false;
        assert_eq!(decide_order(&cart, "USD", None), Err(Refusal::NoPayment));
        let mut cart = ready();
        cart.source.as_mut().unwrap().owner_shopper = Some(7);
        assert_eq!(decide_order(&cart, "USD", None), Err(Refusal::NoPayment));
        cart.shopper_id = Some(7);
        assert!(decide_order(&cart, "USD", None).is_ok());
        let mut cart = ready();
        cart.source.as_mut().unwrap().test_outcome = TestOutcome::Decline("expired_card");
        assert_eq!(
            decide_order(&cart, "USD", None),
            Err(Refusal::Declined("expired_card"))
        );
    }

    #[test]
    fn the_order_email_falls_back_to_the_profile() {
        let mut cart = ready();
        cart.source.as_mut().unwrap().owner = "{}".into();
        let order = decide_order(&cart, "USD", Some("p@example.com".into())).unwrap();
        assert_eq!(order.email.as_deref(), Some("p@example.com"));
    }

    #[test]
    fn store_credit_pays_first_and_alone_only_when_it_covers_the_total() {
        let credit = |amount_minor: i64, currency: &str| CreditSource {
            source: ChargeSource {
                id: "credit_1".into(),
                single_use: true,
                ..source()
            },
            currency: currency.into(),
            amount_minor,
        };
        let mut cart = ready();
        let total = price_cart(&cart, "USD").totals.total;
        cart.credit = Some(credit(500, "USD"));
        let order = decide_order(&cart, "USD", None).unwrap();
        assert_eq!(
            (order.credit_minor, order.payment_source_id.as_str()),
            (500, "src_1")
        );
        // Without the card: the credit must cover the whole total.
        cart.source = None;
        assert_eq!(decide_order(&cart, "USD", None), Err(Refusal::NoPayment));
        cart.credit = Some(credit(total + 100, "USD"));
        let pr = price_cart(&cart, "USD");
        assert!(pr.paid_by_credit());
        assert_eq!(
            pr.credit_minor, total,
            "it pays the total, not its whole amount"
        );
        let order = decide_order(&cart, "USD", None).unwrap();
        assert_eq!(order.payment_source_id, "credit_1");
        // Credit in another currency pays nothing and is refused by name.
        cart.credit = Some(credit(total * 10, "EUR"));
        assert!(!price_cart(&cart, "USD").paid_by_credit());
        assert_eq!(
            decide_order(&cart, "USD", None),
            Err(Refusal::CreditCurrency)
        );
    }
}
