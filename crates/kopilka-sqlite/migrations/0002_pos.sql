CREATE TABLE tills (
    id         INTEGER PRIMARY KEY,
    store_id   INTEGER NOT NULL REFERENCES stores (id),
    kind       TEXT NOT NULL CHECK (kind IN ('staffed', 'self_checkout')),
    key_hash   TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;

-- One row per (store, receipt id): the idempotency key of a purchase, and its stored answer.
CREATE TABLE purchases (
    id            INTEGER PRIMARY KEY,
    store_id      INTEGER NOT NULL,
    till_id       INTEGER NOT NULL REFERENCES tills (id),
    receipt_id    TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    member_id     INTEGER NOT NULL REFERENCES members (id),
    card_number   TEXT NOT NULL,
    total_kop     INTEGER NOT NULL,
    discount_kop  INTEGER NOT NULL,
    payable_kop   INTEGER NOT NULL,
    earned        INTEGER NOT NULL,
    redeemed      INTEGER NOT NULL,
    balance_after INTEGER NOT NULL,
    -- The transfer that credited what the purchase earned: a return takes back from its lot first.
    accrual_transfer_id INTEGER,
    purchased_at  INTEGER NOT NULL,
    committed_at  INTEGER NOT NULL,
    UNIQUE (store_id, receipt_id)
) STRICT;
CREATE INDEX purchases_earning_by_member ON purchases (member_id, purchased_at) WHERE earned > 0;

CREATE TABLE purchase_lines (
    purchase_id  INTEGER NOT NULL REFERENCES purchases (id),
    line_no      INTEGER NOT NULL,
    line_id      TEXT NOT NULL,
    sku          TEXT NOT NULL,
    category_id  INTEGER NOT NULL,
    amount_kop   INTEGER NOT NULL,
    discount_kop INTEGER NOT NULL,
    earned       INTEGER NOT NULL,
    redeemed     INTEGER NOT NULL,
    rule         TEXT NOT NULL,
    refunded_kop INTEGER NOT NULL DEFAULT 0 CHECK (refunded_kop <= amount_kop),
    taken_back   INTEGER NOT NULL DEFAULT 0 CHECK (taken_back <= earned),
    returned     INTEGER NOT NULL DEFAULT 0 CHECK (returned <= redeemed),
    PRIMARY KEY (purchase_id, line_no)
) STRICT, WITHOUT ROWID;

CREATE TABLE refunds (
    id            INTEGER PRIMARY KEY,
    store_id      INTEGER NOT NULL,
    refund_id     TEXT NOT NULL,
    purchase_id   INTEGER NOT NULL REFERENCES purchases (id),
    request_hash  TEXT NOT NULL,
    taken_back    INTEGER NOT NULL,
    returned      INTEGER NOT NULL,
    balance_after INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    UNIQUE (store_id, refund_id)
) STRICT;

-- Which lots a spending drew on, so a return gives points back to the lots they came from.
CREATE TABLE lot_usages (
    id          INTEGER PRIMARY KEY,
    lot_id      INTEGER NOT NULL REFERENCES lots (id),
    transfer_id INTEGER NOT NULL REFERENCES transfers (id),
    purchase_id INTEGER REFERENCES purchases (id),
    points      INTEGER NOT NULL CHECK (points > 0),
    restored    INTEGER NOT NULL DEFAULT 0 CHECK (restored <= points)
) STRICT;
CREATE INDEX lot_usages_by_purchase ON lot_usages (purchase_id);

ALTER TABLE transfers ADD COLUMN lot_id INTEGER REFERENCES lots (id);
CREATE INDEX lots_due ON lots (expires_at) WHERE remaining > 0;
-- Earned points may wait out a pending period (a return window) before they can be spent.
ALTER TABLE lots ADD COLUMN available_at INTEGER NOT NULL DEFAULT 0;

CREATE TABLE card_tokens (
    code        TEXT PRIMARY KEY,
    card_number TEXT NOT NULL REFERENCES cards (number),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
) STRICT, WITHOUT ROWID;
