//! Orders, their line items and a shopper's saved payment options.

use super::address::{AddressOrLink, AddressView};
use super::cart::{
    CustomerCredit, PaymentMethod, ShippingMethod, ShippingMethodOrEmpty, TaxRegistration,
    masked_number,
};
use super::line::{LinePricing, LineProduct, line_product_parts};
use super::money::{Money, Pricing};
use super::{CustomAttributes, Empty, Link};
use crate::shopper_api::ApiQuery;
use serde::Serialize;
use shopkeeper_domain::catalog::formatted;
use shopkeeper_domain::checkout::{
    CUSTOMER_CREDIT, SHIPPING_OPTIONS, ShippingOption, Totals, line_taxes, lines_paid, rate_value,
};
use shopkeeper_domain::time::iso8601;
use shopkeeper_store::{OrderLineRecord, OrderRecord, PaymentSourceRecord};
use utoipa::ToSchema;

pub const ORDERS: &str = "/v1/shoppers/me/orders";

/// An order's billing (`billing`) or shipping address, if it has one.
pub fn order_address<'a>(
    q: &ApiQuery,
    o: &'a OrderRecord,
    billing: bool,
) -> Option<AddressView<'a>> {
    let (a, id, path) = if billing {
        (&o.addresses.billing, "billingAddress", "billing-address")
    } else {
        (&o.addresses.shipping, "shippingAddress", "shipping-address")
    };
    Some(AddressView::new(
        q.uri(&format!("{ORDERS}/{}/{path}", o.id)),
        id,
        a.as_ref()?,
    ))
}

/// Each line's `(product, shipping)` share of the order's stored tax.
pub fn order_line_taxes(o: &OrderRecord, lines: &[OrderLineRecord]) -> Vec<(i64, i64)> {
    // What each line paid: after its item offer and its share of the order offer.
    let sale: Vec<i64> = lines
        .iter()
        .map(|l| l.unit_price_minor * l.quantity - l.offer_discount_minor)
        .collect();
    let shares: Vec<(i64, bool)> = lines
        .iter()
        .zip(lines_paid(o.order_offer_discount_minor, &sale))
        .map(|(l, paid)| (paid, l.product_type == "PHYSICAL"))
        .collect();
    line_taxes(o.tax_minor, o.shipping_minor, &shares)
}

/// The shipping method of an order: the option whose cost (in the order's currency) the order
/// paid for shipping, `{}` when it shipped nothing. Orders keep the cost, not the option, and
/// no two options cost the same.
pub fn shipping_method(o: &OrderRecord) -> ShippingMethodOrEmpty {
    // Orders placed before the option was kept: the option of the cost paid.
    let paid = |opt: &&shopkeeper_domain::checkout::ShippingOption| {
        o.shipping_minor > 0 && opt.cost_minor(&o.currency) == o.shipping_minor
    };
    let chosen = match o.shipping_option_id {
        Some(id) => ShippingOption::find(id),
        None => SHIPPING_OPTIONS.iter().find(paid),
    };
    match chosen {
        Some(opt) => ShippingMethodOrEmpty::Method(ShippingMethod {
            code: opt.id,
            description: opt.description,
        }),
        None => ShippingMethodOrEmpty::Empty(Empty {}),
    }
}

/// `{"order": ...}`
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderEnvelope<'a> {
    pub order: OrderView<'a>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderView<'a> {
    pub uri: String,
    pub id: i64,
    pub submission_date: String,
    /// The locale of the session that placed it.
    pub locale: &'a Option<String>,
    pub order_state: &'a str,
    pub order_state_details: OrderStateDetails<'a>,
    pub total_items_in_order: i64,
    pub email_address: &'a Option<String>,
    pub line_items: OrderLines<'a>,
    pub billing_address: Option<AddressView<'a>>,
    pub shipping_address: AddressOrLink<'a>,
    /// No `sourceId`: the documented order bodies show only the card's brand and digits, and
    /// whoever reads an order must not learn what pays it.
    pub payment_method: OrderPaymentMethod<'a>,
    /// The card as an order list shows it: brand and masked number (last four digits).
    pub payment: OrderPayment,
    pub shipping_method: ShippingMethodOrEmpty,
    /// Prices are before tax, as in the cart.
    pub tax_inclusive: bool,
    pub pricing: OrderPricing<'a>,
    /// The seller of record: the site the order was placed on.
    pub business_entity_code: &'a str,
    /// Shopkeeper's payments are test mode only: every order is a test order.
    pub test_order: bool,
    /// No tax exemptions here: `false`.
    pub tax_exempt: bool,
    /// The cart's custom attributes when it was submitted.
    pub custom_attributes: CustomAttributes,
    /// The cart's customer type (`I`, `B`) and tax identifiers when it was submitted.
    pub customer_type: &'a str,
    pub tax_registrations: Vec<TaxRegistration>,
}

/// What the order's payment came to: an order exists only once the submit's (test) charge of
/// its whole total went through, and nothing is ever refunded here.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderStateDetails<'a> {
    pub description: &'static str,
    pub settled: Money<'a>,
    pub refunded: Money<'a>,
    /// The cart's `chargeType` when it was submitted (`customer_initiated` unless the
    /// storefront said otherwise).
    pub charge_type: &'a str,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderPayment {
    pub payment_method_name: String,
    pub displayable_number: String,
}

impl OrderPayment {
    pub fn new(o: &OrderRecord) -> Self {
        if o.paid_by_credit_alone() {
            // Store credit paid alone: no card to show.
            return OrderPayment {
                payment_method_name: CUSTOMER_CREDIT.to_owned(),
                displayable_number: String::new(),
            };
        }
        OrderPayment {
            payment_method_name: o.card_brand.to_lowercase(),
            displayable_number: masked_number(&o.card_last_four),
        }
    }
}

/// An order's pricing: the cart's fields, and the names order lists give three of them
/// (`incentive` = `discount`, `shipping` = `shippingAndHandling`, `total` = `orderTotal`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderPricing<'a> {
    #[serde(flatten)]
    pub pricing: Pricing<'a>,
    pub incentive: Money<'a>,
    pub shipping: Money<'a>,
    pub total: Money<'a>,
    pub formatted_incentive: String,
    pub formatted_shipping: String,
    pub formatted_total: String,
}

impl<'a> OrderPricing<'a> {
    pub fn new(o: &'a OrderRecord) -> Self {
        let totals = Totals {
            subtotal: o.subtotal_minor,
            discount: o.discount_minor,
            shipping: o.shipping_minor,
            tax: o.tax_minor,
            total: o.total_minor,
        };
        OrderPricing {
            pricing: Pricing::new(&totals, &o.currency),
            incentive: Money::new(o.discount_minor, &o.currency),
            shipping: Money::new(o.shipping_minor, &o.currency),
            total: Money::new(o.total_minor, &o.currency),
            formatted_incentive: formatted(o.discount_minor, &o.currency),
            formatted_shipping: formatted(o.shipping_minor, &o.currency),
            formatted_total: formatted(o.total_minor, &o.currency),
        }
    }
}

impl<'a> OrderView<'a> {
    pub fn new(q: &ApiQuery, o: &'a OrderRecord, lines: &'a [OrderLineRecord]) -> Self {
        let base = format!("{ORDERS}/{}", o.id);
        OrderView {
            uri: q.uri(&base),
            id: o.id,
            submission_date: iso8601(o.submitted_at),
            locale: &o.locale,
            order_state: o.status.as_str(),
            order_state_details: OrderStateDetails {
                description: "Settled",
                settled: Money::new(o.total_minor, &o.currency),
                refunded: Money::new(0, &o.currency),
                charge_type: &o.charge_type,
            },
            total_items_in_order: lines.iter().map(|l| l.quantity).sum(),
            email_address: &o.email,
            line_items: OrderLines::new(q, o, lines),
            billing_address: order_address(q, o, true),
            shipping_address: match order_address(q, o, false) {
                Some(a) => AddressOrLink::Address(a),
                None => AddressOrLink::Link(Link {
                    uri: q.uri(&format!("{base}/shipping-address")),
                }),
            },
            payment_method: OrderPaymentMethod::new(o),
            payment: OrderPayment::new(o),
            shipping_method: shipping_method(o),
            tax_inclusive: false,
            pricing: OrderPricing::new(o),
            business_entity_code: o.site_id.as_str(),
            test_order: true,
            tax_exempt: false,
            custom_attributes: CustomAttributes::of(&o.custom_attributes),
            customer_type: o.customer_type.as_deref().unwrap_or("I"),
            tax_registrations: TaxRegistration::from_json(&o.tax_registrations),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderPaymentMethod<'a> {
    /// `creditCard`, or `customerCredit` when store credit paid the whole order.
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_card: Option<OrderCard<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_credit: Option<CustomerCredit>,
    /// What the primary source paid: the total less the store credit's part.
    pub amount_contributed: Money<'a>,
    /// The store credit that paid beside the card, with what it paid.
    pub supplementary_payment_methods: Vec<OrderCreditPayment<'a>>,
}

/// Store credit as an order shows it (no `sourceId`, like the card).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreditPayment<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub customer_credit: CustomerCredit,
    pub amount_contributed: Money<'a>,
}

impl<'a> OrderPaymentMethod<'a> {
    fn new(o: &'a OrderRecord) -> Self {
        if o.paid_by_credit_alone() {
            return OrderPaymentMethod {
                kind: CUSTOMER_CREDIT,
                credit_card: None,
                customer_credit: Some(CustomerCredit::STANDARD),
                amount_contributed: Money::new(o.credit_minor, &o.currency),
                supplementary_payment_methods: Vec::new(),
            };
        }
        OrderPaymentMethod {
            kind: "creditCard",
            credit_card: Some(OrderCard {
                brand: &o.card_brand,
                last_four_digits: &o.card_last_four,
            }),
            customer_credit: None,
            amount_contributed: Money::new(o.total_minor - o.credit_minor, &o.currency),
            supplementary_payment_methods: o
                .credit_source_id
                .as_ref()
                .map(|_| OrderCreditPayment {
                    kind: CUSTOMER_CREDIT,
                    customer_credit: CustomerCredit::STANDARD,
                    amount_contributed: Money::new(o.credit_minor, &o.currency),
                })
                .into_iter()
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderCard<'a> {
    pub brand: &'a str,
    pub last_four_digits: &'a str,
}

/// `{"orders": {"uri", "order": [...], "totalResults"}}`
#[derive(Debug, Serialize, ToSchema)]
pub struct OrdersEnvelope<'a> {
    pub orders: Orders<'a>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Orders<'a> {
    pub uri: String,
    pub order: Vec<OrderView<'a>>,
    pub total_results: usize,
    /// Every order is on the one page (0 pages when there is none).
    pub total_result_pages: usize,
}

/// `{"lineItems": ...}` of an order.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderLinesEnvelope<'a> {
    pub line_items: OrderLines<'a>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderLines<'a> {
    pub uri: String,
    pub line_item: Vec<OrderLine<'a>>,
}

impl<'a> OrderLines<'a> {
    pub fn new(q: &ApiQuery, o: &'a OrderRecord, lines: &'a [OrderLineRecord]) -> Self {
        OrderLines {
            uri: q.uri(&format!("{ORDERS}/{}/line-items", o.id)),
            line_item: lines
                .iter()
                .zip(order_line_taxes(o, lines))
                .map(|(l, taxes)| OrderLine::new(q, o, l, taxes))
                .collect(),
        }
    }
}

/// `{"lineItem": ...}` of an order.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderLineEnvelope<'a> {
    pub line_item: OrderLine<'a>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine<'a> {
    pub uri: String,
    pub id: i64,
    pub quantity: i64,
    /// The order's state (Shopkeeper fulfils no line on its own).
    pub line_item_state: &'static str,
    pub line_item_state_details: LineItemStateDetails,
    pub product: LineProduct<'a>,
    pub pricing: LinePricing<'a>,
    /// The cart line's own custom attributes.
    pub custom_attributes: CustomAttributes,
}

impl<'a> OrderLine<'a> {
    /// A line of `o` with its `(product, shipping)` share of the order's tax.
    pub fn new(
        q: &ApiQuery,
        o: &'a OrderRecord,
        l: &'a OrderLineRecord,
        taxes: (i64, i64),
    ) -> Self {
        let cur = o.currency.as_str();
        OrderLine {
            uri: q.uri(&format!("{ORDERS}/{}/line-items/{}", o.id, l.id)),
            id: l.id,
            quantity: l.quantity,
            line_item_state: o.status.as_str(),
            line_item_state_details: LineItemStateDetails {
                description: None,
                back_ordered: 0,
                shipped: 0,
                returned: 0,
                pending_return: 0,
            },
            product: LineProduct::new(
                q,
                line_product_parts!(l, id: l.product_id, site: &l.site_id, has_variations: false),
            ),
            pricing: {
                let pricing = LinePricing::new(
                    l.list_price_minor,
                    l.unit_price_minor,
                    l.quantity,
                    cur,
                    taxes,
                );
                let pricing = if l.offer_discount_minor > 0 {
                    let sale = l.unit_price_minor * l.quantity - l.offer_discount_minor;
                    pricing.after_offer(l.list_price_minor, l.quantity, sale, cur)
                } else {
                    pricing
                };
                LinePricing {
                    // The rate the order was taxed at (not kept by orders placed before it was).
                    tax_rate: o.tax_rate_bp.map(rate_value),
                    ..pricing
                }
            },
            custom_attributes: CustomAttributes::of(&l.line_attributes),
        }
    }
}

/// How many of a line's units are back-ordered, shipped, returned or awaiting return:
/// Shopkeeper ships, returns and back-orders nothing, so all are 0 and there is no description.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineItemStateDetails {
    pub description: Option<String>,
    pub back_ordered: i64,
    pub shipped: i64,
    pub returned: i64,
    pub pending_return: i64,
}

/// A shopper's saved payment option: the payment method with its own link and name.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentOption<'a> {
    #[serde(flatten)]
    pub method: PaymentMethod<'a>,
    pub uri: String,
    pub id: &'a str,
    pub nick_name: String,
    pub is_default: bool,
}

impl<'a> PaymentOption<'a> {
    pub fn new(q: &ApiQuery, s: &'a PaymentSourceRecord, is_default: bool) -> Self {
        PaymentOption {
            method: PaymentMethod::new(s),
            uri: q.uri(&format!("/v1/shoppers/me/payment-options/{}", s.id)),
            id: &s.id,
            nick_name: s
                .nickname
                .clone()
                .unwrap_or_else(|| format!("{} {}", s.brand, s.last_four)),
            is_default,
        }
    }
}

/// `{"paymentOptions": {"uri", "paymentOption": [...]}}`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentOptionsEnvelope<'a> {
    pub payment_options: PaymentOptions<'a>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentOptions<'a> {
    pub uri: String,
    pub payment_option: Vec<PaymentOption<'a>>,
}

impl<'a> PaymentOptions<'a> {
    /// The shopper's options (`options`, oldest first), the default one flagged.
    pub fn new(q: &ApiQuery, options: &'a [PaymentSourceRecord]) -> Self {
        let default = default_option(options);
        PaymentOptions {
            uri: q.uri("/v1/shoppers/me/payment-options"),
            payment_option: options
                .iter()
                .map(|s| PaymentOption::new(q, s, Some(s.id.as_str()) == default))
                .collect(),
        }
    }
}

/// The id of the shopper's default payment option: the one they flagged, else the oldest.
pub fn default_option(options: &[PaymentSourceRecord]) -> Option<&str> {
    options
        .iter()
        .find(|o| o.is_default)
        .or(options.first())
        .map(|o| o.id.as_str())
}

/// `{"paymentOption": ...}`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentOptionEnvelope<'a> {
    pub payment_option: PaymentOption<'a>,
}

/// `{"submitCart": {"uri", "order": {...}}}`: the order the submit wrote, as `GET
/// orders/{id}` shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubmitCartEnvelope<'a> {
    pub submit_cart: SubmitCart<'a>,
}

///
/// The docs' sample also puts the order's parts beside `order`: its line items, pricing,
/// addresses and payment, the same views as inside it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubmitCart<'a> {
    pub uri: String,
    pub order: OrderView<'a>,
    pub line_items: OrderLines<'a>,
    pub pricing: OrderPricing<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<AddressView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<AddressView<'a>>,
    pub payment: OrderPayment,
    /// As the docs' sample shows them beside the order: the cart's customer type and tax
    /// identifiers.
    pub customer_type: &'a str,
    pub tax_registrations: Vec<TaxRegistration>,
}

impl<'a> SubmitCart<'a> {
    pub fn new(q: &ApiQuery, o: &'a OrderRecord, lines: &'a [OrderLineRecord]) -> Self {
        SubmitCart {
            uri: q.uri("/v1/shoppers/me/carts/active/submit-cart"),
            order: OrderView::new(q, o, lines),
            line_items: OrderLines::new(q, o, lines),
            pricing: OrderPricing::new(o),
            billing_address: order_address(q, o, true),
            shipping_address: order_address(q, o, false),
            payment: OrderPayment::new(o),
            customer_type: o.customer_type.as_deref().unwrap_or("I"),
            tax_registrations: TaxRegistration::from_json(&o.tax_registrations),
        }
    }
}
