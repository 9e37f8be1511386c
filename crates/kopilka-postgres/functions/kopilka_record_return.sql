-- Records a planned return of p_purchase: `recorded`, false when the refund id is already
-- recorded (the caller replays it); `stale` when the state changed since it was read. Raises
-- KP404 without the member's account.
CREATE OR REPLACE FUNCTION kopilka_record_return(
    p_store BIGINT, p_refund TEXT, p_purchase BIGINT, p_hash TEXT, p_at TIMESTAMPTZ,
    p_member BIGINT, p_receipt TEXT,
    -- the state the return was planned against
    p_version BIGINT, p_refunded_kop BIGINT,
    -- the plan: per line, and in all
    l_nos INT[], l_amounts BIGINT[], l_taken_back BIGINT[], l_returned BIGINT[],
    p_taken_back BIGINT, p_returned BIGINT,
    -- the lots and balance after it (kopilka_domain::lots::return_outcome): what each open
    -- usage of the purchase gives back to its lot, what each lot gives to the points taken back
    r_usages BIGINT[], r_lots BIGINT[], r_points BIGINT[], d_lots BIGINT[], d_points BIGINT[],
    p_balance_after BIGINT,
    p_redemption_account BIGINT, p_accrual_account BIGINT, p_kind TEXT, p_description TEXT,
    OUT stale BOOLEAN, OUT recorded BOOLEAN
) LANGUAGE plpgsql AS $$
DECLARE
    refund BIGINT;
    account BIGINT;
    version BIGINT;
    refunded BIGINT;
BEGIN
    -- The member's account first, read after the lock is granted: the newest version of the
    -- row, and of the lines, which every return of the receipt changes while holding this
    -- lock. A return planned against an older state writes nothing and says so. An
    -- identical request in flight holds this lock until it commits; this one then finds the
    -- state moved, and is replayed once it is read again.
    SELECT id, kopilka_account_version(xmin) INTO account, version
    FROM accounts WHERE member_id = p_member FOR UPDATE;
    IF account IS NULL THEN
        RAISE EXCEPTION 'no account' USING ERRCODE = 'KP404';
    END IF;
    SELECT COALESCE(SUM(refunded_kop), 0) INTO refunded
    FROM purchase_lines WHERE purchase_id = p_purchase;
    stale := version <> p_version OR refunded <> p_refunded_kop;
    IF stale THEN
        RETURN;
    END IF;
    -- The refund id: recorded by a return in flight in the same store, it is waited for
    -- here; the caller then replays it (another request: an idempotency conflict).
    INSERT INTO refunds (store_id, refund_id, purchase_id, request_hash, taken_back, returned,
                         balance_after, at)
    VALUES (p_store, p_refund, p_purchase, p_hash, p_taken_back, p_returned, p_balance_after, p_at)
    ON CONFLICT (store_id, refund_id) DO NOTHING
    RETURNING id INTO refund;
    recorded := refund IS NOT NULL;
    IF NOT recorded THEN
        RETURN;
    END IF;

    UPDATE purchase_lines l
    SET refunded_kop = l.refunded_kop + x.amount,
        taken_back = l.taken_back + x.taken_back,
        returned = l.returned + x.returned
    FROM UNNEST(l_nos, l_amounts, l_taken_back, l_returned) AS x(no, amount, taken_back, returned)
    WHERE l.purchase_id = p_purchase AND l.line_no = x.no;
    -- The points the purchase spent go back to the lots it drew on: among the live lots
    -- again if one was spent or expired meanwhile (an expired one is expired again by the next
    -- run of the job). A purchase draws on a lot once, so each lot comes once.
    UPDATE lot_usages u SET restored = u.restored + r.points
    FROM UNNEST(r_usages, r_points) AS r(usage, points)
    WHERE u.id = r.usage AND u.purchase_id = p_purchase;
    INSERT INTO live_lots (member_id, expires_at, lot_id, transfer_id, available_at, remaining)
    SELECT p_member, l.expires_at, l.id, l.transfer_id, l.available_at, r.points
    FROM UNNEST(r_lots, r_points) AS r(lot, points) JOIN lots l ON l.id = r.lot
    ON CONFLICT (member_id, expires_at, lot_id)
    DO UPDATE SET remaining = live_lots.remaining + EXCLUDED.remaining;
    IF cardinality(d_lots) > 0 THEN
        PERFORM kopilka_take_from_lots(p_member, d_lots, d_points);
    END IF;
    -- The accounts last, redemption before accrual, as kopilka_record_sale moves them: the
    -- system accounts are shards that a sixteenth of all sales move.
    IF p_returned > 0 THEN
        PERFORM kopilka_post(p_redemption_account, account, p_returned, p_kind, p_member,
                             p_store, p_receipt, NULL, p_description, p_at);
    END IF;
    IF p_taken_back > 0 THEN
        PERFORM kopilka_post(account, p_accrual_account, p_taken_back, p_kind, p_member,
                             p_store, p_receipt, NULL, p_description, p_at);
    END IF;
END $$;
