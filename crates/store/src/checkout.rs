//! The cart (per shopper session), test-mode payment sources, tax rates and orders.
//! Submitting a cart is one transaction (`submit_cart`): the rules that decide the order are
//! passed in as a pure function, the store only reads the snapshot and writes the outcome.

use super::cart_write::{CartWriter, start_cart_write};
use super::column::{StoredFlag, checked, flag};
use super::{Store, StoreError, StoreResult};
use serde_json::Value;
use shopkeeper_domain::address::{BillingAndShipping, PostalAddress};
use shopkeeper_domain::catalog::parse_amount;
use shopkeeper_domain::catalog::{CustomAttributes, TooManyAttributes};
use shopkeeper_domain::checkout::CUSTOMER_CREDIT;
use shopkeeper_domain::checkout::cart::CartLine;
use shopkeeper_domain::checkout::order::{
    Cart, CartFields, CartPlan, ChargeSource, CreditSource, NewOrder,
};
use shopkeeper_domain::checkout::{OrderStatus, SourceState, TestOutcome};
use shopkeeper_domain::events::ORDER_SUBMITTED;
use shopkeeper_domain::purchase_plans::{OverLimit, Purchaser};
use shopkeeper_domain::secret::random_hex;
use shopkeeper_domain::time::UnixSeconds;
use shopkeeper_domain::{SecretHash, SessionId, SiteId};
use sqlx::AnyConnection;
use std::collections::HashMap;

/// A cart line's row (`domain::checkout::cart::CartLine`, as the store reads it).
#[derive(sqlx::FromRow)]
struct CartLineRow {
    pub id: i64,
    pub product_id: i64,
    pub quantity: i64,
    pub sku: String,
    pub name: String,
    pub display_name: String,
    pub short_description: String,
    pub long_description: String,
    pub keywords: String,
    pub product_type: String,
    pub base_product_id: Option<i64>,
    pub thumbnail_image: Option<String>,
    pub product_image: Option<String>,
    pub site_id: String,
    pub currency: String,
    pub list_price_minor: i64,
    pub sale_price_minor: i64,
    pub available_quantity: Option<i64>,
    pub manufacturer_name: Option<String>,
    #[sqlx(try_from = "String")]
    pub custom_attributes: CustomAttributes,
    #[sqlx(try_from = "String")]
    pub line_attributes: CustomAttributes,
    #[sqlx(try_from = "Option<String>")]
    pub subscription_plan: super::catalog::StoredPlan,
    pub subscription_info: Option<String>,
}

impl From<CartLineRow> for CartLine {
    fn from(r: CartLineRow) -> Self {
        CartLine {
            id: r.id,
            product_id: r.product_id,
            quantity: r.quantity,
            sku: r.sku,
            name: r.name,
            display_name: r.display_name,
            short_description: r.short_description,
            long_description: r.long_description,
            keywords: r.keywords,
            product_type: r.product_type,
            base_product_id: r.base_product_id,
            thumbnail_image: r.thumbnail_image,
            product_image: r.product_image,
            site_id: r.site_id,
            currency: r.currency,
            list_price_minor: r.list_price_minor,
            sale_price_minor: r.sale_price_minor,
            available_quantity: r.available_quantity,
            manufacturer_name: r.manufacturer_name,
            custom_attributes: r.custom_attributes,
            line_attributes: r.line_attributes,
            subscription: r.subscription_plan.0,
            subscription_info: r
                .subscription_info
                .and_then(|info| serde_json::from_str(&info).ok()),
        }
    }
}

/// The cart's own fields (`None` until the session first touches them).
#[derive(Debug, Clone, Default, sqlx::FromRow)]
struct CartRecord {
    #[sqlx(flatten, try_from = "AddressColumns")]
    addresses: BillingAndShipping,
    shipping_option_id: Option<i64>,
    payment_source_id: Option<String>,
    credit_source_id: Option<String>,
    last_order_id: Option<i64>,
    /// Set when a limited token's write dropped a shopper's source (until one is applied).
    #[sqlx(try_from = "StoredFlag")]
    source_dropped: bool,
    #[sqlx(try_from = "String")]
    custom_attributes: CustomAttributes,
    terms_of_sales_acceptance: Option<i64>,
    charge_type: Option<String>,
    organization_id: Option<String>,
    customer_type: Option<String>,
    /// JSON of the tax identifiers (`[]`: none).
    tax_registrations: String,
    /// `DELETE eligible-offers`: no always-triggered offer until the cart is submitted.
    #[sqlx(try_from = "StoredFlag")]
    offers_reset: bool,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentSourceRecord {
    pub id: String,
    #[sqlx(try_from = "String")]
    pub site_id: SiteId,
    pub source_type: String,
    #[sqlx(try_from = "String")]
    pub state: SourceState,
    #[sqlx(try_from = "StoredFlag")]
    pub reusable: bool,
    /// JSON of the owner object as given.
    pub owner: String,
    pub brand: String,
    pub last_four: String,
    pub expiration_month: i64,
    pub expiration_year: i64,
    pub currency: Option<String>,
    pub amount: Option<String>,
    pub test_outcome: String,
    /// The shopper whose payment option it is (a reusable source a full token applied).
    pub shopper_id: Option<i64>,
    pub created_at: i64,
    /// The session that first applied it.
    pub claimed_session_id: Option<String>,
    /// The shopper whose full token applied it.
    pub claimed_shopper_id: Option<i64>,
    /// The shopper's name for it as a payment option, when they gave one.
    pub nickname: Option<String>,
    /// The shopper's default payment option (at most one per shopper).
    #[sqlx(try_from = "StoredFlag")]
    pub is_default: bool,
    /// The merchant's own id of a store credit (`upstreamId`).
    pub upstream_id: Option<String>,
    /// The payment session a store credit was created for (`paymentSessionId`), as given.
    pub payment_session_id: Option<String>,
}

impl PaymentSourceRecord {
    /// The source as charging it sees it (`ChargeSource::usable_by` decides who may use it).
    pub fn charge_source(&self) -> ChargeSource {
        ChargeSource {
            id: self.id.clone(),
            chargeable: self.state == SourceState::Chargeable,
            // Every source with a `shopper_id` (a payment option) has this too.
            owner_shopper: self.claimed_shopper_id,
            owner_session: self.claimed_session_id.clone(),
            owner: self.owner.clone(),
            test_outcome: TestOutcome::parse(&self.test_outcome),
            brand: self.brand.clone(),
            last_four: self.last_four.clone(),
            single_use: !self.reusable,
        }
    }

    /// Whether this is store credit (the docs' secondary `customerCredit` source).
    pub fn is_credit(&self) -> bool {
        self.source_type == CUSTOMER_CREDIT
    }

    /// Store credit as pricing and a submit see it (`None` for a card, or an amount that no
    /// longer reads in its currency).
    pub fn credit_source(&self) -> Option<CreditSource> {
        let currency = self.currency.clone().filter(|_| self.is_credit())?;
        let amount = parse_amount(&Value::String(self.amount.clone()?), &currency).ok()?;
        Some(CreditSource {
            source: self.charge_source(),
            currency,
            amount_minor: amount,
        })
    }
}

/// The addresses and source `apply-shopper` copies from the shopper's account (a payment
/// option's id).
#[derive(Debug, Clone, Copy, Default)]
pub struct FromAccount<'a> {
    pub billing_address: Option<&'a PostalAddress>,
    pub shipping_address: Option<&'a PostalAddress>,
    pub source_id: Option<&'a str>,
}

/// What a shopper says about a payment option they save; `None` leaves it as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct PaymentOptionFields<'a> {
    pub nickname: Option<&'a str>,
    pub is_default: Option<bool>,
}

pub struct NewPaymentSource<'a> {
    pub site_id: &'a SiteId,
    pub source_type: &'a str,
    pub reusable: bool,
    pub owner: &'a str,
    pub brand: &'a str,
    pub last_four: &'a str,
    pub expiration_month: i64,
    pub expiration_year: i64,
    pub currency: Option<&'a str>,
    pub amount: Option<&'a str>,
    pub test_outcome: &'a str,
    pub upstream_id: Option<&'a str>,
    pub payment_session_id: Option<&'a str>,
}

/// A cart as its rules see it, with the applied source's record (which its rendering shows),
/// read at one moment.
#[derive(Debug, Clone)]
pub struct CartSnapshot {
    pub cart: Cart,
    pub source: Option<PaymentSourceRecord>,
    /// The store credit applied beside (or instead of) the source.
    pub credit: Option<PaymentSourceRecord>,
    /// The offers the cart brought in by code or by name.
    pub triggers: Vec<super::offers::CartTrigger>,
}

/// Why a submit wrote nothing (besides the rules' own refusals).
#[derive(Debug)]
pub enum SubmitFailure<E> {
    Refused(E),
    /// A tracked product has fewer units left than the line asks for.
    OutOfStock {
        product_id: i64,
    },
    /// A single-use payment source was used by another submit meanwhile.
    SourceSpent,
    /// An offer the cart was priced with has no use left (in all, or for this shopper).
    OfferUsedUp {
        offer_id: i64,
        limit: shopkeeper_domain::offers::LimitReached,
    },
    /// A coupon code the cart applied can no longer be used (it ran out, ended or was
    /// switched off since): the order would not get the price the shopper was shown.
    CodeLapsed {
        code: String,
        refusal: shopkeeper_domain::offers::TriggerRefusal,
    },
    /// A concurrent order of the same purchaser took the plan's limit of a product first.
    OverPlanLimit {
        product_id: i64,
        over: OverLimit,
    },
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderRecord {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub site_id: SiteId,
    #[sqlx(try_from = "String")]
    pub session_id: SessionId,
    pub shopper_id: Option<i64>,
    pub email: Option<String>,
    pub currency: String,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub shipping_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    #[sqlx(flatten, try_from = "AddressColumns")]
    pub addresses: BillingAndShipping,
    pub payment_source_id: String,
    pub card_brand: String,
    pub card_last_four: String,
    #[sqlx(try_from = "String")]
    pub status: OrderStatus,
    pub submitted_at: i64,
    /// The store credit the order used (the primary source itself when it paid alone).
    pub credit_source_id: Option<String>,
    /// What the store credit paid; the primary source paid the rest of the total.
    pub credit_minor: i64,
    /// The locale of the session that placed it.
    pub locale: Option<String>,
    /// The rate its lines were taxed at, in basis points (`None`: placed before it was kept).
    pub tax_rate_bp: Option<i64>,
    /// The shipping option chosen (`None`: nothing shipped, or placed before it was kept).
    pub shipping_option_id: Option<i64>,
    /// The cart's custom attributes and charge type when it was submitted.
    #[sqlx(try_from = "String")]
    pub custom_attributes: CustomAttributes,
    pub charge_type: String,
    /// What the order offer took off the goods (item offers are on the lines).
    pub order_offer_discount_minor: i64,
    /// The cart's customer type (`None`: `I`) and tax identifiers (JSON) at submit.
    pub customer_type: Option<String>,
    pub tax_registrations: String,
}

impl OrderRecord {
    /// Store credit paid the whole order: it is the primary source itself.
    pub fn paid_by_credit_alone(&self) -> bool {
        self.credit_source_id.as_ref() == Some(&self.payment_source_id)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderLineRecord {
    pub id: i64,
    pub order_id: i64,
    pub product_id: i64,
    pub sku: String,
    pub display_name: String,
    pub quantity: i64,
    pub list_price_minor: i64,
    pub unit_price_minor: i64,
    /// From the catalog (products are never deleted): `DIGITAL` or `PHYSICAL`.
    pub product_type: String,
    pub base_product_id: Option<i64>,
    pub name: String,
    pub short_description: String,
    pub long_description: String,
    pub keywords: String,
    pub thumbnail_image: Option<String>,
    pub product_image: Option<String>,
    /// The site the product belongs to.
    pub site_id: String,
    /// The product's stock now (`None`: not tracked).
    pub available_quantity: Option<i64>,
    pub manufacturer_name: Option<String>,
    #[sqlx(try_from = "String")]
    pub custom_attributes: CustomAttributes,
    /// The cart line's own custom attributes.
    #[sqlx(try_from = "String")]
    pub line_attributes: CustomAttributes,
    /// The item offer that won the line, and what it took off the line's total.
    pub offer_id: Option<i64>,
    pub offer_discount_minor: i64,
}

/// The two address columns of a cart or an order: `PostalAddress` JSON. One that does not
/// parse reads as none, as it renders.
#[derive(sqlx::FromRow)]
struct AddressColumns {
    billing_address: Option<String>,
    shipping_address: Option<String>,
}

impl From<AddressColumns> for BillingAndShipping {
    fn from(c: AddressColumns) -> Self {
        let parse = |raw: Option<String>| raw.and_then(|s| serde_json::from_str(&s).ok());
        BillingAndShipping {
            billing: parse(c.billing_address),
            shipping: parse(c.shipping_address),
        }
    }
}

/// How a cart or an order column keeps an address.
fn address_json(a: &PostalAddress) -> String {
    serde_json::to_string(a).unwrap_or_default()
}

macro_rules! select_cart_lines {
    ($tail:literal) => {
        concat!(
            "SELECT l.id, l.product_id, l.quantity, p.sku, p.name, p.display_name, \
             p.short_description, p.long_description, p.keywords, p.product_type, \
             p.base_product_id, p.thumbnail_image, p.product_image, p.site_id, p.currency, \
             p.list_price_minor, p.sale_price_minor, p.available_quantity, \
             p.manufacturer_name, p.custom_attributes, l.custom_attributes AS line_attributes, \
             p.subscription_plan, l.subscription_info \
             FROM cart_line_items l JOIN products p ON p.id = l.product_id ",
            $tail
        )
    };
}

macro_rules! select_sources {
    ($tail:literal) => {
        concat!(
            "SELECT id, site_id, source_type, state, reusable, owner, brand, last_four, \
             expiration_month, expiration_year, currency, amount, test_outcome, shopper_id, \
             created_at, claimed_session_id, claimed_shopper_id, nickname, is_default, \
             upstream_id, payment_session_id FROM payment_sources ",
            $tail
        )
    };
}

macro_rules! select_orders {
    ($tail:literal) => {
        concat!(
            "SELECT id, site_id, session_id, shopper_id, email, currency, subtotal_minor, \
             discount_minor, shipping_minor, tax_minor, total_minor, billing_address, \
             shipping_address, payment_source_id, card_brand, card_last_four, status, \
             submitted_at, credit_source_id, credit_minor, locale, tax_rate_bp, \
             shipping_option_id, custom_attributes, charge_type, order_offer_discount_minor, \
             customer_type, tax_registrations FROM orders ",
            $tail
        )
    };
}

const CART_COLUMNS_SQL: &str = "SELECT billing_address, shipping_address, shipping_option_id, \
     payment_source_id, credit_source_id, last_order_id, source_dropped, custom_attributes, \
     terms_of_sales_acceptance, charge_type, organization_id, offers_reset, customer_type, \
     tax_registrations FROM carts WHERE session_id = $1";

impl Store {
    // --- payments key and tax ------------------------------------------------------------

    /// The site whose payments public key this is.
    pub async fn site_of_payments_key(&self, key: &str) -> StoreResult<Option<SiteId>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT id FROM sites WHERE payments_public_key = $1")
                .bind(key)
                .fetch_optional(&self.read)
                .await?;
        row.map(|(id,)| checked(id)).transpose()
    }

    /// The site of the confidential key whose secret hashes to `secret` (a merchant's backend
    /// creating store credit sends the secret as its bearer, as the docs' confidential key).
    pub async fn site_of_confidential_secret(
        &self,
        secret: &SecretHash,
    ) -> StoreResult<Option<SiteId>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT site_id FROM api_clients WHERE secret_hash = $1 AND kind = 'confidential' \
             AND disabled = 0",
        )
        .bind(secret.as_bytes().to_vec())
        .fetch_optional(&self.read)
        .await?;
        row.map(|(id,)| checked(id)).transpose()
    }

    pub async fn set_tax_rate(
        &self,
        site_id: &SiteId,
        country: &str,
        rate_bp: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO tax_rates (site_id, country, rate_bp) VALUES ($1, $2, $3) \
             ON CONFLICT (site_id, country) DO UPDATE SET rate_bp = excluded.rate_bp",
        )
        .bind(site_id.as_str())
        .bind(country)
        .bind(rate_bp)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    pub async fn tax_rates(&self, site_id: &SiteId) -> StoreResult<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT country, rate_bp FROM tax_rates WHERE site_id = $1 ORDER BY country",
        )
        .bind(site_id.as_str())
        .fetch_all(&self.read)
        .await?)
    }

    // --- payment sources -----------------------------------------------------------------

    pub async fn create_payment_source(
        &self,
        new: &NewPaymentSource<'_>,
        now: UnixSeconds,
    ) -> StoreResult<PaymentSourceRecord> {
        let id = format!("src_{}", random_hex(16));
        // One turn for the write and the read of the row it wrote.
        let mut writer = self.writer().await?;
        sqlx::query(
            "INSERT INTO payment_sources (id, site_id, source_type, state, reusable, owner, \
             brand, last_four, expiration_month, expiration_year, currency, amount, \
             test_outcome, created_at, upstream_id, payment_session_id) VALUES ($1, $2, $3, \
             'chargeable', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(&id)
        .bind(new.site_id.as_str())
        .bind(new.source_type)
        .bind(flag(new.reusable))
        .bind(new.owner)
        .bind(new.brand)
        .bind(new.last_four)
        .bind(new.expiration_month)
        .bind(new.expiration_year)
        .bind(new.currency)
        .bind(new.amount)
        .bind(new.test_outcome)
        .bind(now)
        .bind(new.upstream_id)
        .bind(new.payment_session_id)
        .execute(&mut *writer)
        .await?;
        sqlx::query_as(select_sources!("WHERE id = $1"))
            .bind(&id)
            .fetch_one(&mut *writer)
            .await
            .map_err(Into::into)
    }

    pub async fn payment_source(
        &self,
        site_id: &SiteId,
        id: &str,
    ) -> StoreResult<Option<PaymentSourceRecord>> {
        Ok(
            sqlx::query_as(select_sources!("WHERE id = $1 AND site_id = $2"))
                .bind(id)
                .bind(site_id.as_str())
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// Saves a source as one of the shopper's payment options (`POST
    /// /v1/shoppers/me/payment-options`) in one transaction: claims it for the writer's session
    /// if nobody had (as applying it does), lets `check` decide on what was read, then makes it
    /// the shopper's with its nickname (when given) and default flag (when given; a default
    /// clears the flag on the shopper's other options). True when it was already theirs.
    pub async fn save_payment_option<E>(
        &self,
        w: CartWriter<'_>,
        site_id: &SiteId,
        source_id: &str,
        option: PaymentOptionFields<'_>,
        check: impl FnOnce(Option<&PaymentSourceRecord>) -> Result<(), E>,
    ) -> StoreResult<Result<bool, E>> {
        let Some(shopper) = w.full_token_shopper else {
            return Err(StoreError::NotFound("the signed-in shopper".into()));
        };
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let source =
            claim_and_read_source(&mut tx, w.session_id.as_str(), site_id, source_id).await?;
        if let Err(e) = check(source.as_ref()) {
            tx.rollback().await?;
            return Ok(Err(e));
        }
        let already = source.is_some_and(|s| s.shopper_id == Some(shopper));
        sqlx::query(
            "UPDATE payment_sources SET claimed_shopper_id = $1, shopper_id = $1, \
             nickname = COALESCE($2, nickname), is_default = COALESCE($3, is_default) \
             WHERE id = $4",
        )
        .bind(shopper)
        .bind(option.nickname)
        .bind(option.is_default.map(flag))
        .bind(source_id)
        .execute(&mut *tx)
        .await?;
        if option.is_default == Some(true) {
            sqlx::query(
                "UPDATE payment_sources SET is_default = 0 WHERE shopper_id = $1 AND id <> $2",
            )
            .bind(shopper)
            .bind(source_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Ok(already))
    }

    /// Takes a source off the shopper's payment options (`DELETE
    /// /v1/shoppers/me/payment-options/{id}`): no longer theirs as a saved option, without its
    /// nickname or default flag. Who may charge it (its claims) is unchanged, so a cart it is
    /// applied to keeps it. False when it was not one of the shopper's options.
    pub async fn delete_payment_option(&self, shopper_id: i64, id: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE payment_sources SET shopper_id = NULL, nickname = NULL, is_default = 0 \
             WHERE id = $1 AND shopper_id = $2 AND state = 'chargeable'",
        )
        .bind(id)
        .bind(shopper_id)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn payment_options(&self, shopper_id: i64) -> StoreResult<Vec<PaymentSourceRecord>> {
        Ok(sqlx::query_as(select_sources!(
            "WHERE shopper_id = $1 AND state = 'chargeable' ORDER BY created_at, id"
        ))
        .bind(shopper_id)
        .fetch_all(&self.read)
        .await?)
    }

    // --- the cart --------------------------------------------------------------------------

    pub async fn cart_lines(&self, session_id: &SessionId) -> StoreResult<Vec<CartLine>> {
        read_cart_lines(&mut *self.read.acquire().await?, session_id).await
    }

    /// The session's cart with its lines, their volume tiers, the applied source and the
    /// site's tax rates, read in one transaction on one connection.
    pub async fn cart_snapshot(
        &self,
        session_id: &SessionId,
        site_id: &SiteId,
        shopper_id: Option<i64>,
        now: UnixSeconds,
    ) -> StoreResult<CartSnapshot> {
        let mut tx = self.read.begin().await?;
        let snapshot = read_snapshot(&mut tx, session_id, site_id, shopper_id, now).await?;
        tx.commit().await?;
        Ok(snapshot)
    }

    /// Adds `(product id, quantity)` lines to the session's cart (to a product's line if there
    /// is one), and sets the custom attributes given for a product on its line, in one
    /// transaction (nothing written when a line would have too many).
    pub async fn add_cart_lines(
        &self,
        w: CartWriter<'_>,
        lines: &[(i64, i64)],
        attributes: &HashMap<i64, CustomAttributes>,
        now: UnixSeconds,
    ) -> StoreResult<Result<(), TooManyAttributes>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        start_cart_write(&mut tx, w).await?;
        for &(product_id, quantity) in lines {
            let (line_id,): (i64,) = sqlx::query_as(
                "INSERT INTO cart_line_items (session_id, product_id, quantity, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (session_id, product_id) \
                 DO UPDATE SET quantity = cart_line_items.quantity + excluded.quantity \
                 RETURNING id",
            )
            .bind(w.session_id.as_str())
            .bind(product_id)
            .bind(quantity)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            if let Some(given) = attributes.get(&product_id)
                && let Some(Err(e)) =
                    merge_line_attributes(&mut tx, w.session_id, line_id, given).await?
            {
                tx.rollback().await?;
                return Ok(Err(e));
            }
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Sets what the storefront says of the subscription a product's line buys
    /// (`subscriptionInfo`).
    pub async fn set_line_subscription_info(
        &self,
        w: CartWriter<'_>,
        product_id: i64,
        info: &shopkeeper_domain::subscriptions::SubscriptionInfo,
    ) -> StoreResult<()> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        start_cart_write(&mut tx, w).await?;
        sqlx::query(
            "UPDATE cart_line_items SET subscription_info = $1 \
             WHERE session_id = $2 AND product_id = $3",
        )
        .bind(serde_json::to_string(info).expect("subscription info serialises"))
        .bind(w.session_id.as_str())
        .bind(product_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets custom attributes on a line; `None` (and nothing written) if the session has no
    /// such line, `Some(Err)` (nothing written) if it would have too many.
    pub async fn set_cart_line_attributes(
        &self,
        w: CartWriter<'_>,
        line_id: i64,
        given: &CustomAttributes,
    ) -> StoreResult<Option<Result<(), TooManyAttributes>>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        start_cart_write(&mut tx, w).await?;
        let outcome = merge_line_attributes(&mut tx, w.session_id, line_id, given).await?;
        if matches!(outcome, Some(Ok(()))) {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(outcome)
    }

    /// Sets what the storefront gives of the cart's own fields (custom attributes are merged
    /// by name; a field not given is kept).
    pub async fn set_cart_fields(
        &self,
        w: CartWriter<'_>,
        given: &CartFields,
    ) -> StoreResult<Result<(), TooManyAttributes>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        start_cart_write(&mut tx, w).await?;
        let (stored,): (String,) =
            sqlx::query_as("SELECT custom_attributes FROM carts WHERE session_id = $1")
                .bind(w.session_id.as_str())
                .fetch_one(&mut *tx)
                .await?;
        let merged = match CustomAttributes::try_from(stored)
            .unwrap_or_default()
            .merged(&given.custom_attributes)
        {
            Ok(merged) => merged,
            Err(e) => {
                tx.rollback().await?;
                return Ok(Err(e));
            }
        };
        sqlx::query(
            "UPDATE carts SET custom_attributes = $1, \
             terms_of_sales_acceptance = COALESCE($2, terms_of_sales_acceptance), \
             charge_type = COALESCE($3, charge_type), \
             organization_id = COALESCE($4, organization_id) WHERE session_id = $5",
        )
        .bind(merged.to_json())
        .bind(given.terms_of_sales_acceptance.map(i64::from))
        .bind(&given.charge_type)
        .bind(&given.organization_id)
        .bind(w.session_id.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Sets a line's quantity; false (and nothing written) if the session has no such line.
    pub async fn set_cart_line_quantity(
        &self,
        w: CartWriter<'_>,
        line_id: i64,
        quantity: i64,
    ) -> StoreResult<bool> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        start_cart_write(&mut tx, w).await?;
        let done = sqlx::query(
            "UPDATE cart_line_items SET quantity = $1 WHERE id = $2 AND session_id = $3",
        )
        .bind(quantity)
        .bind(line_id)
        .bind(w.session_id.as_str())
        .execute(&mut *tx)
        .await?;
        finish_if(tx, done.rows_affected() > 0).await
    }

    /// Deletes a line; false (and nothing written) if the session has no such line.
    pub async fn delete_cart_line(&self, w: CartWriter<'_>, line_id: i64) -> StoreResult<bool> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        start_cart_write(&mut tx, w).await?;
        let done = sqlx::query("DELETE FROM cart_line_items WHERE id = $1 AND session_id = $2")
            .bind(line_id)
            .bind(w.session_id.as_str())
            .execute(&mut *tx)
            .await?;
        finish_if(tx, done.rows_affected() > 0).await
    }

    pub async fn delete_cart_lines(&self, w: CartWriter<'_>) -> StoreResult<()> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        start_cart_write(&mut tx, w).await?;
        sqlx::query("DELETE FROM cart_line_items WHERE session_id = $1")
            .bind(w.session_id.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the cart's billing (`billing = true`) or shipping address, as entered (not from
    /// the shopper's account).
    pub async fn set_cart_address(
        &self,
        w: CartWriter<'_>,
        billing: bool,
        address: &PostalAddress,
    ) -> StoreResult<()> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        start_cart_write(&mut tx, w).await?;
        write_cart_address(&mut tx, w.session_id, billing, address, false).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_cart_shipping_option(&self, w: CartWriter<'_>, id: i64) -> StoreResult<()> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        start_cart_write(&mut tx, w).await?;
        sqlx::query("UPDATE carts SET shipping_option_id = $1 WHERE session_id = $2")
            .bind(id)
            .bind(w.session_id.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applies a source to the session's cart if `check` (the rules: chargeable, usable by the
    /// writer) accepts what the store read (`None`: no such source on the site), binding it
    /// as it does so: to the session if nobody had applied it, to the shopper of a full token
    /// (a reusable one also becomes the shopper's payment option). A refusal writes nothing.
    pub async fn apply_cart_source<E>(
        &self,
        w: CartWriter<'_>,
        site_id: &SiteId,
        source_id: &str,
        check: impl FnOnce(Option<&PaymentSourceRecord>) -> Result<(), E>,
    ) -> StoreResult<Result<(), E>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        start_cart_write(&mut tx, w).await?;
        if let Err(e) = write_cart_source(&mut tx, w, site_id, source_id, check).await? {
            tx.rollback().await?;
            return Ok(Err(e));
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// `apply-shopper`: copies the account's addresses (marked as from the account, so a
    /// limited write drops them) and payment option into the cart, in one transaction.
    pub async fn apply_account_to_cart<E>(
        &self,
        w: CartWriter<'_>,
        site_id: &SiteId,
        from: FromAccount<'_>,
        check: impl FnOnce(Option<&PaymentSourceRecord>) -> Result<(), E>,
    ) -> StoreResult<Result<(), E>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        start_cart_write(&mut tx, w).await?;
        for (billing, address) in [(true, from.billing_address), (false, from.shipping_address)] {
            if let Some(address) = address {
                write_cart_address(&mut tx, w.session_id, billing, address, true).await?;
            }
        }
        if let Some(source_id) = from.source_id {
            if let Err(e) = write_cart_source(&mut tx, w, site_id, source_id, check).await? {
                tx.rollback().await?;
                return Ok(Err(e));
            }
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Submits the session's cart in one transaction: locks the cart, reads the snapshot,
    /// lets `decide` (pure rules) turn it into an order or refuse, then charges (consumes a
    /// single-use source), decrements stock with conditional updates, writes the order and
    /// its lines, empties the cart and gives the session a new cart id. Any failure rolls
    /// everything back.
    pub async fn submit_cart<E>(
        &self,
        session_id: &SessionId,
        site_id: &SiteId,
        shopper_id: Option<i64>,
        decide: impl FnOnce(&Cart) -> Result<NewOrder, E>,
        now: UnixSeconds,
    ) -> StoreResult<Result<i64, SubmitFailure<E>>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        // The lock: on PostgreSQL this row lock makes a second submit of the same cart wait,
        // then see the emptied cart.
        sqlx::query(
            "INSERT INTO carts (session_id) VALUES ($1) ON CONFLICT (session_id) \
             DO UPDATE SET version = carts.version + 1",
        )
        .bind(session_id.as_str())
        .execute(&mut *tx)
        .await?;
        let snapshot = read_snapshot(&mut tx, session_id, site_id, shopper_id, now).await?;
        let order = match decide(&snapshot.cart) {
            Ok(order) => order,
            Err(e) => {
                tx.rollback().await?;
                return Ok(Err(SubmitFailure::Refused(e)));
            }
        };
        if let Some((code, refusal)) =
            super::offers::lapsed_code(&mut tx, site_id, &snapshot.triggers, shopper_id, now)
                .await?
        {
            tx.rollback().await?;
            return Ok(Err(SubmitFailure::CodeLapsed { code, refusal }));
        }
        if order.consume_source {
            let done = sqlx::query(
                "UPDATE payment_sources SET state = 'consumed' \
                 WHERE id = $1 AND state = 'chargeable'",
            )
            .bind(&order.payment_source_id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                tx.rollback().await?;
                return Ok(Err(SubmitFailure::SourceSpent));
            }
        }
        // Store credit is single-use: its one charge spends it (conditional, like the card).
        if let Some(credit) = order
            .credit_source_id
            .as_ref()
            .filter(|id| !(order.consume_source && **id == order.payment_source_id))
        {
            let done = sqlx::query(
                "UPDATE payment_sources SET state = 'consumed' \
                 WHERE id = $1 AND state = 'chargeable'",
            )
            .bind(credit)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                tx.rollback().await?;
                return Ok(Err(SubmitFailure::SourceSpent));
            }
        }
        for line in order.lines.iter().filter(|l| l.tracked) {
            // Conditional: of concurrent submits for the last unit exactly one matches.
            let done = sqlx::query(
                "UPDATE products SET available_quantity = available_quantity - $1 \
                 WHERE id = $2 AND available_quantity >= $1",
            )
            .bind(line.quantity)
            .bind(line.product_id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                tx.rollback().await?;
                return Ok(Err(SubmitFailure::OutOfStock {
                    product_id: line.product_id,
                }));
            }
        }
        if let Some(plan) = &order.purchase_plan
            && let Err((product_id, maximum, had)) = super::purchase_plans::count_purchases(
                &mut tx,
                plan.plan_id,
                &plan.purchaser.key(),
                &plan.units,
            )
            .await?
        {
            tx.rollback().await?;
            let over = OverLimit {
                maximum,
                remaining: (maximum - had).max(0),
            };
            return Ok(Err(SubmitFailure::OverPlanLimit { product_id, over }));
        }
        let (order_id,): (i64,) = sqlx::query_as(
            "INSERT INTO orders (site_id, session_id, shopper_id, email, currency, \
             subtotal_minor, discount_minor, shipping_minor, tax_minor, total_minor, \
             billing_address, shipping_address, payment_source_id, card_brand, card_last_four, \
             status, submitted_at, credit_source_id, credit_minor, tax_rate_bp, \
             shipping_option_id, custom_attributes, charge_type, order_offer_discount_minor, \
             purchase_plan_id, locale, customer_type, tax_registrations) VALUES ($1, $2, $3, $4, \
             $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'Submitted', $16, $17, $18, $19, \
             $20, $21, $22, $23, $24, (SELECT locale FROM shopper_sessions WHERE id = $2), $25, \
             $26) RETURNING id",
        )
        .bind(site_id.as_str())
        .bind(session_id.as_str())
        .bind(shopper_id)
        .bind(&order.email)
        .bind(&order.currency)
        .bind(order.subtotal_minor)
        .bind(order.discount_minor)
        .bind(order.shipping_minor)
        .bind(order.tax_minor)
        .bind(order.total_minor)
        .bind(address_json(&order.billing_address))
        .bind(order.shipping_address.as_ref().map(address_json))
        .bind(&order.payment_source_id)
        .bind(&order.card_brand)
        .bind(&order.card_last_four)
        .bind(now)
        .bind(&order.credit_source_id)
        .bind(order.credit_minor)
        .bind(order.tax_rate_bp)
        .bind(order.shipping_option_id)
        .bind(order.custom_attributes.to_json())
        .bind(&order.charge_type)
        .bind(order.order_offer.map_or(0, |a| a.discount_minor))
        .bind(order.purchase_plan.as_ref().map(|p| p.plan_id))
        .bind(&order.customer_type)
        .bind(serde_json::to_string(&order.tax_registrations).unwrap_or_else(|_| "[]".into()))
        .fetch_one(&mut *tx)
        .await?;
        for line in &order.lines {
            sqlx::query(
                "INSERT INTO order_line_items (order_id, product_id, sku, display_name, \
                 quantity, list_price_minor, unit_price_minor, custom_attributes, offer_id, \
                 offer_discount_minor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(order_id)
            .bind(line.product_id)
            .bind(&line.sku)
            .bind(&line.display_name)
            .bind(line.quantity)
            .bind(line.list_price_minor)
            .bind(line.unit_price_minor)
            .bind(line.custom_attributes.to_json())
            .bind(line.offer.map(|a| a.offer_id))
            .bind(line.offer.map_or(0, |a| a.discount_minor))
            .execute(&mut *tx)
            .await?;
        }
        // The subscriptions the order buys (the rules refused a subscription without a
        // signed-in shopper).
        if let Some(shopper) = shopper_id {
            for line in &order.lines {
                if let Some(plan) = &line.subscription {
                    super::subscriptions::create_on(
                        &mut tx, site_id, shopper, order_id, &order, line, plan, now,
                    )
                    .await?;
                }
            }
        }
        sqlx::query("DELETE FROM cart_line_items WHERE session_id = $1")
            .bind(session_id.as_str())
            .execute(&mut *tx)
            .await?;
        super::offers::clear_cart_offers(&mut tx, session_id).await?;
        sqlx::query(
            "UPDATE carts SET billing_address = NULL, shipping_address = NULL, \
             billing_from_account = 0, shipping_from_account = 0, shipping_option_id = NULL, \
             payment_source_id = NULL, credit_source_id = NULL, source_dropped = 0, \
             custom_attributes = '[]', terms_of_sales_acceptance = NULL, charge_type = NULL, \
             organization_id = NULL, customer_type = NULL, tax_registrations = '[]', \
             last_order_id = $1 WHERE session_id = $2",
        )
        .bind(order_id)
        .bind(session_id.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE shopper_sessions SET cart_id = $1 WHERE id = $2")
            .bind(random_hex(8))
            .bind(session_id.as_str())
            .execute(&mut *tx)
            .await?;
        if let Err(failure) = redeem_offers(
            &mut tx, site_id, session_id, shopper_id, order_id, &order, now,
        )
        .await?
        {
            tx.rollback().await?;
            return Ok(Err(failure));
        }
        // Its invoice, rendered by a job enqueued with the order: no order lacks one after a
        // crash.
        crate::files::enqueue_invoice(&mut tx, order_id, now).await?;
        let event = order_submitted(order_id, site_id, shopper_id, &order);
        crate::events::append_event(&mut tx, site_id, ORDER_SUBMITTED, &event, now).await?;
        tx.commit().await?;
        self.snapshots.forget(session_id.as_str());
        Ok(Ok(order_id))
    }

    // --- orders ----------------------------------------------------------------------------

    /// The orders a caller may see: those of its session and, for a signed-in shopper, all of
    /// the shopper's own.
    pub async fn orders_visible(
        &self,
        site_id: &SiteId,
        session_id: &SessionId,
        shopper_id: Option<i64>,
    ) -> StoreResult<Vec<OrderRecord>> {
        Ok(sqlx::query_as(select_orders!(
            "WHERE site_id = $1 AND (session_id = $2 OR shopper_id = $3) ORDER BY id DESC"
        ))
        .bind(site_id.as_str())
        .bind(session_id.as_str())
        .bind(shopper_id.unwrap_or(-1))
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn order_visible(
        &self,
        site_id: &SiteId,
        session_id: &SessionId,
        shopper_id: Option<i64>,
        order_id: i64,
    ) -> StoreResult<Option<OrderRecord>> {
        Ok(sqlx::query_as(select_orders!(
            "WHERE id = $1 AND site_id = $2 AND (session_id = $3 OR shopper_id = $4)"
        ))
        .bind(order_id)
        .bind(site_id.as_str())
        .bind(session_id.as_str())
        .bind(shopper_id.unwrap_or(-1))
        .fetch_optional(&self.read)
        .await?)
    }

    /// An order of the site, whoever placed it (the Admin API's reads).
    pub async fn order_on_site(
        &self,
        site_id: &SiteId,
        order_id: i64,
    ) -> StoreResult<Option<OrderRecord>> {
        Ok(
            sqlx::query_as(select_orders!("WHERE id = $1 AND site_id = $2"))
                .bind(order_id)
                .bind(site_id.as_str())
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// An order by its id alone (background work that names the order).
    pub async fn order_by_id(&self, order_id: i64) -> StoreResult<Option<OrderRecord>> {
        Ok(sqlx::query_as(select_orders!("WHERE id = $1"))
            .bind(order_id)
            .fetch_optional(&self.read)
            .await?)
    }

    pub async fn order_lines(&self, order_id: i64) -> StoreResult<Vec<OrderLineRecord>> {
        Ok(sqlx::query_as(
            "SELECT l.id, l.order_id, l.product_id, l.sku, l.display_name, l.quantity, \
             l.list_price_minor, l.unit_price_minor, p.product_type, p.base_product_id, p.name, \
             p.short_description, p.long_description, p.keywords, p.thumbnail_image, \
             p.product_image, p.site_id, p.available_quantity, p.manufacturer_name, \
             p.custom_attributes, l.custom_attributes AS line_attributes, l.offer_id, \
             l.offer_discount_minor FROM order_line_items l JOIN products p ON p.id = l.product_id \
             WHERE l.order_id = $1 ORDER BY l.id",
        )
        .bind(order_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Order lookup by id and the order's email (case-insensitive).
    pub async fn order_by_id_and_email(
        &self,
        site_id: &SiteId,
        order_id: i64,
        email: &str,
    ) -> StoreResult<Option<OrderRecord>> {
        Ok(sqlx::query_as(select_orders!(
            "WHERE id = $1 AND site_id = $2 AND LOWER(email) = LOWER($3)"
        ))
        .bind(order_id)
        .bind(site_id.as_str())
        .bind(email)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Order lookup by email and card last four digits, among the shopper's own orders.
    pub async fn orders_by_email_and_card(
        &self,
        site_id: &SiteId,
        shopper_id: i64,
        email: &str,
        last_four: &str,
    ) -> StoreResult<Vec<OrderRecord>> {
        Ok(sqlx::query_as(select_orders!(
            "WHERE site_id = $1 AND shopper_id = $2 AND LOWER(email) = LOWER($3) \
             AND card_last_four = $4 ORDER BY id DESC"
        ))
        .bind(site_id.as_str())
        .bind(shopper_id)
        .bind(email)
        .bind(last_four)
        .fetch_all(&self.read)
        .await?)
    }

    /// Remaining stock of a product (tests and operators).
    pub async fn available_quantity(&self, product_id: i64) -> StoreResult<Option<i64>> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT available_quantity FROM products WHERE id = $1")
                .bind(product_id)
                .fetch_optional(&self.read)
                .await?;
        row.map(|r| r.0)
            .ok_or_else(|| StoreError::NotFound(format!("product {product_id}")))
    }

    /// Sets a product's tracked stock (tests and operators; `None` = not tracked).
    pub async fn set_available_quantity(
        &self,
        product_id: i64,
        quantity: Option<i64>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE products SET available_quantity = $1 WHERE id = $2")
            .bind(quantity)
            .bind(product_id)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    /// How many orders the site has (tests and operators).
    pub async fn order_count(&self, site_id: &SiteId) -> StoreResult<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM orders WHERE site_id = $1")
            .bind(site_id.as_str())
            .fetch_one(&self.read)
            .await?;
        Ok(n)
    }
}

/// Commits when `keep`, else rolls back; returns `keep`.
async fn finish_if(tx: sqlx::Transaction<'_, sqlx::Any>, keep: bool) -> StoreResult<bool> {
    if keep {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(keep)
}

async fn write_cart_address(
    conn: &mut AnyConnection,
    session_id: &SessionId,
    billing: bool,
    address: &PostalAddress,
    from_account: bool,
) -> StoreResult<()> {
    let sql = if billing {
        "UPDATE carts SET billing_address = $1, billing_from_account = $2 WHERE session_id = $3"
    } else {
        "UPDATE carts SET shipping_address = $1, shipping_from_account = $2 WHERE session_id = $3"
    };
    sqlx::query(sql)
        .bind(address_json(address))
        .bind(i64::from(from_account))
        .bind(session_id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Claims `source_id` for `session_id` when no session holds it yet, then reads it as stored
/// (whoever holds it: the caller's check decides).
async fn claim_and_read_source(
    conn: &mut AnyConnection,
    session_id: &str,
    site_id: &SiteId,
    source_id: &str,
) -> StoreResult<Option<PaymentSourceRecord>> {
    sqlx::query(
        "UPDATE payment_sources SET claimed_session_id = $1 \
         WHERE id = $2 AND site_id = $3 AND claimed_session_id IS NULL",
    )
    .bind(session_id)
    .bind(source_id)
    .bind(site_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(
        sqlx::query_as(select_sources!("WHERE id = $1 AND site_id = $2"))
            .bind(source_id)
            .bind(site_id.as_str())
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Claims the source for the writer's session if nobody has (conditional: of concurrent
/// first uses exactly one claims it; the others then read its claim), reads it, lets `check`
/// decide, then binds it to a full token's shopper and puts it in the cart.
async fn write_cart_source<E>(
    conn: &mut AnyConnection,
    w: CartWriter<'_>,
    site_id: &SiteId,
    source_id: &str,
    check: impl FnOnce(Option<&PaymentSourceRecord>) -> Result<(), E>,
) -> StoreResult<Result<(), E>> {
    let source = claim_and_read_source(conn, w.session_id.as_str(), site_id, source_id).await?;
    if let Err(e) = check(source.as_ref()) {
        return Ok(Err(e));
    }
    if let Some(shopper) = w.full_token_shopper {
        sqlx::query(
            "UPDATE payment_sources SET claimed_shopper_id = $1, \
             shopper_id = CASE WHEN reusable = 1 THEN $1 ELSE shopper_id END WHERE id = $2",
        )
        .bind(shopper)
        .bind(source_id)
        .execute(&mut *conn)
        .await?;
    }
    // Store credit sits beside the primary source; any other source replaces the primary.
    let sql = if source.as_ref().is_some_and(PaymentSourceRecord::is_credit) {
        "UPDATE carts SET credit_source_id = $1 WHERE session_id = $2"
    } else {
        "UPDATE carts SET payment_source_id = $1, source_dropped = 0 WHERE session_id = $2"
    };
    sqlx::query(sql)
        .bind(source_id)
        .bind(w.session_id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(Ok(()))
}

/// Merges `given` into a line's custom attributes: `None` if the session has no such line,
/// `Some(Err)` (nothing written) if the line would have too many.
async fn merge_line_attributes(
    conn: &mut AnyConnection,
    session_id: &SessionId,
    line_id: i64,
    given: &CustomAttributes,
) -> StoreResult<Option<Result<(), TooManyAttributes>>> {
    let stored: Option<(String,)> = sqlx::query_as(
        "SELECT custom_attributes FROM cart_line_items WHERE id = $1 AND session_id = $2",
    )
    .bind(line_id)
    .bind(session_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some((stored,)) = stored else {
        return Ok(None);
    };
    let merged = CustomAttributes::try_from(stored)
        .unwrap_or_default()
        .merged(given);
    let merged = match merged {
        Ok(merged) => merged,
        Err(e) => return Ok(Some(Err(e))),
    };
    sqlx::query("UPDATE cart_line_items SET custom_attributes = $1 WHERE id = $2")
        .bind(merged.to_json())
        .bind(line_id)
        .execute(&mut *conn)
        .await?;
    Ok(Some(Ok(())))
}

async fn read_cart_lines(
    conn: &mut AnyConnection,
    session_id: &SessionId,
) -> StoreResult<Vec<CartLine>> {
    let rows: Vec<CartLineRow> =
        sqlx::query_as(select_cart_lines!("WHERE l.session_id = $1 ORDER BY l.id"))
            .bind(session_id.as_str())
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows.into_iter().map(CartLine::from).collect())
}

/// What pricing and a submit decide on, read on `conn` (in the caller's transaction).
async fn read_snapshot(
    conn: &mut AnyConnection,
    session_id: &SessionId,
    site_id: &SiteId,
    shopper_id: Option<i64>,
    now: UnixSeconds,
) -> StoreResult<CartSnapshot> {
    let fields: CartRecord = sqlx::query_as(CART_COLUMNS_SQL)
        .bind(session_id.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or_default();
    let lines = read_cart_lines(conn, session_id).await?;
    let tiers: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT v.product_id, v.min_quantity, v.unit_price_minor FROM product_volume_prices v \
         JOIN cart_line_items l ON l.product_id = v.product_id WHERE l.session_id = $1 \
         ORDER BY v.product_id, v.min_quantity",
    )
    .bind(session_id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let mut volume_prices: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
    for (product_id, min_quantity, unit_price_minor) in tiers {
        volume_prices
            .entry(product_id)
            .or_default()
            .push((min_quantity, unit_price_minor));
    }
    let mut sources = Vec::with_capacity(2);
    for id in [&fields.payment_source_id, &fields.credit_source_id] {
        sources.push(match id {
            Some(id) => {
                sqlx::query_as::<_, PaymentSourceRecord>(select_sources!(
                    "WHERE id = $1 AND site_id = $2"
                ))
                .bind(id)
                .bind(site_id.as_str())
                .fetch_optional(&mut *conn)
                .await?
            }
            None => None,
        });
    }
    let credit = sources.pop().flatten();
    let source = sources.pop().flatten();
    let tax_rates: Vec<(String, i64)> = sqlx::query_as(
        "SELECT country, rate_bp FROM tax_rates WHERE site_id = $1 ORDER BY country",
    )
    .bind(site_id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let (offers, triggers) =
        super::offers::cart_offers(conn, site_id, session_id, fields.offers_reset).await?;
    // Categories matter only to category offers.
    let mut product_categories: HashMap<i64, Vec<i64>> = HashMap::new();
    if offers.iter().any(|o| !o.category_ids.is_empty()) {
        for line in &lines {
            let ids: Vec<i64> = sqlx::query_scalar(
                "SELECT category_id FROM product_categories WHERE product_id = $1",
            )
            .bind(line.product_id)
            .fetch_all(&mut *conn)
            .await?;
            product_categories.insert(line.product_id, ids);
        }
    }
    let standing = super::purchase_plans::session_standing(conn, session_id, now).await?;
    let private_site = standing.private_site;
    let purchase_plan = match standing.plan {
        Some((plan, proven_email)) => {
            let pricing = super::purchase_plans::plan_pricing(conn, &plan).await?;
            // What the purchaser bought, when known before the order's e-mail address is.
            let known = CartPlan {
                proven_email: proven_email.clone(),
                ..CartPlan::default()
            }
            .purchaser(shopper_id, None, session_id.as_str());
            let bought = match known {
                Purchaser::Session(_) => HashMap::new(),
                p => super::purchase_plans::bought(conn, plan.id, &p.key()).await?,
            };
            Some(CartPlan {
                pricing,
                proven_email,
                bought,
            })
        }
        None => None,
    };
    Ok(CartSnapshot {
        cart: Cart {
            session_id: session_id.as_str().to_owned(),
            shopper_id,
            lines,
            volume_prices,
            addresses: fields.addresses,
            shipping_option_id: fields.shipping_option_id,
            last_order_id: fields.last_order_id,
            source_dropped: fields.source_dropped,
            source: source.as_ref().map(PaymentSourceRecord::charge_source),
            credit: credit.as_ref().and_then(PaymentSourceRecord::credit_source),
            tax_rates,
            fields: CartFields {
                custom_attributes: fields.custom_attributes,
                terms_of_sales_acceptance: fields.terms_of_sales_acceptance.map(|t| t != 0),
                charge_type: fields.charge_type,
                organization_id: fields.organization_id,
                customer_type: fields.customer_type,
                tax_registrations: serde_json::from_str(&fields.tax_registrations)
                    .unwrap_or_default(),
            },
            offers,
            product_categories,
            offers_at: now,
            purchase_plan,
            private_site,
        },
        source,
        credit,
        triggers,
    })
}

/// Counts one use of each offer the order was priced with, in the submit's transaction:
/// the total by a conditional update (which also makes a concurrent submit of the same offer
/// wait for this one on PostgreSQL, and SQLite writes one at a time), then the shopper's uses
/// from the redemptions (a signed-in shopper's by id, a guest's by the order's e-mail address,
/// else by session). A use past either limit refuses the submit; the caller rolls back.
async fn redeem_offers<E>(
    tx: &mut AnyConnection,
    site_id: &SiteId,
    session_id: &SessionId,
    shopper_id: Option<i64>,
    order_id: i64,
    order: &NewOrder,
    now: UnixSeconds,
) -> StoreResult<Result<(), SubmitFailure<E>>> {
    use shopkeeper_domain::offers::LimitReached;
    let mut applied: Vec<(i64, i64)> = order
        .lines
        .iter()
        .filter_map(|l| l.offer)
        .chain(order.order_offer)
        .chain(order.shipping_offer)
        .map(|a| (a.offer_id, a.discount_minor))
        .collect();
    applied.sort_unstable();
    // One use per offer and order, whatever it took off how many lines.
    let mut uses: Vec<(i64, i64)> = Vec::new();
    for (id, off) in applied {
        match uses.last_mut() {
            Some((last, total)) if *last == id => *total += off,
            _ => uses.push((id, off)),
        }
    }
    let shopper_key = match (shopper_id, &order.email) {
        (Some(id), _) => format!("shopper:{id}"),
        (None, Some(email)) => format!("email:{}", email.to_lowercase()),
        (None, None) => format!("session:{session_id}"),
    };
    for (offer_id, discount) in uses {
        let counted = sqlx::query(
            "UPDATE offers SET uses = uses + 1 WHERE id = $1 AND site_id = $2 \
             AND (total_limit IS NULL OR uses < total_limit)",
        )
        .bind(offer_id)
        .bind(site_id.as_str())
        .execute(&mut *tx)
        .await?;
        if counted.rows_affected() == 0 {
            return Ok(Err(SubmitFailure::OfferUsedUp {
                offer_id,
                limit: LimitReached::Total,
            }));
        }
        let (per_shopper,): (Option<i64>,) =
            sqlx::query_as("SELECT per_shopper_limit FROM offers WHERE id = $1")
                .bind(offer_id)
                .fetch_one(&mut *tx)
                .await?;
        if let Some(limit) = per_shopper {
            let (used,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM offer_redemptions WHERE offer_id = $1 AND shopper_key = $2",
            )
            .bind(offer_id)
            .bind(&shopper_key)
            .fetch_one(&mut *tx)
            .await?;
            if used >= limit {
                return Ok(Err(SubmitFailure::OfferUsedUp {
                    offer_id,
                    limit: LimitReached::Shopper,
                }));
            }
        }
        sqlx::query(
            "INSERT INTO offer_redemptions (site_id, offer_id, order_id, shopper_key, \
             discount_minor, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(site_id.as_str())
        .bind(offer_id)
        .bind(order_id)
        .bind(&shopper_key)
        .bind(discount)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    Ok(Ok(()))
}

/// The payload of `order.submitted`: what a merchant's system needs to pick the order up.
fn order_submitted(
    order_id: i64,
    site_id: &SiteId,
    shopper_id: Option<i64>,
    order: &NewOrder,
) -> serde_json::Value {
    serde_json::json!({
        "orderId": order_id,
        "siteId": site_id,
        "shopperId": shopper_id,
        "currency": order.currency,
        "subtotalMinor": order.subtotal_minor,
        "discountMinor": order.discount_minor,
        "shippingMinor": order.shipping_minor,
        "taxMinor": order.tax_minor,
        "totalMinor": order.total_minor,
        "lineCount": order.lines.len(),
        // What the merchant's credit system subtracts (the source it created).
        "storeCreditSourceId": order.credit_source_id,
        "storeCreditMinor": order.credit_minor,
        // The offers the order redeemed (one use each) and what each took off.
        "offers": order
            .lines
            .iter()
            .filter_map(|l| l.offer)
            .chain(order.order_offer)
            .chain(order.shipping_offer)
            .map(|a| serde_json::json!({"offerId": a.offer_id, "discountMinor": a.discount_minor}))
            .collect::<Vec<_>>(),
    })
}
