CREATE TABLE photo_hash_bands (
    band INTEGER NOT NULL,
    value INTEGER NOT NULL,
    sha256 TEXT NOT NULL REFERENCES photos (sha256),
    PRIMARY KEY (band, value, sha256)
);
DROP TABLE common_photo_keys;
DROP TABLE photo_keys;
