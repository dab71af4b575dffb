-- The queue filters by flag: one row per (submission, flag code), indexed by
-- code, instead of a LIKE over the flags' JSON text.
CREATE TABLE submission_flags (
    submission_id BIGINT NOT NULL REFERENCES submissions (id),
    code TEXT NOT NULL,
    PRIMARY KEY (submission_id, code)
);
CREATE INDEX submission_flags_code_idx ON submission_flags (code, submission_id);
INSERT INTO submission_flags (submission_id, code)
SELECT DISTINCT s.id, json_extract(f.value, '$.code')
FROM submissions s, json_each(s.flags) f
WHERE json_extract(f.value, '$.code') IS NOT NULL;

-- A household that leaves a village is announced to that village's phones
-- once, as a tombstone with its own sync stamp; the household itself syncs
-- only to the village it is in now.
CREATE TABLE household_departures (
    household_id BIGINT NOT NULL REFERENCES households (id),
    village_id BIGINT NOT NULL REFERENCES areas (id),
    sync_seq BIGINT NOT NULL,
    PRIMARY KEY (village_id, sync_seq, household_id)
);
INSERT INTO household_departures (household_id, village_id, sync_seq)
SELECT id, previous_village_id, sync_seq FROM households
WHERE previous_village_id IS NOT NULL AND previous_village_id <> village_id;
DROP INDEX households_previous_idx;
ALTER TABLE households DROP COLUMN previous_village_id;
