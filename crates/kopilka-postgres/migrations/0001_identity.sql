CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE categories (
    id        BIGINT PRIMARY KEY,
    name      TEXT NOT NULL,
    parent_id BIGINT REFERENCES categories (id)
);

CREATE TABLE stores (
    id      BIGINT PRIMARY KEY,
    name    TEXT NOT NULL,
    city    TEXT NOT NULL,
    address TEXT NOT NULL,
    lat     DOUBLE PRECISION NOT NULL,
    lon     DOUBLE PRECISION NOT NULL,
    hours   TEXT NOT NULL
);

CREATE TABLE members (
    id                        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone                     TEXT NOT NULL,
    password_hash             TEXT,
    last_name                 TEXT,
    first_name                TEXT,
    gender                    TEXT CHECK (gender IN ('male', 'female')),
    birth_date                DATE,
    city                      TEXT,
    email                     TEXT,
    favourite_store_id        BIGINT REFERENCES stores (id),
    favourite_category_id     BIGINT REFERENCES categories (id),
    favourite_category_set_at TIMESTAMPTZ,
    consent_personal_data     BOOLEAN NOT NULL,
    consent_newsletters       BOOLEAN NOT NULL,
    consent_version           TEXT NOT NULL,
    consent_at                TIMESTAMPTZ NOT NULL,
    created_at                TIMESTAMPTZ NOT NULL,
    CONSTRAINT members_phone_key UNIQUE (phone)
);

-- Every consent given or withdrawn, with the version of the text: the law asks for the history.
CREATE TABLE consent_log (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id     BIGINT NOT NULL REFERENCES members (id),
    personal_data BOOLEAN NOT NULL,
    newsletters   BOOLEAN NOT NULL,
    version       TEXT NOT NULL,
    at            TIMESTAMPTZ NOT NULL
);

CREATE TABLE cards (
    number     TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('physical', 'virtual')),
    status     TEXT NOT NULL CHECK (status IN ('unbound', 'active', 'blocked')),
    member_id  BIGINT REFERENCES members (id),
    created_at TIMESTAMPTZ NOT NULL,
    bound_at   TIMESTAMPTZ,
    blocked_at TIMESTAMPTZ,
    CONSTRAINT cards_number_key PRIMARY KEY (number)
);
CREATE INDEX cards_by_member ON cards (member_id);

-- The ledger (SPEC §3.8). Balances are credits minus debits; transfers are never changed.
CREATE TABLE accounts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            TEXT UNIQUE,
    member_id       BIGINT UNIQUE REFERENCES members (id),
    debits_posted   BIGINT NOT NULL DEFAULT 0,
    credits_posted  BIGINT NOT NULL DEFAULT 0,
    debits_pending  BIGINT NOT NULL DEFAULT 0,
    credits_pending BIGINT NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    CHECK ((code IS NULL) <> (member_id IS NULL))
);

INSERT INTO accounts (code, created_at) VALUES
    ('system:welcome', 'epoch'), ('system:accrual', 'epoch'), ('system:redemption', 'epoch'),
    ('system:expiry', 'epoch'), ('system:adjustment', 'epoch');

CREATE TABLE transfers (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    debit_account_id  BIGINT NOT NULL REFERENCES accounts (id),
    credit_account_id BIGINT NOT NULL REFERENCES accounts (id),
    amount            BIGINT NOT NULL CHECK (amount > 0),
    kind              TEXT NOT NULL,
    member_id         BIGINT NOT NULL REFERENCES members (id),
    store_id          BIGINT,
    receipt_id        TEXT,
    description       TEXT NOT NULL,
    at                TIMESTAMPTZ NOT NULL,
    CHECK (debit_account_id <> credit_account_id)
);
CREATE INDEX transfers_by_member ON transfers (member_id, id);

-- Points that arrived together and expire together; spending and expiry draw them down.
CREATE TABLE lots (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id   BIGINT NOT NULL REFERENCES members (id),
    transfer_id BIGINT NOT NULL REFERENCES transfers (id),
    points      BIGINT NOT NULL CHECK (points > 0),
    remaining   BIGINT NOT NULL CHECK (remaining >= 0 AND remaining <= points),
    earned_at   TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX lots_live_by_member ON lots (member_id, expires_at) WHERE remaining > 0;

CREATE TABLE sessions (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash TEXT NOT NULL,
    kind       TEXT NOT NULL,
    subject    BIGINT NOT NULL,
    phone      TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX sessions_by_subject ON sessions (kind, subject);

CREATE TABLE otp_challenges (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone           TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    code_hash       TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    retired_at      TIMESTAMPTZ
);
CREATE INDEX otp_by_phone ON otp_challenges (phone, purpose, id);

CREATE TABLE rate_counters (
    key          TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);

CREATE TABLE cooldowns (
    key   TEXT PRIMARY KEY,
    until TIMESTAMPTZ NOT NULL
);

CREATE TABLE staff (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    roles         TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT staff_login_key UNIQUE (login)
);

CREATE TABLE audit_log (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL,
    at      TIMESTAMPTZ NOT NULL
);
