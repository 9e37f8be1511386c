-- Every till request reads the holder's live lots (the points still pending; the order a
-- spending draws them in), and each lot found by this index cost a descent of the lots table
-- as well, on pages SQLite has read again since the last commit. With what those reads need
-- in the index itself they stop at it. A draw rewrote the entry already (`remaining` is in
-- the index's condition), so keeping it costs a sale nothing more.
DROP INDEX lots_live_by_member;
CREATE INDEX lots_live_by_member
    ON lots (member_id, expires_at, available_at, remaining, transfer_id) WHERE remaining > 0;
