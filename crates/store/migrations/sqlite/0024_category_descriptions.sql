-- Issue 22: a category's `shortDescription`, `longDescription` and `thumbnailImage`, as the
-- docs' category answers show them (the import file gives them).
ALTER TABLE categories ADD COLUMN short_description TEXT NOT NULL DEFAULT '';
ALTER TABLE categories ADD COLUMN long_description TEXT NOT NULL DEFAULT '';
ALTER TABLE categories ADD COLUMN thumbnail_image TEXT;
