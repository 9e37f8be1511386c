-- Takes points from the member's live lots as `kopilka_domain::lots` decided: p_points(i)
-- from lot p_lots(i), deleting a lot drawn to nothing. The caller holds the member's account
-- row and checked its version against the state the draws were decided on; every writer of
-- a member's lots holds that row, so a lot that no longer holds its draw means the check was
-- missed, and nothing is taken.
CREATE OR REPLACE FUNCTION kopilka_take_from_lots(
    p_member BIGINT, p_lots BIGINT[], p_points BIGINT[]
) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    drawn INT;
    emptied INT;
BEGIN
    -- Emptied lots first: drawn in part first, a lot could be left holding its own draw.
    DELETE FROM live_lots l USING UNNEST(p_lots, p_points) AS d(lot, points)
    WHERE l.member_id = p_member AND l.lot_id = d.lot AND l.remaining = d.points;
    GET DIAGNOSTICS emptied = ROW_COUNT;
    UPDATE live_lots l SET remaining = l.remaining - d.points
    FROM UNNEST(p_lots, p_points) AS d(lot, points)
    WHERE l.member_id = p_member AND l.lot_id = d.lot AND l.remaining > d.points;
    GET DIAGNOSTICS drawn = ROW_COUNT;
    IF drawn + emptied <> cardinality(p_lots) THEN
        RAISE EXCEPTION 'lots of member % do not hold the points drawn', p_member;
    END IF;
END $$;
