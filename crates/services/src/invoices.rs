//! Orders' invoices: the `invoice.render` job (enqueued by the submit, in its transaction)
//! renders the order's PDF from the stored order and keeps it with its `order.invoice.created`
//! event (`Store::store_invoice`, one transaction, once per order: a run after a crash that
//! finds the invoice writes nothing).
//!
//! The PDF is written with `pdf-writer` in the standard Helvetica font (WinAnsiEncoding, no
//! font file embedded), so its text is extractable as written (`pdftotext`). The rows and their
//! figures are the domain's (`domain::invoices::invoice_rows`); this module only places them.

use crate::failpoint::failpoint;
use crate::state::AppState;
use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str, TextStr};
use shopkeeper_domain::events::new_event_id;
use shopkeeper_domain::invoices::{
    CUSTOMER_INVOICE, INVOICE_JOB_KIND, Invoice, InvoiceLine, PDF_CONTENT_TYPE, Row, clipped,
    helvetica_width, invoice_file_name, invoice_rows, win_ansi,
};
use shopkeeper_domain::site::{Rgb, text_color_on};
use shopkeeper_store::{FileMeta, NewInvoice, OrderLineRecord, OrderRecord};

pub const JOB_KIND: &str = INVOICE_JOB_KIND;

/// The job's handler: its payload (`{"orderId": N}`) names the order.
pub async fn run(state: AppState, payload: String) -> Result<(), String> {
    let payload: serde_json::Value = serde_json::from_str(&payload).map_err(|e| e.to_string())?;
    let order_id = payload["orderId"]
        .as_i64()
        .ok_or_else(|| format!("no orderId in {payload}"))?;
    create_invoice(&state, order_id).await.map(|_| ())
}

/// The order's invoice: rendered and kept (with its event) unless the order has one already.
pub async fn create_invoice(state: &AppState, order_id: i64) -> Result<FileMeta, String> {
    let store = &state.store;
    let e = |e: shopkeeper_store::StoreError| e.to_string();
    let order = store
        .order_by_id(order_id)
        .await
        .map_err(e)?
        .ok_or_else(|| format!("order {order_id} does not exist"))?;
    if let Some(done) = store
        .order_invoices(&order.site_id, order_id)
        .await
        .map_err(e)?
        .into_iter()
        .next()
    {
        return Ok(done);
    }
    let lines = store.order_lines(order_id).await.map_err(e)?;
    let branding = store.site_branding(&order.site_id).await.map_err(e)?;
    let seller = branding
        .as_ref()
        .and_then(|b| b.display_name.clone())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| order.site_id.to_string());
    let mut invoice = invoice_of(&seller, &order, &lines);
    invoice.brand = branding.and_then(|b| Rgb::parse(&b.brand_color).ok());
    let bytes = render_pdf(&invoice);
    failpoint("job:invoice.render:before_store");
    let now = state.clock.now();
    let file_id = new_event_id(state.clock.now_millis());
    let event = serde_json::json!({
        "id": file_id,
        "fileId": file_id,
        "orderId": order_id.to_string(),
        "customerId": order.shopper_id.map(|s| s.to_string()),
        "purpose": CUSTOMER_INVOICE,
        "invoiceURL": format!("{}/files/{file_id}/content", state.web.public_url),
    });
    let (meta, _created) = store
        .store_invoice(
            &NewInvoice {
                file_id: &file_id,
                site_id: &order.site_id,
                order_id,
                file_name: &invoice_file_name(order_id),
                content_type: PDF_CONTENT_TYPE,
                bytes: &bytes,
                event,
            },
            now,
        )
        .await
        .map_err(e)?;
    Ok(meta)
}

/// What the invoice of a stored order shows.
pub fn invoice_of<'a>(
    seller: &'a str,
    o: &'a OrderRecord,
    lines: &'a [OrderLineRecord],
) -> Invoice<'a> {
    Invoice {
        seller,
        brand: None,
        site_id: o.site_id.as_str(),
        order_id: o.id,
        submitted_at: o.submitted_at,
        currency: &o.currency,
        billing: o.addresses.billing.as_ref(),
        shipping: o.addresses.shipping.as_ref(),
        lines: lines
            .iter()
            .map(|l| InvoiceLine {
                name: &l.display_name,
                sku: &l.sku,
                quantity: l.quantity,
                unit_minor: l.list_price_minor,
            })
            .collect(),
        subtotal_minor: o.subtotal_minor,
        discount_minor: o.discount_minor,
        shipping_minor: o.shipping_minor,
        tax_minor: o.tax_minor,
        tax_rate_bp: o.tax_rate_bp,
        total_minor: o.total_minor,
    }
}

// A4 in points, and the layout's columns.
const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const LEFT: f32 = 50.0;
const RIGHT: f32 = WIDTH - 50.0;
const QTY_RIGHT: f32 = 360.0;
const UNIT_RIGHT: f32 = 450.0;
const TOP: f32 = HEIGHT - 60.0;
/// The banner covers the title and the site's line.
const BANNER_BOTTOM: f32 = HEIGHT - 112.0;
const BOTTOM: f32 = 60.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// One page's text being laid out, top down.
struct Page {
    content: Content,
    y: f32,
}

impl Page {
    fn new() -> Self {
        Page {
            content: Content::new(),
            y: TOP,
        }
    }

    fn text(&mut self, font: Name<'_>, size: f32, x: f32, text: &str) {
        let bytes = win_ansi(text);
        self.content
            .begin_text()
            .set_font(font, size)
            .next_line(x, self.y)
            .show(Str(&bytes))
            .end_text();
    }

    /// `text` ending at `right`.
    fn text_right(&mut self, font: Name<'_>, size: f32, right: f32, text: &str) {
        let width = helvetica_width(&win_ansi(text), size);
        self.text(font, size, right - width, text);
    }
}

/// The invoice as a PDF: as many A4 pages as its rows need.
pub fn render_pdf(invoice: &Invoice<'_>) -> Vec<u8> {
    let mut pages = vec![Page::new()];
    // The banner: the seller's name and site on the brand colour, in the text colour the
    // hosted pages use on it.
    if let Some(brand) = invoice.brand {
        let rgb = |c: Rgb| {
            (
                f32::from(c.r) / 255.0,
                f32::from(c.g) / 255.0,
                f32::from(c.b) / 255.0,
            )
        };
        let (r, g, b) = rgb(brand);
        let (tr, tg, tb) = rgb(text_color_on(brand));
        pages[0]
            .content
            .set_fill_rgb(r, g, b)
            .rect(0.0, BANNER_BOTTOM, WIDTH, HEIGHT - BANNER_BOTTOM)
            .fill_nonzero()
            .set_fill_rgb(tr, tg, tb);
    }
    let mut table_head = true;
    for (i, row) in invoice_rows(invoice).into_iter().enumerate() {
        if i == 2 && invoice.brand.is_some() {
            // Below the banner: black text.
            pages[0].content.set_fill_rgb(0.0, 0.0, 0.0);
        }
        let height = match &row {
            Row::Title(_) => 26.0,
            Row::Gap => 10.0,
            Row::Heading(_) => 16.0,
            _ => 14.0,
        };
        if pages.last().is_some_and(|p| p.y - height < BOTTOM) {
            pages.push(Page::new());
        }
        let Some(page) = pages.last_mut() else {
            break;
        };
        page.y -= height;
        match row {
            Row::Title(t) => page.text(BOLD, 20.0, LEFT, &clipped(&t, 45)),
            Row::Heading(t) => page.text(BOLD, 12.0, LEFT, &t),
            Row::Text(t) => page.text(REGULAR, 10.0, LEFT, &clipped(&t, 90)),
            Row::Item {
                item,
                quantity,
                unit,
                amount,
            } => {
                // The first item row is the table's head.
                let font = if std::mem::take(&mut table_head) {
                    BOLD
                } else {
                    REGULAR
                };
                page.text(font, 10.0, LEFT, &clipped(&item, 44));
                page.text_right(font, 10.0, QTY_RIGHT, &quantity);
                page.text_right(font, 10.0, UNIT_RIGHT, &unit);
                page.text_right(font, 10.0, RIGHT, &amount);
            }
            Row::Total {
                label,
                amount,
                grand,
            } => {
                let (font, size) = if grand { (BOLD, 12.0) } else { (REGULAR, 10.0) };
                page.text_right(font, size, UNIT_RIGHT, &label);
                page.text_right(font, size, RIGHT, &amount);
            }
            Row::Gap => {}
        }
    }

    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let first_page = 6;
    let page_ref = |i: usize| Ref::new(first_page + 2 * i32::try_from(i).unwrap_or(0));
    let content_ref = |i: usize| Ref::new(first_page + 1 + 2 * i32::try_from(i).unwrap_or(0));

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids((0..pages.len()).map(page_ref))
        .count(i32::try_from(pages.len()).unwrap_or(1));
    for (font, name) in [(regular, "Helvetica"), (bold, "Helvetica-Bold")] {
        pdf.type1_font(font)
            .base_font(Name(name.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    let title = format!("Invoice {}", invoice.order_id);
    pdf.document_info(info)
        .title(TextStr(&title))
        .producer(TextStr("Shopkeeper"));
    for (i, page) in pages.into_iter().enumerate() {
        let mut writer = pdf.page(page_ref(i));
        writer
            .parent(tree)
            .media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT))
            .contents(content_ref(i));
        writer
            .resources()
            .fonts()
            .pair(REGULAR, regular)
            .pair(BOLD, bold);
        drop(writer);
        pdf.stream(content_ref(i), &page.content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shopkeeper_domain::invoices::InvoiceLine;

    fn invoice(lines: usize) -> Vec<u8> {
        let names: Vec<String> = (0..lines).map(|i| format!("Product {i}")).collect();
        render_pdf(&Invoice {
            seller: "Acme Café",
            brand: Some(Rgb::parse("#1a73e8").unwrap()),
            site_id: "acme",
            order_id: 9,
            submitted_at: 1_700_000_000,
            currency: "USD",
            billing: None,
            shipping: None,
            lines: names
                .iter()
                .map(|n| InvoiceLine {
                    name: n,
                    sku: "",
                    quantity: 1,
                    unit_minor: 100,
                })
                .collect(),
            subtotal_minor: 100 * lines as i64,
            discount_minor: 0,
            shipping_minor: 0,
            tax_minor: 0,
            tax_rate_bp: None,
            total_minor: 100 * lines as i64,
        })
    }

    fn count(haystack: &[u8], needle: &[u8]) -> usize {
        haystack
            .windows(needle.len())
            .filter(|w| *w == needle)
            .count()
    }

    #[test]
    fn a_pdf_with_the_standard_fonts_and_the_text_as_written() {
        let pdf = invoice(2);
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.ends_with(b"%%EOF") || pdf.ends_with(b"%%EOF\n"));
        assert_eq!(count(&pdf, b"/Helvetica-Bold"), 1);
        assert_eq!(count(&pdf, b"/Type /Page\n"), 1, "one page");
        // Uncompressed content: the text is there in WinAnsi bytes (non-ASCII as hex).
        assert_eq!(count(&pdf.to_ascii_lowercase(), b"<41636d6520436166e9>"), 1);
        assert_eq!(count(&pdf, b"(Product 1)"), 1);
    }

    #[test]
    fn long_invoices_continue_on_more_pages() {
        let pdf = invoice(120);
        assert!(count(&pdf, b"/Type /Page\n") >= 3);
        assert_eq!(count(&pdf, b"(Product 119)"), 1);
    }
}
