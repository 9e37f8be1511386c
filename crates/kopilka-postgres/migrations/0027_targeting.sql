-- Marketing counts the customers a target reaches (kopilka_domain::offers::Audience) with an
-- index for each kind of target. The city key is Rust's (`city_key`), as on SQLite. Rows
-- written before it are filled in at start (`members::fill_search_keys`).
ALTER TABLE members ADD COLUMN city_key TEXT;
CREATE INDEX members_by_city_key ON members (city_key) WHERE deleted_at IS NULL;
CREATE INDEX members_city_key_to_fill ON members (id) WHERE city_key IS NULL AND city IS NOT NULL;
CREATE INDEX members_by_favourite_category ON members (favourite_category_id) WHERE deleted_at IS NULL;
CREATE INDEX members_by_birth_month ON members ((extract(month FROM birth_date))) WHERE deleted_at IS NULL;

-- Marketing creates offers and promotions in the back office; the seed gave its own ids.
CREATE SEQUENCE offers_id_seq OWNED BY offers.id;
SELECT setval('offers_id_seq', greatest((SELECT max(id) FROM offers), 0) + 1, false);
ALTER TABLE offers ALTER COLUMN id SET DEFAULT nextval('offers_id_seq');
CREATE SEQUENCE promotions_id_seq OWNED BY promotions.id;
SELECT setval('promotions_id_seq', greatest((SELECT max(id) FROM promotions), 0) + 1, false);
ALTER TABLE promotions ALTER COLUMN id SET DEFAULT nextval('promotions_id_seq');
