-- The hashes dropped are not restored: 0 stands for "not computed", as it
-- did for a photo whose checks had not run yet.
ALTER TABLE photos ADD COLUMN phash BIGINT NOT NULL DEFAULT 0;
