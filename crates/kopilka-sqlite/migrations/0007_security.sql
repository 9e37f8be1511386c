-- Sessions a customer can list and end: where they were opened, and when last used (an idle
-- session ends; last_seen_at NULL means never used since it was opened).
ALTER TABLE sessions ADD COLUMN ip TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER;

-- Staff accounts can be disabled and carry an optional second factor (RFC 6238).
ALTER TABLE staff ADD COLUMN disabled_at INTEGER;
ALTER TABLE staff ADD COLUMN totp_secret TEXT;

-- The audit log is append-only: the database itself refuses to change or remove a row.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
