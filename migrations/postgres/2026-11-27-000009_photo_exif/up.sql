-- What a reviewer sees of a photo's EXIF beyond time and place: the camera,
-- and why EXIF that is present could not be read.
ALTER TABLE photos ADD COLUMN exif_camera TEXT;
ALTER TABLE photos ADD COLUMN exif_error TEXT;
