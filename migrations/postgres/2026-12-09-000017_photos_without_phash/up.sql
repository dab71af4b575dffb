-- The perceptual hash was the first way to find a reused photo: photos in
-- one hash bucket were compared. The keypoint index (`photo_keys`) has
-- replaced it, and nothing reads the column since; computing it cost every
-- check about 0.8 ms and the build a DCT library. The photos themselves are
-- kept, so a hash could be computed again from them if it were ever wanted.
ALTER TABLE photos DROP COLUMN phash;
