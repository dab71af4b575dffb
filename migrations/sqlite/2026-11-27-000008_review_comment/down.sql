ALTER TABLE submissions DROP COLUMN review_comment;
