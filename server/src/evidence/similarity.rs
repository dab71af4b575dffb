//! The second, local stage of reused-photo detection.
//!
//! Photos of signed commitment papers share one printed template and are shot
//! one after another on the same table, so a global 64-bit perceptual hash puts
//! two honest, different papers closer together than a photo and a cropped copy
//! of itself. The hash only proposes candidates; this stage decides. Each photo
//! keeps a [`Signature`]: a 256 × 256 high-pass (edge) image, in which the
//! handwriting shows. Two signatures are aligned by searching scale and shift
//! (which absorbs resizing and cropping), then compared tile by tile: a copy
//! matches in *every* tile, while two different papers differ in the tiles that
//! hold the handwriting. The score is the worst informative tile's correlation.

use image::DynamicImage;

/// Side of the signature image.
pub const SIDE: usize = 256;
/// Side of the coarse image used to find the alignment.
const COARSE: usize = 64;
/// Tiles per side of the compared region.
const TILES: usize = 4;

/// A photo's fingerprint for local comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    /// `SIDE × SIDE` high-pass values, row-major.
    pub values: Vec<i8>,
}

fn box_blur(src: &[f32], side: usize, radius: usize) -> Vec<f32> {
    // Separable box blur with clamped edges, via prefix sums.
    let pass = |input: &[f32], horizontal: bool| -> Vec<f32> {
        let mut out = vec![0.0; side * side];
        for line in 0..side {
            let at = |i: usize| {
                if horizontal {
                    input[line * side + i]
                } else {
                    input[i * side + line]
                }
            };
            let mut prefix = vec![0.0f32; side + 1];
            for i in 0..side {
                prefix[i + 1] = prefix[i] + at(i);
            }
            for i in 0..side {
                let lo = i.saturating_sub(radius);
                let hi = (i + radius + 1).min(side);
                let mean = (prefix[hi] - prefix[lo]) / (hi - lo) as f32;
                if horizontal {
                    out[line * side + i] = mean;
                } else {
                    out[i * side + line] = mean;
                }
            }
        }
        out
    };
    pass(&pass(src, true), false)
}

impl Signature {
    /// The signature of an image (of any size and aspect).
    pub fn of(image: &DynamicImage) -> Signature {
        let gray = image
            .resize_exact(
                SIDE as u32,
                SIDE as u32,
                image::imageops::FilterType::Triangle,
            )
            .to_luma8();
        let plain: Vec<f32> = gray.pixels().map(|p| f32::from(p.0[0])).collect();
        let blurred = box_blur(&plain, SIDE, 6);
        let values = plain
            .iter()
            .zip(&blurred)
            .map(|(v, b)| ((v - b) * 2.0).clamp(-127.0, 127.0) as i8)
            .collect();
        Signature { values }
    }

    /// Rebuilds a signature from its stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Signature> {
        (bytes.len() == SIDE * SIDE).then(|| Signature {
            values: bytes.iter().map(|b| *b as i8).collect(),
        })
    }

    /// The bytes to store.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.values.iter().map(|v| *v as u8).collect()
    }

    fn as_f32(&self) -> Vec<f32> {
        self.values.iter().map(|v| f32::from(*v)).collect()
    }
}

fn downsample(values: &[f32], side: usize, factor: usize) -> Vec<f32> {
    let small = side / factor;
    let mut out = vec![0.0; small * small];
    for y in 0..small {
        for x in 0..small {
            let mut sum = 0.0;
            for dy in 0..factor {
                for dx in 0..factor {
                    sum += values[(y * factor + dy) * side + x * factor + dx];
                }
            }
            out[y * small + x] = sum / (factor * factor) as f32;
        }
    }
    out
}

fn sample(values: &[f32], side: usize, x: f32, y: f32) -> Option<f32> {
    if x < 0.0 || y < 0.0 || x > (side - 1) as f32 || y > (side - 1) as f32 {
        return None;
    }
    // Non-negative here, so truncation is floor (and avoids a libm call per sample).
    let (x0, y0) = (x as usize, y as usize);
    let (x1, y1) = ((x0 + 1).min(side - 1), (y0 + 1).min(side - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let top = values[y0 * side + x0] * (1.0 - fx) + values[y0 * side + x1] * fx;
    let bottom = values[y1 * side + x0] * (1.0 - fx) + values[y1 * side + x1] * fx;
    Some(top * (1.0 - fy) + bottom * fy)
}

/// Correlation statistics of one region.
#[derive(Default, Clone, Copy)]
struct Moments {
    n: f32,
    sa: f32,
    sb: f32,
    saa: f32,
    sbb: f32,
    sab: f32,
}

impl Moments {
    fn add(&mut self, a: f32, b: f32) {
        self.n += 1.0;
        self.sa += a;
        self.sb += b;
        self.saa += a * a;
        self.sbb += b * b;
        self.sab += a * b;
    }

    fn variances(&self) -> (f32, f32) {
        if self.n < 2.0 {
            return (0.0, 0.0);
        }
        (
            self.saa / self.n - (self.sa / self.n).powi(2),
            self.sbb / self.n - (self.sb / self.n).powi(2),
        )
    }

    fn ncc(&self) -> f32 {
        let (va, vb) = self.variances();
        if va <= f32::EPSILON || vb <= f32::EPSILON {
            return 0.0;
        }
        let cov = self.sab / self.n - (self.sa / self.n) * (self.sb / self.n);
        cov / (va.sqrt() * vb.sqrt())
    }
}

/// Compares the central region of `a` (a `side × side` image) with `b` under the
/// mapping `b(x) = (x - c) * scale + c + shift`; returns the whole-region and
/// per-tile moments.
fn compare_at(
    a: &[f32],
    b: &[f32],
    side: usize,
    scale: f32,
    dx: f32,
    dy: f32,
) -> (Moments, Vec<Moments>) {
    let margin = side / 8;
    let region = side - 2 * margin;
    let tile = region / TILES;
    let centre = (side as f32 - 1.0) / 2.0;
    let mut whole = Moments::default();
    let mut tiles = vec![Moments::default(); TILES * TILES];
    for y in margin..margin + region {
        let by = (y as f32 - centre) * scale + centre + dy;
        for x in margin..margin + region {
            let bx = (x as f32 - centre) * scale + centre + dx;
            if let Some(vb) = sample(b, side, bx, by) {
                let va = a[y * side + x];
                whole.add(va, vb);
                let t = ((y - margin) / tile).min(TILES - 1) * TILES
                    + ((x - margin) / tile).min(TILES - 1);
                tiles[t].add(va, vb);
            }
        }
    }
    (whole, tiles)
}

/// How alike two photos are, from -1 to 1: the correlation of the least alike
/// informative tile after the best alignment. A photo and its re-encoded,
/// resized or slightly cropped copy score near 1; different papers on the same
/// template score clearly lower.
pub fn similarity(a: &Signature, b: &Signature) -> f32 {
    let (fa, fb) = (a.as_f32(), b.as_f32());
    let factor = SIDE / COARSE;
    let (ca, cb) = (downsample(&fa, SIDE, factor), downsample(&fb, SIDE, factor));
    // Coarse search over scale (±14 %) and shift (±5 %).
    let mut best = (f32::MIN, 1.0f32, 0.0f32, 0.0f32);
    let reach = (COARSE as f32 * 0.05).round() as i32;
    for step in -7..=7 {
        let scale = 1.0 + step as f32 * 0.02;
        for sy in -reach..=reach {
            for sx in -reach..=reach {
                let score = compare_at(&ca, &cb, COARSE, scale, sx as f32, sy as f32)
                    .0
                    .ncc();
                if score > best.0 {
                    best = (score, scale, sx as f32, sy as f32);
                }
            }
        }
    }
    // Fine search around it at full resolution.
    let (_, scale0, dx0, dy0) = best;
    let mut fine = (f32::MIN, Vec::new());
    for ds in [-0.007f32, 0.0, 0.007] {
        for oy in -2..=2 {
            for ox in -2..=2 {
                let dx = dx0 * factor as f32 + ox as f32;
                let dy = dy0 * factor as f32 + oy as f32;
                let (whole, tiles) = compare_at(&fa, &fb, SIDE, scale0 + ds, dx, dy);
                let score = whole.ncc();
                if score > fine.0 {
                    fine = (score, tiles);
                }
            }
        }
    }
    let (global, tiles) = fine;
    // A tile is informative when it has texture on both sides (not blank paper).
    let informative: Vec<f32> = tiles
        .iter()
        .filter(|m| {
            let (va, vb) = m.variances();
            va > 4.0 && vb > 4.0 && m.n > 100.0
        })
        .map(Moments::ncc)
        .collect();
    if informative.len() < 3 {
        return global;
    }
    informative.into_iter().fold(f32::MAX, f32::min)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devtools::synthetic::{self, PaperPhoto};

    fn decode(bytes: &[u8]) -> DynamicImage {
        image::load_from_memory(bytes).expect("decodes")
    }

    #[test]
    fn copies_match_and_different_papers_do_not() {
        let table = synthetic::Scene {
            seed: 11,
            paper_shift: (0, 0),
        };
        let original = PaperPhoto::new(table, 1).render();
        // Other papers on the same table: in exactly the same place, and nudged.
        let nudged = synthetic::Scene {
            seed: 11,
            paper_shift: (6, -4),
        };
        let others: Vec<DynamicImage> = (2..12)
            .map(|n| PaperPhoto::new(if n % 2 == 0 { table } else { nudged }, n).render())
            .collect();
        let sig = Signature::of(&original);

        let reencoded = decode(&synthetic::jpeg(&original, 55));
        let resized = original.resize(
            original.width() / 2,
            original.height() / 2,
            image::imageops::FilterType::Triangle,
        );
        let cropped = synthetic::crop_percent(&original, 5.0);
        let all_three = decode(&synthetic::jpeg(
            &synthetic::crop_percent(&original, 5.0).resize(
                700,
                700,
                image::imageops::FilterType::Triangle,
            ),
            60,
        ));
        let hash = |image: &DynamicImage| {
            crate::evidence::photo::perceptual_hash(&image.thumbnail(320, 320))
        };
        let cropped_distance = (hash(&original) ^ hash(&cropped)).count_ones();
        for (what, copy) in [
            ("re-encoded", reencoded),
            ("resized", resized),
            ("cropped", cropped),
            ("cropped, resized and re-encoded", all_three),
        ] {
            let score = similarity(&sig, &Signature::of(&copy));
            assert!(score >= 0.8, "{what} copy scored {score}");
        }
        for (i, other) in others.iter().enumerate() {
            // The global hash cannot tell these apart: that is why this stage exists.
            assert!((hash(&original) ^ hash(other)).count_ones() <= cropped_distance);
            let score = similarity(&sig, &Signature::of(other));
            assert!(score < 0.6, "different paper {i} scored {score}");
        }
    }

    #[test]
    fn signatures_round_trip_through_bytes() {
        let image = PaperPhoto::new(
            synthetic::Scene {
                seed: 3,
                paper_shift: (0, 0),
            },
            9,
        )
        .render();
        let sig = Signature::of(&image);
        assert_eq!(Signature::from_bytes(&sig.to_bytes()), Some(sig));
        assert_eq!(Signature::from_bytes(&[0u8; 10]), None);
    }
}
