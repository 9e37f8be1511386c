-- Products and their search index: the terms are Snowball stems made by the application
-- (kopilka_domain::search), so SQLite and PostgreSQL match the same tokens.
CREATE TABLE products (
    sku         TEXT PRIMARY KEY,
    category_id INTEGER NOT NULL REFERENCES categories (id),
    name        TEXT NOT NULL,
    price_kop   INTEGER NOT NULL CHECK (price_kop >= 0),
    unit        TEXT NOT NULL,
    terms       TEXT NOT NULL,
    lead_term   TEXT NOT NULL
) STRICT;
CREATE INDEX products_by_category ON products (category_id, name, sku);
CREATE INDEX products_by_name ON products (name, sku);
CREATE VIRTUAL TABLE products_fts USING fts5 (terms, sku UNINDEXED, tokenize = 'unicode61 remove_diacritics 0');

-- Lower-cased by the application (SQLite's lower() knows only ASCII); stores get it when upserted.
ALTER TABLE stores ADD COLUMN city_key TEXT NOT NULL DEFAULT '';
CREATE INDEX stores_by_place ON stores (lat, lon);
CREATE INDEX stores_by_city ON stores (city_key, id);

CREATE TABLE promotions (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('promotion', 'event')),
    title       TEXT NOT NULL,
    description TEXT NOT NULL,
    city        TEXT,
    city_key    TEXT,
    store_id    INTEGER REFERENCES stores (id),
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL CHECK (ends_at > starts_at)
) STRICT;
CREATE INDEX promotions_by_end ON promotions (kind, ends_at);

-- An offer's reward and target are small tagged values (kopilka_domain::offers), kept as JSON.
CREATE TABLE offers (
    id                 INTEGER PRIMARY KEY,
    title              TEXT NOT NULL,
    description        TEXT NOT NULL,
    reward             TEXT NOT NULL,
    target             TEXT NOT NULL,
    starts_at          INTEGER NOT NULL,
    ends_at            INTEGER NOT NULL CHECK (ends_at > starts_at),
    per_customer_limit INTEGER NOT NULL CHECK (per_customer_limit > 0)
) STRICT;
CREATE INDEX offers_by_end ON offers (ends_at);

CREATE TABLE offer_activations (
    member_id    INTEGER NOT NULL REFERENCES members (id),
    offer_id     INTEGER NOT NULL REFERENCES offers (id),
    activated_at INTEGER NOT NULL,
    uses         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (member_id, offer_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX purchases_by_member ON purchases (member_id, purchased_at);

CREATE TABLE tickets (
    id         INTEGER PRIMARY KEY,
    member_id  INTEGER REFERENCES members (id),
    channel    TEXT NOT NULL CHECK (channel IN ('account', 'customer', 'employee_contractor')),
    name       TEXT,
    phone      TEXT,
    email      TEXT,
    subject    TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('open', 'answered', 'closed')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX tickets_by_member ON tickets (member_id, id);
CREATE INDEX tickets_by_activity ON tickets (status, updated_at);

CREATE TABLE ticket_messages (
    id        INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    author    TEXT NOT NULL CHECK (author IN ('customer', 'staff')),
    staff_id  INTEGER REFERENCES staff (id),
    body      TEXT NOT NULL,
    at        INTEGER NOT NULL
) STRICT;
CREATE INDEX ticket_messages_by_ticket ON ticket_messages (ticket_id, id);
