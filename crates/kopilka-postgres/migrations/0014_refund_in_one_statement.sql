-- A return was a dozen statements or more from the server, each a round trip, in one
-- transaction holding the member's account: look the purchase up, claim the refund id, lock,
-- read the lines, update each line, restore and draw lots, read the pending points, record
-- the result, post. Three sales in a hundred come with a return in the till's benchmark, so
-- the slowest one per cent of sales were the returns (docs/PERFORMANCE.md, seventh sitting).
-- Like a sale (migration 11), a return is now planned in Rust against a state read without a
-- lock and written by one call of this function, which checks under the lock that the state
-- is unchanged:
-- * the member's account row is at the version read (every movement of points rewrites it);
-- * the receipt's refunded amount is the one read: every return of a receipt refunds at least
--   a kopeck, so any other return since raised it.
-- Otherwise it raises KP409, writes nothing, and the return is planned again.

-- Records a planned return of p_purchase. Returns the points the member can spend afterwards,
-- or NULL when the refund id is already recorded (the caller replays it). Raises KP409 when
-- the state changed since it was read, KP404 without the member's account.
CREATE FUNCTION kopilka_refund(
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
    p_redemption_account BIGINT, p_accrual_account BIGINT, p_kind TEXT, p_description TEXT
) RETURNS BIGINT LANGUAGE plpgsql AS $$
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
    -- The refund id first: an identical request in flight is waited for here, then replayed.
    INSERT INTO refunds (store_id, refund_id, purchase_id, request_hash, taken_back, returned,
                         balance_after, at)
    VALUES (p_store, p_refund, p_purchase, p_hash, p_taken_back, p_returned, 0, p_at)
    ON CONFLICT (store_id, refund_id) DO NOTHING
    RETURNING id INTO refund;
    IF refund IS NULL THEN
        RETURN NULL;
    END IF;
    -- Read after the lock is granted: the newest version of the row, and of the lines, which
    -- every return of the receipt changes while holding this lock.
    SELECT id, kopilka_account_version(xmin), credits_posted - debits_posted
    INTO account, version, balance
    FROM accounts WHERE member_id = p_member FOR UPDATE;
    IF account IS NULL THEN
        RAISE EXCEPTION 'no account' USING ERRCODE = 'KP404';
    END IF;
    SELECT COALESCE(SUM(refunded_kop), 0) INTO refunded
    FROM purchase_lines WHERE purchase_id = p_purchase;
    IF version <> p_version OR refunded <> p_refunded_kop THEN
        RAISE EXCEPTION 'return planned against a stale state' USING ERRCODE = 'KP409';
    END IF;

    UPDATE purchase_lines l
    SET refunded_kop = l.refunded_kop + x.amount,
        taken_back = l.taken_back + x.taken_back,
        returned = l.returned + x.returned
    FROM UNNEST(l_nos, l_amounts, l_taken_back, l_returned) AS x(no, amount, taken_back, returned)
    WHERE l.purchase_id = p_purchase AND l.line_no = x.no;
    -- The points the purchase spent go back to the lots it drew on, latest expiry first.
    FOR usage IN
        SELECT u.id, u.lot_id, u.points - u.restored AS open
        FROM lot_usages u JOIN lots l ON l.id = u.lot_id
        WHERE u.purchase_id = p_purchase AND u.points > u.restored
        ORDER BY l.expires_at DESC, u.id DESC
    LOOP
        EXIT WHEN still = 0;
        give := LEAST(usage.open, still);
        UPDATE lot_usages SET restored = restored + give WHERE id = usage.id;
        UPDATE lots SET remaining = remaining + give WHERE id = usage.lot_id;
        still := still - give;
    END LOOP;
    IF p_taken_back > 0 THEN
        PERFORM kopilka_draw_lots(p_member, p_taken_back, NULL, NULL, p_prefer, p_at);
    END IF;
    SELECT COALESCE(SUM(remaining), 0) INTO pending
    FROM lots WHERE member_id = p_member AND remaining > 0 AND available_at > p_at;
    balance := balance + p_returned - p_taken_back - pending;
    UPDATE refunds SET balance_after = balance WHERE id = refund;
    -- The accounts last, redemption before accrual, as a sale moves them (migration 13): the
    -- system accounts are shards that a sixteenth of all sales move.
    IF p_returned > 0 THEN
        PERFORM kopilka_post(p_redemption_account, account, p_returned, p_kind, p_member,
                             p_store, p_receipt, NULL, p_description, p_at);
    END IF;
    IF p_taken_back > 0 THEN
        PERFORM kopilka_post(account, p_accrual_account, p_taken_back, p_kind, p_member,
                             p_store, p_receipt, NULL, p_description, p_at);
    END IF;
    RETURN balance;
END $$;
