-- Issue 24: an offer a cart applied in its body (`appliedProductOffers`/`appliedOrderOffers`)
-- keeps the storefront's description of it and the discounts it put in place of the offer's
-- own (`overrideDiscount`, a JSON array; empty: the offer's own).
ALTER TABLE cart_offer_triggers ADD COLUMN custom_description TEXT;
ALTER TABLE cart_offer_triggers ADD COLUMN overrides TEXT NOT NULL DEFAULT '[]';
