-- Marketing counts the customers a target reaches (kopilka_domain::offers::Audience) with an
-- index for each kind of target. The city key is Rust's (`city_key`): SQLite's lower() knows
-- only ASCII. Rows written before it are filled in at start (`members::fill_search_keys`).
ALTER TABLE members ADD COLUMN city_key TEXT;
CREATE INDEX members_by_city_key ON members (city_key) WHERE deleted_at IS NULL;
CREATE INDEX members_city_key_to_fill ON members (id) WHERE city_key IS NULL AND city IS NOT NULL;
CREATE INDEX members_by_favourite_category ON members (favourite_category_id) WHERE deleted_at IS NULL;
CREATE INDEX members_by_birth_month ON members (substr(birth_date, 6, 2)) WHERE deleted_at IS NULL;
