-- Issue 22: a product's `manufacturerName` and its custom attributes (a JSON list of
-- {name, type, value}; a variation's own attributes among them), as the docs' answers show.
ALTER TABLE products ADD COLUMN manufacturer_name TEXT;
ALTER TABLE products ADD COLUMN custom_attributes TEXT NOT NULL DEFAULT '[]';
-- Products stored before this list their variation attributes as String attributes, as an
-- import does from now on.
UPDATE products SET custom_attributes = (
    SELECT COALESCE(json_agg(json_build_object('name', key, 'type', 'String', 'value', value)
                             ORDER BY key), '[]')::text
    FROM jsonb_each_text(products.variation_attributes::jsonb)
) WHERE variation_attributes <> '{}';
