-- Where each posting's keypoint lies in its photo's work image (whole
-- pixels), so that a search can count the shared keys that agree on where a
-- paper moved between two photos (see `evidence::candidates`). Postings
-- written before have none and add no vote; `camket reindex-photos` writes
-- them again with their places, from the stored fingerprints.
ALTER TABLE photo_keys ADD COLUMN x SMALLINT;
ALTER TABLE photo_keys ADD COLUMN y SMALLINT;
