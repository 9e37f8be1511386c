-- The employees' own accounts (SPEC §6): apart from customers and staff, signed in by a
-- login HR issues with a temporary password.
CREATE TABLE employees (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login                TEXT NOT NULL,
    full_name            TEXT NOT NULL,
    position             TEXT NOT NULL,
    store_id             BIGINT NOT NULL,
    hired_on             DATE NOT NULL,
    password_hash        TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL,
    deactivated_at       TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL,
    CONSTRAINT employees_login_key UNIQUE (login)
);

-- A month's pay as accounting imported it; re-importing a month replaces its rows.
CREATE TABLE payroll (
    employee_id BIGINT NOT NULL REFERENCES employees (id),
    month       TEXT NOT NULL,
    gross_kop   BIGINT NOT NULL,
    tax_kop     BIGINT NOT NULL,
    net_kop     BIGINT NOT NULL,
    -- {"accruals": [{code, amount}], "deductions": [...]}
    lines       JSONB NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (employee_id, month)
);
CREATE INDEX payroll_by_month ON payroll (month);

CREATE TABLE document_requests (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    employee_id   BIGINT NOT NULL REFERENCES employees (id),
    type          TEXT NOT NULL,
    -- The checked order (`DocumentOrder`).
    request       JSONB NOT NULL,
    status        TEXT NOT NULL,
    due_on        DATE NOT NULL,
    reject_reason TEXT,
    number        TEXT,
    verify_code   TEXT,
    issued_on     DATE,
    revoked_at    TIMESTAMPTZ,
    pdf           BYTEA,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT document_requests_verify_code_key UNIQUE (verify_code)
);
CREATE INDEX document_requests_by_employee ON document_requests (employee_id, id);
CREATE INDEX document_requests_open ON document_requests (due_on, id)
    WHERE status IN ('submitted', 'in_progress');

CREATE TABLE document_request_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id BIGINT NOT NULL REFERENCES document_requests (id),
    status     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    reason     TEXT,
    at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX document_request_events_by_request ON document_request_events (request_id, id);

-- Every check of a code on the public page, found or not.
CREATE TABLE document_checks (
    id    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code  TEXT NOT NULL,
    found BOOLEAN NOT NULL,
    at    TIMESTAMPTZ NOT NULL
);
