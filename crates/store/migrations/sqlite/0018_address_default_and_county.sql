-- Issue 22: a saved address's `isDefault` (at most one per shopper, kept so by the store) and
-- its `countyName`, as the docs' address requests send them.
ALTER TABLE shopper_addresses ADD COLUMN is_default INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shopper_addresses ADD COLUMN county_name TEXT;
