ALTER TABLE households ADD COLUMN previous_village_id BIGINT;
UPDATE households SET previous_village_id = (
    SELECT d.village_id FROM household_departures d
    WHERE d.household_id = households.id ORDER BY d.sync_seq DESC LIMIT 1
);
CREATE INDEX households_previous_idx ON households (previous_village_id, sync_seq, id);
DROP TABLE household_departures;
DROP TABLE submission_flags;
