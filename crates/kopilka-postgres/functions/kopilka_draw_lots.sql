-- Draws on the member's live lots, oldest expiry first. Every writer of a member's lots holds the member's
-- account row (a sale or return from its start, an adjustment, the expiry job), so the
-- version of a lot read here is the current one when it is drawn on.
CREATE OR REPLACE FUNCTION kopilka_draw_lots(
    p_member BIGINT, p_amount BIGINT, p_transfer BIGINT, p_purchase BIGINT, p_prefer BIGINT,
    p_now TIMESTAMPTZ
) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    still BIGINT := p_amount;
    lot RECORD;
    take BIGINT;
BEGIN
    FOR lot IN
        SELECT ctid AS seen, lot_id, remaining FROM live_lots WHERE member_id = p_member
        ORDER BY transfer_id IS NOT DISTINCT FROM p_prefer DESC, available_at > p_now, expires_at, lot_id
    LOOP
        EXIT WHEN still = 0;
        take := LEAST(lot.remaining, still);
        IF take = lot.remaining THEN
            DELETE FROM live_lots WHERE ctid = lot.seen;
        ELSE
            UPDATE live_lots SET remaining = remaining - take WHERE ctid = lot.seen;
        END IF;
        -- A writer that did not hold the account changed the lot: draw nothing rather than
        -- record a draw no lot paid for.
        IF NOT FOUND THEN
            RAISE EXCEPTION 'lot % changed during a draw', lot.lot_id;
        END IF;
        IF p_purchase IS NOT NULL THEN
            INSERT INTO lot_usages (lot_id, transfer_id, purchase_id, points)
            VALUES (lot.lot_id, p_transfer, p_purchase, take);
        END IF;
        still := still - take;
    END LOOP;
    RETURN p_amount - still;
END $$;
