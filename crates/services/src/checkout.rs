//! The cart and the submit as the handlers ask for them: the reads and writes in order, with
//! `domain::checkout` deciding. No HTTP here: the handlers turn a `CheckoutError` into the
//! documented answer.

use crate::auth::Principal;
use shopkeeper_domain::address::PostalAddress;
use shopkeeper_domain::authorized_countries::{Kind, Policies};
use shopkeeper_domain::catalog::{CustomAttributes, TooManyAttributes};
use shopkeeper_domain::checkout::cart::{CartLine, LineAdditions, LineRefusal, ProductForCart};
use shopkeeper_domain::checkout::order::{
    CartFields, CartPlan, NewOrder, PricedCart, Refusal, decide_order, price_cart,
};
use shopkeeper_domain::checkout::{ShippingOption, SourceUser};
use shopkeeper_domain::offers::{CouponCode, OfferId, TriggerRefusal};
use shopkeeper_domain::purchase_plans::{Purchaser, check_limit};
use shopkeeper_domain::shopper::{AddressInput, FieldError};
use shopkeeper_domain::time::UnixSeconds;
use shopkeeper_store::{
    AddressRecord, CartSnapshot, CartWriter, CouponRecord, FromAccount, NewSession, OfferRecord,
    PaymentOptionFields, PaymentSourceRecord, Store, StoreError, SubmitFailure, TriggerDetails,
};
use std::collections::HashMap;

/// Why a cart operation did nothing.
#[derive(Debug)]
pub enum CheckoutError {
    Store(StoreError),
    /// `what` was not found.
    NotFound(String),
    Field(FieldError),
    Line(LineRefusal),
    /// The query parameter named is not an id.
    NotAnId(&'static str),
    InvalidShippingOption(i64),
    /// The source does not exist, is spent, or is not the caller's (one answer for all).
    InvalidSource(String),
    /// `apply-shopper` found nothing to apply, or not what was named.
    ApplyShopper(String),
    /// A single-use source cannot become a payment option.
    SingleUseSource(String),
    /// A cart or a line would keep more custom attributes than it may.
    TooManyAttributes,
    Submit(SubmitFailure<Refusal>),
    /// An address in a country the site does not authorize for its kind.
    RestrictedCountry {
        kind: Kind,
        country: String,
    },
    /// A coupon code (`promoCode`) or a named offer (`offerId`) the cart cannot bring in.
    Trigger {
        refusal: TriggerRefusal,
        /// The code as given, or the offer id.
        named: String,
        /// Brought in by a coupon code (not by naming the offer).
        by_code: bool,
    },
}

impl From<StoreError> for CheckoutError {
    fn from(e: StoreError) -> Self {
        CheckoutError::Store(e)
    }
}

impl From<FieldError> for CheckoutError {
    fn from(e: FieldError) -> Self {
        CheckoutError::Field(e)
    }
}

impl From<LineRefusal> for CheckoutError {
    fn from(e: LineRefusal) -> Self {
        CheckoutError::Line(e)
    }
}

pub type CheckoutResult<T> = Result<T, CheckoutError>;

/// The caller as the store's cart writes see it: a limited token's write drops what only the
/// shopper's full tokens may use (`store::CartWriter`).
fn cart_writer(p: &Principal) -> CartWriter<'_> {
    CartWriter {
        session_id: &p.session_id,
        full_token_shopper: p.acting_shopper(),
    }
}

fn source_user(p: &Principal) -> SourceUser<'_> {
    SourceUser {
        full_token_shopper: p.acting_shopper(),
        session: p.session_id.as_str(),
    }
}

/// A session's cart as rendering needs it.
pub struct CartRead {
    pub cart_id: String,
    pub session_currency: String,
    pub snapshot: CartSnapshot,
}

impl CartRead {
    pub fn priced(&self) -> PricedCart<'_> {
        price_cart(&self.snapshot.cart, &self.session_currency)
    }
}

/// The session and its cart, read concurrently (the cart in one transaction).
pub async fn read_cart(store: &Store, p: &Principal, now: UnixSeconds) -> CheckoutResult<CartRead> {
    let (session, snapshot) = tokio::try_join!(
        store.session(&p.session_id),
        store.cart_snapshot(&p.session_id, &p.site_id, p.acting_shopper(), now),
    )?;
    let session = session.ok_or_else(|| CheckoutError::NotFound("session".into()))?;
    Ok(CartRead {
        cart_id: session.cart_id,
        session_currency: session.currency,
        snapshot,
    })
}

/// Adds `(product id, quantity)` lines after checking each product exists on the site, is
/// purchasable, matches the cart's currency and has the stock.
/// Adds `(product id, quantity)` lines (to a product's line if there is one), with the custom
/// attributes given for a product set on its line.
pub async fn add_lines(
    store: &Store,
    p: &Principal,
    wanted: &[(i64, i64)],
    attributes: &HashMap<i64, CustomAttributes>,
    now: UnixSeconds,
) -> CheckoutResult<()> {
    let existing = store.cart_lines(&p.session_id).await?;
    let mut additions = LineAdditions::new(&existing);
    for &(product_id, quantity) in wanted {
        let product = match store.product(&p.site_id, product_id).await? {
            Some(product) => Some(ProductForCart {
                currency: product.currency,
                available_quantity: product.available_quantity,
                has_variations: !store.variations(product_id).await?.is_empty(),
            }),
            None => None,
        };
        additions.add(product_id, quantity, product.as_ref())?;
    }
    let accepted = additions.into_accepted();
    check_plan_limits(store, p, &existing, &accepted, now).await?;
    if !accepted.is_empty() {
        store
            .add_cart_lines(cart_writer(p), &accepted, attributes, now)
            .await?
            .map_err(|TooManyAttributes| CheckoutError::TooManyAttributes)?;
    }
    Ok(())
}

/// Refuses additions that would take the cart past its private store's per-shopper limit of
/// a product, counting what the purchaser already bought in the plan when they are known (a
/// signed-in shopper, a proven address). The submit checks again, under concurrency.
async fn check_plan_limits(
    store: &Store,
    p: &Principal,
    existing: &[CartLine],
    accepted: &[(i64, i64)],
    now: UnixSeconds,
) -> CheckoutResult<()> {
    let Some((plan, proven_email)) = store.session_purchase_plan(&p.session_id, now).await? else {
        return Ok(());
    };
    let cart_plan = CartPlan {
        pricing: store.purchase_plan_pricing(&plan).await?,
        proven_email,
        bought: HashMap::new(),
    };
    let bought = match cart_plan.purchaser(p.acting_shopper(), None, p.session_id.as_str()) {
        Purchaser::Session(_) => HashMap::new(),
        known => store.purchase_plan_bought(plan.id, &known.key()).await?,
    };
    let mut wanted: HashMap<i64, i64> = HashMap::new();
    for l in existing {
        *wanted.entry(l.product_id).or_default() += l.quantity;
    }
    for &(product_id, quantity) in accepted {
        *wanted.entry(product_id).or_default() += quantity;
    }
    for &(product_id, _) in accepted {
        if !cart_plan.pricing.covers(product_id) {
            continue;
        }
        let had = bought.get(&product_id).copied().unwrap_or(0);
        let limit = cart_plan.pricing.limit(product_id);
        if let Err(over) = check_limit(limit, had, wanted[&product_id]) {
            return Err(CheckoutError::Submit(SubmitFailure::OverPlanLimit {
                product_id,
                over,
            }));
        }
    }
    Ok(())
}

/// Sets custom attributes on a line of the cart (merged by name).
pub async fn set_line_attributes(
    store: &Store,
    p: &Principal,
    line_id: i64,
    given: &CustomAttributes,
) -> CheckoutResult<()> {
    match store
        .set_cart_line_attributes(cart_writer(p), line_id, given)
        .await?
    {
        Some(Ok(())) => Ok(()),
        Some(Err(TooManyAttributes)) => Err(CheckoutError::TooManyAttributes),
        None => Err(CheckoutError::NotFound(format!("line item {line_id}"))),
    }
}

/// Sets what the storefront gives of the cart's own fields.
pub async fn set_cart_fields(
    store: &Store,
    p: &Principal,
    given: &CartFields,
) -> CheckoutResult<()> {
    store
        .set_cart_fields(cart_writer(p), given)
        .await?
        .map_err(|TooManyAttributes| CheckoutError::TooManyAttributes)
}

/// Sets a line's quantity, checked against stock and its private store's limit.
pub async fn set_line_quantity(
    store: &Store,
    p: &Principal,
    line_id: i64,
    quantity: i64,
    now: UnixSeconds,
) -> CheckoutResult<()> {
    let not_found = || CheckoutError::NotFound(format!("line item {line_id}"));
    let lines = store.cart_lines(&p.session_id).await?;
    let line = lines
        .iter()
        .find(|l| l.id == line_id)
        .ok_or_else(not_found)?;
    line.check_quantity(quantity)?;
    let others: Vec<CartLine> = lines.iter().filter(|l| l.id != line_id).cloned().collect();
    check_plan_limits(store, p, &others, &[(line.product_id, quantity)], now).await?;
    if !store
        .set_cart_line_quantity(cart_writer(p), line_id, quantity)
        .await?
    {
        return Err(not_found());
    }
    Ok(())
}

/// Applies a coupon code (`promoCode`) to the cart; its use is counted at submit.
pub async fn apply_coupon(
    store: &Store,
    p: &Principal,
    raw: &str,
    now: UnixSeconds,
) -> CheckoutResult<CouponRecord> {
    let refused = |refusal| CheckoutError::Trigger {
        refusal,
        named: raw.to_owned(),
        by_code: true,
    };
    let code = CouponCode::parse(raw).ok_or_else(|| refused(TriggerRefusal::Unknown))?;
    store
        .apply_coupon(cart_writer(p), &p.site_id, &code, now)
        .await?
        .map_err(refused)
}

/// Triggers an offer for the cart by naming it (`offerId`, a promotional URL's offer).
pub async fn trigger_offer(
    store: &Store,
    p: &Principal,
    offer_id: OfferId,
    details: &TriggerDetails,
    now: UnixSeconds,
) -> CheckoutResult<OfferRecord> {
    store
        .trigger_offer(cart_writer(p), &p.site_id, offer_id, details, now)
        .await?
        .map_err(|refusal| CheckoutError::Trigger {
            refusal,
            named: offer_id.to_string(),
            by_code: false,
        })
}

/// Takes an offer out of the cart: one that prices it, or one it brought in by code or by
/// name. False when the cart has no such offer.
pub async fn remove_offer(
    store: &Store,
    p: &Principal,
    offer_id: OfferId,
    now: UnixSeconds,
) -> CheckoutResult<bool> {
    let read = read_cart(store, p, now).await?;
    let in_cart = read.priced().offers.applied().contains(&offer_id)
        || read
            .snapshot
            .triggers
            .iter()
            .any(|t| t.offer_id == offer_id);
    if in_cart {
        store.remove_cart_offer(cart_writer(p), offer_id).await?;
    }
    Ok(in_cart)
}

/// `DELETE eligible-offers`: no offer prices the cart until it brings one in again.
pub async fn reset_offers(store: &Store, p: &Principal) -> CheckoutResult<()> {
    Ok(store.reset_cart_offers(cart_writer(p)).await?)
}

/// Sets what the storefront says of the subscription a product's line buys.
pub async fn set_subscription_info(
    store: &Store,
    p: &Principal,
    product_id: i64,
    info: &shopkeeper_domain::subscriptions::SubscriptionInfo,
) -> CheckoutResult<()> {
    Ok(store
        .set_line_subscription_info(cart_writer(p), product_id, info)
        .await?)
}

/// Deletes a line; false when the cart has none of that id.
pub async fn delete_line(store: &Store, p: &Principal, line_id: i64) -> CheckoutResult<bool> {
    Ok(store.delete_cart_line(cart_writer(p), line_id).await?)
}

pub async fn delete_lines(store: &Store, p: &Principal) -> CheckoutResult<()> {
    Ok(store.delete_cart_lines(cart_writer(p)).await?)
}

/// Checks and sets the cart's billing (`billing`) or shipping address.
pub async fn apply_address(
    store: &Store,
    p: &Principal,
    billing: bool,
    input: AddressInput,
) -> CheckoutResult<PostalAddress> {
    let address = input.validate()?.address;
    apply_valid_address(store, p, billing, &address).await?;
    Ok(address)
}

/// The site's authorized countries and the session's locale, which picks their setting.
async fn country_policy(store: &Store, p: &Principal) -> CheckoutResult<(Policies, String)> {
    let (policies, session) = tokio::try_join!(
        store.authorized_countries(&p.site_id),
        store.session(&p.session_id),
    )?;
    let session = session.ok_or_else(|| CheckoutError::NotFound("session".into()))?;
    Ok((policies, session.locale))
}

fn check_country(
    policies: &Policies,
    locale: &str,
    kind: Kind,
    address: Option<&PostalAddress>,
) -> Result<(), (Kind, String)> {
    match address {
        Some(a) if !policies.allows(kind, &a.country, locale) => Err((kind, a.country.clone())),
        _ => Ok(()),
    }
}

/// Refuses a billing or shipping address in a country the site does not authorize for it in
/// the session's locale (checked again at submit: the setting may change in between).
pub async fn check_countries(
    store: &Store,
    p: &Principal,
    billing: Option<&PostalAddress>,
    shipping: Option<&PostalAddress>,
) -> CheckoutResult<()> {
    if billing.is_none() && shipping.is_none() {
        return Ok(());
    }
    let (policies, locale) = country_policy(store, p).await?;
    check_country(&policies, &locale, Kind::Billing, billing)
        .and_then(|()| check_country(&policies, &locale, Kind::Shipping, shipping))
        .map_err(|(kind, country)| CheckoutError::RestrictedCountry { kind, country })
}

/// [`check_countries`] for the account's addresses copied into the cart (`apply-shopper`, buy
/// now): the shipping one only when something in the cart ships, so a download is not refused
/// for a default shipping address nothing goes to (the submit asks again once something
/// ships).
async fn check_copied(
    store: &Store,
    p: &Principal,
    billing: Option<&PostalAddress>,
    shipping: Option<&PostalAddress>,
) -> CheckoutResult<()> {
    let shipping = match shipping {
        Some(a) if shipping_context(store, p).await?.1 => Some(a),
        _ => None,
    };
    check_countries(store, p, billing, shipping).await
}

/// Sets the cart's billing (`billing`) or shipping address, checked already (its country
/// against the site's authorized countries here).
pub async fn apply_valid_address(
    store: &Store,
    p: &Principal,
    billing: bool,
    address: &PostalAddress,
) -> CheckoutResult<()> {
    let (b, s) = if billing {
        (Some(address), None)
    } else {
        (None, Some(address))
    };
    check_countries(store, p, b, s).await?;
    Ok(store
        .set_cart_address(cart_writer(p), billing, address)
        .await?)
}

/// The cart's currency (its lines', else the session's) and whether anything in it ships.
pub async fn shipping_context(store: &Store, p: &Principal) -> CheckoutResult<(String, bool)> {
    let lines = store.cart_lines(&p.session_id).await?;
    let currency = match lines.first() {
        Some(l) => l.currency.clone(),
        None => store
            .session(&p.session_id)
            .await?
            .map(|s| s.currency)
            .unwrap_or_else(|| "USD".into()),
    };
    Ok((currency, lines.iter().any(|l| l.physical())))
}

pub async fn apply_shipping_option(store: &Store, p: &Principal, id: i64) -> CheckoutResult<()> {
    let (_, physical) = shipping_context(store, p).await?;
    if ShippingOption::find(id).is_none() || !physical {
        return Err(CheckoutError::InvalidShippingOption(id));
    }
    Ok(store.set_cart_shipping_option(cart_writer(p), id).await?)
}

/// The rules a source must pass to be applied: on the site, chargeable, and usable by the
/// caller. One answer for all three, so it tells nothing about sources not the caller's.
fn source_check(
    p: &Principal,
    source_id: &str,
) -> impl FnOnce(Option<&PaymentSourceRecord>) -> CheckoutResult<()> {
    move |source| match source {
        Some(s) if s.charge_source().usable_by(source_user(p)) => Ok(()),
        _ => Err(CheckoutError::InvalidSource(source_id.to_owned())),
    }
}

/// Applies a payment source to the cart (a signed-in shopper's reusable one is saved as a
/// payment option).
pub async fn apply_source(store: &Store, p: &Principal, source_id: &str) -> CheckoutResult<()> {
    store
        .apply_cart_source(
            cart_writer(p),
            &p.site_id,
            source_id,
            source_check(p, source_id),
        )
        .await?
}

/// Saves a source as the signed-in shopper's payment option (`POST
/// /v1/shoppers/me/payment-options`): the source must pass the rules applying it would
/// (on the site, chargeable, the caller's to use) and be reusable. True when it was already
/// one of theirs (an update of its nickname or default flag).
pub async fn save_payment_option(
    store: &Store,
    p: &Principal,
    source_id: &str,
    fields: PaymentOptionFields<'_>,
) -> CheckoutResult<bool> {
    let usable = source_check(p, source_id);
    let check = |source: Option<&PaymentSourceRecord>| {
        if source.is_some_and(|s| !s.reusable) {
            return Err(CheckoutError::SingleUseSource(source_id.to_owned()));
        }
        usable(source)
    };
    store
        .save_payment_option(cart_writer(p), &p.site_id, source_id, fields, check)
        .await?
}

/// What `apply-shopper` is asked to copy: the named addresses and payment option (query
/// parameters, unparsed), else the shopper's defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccountChoice<'a> {
    pub billing_address_id: Option<&'a str>,
    pub shipping_address_id: Option<&'a str>,
    pub payment_option_id: Option<&'a str>,
}

fn parse_id(raw: &str, param: &'static str) -> CheckoutResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(CheckoutError::NotAnId(param))
}

/// `apply-shopper` (full token): copies the shopper's default (or the named) addresses and
/// payment option into the cart.
pub async fn apply_shopper(
    store: &Store,
    p: &Principal,
    shopper: i64,
    choice: AccountChoice<'_>,
) -> CheckoutResult<()> {
    let failure = CheckoutError::ApplyShopper;
    let addresses = store.addresses(shopper).await?;
    let profile = store.profile(shopper).await?;
    let pick = |raw: Option<&str>,
                param: &'static str,
                is_default: fn(&AddressRecord) -> bool|
     -> CheckoutResult<Option<AddressRecord>> {
        match raw {
            Some(raw) => {
                let id = parse_id(raw, param)?;
                addresses
                    .iter()
                    .find(|a| a.id == id)
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| failure(format!("the shopper has no address {id}")))
            }
            // The default of the kind, else the shopper's one `isDefault` address.
            None => Ok(addresses
                .iter()
                .find(|a| is_default(a))
                .or_else(|| addresses.iter().find(|a| a.saved.is_default))
                .cloned()),
        }
    };
    let billing = pick(choice.billing_address_id, "billingAddressId", |a| {
        a.saved.is_default_billing
    })?;
    let shipping = pick(choice.shipping_address_id, "shippingAddressId", |a| {
        a.saved.is_default_shipping
    })?;
    let options = store.payment_options(shopper).await?;
    let option = match choice.payment_option_id {
        Some(id) => Some(
            options
                .iter()
                .find(|o| o.id == id)
                .cloned()
                .ok_or_else(|| failure(format!("the shopper has no payment option {id:?}")))?,
        ),
        // The option the shopper made their default, else the oldest.
        None => options
            .iter()
            .find(|o| o.is_default)
            .or(options.first())
            .cloned(),
    };
    if billing.is_none() && shipping.is_none() && option.is_none() {
        return Err(failure(
            "the shopper has no default billing or shipping address and no payment option".into(),
        ));
    }
    let email = profile.and_then(|pr| pr.email);
    let with_email = |a: Option<AddressRecord>| {
        a.map(|a| {
            let mut address = a.saved.address;
            if address.email_address.is_none() {
                address.email_address = email.clone();
            }
            address
        })
    };
    let (billing, shipping) = (with_email(billing), with_email(shipping));
    check_copied(store, p, billing.as_ref(), shipping.as_ref()).await?;
    let source_id = option.map(|o| o.id);
    let from = FromAccount {
        billing_address: billing.as_ref(),
        shipping_address: shipping.as_ref(),
        source_id: source_id.as_deref(),
    };
    let check = source_check(p, source_id.as_deref().unwrap_or_default());
    store
        .apply_account_to_cart(cart_writer(p), &p.site_id, from, check)
        .await?
}

/// A body-less `apply-billing-address` / `apply-shipping-address` (the docs' "apply the
/// customer's address to the cart"): a signed-in shopper's default address of the kind (else
/// their `isDefault` one) is copied into the cart, as `apply-shopper` would copy it. Without
/// one (a guest, or no default saved), the address already on the cart (set by `PUT
/// .../billing-address` or the cart body) is the one applied. False: there is none to apply.
pub async fn apply_account_address(
    store: &Store,
    p: &Principal,
    billing: bool,
    now: UnixSeconds,
) -> CheckoutResult<bool> {
    if let Some(shopper) = p.acting_shopper() {
        let addresses = store.addresses(shopper).await?;
        let of_kind = |a: &&AddressRecord| {
            if billing {
                a.saved.is_default_billing
            } else {
                a.saved.is_default_shipping
            }
        };
        let pick = addresses
            .iter()
            .find(of_kind)
            .or_else(|| addresses.iter().find(|a| a.saved.is_default));
        if let Some(a) = pick {
            let mut address = a.saved.address.clone();
            if address.email_address.is_none() {
                address.email_address = store.profile(shopper).await?.and_then(|pr| pr.email);
            }
            let from = FromAccount {
                billing_address: Some(&address).filter(|_| billing),
                shipping_address: Some(&address).filter(|_| !billing),
                source_id: None,
            };
            check_copied(store, p, from.billing_address, from.shipping_address).await?;
            let nothing_to_check = |_: Option<&PaymentSourceRecord>| Ok(());
            return store
                .apply_account_to_cart(cart_writer(p), &p.site_id, from, nothing_to_check)
                .await?
                .map(|()| true);
        }
    }
    let read = read_cart(store, p, now).await?;
    let priced = read.priced();
    Ok(if billing {
        priced.billing.is_some()
    } else {
        priced.shipping.is_some()
    })
}

/// `products/{id}/purchase` (full token), the docs' Transparent Commerce flow: the product, the
/// shopper's default addresses and payment option, submitted in one call. It runs in a cart of
/// its own (a session of the same shopper, site, locale, currency and private store, ended
/// after), so the shopper's active cart is neither bought nor changed. Every step is the cart's
/// own service, with its checks and refusals; nothing is ordered unless the submit commits.
pub async fn buy_now(
    store: &Store,
    p: &Principal,
    product_id: i64,
    quantity: i64,
    now: UnixSeconds,
    now_millis: u64,
) -> CheckoutResult<i64> {
    let shopper = p
        .acting_shopper()
        .ok_or_else(|| CheckoutError::NotFound("shopper".into()))?;
    // Without a saved payment option nothing could pay: say so, rather than the cart's
    // "apply a payment method", which the caller of this one call cannot do.
    if store.payment_options(shopper).await?.is_empty() {
        return Err(CheckoutError::ApplyShopper(
            "the shopper has no saved payment option to buy with".into(),
        ));
    }
    let session = store
        .session(&p.session_id)
        .await?
        .ok_or_else(|| CheckoutError::NotFound("session".into()))?;
    let own_cart = store
        .start_tokenless_session(
            NewSession {
                site_id: &p.site_id,
                api_key: Some(&p.api_key),
                shopper_id: Some(shopper),
                locale: &session.locale,
                currency: &session.currency,
                client_ip: session.client_ip.clone(),
                created_at_millis: now_millis,
            },
            now,
            session.expires_at,
            None,
        )
        .await?;
    let buyer = Principal {
        session_id: own_cart.clone(),
        ..p.clone()
    };
    let bought = async {
        if let Some(plan) = session.purchase_plan_id {
            store
                .authorize_session_plan(&own_cart, plan, session.purchase_plan_email.as_deref())
                .await?;
        }
        add_lines(
            store,
            &buyer,
            &[(product_id, quantity)],
            &HashMap::new(),
            now,
        )
        .await?;
        apply_shopper(store, &buyer, shopper, AccountChoice::default()).await?;
        submit(store, &buyer, now).await
    }
    .await;
    // The order (if any) is committed; a session left open would only expire with its parent.
    if let Err(e) = store.end_session(&own_cart, now).await {
        tracing::warn!(error = %e, "buy-now: its cart's session was not ended");
    }
    bought
}

/// Submits the cart: one store transaction in which `domain::checkout::order::decide_order`
/// decides. The new order's id.
pub async fn submit(store: &Store, p: &Principal, now: UnixSeconds) -> CheckoutResult<i64> {
    let session = store
        .session(&p.session_id)
        .await?
        .ok_or_else(|| CheckoutError::NotFound("session".into()))?;
    let profile_email = match p.acting_shopper() {
        Some(id) => store.profile(id).await?.and_then(|pr| pr.email),
        None => None,
    };
    let currency = session.currency;
    // Read now, asked again of the order's own addresses (the billing one may be the payment
    // source's owner's): a setting changed since the addresses were applied still holds.
    let policies = store.authorized_countries(&p.site_id).await?;
    let locale = session.locale;
    // The shipping address counts when something ships.
    let authorized = |order: NewOrder, ships: bool| {
        check_country(
            &policies,
            &locale,
            Kind::Billing,
            Some(&order.billing_address),
        )
        .and_then(|()| {
            check_country(
                &policies,
                &locale,
                Kind::Shipping,
                order.shipping_address.as_ref().filter(|_| ships),
            )
        })
        .map_err(|(kind, country)| Refusal::RestrictedCountry { kind, country })
        .map(|()| order)
    };
    store
        .submit_cart(
            &p.session_id,
            &p.site_id,
            p.acting_shopper(),
            |cart| {
                let ships = cart.lines.iter().any(CartLine::physical);
                decide_order(cart, &currency, profile_email).and_then(|o| authorized(o, ships))
            },
            now,
        )
        .await?
        .map_err(CheckoutError::Submit)
}

/// Sets the cart's customer type and tax identifiers (checked by the caller against the
/// country's schema, `domain::tax_registrations::check`).
pub async fn set_tax_registrations(
    store: &Store,
    p: &Principal,
    customer_type: shopkeeper_domain::tax_registrations::CustomerType,
    registrations: &[shopkeeper_domain::tax_registrations::Registration],
) -> CheckoutResult<()> {
    Ok(store
        .set_tax_registrations(cart_writer(p), customer_type, registrations)
        .await?)
}

/// Removes the cart's tax identifiers (its customer type is `I` again).
pub async fn clear_tax_registrations(store: &Store, p: &Principal) -> CheckoutResult<()> {
    Ok(store.clear_tax_registrations(cart_writer(p)).await?)
}
