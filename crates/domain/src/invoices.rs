//! An order's invoice: the job that renders it, the stored file's names, and what the document
//! says, line by line (pure: the PDF writer in `services::invoices` only places these rows).
//! Amounts are exact: every figure is the order's stored minor units, formatted by
//! `catalog::formatted`.

use crate::address::PostalAddress;
use crate::catalog::formatted;
use crate::site::Rgb;
use crate::time::UnixSeconds;

/// The job kind that renders an order's invoice (one job per order, enqueued by the submit).
pub const INVOICE_JOB_KIND: &str = "invoice.render";

/// Attempts before an invoice job is `dead` (its error kept on the job row).
pub const INVOICE_MAX_ATTEMPTS: u32 = 8;

/// The purpose of an invoice file, as `order.invoice.created` names it.
pub const CUSTOMER_INVOICE: &str = "customer_invoice";

/// The invoice's `type` in `GET /v1/orders/{orderId}/invoices` (the docs' only value).
pub const VAT_INVOICE: &str = "vat_invoice";

/// An invoice file's content type.
pub const PDF_CONTENT_TYPE: &str = "application/pdf";

/// The event an invoice's creation appends to the outbox.
pub const ORDER_INVOICE_CREATED: &str = "order.invoice.created";

/// The job's unique key: one invoice job per order, however often it is enqueued.
pub fn invoice_job_key(order_id: i64) -> String {
    format!("{INVOICE_JOB_KIND}:{order_id}")
}

/// The invoice file's name.
pub fn invoice_file_name(order_id: i64) -> String {
    format!("invoice-{order_id}.pdf")
}

/// One priced line of the invoice: the product's name, units, and its list price per unit
/// and for the units (the order's subtotal is at list prices; what sale prices and offers took
/// off is the discount row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceLine<'a> {
    pub name: &'a str,
    pub sku: &'a str,
    pub quantity: i64,
    pub unit_minor: i64,
}

impl InvoiceLine<'_> {
    pub fn line_minor(&self) -> i64 {
        self.unit_minor.saturating_mul(self.quantity)
    }
}

/// What an invoice shows: the seller, the order, its addresses, lines and totals.
#[derive(Debug, Clone)]
pub struct Invoice<'a> {
    /// The site's display name (its id when it has none).
    pub seller: &'a str,
    /// The site's brand colour (the hosted pages' `--brand-color`): the invoice's banner.
    pub brand: Option<Rgb>,
    pub site_id: &'a str,
    pub order_id: i64,
    pub submitted_at: UnixSeconds,
    pub currency: &'a str,
    pub billing: Option<&'a PostalAddress>,
    pub shipping: Option<&'a PostalAddress>,
    pub lines: Vec<InvoiceLine<'a>>,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub shipping_minor: i64,
    pub tax_minor: i64,
    /// The rate the order was taxed at, in basis points (`None`: not kept).
    pub tax_rate_bp: Option<i64>,
    pub total_minor: i64,
}

/// One row of the document, top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// The seller's name, large.
    Title(String),
    /// A caption in bold (`Invoice`, `Bill to`, the table's head).
    Heading(String),
    Text(String),
    /// A line of the table: item, quantity, unit price, line price.
    Item {
        item: String,
        quantity: String,
        unit: String,
        amount: String,
    },
    /// A row of the totals: label and amount (bold for the grand total).
    Total {
        label: String,
        amount: String,
        grand: bool,
    },
    Gap,
}

/// The calendar date of `at` (UTC), `YYYY-MM-DD`.
pub fn invoice_date(at: UnixSeconds) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .map(|t| t.date().to_string())
        .unwrap_or_default()
}

/// A basis-point rate as a percentage without trailing zeros (725 → `7.25%`, 1000 → `10%`).
pub fn percent(rate_bp: i64) -> String {
    let whole = rate_bp / 100;
    let cents = (rate_bp % 100).abs();
    match cents {
        0 => format!("{whole}%"),
        c if c % 10 == 0 => format!("{whole}.{}%", c / 10),
        c => format!("{whole}.{c:02}%"),
    }
}

/// An address as the lines of a letter: name, company, street lines, city line, country.
pub fn address_lines(a: &PostalAddress) -> Vec<String> {
    let name = [a.first_name.as_deref(), a.last_name.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let city = [
        Some(a.city.as_str()),
        a.country_subdivision.as_deref(),
        a.postal_code.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.trim().is_empty())
    .collect::<Vec<_>>()
    .join(" ");
    let country = match a.country_name() {
        Some(name) => name.to_owned(),
        None => a.country.clone(),
    };
    [
        Some(name),
        a.company_name.clone(),
        Some(a.line1.clone()),
        a.line2.clone(),
        a.line3.clone(),
        Some(city),
        Some(country),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.trim().is_empty())
    .collect()
}

/// The document's rows, in order.
pub fn invoice_rows(inv: &Invoice<'_>) -> Vec<Row> {
    let money = |minor: i64| formatted(minor, inv.currency);
    let mut rows = vec![
        Row::Title(inv.seller.to_owned()),
        Row::Text(format!("Site: {}", inv.site_id)),
        Row::Gap,
        Row::Heading("Invoice".to_owned()),
        Row::Text(format!("Order: {}", inv.order_id)),
        Row::Text(format!("Date: {}", invoice_date(inv.submitted_at))),
        Row::Text(format!("Currency: {}", inv.currency)),
        Row::Gap,
    ];
    for (caption, address) in [("Bill to", inv.billing), ("Ship to", inv.shipping)] {
        if let Some(a) = address {
            rows.push(Row::Heading(caption.to_owned()));
            rows.extend(address_lines(a).into_iter().map(Row::Text));
            rows.push(Row::Gap);
        }
    }
    rows.push(Row::Item {
        item: "Item".to_owned(),
        quantity: "Qty".to_owned(),
        unit: "Unit price".to_owned(),
        amount: "Line price".to_owned(),
    });
    for l in &inv.lines {
        let item = if l.sku.is_empty() || l.sku == l.name {
            l.name.to_owned()
        } else {
            format!("{} ({})", l.name, l.sku)
        };
        rows.push(Row::Item {
            item,
            quantity: l.quantity.to_string(),
            unit: money(l.unit_minor),
            amount: money(l.line_minor()),
        });
    }
    rows.push(Row::Gap);
    let total = |label: &str, minor: i64| Row::Total {
        label: label.to_owned(),
        amount: money(minor),
        grand: false,
    };
    rows.push(total("Subtotal", inv.subtotal_minor));
    rows.push(total("Discount", -inv.discount_minor));
    rows.push(total("Shipping", inv.shipping_minor));
    let tax = match inv.tax_rate_bp {
        Some(bp) => format!("Tax ({})", percent(bp)),
        None => "Tax".to_owned(),
    };
    rows.push(total(&tax, inv.tax_minor));
    rows.push(Row::Total {
        label: "Total".to_owned(),
        amount: money(inv.total_minor),
        grand: true,
    });
    rows
}

/// `text` in the PDF standard fonts' WinAnsiEncoding: Latin-1 as itself, the few characters
/// Windows-1252 adds (the euro sign, typographic quotes and dashes) at their codes, control
/// characters as spaces, anything else as `?`.
pub fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '™' => 0x99,
            c if c.is_control() => b' ',
            _ => b'?',
        })
        .collect()
}

/// Helvetica's advance width of a WinAnsi byte, in thousandths of the font size (the AFM's
/// figures for digits, punctuation and capitals, which amounts are made of; 556 for the rest,
/// the width of a digit).
fn helvetica_advance(b: u8) -> u32 {
    match b {
        b' ' | b'.' | b',' | b':' | b'I' | b'!' | b'/' => 278,
        b'-' | b'(' | b')' => 333,
        b'%' => 889,
        b'A' | b'B' | b'E' | b'K' | b'P' | b'S' | b'V' | b'X' | b'Y' => 667,
        b'C' | b'D' | b'H' | b'N' | b'R' | b'U' => 722,
        b'F' | b'T' | b'Z' => 611,
        b'G' | b'O' | b'Q' => 778,
        b'J' => 500,
        b'L' => 556,
        b'M' => 833,
        b'W' => 944,
        _ => 556,
    }
}

/// The width of WinAnsi `text` in Helvetica at `size` points (for right-aligned amounts).
pub fn helvetica_width(text: &[u8], size: f32) -> f32 {
    let units: u32 = text.iter().map(|b| helvetica_advance(*b)).sum();
    units as f32 * size / 1000.0
}

/// `text` cut to at most `max` characters, an ellipsis marking the cut.
pub fn clipped(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address() -> PostalAddress {
        serde_json::from_value(serde_json::json!({
            "firstName": "Ada", "lastName": "Lovelace", "line1": "10380 Bren Rd W",
            "city": "Minnetonka", "countrySubdivision": "MN", "postalCode": "55343",
            "country": "US"
        }))
        .unwrap()
    }

    #[test]
    fn job_key_and_file_name_name_the_order() {
        assert_eq!(invoice_job_key(42), "invoice.render:42");
        assert_eq!(invoice_file_name(42), "invoice-42.pdf");
    }

    #[test]
    fn rates_read_as_short_percentages() {
        assert_eq!(percent(725), "7.25%");
        assert_eq!(percent(1000), "10%");
        assert_eq!(percent(750), "7.5%");
        assert_eq!(percent(5), "0.05%");
        assert_eq!(percent(0), "0%");
    }

    #[test]
    fn the_date_is_the_utc_calendar_day() {
        assert_eq!(invoice_date(1_675_320_530), "2023-02-02");
    }

    #[test]
    fn an_address_reads_as_a_letter() {
        assert_eq!(
            address_lines(&address()),
            [
                "Ada Lovelace",
                "10380 Bren Rd W",
                "Minnetonka MN 55343",
                "United States of America"
            ]
        );
    }

    #[test]
    fn rows_carry_each_line_and_the_exact_totals() {
        let a = address();
        let inv = Invoice {
            seller: "Acme",
            brand: None,
            site_id: "acme",
            order_id: 7,
            submitted_at: 1_675_320_530,
            currency: "USD",
            billing: Some(&a),
            shipping: None,
            lines: vec![InvoiceLine {
                name: "Widget",
                sku: "W-1",
                quantity: 3,
                unit_minor: 1_999,
            }],
            subtotal_minor: 5_997,
            discount_minor: 600,
            shipping_minor: 999,
            tax_minor: 391,
            tax_rate_bp: Some(725),
            total_minor: 6_787,
        };
        let rows = invoice_rows(&inv);
        assert_eq!(rows[0], Row::Title("Acme".into()));
        assert!(rows.contains(&Row::Text("Order: 7".into())));
        assert!(rows.contains(&Row::Text("Date: 2023-02-02".into())));
        assert!(rows.contains(&Row::Heading("Bill to".into())));
        assert!(!rows.contains(&Row::Heading("Ship to".into())));
        assert!(rows.contains(&Row::Item {
            item: "Widget (W-1)".into(),
            quantity: "3".into(),
            unit: "$19.99".into(),
            amount: "$59.97".into(),
        }));
        let totals: Vec<(String, String)> = rows
            .iter()
            .filter_map(|r| match r {
                Row::Total { label, amount, .. } => Some((label.clone(), amount.clone())),
                _ => None,
            })
            .collect();
        let pair = |l: &str, a: &str| (l.to_owned(), a.to_owned());
        assert_eq!(
            totals,
            [
                pair("Subtotal", "$59.97"),
                pair("Discount", "-$6.00"),
                pair("Shipping", "$9.99"),
                pair("Tax (7.25%)", "$3.91"),
                pair("Total", "$67.87"),
            ]
        );
        assert_eq!(
            rows.last(),
            Some(&Row::Total {
                label: "Total".into(),
                amount: "$67.87".into(),
                grand: true
            })
        );
    }

    #[test]
    fn other_currencies_keep_their_minor_digits() {
        let inv = Invoice {
            seller: "s",
            brand: None,
            site_id: "s",
            order_id: 1,
            submitted_at: 0,
            currency: "BHD",
            billing: None,
            shipping: None,
            lines: vec![],
            subtotal_minor: 7_468,
            discount_minor: 0,
            shipping_minor: 0,
            tax_minor: 0,
            tax_rate_bp: None,
            total_minor: 7_468,
        };
        let rows = invoice_rows(&inv);
        assert!(rows.contains(&Row::Total {
            label: "Total".into(),
            amount: "7.468 BHD".into(),
            grand: true
        }));
        assert!(rows.contains(&Row::Total {
            label: "Tax".into(),
            amount: "0.000 BHD".into(),
            grand: false
        }));
    }

    #[test]
    fn text_is_encoded_for_the_standard_fonts() {
        assert_eq!(win_ansi("Café 5€"), b"Caf\xe9 5\x80");
        assert_eq!(win_ansi("“x”—y"), b"\x93x\x94\x97y");
        assert_eq!(win_ansi("日本\n"), b"?? ");
    }

    #[test]
    fn widths_follow_helvetica() {
        // "$19.99": $ 556, 1 556, 9 556, . 278, 9 556, 9 556 = 3058 thousandths.
        assert!((helvetica_width(b"$19.99", 10.0) - 30.58).abs() < 1e-3);
        assert!(helvetica_width(b"W", 10.0) > helvetica_width(b"I", 10.0));
    }

    #[test]
    fn long_names_are_clipped_with_an_ellipsis() {
        assert_eq!(clipped("short", 10), "short");
        assert_eq!(clipped("abcdefghijkl", 5), "abcd…");
    }
}
