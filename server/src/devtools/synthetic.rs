//! Synthetic evidence photos: signed commitment papers on one printed template,
//! photographed on the same table, with EXIF time and GPS. Used by the tests
//! (and the demo and benchmarks) to exercise the evidence checks on the
//! look-alike photos they must tell apart, with no opaque binaries in the repo.

use std::io::Cursor;

use chrono::NaiveDateTime;
use image::{DynamicImage, Rgb, RgbImage};

/// The table and where the paper lies on it.
#[derive(Debug, Clone, Copy)]
pub struct Scene {
    /// Seeds the table's texture and lighting.
    pub seed: u64,
    /// Where the paper lies, in pixels from its usual place.
    pub paper_shift: (i32, i32),
}

/// One photographed paper: the shared template with this paper's handwriting.
#[derive(Debug, Clone, Copy)]
pub struct PaperPhoto {
    pub scene: Scene,
    /// Seeds the handwriting: each signed paper is different.
    pub paper: u64,
    pub width: u32,
    pub height: u32,
    /// How this photo of the paper was taken.
    pub shot: Shot,
}

/// One act of photographing a paper: a second photo of the same signed paper
/// is another `Shot` (the paper turned a little on the table, other light,
/// other sensor noise), not a re-encoded copy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shot {
    /// The paper's turn on the table, in degrees.
    pub rotation_deg: f32,
    /// The paper's size in the frame against the first photo's (the phone
    /// held nearer, above 1, or farther, below), about the paper's centre.
    pub scale: f32,
    /// Overall brightness (1.0 as usual) with a matching slope across the frame.
    pub light: f32,
    /// Seeds the sensor noise: 0 for the first photo.
    pub take: u64,
}

impl Default for Shot {
    fn default() -> Shot {
        Shot {
            rotation_deg: 0.0,
            scale: 1.0,
            light: 1.0,
            take: 0,
        }
    }
}

/// Mixes the bits of a seed (splitmix64's finaliser): a cheap, well-spread hash.
pub fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ceb9fe1a85ec53);
    x ^ (x >> 33)
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = mix(self.0.wrapping_add(0x9e3779b97f4a7c15));
        self.0
    }
    fn unit(&mut self) -> f32 {
        (self.next() % 10_000) as f32 / 10_000.0
    }
    fn range(&mut self, lo: i32, hi: i32) -> i32 {
        lo + (self.next() % (hi - lo).max(1) as u64) as i32
    }
}

fn fill_rect(img: &mut RgbImage, x: i32, y: i32, w: i32, h: i32, colour: [u8; 3]) {
    for yy in y.max(0)..(y + h).min(img.height() as i32) {
        for xx in x.max(0)..(x + w).min(img.width() as i32) {
            img.put_pixel(xx as u32, yy as u32, Rgb(colour));
        }
    }
}

fn stamp(img: &mut RgbImage, x: f32, y: f32, radius: f32, colour: [u8; 3]) {
    let r = radius.ceil() as i32;
    for dy in -r..=r {
        for dx in -r..=r {
            if (dx * dx + dy * dy) as f32 <= radius * radius {
                let (px, py) = (x as i32 + dx, y as i32 + dy);
                if px >= 0 && py >= 0 && (px as u32) < img.width() && (py as u32) < img.height() {
                    img.put_pixel(px as u32, py as u32, Rgb(colour));
                }
            }
        }
    }
}

/// A line of cursive: a wandering stroke with loops, `length` pixels long.
fn handwriting(img: &mut RgbImage, rng: &mut Rng, x0: f32, y0: f32, length: f32, height: f32) {
    let ink = [25, 35, 120];
    let mut x = x0;
    let mut phase = rng.unit() * std::f32::consts::TAU;
    let frequency = 0.15 + rng.unit() * 0.2;
    let mut travelled = 0.0;
    while travelled < length {
        phase += frequency + rng.unit() * 0.15;
        let loop_size = height * (0.4 + rng.unit() * 0.6);
        x += 0.9 + phase.cos() * 1.4;
        let y = y0 + phase.sin() * loop_size * 0.5 + (rng.unit() - 0.5) * 2.0;
        stamp(img, x, y, 1.6, ink);
        travelled += 1.0;
        if rng.unit() < 0.01 {
            // A lift of the pen between words.
            x += 8.0 + rng.unit() * 10.0;
        }
    }
}

impl PaperPhoto {
    /// A paper of `scene`, 1200 × 900 pixels.
    pub fn new(scene: Scene, paper: u64) -> PaperPhoto {
        PaperPhoto {
            scene,
            paper,
            width: 1200,
            height: 900,
            shot: Shot::default(),
        }
    }

    /// The same paper photographed again.
    pub fn shot(mut self, shot: Shot) -> PaperPhoto {
        self.shot = shot;
        self
    }

    /// The same paper at another size (e.g. 4000 × 3000 for benchmarks).
    pub fn with_size(mut self, width: u32, height: u32) -> PaperPhoto {
        self.width = width;
        self.height = height;
        self
    }

    /// Draws the photo.
    pub fn render(&self) -> DynamicImage {
        let base = self.render_at(1200, 900);
        if (self.width, self.height) == (1200, 900) {
            base
        } else {
            base.resize_exact(
                self.width,
                self.height,
                image::imageops::FilterType::Triangle,
            )
        }
    }

    fn table(&self, width: u32, height: u32) -> RgbImage {
        let mut img = RgbImage::new(width, height);
        // The table: wood grain and uneven light, the same for every paper of the scene.
        for y in 0..height {
            let grain = ((y as f32 * 0.11 + (self.scene.seed % 7) as f32).sin() * 12.0) as i32;
            for x in 0..width {
                let light = (x as f32 / width as f32 * 25.0) as i32;
                let noise =
                    (mix(self.scene.seed ^ (u64::from(y) << 20) ^ u64::from(x)) % 9) as i32 - 4;
                let r = (140 + grain + light + noise).clamp(0, 255) as u8;
                let g = (98 + grain + light + noise).clamp(0, 255) as u8;
                let b = (60 + grain / 2 + noise).clamp(0, 255) as u8;
                img.put_pixel(x, y, Rgb([r, g, b]));
            }
        }
        // The paper.
        img
    }

    fn render_at(&self, width: u32, height: u32) -> DynamicImage {
        let mut img = self.table(width, height);
        let (px, py) = (
            150 + self.scene.paper_shift.0,
            70 + self.scene.paper_shift.1,
        );
        let (pw, ph) = (900, 760);
        fill_rect(&mut img, px, py, pw, ph, [244, 243, 236]);
        // The printed template: identical on every paper.
        let mut template = Rng(42);
        fill_rect(&mut img, px + 250, py + 30, 400, 22, [40, 40, 40]);
        fill_rect(&mut img, px + 320, py + 62, 260, 14, [60, 60, 60]);
        for line in 0..14 {
            let mut x = px + 60;
            let y = py + 110 + line * 28;
            while x < px + pw - 80 {
                let word = template.range(20, 70);
                fill_rect(&mut img, x, y, word, 9, [70, 70, 70]);
                x += word + template.range(8, 14);
            }
        }
        for (label_y, dotted_from) in [
            (py + 520, px + 200),
            (py + 570, px + 200),
            (py + 650, px + 520),
        ] {
            fill_rect(&mut img, px + 60, label_y, 120, 10, [70, 70, 70]);
            let mut x = dotted_from;
            while x < px + pw - 60 {
                fill_rect(&mut img, x, label_y + 14, 4, 2, [90, 90, 90]);
                x += 9;
            }
        }
        // This paper's handwriting: name, address, signature.
        let mut hand = Rng(mix(self.paper.wrapping_mul(7919) ^ 0xabcdef));
        handwriting(
            &mut img,
            &mut hand,
            (px + 210) as f32,
            (py + 520) as f32,
            420.0,
            16.0,
        );
        handwriting(
            &mut img,
            &mut hand,
            (px + 210) as f32,
            (py + 570) as f32,
            500.0,
            14.0,
        );
        handwriting(
            &mut img,
            &mut hand,
            (px + 540) as f32,
            (py + 660) as f32,
            240.0,
            40.0,
        );
        if self.shot.rotation_deg != 0.0 || self.shot.scale != 1.0 {
            img = turn_paper(
                &img,
                &self.table(width, height),
                (px, py, pw, ph),
                self.shot.rotation_deg,
                self.shot.scale,
            );
        }
        if self.shot.light != 1.0 {
            for (x, _, pixel) in img.enumerate_pixels_mut() {
                // Light falls off across the frame as it brightens or dims.
                let gain = self.shot.light
                    * (1.0 + (self.shot.light - 1.0) * (x as f32 / width as f32 - 0.5));
                for channel in pixel.0.iter_mut() {
                    *channel = (f32::from(*channel) * gain).clamp(0.0, 255.0) as u8;
                }
            }
        }
        // Sensor noise differs in every shot.
        for (x, y, pixel) in img.enumerate_pixels_mut() {
            let n = (mix(self.paper
                ^ (u64::from(y) << 32)
                ^ u64::from(x)
                ^ 0x55
                ^ self.shot.take.wrapping_mul(0x9e37_79b9))
                % 7) as i16
                - 3;
            for channel in pixel.0.iter_mut() {
                *channel = (i16::from(*channel) + n).clamp(0, 255) as u8;
            }
        }
        DynamicImage::ImageRgb8(img)
    }
}

/// The paper `(x, y, width, height)` of `flat` turned by `degrees` and sized
/// by `scale` about its centre, lying on `table`.
fn turn_paper(
    flat: &RgbImage,
    table: &RgbImage,
    paper: (i32, i32, i32, i32),
    degrees: f32,
    scale: f32,
) -> RgbImage {
    let (px, py, pw, ph) = paper;
    let (cx, cy) = (px as f32 + pw as f32 / 2.0, py as f32 + ph as f32 / 2.0);
    let (sin, cos) = degrees.to_radians().sin_cos();
    let mut out = table.clone();
    for (x, y, pixel) in out.enumerate_pixels_mut() {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let (dx, dy) = (dx / scale, dy / scale);
        let (sx, sy) = (cx + dx * cos + dy * sin, cy - dx * sin + dy * cos);
        let inside = sx >= px as f32
            && sy >= py as f32
            && sx < (px + pw - 1) as f32
            && sy < (py + ph - 1) as f32;
        if inside {
            let (x0, y0) = (
                (sx as u32).min(flat.width() - 2),
                (sy as u32).min(flat.height() - 2),
            );
            let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
            let at = |x: u32, y: u32, c: usize| f32::from(flat.get_pixel(x, y).0[c]);
            for c in 0..3 {
                let top = at(x0, y0, c) * (1.0 - fx) + at(x0 + 1, y0, c) * fx;
                let bottom = at(x0, y0 + 1, c) * (1.0 - fx) + at(x0 + 1, y0 + 1, c) * fx;
                pixel.0[c] = (top * (1.0 - fy) + bottom * fy).round() as u8;
            }
        }
    }
    out
}

/// The whole photo turned by `degrees` (an editor's "rotate"): the corners
/// that come in from outside are black.
pub fn rotate(image: &DynamicImage, degrees: f32) -> DynamicImage {
    DynamicImage::ImageRgb8(imageproc::geometric_transformations::rotate_about_center(
        &image.to_rgb8(),
        degrees.to_radians(),
        imageproc::geometric_transformations::Interpolation::Bilinear,
        imageproc::geometric_transformations::Border::Constant(Rgb([0, 0, 0])),
    ))
}

/// The photo `percent` brighter (or darker, when negative).
pub fn brighten(image: &DynamicImage, percent: f32) -> DynamicImage {
    let gain = 1.0 + percent / 100.0;
    let mut rgb = image.to_rgb8();
    for pixel in rgb.pixels_mut() {
        for channel in pixel.0.iter_mut() {
            *channel = (f32::from(*channel) * gain).round().clamp(0.0, 255.0) as u8;
        }
    }
    DynamicImage::ImageRgb8(rgb)
}

/// The photo resized to `percent` of its sides.
pub fn resize_percent(image: &DynamicImage, percent: f32) -> DynamicImage {
    let scale = percent / 100.0;
    image.resize_exact(
        ((image.width() as f32 * scale).round() as u32).max(1),
        ((image.height() as f32 * scale).round() as u32).max(1),
        image::imageops::FilterType::Triangle,
    )
}

/// Encodes as JPEG without metadata.
pub fn jpeg(image: &DynamicImage, quality: u8) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let _ = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&image.to_rgb8());
    out.into_inner()
}

/// The JPEG a phone camera writes: its chroma at half the resolution each
/// way (4:2:0), as Android's and iOS's encoders write it (here by
/// libjpeg-turbo). [`jpeg`], the `image` crate's encoder, keeps the chroma
/// whole (4:4:4): half again as many blocks to decode.
pub fn phone_jpeg(image: &DynamicImage, quality: u8) -> Vec<u8> {
    crate::evidence::photo::encode_jpeg(image, quality).unwrap_or_else(|_| jpeg(image, quality))
}

/// What a phone camera writes into EXIF.
#[derive(Debug, Clone, Default)]
pub struct ExifSpec {
    /// Local wall-clock time the photo was taken (EXIF has no zone of its own).
    pub taken_local: Option<NaiveDateTime>,
    /// `+07:00`, when the camera records it.
    pub offset: Option<String>,
    /// `(lat, lon)`.
    pub gps: Option<(f64, f64)>,
}

fn dms(value: f64) -> Vec<exif::Rational> {
    let value = value.abs();
    let degrees = value.floor();
    let minutes = ((value - degrees) * 60.0).floor();
    let seconds = (value - degrees - minutes / 60.0) * 3600.0;
    vec![
        exif::Rational {
            num: degrees as u32,
            denom: 1,
        },
        exif::Rational {
            num: minutes as u32,
            denom: 1,
        },
        exif::Rational {
            num: (seconds * 10_000.0).round() as u32,
            denom: 10_000,
        },
    ]
}

/// The EXIF block (TIFF structure) for `spec`.
pub fn exif_block(spec: &ExifSpec) -> Vec<u8> {
    use exif::{Field, In, Tag, Value};
    let ascii = |text: String| Value::Ascii(vec![text.into_bytes()]);
    let mut fields = Vec::new();
    if let Some(taken) = spec.taken_local {
        fields.push(Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: ascii(taken.format("%Y:%m:%d %H:%M:%S").to_string()),
        });
    }
    if let Some(offset) = &spec.offset {
        fields.push(Field {
            tag: Tag::OffsetTimeOriginal,
            ifd_num: In::PRIMARY,
            value: ascii(offset.clone()),
        });
    }
    if let Some((lat, lon)) = spec.gps {
        fields.push(Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: ascii(if lat < 0.0 { "S" } else { "N" }.into()),
        });
        fields.push(Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(dms(lat)),
        });
        fields.push(Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: ascii(if lon < 0.0 { "W" } else { "E" }.into()),
        });
        fields.push(Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(dms(lon)),
        });
    }
    fields.push(Field {
        tag: Tag::Make,
        ifd_num: In::PRIMARY,
        value: ascii("camket-synthetic".into()),
    });
    let mut writer = exif::experimental::Writer::new();
    for field in &fields {
        writer.push_field(field);
    }
    let mut out = Cursor::new(Vec::new());
    if writer.write(&mut out, false).is_err() {
        return Vec::new();
    }
    out.into_inner()
}

/// Encodes as JPEG with an EXIF (APP1) segment right after the start marker.
pub fn jpeg_with_exif(image: &DynamicImage, quality: u8, spec: &ExifSpec) -> Vec<u8> {
    splice_exif(&jpeg(image, quality), spec)
}

/// Inserts an EXIF (APP1) segment right after a JPEG's start marker; the pixels
/// stay as they were, the file (and its sha-256) changes.
pub fn splice_exif(jpeg: &[u8], spec: &ExifSpec) -> Vec<u8> {
    let tiff = exif_block(spec);
    if tiff.is_empty() || jpeg.len() < 2 {
        return jpeg.to_vec();
    }
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&tiff);
    let length = (payload.len() + 2) as u16;
    let mut out = Vec::with_capacity(jpeg.len() + payload.len() + 4);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Crops about `percent` % of the width and height away (unevenly, as a person would).
pub fn crop_percent(image: &DynamicImage, percent: f32) -> DynamicImage {
    let (w, h) = (image.width() as f32, image.height() as f32);
    let cut_w = (w * percent / 100.0) as u32;
    let cut_h = (h * percent / 100.0) as u32;
    let left = cut_w * 3 / 5;
    let top = cut_h * 2 / 5;
    image.crop_imm(left, top, image.width() - cut_w, image.height() - cut_h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::photo::read_exif;

    #[test]
    fn exif_written_here_reads_back() {
        let spec = ExifSpec {
            taken_local: NaiveDateTime::parse_from_str("2025-04-22 09:15:00", "%Y-%m-%d %H:%M:%S")
                .ok(),
            offset: None,
            gps: Some((19.8123, 105.7456)),
        };
        let image = PaperPhoto::new(
            Scene {
                seed: 1,
                paper_shift: (0, 0),
            },
            1,
        )
        .render();
        let bytes = jpeg_with_exif(&image, 85, &spec);
        let decoded = image::load_from_memory(&bytes).expect("still a JPEG");
        assert_eq!(decoded.width(), 1200);
        let raw = exif_block(&spec);
        let facts = read_exif(
            raw,
            chrono::FixedOffset::east_opt(7 * 3600).expect("offset"),
        );
        assert_eq!(
            facts.taken_at.map(|t| t.to_rfc3339()),
            Some("2025-04-22T02:15:00+00:00".to_string())
        );
        let (lat, lon) = facts.location.expect("gps");
        assert!(
            (lat - 19.8123).abs() < 1e-5 && (lon - 105.7456).abs() < 1e-5,
            "{lat} {lon}"
        );
    }
}
