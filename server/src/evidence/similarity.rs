//! Deciding whether two photos show the same signed paper.
//!
//! Photos of commitment papers share one printed template and are shot one
//! after another on the same table, so any global likeness puts two honest,
//! different papers close together. A photo's [`Fingerprint`] keeps its
//! keypoints (see [`super::keypoints`]) and a small high-pass ("detail") image
//! in which the handwriting shows. Two fingerprints are lined up by their
//! keypoints; then the detail images are compared tile by tile over the paper
//! (where the aligned keypoints lie): a copy, or a new photo of the same paper,
//! agrees in *every* tile, while two different papers disagree in the tiles
//! that hold the handwriting. What lies around the paper tells a copy (the
//! table moved with the paper: the whole frame was transformed) from the same
//! paper photographed again (the paper moved on the table, or the camera did).

use std::cell::OnceCell;

use image::GrayImage;

use super::keypoints::{self, Alignment, Keypoints};
use super::ReuseKind;

/// Earlier photos compared with each new one: those sharing the most keypoint
/// keys with it, in the whole index and in its village in turn (see
/// [`super::candidates`]; another paper costs about 2 ms to compare). Among
/// 2,000 look-alike papers the original of a turned or cropped copy ranked
/// up to 28th; twenty found all of them. Since every corner of a photo is
/// indexed, the originals of those still missed among 1,000 and 10,000
/// papers ranked 11th to 14th in their village, where twenty took about ten;
/// twenty-six find them (BENCHMARKS §7).
pub const CANDIDATES_COMPARED: usize = 26;

/// Compared after the [`CANDIDATES_COMPARED`] by weight in the search's
/// second look: the likeliest by votes not compared yet, in place of any
/// the look passes over (see `candidates::Sharers::candidates_then_voted`).
/// Among 1,000 papers, one of the two turned copies missed had the most
/// votes of its village (BENCHMARKS §7, "Votes in the second look").
pub const VOTED_AFTER_WEIGHT: usize = 4;

/// When a drawing's look finds no earlier photo, those of its likeliest
/// candidates (by votes) not compared with the photo as it is yet are
/// compared with it: among 1,000 papers, a new photo of a paper at 0.9 of
/// its size ranked its original first by the keys of the drawing 1.1 times
/// larger, which did not line up with it, while the photo as is did (its
/// own keys had ranked the original too low to be compared; BENCHMARKS §7,
/// "A drawing's candidates compared as is").
pub const AS_IS_AFTER_A_DRAWING: usize = 3;

/// Fewest shared keypoint keys for an earlier photo to be taken from the
/// whole index's ranking (from the village's, one is enough: see
/// [`super::candidates::Sharers::candidates`]).
pub const MIN_SHARED_KEYS: usize = 3;

/// Below this, the third least alike tile of the paper says "another paper".
/// Copies and new photos of one paper score 0.80–1.0 (the precision set);
/// among 1,000 look-alike papers, 2.5 % of honest papers shot on the same
/// table as an earlier one scored 0.55–0.68 against it (their scribbled
/// lines agree in texture at the detail image's scale), and at 0.55 they
/// were flagged (BENCHMARKS §7). The threshold lies between the two. It is
/// also where a single tile counts as disagreeing, for the comparison's
/// early stop at the third.
pub const SAME_PAPER: f32 = 0.74;
/// Around the paper, a copy agrees at least this well (the median tile); a
/// new photo does not.
const SAME_FRAME: f32 = 0.6;
/// A tile around the paper this unlike (opposed: what was light is dark)
/// did not move with the paper, so the photo is a new one even when most of
/// what lies around (a plain table) agrees. Around a copy the least alike
/// tile scores 0.42 or more, around a new photo of the paper -0.9 or less
/// (the precision set, BENCHMARKS §7).
const OPPOSED_AROUND: f32 = 0.0;
/// Tiles along the long side of the frame.
const TILES: usize = 16;
const MAGIC: &[u8; 4] = b"CKF2";

/// A photo's high-pass image: local contrast, free of light and paper tone.
#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    pub width: u32,
    pub height: u32,
    /// `width × height` high-pass values, row-major.
    pub values: Vec<i8>,
}

/// What a photo is compared by.
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    pub keypoints: Keypoints,
    pub detail: Detail,
}

/// The searched photo's side of a comparison: its keypoints line it up with
/// the other photo, and only then is its detail compared tile by tile.
pub trait Compared {
    /// Its keypoints.
    fn keypoints(&self) -> &Keypoints;
    /// Its detail image.
    fn detail(&self) -> &Detail;
}

impl Compared for Fingerprint {
    fn keypoints(&self) -> &Keypoints {
        &self.keypoints
    }

    fn detail(&self) -> &Detail {
        &self.detail
    }
}

/// A photo's work image drawn at another size ([`keypoints::drawn`]), as
/// the search compares it: its keypoints at once, its detail only when a
/// candidate lines up with it. Most of a drawing's candidates do not, and
/// the detail was a tenth of a drawing's look.
pub struct DrawnFingerprint {
    keypoints: Keypoints,
    drawing: GrayImage,
    detail: OnceCell<Detail>,
}

impl DrawnFingerprint {
    /// The keypoints of `drawing`, its detail left for later.
    pub fn of(drawing: GrayImage) -> DrawnFingerprint {
        DrawnFingerprint {
            keypoints: Keypoints::of(&drawing),
            drawing,
            detail: OnceCell::new(),
        }
    }

    /// Whether its detail was worked out (a candidate lined up with it).
    pub fn detail_worked_out(&self) -> bool {
        self.detail.get().is_some()
    }
}

impl Compared for DrawnFingerprint {
    fn keypoints(&self) -> &Keypoints {
        &self.keypoints
    }

    fn detail(&self) -> &Detail {
        self.detail.get_or_init(|| Detail::of(&self.drawing))
    }
}

/// How alike two photos are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resemblance {
    /// Not the same paper (`score` as below, or `None` when they do not line up at all).
    Different { score: Option<f32> },
    /// The same photo again: re-encoded, resized, cropped, turned or brightened.
    Copy { score: f32 },
    /// The same signed paper in a new photograph.
    SamePaper { score: f32 },
}

impl Resemblance {
    /// The score of the third least alike tile of the paper, from -1 to 1.
    pub fn score(&self) -> Option<f32> {
        match self {
            Resemblance::Different { score } => *score,
            Resemblance::Copy { score } | Resemblance::SamePaper { score } => Some(*score),
        }
    }
}

fn box_blur(src: &[f32], width: usize, height: usize, radius: usize) -> Vec<f32> {
    // Separable box blur with clamped edges, via prefix sums: along each row,
    // then down all columns at once, a row at a time (the sums add in the
    // same order as column by column, so the result is the same to the bit).
    let mean = |prefix_hi: f32, prefix_lo: f32, lo: usize, hi: usize| {
        (prefix_hi - prefix_lo) / (hi - lo) as f32
    };
    let mut rows = vec![0.0f32; width * height];
    let mut prefix = vec![0.0f32; width + 1];
    for (input, output) in src.chunks_exact(width).zip(rows.chunks_exact_mut(width)) {
        for (i, value) in input.iter().enumerate() {
            prefix[i + 1] = prefix[i] + value;
        }
        // Away from the edges every window is 2 × radius + 1 wide: one
        // divisor, so the divisions run eight at a time (the same division
        // of the same values as at the edges, so the same result to the bit).
        let interior = radius..width.saturating_sub(radius).max(radius);
        for i in (0..interior.start.min(width)).chain(interior.end..width) {
            let (lo, hi) = (i.saturating_sub(radius), (i + radius + 1).min(width));
            output[i] = mean(prefix[hi], prefix[lo], lo, hi);
        }
        if !interior.is_empty() {
            let span = (2 * radius + 1) as f32;
            for ((out, high), low) in output[interior.clone()]
                .iter_mut()
                .zip(&prefix[interior.start + radius + 1..])
                .zip(&prefix[interior.start - radius..])
            {
                *out = (high - low) / span;
            }
        }
    }
    let mut column_prefix = vec![0.0f32; width * (height + 1)];
    for y in 0..height {
        let (done, next) = column_prefix.split_at_mut((y + 1) * width);
        let before = &done[y * width..];
        for ((sum, previous), value) in next[..width]
            .iter_mut()
            .zip(before)
            .zip(&rows[y * width..(y + 1) * width])
        {
            *sum = previous + value;
        }
    }
    let mut out = vec![0.0f32; width * height];
    for (y, output) in out.chunks_exact_mut(width).enumerate() {
        let (lo, hi) = (y.saturating_sub(radius), (y + radius + 1).min(height));
        let (low_row, high_row) = (
            &column_prefix[lo * width..(lo + 1) * width],
            &column_prefix[hi * width..(hi + 1) * width],
        );
        for ((out, high), low) in output.iter_mut().zip(high_row).zip(low_row) {
            *out = mean(*high, *low, lo, hi);
        }
    }
    out
}

impl Detail {
    /// The detail image of a work image.
    pub fn of(work: &GrayImage) -> Detail {
        let (width, height) = (work.width(), work.height());
        let plain: Vec<f32> = work.as_raw().iter().map(|p| f32::from(*p)).collect();
        // A band: fine enough for pen strokes, coarse enough that a fraction
        // of a pixel's misalignment does not undo them.
        let (w, h) = (width as usize, height as usize);
        let fine = box_blur(&plain, w, h, 1);
        let blurred = box_blur(&plain, w, h, 6);
        let values = fine
            .iter()
            .zip(&blurred)
            .map(|(v, b)| ((v - b) * 2.0).clamp(-127.0, 127.0) as i8)
            .collect();
        Detail {
            width,
            height,
            values,
        }
    }

    fn sample(&self, x: f32, y: f32) -> Option<f32> {
        let (w, h) = (self.width as usize, self.height as usize);
        if x < 0.0 || y < 0.0 || x > (w - 1) as f32 || y > (h - 1) as f32 {
            return None;
        }
        // Non-negative here, so truncation is floor.
        let (x0, y0) = (x as usize, y as usize);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let at = |x: usize, y: usize| f32::from(self.values[y * w + x]);
        let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
        let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
        Some(top * (1.0 - fy) + bottom * fy)
    }
}

impl Fingerprint {
    /// The fingerprint of a photo's work image (see [`keypoints::work_image`]).
    pub fn of(work: &GrayImage) -> Fingerprint {
        Fingerprint {
            keypoints: Keypoints::of(work),
            detail: Detail::of(work),
        }
    }

    /// The bytes to store.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        keypoints::to_bytes(&self.keypoints, &mut out);
        out.extend_from_slice(&(self.detail.width as u16).to_le_bytes());
        out.extend_from_slice(&(self.detail.height as u16).to_le_bytes());
        out.extend(self.detail.values.iter().map(|v| *v as u8));
        out
    }

    /// Reads stored bytes; `None` for anything else (such as the signature
    /// format before keypoints, whose photos are then not compared).
    pub fn from_bytes(bytes: &[u8]) -> Option<Fingerprint> {
        let rest = bytes.strip_prefix(MAGIC)?;
        let (keypoints, rest) = keypoints::from_bytes(rest)?;
        let width = u32::from(u16::from_le_bytes(rest.get(0..2)?.try_into().ok()?));
        let height = u32::from(u16::from_le_bytes(rest.get(2..4)?.try_into().ok()?));
        let values = rest.get(4..)?;
        (values.len() == (width * height) as usize && width > 0 && height > 0).then(|| {
            Fingerprint {
                keypoints,
                detail: Detail {
                    width,
                    height,
                    values: values.iter().map(|b| *b as i8).collect(),
                },
            }
        })
    }
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

    fn merge(&mut self, other: &Moments) {
        self.n += other.n;
        self.sa += other.sa;
        self.sb += other.sb;
        self.saa += other.saa;
        self.sbb += other.sbb;
        self.sab += other.sab;
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

    /// Texture on both sides (not blank paper), enough to judge by, and of
    /// like strength: a tile that lost its texture on one side (filled in by
    /// turning the photo, burnt out by light) cannot testify.
    fn informative(&self) -> bool {
        let (va, vb) = self.variances();
        va > 4.0 && vb > 4.0 && self.n > 30.0 && va < 6.0 * vb && vb < 6.0 * va
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

/// How the tiles of two aligned photos agree.
struct TileAgreement {
    /// The third least alike informative tile on the paper (amid the aligned
    /// keypoints); when three tiles already disagree, the third of them (the
    /// other tiles are not compared).
    paper: f32,
    /// Away from the paper (what it lies on): the median and the least alike
    /// informative tile, where there are any. Only looked at when the paper
    /// agrees.
    around: Option<(f32, f32)>,
}

/// A box `(left, top, right, bottom)` in detail pixels.
type Bounds = (f32, f32, f32, f32);

/// The detail images of two photos, `a` mapped onto `b`, cut into square tiles of `a`.
struct Tiling<'a> {
    a: &'a Detail,
    b: &'a Detail,
    map: keypoints::Affine,
    side: usize,
    columns: usize,
    rows: usize,
}

impl Tiling<'_> {
    /// The correlation statistics of `a` and `b` over tile `index`, or over
    /// the pixels of `a` within `within` of it.
    fn moments(&self, index: usize, within: Option<&Bounds>) -> Moments {
        let (column, row) = (index % self.columns, index / self.columns);
        let width = self.a.width as usize;
        let mut moments = Moments::default();
        let (x0, y0) = (column * self.side, row * self.side);
        let (x1, y1) = (
            (x0 + self.side).min(width),
            (y0 + self.side).min(self.a.height as usize),
        );
        for y in y0..y1 {
            for x in x0..x1 {
                if let Some(b) = within {
                    let (fx, fy) = (x as f32, y as f32);
                    if fx < b.0 || fx > b.2 || fy < b.1 || fy > b.3 {
                        continue;
                    }
                }
                let (bx, by) = self.map.apply(x as f32, y as f32);
                if let Some(vb) = self.b.sample(bx, by) {
                    moments.add(f32::from(self.a.values[y * width + x]), vb);
                }
            }
        }
        moments
    }

    /// How far tile `index`'s centre lies outside `bounds`, in tiles.
    fn outside(&self, index: usize, bounds: &Bounds) -> f32 {
        let (cx, cy) = (
            ((index % self.columns) * self.side + self.side / 2) as f32,
            ((index / self.columns) * self.side + self.side / 2) as f32,
        );
        (bounds.0 - cx)
            .max(cx - bounds.2)
            .max(bounds.1 - cy)
            .max(cy - bounds.3)
            / self.side as f32
    }
}

/// Compares `a` with `b` under `alignment`, tile by tile: the paper first,
/// stopping at the third tile that disagrees; what lies around the paper only
/// if the paper agrees.
fn compare_aligned(a: &Detail, b: &Detail, alignment: &Alignment) -> TileAgreement {
    // Two boxes of the aligned keypoints. The paper is judged over all of
    // them, so that no handwriting escapes however few of its marks align
    // (a stray match may widen it: that only asks more tiles to agree).
    // What the paper lies on is looked for outside the keypoints that lie in
    // company, so that a stray match does not hide it.
    let mut all: Bounds = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    let mut dense = all;
    let widen = |b: &mut Bounds, x: f32, y: f32| {
        *b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
    };
    for (x, y) in &alignment.inliers {
        widen(&mut all, *x, *y);
    }
    for (x, y) in keypoints::in_company(&alignment.inliers, 12.0, 3) {
        widen(&mut dense, x, y);
    }
    let (width, height) = (a.width as usize, a.height as usize);
    let side = (width.max(height) / TILES).max(4);
    let tiling = Tiling {
        a,
        b,
        map: alignment.map,
        side,
        columns: width.div_ceil(side),
        rows: height.div_ceil(side),
    };
    let count = tiling.columns * tiling.rows;
    let on_paper: Vec<usize> = (0..count)
        .filter(|index| tiling.outside(*index, &all) <= 0.0)
        .collect();
    // Handwriting lies anywhere on the paper: visit its tiles spread out, so
    // that another paper's disagreeing tiles come early.
    let mut order = on_paper.clone();
    let stride = (1..)
        .map(|k| k * 7 + 3)
        .find(|k| gcd(*k, order.len().max(1)) == 1)
        .unwrap_or(1);
    for (n, slot) in order.iter_mut().enumerate() {
        *slot = on_paper[(n * stride) % on_paper.len()];
    }
    let mut agreeing = Vec::new();
    let mut disagreeing = Vec::new();
    for index in order {
        let tile = tiling.moments(index, None);
        if !tile.informative() {
            continue;
        }
        let ncc = tile.ncc();
        if ncc < SAME_PAPER {
            disagreeing.push(ncc);
        } else {
            agreeing.push(ncc);
        }
        if disagreeing.len() >= 3 && agreeing.len() + disagreeing.len() >= 6 {
            disagreeing.sort_by(f32::total_cmp);
            return TileAgreement {
                paper: disagreeing[2],
                around: None,
            };
        }
    }
    // The third least alike tile: a copy may lose a tile or two to what
    // turning filled in, while another paper's handwriting spans many.
    let mut judged: Vec<f32> = disagreeing.into_iter().chain(agreeing).collect();
    judged.sort_by(f32::total_cmp);
    let paper = if judged.len() < 6 {
        // Too few tiles to judge by: the paper's box as one region.
        let mut whole = Moments::default();
        for index in 0..count {
            whole.merge(&tiling.moments(index, Some(&all)));
        }
        whole.ncc()
    } else {
        judged[2]
    };
    if paper < SAME_PAPER || dense.0 > dense.2 {
        return TileAgreement {
            paper,
            around: None,
        };
    }
    // The paper reaches a little beyond its outermost marks (its blank
    // border and its edge move with it): only tiles two away count as what
    // it lies on.
    let mut around: Vec<f32> = (0..count)
        .filter(|index| tiling.outside(*index, &dense) >= 2.0)
        .map(|index| tiling.moments(index, None))
        .filter(Moments::informative)
        .map(|tile| tile.ncc())
        .collect();
    around.sort_by(f32::total_cmp);
    TileAgreement {
        paper,
        around: around
            .first()
            .map(|least| (around[around.len() / 2], *least)),
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Whether `a` and `b` show the same signed paper, and if so, whether `b` is a
/// copy of `a`'s photo or another photo of that paper.
pub fn compare(a: &(impl Compared + ?Sized), b: &Fingerprint) -> Resemblance {
    let Some(alignment) = keypoints::align(a.keypoints(), &b.keypoints) else {
        return Resemblance::Different { score: None };
    };
    let tiles = compare_aligned(a.detail(), &b.detail, &alignment);
    let score = tiles.paper;
    if score < SAME_PAPER {
        return Resemblance::Different { score: Some(score) };
    }
    match tiles.around {
        None => Resemblance::Copy { score },
        // What the paper lies on did not move with it: a new photo.
        Some((median, least)) if median < SAME_FRAME || least < OPPOSED_AROUND => {
            Resemblance::SamePaper { score }
        }
        Some(_) => Resemblance::Copy { score },
    }
}

/// Whether `theirs` shows the same signed paper as `mine`, as a reuse of it:
/// a copy of its photo or another photo of the paper.
pub fn same_paper(mine: &(impl Compared + ?Sized), theirs: &Fingerprint) -> Option<ReuseKind> {
    match compare(mine, theirs) {
        Resemblance::Copy { score } => Some(ReuseKind::Copy { similarity: score }),
        Resemblance::SamePaper { score } => Some(ReuseKind::SamePaper { similarity: score }),
        Resemblance::Different { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devtools::synthetic::{self, PaperPhoto, Shot};
    use crate::evidence::keypoints::work_image;
    use image::DynamicImage;

    fn print(image: &DynamicImage) -> Fingerprint {
        Fingerprint::of(&work_image(image))
    }

    fn decode(bytes: &[u8]) -> DynamicImage {
        image::load_from_memory(bytes).expect("decodes")
    }

    #[test]
    fn the_box_blur_is_the_column_by_column_blur_to_the_bit() {
        // The blur as first written: one line at a time, columns included.
        fn line_by_line(src: &[f32], width: usize, height: usize, radius: usize) -> Vec<f32> {
            let line = |input: &[f32], length: usize, at: &dyn Fn(usize) -> usize| {
                let mut prefix = vec![0.0f32; length + 1];
                for i in 0..length {
                    prefix[i + 1] = prefix[i] + input[at(i)];
                }
                (0..length)
                    .map(|i| {
                        let (lo, hi) = (i.saturating_sub(radius), (i + radius + 1).min(length));
                        (prefix[hi] - prefix[lo]) / (hi - lo) as f32
                    })
                    .collect::<Vec<f32>>()
            };
            let mut rows = vec![0.0; width * height];
            for y in 0..height {
                let out = line(src, width, &|x| y * width + x);
                rows[y * width..(y + 1) * width].copy_from_slice(&out);
            }
            let mut out = vec![0.0; width * height];
            for x in 0..width {
                for (y, value) in line(&rows, height, &|y| y * width + x)
                    .into_iter()
                    .enumerate()
                {
                    out[y * width + x] = value;
                }
            }
            out
        }
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for (width, height) in [(480, 360), (1, 7), (13, 1), (12, 5), (14, 3), (37, 29)] {
            let src: Vec<f32> = (0..width * height)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % 256) as f32
                })
                .collect();
            for radius in [1, 6] {
                let (ours, first) = (
                    box_blur(&src, width, height, radius),
                    line_by_line(&src, width, height, radius),
                );
                let same = ours
                    .iter()
                    .zip(&first)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(
                    same && ours.len() == first.len(),
                    "{width}×{height}, radius {radius}"
                );
            }
        }
    }

    #[test]
    fn a_paper_photographed_from_farther_lines_up_once_drawn_nearer() {
        let table = synthetic::Scene {
            seed: 11,
            paper_shift: (0, 0),
        };
        let moved = synthetic::Scene {
            seed: 11,
            paper_shift: (18, 30),
        };
        let first = print(&PaperPhoto::new(table, 1).render());
        let drawn_nearer = |photo: &DynamicImage| {
            Fingerprint::of(&keypoints::drawn(
                &keypoints::work_image(photo),
                keypoints::FROM_FARTHER,
            ))
        };
        let mut wrong = Vec::new();
        for scale in [0.65, 0.75, 0.8] {
            let farther = PaperPhoto::new(moved, 1)
                .shot(Shot {
                    rotation_deg: 1.5,
                    scale,
                    light: 0.93,
                    take: 1,
                })
                .render();
            let found = compare(&drawn_nearer(&farther), &first);
            if !matches!(found, Resemblance::SamePaper { .. }) {
                wrong.push(format!("the paper at {scale} of its size: {found:?}"));
            }
        }
        for n in 2..6 {
            let other = PaperPhoto::new(moved, n)
                .shot(Shot {
                    scale: 0.75,
                    ..Shot::default()
                })
                .render();
            let found = compare(&drawn_nearer(&other), &first);
            if !matches!(found, Resemblance::Different { .. }) {
                wrong.push(format!("paper {n}: {found:?}"));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn a_drawing_works_out_its_detail_only_for_a_candidate_it_lines_up_with() {
        let first = print(
            &PaperPhoto::new(
                synthetic::Scene {
                    seed: 11,
                    paper_shift: (0, 0),
                },
                1,
            )
            .render(),
        );
        let farther = PaperPhoto::new(
            synthetic::Scene {
                seed: 11,
                paper_shift: (18, 30),
            },
            1,
        )
        .shot(Shot {
            rotation_deg: 1.5,
            scale: 0.75,
            light: 0.93,
            take: 1,
        })
        .render();
        let work = keypoints::work_image(&farther);
        let drawing = || keypoints::drawn(&work, keypoints::FROM_FARTHER);
        // It lines up with the first photo: the detail is worked out, and
        // the verdict is the whole fingerprint's.
        let whole = Fingerprint::of(&drawing());
        let lazy = DrawnFingerprint::of(drawing());
        assert!(!lazy.detail_worked_out());
        let found = compare(&lazy, &first);
        assert!(matches!(found, Resemblance::SamePaper { .. }), "{found:?}");
        assert_eq!(found, compare(&whole, &first));
        assert!(lazy.detail_worked_out());
        assert_eq!(lazy.detail(), &whole.detail);
        // Nothing to line up with (a photo of no paper): no detail.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let noise = Fingerprint::of(&GrayImage::from_fn(480, 360, |_, _| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            image::Luma([(state % 256) as u8])
        }));
        let lazy = DrawnFingerprint::of(drawing());
        assert_eq!(
            compare(&lazy, &noise),
            Resemblance::Different { score: None }
        );
        assert!(!lazy.detail_worked_out());
    }

    #[test]
    fn copies_match_new_photos_of_the_paper_match_and_other_papers_do_not() {
        let table = synthetic::Scene {
            seed: 11,
            paper_shift: (0, 0),
        };
        let original = PaperPhoto::new(table, 1).render();
        let mine = print(&original);
        let mut wrong = Vec::new();
        for (what, copy) in [
            ("re-encoded", decode(&synthetic::jpeg(&original, 55))),
            ("resized", synthetic::resize_percent(&original, 50.0)),
            ("cropped", synthetic::crop_percent(&original, 5.0)),
            ("turned", synthetic::rotate(&original, 3.0)),
            ("darkened", synthetic::brighten(&original, -15.0)),
        ] {
            let found = compare(&mine, &print(&copy));
            if !matches!(found, Resemblance::Copy { .. }) {
                wrong.push(format!("{what}: {found:?}"));
            }
        }
        let again = PaperPhoto::new(
            synthetic::Scene {
                seed: 11,
                paper_shift: (18, 30),
            },
            1,
        )
        .shot(Shot {
            rotation_deg: 1.5,
            scale: 1.0,
            light: 0.93,
            take: 1,
        })
        .render();
        let found = compare(&mine, &print(&again));
        if !matches!(found, Resemblance::SamePaper { .. }) {
            wrong.push(format!("photographed again: {found:?}"));
        }
        for n in 2..8 {
            let other = PaperPhoto::new(table, n).render();
            let found = compare(&mine, &print(&other));
            if !matches!(found, Resemblance::Different { .. }) {
                wrong.push(format!("paper {n}: {found:?}"));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn fingerprints_round_trip_through_bytes() {
        let image = PaperPhoto::new(
            synthetic::Scene {
                seed: 3,
                paper_shift: (0, 0),
            },
            9,
        )
        .render();
        let fingerprint = print(&image);
        assert_eq!(
            Fingerprint::from_bytes(&fingerprint.to_bytes()),
            Some(fingerprint)
        );
        assert_eq!(Fingerprint::from_bytes(&[0u8; 65536]), None);
    }
}
