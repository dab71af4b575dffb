DELETE FROM sync_counters WHERE name IN ('common_photo_keys', 'photo_index_clears');
DROP INDEX common_photo_keys_since;
ALTER TABLE common_photo_keys DROP COLUMN since;
