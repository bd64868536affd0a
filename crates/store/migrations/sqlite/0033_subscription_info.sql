-- Issue 25: what a cart line says of the subscription it buys (`lineItem.subscriptionInfo`:
-- auto renewal, the renewal terms shown to the shopper), JSON; the terms stay with the
-- subscription.
ALTER TABLE cart_line_items ADD COLUMN subscription_info TEXT;
ALTER TABLE subscriptions ADD COLUMN terms TEXT;
