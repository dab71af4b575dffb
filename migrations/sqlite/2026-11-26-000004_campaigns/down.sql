DROP INDEX households_previous_idx;
ALTER TABLE households DROP COLUMN previous_village_id;
DROP INDEX submissions_household_kind_idx;
DROP INDEX submissions_village_kind_idx;
ALTER TABLE submissions DROP COLUMN approved_at;
DROP TABLE coverage_counts;
DROP TABLE campaigns;
