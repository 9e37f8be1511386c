-- Products and their search index: the terms are Snowball stems made by the application
-- (kopilka_domain::search), space-separated. They are indexed as they are, one lexeme each,
-- not through to_tsvector: its parser drops or splits characters such as «½» and «²» that
-- the application and SQLite's FTS5 keep in a term, and the stores must match the same tokens.
CREATE TABLE products (
    sku         TEXT PRIMARY KEY,
    category_id BIGINT NOT NULL REFERENCES categories (id),
    name        TEXT NOT NULL,
    price_kop   BIGINT NOT NULL CHECK (price_kop >= 0),
    unit        TEXT NOT NULL,
    terms       TEXT NOT NULL,
    lead_term   TEXT NOT NULL,
    search      TSVECTOR GENERATED ALWAYS AS (array_to_tsvector(array_remove(string_to_array(terms, ' '), ''))) STORED
);
-- Pages are in code-point order, as SQLite's BINARY: name and sku both compare COLLATE "C".
CREATE INDEX products_by_category ON products (category_id, name COLLATE "C", sku COLLATE "C");
CREATE INDEX products_by_name ON products (name COLLATE "C", sku COLLATE "C");
CREATE INDEX products_search ON products USING GIN (search);

-- Lower-cased by the application, as on SQLite; stores get it when upserted.
ALTER TABLE stores ADD COLUMN city_key TEXT NOT NULL DEFAULT '';
CREATE INDEX stores_by_place ON stores (lat, lon);
CREATE INDEX stores_by_city ON stores (city_key, id);

CREATE TABLE promotions (
    id          BIGINT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('promotion', 'event')),
    title       TEXT NOT NULL,
    description TEXT NOT NULL,
    city        TEXT,
    city_key    TEXT,
    store_id    BIGINT REFERENCES stores (id),
    starts_at   TIMESTAMPTZ NOT NULL,
    ends_at     TIMESTAMPTZ NOT NULL CHECK (ends_at > starts_at)
);
CREATE INDEX promotions_by_end ON promotions (kind, ends_at);

-- An offer's reward and target are small tagged values (kopilka_domain::offers), kept as JSON
-- text, the same as on SQLite.
CREATE TABLE offers (
    id                 BIGINT PRIMARY KEY,
    title              TEXT NOT NULL,
    description        TEXT NOT NULL,
    reward             TEXT NOT NULL,
    target             TEXT NOT NULL,
    starts_at          TIMESTAMPTZ NOT NULL,
    ends_at            TIMESTAMPTZ NOT NULL CHECK (ends_at > starts_at),
    -- A u32 in the domain: BIGINT holds all of it.
    per_customer_limit BIGINT NOT NULL CHECK (per_customer_limit > 0)
);
CREATE INDEX offers_by_end ON offers (ends_at);

CREATE TABLE offer_activations (
    member_id    BIGINT NOT NULL REFERENCES members (id),
    offer_id     BIGINT NOT NULL REFERENCES offers (id),
    activated_at TIMESTAMPTZ NOT NULL,
    uses         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (member_id, offer_id)
);

CREATE INDEX purchases_by_member ON purchases (member_id, purchased_at);

CREATE TABLE tickets (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id  BIGINT REFERENCES members (id),
    channel    TEXT NOT NULL CHECK (channel IN ('account', 'customer', 'employee_contractor')),
    name       TEXT,
    phone      TEXT,
    email      TEXT,
    subject    TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('open', 'answered', 'closed')),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX tickets_by_member ON tickets (member_id, id);
CREATE INDEX tickets_by_activity ON tickets (status, updated_at);

CREATE TABLE ticket_messages (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    author    TEXT NOT NULL CHECK (author IN ('customer', 'staff')),
    staff_id  BIGINT REFERENCES staff (id),
    body      TEXT NOT NULL,
    at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX ticket_messages_by_ticket ON ticket_messages (ticket_id, id);
