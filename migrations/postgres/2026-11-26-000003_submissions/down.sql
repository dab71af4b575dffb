DROP TABLE submission_events;
DROP TABLE submission_photos;
DROP TABLE submissions;
DROP TABLE photo_hash_bands;
DROP TABLE photos;
