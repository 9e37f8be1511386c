-- The expiry job zeroed each due lot in place: a new version of the lot's row and an entry for
-- it in lots_pkey (the `remaining > 0` of the lots' partial indexes rules out a HOT update),
-- after locking the row. What changes about a lot, the points it still holds, now lives in a
-- table of its own with one row for each lot that holds any; a lot spent or expired is deleted
-- from it, which writes no new version and no index entry (docs/performance-log.md, twelfth
-- sitting). `lots` keeps what a lot was: its points, when they were earned, expire and become
-- available, none of which changes.
--
-- Not for a rolling upgrade: nodes of the previous release read and write lots.remaining,
-- which this migration drops. Stop them before it runs. kopilka_purchase and kopilka_refund,
-- kept by migration 15 for such nodes, go too.
CREATE TABLE live_lots (
    member_id    BIGINT NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    lot_id       BIGINT NOT NULL,
    -- copied from the lot: the order spending draws in
    transfer_id  BIGINT NOT NULL,
    available_at TIMESTAMPTZ NOT NULL,
    remaining    BIGINT NOT NULL CHECK (remaining > 0),
    -- A member's lots, soonest expiry first, in the key itself: no index of their own. A lot's
    -- member and expiry never change, so the key holds each lot at most once.
    PRIMARY KEY (member_id, expires_at, lot_id)
) WITH (fillfactor = 80); -- room for spending's partial draws to stay HOT updates
CREATE INDEX live_lots_due ON live_lots (expires_at, lot_id);

INSERT INTO live_lots (member_id, expires_at, lot_id, transfer_id, available_at, remaining)
SELECT member_id, expires_at, id, transfer_id, available_at, remaining FROM lots WHERE remaining > 0;

DROP FUNCTION kopilka_purchase(
    BIGINT, BIGINT, TEXT, TEXT, BIGINT, TEXT, TEXT, TIMESTAMPTZ, TIMESTAMPTZ, BIGINT,
    BIGINT, BIGINT, BIGINT, BIGINT, BIGINT, BIGINT,
    TEXT[], TEXT[], BIGINT[], BIGINT[], BIGINT[], BIGINT[], BIGINT[], TEXT[],
    BIGINT, TEXT, TEXT, BIGINT, TEXT[], BIGINT[], TEXT[], BIGINT[], BIGINT, TIMESTAMPTZ, TIMESTAMPTZ);
DROP FUNCTION kopilka_refund(
    BIGINT, TEXT, BIGINT, TEXT, TIMESTAMPTZ, BIGINT, TEXT, BIGINT, BIGINT,
    INT[], BIGINT[], BIGINT[], BIGINT[], BIGINT, BIGINT, BIGINT, BIGINT,
    BIGINT, BIGINT, TEXT, TEXT);
DROP INDEX lots_live_by_member;
DROP INDEX lots_due;
ALTER TABLE lots DROP COLUMN remaining;
ANALYZE live_lots;

-- As in migration 6, drawing on live_lots. Every writer of a member's lots holds the member's
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

-- Records a priced sale: `new_purchase`, or NULL when the receipt is already recorded (the
-- caller replays it); `stale` when the member's account changed since the state was read
-- (p_version). Raises KP404 without the member's account, KP410 when the one-time card code
-- is spent or expired.
CREATE OR REPLACE FUNCTION kopilka_record_sale(
    p_store BIGINT, p_till BIGINT, p_receipt TEXT, p_hash TEXT, p_member BIGINT, p_card TEXT,
    p_token TEXT, p_purchased_at TIMESTAMPTZ, p_committed_at TIMESTAMPTZ,
    -- the version of the member's account the sale was priced against
    p_version BIGINT,
    -- the priced sale
    p_total BIGINT, p_discount BIGINT, p_payable BIGINT, p_earned BIGINT, p_redeemed BIGINT,
    p_balance_after BIGINT,
    l_ids TEXT[], l_skus TEXT[], l_categories BIGINT[], l_amounts BIGINT[], l_discounts BIGINT[],
    l_earned BIGINT[], l_redeemed BIGINT[], l_rules TEXT[],
    p_redemption_account BIGINT, p_redemption_kind TEXT, p_redemption_description TEXT,
    p_accrual_account BIGINT, m_kinds TEXT[], m_amounts BIGINT[], m_descriptions TEXT[],
    p_awarded_offers BIGINT[],
    p_lot_points BIGINT, p_lot_expires_at TIMESTAMPTZ, p_lot_available_at TIMESTAMPTZ,
    OUT stale BOOLEAN, OUT new_purchase BIGINT
) LANGUAGE plpgsql AS $$
DECLARE
    purchase BIGINT;
    account BIGINT;
    version BIGINT;
    redemption BIGINT;
    first_accrual BIGINT;
    moved INT;
BEGIN
    -- The member's account first, read after the lock is granted: the newest version of the
    -- row. A sale priced against an older one writes nothing and says so. An identical
    -- request in flight holds this lock until it commits; this one then finds the account
    -- moved, and is replayed once the state is read again.
    SELECT id, kopilka_account_version(xmin) INTO account, version
    FROM accounts WHERE member_id = p_member FOR UPDATE;
    IF account IS NULL THEN
        RAISE EXCEPTION 'no account' USING ERRCODE = 'KP404';
    END IF;
    stale := version <> p_version;
    IF stale THEN
        RETURN;
    END IF;
    -- In this order, so the history lists the redemption before what the sale earned.
    IF p_redeemed > 0 THEN
        redemption := nextval('transfers_id_seq');
    END IF;
    IF cardinality(m_kinds) > 0 THEN
        first_accrual := nextval('transfers_id_seq');
    END IF;
    -- The receipt: recorded by another member's sale in flight, it is waited for here; the
    -- caller then replays it (another request: an idempotency conflict).
    INSERT INTO purchases (store_id, till_id, receipt_id, request_hash, member_id, card_number,
                           total_kop, discount_kop, payable_kop, earned, redeemed, balance_after,
                           purchased_at, committed_at, accrual_transfer_id)
    VALUES (p_store, p_till, p_receipt, p_hash, p_member, p_card, p_total, p_discount, p_payable,
            p_earned, p_redeemed, p_balance_after, p_purchased_at, p_committed_at, first_accrual)
    ON CONFLICT (store_id, receipt_id) DO NOTHING
    RETURNING id INTO purchase;
    IF purchase IS NULL THEN
        RETURN;
    END IF;
    IF p_token IS NOT NULL THEN
        UPDATE card_tokens SET used_at = p_committed_at
        WHERE code = p_token AND used_at IS NULL AND expires_at > p_committed_at;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'card code spent' USING ERRCODE = 'KP410';
        END IF;
    END IF;

    INSERT INTO purchase_lines (purchase_id, line_no, line_id, sku, category_id, amount_kop,
                                discount_kop, earned, redeemed, rule)
    SELECT purchase, (x.n - 1)::INT, x.id, x.sku, x.category, x.amount, x.discount, x.earned,
           x.redeemed, x.rule
    FROM UNNEST(l_ids, l_skus, l_categories, l_amounts, l_discounts, l_earned, l_redeemed, l_rules)
         WITH ORDINALITY AS x(id, sku, category, amount, discount, earned, redeemed, rule, n);

    -- The redemption, then what the rules earned, then what each offer added: separate lines
    -- in the history, all but the first accrual numbered by the sequence as they go in.
    IF redemption IS NOT NULL OR first_accrual IS NOT NULL THEN
        INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, kind, member_id,
                               store_id, receipt_id, description, at)
        OVERRIDING SYSTEM VALUE
        SELECT COALESCE(t.id, nextval('transfers_id_seq')), t.debit, t.credit, t.amount, t.kind,
               p_member, p_store, p_receipt, t.description, p_committed_at
        FROM (SELECT redemption AS id, account AS debit, p_redemption_account AS credit,
                     p_redeemed AS amount, p_redemption_kind AS kind,
                     p_redemption_description AS description, 0::BIGINT AS n
              WHERE redemption IS NOT NULL
              UNION ALL
              SELECT CASE WHEN m.n = 1 THEN first_accrual END, p_accrual_account, account,
                     m.amount, m.kind, m.description, m.n
              FROM UNNEST(m_kinds, m_amounts, m_descriptions) WITH ORDINALITY
                   AS m(kind, amount, description, n)) t
        ORDER BY t.n;
    END IF;
    IF redemption IS NOT NULL THEN
        PERFORM kopilka_draw_lots(p_member, p_redeemed, redemption, purchase, NULL, p_committed_at);
    END IF;
    IF cardinality(p_awarded_offers) > 0 THEN
        UPDATE offer_activations SET uses = uses + 1
        WHERE member_id = p_member AND offer_id = ANY (p_awarded_offers);
    END IF;
    -- One lot on the first accrual, so a return takes what the sale earned back together.
    IF first_accrual IS NOT NULL AND p_lot_points > 0 THEN
        WITH lot AS (
            INSERT INTO lots (member_id, transfer_id, points, earned_at, expires_at, available_at)
            VALUES (p_member, first_accrual, p_lot_points, p_purchased_at, p_lot_expires_at,
                    p_lot_available_at)
            RETURNING id)
        INSERT INTO live_lots (member_id, expires_at, lot_id, transfer_id, available_at, remaining)
        SELECT p_member, p_lot_expires_at, id, first_accrual, p_lot_available_at, p_lot_points
        FROM lot;
    END IF;
    -- The accounts last, redemption before accrual (the order a refund takes them in too): the
    -- system accounts are shards that a sixteenth of all sales move, and a sale holds their
    -- rows from this update to its commit.
    IF p_redeemed > 0 THEN
        UPDATE accounts
        SET debits_posted = debits_posted + CASE WHEN id = account THEN p_redeemed ELSE 0 END,
            credits_posted = credits_posted + CASE WHEN id = account THEN 0 ELSE p_redeemed END
        WHERE id IN (account, p_redemption_account);
        GET DIAGNOSTICS moved = ROW_COUNT;
        IF moved <> 2 THEN
            RAISE EXCEPTION 'no account %', p_redemption_account USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    -- m_amounts add up to p_earned: what the rules earned and what each offer added.
    IF p_earned > 0 THEN
        UPDATE accounts
        SET debits_posted = debits_posted + CASE WHEN id = account THEN 0 ELSE p_earned END,
            credits_posted = credits_posted + CASE WHEN id = account THEN p_earned ELSE 0 END
        WHERE id IN (account, p_accrual_account);
        GET DIAGNOSTICS moved = ROW_COUNT;
        IF moved <> 2 THEN
            RAISE EXCEPTION 'no account %', p_accrual_account USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    new_purchase := purchase;
END $$;

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
    new_balance := balance;
END $$;
