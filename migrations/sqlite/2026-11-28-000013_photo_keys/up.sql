-- The index that finds a reused signed paper among look-alikes of one printed
-- template: every checked photo's keypoint keys (short subsets of the bits of
-- its keypoint descriptors; see evidence/keypoints.rs) with the photo.
CREATE TABLE photo_keys (
    key BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (key, sha256)
) WITHOUT ROWID;

-- Keys that many photos share (the printed template's, not one paper's
-- handwriting): they no longer find candidates, and their postings are gone,
-- so that a check's cost does not grow with the number of earlier photos.
CREATE TABLE common_photo_keys (
    key BIGINT PRIMARY KEY
) WITHOUT ROWID;

-- Candidates came from a 64-bit perceptual hash, which cannot tell papers of
-- one template apart.
DROP TABLE photo_hash_bands;
