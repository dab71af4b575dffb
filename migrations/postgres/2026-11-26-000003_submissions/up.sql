-- Photos: one row per distinct file (content-addressed by sha-256); the bytes
-- live in the photo store on disk, never in the database.
CREATE TABLE photos (
    sha256 TEXT PRIMARY KEY,
    format TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    phash BIGINT NOT NULL,
    exif_time TIMESTAMP,
    exif_lat DOUBLE PRECISION,
    exif_lon DOUBLE PRECISION,
    created_at TIMESTAMP NOT NULL
);

-- The perceptual hash cut in eight bytes: two photos within Hamming distance 7
-- share at least one band, so near-duplicate candidates are index look-ups.
CREATE TABLE photo_hash_bands (
    band INTEGER NOT NULL,
    value INTEGER NOT NULL,
    sha256 TEXT NOT NULL REFERENCES photos (sha256),
    PRIMARY KEY (band, value, sha256)
);

CREATE TABLE submissions (
    id BIGSERIAL PRIMARY KEY,
    instance_id TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    form_id TEXT NOT NULL,
    form_version INTEGER NOT NULL,
    village_id BIGINT NOT NULL REFERENCES areas (id),
    area_path TEXT COLLATE "C" NOT NULL,
    household_id BIGINT REFERENCES households (id),
    submitted_by BIGINT NOT NULL REFERENCES users (id),
    device_id TEXT,
    collected_at TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL,
    geotag_lat DOUBLE PRECISION,
    geotag_lon DOUBLE PRECISION,
    geotag_accuracy_m DOUBLE PRECISION,
    geotag_altitude_m DOUBLE PRECISION,
    geotag_captured_at TIMESTAMP,
    answers TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('received', 'approved', 'rejected', 'has_issues')),
    risk INTEGER NOT NULL,
    flags TEXT NOT NULL,
    commitment_kind TEXT,
    supersedes BIGINT REFERENCES submissions (id),
    superseded_by BIGINT,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX submissions_queue_idx ON submissions (area_path, status, risk);
CREATE INDEX submissions_surveyor_idx ON submissions (submitted_by, collected_at);
CREATE INDEX submissions_household_idx ON submissions (household_id);
CREATE INDEX submissions_risk_idx ON submissions (risk, id);

CREATE TABLE submission_photos (
    id BIGSERIAL PRIMARY KEY,
    submission_id BIGINT NOT NULL REFERENCES submissions (id),
    field_path TEXT NOT NULL,
    part_name TEXT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES photos (sha256),
    subject TEXT NOT NULL
);
CREATE INDEX submission_photos_submission_idx ON submission_photos (submission_id);
CREATE INDEX submission_photos_sha_idx ON submission_photos (sha256, subject);

-- Append-only audit trail of every state change and revision.
CREATE TABLE submission_events (
    id BIGSERIAL PRIMARY KEY,
    submission_id BIGINT NOT NULL REFERENCES submissions (id),
    at TIMESTAMP NOT NULL,
    actor_id BIGINT NOT NULL REFERENCES users (id),
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    comment TEXT
);
CREATE INDEX submission_events_submission_idx ON submission_events (submission_id, id);
