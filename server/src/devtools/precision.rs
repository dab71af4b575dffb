//! The precision test set of reused-paper detection, and its run.
//!
//! Forty distinct signed papers on one printed template (`synthetic`): the
//! first twenty on one table from nearly the same stance (the hardest
//! look-alikes: a working group photographing paper after paper), the rest on
//! other tables, moved and turned. Ten of them are reused: the photo
//! re-encoded at q70, resized to 50 %, resized to 75 % at q60, cropped 5 %,
//! turned 3°, and 15 % brighter and darker (70 copies); and each of the ten is
//! photographed again (a new shot of the same paper: moved and turned on the
//! table, other light and sensor noise), and again from farther away (the
//! paper three quarters of its size). [`run`] checks every photo as the
//! server does (`photo::inspect`, the keypoint index in the database, the
//! comparison) in order, originals first, and counts what it found.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::FixedOffset;
use image::DynamicImage;
use serde_json::{json, Value};

use camket_schema::models::PhotoRow;
use camket_schema::Db;

use super::bench::stats;
use super::synthetic::{self, PaperPhoto, Scene, Shot};
use crate::evidence::candidates::{Order, Ranking, Sharer};
use crate::evidence::keypoints;
use crate::evidence::photo::{self, PhotoLimits};
use crate::evidence::similarity::{self, Fingerprint};
use crate::evidence::ReuseKind;
use crate::photo_store::{PhotoStore, Variant};
use crate::submissions::{store, verification};

/// What a photo of the set really is.
#[derive(Debug, Clone, PartialEq)]
pub enum Truth {
    /// A signed paper seen for the first time.
    Honest,
    /// A copy of the set's photo `of`, made by `how`.
    Copy { of: usize, how: &'static str },
    /// A new photo of the paper in the set's photo `of` (`farther`: taken
    /// from farther away, the paper three quarters of its size in the first).
    SamePaper { of: usize, farther: bool },
}

/// One photo of the set.
pub struct SetPhoto {
    /// Which signed paper it shows.
    pub paper: u64,
    pub truth: Truth,
    pub jpeg: Vec<u8>,
}

/// How many of each the set holds.
#[derive(Debug, Clone, Copy)]
pub struct SetSize {
    /// Distinct papers (half on one table).
    pub papers: usize,
    /// Papers reused (copied seven ways and photographed twice again).
    pub reused: usize,
}

impl Default for SetSize {
    fn default() -> SetSize {
        SetSize {
            papers: 40,
            reused: 10,
        }
    }
}

/// The seven ways a reused photo is copied.
pub const COPIES: [&str; 7] = [
    "re-encoded q70",
    "resized 50%",
    "resized 75% q60",
    "cropped 5%",
    "turned 3°",
    "brightness +15%",
    "brightness -15%",
];

fn copy(image: &DynamicImage, how: &str) -> Vec<u8> {
    match how {
        "re-encoded q70" => synthetic::jpeg(image, 70),
        "resized 50%" => synthetic::jpeg(&synthetic::resize_percent(image, 50.0), 90),
        "resized 75% q60" => synthetic::jpeg(&synthetic::resize_percent(image, 75.0), 60),
        "cropped 5%" => synthetic::jpeg(&synthetic::crop_percent(image, 5.0), 90),
        "turned 3°" => synthetic::jpeg(&synthetic::rotate(image, 3.0), 90),
        "brightness +15%" => synthetic::jpeg(&synthetic::brighten(image, 15.0), 90),
        _ => synthetic::jpeg(&synthetic::brighten(image, -15.0), 90),
    }
}

/// Paper `n` (from 0) of the set as first photographed.
fn first_photo(n: usize, size: SetSize) -> PaperPhoto {
    let paper = 1000 + n as u64;
    let wobble = |k: u64, range: i32| {
        (synthetic::mix(paper * 31 + k) % (2 * range as u64 + 1)) as i32 - range
    };
    if n < size.papers / 2 {
        // One table, nearly the same stance.
        PaperPhoto::new(
            Scene {
                seed: 11,
                paper_shift: (wobble(1, 4), wobble(2, 4)),
            },
            paper,
        )
        .shot(Shot {
            rotation_deg: wobble(3, 3) as f32 / 10.0,
            scale: 1.0,
            light: 1.0 + wobble(4, 2) as f32 / 100.0,
            take: n as u64 * 2,
        })
    } else {
        PaperPhoto::new(
            Scene {
                seed: 100 + n as u64,
                paper_shift: (wobble(1, 60), wobble(2, 40)),
            },
            paper,
        )
        .shot(Shot {
            rotation_deg: wobble(3, 20) as f32 / 10.0,
            scale: 1.0,
            light: 1.0 + wobble(4, 10) as f32 / 100.0,
            take: n as u64 * 2,
        })
    }
}

/// The set's photos, originals first.
pub fn photos(size: SetSize) -> Vec<SetPhoto> {
    let mut set: Vec<SetPhoto> = (0..size.papers)
        .map(|n| {
            let shot = first_photo(n, size);
            SetPhoto {
                paper: shot.paper,
                truth: Truth::Honest,
                jpeg: synthetic::jpeg(&shot.render(), 90),
            }
        })
        .collect();
    // Reuse every (papers / reused)-th paper: from both tables.
    let step = (size.papers / size.reused.max(1)).max(1);
    for of in (0..size.papers).step_by(step).take(size.reused) {
        let image = match image::load_from_memory(&set[of].jpeg) {
            Ok(image) => image,
            Err(_) => continue,
        };
        let paper = set[of].paper;
        for how in COPIES {
            set.push(SetPhoto {
                paper,
                truth: Truth::Copy { of, how },
                jpeg: copy(&image, how),
            });
        }
        set.push(SetPhoto {
            paper,
            truth: Truth::SamePaper { of, farther: false },
            jpeg: synthetic::jpeg(&photographed_again(first_photo(of, size)).render(), 90),
        });
        set.push(SetPhoto {
            paper,
            truth: Truth::SamePaper { of, farther: true },
            jpeg: synthetic::jpeg(
                &photographed_from_farther(first_photo(of, size)).render(),
                90,
            ),
        });
    }
    set
}

/// The same signed paper photographed again: moved 24 × 18 px and turned
/// 1.2° on its table, 5 % darker, with new sensor noise.
fn photographed_again(first: PaperPhoto) -> PaperPhoto {
    PaperPhoto {
        scene: Scene {
            seed: first.scene.seed,
            paper_shift: (
                first.scene.paper_shift.0 + 24,
                first.scene.paper_shift.1 + 18,
            ),
        },
        ..first
    }
    .shot(Shot {
        rotation_deg: first.shot.rotation_deg + 1.2,
        scale: 1.0,
        light: first.shot.light * 0.95,
        take: first.shot.take + 1,
    })
}

/// The same signed paper photographed again from farther away: as
/// [`photographed_again`], with the paper three quarters of its size in the
/// first photo, and other sensor noise.
fn photographed_from_farther(first: PaperPhoto) -> PaperPhoto {
    photographed_again_at(first, FARTHER_SCALE)
}

/// The size of a paper photographed from farther, against the first photo's.
const FARTHER_SCALE: f32 = 0.75;

/// One set of new photos of earlier papers in `bench reuse-scale`.
struct ReshotSet {
    /// What the set's figures are named after.
    prefix: &'static str,
    /// The paper's size against its first photo's.
    scale: f32,
    /// Where the set's papers start (each set after the first two takes
    /// other papers than the sets before it).
    first_paper: usize,
    /// What a missed photo of the set is, in the figures.
    how: &'static str,
}

/// The sets of new photos `bench reuse-scale` checks, in that order.
const RESHOT_SETS: [ReshotSet; 4] = [
    ReshotSet {
        prefix: "reshots",
        scale: 1.0,
        first_paper: 13,
        how: "photographed again",
    },
    ReshotSet {
        prefix: "reshots_farther",
        scale: FARTHER_SCALE,
        first_paper: 13,
        how: "photographed again from farther",
    },
    ReshotSet {
        prefix: "reshots_a_little_farther",
        scale: 0.9,
        first_paper: 401,
        how: "photographed again a little farther (0.9 of the size)",
    },
    ReshotSet {
        prefix: "reshots_a_little_nearer",
        scale: 1.1,
        first_paper: 809,
        how: "photographed again a little nearer (1.1 times the size)",
    },
];

/// As [`photographed_again`], with the paper `scale` times its size in the
/// first photo (the phone held farther or nearer), and other sensor noise.
fn photographed_again_at(first: PaperPhoto, scale: f32) -> PaperPhoto {
    let again = photographed_again(first);
    again.shot(Shot {
        scale,
        take: again.shot.take + 1,
        ..again.shot
    })
}

/// What the checks said of one photo (`of`: the set's index of the photo named).
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    NotFlagged,
    Flagged { kind: ReuseKind, of: usize },
}

/// Checks one photo sent from `village` as the server does: decodes it
/// (`photo::inspect`), records it in `db`, keeps its fingerprint in the
/// scratch store, and searches the index for an earlier photo of the same
/// paper (`verification::search_reused_paper`, which indexes the photo
/// unless it repeats one). Returns the candidate found (by its sha-256) and
/// how it repeats it.
fn check(
    db: &Db,
    scratch: &ScratchStore,
    jpeg: &[u8],
    village: Option<i64>,
    offset: FixedOffset,
) -> Result<Checked, String> {
    let (photos, common) = (&scratch.photos, &scratch.common);
    let describe = |e: camket_schema::DbError| e.to_string();
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(jpeg));
    let (path, file) = photos.temp_file().map_err(|e| e.to_string())?;
    drop(file);
    std::fs::write(&path, jpeg).map_err(|e| e.to_string())?;
    let inspected = photo::inspect(&path, PhotoLimits::default(), offset);
    let _ = std::fs::remove_file(&path);
    let inspected = inspected.map_err(|e| e.to_string())?;
    photos
        .put(&sha, Variant::Signature, &inspected.fingerprint.to_bytes())
        .map_err(|e| e.to_string())?;
    store::record_photo(
        db,
        &PhotoRow {
            sha256: sha.clone(),
            format: inspected.format,
            size_bytes: jpeg.len() as i64,
            width: inspected.width as i32,
            height: inspected.height as i32,
            exif_time: None,
            exif_lat: None,
            exif_lon: None,
            created_at: chrono::Utc::now().naive_utc(),
            verified_at: None,
            verify_error: None,
            exif_camera: None,
            exif_error: None,
        },
    )
    .map_err(describe)?;
    store::mark_verified(
        db,
        &sha,
        &Ok(store::Decoded {
            width: inspected.width,
            height: inspected.height,
        }),
    )
    .map_err(describe)?;
    let search = verification::search_reused_paper(
        db,
        common,
        verification::SearchedPhoto {
            sha: &sha,
            fingerprint: &inspected.fingerprint,
            work: verification::WorkImage::Decoded(&inspected.work),
        },
        village,
        false,
        |other| {
            // Checked one at a time, in the order sent: every candidate is earlier.
            Ok(match verification::stored_fingerprint(photos, other) {
                Some(print) => verification::Candidate::Earlier(other.to_string(), print),
                None => verification::Candidate::<String, ()>::Skipped,
            })
        },
    )
    .map_err(describe)?;
    Ok(Checked {
        sha,
        found: search.found,
        found_by: search.found_by,
        candidates: search.candidates,
        fingerprint: inspected.fingerprint,
        work: inspected.work,
    })
}

/// What [`check`] found, and what it looked at.
struct Checked {
    sha: String,
    found: Option<(String, ReuseKind)>,
    /// Which look found it.
    found_by: Option<verification::Look>,
    /// The index's candidates, with the keys each shares.
    candidates: Vec<(String, usize)>,
    fingerprint: Fingerprint,
    /// Its grey work image (drawn larger and smaller by the search's later looks).
    work: image::GrayImage,
}

/// A throwaway photo store for a run (fingerprints only), removed when dropped.
struct ScratchStore {
    root: std::path::PathBuf,
    photos: PhotoStore,
    /// The index's common keys as the checks of this run read them.
    common: store::CommonKeys,
}

impl ScratchStore {
    fn new(name: &str) -> Result<ScratchStore, String> {
        let root = std::env::temp_dir().join(format!(
            "camket-{name}-{}-{}",
            std::process::id(),
            crate::auth::tokens::random_hex(4)
        ));
        std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
        let photos = PhotoStore::open(&root).map_err(|e| e.to_string())?;
        Ok(ScratchStore {
            root,
            photos,
            common: Default::default(),
        })
    }
}

impl Drop for ScratchStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The village the precision set's photos are sent from: one working group
/// photographing its papers.
const ONE_WORKING_GROUP: i64 = 1;

/// Where `reuse-scale` sends its photos from.
#[derive(Debug, Clone, Copy)]
pub struct Villages {
    /// Earlier papers per village, in the order drawn (so that the first
    /// villages hold the papers of one table); 0: sent from no village.
    pub papers_each: usize,
    /// Each reuse is sent from the next village, not its original's.
    pub reused_elsewhere: bool,
}

impl Villages {
    /// How many villages `earlier` papers are sent from.
    fn count(&self, earlier: usize) -> usize {
        match self.papers_each {
            0 => 0,
            each => earlier.div_ceil(each).max(1),
        }
    }

    /// Refuses a reuse "from another village" with fewer than two.
    fn can_send(&self, earlier: usize) -> Result<(), String> {
        if self.reused_elsewhere && self.count(earlier) < 2 {
            return Err(format!(
                "--reused-elsewhere needs two villages or more: {earlier} earlier papers, {} a village",
                self.papers_each
            ));
        }
        Ok(())
    }

    /// The village paper `n` is sent from, of `earlier` (new papers wrap
    /// round the villages).
    fn of(&self, n: usize, earlier: usize) -> Option<i64> {
        let villages = self.count(earlier);
        (villages > 0).then(|| ((n / self.papers_each) % villages) as i64 + 1)
    }

    /// The village a reuse of paper `n` is sent from.
    fn of_reuse(&self, n: usize, earlier: usize) -> Option<i64> {
        let own = self.of(n, earlier)?;
        Some(if self.reused_elsewhere {
            own % self.count(earlier) as i64 + 1
        } else {
            own
        })
    }
}

/// Checks every photo of the set in order against the database `db` (empty,
/// migrated: the run adds photo rows and keys), as the server does. Returns
/// the confusion table, recall, false flags and timings.
pub fn run(db: &Db, set: &[SetPhoto], offset: FixedOffset) -> Result<Value, String> {
    let scratch = ScratchStore::new("precision")?;
    let mut index_of: HashMap<String, usize> = HashMap::new();
    let mut shas = Vec::new();
    let mut verdicts = Vec::new();
    let mut check_ms = Vec::new();
    let mut misses = serde_json::Map::new();
    for (index, item) in set.iter().enumerate() {
        let started = Instant::now();
        let checked = check(db, &scratch, &item.jpeg, Some(ONE_WORKING_GROUP), offset)
            .map_err(|e| format!("photo {index}: {e}"))?;
        check_ms.push(started.elapsed());
        let verdict = match checked
            .found
            .as_ref()
            .and_then(|(sha, kind)| Some((*index_of.get(sha)?, *kind)))
        {
            Some((of, kind)) => Verdict::Flagged { kind, of },
            None => Verdict::NotFlagged,
        };
        // Why a reuse was missed: was its original among the candidates, and
        // what does comparing the two say?
        if let (Truth::Copy { of, .. } | Truth::SamePaper { of, .. }, Verdict::NotFlagged) =
            (&item.truth, &verdict)
        {
            let original: Option<&String> = shas.get(*of);
            let rank =
                original.and_then(|sha| checked.candidates.iter().position(|(c, _)| c == sha));
            let compared =
                original.and_then(|sha| compared_with(&scratch.photos, sha, &checked.fingerprint));
            misses.insert(
                format!("photo {index}"),
                json!({
                    "candidate_rank": rank,
                    "candidates": checked
                        .candidates
                        .iter()
                        .map(|(sha, shared)| {
                            let paper = index_of.get(sha).map(|i| set[*i].paper);
                            format!("paper {paper:?} shares {shared}")
                        })
                        .collect::<Vec<_>>(),
                    "compared": compared,
                }),
            );
        }
        verdicts.push(verdict);
        index_of.insert(checked.sha.clone(), index);
        shas.push(checked.sha);
    }
    let mut report = tally(set, &verdicts, check_ms);
    report["why_missed"] = Value::Object(misses);
    Ok(report)
}

/// How a check's cost depends on the number of earlier papers: indexes
/// `earlier` distinct papers of the template (half on one table), sent from
/// `villages`, then times `checks` checks, alternately a copy of an earlier
/// paper and a new paper, and checks new photos of a quarter as many earlier
/// papers.
pub fn scale(
    db: &Db,
    earlier: usize,
    checks: usize,
    villages: Villages,
    offset: FixedOffset,
) -> Result<Value, String> {
    villages.can_send(earlier)?;
    let scratch = ScratchStore::new("reuse-scale")?;
    let size = SetSize {
        papers: earlier.max(2),
        reused: 1,
    };
    let started = Instant::now();
    let mut earlier_shas = Vec::with_capacity(earlier);
    // Earlier papers flagged as repeating one before them: false flags, and
    // a paper flagged so is not indexed, so its own copies are missed later.
    let mut earlier_flagged = Vec::new();
    // The earlier papers are drawn on a second thread while this one checks
    // them in order (drawing one costs as much as checking it).
    std::thread::scope(|scope| {
        let (drawn, to_check) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        scope.spawn(move || {
            for n in 0..earlier {
                let jpeg = synthetic::jpeg(&first_photo(n, size).render(), 90);
                if drawn.send(jpeg).is_err() {
                    return;
                }
            }
        });
        for jpeg in to_check {
            let village = villages.of(earlier_shas.len(), earlier);
            let checked = check(db, &scratch, &jpeg, village, offset)?;
            if let Some((other, kind)) = &checked.found {
                earlier_flagged.push(json!({
                    "paper": earlier_shas.len(),
                    "as_repeating_paper": earlier_shas.iter().position(|sha| sha == other),
                    "kind": format!("{kind:?}"),
                }));
            }
            earlier_shas.push(checked.sha);
        }
        Ok::<(), String>(())
    })?;
    let indexing_seconds = started.elapsed().as_secs_f64();
    let (mut check_ms, mut flagged_copies, mut flagged_new) = (Vec::new(), 0, 0);
    // A copy is found at the first look, a new paper is compared with every
    // candidate and indexed: their costs differ by far.
    let (mut copy_ms, mut new_paper_ms) = (Vec::new(), Vec::new());
    let (mut found_at_first_look, mut flagged_as_another) = (0, 0);
    let mut copies_found_by: BTreeMap<String, usize> = BTreeMap::new();
    let mut missed = Vec::new();
    for k in 0..checks {
        let original_paper = (k * 7919) % earlier.max(1);
        let how = COPIES[k / 2 % COPIES.len()];
        let (jpeg, village) = if k % 2 == 0 {
            (
                copy(&first_photo(original_paper, size).render(), how),
                villages.of_reuse(original_paper, earlier),
            )
        } else {
            (
                synthetic::jpeg(&first_photo(earlier + k, size).render(), 90),
                villages.of(earlier + k, earlier),
            )
        };
        let started = Instant::now();
        let checked = check(db, &scratch, &jpeg, village, offset)?;
        let took = started.elapsed();
        check_ms.push(took);
        if k % 2 == 0 {
            copy_ms.push(took);
        } else {
            new_paper_ms.push(took);
        }
        let original = earlier_shas.get(original_paper);
        match (k % 2 == 0, &checked.found) {
            (true, Some((sha, _))) if Some(sha) == original => {
                flagged_copies += 1;
                if let Some(look) = checked.found_by {
                    *copies_found_by.entry(look.to_string()).or_default() += 1;
                }
                // Compared with nobody but its original.
                if checked.found_by == Some(verification::Look::First) {
                    found_at_first_look += 1;
                }
            }
            (true, Some(_)) => flagged_as_another += 1,
            (false, Some(_)) => flagged_new += 1,
            (true, None) => missed.push(why_missed(db, &scratch, &checked, village, original, how)),
            (false, None) => {}
        }
    }
    // The same papers photographed again (as in the precision set), a quarter
    // as many as the checks, after them so that the figures above stay
    // comparable with earlier runs; then as many from farther away, after
    // those for the same reason; then, of other papers (a missed new photo
    // stays in the index and holds its paper's keys too), as many with the
    // paper a little smaller and a little larger than in the first photo.
    let reshots = checks.div_ceil(4);
    let mut reshot_figures = serde_json::Map::new();
    for set in RESHOT_SETS {
        let prefix = set.prefix;
        let farther = set.scale == FARTHER_SCALE;
        let (mut reshot_ms, mut reshots_flagged, mut reshots_named) = (Vec::new(), 0, 0);
        let (mut reshots_missed, mut reshots_as_another) = (Vec::new(), 0);
        // Where the look drawn 1.4 times larger takes the original of each
        // found from farther (none when it is not among that look's
        // candidates: a drawing before it may have found it).
        let mut found_at = Vec::new();
        // How many each look found.
        let mut found_by: BTreeMap<String, usize> = BTreeMap::new();
        for k in 0..reshots {
            let original_paper = (k * 104_729 + set.first_paper) % earlier.max(1);
            let first = first_photo(original_paper, size);
            let again = if set.scale == 1.0 {
                photographed_again(first)
            } else {
                photographed_again_at(first, set.scale)
            };
            let jpeg = synthetic::jpeg(&again.render(), 90);
            let village = villages.of_reuse(original_paper, earlier);
            let started = Instant::now();
            let checked = check(db, &scratch, &jpeg, village, offset)?;
            reshot_ms.push(started.elapsed());
            let original = earlier_shas.get(original_paper);
            match &checked.found {
                Some((sha, kind)) if Some(sha) == original => {
                    reshots_flagged += 1;
                    if let Some(look) = checked.found_by {
                        *found_by.entry(look.to_string()).or_default() += 1;
                    }
                    if matches!(kind, ReuseKind::SamePaper { .. }) {
                        reshots_named += 1;
                    }
                    if farther {
                        found_at.push(from_farther_position(db, &scratch, &checked, village, sha));
                    }
                }
                Some(_) => reshots_as_another += 1,
                None => reshots_missed.push(why_missed(
                    db, &scratch, &checked, village, original, set.how,
                )),
            }
        }
        let mut figure = |name: &str, value: Value| {
            reshot_figures.insert(format!("{prefix}{name}"), value);
        };
        figure("", json!(reshots));
        figure("_flagged", json!(reshots_flagged));
        figure("_named_as_new_photos", json!(reshots_named));
        figure("_flagged_as_another_paper", json!(reshots_as_another));
        figure("_missed", json!(reshots_missed));
        figure("_found_by", json!(found_by));
        if farther {
            figure("_found_at", json!(found_at));
        }
        reshot_figures.insert(format!("check_ms_{prefix}"), milliseconds(reshot_ms));
    }
    let (postings, common_keys) = store::photo_index_size(db).map_err(|e| e.to_string())?;
    let mut report = json!({
        "earlier_papers": earlier,
        "village_papers": villages.papers_each,
        "villages": villages.count(earlier),
        "reused_elsewhere": villages.reused_elsewhere,
        "earlier_papers_flagged": earlier_flagged,
        "index_postings": postings,
        "common_keys": common_keys,
        "indexing_seconds": indexing_seconds,
        "checks": checks,
        "copies_flagged": flagged_copies,
        "copies_found_at_first_look": found_at_first_look,
        "copies_found_by": copies_found_by,
        "copies_flagged_as_another_paper": flagged_as_another,
        "copies": checks.div_ceil(2),
        "new_papers_flagged": flagged_new,
        "check_ms": milliseconds(check_ms),
        "check_ms_copies": milliseconds(copy_ms),
        "check_ms_new_papers": milliseconds(new_paper_ms),
        "copies_missed": missed,
    });
    if let Value::Object(figures) = &mut report {
        figures.extend(reshot_figures);
    }
    Ok(report)
}

/// Why a reuse (a copy, or a new photo of the paper) was not flagged: where
/// its original ranks among every photo sharing keys with it, in the whole
/// index and in the village it was sent from, and where the last candidate
/// the search took from each ranks (`CANDIDATES_COMPARED` in all, from both
/// in turn), how many keys they share and how many of those the original
/// alone holds, the weights and votes that ranked it, and what comparing the
/// two says; its place in the list the second look goes through (those by
/// weight, then by votes), if it is there (the search passes over the one
/// the first look compared); then the same for each of the search's looks
/// with drawings, the photo drawn larger or smaller, whose candidates go by
/// votes (the search compares a drawing's likeliest with the photo as it is
/// too: the first `compared` says what that gives).
fn why_missed(
    db: &Db,
    scratch: &ScratchStore,
    checked: &Checked,
    village: Option<i64>,
    original: Option<&String>,
    how: &str,
) -> Value {
    let mut why = rankings(
        db,
        scratch,
        checked,
        (&checked.fingerprint, Order::ByWeight),
        village,
        original,
    );
    why["copy"] = json!(how);
    let second_look = store::ranked_sharers(
        db,
        &scratch.common,
        &checked.sha,
        &checked.fingerprint.keypoints.placed_keys(),
        village,
    )
    .map(|sharers| {
        sharers.candidates_then_voted(
            similarity::MIN_SHARED_KEYS,
            similarity::CANDIDATES_COMPARED,
            similarity::VOTED_AFTER_WEIGHT,
        )
    })
    .unwrap_or_default();
    why["second_look_position"] = json!(original.and_then(|sha| second_look
        .iter()
        .position(|(candidate, _)| candidate == sha)
        .map(|at| at + 1)));
    why["drawings"] = keypoints::DRAWINGS
        .iter()
        .map(|drawing| {
            let drawn = Fingerprint::of(&keypoints::drawn(&checked.work, *drawing));
            let mut ranked = rankings(
                db,
                scratch,
                checked,
                (&drawn, Order::ByVotes),
                village,
                original,
            );
            ranked["times"] = json!(format!("{}/{}", drawing.times.0, drawing.times.1));
            ranked
        })
        .collect();
    why
}

/// Where `original` ranks among the photos sharing keys with `print` (the
/// checked photo's fingerprint, or its drawing's) in `order`, and what
/// comparing the two says.
fn rankings(
    db: &Db,
    scratch: &ScratchStore,
    checked: &Checked,
    (print, order): (&Fingerprint, Order),
    village: Option<i64>,
    original: Option<&String>,
) -> Value {
    let keys = print.keypoints.placed_keys();
    let sharers = store::ranked_sharers(db, &scratch.common, &checked.sha, &keys, village)
        .unwrap_or_default()
        .ordered(order);
    // The candidates the search takes, each from one of the two rankings.
    let taken = sharers.taken(similarity::MIN_SHARED_KEYS, similarity::CANDIDATES_COMPARED);
    let where_ranked = |ranking: &[Sharer], from: Ranking| {
        let rank = original.and_then(|sha| ranking.iter().position(|other| other.sha == *sha));
        let theirs = rank.and_then(|rank| ranking.get(rank));
        let last_taken = ranking.iter().rposition(|other| {
            taken
                .iter()
                .any(|(sharer, source)| *source == from && sharer.sha == other.sha)
        });
        json!({
            "original_rank": rank.map(|rank| rank + 1),
            "shared_keys": theirs.map(|original| original.shared),
            // Keys the original alone holds: its handwriting's, when they survive.
            "shared_keys_held_by_the_original_alone": theirs.map(|original| original.held_by_it_alone),
            "original_weight": theirs.map(|original| original.weight),
            "original_votes": theirs.map(|original| original.votes()),
            "last_taken_rank": last_taken.map(|rank| rank + 1),
            "last_taken_weight": last_taken.map(|rank| ranking[rank].weight),
            "last_taken_votes": last_taken.map(|rank| ranking[rank].votes()),
            "photos_sharing_keys": ranking.len(),
        })
    };
    json!({
        "everywhere": where_ranked(&sharers.everywhere, Ranking::Everywhere),
        "in_the_village": where_ranked(&sharers.in_the_village, Ranking::InTheVillage),
        "compared": original.and_then(|sha| compared_with(&scratch.photos, sha, print)),
    })
}

/// Where the search's look with the photo drawn 1.4 times larger (its
/// candidates by votes) takes `original` among its candidates, from 1: where
/// that look found it, if it did (a drawing before it may have found it).
fn from_farther_position(
    db: &Db,
    scratch: &ScratchStore,
    checked: &Checked,
    village: Option<i64>,
    original: &str,
) -> Option<usize> {
    let drawn = Fingerprint::of(&keypoints::drawn(&checked.work, keypoints::FROM_FARTHER));
    let keys = drawn.keypoints.placed_keys();
    let sharers = store::ranked_sharers(db, &scratch.common, &checked.sha, &keys, village)
        .ok()?
        .ordered(Order::ByVotes);
    let taken = sharers.taken(similarity::MIN_SHARED_KEYS, similarity::CANDIDATES_COMPARED);
    taken
        .iter()
        .position(|(sharer, _)| sharer.sha == original)
        .map(|at| at + 1)
}

/// What comparing `print` with the stored photo `original` says.
fn compared_with(photos: &PhotoStore, original: &str, print: &Fingerprint) -> Option<String> {
    let theirs = verification::stored_fingerprint(photos, original)?;
    Some(format!("{:?}", similarity::compare(print, &theirs)))
}

/// The p50, p99 and longest of `samples`, in milliseconds (see [`stats`]).
fn milliseconds(samples: Vec<Duration>) -> Value {
    let stats = stats(samples);
    json!({"p50": stats.p50_ms, "p99": stats.p99_ms, "max": stats.max_ms})
}

fn tally(set: &[SetPhoto], verdicts: &[Verdict], check_ms: Vec<Duration>) -> Value {
    let mut table: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    let (mut reuses, mut found, mut false_flags, mut copies_called_new_photos) = (0, 0, 0, 0);
    let mut missed = Vec::new();
    for (item, verdict) in set.iter().zip(verdicts) {
        let paper_of = |of: usize| set.get(of).map(|p| p.paper);
        let row = match item.truth {
            Truth::Honest => "honest paper",
            Truth::Copy { .. } => "copy of an earlier photo",
            Truth::SamePaper { farther: false, .. } => "same paper photographed again",
            Truth::SamePaper { farther: true, .. } => "same paper photographed again from farther",
        };
        let column = match verdict {
            Verdict::NotFlagged => "not flagged",
            Verdict::Flagged { of, .. } if paper_of(*of) != Some(item.paper) => {
                "flagged as another paper"
            }
            Verdict::Flagged {
                kind: ReuseKind::SamePaper { .. },
                ..
            } => "flagged: same paper photographed again",
            Verdict::Flagged { .. } => "flagged: copy",
        };
        *table.entry(row).or_default().entry(column).or_default() += 1;
        match (&item.truth, verdict) {
            (Truth::Honest, Verdict::Flagged { .. }) => false_flags += 1,
            (Truth::Honest, Verdict::NotFlagged) => {}
            (truth, Verdict::Flagged { of, kind }) if paper_of(*of) == Some(item.paper) => {
                reuses += 1;
                found += 1;
                if matches!(truth, Truth::Copy { .. })
                    && matches!(kind, ReuseKind::SamePaper { .. })
                {
                    copies_called_new_photos += 1;
                }
            }
            (truth, verdict) => {
                reuses += 1;
                if matches!(verdict, Verdict::Flagged { .. }) {
                    false_flags += 1;
                }
                missed.push(match truth {
                    Truth::Copy { of, how } => format!("paper {of}: {how}"),
                    Truth::SamePaper { of, farther: false } => {
                        format!("paper {of}: photographed again")
                    }
                    Truth::SamePaper { of, farther: true } => {
                        format!("paper {of}: photographed again from farther")
                    }
                    Truth::Honest => String::new(),
                });
            }
        }
    }
    json!({
        "photos": set.len(),
        "reuses": reuses,
        "recall": if reuses == 0 { 1.0 } else { found as f64 / reuses as f64 },
        "false_flags": false_flags,
        "copies_called_new_photos": copies_called_new_photos,
        "missed": missed,
        "confusion": table,
        "check_ms": milliseconds(check_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn papers_fill_villages_in_order_and_a_reuse_elsewhere_goes_to_the_next() {
        let here = Villages {
            papers_each: 600,
            reused_elsewhere: false,
        };
        assert_eq!(here.count(10_000), 17);
        assert_eq!(here.of(0, 10_000), Some(1));
        assert_eq!(here.of(599, 10_000), Some(1));
        assert_eq!(here.of(600, 10_000), Some(2));
        assert_eq!(here.of(9_999, 10_000), Some(17));
        // New papers wrap round.
        assert_eq!(here.of(10_200, 10_000), Some(1));
        assert_eq!(here.of_reuse(600, 10_000), Some(2));
        let elsewhere = Villages {
            reused_elsewhere: true,
            ..here
        };
        assert_eq!(elsewhere.of_reuse(600, 10_000), Some(3));
        assert_eq!(elsewhere.of_reuse(9_999, 10_000), Some(1));
        let nowhere = Villages {
            papers_each: 0,
            reused_elsewhere: false,
        };
        assert_eq!((nowhere.count(100), nowhere.of(5, 100)), (0, None));
        assert_eq!(here.count(100), 1);
    }

    #[test]
    fn a_reuse_elsewhere_needs_two_villages() {
        let one = Villages {
            papers_each: 600,
            reused_elsewhere: true,
        };
        let refused = one.can_send(600);
        assert!(
            refused.as_ref().is_err_and(|e| e.contains("two villages")),
            "{refused:?}"
        );
        assert_eq!(one.can_send(601), Ok(()));
        let none = Villages {
            papers_each: 0,
            reused_elsewhere: true,
        };
        assert!(none.can_send(10_000).is_err());
    }

    /// The keypoints of a photo as the check finds them, strongest first.
    fn keypoints_of(jpeg: &[u8]) -> crate::evidence::keypoints::Keypoints {
        inspected(jpeg).fingerprint.keypoints
    }

    /// The photo as the check decodes it.
    fn inspected(jpeg: &[u8]) -> photo::InspectedPhoto {
        let path = std::env::temp_dir().join(format!(
            "camket-inspected-{}-{}",
            std::process::id(),
            crate::auth::tokens::random_hex(4)
        ));
        std::fs::write(&path, jpeg).expect("writes");
        let inspected = photo::inspect(
            &path,
            PhotoLimits::default(),
            FixedOffset::east_opt(0).expect("UTC"),
        );
        let _ = std::fs::remove_file(&path);
        inspected.expect("decodes")
    }

    #[test]
    fn a_paper_photographed_a_little_farther_or_nearer_keeps_its_keys_once_drawn_at_the_first_size()
    {
        let size = SetSize::default();
        let others: Vec<_> = [10, 11, 30, 31]
            .into_iter()
            .map(|n| {
                keys_of(
                    &keypoints_of(&synthetic::jpeg(&first_photo(n, size).render(), 90)),
                    None,
                )
            })
            .collect();
        // Keys of the print: those that two other papers hold too.
        let print = |key: &i64| others.iter().filter(|keys| keys.contains(key)).count() >= 2;
        let mut wrong = Vec::new();
        for paper in [3, 25] {
            let first: std::collections::HashSet<i64> = keys_of(
                &keypoints_of(&synthetic::jpeg(&first_photo(paper, size).render(), 90)),
                None,
            )
            .into_iter()
            .filter(|key| !print(key))
            .collect();
            for (scale, times) in [(0.9, (11, 10)), (1.1, (10, 11))] {
                let drawing = keypoints::Drawing { times };
                assert!(keypoints::DRAWINGS.contains(&drawing), "{times:?}");
                let again = inspected(&synthetic::jpeg(
                    &photographed_again_at(first_photo(paper, size), scale).render(),
                    90,
                ));
                let as_is = keys_of(&again.fingerprint.keypoints, None);
                let drawn = keys_of(
                    &keypoints::Keypoints::of(&keypoints::drawn(&again.work, drawing)),
                    None,
                );
                let (as_is, drawn) = (
                    first.intersection(&as_is).count(),
                    first.intersection(&drawn).count(),
                );
                eprintln!(
                    "paper {paper} at {scale}: {as_is} handwriting keys kept as is, {drawn} drawn"
                );
                // A fifth more at least (a quarter to a half more on these
                // papers): among a village's hundreds of papers the few kept
                // as is rank the original too low (BENCHMARKS §7).
                if as_is == 0 || drawn * 5 < as_is * 6 {
                    wrong.push(format!("paper {paper} at {scale}: {as_is} → {drawn}"));
                }
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    /// The index keys of `keypoints`, from all of them or only the `strongest`.
    fn keys_of(
        keypoints: &crate::evidence::keypoints::Keypoints,
        strongest: Option<usize>,
    ) -> std::collections::HashSet<i64> {
        let mut keypoints = keypoints.clone();
        if let Some(strongest) = strongest {
            keypoints.points.truncate(strongest);
        }
        keypoints.index_keys().into_iter().collect()
    }

    #[test]
    fn the_fainter_corners_keep_more_of_a_new_photo_s_handwriting_keys() {
        let size = SetSize::default();
        let others: Vec<_> = [10, 11, 30, 31]
            .into_iter()
            .map(|n| keypoints_of(&synthetic::jpeg(&first_photo(n, size).render(), 90)))
            .collect();
        for paper in [3, 25] {
            let first = keypoints_of(&synthetic::jpeg(&first_photo(paper, size).render(), 90));
            let again = keypoints_of(&synthetic::jpeg(
                &photographed_again(first_photo(paper, size)).render(),
                90,
            ));
            // Keys of the print: those that two other papers hold too.
            let handwriting_kept = |strongest: Option<usize>| {
                let other_keys: Vec<_> = others.iter().map(|o| keys_of(o, strongest)).collect();
                let print =
                    |key: &i64| other_keys.iter().filter(|keys| keys.contains(key)).count() >= 2;
                let (first, again) = (keys_of(&first, strongest), keys_of(&again, strongest));
                first.intersection(&again).filter(|key| !print(key)).count()
            };
            let (strongest, all) = (handwriting_kept(Some(500)), handwriting_kept(None));
            eprintln!("paper {paper}: the strongest 500 keep {strongest}, all {all}");
            assert!(all > strongest, "paper {paper}: {strongest} → {all}");
        }
    }
}
