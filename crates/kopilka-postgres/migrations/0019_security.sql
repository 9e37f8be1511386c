-- Sessions a customer can list and end: where they were opened, and when last used (an idle
-- session ends; last_seen_at NULL means never used since it was opened).
ALTER TABLE sessions ADD COLUMN ip TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN last_seen_at TIMESTAMPTZ;

-- Staff accounts can be disabled and carry an optional second factor (RFC 6238).
ALTER TABLE staff ADD COLUMN disabled_at TIMESTAMPTZ;
ALTER TABLE staff ADD COLUMN totp_secret TEXT;

-- The audit log is append-only: the database itself refuses to change or remove a row.
CREATE FUNCTION kopilka_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION kopilka_audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION kopilka_audit_log_append_only();
