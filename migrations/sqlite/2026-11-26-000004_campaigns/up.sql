-- Campaigns with their targets (JSON: kind × who × threshold × deadline).
CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    directive TEXT NOT NULL,
    scope_area_id BIGINT NOT NULL REFERENCES areas (id),
    starts_on DATE NOT NULL,
    ends_on DATE NOT NULL,
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    utc_offset_minutes INTEGER NOT NULL,
    targets TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Maintained coverage: one row per campaign, target and village, recomputed for
-- a village inside every transaction that changes what it counts.
CREATE TABLE coverage_counts (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    target_index INTEGER NOT NULL,
    village_id BIGINT NOT NULL REFERENCES areas (id),
    village_path TEXT NOT NULL,
    eligible INTEGER NOT NULL,
    covered INTEGER NOT NULL,
    pending INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, target_index, village_id)
);
CREATE INDEX coverage_counts_path_idx ON coverage_counts (campaign_id, village_path);

ALTER TABLE submissions ADD COLUMN approved_at TIMESTAMP;
CREATE INDEX submissions_village_kind_idx ON submissions (village_id, commitment_kind);
CREATE INDEX submissions_household_kind_idx ON submissions (household_id, commitment_kind);

-- A household that moved keeps where it came from, so the old village's phones learn it left.
ALTER TABLE households ADD COLUMN previous_village_id BIGINT;
CREATE INDEX households_previous_idx ON households (previous_village_id, sync_seq, id);
