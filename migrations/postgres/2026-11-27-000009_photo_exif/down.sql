ALTER TABLE photos DROP COLUMN exif_error;
ALTER TABLE photos DROP COLUMN exif_camera;
