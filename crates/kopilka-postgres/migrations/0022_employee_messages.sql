-- Employees' messages to HR, accounting and administration (SPEC §6.3). Each side's unread
-- count is kept on the thread, so the lists need no count over the messages.
CREATE TABLE employee_threads (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    employee_id        BIGINT NOT NULL REFERENCES employees (id),
    department         TEXT NOT NULL,
    subject            TEXT NOT NULL,
    request_id         BIGINT REFERENCES document_requests (id),
    unread_by_employee INTEGER NOT NULL DEFAULT 0,
    unread_by_staff    INTEGER NOT NULL DEFAULT 0,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX employee_threads_by_employee ON employee_threads (employee_id, updated_at);
CREATE INDEX employee_threads_by_department ON employee_threads (department, updated_at);

CREATE TABLE employee_messages (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    thread_id BIGINT NOT NULL REFERENCES employee_threads (id),
    author    TEXT NOT NULL,
    staff_id  BIGINT,
    body      TEXT NOT NULL,
    at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX employee_messages_by_thread ON employee_messages (thread_id, id);
