-- A sale used to be ~16 statements in one transaction, each a round trip. The Rust side now
-- reads the state a sale is priced against in one statement, prices it, and hands the whole
-- write to kopilka_purchase below: one statement, its own transaction. The function checks,
-- under the member's account lock, that the state is still the one priced against; if not, it
-- raises KP409 and the caller prices again. Rules stay in Rust: these functions only write
-- what they are given and keep the ledger's bookkeeping (transfers, balances, lots).

-- One transfer, and both accounts moved by its amount.
CREATE FUNCTION kopilka_post(
    p_debit BIGINT, p_credit BIGINT, p_amount BIGINT, p_kind TEXT, p_member BIGINT,
    p_store BIGINT, p_receipt TEXT, p_lot BIGINT, p_description TEXT, p_at TIMESTAMPTZ
) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    transfer BIGINT;
BEGIN
    UPDATE accounts
    SET debits_posted = debits_posted + CASE WHEN id = p_debit THEN p_amount ELSE 0 END,
        credits_posted = credits_posted + CASE WHEN id = p_credit THEN p_amount ELSE 0 END
    WHERE id IN (p_debit, p_credit);
    INSERT INTO transfers (debit_account_id, credit_account_id, amount, kind, member_id, store_id,
                           receipt_id, lot_id, description, at)
    VALUES (p_debit, p_credit, p_amount, p_kind, p_member, p_store, p_receipt, p_lot, p_description, p_at)
    RETURNING id INTO transfer;
    RETURN transfer;
END $$;

-- Draws up to p_amount from the member's live lots: first the lot the transfer p_prefer
-- credited (a return takes back the purchase's own points), then lots available at p_now
-- before pending ones, soonest expiry first. With p_purchase, records each draw so a return
-- can give it back. Returns what it drew.
CREATE FUNCTION kopilka_draw_lots(
    p_member BIGINT, p_amount BIGINT, p_transfer BIGINT, p_purchase BIGINT, p_prefer BIGINT,
    p_now TIMESTAMPTZ
) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    still BIGINT := p_amount;
    lot RECORD;
    take BIGINT;
BEGIN
    FOR lot IN
        SELECT id, remaining FROM lots WHERE member_id = p_member AND remaining > 0
        ORDER BY transfer_id IS NOT DISTINCT FROM p_prefer DESC, available_at > p_now, expires_at, id
    LOOP
        EXIT WHEN still = 0;
        take := LEAST(lot.remaining, still);
        UPDATE lots SET remaining = remaining - take WHERE id = lot.id;
        IF p_purchase IS NOT NULL THEN
            INSERT INTO lot_usages (lot_id, transfer_id, purchase_id, points)
            VALUES (lot.id, p_transfer, p_purchase, take);
        END IF;
        still := still - take;
    END LOOP;
    RETURN p_amount - still;
END $$;

-- The state a sale is priced against, besides the balance: the points still pending at p_now,
-- the member's earning receipts of the day (not counting p_except, the sale's own row once it
-- is claimed) and the uses of the offers p_offer_ids, by offer id. The read before pricing and
-- the check under the lock both call it, so they cannot disagree on what "unchanged" means.
-- STABLE: it sees the snapshot of the statement that calls it.
CREATE FUNCTION kopilka_sale_state(
    p_member BIGINT, p_now TIMESTAMPTZ, p_day_start TIMESTAMPTZ, p_day_end TIMESTAMPTZ,
    p_offer_ids BIGINT[], p_except BIGINT,
    OUT pending BIGINT, OUT receipts_today BIGINT, OUT offers BIGINT[], OUT uses BIGINT[]
) LANGUAGE plpgsql STABLE AS $$
BEGIN
    SELECT COALESCE(SUM(remaining), 0) INTO pending FROM lots
    WHERE member_id = p_member AND remaining > 0 AND available_at > p_now;
    SELECT COUNT(*) INTO receipts_today FROM purchases
    WHERE member_id = p_member AND earned > 0 AND purchased_at >= p_day_start
      AND purchased_at < p_day_end AND id IS DISTINCT FROM p_except;
    SELECT COALESCE(array_agg(offer_id ORDER BY offer_id), '{}'),
           COALESCE(array_agg(activation.uses ORDER BY offer_id), '{}')
    INTO offers, uses
    FROM offer_activations activation
    WHERE member_id = p_member AND offer_id = ANY (p_offer_ids);
END $$;

-- Records a priced sale. Returns the purchase id, or NULL when the receipt is already recorded
-- (the caller replays it). Raises KP409 when the state differs from the one priced against,
-- KP404 without the member's account, KP410 when the one-time card code is spent or expired.
CREATE FUNCTION kopilka_purchase(
    p_store BIGINT, p_till BIGINT, p_receipt TEXT, p_hash TEXT, p_member BIGINT, p_card TEXT,
    p_token TEXT, p_purchased_at TIMESTAMPTZ, p_committed_at TIMESTAMPTZ,
    -- the state priced against
    p_day_start TIMESTAMPTZ, p_day_end TIMESTAMPTZ, p_balance BIGINT, p_pending BIGINT,
    p_receipts_today BIGINT, p_offer_ids BIGINT[], p_seen_offers BIGINT[], p_seen_uses BIGINT[],
    -- the priced sale
    p_total BIGINT, p_discount BIGINT, p_payable BIGINT, p_earned BIGINT, p_redeemed BIGINT,
    p_balance_after BIGINT,
    l_ids TEXT[], l_skus TEXT[], l_categories BIGINT[], l_amounts BIGINT[], l_discounts BIGINT[],
    l_earned BIGINT[], l_redeemed BIGINT[], l_rules TEXT[],
    p_redemption_account BIGINT, p_redemption_kind TEXT, p_redemption_description TEXT,
    p_accrual_account BIGINT, m_kinds TEXT[], m_amounts BIGINT[], m_descriptions TEXT[],
    p_awarded_offers BIGINT[],
    p_lot_points BIGINT, p_lot_expires_at TIMESTAMPTZ, p_lot_available_at TIMESTAMPTZ
) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    purchase BIGINT;
    account BIGINT;
    balance BIGINT;
    pending BIGINT;
    receipts_today BIGINT;
    seen_offers BIGINT[];
    seen_uses BIGINT[];
    transfer BIGINT;
    first_accrual BIGINT;
BEGIN
    -- The receipt first: an identical request in flight is waited for here, then replayed.
    INSERT INTO purchases (store_id, till_id, receipt_id, request_hash, member_id, card_number,
                           total_kop, discount_kop, payable_kop, earned, redeemed, balance_after,
                           purchased_at, committed_at)
    VALUES (p_store, p_till, p_receipt, p_hash, p_member, p_card, p_total, p_discount, p_payable,
            p_earned, p_redeemed, p_balance_after, p_purchased_at, p_committed_at)
    ON CONFLICT (store_id, receipt_id) DO NOTHING
    RETURNING id INTO purchase;
    IF purchase IS NULL THEN
        RETURN NULL;
    END IF;
    IF p_token IS NOT NULL THEN
        UPDATE card_tokens SET used_at = p_committed_at
        WHERE code = p_token AND used_at IS NULL AND expires_at > p_committed_at;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'card code spent' USING ERRCODE = 'KP410';
        END IF;
    END IF;
    SELECT id, credits_posted - debits_posted INTO account, balance
    FROM accounts WHERE member_id = p_member FOR UPDATE;
    IF account IS NULL THEN
        RAISE EXCEPTION 'no account' USING ERRCODE = 'KP404';
    END IF;
    -- A new statement: it sees what committed before the lock was granted.
    SELECT state.pending, state.receipts_today, state.offers, state.uses
    INTO pending, receipts_today, seen_offers, seen_uses
    FROM kopilka_sale_state(p_member, p_committed_at, p_day_start, p_day_end, p_offer_ids,
                            purchase) state;
    IF balance <> p_balance OR pending <> p_pending OR receipts_today <> p_receipts_today
       OR seen_offers <> p_seen_offers OR seen_uses <> p_seen_uses THEN
        RAISE EXCEPTION 'priced against a stale state' USING ERRCODE = 'KP409';
    END IF;

    INSERT INTO purchase_lines (purchase_id, line_no, line_id, sku, category_id, amount_kop,
                                discount_kop, earned, redeemed, rule)
    SELECT purchase, (x.n - 1)::INT, x.id, x.sku, x.category, x.amount, x.discount, x.earned,
           x.redeemed, x.rule
    FROM UNNEST(l_ids, l_skus, l_categories, l_amounts, l_discounts, l_earned, l_redeemed, l_rules)
         WITH ORDINALITY AS x(id, sku, category, amount, discount, earned, redeemed, rule, n);

    IF p_redeemed > 0 THEN
        transfer := kopilka_post(account, p_redemption_account, p_redeemed, p_redemption_kind,
                                 p_member, p_store, p_receipt, NULL, p_redemption_description,
                                 p_committed_at);
        PERFORM kopilka_draw_lots(p_member, p_redeemed, transfer, purchase, NULL, p_committed_at);
    END IF;
    -- What the rules earned, then what each offer added: separate lines in the history, one
    -- lot on the first transfer, so a return takes them back together.
    FOR i IN 1 .. COALESCE(array_length(m_kinds, 1), 0) LOOP
        transfer := kopilka_post(p_accrual_account, account, m_amounts[i], m_kinds[i], p_member,
                                 p_store, p_receipt, NULL, m_descriptions[i], p_committed_at);
        first_accrual := COALESCE(first_accrual, transfer);
    END LOOP;
    IF cardinality(p_awarded_offers) > 0 THEN
        UPDATE offer_activations SET uses = uses + 1
        WHERE member_id = p_member AND offer_id = ANY (p_awarded_offers);
    END IF;
    IF first_accrual IS NOT NULL THEN
        IF p_lot_points > 0 THEN
            INSERT INTO lots (member_id, transfer_id, points, remaining, earned_at, expires_at, available_at)
            VALUES (p_member, first_accrual, p_lot_points, p_lot_points, p_purchased_at,
                    p_lot_expires_at, p_lot_available_at);
        END IF;
        UPDATE purchases SET accrual_transfer_id = first_accrual WHERE id = purchase;
    END IF;
    RETURN purchase;
END $$;

-- purchases_by_member (migration 4) serves the count of earning receipts as well; the partial
-- index on the same key was one more index write per sale.
DROP INDEX purchases_earning_by_member;
