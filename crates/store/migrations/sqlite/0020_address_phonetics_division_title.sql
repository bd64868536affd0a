-- Issue 22: a saved address's `phoneticFirstName`, `phoneticLastName`, `division` and `title`,
-- as the docs' address requests send them (carts and orders keep these in their address JSON).
ALTER TABLE shopper_addresses ADD COLUMN phonetic_first_name TEXT;
ALTER TABLE shopper_addresses ADD COLUMN phonetic_last_name TEXT;
ALTER TABLE shopper_addresses ADD COLUMN division TEXT;
ALTER TABLE shopper_addresses ADD COLUMN title TEXT;
