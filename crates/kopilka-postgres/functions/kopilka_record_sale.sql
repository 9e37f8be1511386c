-- Records a priced sale: `new_purchase`, or NULL when the receipt is already recorded (the
-- caller replays it); `stale` when the member's account changed since the state was read
-- (p_version). Raises KP404 without the member's account, KP410 when the one-time card code
-- is spent or expired, KP409 when the card's status is none of p_purchasable (a block that came
-- in since the till identified it).
CREATE OR REPLACE FUNCTION kopilka_record_sale(
    p_store BIGINT, p_till BIGINT, p_receipt TEXT, p_hash TEXT, p_member BIGINT, p_card TEXT,
    p_token TEXT, p_purchased_at TIMESTAMPTZ, p_committed_at TIMESTAMPTZ,
    -- the card states a purchase may be recorded on (kopilka_domain::CardStatus::check_purchase)
    p_purchasable TEXT[],
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
    -- the lots that pay p_redeemed and what each gives (kopilka_domain::lots::draw)
    d_lots BIGINT[], d_points BIGINT[],
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
    card_refused BOOLEAN;
BEGIN
    -- The member's account first, read after the lock is granted: the newest version of the
    -- row. A sale priced against an older one writes nothing and says so. An identical
    -- request in flight holds this lock until it commits; this one then finds the account
    -- moved, and is replayed once the state is read again. The card's status comes in the
    -- same statement: a statement of its own cost the till some 6%.
    SELECT a.id, kopilka_account_version(a.xmin), c.status <> ALL (p_purchasable)
    INTO account, version, card_refused
    FROM accounts a LEFT JOIN cards c ON c.number = p_card
    WHERE a.member_id = p_member FOR UPDATE OF a;
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
    IF card_refused THEN
        RAISE EXCEPTION 'card refused' USING ERRCODE = 'KP409';
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
        PERFORM kopilka_take_from_lots(p_member, d_lots, d_points);
        INSERT INTO lot_usages (lot_id, transfer_id, purchase_id, points)
        SELECT d.lot, redemption, purchase, d.points FROM UNNEST(d_lots, d_points) AS d(lot, points);
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
