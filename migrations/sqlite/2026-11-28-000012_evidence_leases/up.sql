-- The background photo checks as jobs that any instance may take: a
-- submission with `evidence_pending` is a job; the instance checking it holds
-- a lease until `leased_until`. A job whose instance died is taken by another
-- once its lease has run out.
CREATE TABLE evidence_leases (
    submission_id BIGINT PRIMARY KEY REFERENCES submissions (id),
    holder TEXT NOT NULL,
    leased_until TIMESTAMP NOT NULL
);
