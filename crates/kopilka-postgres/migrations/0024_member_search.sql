-- Staff find customers by name and by e-mail (`GET /admin/members?q`). `name_key` is the
-- name as searched (lowercased, ё as е, last name first), written by the store from
-- `kopilka_domain::member::name_key`; rows written before it are filled in at start. The
-- index compares bytes, so a prefix is a range.
ALTER TABLE members ADD COLUMN name_key TEXT;
CREATE INDEX members_by_name_key ON members (name_key COLLATE "C", id) WHERE name_key IS NOT NULL;
CREATE INDEX members_by_email ON members (email) WHERE email IS NOT NULL;
