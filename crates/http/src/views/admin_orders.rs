//! The Admin API's orders (`getting-the-orders-details.md`), their invoices
//! (`downloading-the-invoice.md`) and files (`downloading-a-file.md`), in the documented
//! shapes. Amounts are `{"value": ...}` objects (no currency: the order's `currency` says it),
//! exact from the stored minor units.

use super::cart::{ShippingMethodOrEmpty, masked_number};
use super::order::{order_line_taxes, shipping_method};
use serde::Serialize;
use serde_json::Value;
use shopkeeper_domain::address::PostalAddress;
use shopkeeper_domain::catalog::amount_value;
use shopkeeper_domain::checkout::lines_paid;
use shopkeeper_domain::invoices::VAT_INVOICE;
use shopkeeper_domain::time::iso8601;
use shopkeeper_store::{FileMeta, OrderLineRecord, OrderRecord, PaymentSourceRecord};
use utoipa::ToSchema;

/// `{"value": 50.0}`
#[derive(Debug, Serialize, ToSchema)]
pub struct Amount {
    /// The exact decimal amount (from integer minor units), as a JSON number.
    #[schema(value_type = f64)]
    pub value: Value,
}

impl Amount {
    pub fn new(minor: i64, currency: &str) -> Self {
        Amount {
            value: amount_value(minor, currency),
        }
    }
}

/// `GET /v1/orders/{orderId}`: an order of the caller's site, whoever placed it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminOrderView<'a> {
    pub id: String,
    /// Units over all lines.
    pub total_items_in_cart: i64,
    /// Shopkeeper's payments are test mode only: every order is a test order.
    pub test_order: bool,
    /// Whether the order has an e-mail address to write to.
    pub send_email: bool,
    /// The locale of the session that placed it (null for orders placed before it was kept).
    pub locale: Option<&'a str>,
    pub currency: &'a str,
    /// No tax exemptions here: `false`.
    pub tax_exempt: bool,
    /// `authenticated` when a signed-in shopper placed it, else `anonymous`.
    pub shopper_login_type: &'static str,
    /// The shopper's id; null for an anonymous order.
    pub shopper_id: Option<String>,
    /// What the charge shows on a card statement: `SK*` and the site's id (22 characters at
    /// most, the card networks' limit).
    pub soft_descriptor: String,
    pub order_state: &'a str,
    pub line_items: Vec<AdminOrderLine<'a>>,
    pub pricing: AdminOrderPricing,
    /// The seller of record: the site the order was placed on.
    pub business_entity_code: &'a str,
    pub payment_methods: Vec<AdminPaymentMethod<'a>>,
    pub shipping_method: ShippingMethodOrEmpty,
    pub billing_address: Option<AdminAddress<'a>>,
    pub shipping_address: Option<AdminAddress<'a>>,
    /// Prices are before tax.
    pub tax_inclusive: bool,
    /// When it was submitted (UTC, milliseconds as the docs show them).
    pub submission_date: String,
}

/// A line of an order as the Admin API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminOrderLine<'a> {
    pub id: String,
    pub quantity: i64,
    /// The order's state (Shopkeeper fulfils no line on its own).
    pub line_item_state: &'a str,
    pub product: AdminLineProduct<'a>,
    pub pricing: AdminLinePricing,
    /// Subscriptions, downloads and digital rights are not kept per order line: empty.
    #[schema(value_type = Vec<Object>)]
    pub subscriptions: [Value; 0],
    #[schema(value_type = Vec<Object>)]
    pub downloads: [Value; 0],
    #[schema(value_type = Object)]
    pub digital_rights: Value,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminLineProduct<'a> {
    pub id: String,
    pub sku: &'a str,
    pub display_name: &'a str,
    /// The catalog's name of the product.
    pub system_product_name: &'a str,
}

/// A line's pricing: `listPrice` per unit; the others for all its units.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminLinePricing {
    /// What the line paid before tax: its sale price less its item offer and its share of the
    /// order offer (`checkout::lines_paid`, as the order's tax split and returns count it).
    pub net_price: Amount,
    pub list_price: Amount,
    /// What the line paid with its product tax.
    pub sale_price_with_quantity: Amount,
    /// The list price of its units less what it paid.
    pub total_discount_with_quantity: Amount,
    /// No landed costs here: zero.
    pub import_tax: Amount,
    pub import_duty: Amount,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminOrderPricing {
    pub total: Amount,
    /// At list prices.
    pub sub_total: Amount,
    pub subtotal_with_discount: Amount,
    pub shipping_and_handling: Amount,
    pub discount: Amount,
    pub tax: Amount,
    pub import_tax_and_duty: Amount,
    pub fees: Amount,
}

/// How the order was paid: the card (brand, masked number, expiry), or the store credit.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminPaymentMethod<'a> {
    pub name: &'a str,
    pub displayable_number: String,
    pub expiration_month: Option<String>,
    pub expiration_year: Option<String>,
}

/// An order's address: its fields and the country's English name.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminAddress<'a> {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub address: &'a PostalAddress,
    #[serde(rename = "countryName", skip_serializing_if = "Option::is_none")]
    pub country_name: Option<&'static str>,
}

impl<'a> AdminAddress<'a> {
    fn of(a: &'a Option<PostalAddress>) -> Option<Self> {
        a.as_ref().map(|address| AdminAddress {
            address,
            country_name: address.country_name(),
        })
    }
}

/// The card statement's descriptor of a site.
pub fn soft_descriptor(site: &str) -> String {
    format!("SK*{site}").chars().take(22).collect()
}

impl<'a> AdminOrderView<'a> {
    /// `o` with its lines and the sources that paid it (the card, the store credit), as read.
    pub fn new(
        o: &'a OrderRecord,
        lines: &'a [OrderLineRecord],
        sources: &'a [PaymentSourceRecord],
    ) -> Self {
        let cur = o.currency.as_str();
        let sales: Vec<i64> = lines
            .iter()
            .map(|l| l.unit_price_minor * l.quantity - l.offer_discount_minor)
            .collect();
        let paid = lines_paid(o.order_offer_discount_minor, &sales);
        let taxes = order_line_taxes(o, lines);
        let line_items = lines
            .iter()
            .zip(paid)
            .zip(taxes)
            .map(|((l, paid), (product_tax, _))| AdminOrderLine {
                id: l.id.to_string(),
                quantity: l.quantity,
                line_item_state: o.status.as_str(),
                product: AdminLineProduct {
                    id: l.product_id.to_string(),
                    sku: &l.sku,
                    display_name: &l.display_name,
                    system_product_name: &l.name,
                },
                pricing: AdminLinePricing {
                    net_price: Amount::new(paid, cur),
                    list_price: Amount::new(l.list_price_minor, cur),
                    sale_price_with_quantity: Amount::new(paid + product_tax, cur),
                    total_discount_with_quantity: Amount::new(
                        l.list_price_minor * l.quantity - paid,
                        cur,
                    ),
                    import_tax: Amount::new(0, cur),
                    import_duty: Amount::new(0, cur),
                },
                subscriptions: [],
                downloads: [],
                digital_rights: Value::Object(serde_json::Map::new()),
            })
            .collect();
        AdminOrderView {
            id: o.id.to_string(),
            total_items_in_cart: lines.iter().map(|l| l.quantity).sum(),
            test_order: true,
            send_email: o.email.is_some(),
            locale: o.locale.as_deref(),
            currency: cur,
            tax_exempt: false,
            shopper_login_type: if o.shopper_id.is_some() {
                "authenticated"
            } else {
                "anonymous"
            },
            shopper_id: o.shopper_id.map(|s| s.to_string()),
            soft_descriptor: soft_descriptor(o.site_id.as_str()),
            order_state: o.status.as_str(),
            line_items,
            pricing: AdminOrderPricing {
                total: Amount::new(o.total_minor, cur),
                sub_total: Amount::new(o.subtotal_minor, cur),
                subtotal_with_discount: Amount::new(o.subtotal_minor - o.discount_minor, cur),
                shipping_and_handling: Amount::new(o.shipping_minor, cur),
                discount: Amount::new(o.discount_minor, cur),
                tax: Amount::new(o.tax_minor, cur),
                import_tax_and_duty: Amount::new(0, cur),
                fees: Amount::new(0, cur),
            },
            business_entity_code: o.site_id.as_str(),
            payment_methods: payment_methods(o, sources),
            shipping_method: shipping_method(o),
            billing_address: AdminAddress::of(&o.addresses.billing),
            shipping_address: AdminAddress::of(&o.addresses.shipping),
            tax_inclusive: false,
            submission_date: with_millis(&iso8601(o.submitted_at)),
        }
    }
}

/// `2023-02-02T06:48:50Z` as the docs write it: `2023-02-02T06:48:50.000Z`.
fn with_millis(rfc3339: &str) -> String {
    match rfc3339.strip_suffix('Z') {
        Some(t) if !t.contains('.') => format!("{t}.000Z"),
        _ => rfc3339.to_owned(),
    }
}

/// The order's primary source first, then the store credit that paid beside it.
fn payment_methods<'a>(
    o: &'a OrderRecord,
    sources: &'a [PaymentSourceRecord],
) -> Vec<AdminPaymentMethod<'a>> {
    let source = |id: &str| sources.iter().find(|s| s.id == id);
    let mut methods = Vec::new();
    if o.paid_by_credit_alone() {
        methods.push(credit());
        return methods;
    }
    let card = source(&o.payment_source_id);
    methods.push(AdminPaymentMethod {
        name: &o.card_brand,
        displayable_number: masked_number(&o.card_last_four),
        expiration_month: card.map(|c| c.expiration_month.to_string()),
        expiration_year: card.map(|c| c.expiration_year.to_string()),
    });
    if o.credit_source_id.is_some() {
        methods.push(credit());
    }
    methods
}

fn credit<'a>() -> AdminPaymentMethod<'a> {
    AdminPaymentMethod {
        name: "Customer Credit",
        displayable_number: String::new(),
        expiration_month: None,
        expiration_year: None,
    }
}

/// `GET /v1/orders/{orderId}/invoices`: the order's invoices (none until its job ran).
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoicesView {
    pub invoices: Vec<InvoiceLink>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceLink {
    /// `vat_invoice`, as the docs show it.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `{public url}/v1/orders/{orderId}/invoices/{receiptId}` (the receipt id is the file's).
    #[serde(rename = "invoiceURL")]
    pub invoice_url: String,
}

impl InvoicesView {
    pub fn new(base: &str, order_id: i64, files: &[FileMeta]) -> Self {
        InvoicesView {
            invoices: files
                .iter()
                .map(|f| InvoiceLink {
                    kind: VAT_INVOICE,
                    invoice_url: format!("{base}/v1/orders/{order_id}/invoices/{}", f.id),
                })
                .collect(),
        }
    }
}

/// A file's bytes, as the schema names them (a PDF: `application/pdf`).
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct PdfBytes(pub Vec<u8>);

/// `GET /files/{fileId}/content` as JSON (the docs' 200 example): the file's id and name.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileView<'a> {
    pub id: &'a str,
    pub file_name: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_fit_a_card_statement() {
        assert_eq!(soft_descriptor("shopx1"), "SK*shopx1");
        assert_eq!(soft_descriptor(&"a".repeat(40)).chars().count(), 22);
    }

    #[test]
    fn dates_carry_milliseconds_as_the_docs_write_them() {
        assert_eq!(
            with_millis("2023-02-02T06:48:50Z"),
            "2023-02-02T06:48:50.000Z"
        );
        assert_eq!(
            with_millis("2023-02-02T06:48:50.5Z"),
            "2023-02-02T06:48:50.5Z"
        );
    }
}
