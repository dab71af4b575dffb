"""Writes the EXIF test corpus: one small JPEG per EXIF writer, all carrying the
same facts (taken 2026-11-20 09:30:00 local time, at 19.766 N 105.828 E, by a
Samsung SM-A105F), plus one whose EXIF is not TIFF at all.
Run with Pillow, piexif and exiftool installed: python3 make_corpus.py"""
import io
import subprocess
import piexif
from PIL import Image

def image():
    return Image.new("RGB", (64, 48), (200, 190, 170))

def dms(value):
    d = int(value)
    m = int((value - d) * 60)
    s = round(((value - d) * 60 - m) * 60 * 1000)
    return ((d, 1), (m, 1), (s, 1000))

# piexif: 0th, Exif and GPS IFDs as piexif lays them out.
exif = {
    "0th": {piexif.ImageIFD.Make: b"samsung", piexif.ImageIFD.Model: b"SM-A105F",
            piexif.ImageIFD.DateTime: b"2026:11:20 09:30:00"},
    "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2026:11:20 09:30:00"},
    "GPS": {piexif.GPSIFD.GPSLatitudeRef: b"N", piexif.GPSIFD.GPSLatitude: dms(19.766),
            piexif.GPSIFD.GPSLongitudeRef: b"E", piexif.GPSIFD.GPSLongitude: dms(105.828)},
    "1st": {}, "thumbnail": None,
}
image().save("piexif.jpg", exif=piexif.dump(exif), quality=80)

# piexif with a thumbnail IFD (1st) linked from 0th, as phones' files have.
thumb = io.BytesIO()
Image.new("RGB", (16, 12), (200, 190, 170)).save(thumb, "JPEG")
exif_thumb = dict(exif, **{"1st": {piexif.ImageIFD.XResolution: (72, 1)}, "thumbnail": thumb.getvalue()})
image().save("piexif-thumbnail.jpg", exif=piexif.dump(exif_thumb), quality=80)

# Pillow's own EXIF writer (Image.Exif), with the GPS IFD it nests itself.
pil = Image.Exif()
pil[0x010F] = "samsung"
pil[0x0110] = "SM-A105F"
pil[0x0132] = "2026:11:20 09:30:00"
pil.get_ifd(0x8769)[0x9003] = "2026:11:20 09:30:00"
gps = pil.get_ifd(0x8825)
gps[1] = "N"
gps[2] = (19.0, 45.0, 57.6)
gps[3] = "E"
gps[4] = (105.0, 49.0, 40.8)
image().save("pillow.jpg", exif=pil.tobytes(), quality=80)

# EXIF that is not TIFF at all: present, unreadable.
image().save("broken.jpg", exif=b"Exif\x00\x00" + b"XX\x00\x2a" + b"\x00" * 12, quality=80)

# exiftool's writer, on a plain JPEG (needs the exiftool command).
image().save("exiftool.jpg", quality=80)
subprocess.run(
    ["exiftool", "-q", "-overwrite_original", "-Make=samsung", "-Model=SM-A105F",
     "-DateTimeOriginal=2026:11:20 09:30:00", "-ModifyDate=2026:11:20 09:30:00",
     "-GPSLatitude=19.766", "-GPSLatitudeRef=N", "-GPSLongitude=105.828",
     "-GPSLongitudeRef=E", "exiftool.jpg"],
    check=True,
)

# piexif's EXIF with IFD0's next-IFD link pointing far past the end, as some
# apps leave it: the time, place and camera in IFD0 and its sub-IFDs are intact
# and must still be read.
raw = bytearray(piexif.dump(exif))
tiff = 6  # after "Exif\0\0"
big = raw[tiff:tiff + 2] == b"MM"
order = "big" if big else "little"
ifd0 = int.from_bytes(raw[tiff + 4:tiff + 8], order)
count = int.from_bytes(raw[tiff + ifd0:tiff + ifd0 + 2], order)
link = tiff + ifd0 + 2 + 12 * count
raw[link:link + 4] = (0x7FFFFF00).to_bytes(4, order)
image().save("odd-next-ifd.jpg", exif=bytes(raw), quality=80)
