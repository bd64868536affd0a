//! The event outbox's names and identifiers. Event types follow the documented Global
//! Commerce convention `resource.event`, named after the state the resource entered.

/// An order entered the `Submitted` state (the cart was submitted).
pub const ORDER_SUBMITTED: &str = "order.submitted";

/// A subscription was bought (`subscription-created-event.md`).
pub const SUBSCRIPTION_CREATED: &str = "subscription.created";

/// A renewal was charged: the next term began (`subscription-renewed-event.md`).
pub const SUBSCRIPTION_RENEWED: &str = "subscription.renewed";

/// A free trial's first charge went through: the subscription is paid from now on
/// (`subscription-trial-converted-event.md`).
pub const SUBSCRIPTION_TRIAL_CONVERTED: &str = "subscription.trial_converted";

/// A renewal's billing attempt was declined (`subscription-payment-failed-event.md`).
pub const SUBSCRIPTION_PAYMENT_FAILED: &str = "subscription.payment_failed";

/// A shopper changed a subscription (`subscription-updated-event.md`: the object and its
/// `previousAttributes`).
pub const SUBSCRIPTION_UPDATED: &str = "subscription.updated";

/// A subscription entered the `Cancelled` state (`subscription-cancelled-event.md`).
pub const SUBSCRIPTION_CANCELLED: &str = "subscription.cancelled";

/// A shopper asked to return lines of an order: the return entered `PendingProductReturn`.
pub const RETURN_REQUESTED: &str = "return.requested";

/// The merchant accepted a return (`ReturnAcknowledged`).
pub const RETURN_ACKNOWLEDGED: &str = "return.acknowledged";

/// The merchant refused a return (`Refused`): its units may be asked for again.
pub const RETURN_REFUSED: &str = "return.refused";

/// A return was refunded (`RefundedWithoutReturn`): a row of the refunds ledger.
pub const RETURN_REFUNDED: &str = "return.refunded";

/// A site's settings changed (its authorized billing or shipping countries): the payload names
/// what, with its value before and after.
pub const SITE_UPDATED: &str = "site.updated";

/// A new event id: a UUIDv7 (time-ordered, so ids sort roughly by creation across nodes)
/// from `at_millis` and fresh random bits.
pub fn new_event_id(at_millis: u64) -> String {
    let mut random = [0u8; 10];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut random);
    event_id(at_millis, &random)
}

/// The event id for `at_millis` and these random bits.
pub fn event_id(at_millis: u64, random: &[u8; 10]) -> String {
    uuid::Builder::from_unix_timestamp_millis(at_millis, random)
        .into_uuid()
        .hyphenated()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_uuid_v7_and_sort_by_time() {
        let earlier = event_id(1_700_000_000_000, &[0xff; 10]);
        let later = event_id(1_700_000_000_001, &[0; 10]);
        assert!(earlier < later, "{earlier} !< {later}");
        assert_eq!(earlier.len(), 36);
        assert_eq!(&earlier[14..15], "7", "{earlier}");
        assert_ne!(new_event_id(1), new_event_id(1));
    }
}
