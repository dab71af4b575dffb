ALTER TABLE photo_keys DROP COLUMN village_id;
