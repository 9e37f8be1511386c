-- One transfer, and both accounts moved by its amount; a transfer to or from an account that
-- does not exist fails as the foreign key did.
CREATE OR REPLACE FUNCTION kopilka_post(
    p_debit BIGINT, p_credit BIGINT, p_amount BIGINT, p_kind TEXT, p_member BIGINT,
    p_store BIGINT, p_receipt TEXT, p_lot BIGINT, p_description TEXT, p_at TIMESTAMPTZ
) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    transfer BIGINT;
    moved INT;
BEGIN
    UPDATE accounts
    SET debits_posted = debits_posted + CASE WHEN id = p_debit THEN p_amount ELSE 0 END,
        credits_posted = credits_posted + CASE WHEN id = p_credit THEN p_amount ELSE 0 END
    WHERE id IN (p_debit, p_credit);
    GET DIAGNOSTICS moved = ROW_COUNT;
    IF moved <> 2 AND p_debit <> p_credit THEN
        RAISE EXCEPTION 'transfer % -> %: no such account', p_debit, p_credit
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    INSERT INTO transfers (debit_account_id, credit_account_id, amount, kind, member_id, store_id,
                           receipt_id, lot_id, description, at)
    VALUES (p_debit, p_credit, p_amount, p_kind, p_member, p_store, p_receipt, p_lot, p_description, p_at)
    RETURNING id INTO transfer;
    RETURN transfer;
END $$;
