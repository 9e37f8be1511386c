-- The employees' own accounts (SPEC §6): apart from customers and staff, signed in by a
-- login HR issues with a temporary password.
CREATE TABLE employees (
    id                   INTEGER PRIMARY KEY,
    login                TEXT NOT NULL UNIQUE,
    full_name            TEXT NOT NULL,
    position             TEXT NOT NULL,
    store_id             INTEGER NOT NULL,
    hired_on             TEXT NOT NULL,
    password_hash        TEXT NOT NULL,
    must_change_password INTEGER NOT NULL,
    deactivated_at       INTEGER,
    created_at           INTEGER NOT NULL
) STRICT;

-- A month's pay as accounting imported it; re-importing a month replaces its rows.
CREATE TABLE payroll (
    employee_id INTEGER NOT NULL REFERENCES employees (id),
    month       TEXT NOT NULL,
    gross_kop   INTEGER NOT NULL,
    tax_kop     INTEGER NOT NULL,
    net_kop     INTEGER NOT NULL,
    -- JSON: {"accruals": [{code, amount}], "deductions": [...]}
    lines       TEXT NOT NULL,
    imported_at INTEGER NOT NULL,
    PRIMARY KEY (employee_id, month)
) STRICT, WITHOUT ROWID;
CREATE INDEX payroll_by_month ON payroll (month);

CREATE TABLE document_requests (
    id            INTEGER PRIMARY KEY,
    employee_id   INTEGER NOT NULL REFERENCES employees (id),
    type          TEXT NOT NULL,
    -- JSON of the checked order (`DocumentOrder`).
    request       TEXT NOT NULL,
    status        TEXT NOT NULL,
    due_on        TEXT NOT NULL,
    reject_reason TEXT,
    number        TEXT,
    verify_code   TEXT UNIQUE,
    issued_on     TEXT,
    revoked_at    INTEGER,
    pdf           BLOB,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX document_requests_by_employee ON document_requests (employee_id, id);
CREATE INDEX document_requests_open ON document_requests (due_on, id)
    WHERE status IN ('submitted', 'in_progress');

CREATE TABLE document_request_events (
    id         INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES document_requests (id),
    status     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    reason     TEXT,
    at         INTEGER NOT NULL
) STRICT;
CREATE INDEX document_request_events_by_request ON document_request_events (request_id, id);

-- Every check of a code on the public page, found or not.
CREATE TABLE document_checks (
    id    INTEGER PRIMARY KEY,
    code  TEXT NOT NULL,
    found INTEGER NOT NULL,
    at    INTEGER NOT NULL
) STRICT;
