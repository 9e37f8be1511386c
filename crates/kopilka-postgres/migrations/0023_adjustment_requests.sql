-- Manual adjustments above their author's limit, waiting for a second staff member
-- (maker-checker). An approved one points at nothing else: its transfer is in the ledger with
-- the approval's audit row.
CREATE TABLE adjustment_requests (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id       BIGINT NOT NULL REFERENCES members (id),
    points          BIGINT NOT NULL CHECK (points <> 0),
    reason          TEXT NOT NULL,
    requested_by    BIGINT NOT NULL REFERENCES staff (id),
    requested_at    TIMESTAMPTZ NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending_approval' CHECK (status IN ('pending_approval', 'approved', 'rejected')),
    decided_by      BIGINT REFERENCES staff (id),
    decided_at      TIMESTAMPTZ,
    decision_reason TEXT
);
CREATE INDEX adjustment_requests_by_status ON adjustment_requests (status, id);
