//! What the server learns from one uploaded photo: that it is a real JPEG or PNG
//! within limits (no decompression bombs, no truncated uploads), its EXIF time
//! and position, its derivatives (thumbnail, review size) and the fingerprints
//! used to find reused photos. Pure over bytes on disk; no database.

use std::io::{BufReader, Read, Seek};
use std::path::Path;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use image::{DynamicImage, GrayImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use super::keypoints::{work_image, WORK_LONG_SIDE};
use super::similarity::Fingerprint;

/// Limits on what a photo may be.
#[derive(Debug, Clone, Copy)]
pub struct PhotoLimits {
    /// Largest width or height, in pixels.
    pub max_dimension: u32,
    /// Largest width × height.
    pub max_pixels: u64,
    /// Most memory the decoder may allocate.
    pub max_alloc: u64,
}

impl Default for PhotoLimits {
    fn default() -> PhotoLimits {
        PhotoLimits {
            max_dimension: 12_000,
            max_pixels: 50_000_000,
            max_alloc: 512 * 1024 * 1024,
        }
    }
}

/// Why a photo was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("HEIC/HEIF photos cannot be read here; set the camera to JPEG ('Most compatible') and send it again")]
    Heic,
    #[error("not a JPEG or PNG image (the file starts with {0})")]
    NotAnImage(String),
    #[error(
        "the JPEG is truncated (no end-of-image marker): the upload was cut off; send it again"
    )]
    Truncated,
    #[error("the image is {width} × {height} pixels; at most {max_dimension} per side and {max_pixels} pixels in all are accepted")]
    TooLarge {
        width: u32,
        height: u32,
        max_dimension: u32,
        max_pixels: u64,
    },
    #[error("the image cannot be decoded: {0}")]
    Undecodable(String),
}

pub use camket_schema::domain::PhotoFormat;

/// Recognises the format from the first bytes (never from the file name).
pub fn sniff(head: &[u8]) -> Result<PhotoFormat, PhotoError> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(PhotoFormat::Jpeg);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(PhotoFormat::Png);
    }
    if head.len() >= 12
        && &head[4..8] == b"ftyp"
        && [b"heic", b"heix", b"mif1", b"msf1", b"hevc"]
            .iter()
            .any(|brand| &head[8..12] == *brand)
    {
        return Err(PhotoError::Heic);
    }
    let shown: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Err(PhotoError::NotAnImage(if shown.is_empty() {
        "nothing (empty file)".into()
    } else {
        shown.join(" ")
    }))
}

/// What a photo's EXIF says: time, position and camera.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExifFacts {
    /// When the photo was taken, in UTC.
    pub taken_at: Option<DateTime<Utc>>,
    /// `(lat, lon)` in degrees.
    pub location: Option<(f64, f64)>,
    /// Make and model, as the camera wrote them.
    pub camera: Option<String>,
    /// EXIF is present but nothing could be read from it: why.
    pub unreadable: Option<String>,
}

fn ascii(field: &exif::Field) -> Option<String> {
    match &field.value {
        exif::Value::Ascii(parts) => parts.first().map(|p| {
            String::from_utf8_lossy(p)
                .trim_end_matches('\0')
                .trim()
                .to_string()
        }),
        _ => None,
    }
}

fn degrees(field: &exif::Field) -> Option<f64> {
    match &field.value {
        exif::Value::Rational(parts) if parts.len() == 3 => {
            let [d, m, s] = [parts[0].to_f64(), parts[1].to_f64(), parts[2].to_f64()];
            let value = d + m / 60.0 + s / 3600.0;
            value.is_finite().then_some(value)
        }
        _ => None,
    }
}

/// Reads EXIF, skipping entries that cannot be read; EXIF from which nothing
/// at all can be read is an error naming the first problem.
fn read_tolerantly(raw: &[u8]) -> Result<exif::Exif, String> {
    let mut first_problem = None;
    let exif = exif::Reader::new()
        .continue_on_error(true)
        .read_raw(raw.to_vec())
        .or_else(|error| {
            error.distill_partial_result(|skipped| {
                first_problem = skipped.first().map(ToString::to_string);
            })
        })
        .map_err(|error| error.to_string())?;
    if exif.fields().next().is_none() {
        return Err(first_problem.unwrap_or_else(|| "no EXIF field could be read".into()));
    }
    Ok(exif)
}

/// Reads EXIF from raw TIFF-structured bytes (as the JPEG decoder hands them over).
/// `local_offset` is the phones' time zone, used when the photo carries none.
///
/// Phones and apps write EXIF in many slightly broken ways (an odd next-IFD
/// link, a field of the wrong type): what can be read is read, the rest
/// skipped. EXIF that yields nothing at all is `unreadable`, with the reason.
pub fn read_exif(raw: Vec<u8>, local_offset: FixedOffset) -> ExifFacts {
    let exif = match read_tolerantly(&raw) {
        Ok(exif) => exif,
        Err(error) => {
            return ExifFacts {
                unreadable: Some(error),
                ..ExifFacts::default()
            }
        }
    };
    let get = |tag| exif.get_field(tag, exif::In::PRIMARY);
    let camera = [exif::Tag::Make, exif::Tag::Model]
        .into_iter()
        .filter_map(|tag| get(tag).and_then(ascii))
        .filter(|text| !text.is_empty())
        .collect::<Vec<_>>();
    let camera = (!camera.is_empty()).then(|| camera.join(" "));
    let taken_at = get(exif::Tag::DateTimeOriginal)
        .or_else(|| get(exif::Tag::DateTime))
        .and_then(ascii)
        .and_then(|text| NaiveDateTime::parse_from_str(&text, "%Y:%m:%d %H:%M:%S").ok())
        .and_then(|naive| {
            let offset = get(exif::Tag::OffsetTimeOriginal)
                .and_then(ascii)
                .and_then(|o| {
                    DateTime::parse_from_str(
                        &format!("2000-01-01T00:00:00{o}"),
                        "%Y-%m-%dT%H:%M:%S%:z",
                    )
                    .ok()
                })
                .map(|d| *d.offset())
                .unwrap_or(local_offset);
            offset
                .from_local_datetime(&naive)
                .single()
                .map(|d| d.with_timezone(&Utc))
        });
    let coordinate = |value_tag, ref_tag, negative: &str| {
        let value = get(value_tag).and_then(degrees)?;
        let sign = match get(ref_tag).and_then(ascii) {
            Some(r) if r.eq_ignore_ascii_case(negative) => -1.0,
            _ => 1.0,
        };
        Some(sign * value)
    };
    let lat = coordinate(exif::Tag::GPSLatitude, exif::Tag::GPSLatitudeRef, "S");
    let lon = coordinate(exif::Tag::GPSLongitude, exif::Tag::GPSLongitudeRef, "W");
    let location = match (lat, lon) {
        (Some(lat), Some(lon))
            if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) =>
        {
            Some((lat, lon))
        }
        _ => None,
    };
    ExifFacts {
        taken_at,
        location,
        camera,
        unreadable: None,
    }
}

/// Everything derived from one photo.
pub struct InspectedPhoto {
    pub format: PhotoFormat,
    pub width: u32,
    pub height: u32,
    pub exif: ExifFacts,
    /// JPEG, about 320 px on the long side.
    pub thumbnail: Vec<u8>,
    /// What the photo is compared by to find a reused paper.
    pub fingerprint: Fingerprint,
    /// The grey work image the fingerprint was taken from (kept for a
    /// search that draws it larger and smaller: [`super::keypoints::DRAWINGS`]).
    pub work: GrayImage,
}

fn ends_with_eoi<R: Read + Seek>(reader: &mut R) -> bool {
    // Phones may append padding after the marker; look at the last 64 bytes.
    let Ok(length) = reader.seek(std::io::SeekFrom::End(0)) else {
        return false;
    };
    let tail_len = length.min(64);
    if reader
        .seek(std::io::SeekFrom::End(-(tail_len as i64)))
        .is_err()
    {
        return false;
    }
    let mut tail = Vec::with_capacity(tail_len as usize);
    if reader.take(tail_len).read_to_end(&mut tail).is_err() {
        return false;
    }
    tail.windows(2).any(|w| w == [0xFF, 0xD9])
}

/// A derivative (review image, thumbnail) as JPEG, with libjpeg-turbo.
pub fn encode_jpeg(image: &DynamicImage, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let failed = |e: turbojpeg::Error| PhotoError::Undecodable(format!("re-encoding failed: {e}"));
    let rgb = image.to_rgb8();
    let (width, height) = (rgb.width() as usize, rgb.height() as usize);
    let mut compressor = turbojpeg::Compressor::new().map_err(failed)?;
    compressor.set_quality(i32::from(quality));
    compressor.set_subsamp(turbojpeg::Subsamp::Sub2x2);
    compressor
        .compress_to_vec(turbojpeg::Image {
            pixels: rgb.as_raw().as_slice(),
            width,
            pitch: 3 * width,
            height,
            format: turbojpeg::PixelFormat::RGB,
        })
        .map_err(failed)
}

/// The long side of the review image (made on its first request, see [`review_image`]).
pub const REVIEW_LONG_SIDE: u32 = 1280;
/// The long side of the thumbnail.
pub const THUMBNAIL_LONG_SIDE: u32 = 320;

/// The least long side [`inspect`] decodes a photo at: enough for the work
/// image and the thumbnail.
const INSPECTED_LONG_SIDE: u32 = if WORK_LONG_SIDE > THUMBNAIL_LONG_SIDE {
    WORK_LONG_SIDE
} else {
    THUMBNAIL_LONG_SIDE
};

/// Decodes a JPEG at the smallest of 1/8, 1/4, 1/2 or full size whose long
/// side still reaches `long_side`. At 1/8 (the checks' work image of a phone
/// photo) the image is made from the DC coefficients alone
/// ([`super::jpeg_dc`]), else libjpeg-turbo scales inside the inverse DCT, so
/// a 12-MP phone photo decodes at 1/2 for about a quarter of the cost of a
/// full decode. `None` when neither will decode it (a CMYK JPEG, one with
/// recoverable errors): the `image` crate then tries, as before. `checked`
/// is the width and height that passed the limits: a header that says
/// otherwise to libjpeg-turbo (or to the DC decoder) is not decoded here.
pub fn decode_jpeg_scaled(
    bytes: &[u8],
    checked: (u32, u32),
    long_side: u32,
) -> Option<DynamicImage> {
    let mut decompressor = turbojpeg::Decompressor::new().ok()?;
    let header = decompressor.read_header(bytes).ok()?;
    if (header.width, header.height) != (checked.0 as usize, checked.1 as usize) {
        return None;
    }
    let long = header.width.max(header.height);
    let wanted = long_side as usize;
    let denominator = [8usize, 4, 2]
        .into_iter()
        .find(|k| long.div_ceil(*k) >= wanted)
        .unwrap_or(1);
    if denominator == 8 {
        if let Some(image) = super::jpeg_dc::decode(bytes, checked) {
            return Some(image);
        }
    }
    decode_with_libjpeg_turbo(&mut decompressor, bytes, header, denominator)
}

/// libjpeg-turbo's decode at 1/`denominator` of each side.
fn decode_with_libjpeg_turbo(
    decompressor: &mut turbojpeg::Decompressor,
    bytes: &[u8],
    header: turbojpeg::DecompressHeader,
    denominator: usize,
) -> Option<DynamicImage> {
    // libjpeg-turbo picks the largest scale whose size fits the output, so
    // asking for exactly 1/k of each side gets the 1/k decode.
    let (width, height) = (
        header.width.div_ceil(denominator),
        header.height.div_ceil(denominator),
    );
    let mut image = turbojpeg::Image {
        pixels: vec![0u8; 3 * width * height],
        width,
        pitch: 3 * width,
        height,
        format: turbojpeg::PixelFormat::RGB,
    };
    decompressor.decompress(bytes, image.as_deref_mut()).ok()?;
    image::RgbImage::from_raw(
        u32::try_from(width).ok()?,
        u32::try_from(height).ok()?,
        image.pixels,
    )
    .map(DynamicImage::ImageRgb8)
}

/// libjpeg-turbo's own 1/8 decode, which [`super::jpeg_dc`] stands in for:
/// what its tests and the photo benchmark compare with.
pub fn decode_eighth_with_libjpeg_turbo(bytes: &[u8]) -> Option<DynamicImage> {
    let mut decompressor = turbojpeg::Decompressor::new().ok()?;
    let header = decompressor.read_header(bytes).ok()?;
    decode_with_libjpeg_turbo(&mut decompressor, bytes, header, 8)
}

/// The image shrunk to at most `max_side` pixels on its long side, with SIMD
/// (fast_image_resize): ≈ 10× faster than `image`'s own filters on 12 MP.
pub fn shrink(image: &DynamicImage, max_side: u32) -> DynamicImage {
    let (w, h) = (image.width(), image.height());
    if w.max(h) <= max_side {
        return image.clone();
    }
    let scale = f64::from(max_side) / f64::from(w.max(h));
    let (dw, dh) = (
        ((f64::from(w) * scale).round() as u32).max(1),
        ((f64::from(h) * scale).round() as u32).max(1),
    );
    let options = fast_image_resize::ResizeOptions::new().resize_alg(
        fast_image_resize::ResizeAlg::Convolution(fast_image_resize::FilterType::Box),
    );
    let mut resizer = fast_image_resize::Resizer::new();
    let mut out = DynamicImage::new_rgb8(dw, dh);
    let done = match image {
        DynamicImage::ImageRgb8(_) => resizer.resize(image, &mut out, &options),
        other => resizer.resize(
            &DynamicImage::ImageRgb8(other.to_rgb8()),
            &mut out,
            &options,
        ),
    };
    match done {
        Ok(()) => out,
        Err(_) => image.thumbnail(max_side, max_side),
    }
}

/// What the cheap checks learn without decoding a pixel.
#[derive(Debug, Clone, PartialEq)]
pub struct ExaminedPhoto {
    pub format: PhotoFormat,
    /// As stored (before the EXIF orientation is applied).
    pub width: u32,
    pub height: u32,
    pub exif: ExifFacts,
}

/// Opens the photo at `path` as far as its header: the format from its bytes,
/// a JPEG's end marker, the dimensions against the limits (a 30,000 × 30,000
/// PNG is refused here, before any pixel is decoded).
fn open(path: &Path, limits: PhotoLimits) -> Result<(PhotoFormat, impl ImageDecoder), PhotoError> {
    let io = |e: std::io::Error| PhotoError::Undecodable(e.to_string());
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut head = [0u8; 16];
    let read = file.read(&mut head).map_err(io)?;
    let format = sniff(&head[..read])?;
    if format == PhotoFormat::Jpeg && !ends_with_eoi(&mut file) {
        return Err(PhotoError::Truncated);
    }
    file.rewind().map_err(io)?;
    let mut decoder_limits = Limits::default();
    decoder_limits.max_image_width = Some(limits.max_dimension);
    decoder_limits.max_image_height = Some(limits.max_dimension);
    decoder_limits.max_alloc = Some(limits.max_alloc);
    let image_format = match format {
        PhotoFormat::Jpeg => ImageFormat::Jpeg,
        PhotoFormat::Png => ImageFormat::Png,
    };
    let mut header = ImageReader::with_format(BufReader::new(file), image_format);
    header.limits(decoder_limits);
    let too_large = |width, height| PhotoError::TooLarge {
        width,
        height,
        max_dimension: limits.max_dimension,
        max_pixels: limits.max_pixels,
    };
    let decoder = match header.into_decoder() {
        Ok(decoder) => decoder,
        Err(image::ImageError::Limits(_)) => {
            let file = std::fs::File::open(path).map_err(io)?;
            let (width, height) = ImageReader::with_format(BufReader::new(file), image_format)
                .into_dimensions()
                .unwrap_or((0, 0));
            return Err(too_large(width, height));
        }
        Err(e) => return Err(PhotoError::Undecodable(e.to_string())),
    };
    let (width, height) = decoder.dimensions();
    if width.max(height) > limits.max_dimension
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(too_large(width, height));
    }
    Ok((format, decoder))
}

/// The cheap checks done while the phone waits (≈ 1 ms for a 12 MP JPEG): the
/// file is a JPEG or PNG, complete, within the limits, and its EXIF is read.
/// Decoding the pixels is left to [`inspect`], run in the background.
pub fn examine(
    path: &Path,
    limits: PhotoLimits,
    local_offset: FixedOffset,
) -> Result<ExaminedPhoto, PhotoError> {
    let (format, mut decoder) = open(path, limits)?;
    Ok(header_facts(format, &mut decoder, local_offset))
}

fn header_facts(
    format: PhotoFormat,
    decoder: &mut impl ImageDecoder,
    local_offset: FixedOffset,
) -> ExaminedPhoto {
    let (width, height) = decoder.dimensions();
    let exif = match decoder.exif_metadata() {
        Ok(Some(raw)) => read_exif(raw, local_offset),
        _ => ExifFacts::default(),
    };
    ExaminedPhoto {
        format,
        width,
        height,
        exif,
    }
}

/// A photo decoded and turned upright, no smaller than `long_side` where the
/// photo is that large (a JPEG is decoded scaled, see [`decode_jpeg_scaled`]),
/// with what its header says. The size is the photo's own, as it is seen.
fn decode_upright(
    path: &Path,
    limits: PhotoLimits,
    local_offset: FixedOffset,
    long_side: u32,
) -> Result<(DynamicImage, ExaminedPhoto), PhotoError> {
    let (format, mut decoder) = open(path, limits)?;
    let mut facts = header_facts(format, &mut decoder, local_offset);
    use image::metadata::Orientation;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let scaled = match format {
        PhotoFormat::Jpeg => std::fs::read(path)
            .ok()
            .and_then(|bytes| decode_jpeg_scaled(&bytes, (facts.width, facts.height), long_side)),
        PhotoFormat::Png => None,
    };
    let (width, height) = (facts.width, facts.height);
    let mut image = match scaled {
        Some(image) => image,
        None => DynamicImage::from_decoder(decoder).map_err(|e| match e {
            image::ImageError::Limits(_) => PhotoError::TooLarge {
                width,
                height,
                max_dimension: limits.max_dimension,
                max_pixels: limits.max_pixels,
            },
            other => PhotoError::Undecodable(other.to_string()),
        })?,
    };
    image.apply_orientation(orientation);
    if matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    ) {
        (facts.width, facts.height) = (height, width);
    }
    Ok((image, facts))
}

/// Proves that the file at `path` is an acceptable image and derives what the
/// evidence checks need: the thumbnail and the fingerprint. A JPEG is decoded
/// once, at the smallest scale that still holds the work image (for a 12-MP
/// photo 1/8, from the DC coefficients: ≈ 10 ms; see [`decode_jpeg_scaled`]).
/// Run it off the async threads, in the bounded background pool. The
/// review-size image is made later, on its first request ([`review_image`]).
pub fn inspect(
    path: &Path,
    limits: PhotoLimits,
    local_offset: FixedOffset,
) -> Result<InspectedPhoto, PhotoError> {
    let (image, facts) = decode_upright(path, limits, local_offset, INSPECTED_LONG_SIDE)?;
    let thumbnail_image = shrink(&image, THUMBNAIL_LONG_SIDE);
    let work = work_image(&image);
    let fingerprint = Fingerprint::of(&work);
    Ok(InspectedPhoto {
        format: facts.format,
        width: facts.width,
        height: facts.height,
        exif: facts.exif,
        thumbnail: encode_jpeg(&thumbnail_image, 80)?,
        fingerprint,
        work,
    })
}

/// The grey work image of the photo at `path`, the same to the pixel as the
/// one [`inspect`] made from it. The checks keep a photo's fingerprint, not
/// its work image: a check that runs again after a stop decodes the photo
/// again with this when it needs the work image (to draw it larger and
/// smaller).
pub fn work_image_of(
    path: &Path,
    limits: PhotoLimits,
    local_offset: FixedOffset,
) -> Result<GrayImage, PhotoError> {
    let (image, _) = decode_upright(path, limits, local_offset, INSPECTED_LONG_SIDE)?;
    Ok(work_image(&image))
}

/// The review-size JPEG of the photo at `path` (at most `REVIEW_LONG_SIDE`
/// on its long side), for an officer's screen.
pub fn review_image(
    path: &Path,
    limits: PhotoLimits,
    local_offset: FixedOffset,
) -> Result<Vec<u8>, PhotoError> {
    let (image, _) = decode_upright(path, limits, local_offset, REVIEW_LONG_SIDE)?;
    encode_jpeg(&shrink(&image, REVIEW_LONG_SIDE), 85)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_jpeg_is_decoded_scaled_and_checked_as_if_decoded_whole() {
        use crate::devtools::synthetic::{jpeg, PaperPhoto, Scene};
        use crate::evidence::similarity::{compare, Fingerprint, Resemblance};
        let scene = Scene {
            seed: 7,
            paper_shift: (0, 0),
        };
        let photo = PaperPhoto::new(scene, 3).with_size(4000, 3000).render();
        let bytes = jpeg(&photo, 90);
        let scaled = decode_jpeg_scaled(&bytes, (4000, 3000), REVIEW_LONG_SIDE)
            .expect("libjpeg-turbo decodes it");
        assert_eq!(
            (scaled.width(), scaled.height()),
            (2000, 1500),
            "1/2 is the smallest scale that keeps 1280 px"
        );
        let small = jpeg(&PaperPhoto::new(scene, 3).render(), 90);
        assert_eq!(
            decode_jpeg_scaled(&small, (1200, 900), REVIEW_LONG_SIDE)
                .map(|i| (i.width(), i.height())),
            Some((1200, 900)),
            "a photo smaller than the review image is decoded whole"
        );
        assert!(
            decode_jpeg_scaled(b"\xFF\xD8 not a jpeg", (4000, 3000), REVIEW_LONG_SIDE).is_none()
        );
        assert!(
            decode_jpeg_scaled(&bytes, (4000, 2999), WORK_LONG_SIDE).is_none(),
            "a header that is not the one checked"
        );

        // The checks decode at 1/8, and see the same as from a whole decode.
        let checked =
            decode_jpeg_scaled(&bytes, (4000, 3000), WORK_LONG_SIDE).expect("decodes at 1/8");
        assert_eq!((checked.width(), checked.height()), (500, 375));
        let whole = image::load_from_memory(&bytes).expect("the image crate decodes it");
        let (a, b) = (
            Fingerprint::of(&work_image(&checked)),
            Fingerprint::of(&work_image(&whole)),
        );
        let found = compare(&a, &b);
        assert!(
            matches!(found, Resemblance::Copy { score } if score >= 0.9),
            "fingerprints agree: {found:?}"
        );
        // So does the thumbnail, pixel by pixel (the scaled decode averages
        // 8 × 8 blocks where the shrink averages its own boxes).
        let (a, b) = (
            shrink(&checked, 320).to_luma8(),
            shrink(&whole, 320).to_luma8(),
        );
        assert_eq!(a.dimensions(), b.dimensions());
        let mean_difference = a
            .pixels()
            .zip(b.pixels())
            .map(|(p, q)| f64::from(p.0[0].abs_diff(q.0[0])))
            .sum::<f64>()
            / f64::from(a.width() * a.height());
        assert!(
            mean_difference < 3.0,
            "thumbnails agree: {mean_difference:.2} grey levels apart on average"
        );

        // inspect() keeps the photo's own size; the review image is 1280 px.
        let path = std::env::temp_dir().join(format!("camket-scaled-{}.jpg", std::process::id()));
        std::fs::write(&path, &bytes).expect("write");
        let offset = FixedOffset::east_opt(7 * 3600).expect("offset");
        let inspected = inspect(&path, PhotoLimits::default(), offset);
        let review = review_image(&path, PhotoLimits::default(), offset);
        let _ = std::fs::remove_file(&path);
        let inspected = inspected.expect("inspected");
        assert_eq!((inspected.width, inspected.height), (4000, 3000));
        let review = image::load_from_memory(&review.expect("made")).expect("review JPEG");
        assert_eq!((review.width(), review.height()), (1280, 960));
        let thumbnail = image::load_from_memory(&inspected.thumbnail).expect("thumbnail JPEG");
        assert_eq!(thumbnail.width(), 320);
    }

    #[test]
    fn a_photo_decoded_again_gives_the_work_image_its_check_made() {
        use crate::devtools::synthetic::{jpeg, PaperPhoto, Scene};
        let offset = FixedOffset::east_opt(7 * 3600).expect("offset");
        let scene = Scene {
            seed: 9,
            paper_shift: (0, 0),
        };
        // A JPEG decoded scaled at 1/8 (4000 × 3000) and at 1/2 (1200 × 900)
        // by libjpeg-turbo, one decoded whole (800 × 600: half would be
        // under the work image), and a PNG.
        let photos = [
            (4000, 3000, ImageFormat::Jpeg),
            (1200, 900, ImageFormat::Jpeg),
            (800, 600, ImageFormat::Jpeg),
            (800, 600, ImageFormat::Png),
        ];
        for (n, (width, height, format)) in photos.into_iter().enumerate() {
            let image = PaperPhoto::new(scene, 4).with_size(width, height).render();
            let bytes = match format {
                ImageFormat::Png => {
                    let mut png = std::io::Cursor::new(Vec::new());
                    image.write_to(&mut png, ImageFormat::Png).expect("PNG");
                    png.into_inner()
                }
                _ => jpeg(&image, 88),
            };
            let path =
                std::env::temp_dir().join(format!("camket-again-{}-{n}", std::process::id()));
            std::fs::write(&path, &bytes).expect("write");
            let inspected = inspect(&path, PhotoLimits::default(), offset);
            let again = work_image_of(&path, PhotoLimits::default(), offset);
            let _ = std::fs::remove_file(&path);
            let (inspected, again) = (inspected.expect("inspected"), again.expect("decoded"));
            let sent_as = match format {
                ImageFormat::Png => PhotoFormat::Png,
                _ => PhotoFormat::Jpeg,
            };
            assert_eq!(inspected.format, sent_as);
            assert_eq!(again.dimensions(), inspected.work.dimensions());
            assert!(
                again == inspected.work,
                "{width} × {height} {format:?}: the same pixels"
            );
        }
        let missing = std::env::temp_dir().join("camket-no-such-photo.jpg");
        assert!(work_image_of(&missing, PhotoLimits::default(), offset).is_err());
    }

    #[test]
    fn formats_are_recognised_by_their_bytes() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Ok(PhotoFormat::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Ok(PhotoFormat::Png));
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0"), Err(PhotoError::Heic));
        assert!(matches!(sniff(b"MZ\x90\0"), Err(PhotoError::NotAnImage(_))));
        assert!(matches!(sniff(b""), Err(PhotoError::NotAnImage(_))));
    }

    /// The raw EXIF of one file of the corpus in `tests/exif` (see `make_corpus.py`).
    fn corpus_raw(name: &str) -> Vec<u8> {
        let path = format!("{}/../tests/exif/{name}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).expect("corpus file");
        let mut decoder =
            image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(bytes)).expect("jpeg");
        decoder
            .exif_metadata()
            .expect("exif")
            .expect("exif present")
    }

    fn corpus(name: &str) -> ExifFacts {
        read_exif(
            corpus_raw(name),
            FixedOffset::east_opt(7 * 3600).expect("offset"),
        )
    }

    #[test]
    fn every_writer_s_exif_gives_the_same_facts() {
        let taken = chrono::NaiveDate::from_ymd_opt(2026, 11, 20)
            .and_then(|d| d.and_hms_opt(2, 30, 0))
            .map(|t| t.and_utc());
        for name in [
            "piexif.jpg",
            "piexif-thumbnail.jpg",
            "pillow.jpg",
            "exiftool.jpg",
            "odd-next-ifd.jpg",
        ] {
            let facts = corpus(name);
            assert_eq!(facts.unreadable, None, "{name}");
            assert_eq!(facts.taken_at, taken, "{name}: 09:30 in Vietnam");
            let (lat, lon) = facts.location.expect(name);
            assert!(
                (lat - 19.766).abs() < 1e-5 && (lon - 105.828).abs() < 1e-5,
                "{name}: {lat} {lon}"
            );
            assert_eq!(facts.camera.as_deref(), Some("samsung SM-A105F"), "{name}");
        }
    }

    #[test]
    fn exif_that_cannot_be_read_says_why() {
        let facts = corpus("broken.jpg");
        assert_eq!((facts.taken_at, facts.location), (None, None));
        assert!(facts.unreadable.is_some_and(|why| !why.is_empty()));
    }
}
