-- The village each indexed photo was first sent from, so that a photo's
-- candidates are ranked within its own village too (see
-- `submissions::store::reuse_candidates`): a paper reused for another
-- household is nearly always reused where its surveyor works, and among a
-- village's few hundred papers its handwriting stands out where among a
-- province's tens of thousands it does not. NULL: sent from no village,
-- ranked in the whole index only. The photos indexed already get the village
-- of the first submission that sent them (`reindex-photos` takes the first
-- that keeps the photo in the index, which differs only for a photo first
-- sent as the repeat of another paper).
ALTER TABLE photo_keys ADD COLUMN village_id BIGINT;

UPDATE photo_keys SET village_id = (
    SELECT submissions.village_id
    FROM submission_photos
    JOIN submissions ON submissions.id = submission_photos.submission_id
    WHERE submission_photos.sha256 = photo_keys.sha256
    ORDER BY submission_photos.submission_id
    LIMIT 1
);
