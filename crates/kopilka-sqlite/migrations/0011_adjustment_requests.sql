-- Manual adjustments above their author's limit, waiting for a second staff member
-- (maker-checker). An approved one points at nothing else: its transfer is in the ledger with
-- the approval's audit row.
CREATE TABLE adjustment_requests (
    id              INTEGER PRIMARY KEY,
    member_id       INTEGER NOT NULL REFERENCES members (id),
    points          INTEGER NOT NULL CHECK (points <> 0),
    reason          TEXT NOT NULL,
    requested_by    INTEGER NOT NULL REFERENCES staff (id),
    requested_at    INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending_approval' CHECK (status IN ('pending_approval', 'approved', 'rejected')),
    decided_by      INTEGER REFERENCES staff (id),
    decided_at      INTEGER,
    decision_reason TEXT
) STRICT;
CREATE INDEX adjustment_requests_by_status ON adjustment_requests (status, id);
