-- Employees' messages to HR, accounting and administration (SPEC §6.3). Each side's unread
-- count is kept on the thread, so the lists need no count over the messages.
CREATE TABLE employee_threads (
    id                 INTEGER PRIMARY KEY,
    employee_id        INTEGER NOT NULL REFERENCES employees (id),
    department         TEXT NOT NULL,
    subject            TEXT NOT NULL,
    request_id         INTEGER REFERENCES document_requests (id),
    unread_by_employee INTEGER NOT NULL DEFAULT 0,
    unread_by_staff    INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;
CREATE INDEX employee_threads_by_employee ON employee_threads (employee_id, updated_at);
CREATE INDEX employee_threads_by_department ON employee_threads (department, updated_at);

CREATE TABLE employee_messages (
    id        INTEGER PRIMARY KEY,
    thread_id INTEGER NOT NULL REFERENCES employee_threads (id),
    author    TEXT NOT NULL,
    staff_id  INTEGER,
    body      TEXT NOT NULL,
    at        INTEGER NOT NULL
) STRICT;
CREATE INDEX employee_messages_by_thread ON employee_messages (thread_id, id);
