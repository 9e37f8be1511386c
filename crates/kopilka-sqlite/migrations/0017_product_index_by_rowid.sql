-- A product's search entry takes the product's rowid, so that replacing a product finds its
-- entry by key (`marketing::write_products`); entries made before are made again so.
DELETE FROM products_fts;
INSERT INTO products_fts (rowid, terms, sku) SELECT rowid, terms, sku FROM products;
