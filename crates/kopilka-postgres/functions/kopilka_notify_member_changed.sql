-- Every node caches customer sessions with their member (the store's session_cache module).
-- On commit of a change to a member, or of a customer session's revocation, PostgreSQL
-- notifies every listening node with the member's id, and each forgets that member's entries.
CREATE OR REPLACE FUNCTION kopilka_notify_member_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'sessions' THEN
        PERFORM pg_notify('kopilka_member_changed', OLD.subject::text);
    ELSE
        PERFORM pg_notify('kopilka_member_changed', OLD.id::text);
    END IF;
    RETURN NULL;
END
$$;
