-- Reports read daily aggregates, never the ledger (kopilka_domain::reports). The roll-up
-- adds every transfer and purchase past its watermark once: the watermark moves in the same
-- transaction as the figures it added.
CREATE TABLE report_watermark (
    singleton     INTEGER PRIMARY KEY CHECK (singleton = 1),
    transfer_id   INTEGER NOT NULL,
    purchase_id   INTEGER NOT NULL,
    -- The newest ids at the last look, read up to once every writer that could hold an
    -- older one has finished (`kopilka_service::reports`).
    seen_transfer_id INTEGER NOT NULL,
    seen_purchase_id INTEGER NOT NULL,
    seen_at          INTEGER NOT NULL
) STRICT;
INSERT INTO report_watermark VALUES (1, 0, 0, 0, 0, 0);

-- Store 0: points that moved away from any till (welcome, adjustments, expiry).
CREATE TABLE daily_points (
    day      TEXT NOT NULL,
    store_id INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    credited INTEGER NOT NULL,
    debited  INTEGER NOT NULL,
    PRIMARY KEY (day, store_id, kind)
) STRICT, WITHOUT ROWID;

-- The last day each customer bought something: a customer counts once a day in
-- daily_active, and marketing can count who has been away.
CREATE TABLE member_last_purchase_day (
    member_id INTEGER PRIMARY KEY REFERENCES members (id),
    day       TEXT NOT NULL
) STRICT;

CREATE TABLE daily_active (
    day       TEXT PRIMARY KEY,
    customers INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
