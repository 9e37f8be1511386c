-- Every node caches customer sessions with their member (the store's session_cache module).
-- On commit of a change to a member, or of a customer session's revocation, PostgreSQL
-- notifies every listening node with the member's id, and each forgets that member's entries.
CREATE FUNCTION kopilka_notify_member_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'sessions' THEN
        PERFORM pg_notify('kopilka_member_changed', OLD.subject::text);
    ELSE
        PERFORM pg_notify('kopilka_member_changed', OLD.id::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER members_changed AFTER UPDATE OR DELETE ON members
    FOR EACH ROW EXECUTE FUNCTION kopilka_notify_member_changed();

-- A live session ends by revocation; the sessions deleted are expired ones, which need no
-- notice: a cached session is served only until it expires.
CREATE TRIGGER customer_session_revoked AFTER UPDATE ON sessions
    FOR EACH ROW WHEN (OLD.kind = 'customer' AND OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION kopilka_notify_member_changed();
