DROP INDEX submission_photos_sha_order_idx;
DROP INDEX submissions_evidence_backlog_idx;
ALTER TABLE submissions DROP COLUMN evidence_pending;
ALTER TABLE photos DROP COLUMN verify_error;
ALTER TABLE photos DROP COLUMN verified_at;
