//! Keypoints of a photo and how two photos of one paper line up.
//!
//! Every commitment paper of a campaign is the same printed template, so a
//! photo's global look says little; what tells one signed paper from another is
//! local: the handwriting and the signature. This module finds corners (FAST-9,
//! as `imageproc` finds and scores them, to the bit, but scored at once) in a
//! small grey "work image" of the photo, describes the patch around each
//! by 256 brightness comparisons (BRIEF, from `imageproc`; unchanged by
//! brightness and contrast), and gives each descriptor a few short keys for the
//! database index of earlier photos. Two photos are lined up by matching
//! descriptors and fitting an affine map to the matches with RANSAC (which
//! absorbs resizing, cropping, turning and a paper moved on the table).

use std::sync::OnceLock;

use image::{DynamicImage, GrayImage};
use imageproc::binary_descriptors::brief::TestPair;
use imageproc::point::Point;

/// Long side of the grey work image in which keypoints are found.
pub const WORK_LONG_SIDE: u32 = 480;
/// Most keypoints kept per photo: in practice every corner left once they
/// are spread out (see [`COMPARED_POINTS`]).
const MAX_POINTS: usize = 1000;
/// Keypoints compared when two photos are lined up: the strongest. The
/// print's sharp black corners are the strongest of a paper (of a synthetic
/// paper's 500 strongest, about 450 line up with another paper's print), so
/// the handwriting's fainter corners beyond them are kept for the index:
/// there the print's keys turn common and only the handwriting's find a
/// reused paper, and a new photo of a paper or a turned copy kept too few of
/// them whole (BENCHMARKS §7). Comparing them too would cost four times as
/// much for no more certainty: the strongest already line a paper up.
const COMPARED_POINTS: usize = 500;
/// No two keypoints closer than this (in work pixels), so that they spread over the paper.
const SPACING: u32 = 5;
/// FAST's brightness step (of 255) for a corner.
const FAST_THRESHOLD: u8 = 16;
/// Radius of the patch a descriptor reads (BRIEF's 31 × 31).
const PATCH_RADIUS: u32 = 15;
/// Keypoints stay this far from the edges, so that the patch lies inside.
const EDGE: u32 = 17;
/// Largest Hamming distance (of 256 bits) for two descriptors to match.
const MATCH_DISTANCE: u32 = 60;
/// A match must be clearly better than the runner-up (Lowe's ratio test),
/// which drops the many look-alike corners of the printed template.
const MATCH_RATIO: f32 = 0.8;
/// A match agrees with an alignment when it lands within this many work pixels.
const INLIER_PIXELS: f32 = 3.0;
/// Fewest agreeing matches for an alignment to count.
pub const MIN_INLIERS: usize = 12;
const RANSAC_ROUNDS: usize = 400;

/// Index keys per descriptor: disjoint subsets of its bits, together all 256.
pub const KEY_TABLES: usize = 8;
/// Bits per index key: long enough that two papers' unrelated corners rarely
/// share a key by chance, even among tens of thousands of photos (with 22
/// bits, 2,000 papers of one template filled the key space and a copy's
/// handwriting keys were lost among chance neighbours; see BENCHMARKS §7).
const KEY_BITS: usize = 32;

/// One keypoint: where it is in the work image, and its descriptor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Keypoint {
    pub x: f32,
    pub y: f32,
    pub bits: [u64; 4],
}

impl Keypoint {
    fn distance(&self, other: &Keypoint) -> u32 {
        self.bits
            .iter()
            .zip(&other.bits)
            .map(|(a, b)| (a ^ b).count_ones())
            .sum()
    }
}

/// A photo's keypoints, in the coordinates of its work image.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Keypoints {
    pub width: u32,
    pub height: u32,
    pub points: Vec<Keypoint>,
}

/// A small deterministic generator (splitmix64): the same test pairs and the
/// same RANSAC rounds on every machine and every run.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// BRIEF's 256 point pairs, fixed: descriptors are stored and compared across
/// photos, so every photo must use the same ones. Drawn around the patch centre
/// with a spread of about 6.6 pixels, as in the BRIEF paper.
fn test_pairs() -> &'static Vec<TestPair> {
    static PAIRS: OnceLock<Vec<TestPair>> = OnceLock::new();
    PAIRS.get_or_init(|| {
        let mut rng = SplitMix(0x00c4_4b37);
        // A sum of four uniforms is near-Gaussian; each has spread 30/sqrt(12).
        let mut coordinate = || {
            let sum: u64 = (0..4).map(|_| rng.next() % 31).sum();
            let centred = (sum as f32 / 4.0 - 15.0) * 0.76 + 15.0;
            centred.round().clamp(0.0, 30.0) as u32
        };
        (0..256)
            .map(|_| TestPair {
                p0: Point::new(coordinate(), coordinate()),
                p1: Point::new(coordinate(), coordinate()),
            })
            .collect()
    })
}

/// The bit positions of each index key: disjoint, fixed, shuffled so that
/// each key mixes comparisons from all over the patch.
fn key_bit_positions() -> &'static Vec<Vec<u32>> {
    static POSITIONS: OnceLock<Vec<Vec<u32>>> = OnceLock::new();
    POSITIONS.get_or_init(|| {
        let mut all: Vec<u32> = (0..(KEY_BITS * KEY_TABLES) as u32).collect();
        let mut rng = SplitMix(0x6b65_7973);
        for i in (1..all.len()).rev() {
            all.swap(i, rng.below(i + 1));
        }
        all.chunks(KEY_BITS).map(<[u32]>::to_vec).collect()
    })
}

/// BRIEF's 256 comparisons of the patch around `(x, y)`. (Not steered by
/// the keypoint's orientation, as ORB does: on handwriting that orientation is
/// noisier than the few degrees a reused photo is turned.)
fn brief(image: &GrayImage, x: u32, y: u32) -> [u64; 4] {
    let read = |px: u32, py: u32| {
        image
            .get_pixel(x + px - PATCH_RADIUS, y + py - PATCH_RADIUS)
            .0[0]
    };
    let mut bits = [0u64; 4];
    for (k, pair) in test_pairs().iter().enumerate() {
        if read(pair.p0.x, pair.p0.y) < read(pair.p1.x, pair.p1.y) {
            bits[k / 64] |= 1 << (63 - k % 64);
        }
    }
    bits
}

/// imageproc's `box_filter` with the same radius both ways, to the bit: the
/// mean of the `(2r + 1)²` pixels around each, edges repeated, the row pass
/// truncated to whole grey levels before the column pass. Its column pass
/// walks one column at a time; here it runs down all columns at once, and a
/// table divides: a third of a check's keypoint time went to the two filters.
fn box_filter(image: &GrayImage, radius: u32) -> GrayImage {
    let (width, height) = (image.width() as usize, image.height() as usize);
    if width == 0 || height == 0 {
        return image.clone();
    }
    let (r, k) = (radius as usize, 2 * radius as usize + 1);
    let quotient: Vec<u8> = (0..=255 * k).map(|sum| (sum / k) as u8).collect();
    let divide = |sum: usize| quotient.get(sum).copied().unwrap_or(u8::MAX);
    let clamp = |i: isize, length: usize| i.clamp(0, length as isize - 1) as usize;
    let mut rows = vec![0u8; width * height];
    for (input, output) in image
        .as_raw()
        .chunks_exact(width)
        .zip(rows.chunks_exact_mut(width))
    {
        let at = |i: isize| usize::from(input[clamp(i, width)]);
        let mut sum: usize = (-(r as isize)..=r as isize).map(at).sum();
        for (x, out) in output.iter_mut().enumerate() {
            *out = divide(sum);
            let x = x as isize;
            sum = sum + at(x + r as isize + 1) - at(x - r as isize);
        }
    }
    let row = |y: isize| {
        let y = clamp(y, height);
        &rows[y * width..(y + 1) * width]
    };
    let mut sums = vec![0usize; width];
    for y in -(r as isize)..=r as isize {
        for (sum, value) in sums.iter_mut().zip(row(y)) {
            *sum += usize::from(*value);
        }
    }
    let mut out = vec![0u8; width * height];
    for (y, output) in out.chunks_exact_mut(width).enumerate() {
        let y = y as isize;
        let (entering, leaving) = (row(y + r as isize + 1), row(y - r as isize));
        for (((out, sum), enter), leave) in
            output.iter_mut().zip(&mut sums).zip(entering).zip(leaving)
        {
            *out = divide(*sum);
            *sum = *sum + usize::from(*enter) - usize::from(*leave);
        }
    }
    GrayImage::from_raw(width as u32, height as u32, out).unwrap_or_else(|| image.clone())
}

/// A FAST corner: where it is, and its score (the largest threshold at which
/// it is still a corner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Corner {
    x: u32,
    y: u32,
    score: u8,
}

impl Corner {
    /// The key that orders corners the strongest first, then row by row,
    /// then along the row.
    fn strongest_first(&self) -> (std::cmp::Reverse<u8>, u32, u32) {
        (std::cmp::Reverse(self.score), self.y, self.x)
    }
}

/// The FAST-9 circle of radius 3 around a pixel, clockwise from straight
/// above (imageproc's order).
const CIRCLE: [(isize, isize); 16] = [
    (0, -3),
    (1, -3),
    (2, -2),
    (3, -1),
    (3, 0),
    (3, 1),
    (2, 2),
    (1, 3),
    (0, 3),
    (-1, 3),
    (-2, 2),
    (-3, 1),
    (-3, 0),
    (-3, -1),
    (-2, -2),
    (-1, -3),
];

/// imageproc's `corners_fast9` to the bit, at least `margin` pixels from the
/// edges (3 at the least, as imageproc's circle needs): a pixel is a corner
/// when nine contiguous pixels of its circle are all brighter than it by more
/// than `threshold`, or all darker. imageproc's detector was half of a
/// check's keypoint time: it scores each corner by a binary search of
/// thresholds (up to eight more corner tests), where here the score is read
/// off the circle at once (see [`fast9_score`]).
fn corners_fast9(image: &GrayImage, threshold: u8, margin: u32) -> Vec<Corner> {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let margin = margin.max(3) as usize;
    let mut corners = Vec::new();
    if width <= 2 * margin || height <= 2 * margin {
        return corners;
    }
    let pixels = image.as_raw();
    let row = |y: usize| pixels.get(y * width..(y + 1) * width).unwrap_or(&[]);
    let offsets = CIRCLE.map(|(dx, dy)| dy * width as isize + dx);
    let threshold = i16::from(threshold);
    let columns = margin..width - margin;
    for y in margin..height - margin {
        let (above, here, below) = (row(y - 3), row(y), row(y + 3));
        // Nine contiguous pixels of the sixteen hold two neighbouring
        // compass points: a quick test, over whole rows at once, that
        // rejects most pixels.
        let (Some(centres), Some(north), Some(south), Some(east), Some(west)) = (
            here.get(columns.clone()),
            above.get(columns.clone()),
            below.get(columns.clone()),
            here.get(columns.start + 3..columns.end + 3),
            here.get(columns.start - 3..columns.end - 3),
        ) else {
            continue;
        };
        let compass = centres.iter().zip(north).zip(south).zip(east).zip(west);
        for (i, ((((centre, north), south), east), west)) in compass.enumerate() {
            let centre = i16::from(*centre);
            let [north, south, east, west] =
                [north, south, east, west].map(|p| i16::from(*p) - centre);
            let brighter =
                (west > threshold || east > threshold) && (south > threshold || north > threshold);
            let darker = (west < -threshold || east < -threshold)
                && (south < -threshold || north < -threshold);
            if !brighter && !darker {
                continue;
            }
            let x = columns.start + i;
            let at = y * width + x;
            let steps: [i16; 16] = std::array::from_fn(|k| {
                let around = at
                    .checked_add_signed(offsets[k])
                    .and_then(|i| pixels.get(i));
                around.map_or(0, |p| i16::from(*p) - centre)
            });
            let score = fast9_score(&steps);
            if score >= threshold {
                corners.push(Corner {
                    x: x as u32,
                    y: y as u32,
                    score: score.clamp(0, 255) as u8,
                });
            }
        }
    }
    corners
}

/// The largest threshold at which a pixel is a FAST-9 corner (negative:
/// none), given `steps`, its circle's brightness less its own. A run of
/// nine pixels all brighter (or all darker) holds up to its smallest
/// difference in absolute value, less one (the test is strict): the score is
/// the best run's.
fn fast9_score(steps: &[i16; 16]) -> i16 {
    let at = |k: usize| steps[k % 16];
    // The least and the most of each run of nine, by doubling runs.
    let least2: [i16; 16] = std::array::from_fn(|k| at(k).min(at(k + 1)));
    let most2: [i16; 16] = std::array::from_fn(|k| at(k).max(at(k + 1)));
    let least4: [i16; 16] = std::array::from_fn(|k| least2[k].min(least2[(k + 2) % 16]));
    let most4: [i16; 16] = std::array::from_fn(|k| most2[k].max(most2[(k + 2) % 16]));
    let (mut brighter, mut darker) = (i16::MIN, i16::MIN);
    for k in 0..16 {
        let least = least4[k].min(least4[(k + 4) % 16]).min(at(k + 8));
        let most = most4[k].max(most4[(k + 4) % 16]).max(at(k + 8));
        brighter = brighter.max(least);
        darker = darker.max(-most);
    }
    brighter.max(darker) - 1
}

/// The grey work image of a photo (its long side `WORK_LONG_SIDE`).
pub fn work_image(image: &DynamicImage) -> GrayImage {
    super::photo::shrink(image, WORK_LONG_SIDE).to_luma8()
}

/// A size the search draws a photo's grey work image at: `times.0 /
/// times.1` its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drawing {
    /// The ratio, as a fraction (whole pixels: `div_ceil` of each side).
    pub times: (u32, u32),
}

/// The drawings the search looks with after the photo as it is, in turn.
/// BRIEF's comparisons cover a patch of one size, so a new photo of a paper
/// taken a little farther or nearer keeps few of its handwriting's keys:
/// at 0.9 or 1.1 of its size the original shares 3 to 23 keys with it, 0
/// to 2 its own, ranks too low to be compared, and at 1.1 does not always
/// line up either (among 1,000 papers, 12 and 17 of 25 such photos were
/// found; BENCHMARKS §7, "Drawings a little larger and smaller"). So the
/// photo is drawn 1.1 times larger (a paper photographed a little farther
/// then has the first photo's size), 1 / 1.1 times (a little nearer: 24 and
/// 25 of those 25 are then found; the sizes each drawing covers in between
/// were not measured), and then 1.4 times ([`FROM_FARTHER`]), in the order
/// such photos are likely.
pub const DRAWINGS: [Drawing; 3] = [
    Drawing { times: (11, 10) },
    Drawing { times: (10, 11) },
    FROM_FARTHER,
];

/// The drawing 1.4 times larger: a photo whose paper is 0.6 to 0.85 times
/// its size in the first photo lines up drawn so (BENCHMARKS §7, "A paper
/// photographed from farther").
pub const FROM_FARTHER: Drawing = Drawing { times: (7, 5) };

/// The work image drawn at `drawing`'s size, as if the photo had been taken
/// nearer or farther: its paper then has the size it has in such a photo,
/// to be compared with those. It is resampled, not decoded again.
pub fn drawn(work: &GrayImage, drawing: Drawing) -> GrayImage {
    let (times, than) = drawing.times;
    image::imageops::resize(
        work,
        (work.width() * times).div_ceil(than),
        (work.height() * times).div_ceil(than),
        image::imageops::FilterType::Triangle,
    )
}

impl Keypoints {
    /// The keypoints compared when two photos are lined up.
    fn compared(&self) -> &[Keypoint] {
        &self.points[..self.points.len().min(COMPARED_POINTS)]
    }

    /// Finds and describes the keypoints of a work image, the strongest first.
    pub fn of(work: &GrayImage) -> Keypoints {
        Keypoints::at_most(work, MAX_POINTS)
    }

    /// The `limit` strongest keypoints of a work image, spread out.
    fn at_most(work: &GrayImage, limit: usize) -> Keypoints {
        let (width, height) = work.dimensions();
        if width <= 2 * EDGE || height <= 2 * EDGE {
            return Keypoints {
                width,
                height,
                points: Vec::new(),
            };
        }
        // Corners of a lightly smoothed image stay put when the photo is
        // resampled (resized, cropped, turned); single pixels of noise or
        // JPEG ringing make none.
        let smoothed = box_filter(work, 1);
        let mut corners = corners_fast9(&smoothed, FAST_THRESHOLD, EDGE);
        corners.sort_unstable_by_key(Corner::strongest_first);
        // The strongest corners, none within `SPACING` of a stronger one (the
        // same wherever the photo was cropped, unlike a fixed grid).
        let cells_x = width.div_ceil(SPACING) as usize;
        let mut taken: Vec<Vec<(u32, u32)>> =
            vec![Vec::new(); cells_x * height.div_ceil(SPACING) as usize];
        let mut kept = Vec::new();
        for corner in corners {
            let (cx, cy) = ((corner.x / SPACING) as usize, (corner.y / SPACING) as usize);
            let crowded = (cy.saturating_sub(1)..=cy + 1).any(|y| {
                (cx.saturating_sub(1)..=cx + 1).any(|x| {
                    taken.get(y * cells_x + x).is_some_and(|cell| {
                        x < cells_x
                            && cell.iter().any(|(kx, ky)| {
                                kx.abs_diff(corner.x).max(ky.abs_diff(corner.y)) < SPACING
                            })
                    })
                })
            });
            if crowded {
                continue;
            }
            taken[cy * cells_x + cx].push((corner.x, corner.y));
            kept.push(Point::new(corner.x, corner.y));
            if kept.len() == limit {
                break;
            }
        }
        // BRIEF compares a smoothed image, as in its paper, so that a corner
        // found a pixel away still reads the same.
        let smoother = box_filter(work, 2);
        let points = kept
            .iter()
            .map(|at| Keypoint {
                x: at.x as f32,
                y: at.y as f32,
                bits: brief(&smoother, at.x, at.y),
            })
            .collect();
        Keypoints {
            width,
            height,
            points,
        }
    }

    /// The index keys of the strongest keypoints alone (those compared):
    /// enough to find a copy of a paper at the first look, for half the
    /// lookups of [`Keypoints::placed_keys`].
    pub fn strongest_keys(&self) -> Vec<PlacedKey> {
        Keypoints {
            points: self.compared().to_vec(),
            ..*self
        }
        .placed_keys()
    }

    /// The keys under which this photo is found in the index of earlier
    /// photos: for every keypoint, `KEY_TABLES` disjoint subsets of its bits.
    /// A reused photo shares many of them with its original; another paper on
    /// the same template shares those of the printed parts, which grow common
    /// and stop counting (see `store::ranked_sharers`).
    pub fn index_keys(&self) -> Vec<i64> {
        let mut keys: Vec<i64> = self.points.iter().flat_map(Keypoint::keys).collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// The [`Keypoints::index_keys`], each with where its keypoint lies
    /// (the strongest's, when several keypoints have the key), by key.
    pub fn placed_keys(&self) -> Vec<PlacedKey> {
        let mut keys: Vec<PlacedKey> = self
            .points
            .iter()
            .flat_map(|point| {
                let place = (point.x.round() as i16, point.y.round() as i16);
                point.keys().map(move |key| PlacedKey { key, place })
            })
            .collect();
        // Stable: of the keypoints sharing a key, the strongest (first) stays.
        keys.sort_by_key(|placed| placed.key);
        keys.dedup_by_key(|placed| placed.key);
        keys
    }
}

/// An index key of a photo, with where its keypoint lies in the work image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlacedKey {
    pub key: i64,
    pub place: crate::evidence::candidates::Place,
}

impl Keypoint {
    /// Its `KEY_TABLES` index keys: disjoint subsets of its bits.
    fn keys(&self) -> impl Iterator<Item = i64> + '_ {
        key_bit_positions()
            .iter()
            .enumerate()
            .map(move |(table, positions)| {
                let value = positions.iter().fold(0i64, |acc, bit| {
                    let word = self.bits[(*bit / 64) as usize];
                    (acc << 1) | ((word >> (63 - bit % 64)) & 1) as i64
                });
                ((table as i64) << KEY_BITS) | value
            })
    }
}

/// A point of one work image and where it lies in the other.
type Pair = ((f32, f32), (f32, f32));

/// An affine map from one work image to another: `x' = a·x + b·y + c`,
/// `y' = d·x + e·y + f`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    pub m: [f32; 6],
}

impl Affine {
    /// Where `(x, y)` lands.
    pub fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        let m = &self.m;
        (m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5])
    }

    /// A plausible photo-to-photo map: no mirror, modest scale and shear.
    fn is_plausible(&self) -> bool {
        let m = &self.m;
        let determinant = m[0] * m[4] - m[1] * m[3];
        let (sx, sy) = (m[0].hypot(m[3]), m[1].hypot(m[4]));
        determinant > 0.0
            && (0.4..=2.5).contains(&sx)
            && (0.4..=2.5).contains(&sy)
            && (sx / sy - 1.0).abs() < 0.25
    }

    /// The least-squares affine map taking each `from` to its `to`.
    fn fit(pairs: &[Pair]) -> Option<Affine> {
        if pairs.len() < 3 {
            return None;
        }
        let mut normal = nalgebra::Matrix3::<f64>::zeros();
        let (mut rhs_x, mut rhs_y) = (
            nalgebra::Vector3::<f64>::zeros(),
            nalgebra::Vector3::<f64>::zeros(),
        );
        for ((x, y), (u, v)) in pairs {
            let row = nalgebra::Vector3::new(f64::from(*x), f64::from(*y), 1.0);
            normal += row * row.transpose();
            rhs_x += row * f64::from(*u);
            rhs_y += row * f64::from(*v);
        }
        let lu = normal.lu();
        let (first, second) = (lu.solve(&rhs_x)?, lu.solve(&rhs_y)?);
        let m = [
            first[0], first[1], first[2], second[0], second[1], second[2],
        ]
        .map(|v| v as f32);
        m.iter().all(|v| v.is_finite()).then_some(Affine { m })
    }
}

/// How photo `a` lines up with photo `b`.
#[derive(Debug, Clone, PartialEq)]
pub struct Alignment {
    /// From `a`'s work image to `b`'s.
    pub map: Affine,
    /// `a`'s keypoints that agree with the map.
    pub inliers: Vec<(f32, f32)>,
}

/// Pairs each keypoint of `a` with its nearest in `b` when that is close and
/// clearly nearer than any other.
fn matches(a: &Keypoints, b: &Keypoints) -> Vec<Pair> {
    a.compared()
        .iter()
        .filter_map(|p| {
            let (mut best, mut second, mut at) = (u32::MAX, u32::MAX, None);
            for q in b.compared() {
                let d = p.distance(q);
                if d < best {
                    (second, best, at) = (best, d, Some(q));
                } else if d < second {
                    second = d;
                }
            }
            let q = at?;
            (best <= MATCH_DISTANCE && (best as f32) < MATCH_RATIO * second as f32)
                .then_some(((p.x, p.y), (q.x, q.y)))
        })
        .collect()
}

/// Lines `a` up with `b`: an affine map that at least `MIN_INLIERS`
/// descriptor matches agree with, found by RANSAC and refitted on its inliers.
/// `None` when the photos do not show the same thing.
pub fn align(a: &Keypoints, b: &Keypoints) -> Option<Alignment> {
    let pairs = matches(a, b);
    if pairs.len() < MIN_INLIERS {
        return None;
    }
    let agrees = |map: &Affine, (from, to): &Pair| {
        let (x, y) = map.apply(from.0, from.1);
        // Squared, not `hypot`: this runs for every pair in every
        // RANSAC round, and libm's careful `hypotf` was 2 % of a check.
        let (dx, dy) = (x - to.0, y - to.1);
        dx * dx + dy * dy <= INLIER_PIXELS * INLIER_PIXELS
    };
    let agreeing = |map: &Affine| -> Vec<usize> {
        pairs
            .iter()
            .enumerate()
            .filter(|(_, pair)| agrees(map, pair))
            .map(|(i, _)| i)
            .collect()
    };
    let mut rng = SplitMix(pairs.len() as u64);
    // The rounds only count their inliers (collecting them built a list in
    // each of the 400 rounds); the best round's are listed once, after.
    let mut best: Option<(usize, Affine)> = None;
    for _ in 0..RANSAC_ROUNDS {
        let sample = [
            pairs[rng.below(pairs.len())],
            pairs[rng.below(pairs.len())],
            pairs[rng.below(pairs.len())],
        ];
        let Some(map) = Affine::fit(&sample) else {
            continue;
        };
        if !map.is_plausible() {
            continue;
        }
        let count = pairs.iter().filter(|pair| agrees(&map, pair)).count();
        if count > best.map_or(0, |(most, _)| most) {
            best = Some((count, map));
        }
    }
    let (most, best_map) = best?;
    if most < MIN_INLIERS {
        return None;
    }
    // Refit on the inliers, once more on the refit's own inliers.
    let mut inliers = agreeing(&best_map);
    let mut map = None;
    for _ in 0..2 {
        let chosen: Vec<_> = inliers.iter().map(|i| pairs[*i]).collect();
        let Some(refit) = Affine::fit(&chosen) else {
            break;
        };
        let again = agreeing(&refit);
        if again.len() < MIN_INLIERS || !refit.is_plausible() {
            break;
        }
        (map, inliers) = (Some(refit), again);
    }
    // Refine on the guided matches, which reach across the whole paper.
    let mut map = map?;
    let mut guided = guided_matches(a, b, &map);
    for _ in 0..2 {
        match Affine::fit(&guided) {
            Some(refit) if refit.is_plausible() => {
                let again = guided_matches(a, b, &refit);
                if again.len() < guided.len() {
                    break;
                }
                (map, guided) = (refit, again);
            }
            _ => break,
        }
    }
    Some(Alignment {
        map,
        inliers: guided.into_iter().map(|(from, _)| from).collect(),
    })
}

/// `a`'s keypoints that, once mapped, land on a like keypoint of `b`. Unlike
/// the first matching, this keeps the template's repeated marks (dotted lines,
/// field labels), which the ratio test drops: with the map known, they are no
/// longer ambiguous, and they show how far the paper reaches.
fn guided_matches(a: &Keypoints, b: &Keypoints, map: &Affine) -> Vec<Pair> {
    let near = Grid::of(b.compared().iter().map(|q| (q.x, q.y)), INLIER_PIXELS);
    a.compared()
        .iter()
        .filter_map(|p| {
            let (x, y) = map.apply(p.x, p.y);
            let q = near
                .around(x, y)
                .map(|k| &b.compared()[k])
                .filter(|q| {
                    (q.x - x).abs() <= INLIER_PIXELS
                        && (q.y - y).abs() <= INLIER_PIXELS
                        && p.distance(q) <= MATCH_DISTANCE
                })
                .min_by_key(|q| p.distance(q))?;
            Some(((p.x, p.y), (q.x, q.y)))
        })
        .collect()
}

/// Points bucketed in square cells, to find those near a place without
/// looking at all of them.
struct Grid {
    cell: f32,
    buckets: foldhash::HashMap<(i32, i32), Vec<usize>>,
}

impl Grid {
    /// Cells of side `reach`: everything within `reach` of a place lies in
    /// its cell or the eight around it.
    fn of(points: impl Iterator<Item = (f32, f32)>, reach: f32) -> Grid {
        let cell = reach.max(1.0);
        let mut buckets: foldhash::HashMap<(i32, i32), Vec<usize>> = Default::default();
        for (k, (x, y)) in points.enumerate() {
            buckets
                .entry(((x / cell).floor() as i32, (y / cell).floor() as i32))
                .or_default()
                .push(k);
        }
        Grid { cell, buckets }
    }

    /// The points in the cells around `(x, y)` (a superset of those within reach).
    fn around(&self, x: f32, y: f32) -> impl Iterator<Item = usize> + '_ {
        let (cx, cy) = (
            (x / self.cell).floor() as i32,
            (y / self.cell).floor() as i32,
        );
        (cy - 1..=cy + 1)
            .flat_map(move |gy| (cx - 1..=cx + 1).map(move |gx| (gx, gy)))
            .filter_map(|at| self.buckets.get(&at))
            .flatten()
            .copied()
    }
}

/// The points with at least `others` other points within `reach` (on each
/// axis): those that lie in company, not stray.
pub fn in_company(points: &[(f32, f32)], reach: f32, others: usize) -> Vec<(f32, f32)> {
    let grid = Grid::of(points.iter().copied(), reach);
    points
        .iter()
        .filter(|(x, y)| {
            grid.around(*x, *y)
                .filter(|k| {
                    let (ox, oy) = points[*k];
                    (ox - x).abs() <= reach && (oy - y).abs() <= reach
                })
                .count()
                > others // the point itself is within reach of itself
        })
        .copied()
        .collect()
}

/// A fingerprint's bytes: `Keypoints` as `width, height, count` (u16 LE), then
/// per point `x, y` (u16 LE) and 32 descriptor bytes.
pub fn to_bytes(keypoints: &Keypoints, out: &mut Vec<u8>) {
    let count = keypoints.points.len().min(usize::from(u16::MAX));
    for value in [keypoints.width, keypoints.height, count as u32] {
        out.extend_from_slice(&(value.min(u32::from(u16::MAX)) as u16).to_le_bytes());
    }
    for point in keypoints.points.iter().take(count) {
        out.extend_from_slice(&(point.x as u16).to_le_bytes());
        out.extend_from_slice(&(point.y as u16).to_le_bytes());
        for word in point.bits {
            out.extend_from_slice(&word.to_le_bytes());
        }
    }
}

/// Reads what [`to_bytes`] wrote; the rest of `bytes` is returned.
pub fn from_bytes(bytes: &[u8]) -> Option<(Keypoints, &[u8])> {
    let u16_at = |at: usize| -> Option<u16> {
        Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
    };
    let (width, height, count) = (u16_at(0)?, u16_at(2)?, usize::from(u16_at(4)?));
    let mut points = Vec::with_capacity(count);
    let mut at = 6;
    for _ in 0..count {
        let (x, y) = (u16_at(at)?, u16_at(at + 2)?);
        let mut bits = [0u64; 4];
        for (i, word) in bits.iter_mut().enumerate() {
            let start = at + 4 + i * 8;
            *word = u64::from_le_bytes(bytes.get(start..start + 8)?.try_into().ok()?);
        }
        points.push(Keypoint {
            x: f32::from(x),
            y: f32::from(y),
            bits,
        });
        at += 36;
    }
    Some((
        Keypoints {
            width: u32::from(width),
            height: u32::from(height),
            points,
        },
        bytes.get(at..)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_box_filter_is_imageproc_s_to_the_bit() {
        let mut state = 0x5DEE_CE66_D1CE_4E5Bu64;
        for (width, height) in [(480, 360), (1, 1), (1, 9), (9, 1), (3, 2), (37, 29)] {
            let image = GrayImage::from_fn(width, height, |_, _| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                image::Luma([(state % 256) as u8])
            });
            for radius in [1, 2] {
                assert_eq!(
                    box_filter(&image, radius),
                    imageproc::filter::box_filter(&image, radius, radius),
                    "{width}×{height}, radius {radius}"
                );
            }
        }
    }

    #[test]
    fn fast9_corners_and_scores_are_imageproc_s_to_the_bit() {
        use crate::devtools::synthetic::{PaperPhoto, Scene};
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut noise = |width, height| {
            GrayImage::from_fn(width, height, |_, _| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                image::Luma([(state % 256) as u8])
            })
        };
        // Steps as large as a pixel can take: black and white squares.
        let squares = GrayImage::from_fn(64, 48, |x, y| {
            image::Luma([if (x / 5 + y / 3) % 2 == 0 { 0 } else { 255 }])
        });
        let paper = box_filter(
            &work_image(
                &PaperPhoto::new(
                    Scene {
                        seed: 3,
                        paper_shift: (0, 0),
                    },
                    2,
                )
                .render(),
            ),
            1,
        );
        // What a check asks of the paper finds corners to compare.
        assert!(corners_fast9(&paper, FAST_THRESHOLD, EDGE).len() > 500);
        let images = [
            paper,
            noise(160, 120),
            noise(7, 40),
            noise(7, 7),
            noise(6, 9),
            noise(2, 2),
            squares,
        ];
        let mut found = 0;
        for image in &images {
            let (width, height) = image.dimensions();
            for threshold in [0, 1, 16, 40, 200, 255] {
                // Under 3, the margin is imageproc's own.
                for margin in [0, 3, 4, EDGE] {
                    let mut ours = corners_fast9(image, threshold, margin);
                    ours.sort_unstable_by_key(Corner::strongest_first);
                    let ours: Vec<(u32, u32, u8)> =
                        ours.iter().map(|c| (c.x, c.y, c.score)).collect();
                    // imageproc's, in the order the keypoints sorted them before.
                    let mut theirs: Vec<_> = imageproc::corners::corners_fast9(image, threshold)
                        .into_iter()
                        .filter(|c| {
                            c.x >= margin
                                && c.y >= margin
                                && c.x + margin < width
                                && c.y + margin < height
                        })
                        .collect();
                    theirs.sort_unstable_by(|a, b| {
                        b.score
                            .total_cmp(&a.score)
                            .then(a.y.cmp(&b.y))
                            .then(a.x.cmp(&b.x))
                    });
                    let theirs: Vec<(u32, u32, u8)> =
                        theirs.iter().map(|c| (c.x, c.y, c.score as u8)).collect();
                    assert_eq!(
                        ours, theirs,
                        "{width}×{height}, threshold {threshold}, margin {margin}"
                    );
                    found += ours.len();
                }
            }
        }
        assert!(found > 10_000, "{found} corners compared");
    }

    #[test]
    fn points_in_company_are_told_from_stray_ones() {
        let mut points: Vec<(f32, f32)> = (0..5)
            .flat_map(|i| (0..5).map(move |j| (100.0 + 4.0 * i as f32, 50.0 + 4.0 * j as f32)))
            .collect();
        points.push((300.0, 200.0));
        points.push((130.0, 50.0));
        let kept = in_company(&points, 12.0, 3);
        assert_eq!(kept.len(), 25, "{kept:?}");
        assert!(!kept.contains(&(300.0, 200.0)) && !kept.contains(&(130.0, 50.0)));
        // A cluster's edge point far from most of it still has company.
        assert!(kept.contains(&(116.0, 66.0)));
    }

    #[test]
    fn an_affine_map_is_recovered_from_its_points() {
        let truth = Affine {
            m: [0.99, -0.05, 12.0, 0.05, 0.99, -7.0],
        };
        let pairs: Vec<_> = [(10.0, 10.0), (300.0, 40.0), (120.0, 250.0), (400.0, 300.0)]
            .into_iter()
            .map(|(x, y)| ((x, y), truth.apply(x, y)))
            .collect();
        let fitted = Affine::fit(&pairs).expect("fits");
        for (got, want) in fitted.m.iter().zip(truth.m) {
            assert!((got - want).abs() < 1e-3, "{fitted:?}");
        }
        assert!(fitted.is_plausible());
        let mirror = Affine {
            m: [-1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        };
        assert!(!mirror.is_plausible());
        assert_eq!(Affine::fit(&pairs[..2]), None);
    }

    #[test]
    fn the_strongest_keypoints_are_compared_and_all_are_indexed() {
        use crate::devtools::synthetic::{PaperPhoto, Scene};
        let work = work_image(
            &PaperPhoto::new(
                Scene {
                    seed: 5,
                    paper_shift: (0, 0),
                },
                4,
            )
            .render(),
        );
        let all = Keypoints::of(&work);
        assert!(
            all.points.len() > COMPARED_POINTS,
            "{} keypoints",
            all.points.len()
        );
        // Lining up compares what it compared before the fainter ones were kept.
        let strongest = Keypoints::at_most(&work, COMPARED_POINTS);
        assert_eq!(all.compared(), &strongest.points[..]);
        // The first look of a search asks the strongest ones' keys.
        assert_eq!(all.strongest_keys(), strongest.placed_keys());
        // The fainter ones' keys are among those the photo is indexed under
        // (before every corner was kept, only the compared ones' were).
        let fainter = Keypoints {
            points: all.points[COMPARED_POINTS..].to_vec(),
            ..all.clone()
        };
        let (keys, fainter_keys) = (all.index_keys(), fainter.index_keys());
        assert!(!fainter_keys.is_empty());
        assert!(fainter_keys
            .iter()
            .all(|key| keys.binary_search(key).is_ok()));
    }

    #[test]
    fn keypoints_survive_their_bytes() {
        use crate::devtools::synthetic::{PaperPhoto, Scene};
        let photo = PaperPhoto::new(
            Scene {
                seed: 5,
                paper_shift: (0, 0),
            },
            4,
        )
        .render();
        let keypoints = Keypoints::of(&work_image(&photo));
        assert!(keypoints.points.len() > 100, "{}", keypoints.points.len());
        let mut bytes = Vec::new();
        to_bytes(&keypoints, &mut bytes);
        bytes.extend_from_slice(b"rest");
        let (back, rest) = from_bytes(&bytes).expect("reads");
        assert_eq!(back, keypoints);
        assert_eq!(rest, b"rest");
        assert!(from_bytes(&bytes[..10]).is_none());
        let keys = keypoints.index_keys();
        assert!(keys.len() > keypoints.points.len());
        assert!(keys
            .iter()
            .all(|k| *k >= 0 && *k < (KEY_TABLES as i64) << KEY_BITS));
    }

    #[test]
    fn each_key_is_placed_where_its_strongest_keypoint_lies() {
        let point = |x: f32, y: f32, bits: [u64; 4]| Keypoint { x, y, bits };
        let keypoints = Keypoints {
            width: 480,
            height: 360,
            points: vec![
                point(10.0, 21.0, [0; 4]),
                // Weaker, with every key of the first.
                point(300.0, 200.0, [0; 4]),
                // Keys of its own (every key table takes bits of the first word).
                point(100.0, 50.0, [u64::MAX, 0, 0, 0]),
            ],
        };
        let placed = keypoints.placed_keys();
        assert_eq!(
            placed.iter().map(|p| p.key).collect::<Vec<_>>(),
            keypoints.index_keys()
        );
        let at = |key: i64| placed.iter().find(|p| p.key == key).map(|p| p.place);
        for key in keypoints.points[0].keys() {
            assert_eq!(at(key), Some((10, 21)));
        }
        let third_only: Vec<i64> = keypoints.points[2]
            .keys()
            .filter(|key| !keypoints.points[0].keys().any(|k| k == *key))
            .collect();
        assert!(!third_only.is_empty());
        for key in third_only {
            assert_eq!(at(key), Some((100, 50)));
        }
    }
}
