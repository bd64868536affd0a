//! Files the Admin API serves, and the orders' invoices among them. The submit enqueues an
//! order's invoice job in its own transaction ([`enqueue_invoice`]); the job stores the
//! rendered PDF and appends `order.invoice.created` in one transaction
//! ([`Store::store_invoice`]), once per order: a job run again after a crash finds the file
//! and writes nothing.

use super::{Store, StoreResult};
use shopkeeper_domain::SiteId;
use shopkeeper_domain::invoices::{
    CUSTOMER_INVOICE, INVOICE_JOB_KIND, INVOICE_MAX_ATTEMPTS, ORDER_INVOICE_CREATED,
    invoice_job_key,
};
use shopkeeper_domain::time::UnixSeconds;
use sqlx::AnyConnection;

/// A stored file without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FileMeta {
    /// A UUID.
    pub id: String,
    #[sqlx(try_from = "String")]
    pub site_id: SiteId,
    pub order_id: Option<i64>,
    pub purpose: String,
    pub file_name: String,
    pub content_type: String,
    pub created_at: i64,
}

/// A stored file with its bytes.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FileRecord {
    #[sqlx(flatten)]
    pub meta: FileMeta,
    pub bytes: Vec<u8>,
}

/// A rendered invoice to keep.
#[derive(Debug, Clone)]
pub struct NewInvoice<'a> {
    /// The new file's id (a UUID); unused when the order has its invoice already.
    pub file_id: &'a str,
    pub site_id: &'a SiteId,
    pub order_id: i64,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub bytes: &'a [u8],
    /// The `order.invoice.created` event's payload.
    pub event: serde_json::Value,
}

const META: &str = "id, site_id, order_id, purpose, file_name, content_type, created_at";

/// Enqueues the order's invoice job inside the caller's transaction (a key per order: a
/// second enqueue adds nothing). Due at once.
pub(crate) async fn enqueue_invoice(
    conn: &mut AnyConnection,
    order_id: i64,
    now: UnixSeconds,
) -> StoreResult<()> {
    let now_ms = now.saturating_mul(1000);
    sqlx::query(
        "INSERT INTO jobs (kind, unique_key, payload, state, run_at_ms, max_attempts, \
         created_at_ms, updated_at_ms) VALUES ($1, $2, $3, 'queued', $4, $5, $4, $4) \
         ON CONFLICT (unique_key) DO NOTHING",
    )
    .bind(INVOICE_JOB_KIND)
    .bind(invoice_job_key(order_id))
    .bind(serde_json::json!({ "orderId": order_id }).to_string())
    .bind(now_ms)
    .bind(i64::from(INVOICE_MAX_ATTEMPTS))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// Keeps an order's invoice and appends its event, in one transaction; returns the order's
    /// invoice and whether this call created it (false: it existed, nothing was written).
    pub async fn store_invoice(
        &self,
        new: &NewInvoice<'_>,
        now: UnixSeconds,
    ) -> StoreResult<(FileMeta, bool)> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO files (id, site_id, order_id, purpose, file_name, content_type, bytes, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (order_id, purpose) DO NOTHING",
        )
        .bind(new.file_id)
        .bind(new.site_id.as_str())
        .bind(new.order_id)
        .bind(CUSTOMER_INVOICE)
        .bind(new.file_name)
        .bind(new.content_type)
        .bind(new.bytes)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            crate::events::append_event(
                &mut tx,
                new.site_id,
                ORDER_INVOICE_CREATED,
                &new.event,
                now,
            )
            .await?;
        }
        let meta: FileMeta = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {META} FROM files WHERE order_id = $1 AND purpose = $2"
        )))
        .bind(new.order_id)
        .bind(CUSTOMER_INVOICE)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((meta, inserted))
    }

    /// The order's invoices (oldest first; none until its job ran).
    pub async fn order_invoices(
        &self,
        site_id: &SiteId,
        order_id: i64,
    ) -> StoreResult<Vec<FileMeta>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {META} FROM files WHERE site_id = $1 AND order_id = $2 AND purpose = $3 \
             ORDER BY created_at, id"
        )))
        .bind(site_id.as_str())
        .bind(order_id)
        .bind(CUSTOMER_INVOICE)
        .fetch_all(&self.read)
        .await?)
    }

    /// A file of the site, with its bytes.
    pub async fn file_of_site(
        &self,
        site_id: &SiteId,
        file_id: &str,
    ) -> StoreResult<Option<FileRecord>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {META}, bytes FROM files WHERE site_id = $1 AND id = $2"
        )))
        .bind(site_id.as_str())
        .bind(file_id)
        .fetch_optional(&self.read)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shopkeeper_domain::SessionTtl;

    #[tokio::test]
    async fn an_order_keeps_one_invoice_and_one_event_however_often_it_is_stored() {
        let (_dir, store) = crate::scratch_store().await;
        let site = SiteId::parse("inv").unwrap();
        store
            .create_site(&site, SessionTtl::from_seconds(60).unwrap(), 1_700_000_000)
            .await
            .unwrap();
        // A bare order row: the store's own tests need no cart.
        let order_id: i64 = sqlx::query_scalar(
            "INSERT INTO orders (site_id, session_id, currency, subtotal_minor, discount_minor, \
             shipping_minor, tax_minor, total_minor, billing_address, payment_source_id, \
             card_brand, card_last_four, status, submitted_at) VALUES ($1, 's', 'USD', 100, 0, \
             0, 0, 100, '{}', 'src', 'Visa', '1111', 'Submitted', 1) RETURNING id",
        )
        .bind(site.as_str())
        .fetch_one(&mut *store.writer().await.unwrap())
        .await
        .unwrap();
        let new = |file_id: &'static str, bytes: &'static [u8]| NewInvoice {
            file_id,
            site_id: &site,
            order_id,
            file_name: "invoice.pdf",
            content_type: "application/pdf",
            bytes,
            event: serde_json::json!({ "fileId": file_id }),
        };
        let (first, created) = store
            .store_invoice(&new("f-1", b"%PDF-1"), 5)
            .await
            .unwrap();
        assert!(created);
        let (again, created) = store
            .store_invoice(&new("f-2", b"%PDF-2"), 6)
            .await
            .unwrap();
        assert!(!created, "a second run writes nothing");
        assert_eq!(first, again);
        assert_eq!(
            store.order_invoices(&site, order_id).await.unwrap(),
            [first]
        );
        let file = store.file_of_site(&site, "f-1").await.unwrap().unwrap();
        assert_eq!(file.bytes, b"%PDF-1");
        assert!(store.file_of_site(&site, "f-2").await.unwrap().is_none());
        let other = SiteId::parse("other").unwrap();
        assert!(store.file_of_site(&other, "f-1").await.unwrap().is_none());
        let events = store.events_after(&site, 0, 10).await.unwrap();
        assert_eq!(
            events
                .iter()
                .map(|e| e.event_type.as_str())
                .collect::<Vec<_>>(),
            [ORDER_INVOICE_CREATED]
        );
    }
}
