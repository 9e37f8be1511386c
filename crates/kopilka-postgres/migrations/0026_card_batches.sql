-- Plastic cards are printed in batches; a batch's cards say how many have been handed out
-- (bound), and its numbers go to the printer as CSV.
CREATE TABLE card_batches (
    id        BIGSERIAL PRIMARY KEY,
    issued_at TIMESTAMPTZ NOT NULL,
    issued_by TEXT NOT NULL
);
ALTER TABLE cards ADD COLUMN batch_id BIGINT REFERENCES card_batches (id);
CREATE INDEX cards_by_batch ON cards (batch_id, status) WHERE batch_id IS NOT NULL;
