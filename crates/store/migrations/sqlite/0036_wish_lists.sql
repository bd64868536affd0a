-- Wish lists (seed 003's `shoppers/me/wish-lists`; README, "Wish lists"): a signed-in
-- shopper's named lists of the site's products. `is_default` flags the list the shopper made
-- their default (at most one, kept so by the writes; without a flag the oldest is). Writes to
-- one shopper's lists take turns on the shopper's row, so the limits (lists per shopper,
-- products per list) hold under concurrent requests. A shopper's own notes: no event.
CREATE TABLE wish_lists (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    shopper_id INTEGER NOT NULL REFERENCES shoppers(id),
    name       TEXT NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX wish_lists_shopper ON wish_lists(shopper_id, id);

CREATE TABLE wish_list_products (
    wish_list_id INTEGER NOT NULL REFERENCES wish_lists(id),
    product_id   INTEGER NOT NULL REFERENCES products(id),
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    added_at     INTEGER NOT NULL,
    PRIMARY KEY (wish_list_id, product_id)
);
