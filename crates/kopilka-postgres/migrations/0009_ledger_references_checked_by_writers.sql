-- A foreign key on PostgreSQL is a query and a row lock for every row inserted: about ten per
-- sale, a quarter of the till's throughput in an A/B run (docs/PERFORMANCE.md, fifth sitting).
-- The ledger's append-only tables drop the keys that the writing functions establish by
-- construction, in the same transaction:
-- - a purchase's lines, lots, lot uses and transfers point at rows the sale has just inserted
--   or locked (the purchase, its transfer, the member's account row, the lots it draws);
-- - a purchase's till is the till that authenticated the request (tills are never deleted);
-- - a transfer's accounts are checked by kopilka_post below: both must move, or nothing does;
-- - member ids come with the member's account, whose own key to members stays.
-- The tests look for dangling references after every scenario (assert_ledger_balanced), as
-- they do on SQLite, whose bulk writers skip the same checks.
ALTER TABLE purchases DROP CONSTRAINT purchases_till_id_fkey,
                      DROP CONSTRAINT purchases_member_id_fkey;
ALTER TABLE purchase_lines DROP CONSTRAINT purchase_lines_purchase_id_fkey;
ALTER TABLE transfers DROP CONSTRAINT transfers_debit_account_id_fkey,
                      DROP CONSTRAINT transfers_credit_account_id_fkey,
                      DROP CONSTRAINT transfers_member_id_fkey,
                      DROP CONSTRAINT transfers_lot_id_fkey;
ALTER TABLE lots DROP CONSTRAINT lots_member_id_fkey,
                 DROP CONSTRAINT lots_transfer_id_fkey;
ALTER TABLE lot_usages DROP CONSTRAINT lot_usages_lot_id_fkey,
                       DROP CONSTRAINT lot_usages_transfer_id_fkey,
                       DROP CONSTRAINT lot_usages_purchase_id_fkey;

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
