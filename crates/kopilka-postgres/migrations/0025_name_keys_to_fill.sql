-- The rows whose name key is still to be filled in at start (`members::fill_name_keys`):
-- without this index every start would read the whole members table to find none.
CREATE INDEX members_name_key_to_fill ON members (id)
    WHERE name_key IS NULL AND (last_name IS NOT NULL OR first_name IS NOT NULL);
