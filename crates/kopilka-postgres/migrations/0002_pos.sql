CREATE TABLE tills (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id   BIGINT NOT NULL REFERENCES stores (id),
    kind       TEXT NOT NULL CHECK (kind IN ('staffed', 'self_checkout')),
    key_hash   TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);

-- One row per (store, receipt id): the idempotency key of a purchase, and its stored answer.
CREATE TABLE purchases (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id      BIGINT NOT NULL,
    till_id       BIGINT NOT NULL REFERENCES tills (id),
    receipt_id    TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    member_id     BIGINT NOT NULL REFERENCES members (id),
    card_number   TEXT NOT NULL,
    total_kop     BIGINT NOT NULL,
    discount_kop  BIGINT NOT NULL,
    payable_kop   BIGINT NOT NULL,
    earned        BIGINT NOT NULL,
    redeemed      BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    -- The transfer that credited what the purchase earned: a return takes back from its lot first.
    accrual_transfer_id BIGINT,
    purchased_at  TIMESTAMPTZ NOT NULL,
    committed_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (store_id, receipt_id)
);
CREATE INDEX purchases_earning_by_member ON purchases (member_id, purchased_at) WHERE earned > 0;

CREATE TABLE purchase_lines (
    purchase_id  BIGINT NOT NULL REFERENCES purchases (id),
    line_no      INTEGER NOT NULL,
    line_id      TEXT NOT NULL,
    sku          TEXT NOT NULL,
    category_id  BIGINT NOT NULL,
    amount_kop   BIGINT NOT NULL,
    discount_kop BIGINT NOT NULL,
    earned       BIGINT NOT NULL,
    redeemed     BIGINT NOT NULL,
    rule         TEXT NOT NULL,
    refunded_kop BIGINT NOT NULL DEFAULT 0 CHECK (refunded_kop <= amount_kop),
    taken_back   BIGINT NOT NULL DEFAULT 0 CHECK (taken_back <= earned),
    returned     BIGINT NOT NULL DEFAULT 0 CHECK (returned <= redeemed),
    PRIMARY KEY (purchase_id, line_no)
);

CREATE TABLE refunds (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id      BIGINT NOT NULL,
    refund_id     TEXT NOT NULL,
    purchase_id   BIGINT NOT NULL REFERENCES purchases (id),
    request_hash  TEXT NOT NULL,
    taken_back    BIGINT NOT NULL,
    returned      BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    at            TIMESTAMPTZ NOT NULL,
    UNIQUE (store_id, refund_id)
);

-- Which lots a spending drew on, so a return gives points back to the lots they came from.
CREATE TABLE lot_usages (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lot_id      BIGINT NOT NULL REFERENCES lots (id),
    transfer_id BIGINT NOT NULL REFERENCES transfers (id),
    purchase_id BIGINT REFERENCES purchases (id),
    points      BIGINT NOT NULL CHECK (points > 0),
    restored    BIGINT NOT NULL DEFAULT 0 CHECK (restored <= points)
);
CREATE INDEX lot_usages_by_purchase ON lot_usages (purchase_id);

ALTER TABLE transfers ADD COLUMN lot_id BIGINT REFERENCES lots (id);
CREATE INDEX lots_due ON lots (expires_at) WHERE remaining > 0;
-- Earned points may wait out a pending period (a return window) before they can be spent.
ALTER TABLE lots ADD COLUMN available_at TIMESTAMPTZ NOT NULL DEFAULT 'epoch';

CREATE TABLE card_tokens (
    code        TEXT PRIMARY KEY,
    card_number TEXT NOT NULL REFERENCES cards (number),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
