-- Times are INTEGER microseconds since the Unix epoch, UTC. Dates are TEXT 'YYYY-MM-DD'.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE categories (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL,
    parent_id INTEGER REFERENCES categories (id)
) STRICT;

CREATE TABLE stores (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL,
    city    TEXT NOT NULL,
    address TEXT NOT NULL,
    lat     REAL NOT NULL,
    lon     REAL NOT NULL,
    hours   TEXT NOT NULL
) STRICT;

CREATE TABLE members (
    id                        INTEGER PRIMARY KEY,
    phone                     TEXT NOT NULL UNIQUE,
    password_hash             TEXT,
    last_name                 TEXT,
    first_name                TEXT,
    gender                    TEXT CHECK (gender IN ('male', 'female')),
    birth_date                TEXT,
    city                      TEXT,
    email                     TEXT,
    favourite_store_id        INTEGER REFERENCES stores (id),
    favourite_category_id     INTEGER REFERENCES categories (id),
    favourite_category_set_at INTEGER,
    consent_personal_data     INTEGER NOT NULL,
    consent_newsletters       INTEGER NOT NULL,
    consent_version           TEXT NOT NULL,
    consent_at                INTEGER NOT NULL,
    created_at                INTEGER NOT NULL
) STRICT;

-- Every consent given or withdrawn, with the version of the text: the law asks for the history.
CREATE TABLE consent_log (
    id            INTEGER PRIMARY KEY,
    member_id     INTEGER NOT NULL REFERENCES members (id),
    personal_data INTEGER NOT NULL,
    newsletters   INTEGER NOT NULL,
    version       TEXT NOT NULL,
    at            INTEGER NOT NULL
) STRICT;

CREATE TABLE cards (
    number     TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('physical', 'virtual')),
    status     TEXT NOT NULL CHECK (status IN ('unbound', 'active', 'blocked')),
    member_id  INTEGER REFERENCES members (id),
    created_at INTEGER NOT NULL,
    bound_at   INTEGER,
    blocked_at INTEGER
) STRICT;
CREATE INDEX cards_by_member ON cards (member_id);

-- The ledger (SPEC §3.8). Balances are credits minus debits; transfers are never changed.
CREATE TABLE accounts (
    id              INTEGER PRIMARY KEY,
    code            TEXT UNIQUE,
    member_id       INTEGER UNIQUE REFERENCES members (id),
    debits_posted   INTEGER NOT NULL DEFAULT 0,
    credits_posted  INTEGER NOT NULL DEFAULT 0,
    debits_pending  INTEGER NOT NULL DEFAULT 0,
    credits_pending INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    CHECK ((code IS NULL) <> (member_id IS NULL))
) STRICT;

INSERT INTO accounts (code, created_at) VALUES
    ('system:welcome', 0), ('system:accrual', 0), ('system:redemption', 0),
    ('system:expiry', 0), ('system:adjustment', 0);

CREATE TABLE transfers (
    id                INTEGER PRIMARY KEY,
    debit_account_id  INTEGER NOT NULL REFERENCES accounts (id),
    credit_account_id INTEGER NOT NULL REFERENCES accounts (id),
    amount            INTEGER NOT NULL CHECK (amount > 0),
    kind              TEXT NOT NULL,
    member_id         INTEGER NOT NULL REFERENCES members (id),
    store_id          INTEGER,
    receipt_id        TEXT,
    description       TEXT NOT NULL,
    at                INTEGER NOT NULL,
    CHECK (debit_account_id <> credit_account_id)
) STRICT;
CREATE INDEX transfers_by_member ON transfers (member_id, id);

-- Points that arrived together and expire together; spending and expiry draw them down.
CREATE TABLE lots (
    id          INTEGER PRIMARY KEY,
    member_id   INTEGER NOT NULL REFERENCES members (id),
    transfer_id INTEGER NOT NULL REFERENCES transfers (id),
    points      INTEGER NOT NULL CHECK (points > 0),
    remaining   INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= points),
    earned_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX lots_live_by_member ON lots (member_id, expires_at) WHERE remaining > 0;

CREATE TABLE sessions (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    subject    INTEGER NOT NULL,
    phone      TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE INDEX sessions_by_subject ON sessions (kind, subject);

CREATE TABLE otp_challenges (
    id              INTEGER PRIMARY KEY,
    phone           TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    code_hash       TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    retired_at      INTEGER
) STRICT;
CREATE INDEX otp_by_phone ON otp_challenges (phone, purpose, id);

CREATE TABLE rate_counters (
    key          TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) STRICT, WITHOUT ROWID;

CREATE TABLE cooldowns (
    key   TEXT PRIMARY KEY,
    until INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE staff (
    id            INTEGER PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    roles         TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL,
    at      INTEGER NOT NULL
) STRICT;
