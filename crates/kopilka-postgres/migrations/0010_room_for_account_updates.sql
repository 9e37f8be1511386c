-- Every sale, return and expired lot rewrites its member's account row. With room on the row's
-- page the new version stays there (a HOT update) and none of the table's indexes changes;
-- on a full page it moves, and all three indexes take a new entry. The expiry job over a
-- million lots went from 21 to 15 s with half of each page left free (docs/PERFORMANCE.md).
-- Pages written before this migration keep their fill until the table is rewritten
-- (VACUUM FULL accounts).
ALTER TABLE accounts SET (fillfactor = 50);
-- Only system accounts have a code: the unique index need not list every member's NULL.
ALTER TABLE accounts DROP CONSTRAINT accounts_code_key;
CREATE UNIQUE INDEX accounts_code_key ON accounts (code) WHERE code IS NOT NULL;
