-- The expiry job walks due lots in (expiry, id) order and continues from the last one:
-- entries of lots it just zeroed stay in this index until vacuum, and must not be walked again.
DROP INDEX lots_due;
CREATE INDEX lots_due ON lots (expires_at, id) WHERE remaining > 0;
