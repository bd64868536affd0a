//! The cart, its line items, shipping options and the submit's answer.

use super::address::AddressOrLink;
use super::line::{LinePricing, LineProduct, line_product_parts};
use super::money::{Money, Pricing};
use super::{CustomAttributes, Empty, Link, served_link};
use crate::shopper_api::ApiQuery;
use serde::Serialize;
use shopkeeper_domain::catalog::formatted;
use shopkeeper_domain::checkout::order::{CartFields, PricedCart, PricedLine};
use shopkeeper_domain::checkout::{
    SHIPPING_OPTIONS, ShippingOption, brand_display_name, line_taxes, rate_value,
};
use shopkeeper_domain::subscriptions::SubscriptionInfo;
use shopkeeper_store::PaymentSourceRecord;
use utoipa::ToSchema;

pub const CART: &str = "/v1/shoppers/me/carts/active";

/// The landed-cost state of every cart: Shopkeeper computes no import taxes or duties.
pub const LANDED_COST_STATE: &str = "NOT_ELIGIBLE";

/// A link to one of the cart's own routes (`{CART}/{segment}`), if the router serves it.
fn cart_link(q: &ApiQuery, method: &str, segment: &str) -> Option<Link> {
    let path = format!("{CART}/{segment}");
    served_link(q, method, &path, &path)
}

/// `{"cart": ...}`
#[derive(Debug, Serialize, ToSchema)]
pub struct CartEnvelope<'a> {
    pub cart: CartView<'a>,
    /// What a `200 OK` warns about (`warnings-object/README.md`): a coupon code applied to a
    /// cart that does not meet its offer's conditions yet.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
}

/// One warning of a `200 OK` (`{"code", "description"}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Warning {
    pub code: &'static str,
    pub description: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartView<'a> {
    pub uri: String,
    /// Links to the cart's actions: each only while the router serves its route.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_methods: Option<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply_payment_method: Option<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submit_cart: Option<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_checkout: Option<Link>,
    pub id: &'a str,
    pub line_items: LineItems<'a>,
    pub total_items_in_cart: i64,
    pub billing_address: AddressOrLink<'a>,
    pub shipping_address: AddressOrLink<'a>,
    pub payment_method: PaymentMethodOrEmpty<'a>,
    /// How far the cart is paid for: by its applied source, if any.
    pub payment_session: PaymentSession<'a>,
    /// The applied card as the docs' carts also show it (brand, masked number, expiry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<CardPayment<'a>>,
    /// Inline: the options the cart can ship with (none listed when nothing ships).
    pub shipping_options: ShippingOptions<'a>,
    /// The applied (or default) option; `{}` when nothing ships.
    pub shipping_method: ShippingMethodOrEmpty,
    /// Prices are before tax: tax is added on top (`domain::checkout::price`).
    pub tax_inclusive: bool,
    pub landed_cost_state: &'static str,
    pub pricing: Pricing<'a>,
    /// The seller of record: the site the cart belongs to.
    pub business_entity_code: &'a str,
    /// `I` (individual) or `B` (business), as `POST carts/active/tax-registrations` set it;
    /// `I` until then.
    pub customer_type: &'a str,
    /// As the storefront set it (`customer_initiated`, `merchant_initiated`, `moto`), else
    /// `customer_initiated`.
    pub charge_type: &'a str,
    /// The organization the storefront attached, else the empty string (the docs' "none").
    pub organization_id: &'a str,
    /// The shopper's acceptance of the terms of sale as the storefront set it; `null` until it
    /// does.
    #[schema(value_type = Option<bool>)]
    pub terms_of_sales_acceptance: Option<bool>,
    /// The cart's custom attributes, as the storefront set them.
    pub custom_attributes: CustomAttributes,
    /// The tax identifiers `POST carts/active/tax-registrations` attached; `[]` until then.
    pub tax_registrations: Vec<TaxRegistration>,
}

/// The cart's payment: one applied source pays the whole total at submit. No client secret
/// and no redirect (test cards need neither).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentSession<'a> {
    /// The cart's: each cart is paid in its own session.
    pub id: &'a str,
    /// `requires_source` until a source is applied, then `requires_confirmation` (the submit
    /// confirms it).
    pub status: &'static str,
    pub amount_contributed: Money<'a>,
    pub amount_remaining_to_be_contributed: Money<'a>,
}

impl<'a> PaymentSession<'a> {
    /// `card`: a primary source is applied (it pays what the store credit does not).
    fn new(cart_id: &'a str, pr: &'a PricedCart<'a>, card: bool) -> Self {
        let contributed = if card {
            pr.totals.total
        } else {
            pr.credit_minor
        };
        // The same rule as the submit's (`PricedCart::paid_by_credit`).
        let covered = card || pr.paid_by_credit();
        PaymentSession {
            id: cart_id,
            status: if covered {
                "requires_confirmation"
            } else {
                "requires_source"
            },
            amount_contributed: Money::new(contributed, &pr.currency),
            amount_remaining_to_be_contributed: Money::new(
                pr.totals.total - contributed,
                &pr.currency,
            ),
        }
    }
}

/// A tax identifier attached to a cart (`{"key", "value"}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct TaxRegistration {
    pub key: String,
    pub value: String,
}

impl TaxRegistration {
    pub fn list(stored: &[shopkeeper_domain::tax_registrations::Registration]) -> Vec<Self> {
        stored
            .iter()
            .map(|r| TaxRegistration {
                key: r.key.clone(),
                value: r.value.clone(),
            })
            .collect()
    }

    /// An order's, kept as JSON (`[]`: none).
    pub fn from_json(stored: &str) -> Vec<Self> {
        Self::list(&serde_json::from_str::<Vec<_>>(stored).unwrap_or_default())
    }
}

/// `{"name", "displayableNumber", "expirationMonth", "expirationYear"}`: the applied card.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CardPayment<'a> {
    pub name: &'a str,
    pub displayable_number: String,
    pub expiration_month: i64,
    pub expiration_year: i64,
}

impl<'a> CardPayment<'a> {
    pub fn new(s: &'a PaymentSourceRecord) -> Self {
        CardPayment {
            name: &s.brand,
            displayable_number: masked_number(&s.last_four),
            expiration_month: s.expiration_month,
            expiration_year: s.expiration_year,
        }
    }
}

impl<'a> CartView<'a> {
    /// `source`: the applied primary source; `credit`: the store credit beside it.
    pub fn new(
        q: &ApiQuery,
        cart_id: &'a str,
        pr: &'a PricedCart<'a>,
        (source, credit): (
            Option<&'a PaymentSourceRecord>,
            Option<&'a PaymentSourceRecord>,
        ),
        fields: &'a CartFields,
        site_id: &'a str,
    ) -> Self {
        CartView {
            uri: q.uri(CART),
            payment_methods: cart_link(q, "GET", "payment-methods"),
            apply_payment_method: cart_link(q, "POST", "apply-payment-method"),
            submit_cart: cart_link(q, "POST", "submit-cart"),
            web_checkout: cart_link(q, "GET", "web-checkout"),
            id: cart_id,
            line_items: LineItems::new(q, pr),
            total_items_in_cart: pr.total_items(),
            billing_address: AddressOrLink::new(
                q.uri(&format!("{CART}/billing-address")),
                "billingAddress",
                pr.billing.as_ref(),
            ),
            shipping_address: AddressOrLink::new(
                q.uri(&format!("{CART}/shipping-address")),
                "shippingAddress",
                pr.shipping.as_ref(),
            ),
            payment_method: CartPaymentMethod::of(
                (source, credit),
                pr.totals.total,
                pr.credit_minor,
                &pr.currency,
            ),
            payment: source.map(CardPayment::new),
            payment_session: PaymentSession::new(cart_id, pr, source.is_some()),
            shipping_options: ShippingOptions::new(q, pr),
            shipping_method: match pr.shipping_option {
                Some(o) => ShippingMethodOrEmpty::Method(ShippingMethod {
                    code: o.id,
                    description: o.description,
                }),
                None => ShippingMethodOrEmpty::Empty(Empty {}),
            },
            tax_inclusive: false,
            landed_cost_state: LANDED_COST_STATE,
            pricing: Pricing::new(&pr.totals, &pr.currency),
            business_entity_code: site_id,
            customer_type: fields.customer_type(),
            charge_type: fields.charge_type(),
            organization_id: fields.organization_id.as_deref().unwrap_or(""),
            terms_of_sales_acceptance: fields.terms_of_sales_acceptance,
            custom_attributes: CustomAttributes::of(
                &pr.shown_attributes(&fields.custom_attributes),
            ),
            tax_registrations: TaxRegistration::list(&fields.tax_registrations),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShippingMethod {
    pub code: i64,
    pub description: &'static str,
}

/// The shipping method, or `{}` when nothing in the cart ships.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ShippingMethodOrEmpty {
    Method(ShippingMethod),
    Empty(Empty),
}

/// `{"lineItems": ...}`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineItemsEnvelope<'a> {
    pub line_items: LineItems<'a>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineItems<'a> {
    pub uri: String,
    pub line_item: Vec<LineItem<'a>>,
}

impl<'a> LineItems<'a> {
    pub fn new(q: &ApiQuery, pr: &'a PricedCart<'a>) -> Self {
        // What each line pays after every offer (its share of an order offer included).
        let lines: Vec<(i64, bool)> = pr
            .goods_by_line()
            .into_iter()
            .zip(&pr.lines)
            .map(|(goods, l)| (goods, l.pricing.physical))
            .collect();
        LineItems {
            uri: q.uri(&format!("{CART}/line-items")),
            line_item: pr
                .lines
                .iter()
                .zip(line_taxes(pr.totals.tax, pr.totals.shipping, &lines))
                .map(|(l, taxes)| LineItem::new(q, l, &pr.currency, pr.tax_rate_bp, taxes))
                .collect(),
        }
    }
}

/// `{"lineItem": ...}`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineItemEnvelope<'a> {
    pub line_item: LineItem<'a>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineItem<'a> {
    pub uri: String,
    pub id: i64,
    pub quantity: i64,
    pub product: LineProduct<'a>,
    pub pricing: LinePricing<'a>,
    /// The line's own custom attributes, as the storefront set them.
    pub custom_attributes: CustomAttributes,
    /// What the storefront said of the subscription the line buys (`subscriptionInfo`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub subscription_info: Option<&'a SubscriptionInfo>,
}

impl<'a> LineItem<'a> {
    /// A cart line priced in `currency`, taxed at `tax_rate_bp` basis points, with its
    /// `(product, shipping)` share of the cart's tax.
    pub fn new(
        q: &ApiQuery,
        line: &PricedLine<'a>,
        currency: &'a str,
        tax_rate_bp: i64,
        taxes: (i64, i64),
    ) -> Self {
        let (r, unit) = (line.line, line.unit_price_minor());
        let mut pricing = LinePricing::new(r.list_price_minor, unit, r.quantity, currency, taxes);
        if line.offer.is_some() {
            pricing = pricing.after_offer(
                r.list_price_minor,
                r.quantity,
                line.sale_total_minor(),
                currency,
            );
        }
        pricing.tax_rate = Some(rate_value(tax_rate_bp));
        LineItem {
            uri: q.uri(&format!("{CART}/line-items/{}", r.id)),
            id: r.id,
            quantity: r.quantity,
            product: LineProduct::new(
                q,
                line_product_parts!(r, id: r.product_id, site: &r.site_id, has_variations: false),
            ),
            pricing,
            custom_attributes: CustomAttributes::of(&r.line_attributes),
            subscription_info: r.subscription_info.as_ref(),
        }
    }
}

/// The applied source, or `{}` when there is none.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum PaymentMethodOrEmpty<'a> {
    Method(Box<CartPaymentMethod<'a>>),
    Empty(Empty),
}

/// The primary source applied to a cart (or an order) and the store credit beside it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartPaymentMethod<'a> {
    #[serde(flatten)]
    pub method: PaymentMethod<'a>,
    /// What the primary source pays: the total less the store credit's part.
    pub amount_contributed: Money<'a>,
    /// The store credit applied beside a card (at most one), with what it pays.
    pub supplementary_payment_methods: Vec<SupplementaryPaymentMethod<'a>>,
}

/// A secondary source (store credit) and what it pays.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SupplementaryPaymentMethod<'a> {
    #[serde(flatten)]
    pub method: PaymentMethod<'a>,
    pub amount_contributed: Money<'a>,
}

impl<'a> PaymentMethodOrEmpty<'a> {
    fn none() -> Self {
        PaymentMethodOrEmpty::Empty(Empty {})
    }
}

impl<'a> CartPaymentMethod<'a> {
    /// The payment of `total` (minor units) with `credit_minor` of it paid by the store
    /// credit: the card is primary when there is one, else the store credit itself.
    pub fn of(
        (source, credit): (
            Option<&'a PaymentSourceRecord>,
            Option<&'a PaymentSourceRecord>,
        ),
        total: i64,
        credit_minor: i64,
        currency: &'a str,
    ) -> PaymentMethodOrEmpty<'a> {
        match (source, credit) {
            (Some(card), credit) => PaymentMethodOrEmpty::Method(Box::new(CartPaymentMethod {
                method: PaymentMethod::new(card),
                amount_contributed: Money::new(total - credit_minor, currency),
                supplementary_payment_methods: credit
                    .map(|c| SupplementaryPaymentMethod {
                        method: PaymentMethod::new(c),
                        amount_contributed: Money::new(credit_minor, currency),
                    })
                    .into_iter()
                    .collect(),
            })),
            (None, Some(credit)) => PaymentMethodOrEmpty::Method(Box::new(CartPaymentMethod {
                method: PaymentMethod::new(credit),
                amount_contributed: Money::new(credit_minor, currency),
                supplementary_payment_methods: Vec::new(),
            })),
            (None, None) => PaymentMethodOrEmpty::none(),
        }
    }
}

/// A payment source as a cart (or a saved payment option) shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentMethod<'a> {
    #[serde(rename = "type")]
    pub source_type: &'a str,
    pub source_id: &'a str,
    pub reusable: bool,
    /// A card's details (not on store credit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_card: Option<CreditCard<'a>>,
    /// Store credit's details, as the docs show them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_credit: Option<CustomerCredit>,
}

/// `{"flow": "standard", "reusable": false}`: store credit is charged directly, once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerCredit {
    pub flow: &'static str,
    pub reusable: bool,
}

impl CustomerCredit {
    pub const STANDARD: CustomerCredit = CustomerCredit {
        flow: "standard",
        reusable: false,
    };
}

/// A card number as the docs mask it: `************1111`.
pub fn masked_number(last_four: &str) -> String {
    format!("************{last_four}")
}

impl<'a> PaymentMethod<'a> {
    pub fn new(s: &'a PaymentSourceRecord) -> Self {
        let credit = s.is_credit();
        PaymentMethod {
            source_type: &s.source_type,
            source_id: &s.id,
            reusable: s.reusable,
            credit_card: (!credit).then_some(CreditCard {
                brand: &s.brand,
                kind: &s.brand,
                display_name: brand_display_name(&s.brand),
                displayable_number: masked_number(&s.last_four),
                issue_code: None,
                start_month: None,
                start_year: None,
                reusable: s.reusable,
                last_four_digits: &s.last_four,
                expiration_month: s.expiration_month,
                expiration_year: s.expiration_year,
            }),
            customer_credit: credit.then_some(CustomerCredit::STANDARD),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreditCard<'a> {
    pub brand: &'a str,
    /// The brand again, as the docs' saved payment options name it (`visa`).
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// The brand as shoppers read it (`Visa`, `American Express`).
    pub display_name: &'static str,
    /// The masked number: `************1111`.
    pub displayable_number: String,
    /// The source's own flag: it may pay again.
    pub reusable: bool,
    pub last_four_digits: &'a str,
    pub expiration_month: i64,
    pub expiration_year: i64,
    /// Maestro's issue number and start date: test cards have none (`null`, as the docs show).
    pub issue_code: Option<&'static str>,
    pub start_month: Option<i64>,
    pub start_year: Option<i64>,
}

/// `{"shippingOptions": {"uri", "shippingOption": [...]}}`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShippingOptionsEnvelope<'a> {
    pub shipping_options: ShippingOptions<'a>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShippingOptions<'a> {
    pub uri: String,
    /// Absent, not empty, when nothing ships: storefronts test its presence to decide whether
    /// to ask for delivery.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shipping_option: Vec<ShippingOptionView<'a>>,
}

impl<'a> ShippingOptions<'a> {
    /// The options of a priced cart; none unless something in it ships.
    pub fn new(q: &ApiQuery, pr: &'a PricedCart<'_>) -> Self {
        ShippingOptions {
            uri: q.uri(&format!("{CART}/shipping-options")),
            shipping_option: if pr.physical() {
                SHIPPING_OPTIONS
                    .iter()
                    .map(|o| ShippingOptionView::new(q, o, pr))
                    .collect()
            } else {
                Vec::new()
            },
        }
    }
}

/// `{"shippingOption": ...}`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShippingOptionEnvelope<'a> {
    pub shipping_option: ShippingOptionView<'a>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShippingOptionView<'a> {
    pub uri: String,
    pub id: i64,
    pub description: &'static str,
    pub cost: Money<'a>,
    pub formatted_cost: String,
    /// What the cart's best shipping offer leaves of the cost, were the option chosen
    /// (`getting-shipping-options.md`).
    pub cost_with_discount: Money<'a>,
    pub formatted_cost_with_discount: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply_shipping_option_to_cart: Option<Link>,
}

impl<'a> ShippingOptionView<'a> {
    pub fn new(q: &ApiQuery, o: &ShippingOption, pr: &'a PricedCart<'_>) -> Self {
        let currency = pr.currency.as_str();
        let with_discount = o.cost_minor(currency) - pr.shipping_discount(o.id);
        let apply = format!("{CART}/apply-shipping-option");
        ShippingOptionView {
            uri: q.uri(&format!("{CART}/shipping-options/{}", o.id)),
            id: o.id,
            description: o.description,
            cost: Money::new(o.cost_minor(currency), currency),
            formatted_cost: formatted(o.cost_minor(currency), currency),
            cost_with_discount: Money::new(with_discount, currency),
            formatted_cost_with_discount: formatted(with_discount, currency),
            apply_shipping_option_to_cart: served_link(
                q,
                "POST",
                &apply,
                &format!("{apply}?shippingOptionId={}", o.id),
            ),
        }
    }
}
