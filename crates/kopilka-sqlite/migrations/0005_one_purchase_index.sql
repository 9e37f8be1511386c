-- purchases_by_member (migration 3) serves the count of earning receipts as well; the partial
-- index on the same key was one more index write per sale.
DROP INDEX purchases_earning_by_member;
