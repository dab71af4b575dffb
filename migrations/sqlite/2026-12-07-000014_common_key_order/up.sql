-- The order in which keys turned common, so that each server keeps the set
-- in memory and reads only the keys added since it last looked (see
-- `submissions::store::CommonKeys`). Keys already common keep 0.
ALTER TABLE common_photo_keys ADD COLUMN since BIGINT NOT NULL DEFAULT 0;
CREATE INDEX common_photo_keys_since ON common_photo_keys (since);

-- `since` comes from the first counter; the second moves whenever the whole
-- index is cleared (`reindex-photos`), when a server must forget its set.
INSERT INTO sync_counters (name, value) VALUES ('common_photo_keys', 0);
INSERT INTO sync_counters (name, value) VALUES ('photo_index_clears', 0);
