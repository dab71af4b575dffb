-- The background photo checks as jobs that any instance may take: a
-- submission with `evidence_pending` is a job; the instance checking it holds
-- a lease until `leased_until`. A job whose instance died is taken by another
-- once its lease has run out.
CREATE TABLE evidence_leases (
    submission_id BIGINT PRIMARY KEY REFERENCES submissions (id),
    holder TEXT NOT NULL,
    leased_until TIMESTAMP NOT NULL
);

-- A photo being written to the store for an upload that has not committed yet
-- (the row goes with the commit). The orphan sweep leaves a photo with a recent
-- intent alone, and holds this row while it removes one, so that an upload of
-- the same photo waits for the removal and then writes the photo again.
CREATE TABLE photo_intents (
    sha256 TEXT PRIMARY KEY,
    started_at TIMESTAMP NOT NULL
);
