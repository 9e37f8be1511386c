-- Reports read daily aggregates, never the ledger (kopilka_domain::reports). The roll-up
-- adds every transfer and purchase past its watermark once: the watermark moves in the same
-- transaction as the figures it added.
CREATE TABLE report_watermark (
    singleton     BOOLEAN PRIMARY KEY CHECK (singleton),
    transfer_id   BIGINT NOT NULL,
    purchase_id   BIGINT NOT NULL,
    -- The newest ids at the last look, read up to once every writer that could hold an
    -- older one has finished (`kopilka_service::reports`).
    seen_transfer_id BIGINT NOT NULL,
    seen_purchase_id BIGINT NOT NULL,
    seen_at          TIMESTAMPTZ NOT NULL
);
INSERT INTO report_watermark VALUES (TRUE, 0, 0, 0, 0, 'epoch');

-- Store 0: points that moved away from any till (welcome, adjustments, expiry).
CREATE TABLE daily_points (
    day      DATE NOT NULL,
    store_id BIGINT NOT NULL,
    kind     TEXT NOT NULL,
    credited BIGINT NOT NULL,
    debited  BIGINT NOT NULL,
    PRIMARY KEY (day, store_id, kind)
);

-- The last day each customer bought something: a customer counts once a day in
-- daily_active, and marketing can count who has been away.
CREATE TABLE member_last_purchase_day (
    member_id BIGINT PRIMARY KEY REFERENCES members (id),
    day       DATE NOT NULL
);

CREATE TABLE daily_active (
    day       DATE PRIMARY KEY,
    customers BIGINT NOT NULL
);
