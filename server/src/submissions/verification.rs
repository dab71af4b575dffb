//! The background evidence checks. A submission is stored once its photos pass
//! the cheap checks (`photo::examine`: format, completeness, limits, EXIF); this
//! pool then decodes each new photo (thumbnail, fingerprint),
//! looks for a reused paper sent for another subject (a copy of an earlier
//! photo, or the same signed paper photographed again), and adds what it finds
//! to the submission's flags and risk.
//!
//! The backlog is the set of submissions with `evidence_pending`, so it survives
//! a restart. Each is a job in the database that any instance may take: the
//! instance leases it (`store::claim_evidence_jobs`) for
//! `CAMKET_EVIDENCE_LEASE_SECS`, and a job whose instance died is taken by
//! another when the lease runs out. Every step is idempotent (derivatives are
//! content-addressed, a photo is marked verified once, a submission is settled
//! once: its update applies only while it is still pending), so a crash or an
//! expired lease only repeats work, never doubles its effect. A job whose check
//! fails is put off for half a minute, so that it does not hold the checkers.
//! `photo_decoders` threads check photos, at a lower scheduling priority than
//! the threads answering requests.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use actix_web::web;
use camket_schema::models::PhotoRow;
use image::GrayImage;

use crate::error::ApiError;
use crate::evidence::candidates::Order;
use crate::evidence::keypoints::{self, Drawing, PlacedKey};
use crate::evidence::photo;
use crate::evidence::similarity::{self, Compared, DrawnFingerprint, Fingerprint};
use crate::evidence::{self, Flag, PhotoReuse, ReuseKind};
use crate::photo_store::Variant;
use crate::state::AppState;

use super::store;

/// How long a submission whose check failed waits before it is tried again
/// (a photo-store outage; the other jobs go on meanwhile).
const RETRY_AFTER_SECS: i64 = 30;

/// One submission to check, and where to say it is done.
type Job = (i64, tokio::sync::oneshot::Sender<Result<(), ApiError>>);

/// Wakes the pool and remembers which submissions this instance is checking.
pub struct Backlog {
    wake: tokio::sync::Notify,
    in_flight: Mutex<HashSet<i64>>,
    /// This instance's name on its leases: host, process and a random part.
    holder: String,
}

impl Backlog {
    /// The backlog of the instance whose data dir is `data_dir`. Its name on
    /// its leases starts with its host and data dir, which no other live
    /// instance shares (the data dir holds its staged uploads), then a part
    /// that is new at every start.
    pub fn for_instance(data_dir: &std::path::Path) -> Backlog {
        Backlog {
            wake: Default::default(),
            in_flight: Default::default(),
            holder: format!(
                "{}{}",
                Backlog::instance_prefix(data_dir),
                crate::auth::tokens::random_hex(4)
            ),
        }
    }

    /// What every run of one instance names its leases with: a random id kept
    /// in its data dir (`instance-id`, made at the first start), which no
    /// other live instance shares (the data dir holds its staged uploads).
    pub fn instance_prefix(data_dir: &std::path::Path) -> String {
        let file = data_dir.join("instance-id");
        let kept = std::fs::read_to_string(&file)
            .ok()
            .map(|id| id.trim().to_string())
            .filter(|id| id.len() == 16);
        let id = kept.unwrap_or_else(|| {
            let id = crate::auth::tokens::random_hex(8);
            if let Err(error) = std::fs::write(&file, &id) {
                tracing::warn!(%error, "cannot keep this instance's id in the data dir");
            }
            id
        });
        format!("{id}:")
    }
}

/// How much lower than the request threads the checking threads run (`nice`):
/// a phone waiting for its answer goes first; the backlog uses what is left.
const CHECKER_NICENESS: i32 = 10;

/// Lowers the calling thread's scheduling priority (Linux: per thread).
fn lower_this_threads_priority() {
    // SAFETY: setpriority only reads its integer arguments; `who = 0` is the
    // calling thread on Linux. Failure leaves the priority unchanged.
    let result = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, CHECKER_NICENESS) };
    if result != 0 {
        tracing::debug!("cannot lower the photo checkers' priority");
    }
}

/// Starts the checking threads (as many as `photo_decoders`), each at a lower
/// priority than the request threads, fed by one queue.
fn start_checkers(state: &web::Data<AppState>) -> std::sync::mpsc::Sender<Job> {
    let (sender, receiver) = std::sync::mpsc::channel::<Job>();
    let receiver = std::sync::Arc::new(Mutex::new(receiver));
    for n in 0..state.config.evidence.photo_decoders.max(1) {
        let (state, receiver) = (state.clone(), receiver.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("photo-check-{n}"))
            .spawn(move || {
                lower_this_threads_priority();
                loop {
                    let job = match receiver.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    let Ok((id, done)) = job else { return };
                    let _ = done.send(settle(&state, id));
                }
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start a photo checking thread");
        }
    }
    sender
}

impl Backlog {
    /// A new submission waits: wake the pool.
    pub fn nudge(&self) {
        self.wake.notify_one();
    }

    fn claim(&self, ids: Vec<i64>) -> Vec<i64> {
        let Ok(mut in_flight) = self.in_flight.lock() else {
            return Vec::new();
        };
        ids.into_iter().filter(|id| in_flight.insert(*id)).collect()
    }

    fn release(&self, id: i64) {
        if let Ok(mut in_flight) = self.in_flight.lock() {
            in_flight.remove(&id);
        }
        self.wake.notify_one();
    }
}

/// Runs the pool until the server stops. Spawned once, at start. It claims
/// only as many jobs as it has idle checkers, so that the other instances
/// take the rest.
pub async fn run(state: web::Data<AppState>) {
    let checkers = start_checkers(&state);
    let lease = Duration::from_secs(state.config.evidence.evidence_lease_secs.max(1));
    loop {
        let idle = state.decoders.available_permits();
        let claimed = if idle == 0 {
            Vec::new()
        } else {
            let (db, holder) = (state.db.clone(), state.backlog.holder.clone());
            let until = chrono::Duration::from_std(lease)
                .ok()
                .and_then(|lease| chrono::Utc::now().checked_add_signed(lease))
                .unwrap_or_else(|| chrono::Utc::now() + chrono::Duration::minutes(2));
            match web::block(move || store::claim_evidence_jobs(&db, &holder, idle as i64, until))
                .await
            {
                Ok(Ok(ids)) => state.backlog.claim(ids),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "cannot claim from the evidence backlog");
                    Vec::new()
                }
                Err(_) => Vec::new(),
            }
        };
        if claimed.is_empty() {
            // Woken by a new submission or a finished check; else look again
            // soon (another instance's lease may run out).
            let _ =
                tokio::time::timeout(Duration::from_secs(2), state.backlog.wake.notified()).await;
            continue;
        }
        for id in claimed {
            let Ok(permit) = state.decoders.clone().acquire_owned().await else {
                return;
            };
            let state = state.clone();
            let (done, outcome) = tokio::sync::oneshot::channel();
            if checkers.send((id, done)).is_err() {
                return;
            }
            actix_web::rt::spawn(async move {
                let failed = match outcome.await {
                    Ok(Ok(())) => false,
                    Ok(Err(error)) => {
                        tracing::warn!(submission = id, %error, "evidence checks failed; will retry");
                        true
                    }
                    Err(_) => true,
                };
                if failed {
                    let (db, holder) = (state.db.clone(), state.backlog.holder.clone());
                    let retry_at = chrono::Utc::now() + chrono::Duration::seconds(RETRY_AFTER_SECS);
                    let _ = web::block(move || {
                        store::postpone_evidence_job(&db, id, &holder, retry_at)
                    })
                    .await;
                }
                drop(permit);
                state.backlog.release(id);
            });
        }
    }
}

/// How another subject is named in a flag: its household code where it has one.
pub fn describe_subject(other_subject: &str, code: &Option<String>) -> crate::locale::Text {
    match code {
        Some(code) => crate::locale::Text::new(format!("hộ {code}"), format!("household {code}")),
        None => {
            let plain = other_subject.replace(':', " ");
            crate::locale::Text::new(plain.replace("village", "thôn"), plain)
        }
    }
}

/// Runs the background checks of one submission and records what they found.
pub fn settle(state: &AppState, id: i64) -> Result<(), ApiError> {
    let Some((row, attached)) = store::get(&state.db, id)? else {
        return Ok(());
    };
    if !row.evidence_pending {
        return Ok(());
    }
    let existing: Vec<Flag> = serde_json::from_str(&row.flags).unwrap_or_default();
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    for attachment in &attached {
        if !seen.insert(attachment.sha256.clone()) {
            continue;
        }
        let (photo, fingerprint) = verified_photo(state, &attachment.sha256)?;
        if let Some(error) = &photo.verify_error {
            found.push(evidence::unreadable_flag(&attachment.part_name, error));
            continue;
        }
        if evidence::flags_photo_as_repeat(&existing, &attachment.part_name) {
            continue;
        }
        if let Some(reuse) = reused_paper(
            state,
            id,
            row.village_id,
            &photo,
            fingerprint,
            &attachment.part_name,
            &attachment.subject,
        )? {
            found.push(evidence::reuse_flag(&reuse));
        }
    }
    if store::settle_evidence(&state.db, id, &found)? {
        let waited = chrono::Utc::now().naive_utc() - row.received_at;
        state
            .metrics
            .evidence_wait
            .observe(waited.num_milliseconds().max(0) as f64 / 1000.0);
    }
    Ok(())
}

/// What [`reindex_photos`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reindexed {
    /// Photos indexed again.
    pub indexed: usize,
    /// Photos left out: every submission that sent them was flagged for them
    /// as repeating an earlier paper (so their check did not index them).
    pub repeats: usize,
    /// Photos whose fingerprint the photo store could not give.
    pub unreadable: usize,
}

/// Builds the keypoint index again from the stored fingerprints, as the
/// checks would have built it: every decoded photo in the order it was
/// checked, but for one that each of its submissions was flagged for as a
/// repeat (see `search_reused_paper`). For an upgrade that changes how keys are cut
/// from descriptors (`keypoints::KEY_TABLES`, `KEY_BITS`): the earlier keys
/// would never match the new ones. It may run while the server serves: a
/// photo checked meanwhile is indexed by its own check (indexing is
/// idempotent); only a copy whose check is between its decoding and its
/// verdict at that moment may be indexed too, which costs nothing but a few
/// postings.
pub fn reindex_photos(
    db: &camket_schema::Db,
    photos: &crate::photo_store::PhotoStore,
) -> Result<Reindexed, camket_schema::DbError> {
    store::clear_photo_index(db)?;
    let common = store::CommonKeys::default();
    let mut done = Reindexed::default();
    for chunk in store::checked_photos(db)?.chunks(500) {
        let kept_by_a_use = store::photos_kept_by_a_use(db, chunk)?;
        for sha in chunk {
            let Some(village) = kept_by_a_use.get(sha) else {
                done.repeats += 1;
                continue;
            };
            let Some(print) = stored_fingerprint(photos, sha) else {
                done.unreadable += 1;
                continue;
            };
            store::index_photo_keys(
                db,
                &common,
                sha,
                &print.keypoints.placed_keys(),
                Some(*village),
            )?;
            done.indexed += 1;
        }
    }
    Ok(done)
}

/// The photo's row once decoded, and its fingerprint and work image when
/// decoded now (else the fingerprint is read from the store when needed).
fn verified_photo(
    state: &AppState,
    sha: &str,
) -> Result<(PhotoRow, Option<(Fingerprint, GrayImage)>), ApiError> {
    let photo = store::photo(&state.db, sha)?
        .ok_or_else(|| ApiError::Internal(format!("photo {sha} has no row")))?;
    if photo.verified_at.is_some() {
        return Ok((photo, None));
    }
    let config = &state.config.evidence;
    let original = state.photos.local_original(sha).map_err(|e| {
        state.metrics.photo_store_errors.inc();
        ApiError::Internal(format!("photo store: cannot read photo {sha}: {e}"))
    })?;
    let outcome = match photo::inspect(
        original.path(),
        config.photo_limits(),
        config.local_offset(),
    ) {
        Ok(inspected) => {
            let io = |e: std::io::Error| {
                state.metrics.photo_store_errors.inc();
                ApiError::Internal(format!("photo store: {e}"))
            };
            state
                .photos
                .put(sha, Variant::Thumbnail, &inspected.thumbnail)
                .map_err(io)?;
            state
                .photos
                .put(sha, Variant::Signature, &inspected.fingerprint.to_bytes())
                .map_err(io)?;
            Ok((
                store::Decoded {
                    width: inspected.width,
                    height: inspected.height,
                },
                (inspected.fingerprint, inspected.work),
            ))
        }
        Err(error) => Err(error.to_string()),
    };
    let (decoded, fingerprint) = match outcome {
        Ok((decoded, fingerprint)) => (Ok(decoded), Some(fingerprint)),
        Err(error) => (Err(error), None),
    };
    store::mark_verified(&state.db, sha, &decoded)?;
    state.metrics.photos_checked.inc();
    let photo = store::photo(&state.db, sha)?
        .ok_or_else(|| ApiError::Internal(format!("photo {sha} has no row")))?;
    Ok((photo, fingerprint))
}

/// Photo `sha`'s work image decoded again from its original (see
/// [`photo::work_image_of`]), for a check run again after a stop; `None`,
/// logged, when the store cannot give it or it no longer decodes.
fn work_image_again(state: &AppState, sha: &str) -> Option<GrayImage> {
    let config = &state.config.evidence;
    let original = match state.photos.local_original(sha) {
        Ok(original) => original,
        Err(error) => {
            state.metrics.photo_store_errors.inc();
            tracing::warn!(%error, sha, "photo store: cannot read the photo to draw it larger and smaller");
            return None;
        }
    };
    let work = photo::work_image_of(
        original.path(),
        config.photo_limits(),
        config.local_offset(),
    )
    .map_err(|error| tracing::warn!(%error, sha, "cannot decode the photo again to draw it larger and smaller"))
    .ok()?;
    state.metrics.photos_decoded_again.inc();
    Some(work)
}

/// Photo `sha`'s fingerprint as its check kept it in `photos`; `None` when
/// the store cannot give it or it is of an older format.
pub fn stored_fingerprint(
    photos: &crate::photo_store::PhotoStore,
    sha: &str,
) -> Option<Fingerprint> {
    photos
        .read(sha, Variant::Signature)
        .ok()
        .and_then(|bytes| Fingerprint::from_bytes(&bytes))
}

/// An earlier photo of the same signed paper sent for another subject (by a
/// submission received before submission `id`, sent from `village`), found
/// by [`search_reused_paper`]. A *later* photo of the paper that the search
/// finds (its check ran before or beside this one and could not see this
/// photo) is flagged on its own submissions here.
fn reused_paper(
    state: &AppState,
    id: i64,
    village: i64,
    photo: &PhotoRow,
    decoded_now: Option<(Fingerprint, GrayImage)>,
    part_name: &str,
    subject: &str,
) -> Result<Option<PhotoReuse>, ApiError> {
    // Decoded by an earlier check of this photo: that one may have indexed it.
    let indexed_before = decoded_now.is_none();
    let (fingerprint, work) = match decoded_now {
        Some((fingerprint, work)) => (Some(fingerprint), Some(work)),
        None => (None, None),
    };
    let Some(mine) = fingerprint.or_else(|| stored_fingerprint(&state.photos, &photo.sha256))
    else {
        return Ok(None);
    };
    let decode_again = || work_image_again(state, &photo.sha256);
    let work = match &work {
        Some(work) => WorkImage::Decoded(work),
        None => WorkImage::DecodeAgain(&decode_again),
    };
    let search = search_reused_paper(
        &state.db,
        &state.common_keys,
        SearchedPhoto {
            sha: &photo.sha256,
            fingerprint: &mine,
            work,
        },
        Some(village),
        indexed_before,
        |candidate| {
            // Of two photos of one paper, the later one is flagged, whichever
            // was checked first.
            let theirs = || stored_fingerprint(&state.photos, candidate);
            if let Some(use_elsewhere) =
                store::first_use_elsewhere(&state.db, candidate, subject, id)?
            {
                return Ok(theirs().map_or(Candidate::Skipped, |print| {
                    Candidate::Earlier(use_elsewhere, print)
                }));
            }
            let later = store::later_uses_elsewhere(&state.db, candidate, subject, id)?;
            if later.is_empty() {
                return Ok(Candidate::Skipped);
            }
            Ok(theirs().map_or(Candidate::Skipped, |print| Candidate::Later(later, print)))
        },
    )?;
    // Flagged first, taken out of the index after: a check that stops in
    // between finds the later photo again when it is run again.
    for later in &search.later_repeats {
        flag_later_repeats(state, &photo.sha256, &later.sent, later.kind)?;
        if !store::photos_kept_by_a_use(&state.db, std::slice::from_ref(&later.sha))?
            .contains_key(&later.sha)
        {
            store::unindex_photo_keys(&state.db, &later.sha, &later.keys)?;
        }
    }
    Ok(search
        .found
        .map(|((_, other, other_subject, code), kind)| PhotoReuse {
            part_name: part_name.to_string(),
            other_submission: other,
            other_subject: describe_subject(&other_subject, &code),
            kind,
        }))
}

/// Flags each later use (`uses`) of a photo that repeats the paper in photo
/// `sha`, naming the first use of `sha` before it for another subject (what
/// the later photo's own check would have named), unless it is flagged as a
/// repeat already.
fn flag_later_repeats(
    state: &AppState,
    sha: &str,
    uses: &[store::LaterUse],
    kind: ReuseKind,
) -> Result<(), ApiError> {
    for (later_id, later_part, later_subject) in uses {
        let Some((_, other, other_subject, code)) =
            store::first_use_elsewhere(&state.db, sha, later_subject, *later_id)?
        else {
            continue;
        };
        let flag = evidence::reuse_flag(&PhotoReuse {
            part_name: later_part.clone(),
            other_submission: other,
            other_subject: describe_subject(&other_subject, &code),
            kind,
        });
        if store::flag_repeat(&state.db, *later_id, &flag)? {
            state.metrics.late_repeat_flags.inc();
            tracing::info!(
                submission = later_id,
                earlier = other,
                "a photo checked before the earlier photo of its paper is flagged as its repeat"
            );
        }
    }
    Ok(())
}

/// A candidate of the index as the caller of [`search_reused_paper`] sees it.
pub enum Candidate<T, L> {
    /// Sent earlier for another subject: if it shows the same paper, the
    /// photo searched for repeats it (`T` names it in the flag).
    Earlier(T, Fingerprint),
    /// Sent for another subject only later (for this subject it may have been
    /// sent before), yet in the index already: its check ran before or beside
    /// this one and could not see this photo. If it shows the same paper, it
    /// is the repeat (`L` says where it was sent).
    Later(L, Fingerprint),
    /// Neither (this subject's own photo, or one whose fingerprint is gone):
    /// not compared.
    Skipped,
}

/// What [`search_reused_paper`] found, and what it looked at.
pub struct ReuseSearch<T, L> {
    /// The earlier photo of the same paper (as `sides` named it), and how
    /// it was reused.
    pub found: Option<(T, ReuseKind)>,
    /// Which look found it (set with `found`).
    pub found_by: Option<Look>,
    /// Later photos of the same paper found in the index: each repeats this
    /// one. The search leaves them in the index (see [`LaterRepeat`]).
    pub later_repeats: Vec<LaterRepeat<L>>,
    /// The index's candidates in the order they were considered, with the
    /// keys each shares with the fingerprint it was considered for (one
    /// considered by the first two looks and by the looks with drawings is
    /// named once for the photo as is and once for each drawing; one of a
    /// drawing's likeliest compared with the photo as is after it is named
    /// again then, with the keys it shares with the drawing).
    pub candidates: Vec<(String, usize)>,
}

/// Which look of [`search_reused_paper`] compared a candidate, and with what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    /// The first: the likeliest candidate by the photo's strongest keys.
    First,
    /// The second: the candidates by weight, then by votes.
    Second,
    /// A drawing's: its candidates by votes, compared with it.
    Drawn(Drawing),
    /// A drawing's likeliest candidates not compared with the photo as it
    /// is yet, compared with it (see [`similarity::AS_IS_AFTER_A_DRAWING`]).
    AsIsAfter(Drawing),
}

impl std::fmt::Display for Look {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Look::First => write!(f, "first look"),
            Look::Second => write!(f, "second look"),
            Look::Drawn(Drawing { times: (a, b) }) => write!(f, "drawn {a}/{b}"),
            Look::AsIsAfter(Drawing { times: (a, b) }) => write!(f, "as is after drawn {a}/{b}"),
        }
    }
}

/// A later photo of the same paper, found by [`search_reused_paper`]. It is
/// still in the index: the caller flags where it was sent, then takes it out
/// ([`store::unindex_photo_keys`] with `keys`), in that order, so that a
/// check stopped in between finds it again.
pub struct LaterRepeat<L> {
    /// Its sha-256.
    pub sha: String,
    /// Where it was sent, as `sides` said.
    pub sent: L,
    /// How it repeats the photo searched for.
    pub kind: ReuseKind,
    /// Its keys in the index.
    pub keys: Vec<i64>,
}

/// The photo [`search_reused_paper`] looks for an earlier photo of.
#[derive(Clone, Copy)]
pub struct SearchedPhoto<'a> {
    /// Its sha-256.
    pub sha: &'a str,
    /// Its fingerprint (as decoded now, or as kept).
    pub fingerprint: &'a Fingerprint,
    /// Its grey work image, for the looks with drawings.
    pub work: WorkImage<'a>,
}

/// Where [`search_reused_paper`] takes the grey work image of the photo it
/// searches for when it draws it larger or smaller (see
/// [`keypoints::DRAWINGS`]).
#[derive(Clone, Copy)]
pub enum WorkImage<'a> {
    /// Decoded now, by this check.
    Decoded(&'a GrayImage),
    /// Decoded again only if the looks with drawings are reached: a check run again
    /// after a stop has the photo's kept fingerprint, not its work image,
    /// and a copy found by the first look should not cost a decode.
    DecodeAgain(&'a dyn Fn() -> Option<GrayImage>),
}

/// Looks for an earlier photo of the same signed paper as `photo`, sent
/// from `village`. The candidates are the photos
/// sharing the most keypoint keys with it (the handwriting's: the template's
/// keys are common and do not count), likeliest in the whole index and in
/// the village in turn (see [`crate::evidence::candidates`]); `sides` says
/// whether a candidate was sent earlier or later for another subject, or does
/// not count (see [`Candidate`]), and lining the two up and comparing the
/// paper tile by tile decides ([`similarity::same_paper`]), which also tells
/// a copy from a new photo of the paper. The first earlier candidate that
/// shows the same paper is the answer; a later one that does is kept in
/// [`ReuseSearch::later_repeats`] (it repeats this photo), and the search
/// goes on.
///
/// The first look compares only the likeliest candidate that counts, found
/// by the keys of the photo's strongest keypoints alone (those it is lined
/// up on: half the keys of a photo with 1,000 corners, all those of one with
/// 500 or fewer): a copy of a paper already in the index is nearly
/// always that one, and is then found without writing to the index (indexing a copy and taking it out again
/// was a third of a check's time). `indexed_before` says the photo may be in
/// the index already (it was decoded by an earlier check of it that stopped
/// halfway, and is checked again): a repeat found at the first look is then
/// taken out too. Otherwise the photo is indexed at once, so that
/// a check running beside this one (another checker, another instance)
/// finds it, and the index is looked at again with every candidate compared
/// (each once), a photo indexed meanwhile included, and then the few
/// likeliest by votes not compared yet (the shared keys that agree on where
/// the paper moved: a copy turned a little whose original ranks low by
/// weight; see [`crate::evidence::candidates`]). The first look is kept
/// to one comparison so that the photo is indexed early: two photos of one
/// paper sent together are checked side by side, and the later one finds
/// the earlier only if that is indexed before its own last look. If the
/// second look finds an earlier photo of the paper, this one is taken out of
/// the index again: a paper reused many times must not make its own
/// handwriting "common" and hide its next reuse.
///
/// When neither finds one, the next looks draw the photo's grey work image
/// (`work`, decoded again if need be) a little larger, a little smaller and
/// then much larger ([`keypoints::DRAWINGS`]), in turn until one finds it,
/// and compare each drawing with the candidates its keys find, ranked by
/// votes (the shared keys that agree on where the paper moved; see
/// [`crate::evidence::candidates`]): a new photo of a paper taken a little
/// nearer or farther, or from much farther away, whose paper does not share
/// its keys or line up with the first photo's at its own size, does drawn
/// at the first photo's. When a drawing's look finds none, those of its few
/// likeliest candidates not compared with the photo as it is yet are
/// ([`similarity::AS_IS_AFTER_A_DRAWING`]): the drawing's keys may find an
/// original that only the photo as is lines up with. A drawing's detail
/// image is worked out only for a candidate it lines up with
/// ([`DrawnFingerprint`]). Only the photo's own keys are indexed;
/// [`ReuseSearch::found_by`] says which look found the earlier photo.
pub fn search_reused_paper<T, L>(
    db: &camket_schema::Db,
    common: &store::CommonKeys,
    photo: SearchedPhoto<'_>,
    village: Option<i64>,
    indexed_before: bool,
    mut sides: impl FnMut(&str) -> Result<Candidate<T, L>, camket_schema::DbError>,
) -> Result<ReuseSearch<T, L>, camket_schema::DbError>
where
    T: Clone,
    L: Clone,
{
    let SearchedPhoto {
        sha,
        fingerprint: mine,
        work,
    } = photo;
    let mut search = ReuseSearch {
        found: None,
        found_by: None,
        later_repeats: Vec::new(),
        candidates: Vec::new(),
    };
    // A candidate is compared once with each fingerprint of the photo (the
    // photo as is, and each drawing), so `candidates` may name it once for
    // each; `considered` holds those considered with the fingerprint of
    // the look (compared, or skipped as `sides` said). A later repeat
    // already found is not compared again. What
    // `sides` said of a candidate is kept for the next look.
    let mut sided: HashMap<String, Candidate<T, L>> = HashMap::new();
    let sharers = |keys: &[PlacedKey]| store::ranked_sharers(db, common, sha, keys, village);
    let mut look = |search: &mut ReuseSearch<T, L>,
                    (mine, considered): (&dyn Compared, &mut HashSet<String>),
                    candidates: Vec<(String, usize)>,
                    compared_at_most: usize,
                    this_look: Look|
     -> Result<(), camket_schema::DbError> {
        let mut compared_now = 0;
        for (candidate, shared) in candidates {
            let repeat_already = search.later_repeats.iter().any(|r| r.sha == candidate);
            if considered.contains(&candidate) || repeat_already {
                continue;
            }
            if compared_now == compared_at_most {
                break;
            }
            considered.insert(candidate.clone());
            search.candidates.push((candidate.clone(), shared));
            let side = match sided.entry(candidate.clone()) {
                Entry::Occupied(known) => known.into_mut(),
                Entry::Vacant(new) => new.insert(sides(&candidate)?),
            };
            match side {
                Candidate::Skipped => continue,
                Candidate::Earlier(named, theirs) => {
                    compared_now += 1;
                    if let Some(kind) = similarity::same_paper(mine, theirs) {
                        search.found = Some((named.clone(), kind));
                        search.found_by = Some(this_look);
                        break;
                    }
                }
                Candidate::Later(sent, theirs) => {
                    compared_now += 1;
                    if let Some(kind) = similarity::same_paper(mine, theirs) {
                        search.later_repeats.push(LaterRepeat {
                            sha: candidate,
                            sent: sent.clone(),
                            kind,
                            keys: theirs.keypoints.index_keys(),
                        });
                    }
                }
            }
        }
        Ok(())
    };
    let mut considered_as_is = HashSet::new();
    look(
        &mut search,
        (mine, &mut considered_as_is),
        sharers(&mine.keypoints.strongest_keys())?
            .candidates(similarity::MIN_SHARED_KEYS, similarity::CANDIDATES_COMPARED),
        1,
        Look::First,
    )?;
    // All keys are cut only when needed: a copy found at the first look
    // needs them only when it may be in the index already.
    if search.found.is_some() {
        if indexed_before {
            store::unindex_photo_keys(db, sha, &mine.keypoints.index_keys())?;
        }
        return Ok(search);
    }
    let placed = mine.keypoints.placed_keys();
    store::index_photo_keys(db, common, sha, &placed, village)?;
    look(
        &mut search,
        (mine, &mut considered_as_is),
        sharers(&placed)?.candidates_then_voted(
            similarity::MIN_SHARED_KEYS,
            similarity::CANDIDATES_COMPARED,
            similarity::VOTED_AFTER_WEIGHT,
        ),
        similarity::CANDIDATES_COMPARED + similarity::VOTED_AFTER_WEIGHT,
        Look::Second,
    )?;
    // A drawing's keys rank its candidates by votes (see
    // `evidence::candidates`).
    let decoded_again;
    let work = match (&search.found, work) {
        (Some(_), _) => None,
        (None, WorkImage::Decoded(work)) => Some(work),
        (None, WorkImage::DecodeAgain(decode)) => {
            decoded_again = decode();
            decoded_again.as_ref()
        }
    };
    if let Some(work) = work {
        for drawing in keypoints::DRAWINGS {
            if search.found.is_some() {
                break;
            }
            let drawn = DrawnFingerprint::of(keypoints::drawn(work, drawing));
            let candidates = sharers(&drawn.keypoints().placed_keys())?
                .ordered(Order::ByVotes)
                .candidates(similarity::MIN_SHARED_KEYS, similarity::CANDIDATES_COMPARED);
            let likeliest: Vec<(String, usize)> = candidates
                .iter()
                .take(similarity::AS_IS_AFTER_A_DRAWING)
                .cloned()
                .collect();
            look(
                &mut search,
                (&drawn, &mut HashSet::new()),
                candidates,
                similarity::CANDIDATES_COMPARED,
                Look::Drawn(drawing),
            )?;
            if search.found.is_none() {
                look(
                    &mut search,
                    (mine, &mut considered_as_is),
                    likeliest,
                    similarity::AS_IS_AFTER_A_DRAWING,
                    Look::AsIsAfter(drawing),
                )?;
            }
        }
    }
    let keys: Vec<i64> = placed.iter().map(|placed| placed.key).collect();
    if search.found.is_some() {
        store::unindex_photo_keys(db, sha, &keys)?;
    }
    Ok(search)
}
