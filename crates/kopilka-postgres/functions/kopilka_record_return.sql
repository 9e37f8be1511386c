-- Records a planned return of p_purchase: `new_balance`, the points the member can spend
-- afterwards, or NULL when the refund id is already recorded (the caller replays it); `stale`
-- when the state changed since it was read. Raises KP404 without the member's account.
CREATE OR REPLACE FUNCTION kopilka_record_return(
    p_store BIGINT, p_refund TEXT, p_purchase BIGINT, p_hash TEXT, p_at TIMESTAMPTZ,
    p_member BIGINT, p_receipt TEXT,
    -- the state the return was planned against
    p_version BIGINT, p_refunded_kop BIGINT,
    -- the plan: per line, and in all
    l_nos INT[], l_amounts BIGINT[], l_taken_back BIGINT[], l_returned BIGINT[],
    p_taken_back BIGINT, p_returned BIGINT,
    -- what of p_returned goes back to the lots (a debt left by an earlier return is paid first)
    p_restore BIGINT,
    -- the lot the purchase earned, drawn on first when its points are taken back
    p_prefer BIGINT,
    p_redemption_account BIGINT, p_accrual_account BIGINT, p_kind TEXT, p_description TEXT,
    OUT stale BOOLEAN, OUT new_balance BIGINT
) LANGUAGE plpgsql AS $$
DECLARE
    refund BIGINT;
    account BIGINT;
    version BIGINT;
    balance BIGINT;
    refunded BIGINT;
    pending BIGINT;
    still BIGINT := p_restore;
    give BIGINT;
    usage RECORD;
BEGIN
    -- The member's account first, read after the lock is granted: the newest version of the
    -- row, and of the lines, which every return of the receipt changes while holding this
    -- lock. A return planned against an older state writes nothing and says so. An
    -- identical request in flight holds this lock until it commits; this one then finds the
    -- state moved, and is replayed once it is read again.
    SELECT id, kopilka_account_version(xmin), credits_posted - debits_posted
    INTO account, version, balance
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
    VALUES (p_store, p_refund, p_purchase, p_hash, p_taken_back, p_returned, 0, p_at)
    ON CONFLICT (store_id, refund_id) DO NOTHING
    RETURNING id INTO refund;
    IF refund IS NULL THEN
        RETURN;
    END IF;

    UPDATE purchase_lines l
    SET refunded_kop = l.refunded_kop + x.amount,
        taken_back = l.taken_back + x.taken_back,
        returned = l.returned + x.returned
    FROM UNNEST(l_nos, l_amounts, l_taken_back, l_returned) AS x(no, amount, taken_back, returned)
    WHERE l.purchase_id = p_purchase AND l.line_no = x.no;
    -- The points the purchase spent go back to the lots it drew on, latest expiry first.
    FOR usage IN
        SELECT u.id, u.lot_id, u.points - u.restored AS open, l.expires_at, l.transfer_id,
               l.available_at
        FROM lot_usages u JOIN lots l ON l.id = u.lot_id
        WHERE u.purchase_id = p_purchase AND u.points > u.restored
        ORDER BY l.expires_at DESC, u.id DESC
    LOOP
        EXIT WHEN still = 0;
        give := LEAST(usage.open, still);
        UPDATE lot_usages SET restored = restored + give WHERE id = usage.id;
        -- back among the live lots if it was spent or expired meanwhile (an expired one is
        -- expired again by the next run of the job)
        INSERT INTO live_lots (member_id, expires_at, lot_id, transfer_id, available_at, remaining)
        VALUES (p_member, usage.expires_at, usage.lot_id, usage.transfer_id, usage.available_at, give)
        ON CONFLICT (member_id, expires_at, lot_id)
        DO UPDATE SET remaining = live_lots.remaining + EXCLUDED.remaining;
        still := still - give;
    END LOOP;
    IF p_taken_back > 0 THEN
        PERFORM kopilka_draw_lots(p_member, p_taken_back, NULL, NULL, p_prefer, p_at);
    END IF;
    SELECT COALESCE(SUM(remaining), 0) INTO pending
    FROM live_lots WHERE member_id = p_member AND available_at > p_at;
    balance := balance + p_returned - p_taken_back - pending;
    UPDATE refunds SET balance_after = balance WHERE id = refund;
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
    new_balance := balance;
END $$;
