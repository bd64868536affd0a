//! The start of every cart write: who writes (a limited or a full token) and what a limited
//! writer drops first. Its own module so that every module writing carts (checkout, offers)
//! depends on it and not on each other.

use super::StoreResult;
use shopkeeper_domain::SessionId;
use sqlx::AnyConnection;

/// Who writes a session's cart. A write by a limited token (a guest's, or one the browser's
/// `SessionToken` hands to any page, even in a signed-in session) first drops what only the
/// shopper's full tokens may use: the addresses `apply-shopper` copied from the account and a
/// source that belongs to a shopper. Every cart write takes one, and does that in its own
/// transaction, so no limited write can leave them in place.
#[derive(Debug, Clone, Copy)]
pub struct CartWriter<'a> {
    pub session_id: &'a SessionId,
    /// The signed-in shopper of a full token; `None` for a limited token.
    pub full_token_shopper: Option<i64>,
}

/// The start of every cart write, in its transaction: makes sure the cart row exists and takes
/// its lock (a concurrent submit, which locks it first, sees all of this write or none of it);
/// for a limited writer, drops the addresses copied from the shopper's account and a source
/// that belongs to a shopper.
pub(crate) async fn start_cart_write(
    conn: &mut AnyConnection,
    w: CartWriter<'_>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO carts (session_id) VALUES ($1) ON CONFLICT (session_id) \
         DO UPDATE SET version = carts.version + 1",
    )
    .bind(w.session_id.as_str())
    .execute(&mut *conn)
    .await?;
    if w.full_token_shopper.is_none() {
        sqlx::query(
            "UPDATE carts SET \
             billing_address = CASE WHEN billing_from_account = 1 THEN NULL \
             ELSE billing_address END, \
             shipping_address = CASE WHEN shipping_from_account = 1 THEN NULL \
             ELSE shipping_address END, \
             billing_from_account = 0, shipping_from_account = 0 \
             WHERE session_id = $1",
        )
        .bind(w.session_id.as_str())
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE carts SET payment_source_id = NULL, source_dropped = 1 \
             WHERE session_id = $1 AND EXISTS (SELECT 1 FROM payment_sources s \
             WHERE s.id = carts.payment_source_id AND s.claimed_shopper_id IS NOT NULL)",
        )
        .bind(w.session_id.as_str())
        .execute(&mut *conn)
        .await?;
        // Store credit a shopper's full token applied is the shopper's money too.
        sqlx::query(
            "UPDATE carts SET credit_source_id = NULL \
             WHERE session_id = $1 AND EXISTS (SELECT 1 FROM payment_sources s \
             WHERE s.id = carts.credit_source_id AND s.claimed_shopper_id IS NOT NULL)",
        )
        .bind(w.session_id.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
