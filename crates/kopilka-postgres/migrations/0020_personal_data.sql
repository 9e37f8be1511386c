-- A customer may delete their account (152-FZ). The row stays, since the ledger's rows point
-- at it, with the personal data erased; the phone becomes a tombstone (see `privacy.rs`).
ALTER TABLE members ADD COLUMN deleted_at TIMESTAMPTZ;

-- Where a deleted account's points go. Not sharded: deletions are rare, and each takes the
-- row for one short transaction.
INSERT INTO accounts (code, created_at) VALUES ('system:forfeit', 'epoch');

-- The member's export reads their consent history.
CREATE INDEX consent_log_by_member ON consent_log (member_id, id);
