-- Every node caches scanned cards with their holder and the holder's offer activations (the
-- member_cache module), as it caches sessions (kopilka_notify_member_changed). On commit of a change to a card
-- or to an offer activation, PostgreSQL notifies every listening node with the member's id,
-- and each forgets that member's entries. A card is cached only once bound, so a card that
-- gets bound needs no notice for its new holder beyond the one its old card's blocking sends;
-- both members are named anyway when a card changes hands.
CREATE OR REPLACE FUNCTION kopilka_notify_member_rows_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.member_id IS NOT NULL THEN
        PERFORM pg_notify('kopilka_member_changed', OLD.member_id::text);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.member_id IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.member_id IS DISTINCT FROM OLD.member_id) THEN
        PERFORM pg_notify('kopilka_member_changed', NEW.member_id::text);
    END IF;
    RETURN NULL;
END
$$;
