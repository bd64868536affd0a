-- A category's products page, at any catalog size, costs what a page costs: it walks this
-- index in product order and stops after the page (the index on category_id alone made every
-- page read and sort the whole category). It also serves everything the old index did.
CREATE INDEX product_categories_category_product ON product_categories(category_id, product_id);
DROP INDEX product_categories_category;

-- The page's total, kept by the membership's writes instead of counted on every read.
ALTER TABLE categories ADD COLUMN product_count BIGINT NOT NULL DEFAULT 0;
UPDATE categories SET product_count =
    (SELECT COUNT(*) FROM product_categories pc WHERE pc.category_id = categories.id);
CREATE FUNCTION product_categories_count() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE categories SET product_count = product_count + 1 WHERE id = NEW.category_id;
    ELSE
        UPDATE categories SET product_count = product_count - 1 WHERE id = OLD.category_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER product_categories_count AFTER INSERT OR DELETE ON product_categories
FOR EACH ROW EXECUTE FUNCTION product_categories_count();
