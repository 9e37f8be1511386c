-- Every purchase moves points to or from a system account. With one row per system account,
-- every purchase transaction waits for the same row lock; spreading the busiest accounts
-- over shards (chosen by member) lets purchases of different members commit in parallel.
-- A system account's balance is the sum over its shards.
INSERT INTO accounts (code, created_at)
SELECT 'system:' || kind || ':' || shard, 'epoch'
FROM (VALUES ('accrual'), ('redemption')) AS k(kind), generate_series(1, 15) AS shard;
