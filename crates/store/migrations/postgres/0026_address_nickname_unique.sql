-- Issue 22: a nickname names one of a shopper's addresses (the docs' rule). The rule was a
-- read then a write, so two concurrent saves of one new nickname could make two addresses;
-- the index makes it one, and a save of a nickname already used updates that address
-- (INSERT ... ON CONFLICT). Duplicates made before keep their nickname on the oldest address.
UPDATE shopper_addresses SET nickname = NULL
WHERE nickname IS NOT NULL AND id NOT IN (
    SELECT MIN(id) FROM shopper_addresses WHERE nickname IS NOT NULL
    GROUP BY shopper_id, nickname
);
CREATE UNIQUE INDEX shopper_addresses_nickname ON shopper_addresses(shopper_id, nickname);
