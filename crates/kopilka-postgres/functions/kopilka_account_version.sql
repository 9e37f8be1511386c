-- The version of an account row: changes whenever the row is rewritten.
CREATE OR REPLACE FUNCTION kopilka_account_version(p_xmin XID) RETURNS BIGINT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT p_xmin::TEXT::BIGINT $$;
