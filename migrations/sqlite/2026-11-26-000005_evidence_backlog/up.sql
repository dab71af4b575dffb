-- Photos are accepted after the cheap checks; decoding, derivatives and the
-- near-duplicate comparison run afterwards in a bounded background pool.
ALTER TABLE photos ADD COLUMN verified_at TIMESTAMP;
ALTER TABLE photos ADD COLUMN verify_error TEXT;
UPDATE photos SET verified_at = created_at;

-- A submission whose background checks have not run yet (its flags may grow).
ALTER TABLE submissions ADD COLUMN evidence_pending BOOLEAN NOT NULL DEFAULT 0;
CREATE INDEX submissions_evidence_backlog_idx ON submissions (id) WHERE evidence_pending;

-- "Was this photo sent before for someone else?" walks one photo's uses in
-- submission order and stops at the first few (the (sha256, subject) index made
-- PostgreSQL walk every use of a popular photo, or the whole table for a new one).
CREATE INDEX submission_photos_sha_order_idx ON submission_photos (sha256, submission_id);
