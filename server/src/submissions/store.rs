//! Submissions in the database: idempotent insert, the facts the evidence checks
//! need, the officer queue, reviews and the audit trail.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use camket_schema::domain::AreaPath;
use camket_schema::models::{
    AreaRow, FormVersionRow, HouseholdRow, NewSubmission, PhotoRow, SubmissionEventRow,
    SubmissionPhotoRow, SubmissionRow,
};
use camket_schema::tables::{
    areas, common_photo_keys, evidence_leases, form_versions, households, photo_intents,
    photo_keys, photos, submission_events, submission_flags, submission_photos, submissions,
    sync_counters, users,
};
use camket_schema::{with_conn, write_tx, Db, DbError};

use super::review::{self, Decision, ReviewRefusal, SubmissionStatus};
use crate::access::Scope;
use crate::coverage::maintain::{Recompute, Touched};
use crate::evidence::candidates::{Place, Posting, Sharers};
use crate::evidence::keypoints::PlacedKey;
use crate::evidence::FlagCode;
use crate::evidence::NeighbourVisit;
use crate::reports::figures::HOUSEHOLD_SURVEY;

/// The submission with this phone-made id, if any.
pub fn find_by_instance(db: &Db, instance_id: &str) -> Result<Option<SubmissionRow>, DbError> {
    with_conn!(db, |conn| {
        Ok(submissions::table
            .filter(submissions::instance_id.eq(instance_id))
            .select(SubmissionRow::as_select())
            .first(conn)
            .optional()?)
    })
}

/// One submission with its photos.
pub fn get(db: &Db, id: i64) -> Result<Option<(SubmissionRow, Vec<SubmissionPhotoRow>)>, DbError> {
    with_conn!(db, |conn| {
        let Some(row) = submissions::table
            .find(id)
            .select(SubmissionRow::as_select())
            .first(conn)
            .optional()?
        else {
            return Ok(None);
        };
        let attached = submission_photos::table
            .filter(submission_photos::submission_id.eq(id))
            .order(submission_photos::id)
            .select(SubmissionPhotoRow::as_select())
            .load(conn)?;
        Ok(Some((row, attached)))
    })
}

/// The village and household a submission is about.
pub fn place(
    db: &Db,
    village_id: i64,
    household_id: Option<i64>,
) -> Result<(Option<AreaRow>, Option<HouseholdRow>), DbError> {
    with_conn!(db, |conn| {
        let village = areas::table
            .find(village_id)
            .select(AreaRow::as_select())
            .first(conn)
            .optional()?;
        let household = match household_id {
            Some(id) => households::table
                .find(id)
                .select(HouseholdRow::as_select())
                .first(conn)
                .optional()?,
            None => None,
        };
        Ok((village, household))
    })
}

/// The same surveyor's geotagged submissions collected just before and just after `at`.
pub fn neighbours(
    db: &Db,
    user_id: i64,
    at: NaiveDateTime,
) -> Result<Vec<NeighbourVisit>, DbError> {
    type Visit = (i64, NaiveDateTime, Option<f64>, Option<f64>);
    let (before, after): (Option<Visit>, Option<Visit>) = with_conn!(db, |conn| {
        let columns = (
            submissions::id,
            submissions::collected_at,
            submissions::geotag_lat,
            submissions::geotag_lon,
        );
        let before = submissions::table
            .filter(submissions::submitted_by.eq(user_id))
            .filter(submissions::collected_at.le(at))
            .filter(submissions::geotag_lat.is_not_null())
            .order((submissions::collected_at.desc(), submissions::id.desc()))
            .select(columns)
            .first(conn)
            .optional()?;
        let after = submissions::table
            .filter(submissions::submitted_by.eq(user_id))
            .filter(submissions::collected_at.gt(at))
            .filter(submissions::geotag_lat.is_not_null())
            .order((submissions::collected_at.asc(), submissions::id.asc()))
            .select(columns)
            .first(conn)
            .optional()?;
        (before, after)
    });
    Ok([before, after]
        .into_iter()
        .flatten()
        .filter_map(|(id, collected, lat, lon)| {
            Some(NeighbourVisit {
                submission_id: id,
                collected_at: collected.and_utc(),
                location: (lat?, lon?),
            })
        })
        .collect())
}

/// An earlier use of a photo: (sha-256, submission id, subject key, household code).
pub type PhotoUse = (String, i64, String, Option<String>);

/// Uses of these photos by submissions about another subject.
pub fn uses_elsewhere(db: &Db, shas: &[String], subject: &str) -> Result<Vec<PhotoUse>, DbError> {
    if shas.is_empty() {
        return Ok(Vec::new());
    }
    with_conn!(db, |conn| {
        Ok(submission_photos::table
            .inner_join(submissions::table.left_join(households::table))
            .filter(submission_photos::sha256.eq_any(shas))
            .filter(submission_photos::subject.ne(subject))
            .select((
                submission_photos::sha256,
                submission_photos::submission_id,
                submission_photos::subject,
                households::code.nullable(),
            ))
            .order((submission_photos::sha256, submission_photos::submission_id))
            .limit(50)
            .load(conn)?)
    })
}

/// The first use of photo `sha` by a submission before `before` about
/// another subject: the use a reused paper's flag names.
pub fn first_use_elsewhere(
    db: &Db,
    sha: &str,
    subject: &str,
    before: i64,
) -> Result<Option<PhotoUse>, DbError> {
    with_conn!(db, |conn| {
        Ok(submission_photos::table
            .inner_join(submissions::table.left_join(households::table))
            .filter(submission_photos::sha256.eq(sha))
            .filter(submission_photos::subject.ne(subject))
            .filter(submission_photos::submission_id.lt(before))
            .select((
                submission_photos::sha256,
                submission_photos::submission_id,
                submission_photos::subject,
                households::code.nullable(),
            ))
            .order((submission_photos::submission_id, submission_photos::id))
            .first(conn)
            .optional()?)
    })
}

/// A later use of a photo: (submission id, part name, subject key).
pub type LaterUse = (i64, String, String);

/// The uses of photo `sha` by submissions after `after` about another
/// subject, one per submission (its first part with that photo, as its own
/// check would flag): the submissions that repeat a paper first sent in
/// `after`, when their check ran before or beside its own and could not see it.
pub fn later_uses_elsewhere(
    db: &Db,
    sha: &str,
    subject: &str,
    after: i64,
) -> Result<Vec<LaterUse>, DbError> {
    let mut uses: Vec<LaterUse> = with_conn!(db, |conn| {
        submission_photos::table
            .filter(submission_photos::sha256.eq(sha))
            .filter(submission_photos::subject.ne(subject))
            .filter(submission_photos::submission_id.gt(after))
            .select((
                submission_photos::submission_id,
                submission_photos::part_name,
                submission_photos::subject,
            ))
            .order((submission_photos::submission_id, submission_photos::id))
            .load(conn)
    })?;
    uses.dedup_by_key(|(submission, _, _)| *submission);
    Ok(uses)
}

/// A key shared by this many photos is the printed template's, not one
/// paper's: it stops finding candidates and its postings are dropped. At 8,
/// thousands of look-alike papers made most of a paper's own keys common
/// too (15 of 25 copies found among 10,000 papers; 19 at 32, BENCHMARKS §7).
pub const COMMON_KEY_PHOTOS: i64 = 32;

// The ranking's weights are exact only up to this many holders of a key.
const _: () = assert!(COMMON_KEY_PHOTOS as u64 <= crate::evidence::candidates::EXACT_HOLDERS);

/// The keys of the keypoint index that have turned common, as this server
/// last read them. Most of a photo's keys are the printed template's and
/// common: they have no postings, and looking each up in the index was half
/// of a search's seeks. The set is read whole once, then only the keys added
/// since (`common_photo_keys.since`, in the order they turned common, here or
/// in another instance), and forgotten when the index is cleared
/// (`reindex-photos`, counted in `sync_counters`). A key turned common
/// elsewhere and not read yet is only looked up for nothing.
#[derive(Debug, Default)]
pub struct CommonKeys(std::sync::Mutex<KnownCommon>);

#[derive(Debug, Default)]
struct KnownCommon {
    /// The clears of the index counted when the set was read; `None` before.
    clears: Option<i64>,
    /// The largest `since` read.
    read_up_to: i64,
    keys: std::collections::HashSet<i64>,
}

/// The counter whose next value a newly common key's `since` takes.
const COMMON_KEYS_COUNTER: &str = "common_photo_keys";
/// The counter of the whole index's clears.
const INDEX_CLEARS_COUNTER: &str = "photo_index_clears";

impl CommonKeys {
    /// The keys of `keys` that a search looks up in the index: those not
    /// known to be common, after reading what turned common since the last
    /// look.
    pub fn looked_up(&self, db: &Db, keys: &[i64]) -> Result<Vec<i64>, DbError> {
        with_conn!(db, |conn| Ok(self.rare(conn, keys)?))
    }

    fn rare<C>(&self, conn: &mut C, keys: &[i64]) -> QueryResult<Vec<i64>>
    where
        C: CommonKeyReads,
    {
        let (clears_known, read_up_to) = {
            let known = self.0.lock().unwrap_or_else(|e| e.into_inner());
            (known.clears, known.read_up_to)
        };
        let clears = conn.counter(INDEX_CLEARS_COUNTER)?;
        let after = if clears_known == Some(clears) {
            read_up_to
        } else {
            -1
        };
        let added = conn.common_keys_since(after)?;
        // A clear committed between the two reads would mix two indexes'
        // keys; the counter read again says whether one did.
        let read = CommonRead {
            clears,
            after,
            added,
            whole_index: conn.counter(INDEX_CLEARS_COUNTER)? == clears,
        };
        let mut known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        Ok(known.take(read, keys))
    }
}

/// One read of the common keys: those with `since > after`, with the clears
/// counted before (and whether the same count was read after).
#[derive(Debug)]
struct CommonRead {
    clears: i64,
    after: i64,
    added: Vec<(i64, i64)>,
    whole_index: bool,
}

impl KnownCommon {
    /// Adds a read to what is known, if it belongs there, and returns the
    /// keys of `keys` not known to be common. Other checks read at the same
    /// time: a read made for an older state (an increment of the set before
    /// a clear, or a whole read older than the set's) is used for this
    /// answer alone, so that the set never holds keys of two indexes nor
    /// loses the keys read before its `read_up_to`.
    fn take(&mut self, read: CommonRead, keys: &[i64]) -> Vec<i64> {
        let whole = read.after < 0;
        let belongs = read.whole_index
            && if whole {
                self.clears.is_none_or(|known| known <= read.clears)
            } else {
                self.clears == Some(read.clears)
            };
        if !belongs {
            let common: std::collections::HashSet<i64> = if read.whole_index && whole {
                read.added.iter().map(|(key, _)| *key).collect()
            } else {
                Default::default()
            };
            return keys
                .iter()
                .copied()
                .filter(|key| !common.contains(key))
                .collect();
        }
        if self.clears != Some(read.clears) {
            *self = KnownCommon {
                clears: Some(read.clears),
                read_up_to: -1,
                keys: Default::default(),
            };
        }
        for (key, since) in read.added {
            self.keys.insert(key);
            self.read_up_to = self.read_up_to.max(since);
        }
        keys.iter()
            .copied()
            .filter(|key| !self.keys.contains(key))
            .collect()
    }
}

/// The reads [`CommonKeys`] makes, on either backend.
trait CommonKeyReads {
    fn counter(&mut self, name: &str) -> QueryResult<i64>;
    fn common_keys_since(&mut self, after: i64) -> QueryResult<Vec<(i64, i64)>>;
}

macro_rules! impl_common_key_reads {
    ($conn:ty) => {
        impl CommonKeyReads for $conn {
            fn counter(&mut self, name: &str) -> QueryResult<i64> {
                Ok(sync_counters::table
                    .find(name)
                    .select(sync_counters::value)
                    .first(self)
                    .optional()?
                    .unwrap_or(0))
            }

            fn common_keys_since(&mut self, after: i64) -> QueryResult<Vec<(i64, i64)>> {
                common_photo_keys::table
                    .filter(common_photo_keys::since.gt(after))
                    .select((common_photo_keys::key, common_photo_keys::since))
                    .load(self)
            }
        }
    };
}

impl_common_key_reads!(diesel::SqliteConnection);
impl_common_key_reads!(diesel::PgConnection);

/// Earlier photos that share keypoint keys with `sha`'s `keys` (common keys
/// aside), with how many they share, the likeliest in the whole index (each
/// sharing at least `min_shared`) and in `village` (where the photo was sent
/// from) in turn, at most `limit` (see [`Sharers::candidates`]). The cost is
/// bounded by the keys, not by the number of earlier photos: a key's
/// postings stop at [`COMMON_KEY_PHOTOS`].
pub fn reuse_candidates(
    db: &Db,
    common: &CommonKeys,
    sha: &str,
    keys: &[PlacedKey],
    village: Option<i64>,
    min_shared: usize,
    limit: usize,
) -> Result<Vec<(String, usize)>, DbError> {
    Ok(ranked_sharers(db, common, sha, keys, village)?.candidates(min_shared, limit))
}

/// A posting as read: key, photo, village, and its keypoint's place.
type PostingRow = (i64, String, Option<i64>, Option<i16>, Option<i16>);

/// Every photo sharing keys with `sha`'s `keys` (common keys aside), ranked
/// in the whole index and among those first sent from `village` (see
/// [`candidates`](crate::evidence::candidates)).
pub fn ranked_sharers(
    db: &Db,
    common: &CommonKeys,
    sha: &str,
    keys: &[PlacedKey],
    village: Option<i64>,
) -> Result<Sharers, DbError> {
    if keys.is_empty() {
        return Ok(Sharers::default());
    }
    let searched: foldhash::HashMap<i64, Place> = keys
        .iter()
        .map(|placed| (placed.key, placed.place))
        .collect();
    let keys: Vec<i64> = keys.iter().map(|placed| placed.key).collect();
    let postings = with_conn!(db, |conn| {
        // A common key has no postings (they go when it turns common, in the
        // same transaction, and none are written for it after), so the
        // postings of `keys` are those of its rare keys. (On PostgreSQL a
        // check indexing at that very moment may leave one behind, which then
        // weighs as a rare key's: a bounded, harmless slip.)
        let rare = common.rare(conn, &keys)?;
        let postings: Vec<PostingRow> = photo_keys::table
            .filter(photo_keys::key.eq_any(&rare))
            .filter(photo_keys::sha256.ne(sha))
            .select((
                photo_keys::key,
                photo_keys::sha256,
                photo_keys::village_id,
                photo_keys::x,
                photo_keys::y,
            ))
            .load(conn)?;
        Ok::<_, DbError>(postings)
    })?;
    let postings = postings
        .into_iter()
        .map(|(key, sha, village, x, y)| Posting {
            key,
            sha,
            village,
            place: x.zip(y),
        })
        .collect();
    Ok(Sharers::rank(postings, village, &searched))
}

/// Indexes photo `sha` under each of its keypoint `keys` that is not common
/// yet; a key now shared by [`COMMON_KEY_PHOTOS`] photos becomes common and
/// its postings go. Idempotent. A photo found to repeat an earlier paper is
/// taken out again ([`unindex_photo_keys`], see `verification::search_reused_paper`):
/// its keys are the earlier photo's, and a paper reused many times would
/// otherwise make its own handwriting "common" and hide its next reuse.
/// `village`: where the photo was sent from (none for a photo shared by
/// many villages, as the generated province's); a posting written again
/// keeps its village.
pub fn index_photo_keys(
    db: &Db,
    common: &CommonKeys,
    sha: &str,
    keys: &[PlacedKey],
    village: Option<i64>,
) -> Result<(), DbError> {
    if keys.is_empty() {
        return Ok(());
    }
    let places: std::collections::HashMap<i64, Place> = keys
        .iter()
        .map(|placed| (placed.key, placed.place))
        .collect();
    let keys: Vec<i64> = keys.iter().map(|placed| placed.key).collect();
    write_tx!(db, |conn| {
        // The keys known common are left out at once; the others are looked
        // up, for one may have turned common in another instance just now.
        let unknown = common.rare(conn, &keys)?;
        let common_too: std::collections::HashSet<i64> = common_photo_keys::table
            .filter(common_photo_keys::key.eq_any(&unknown))
            .select(common_photo_keys::key)
            .load::<i64>(conn)?
            .into_iter()
            .collect();
        let rare: Vec<i64> = unknown
            .into_iter()
            .filter(|k| !common_too.contains(k))
            .collect();
        for chunk in rare.chunks(500) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|key| {
                    let place = places.get(key);
                    (
                        photo_keys::key.eq(*key),
                        photo_keys::sha256.eq(sha),
                        photo_keys::village_id.eq(village),
                        photo_keys::x.eq(place.map(|(x, _)| *x)),
                        photo_keys::y.eq(place.map(|(_, y)| *y)),
                    )
                })
                .collect();
            diesel::insert_into(photo_keys::table)
                .values(rows)
                .on_conflict_do_nothing()
                .execute(conn)?;
        }
        let now_common: Vec<i64> = photo_keys::table
            .filter(photo_keys::key.eq_any(&rare))
            .group_by(photo_keys::key)
            .having(diesel::dsl::count_star().ge(COMMON_KEY_PHOTOS))
            .select(photo_keys::key)
            .load(conn)?;
        if !now_common.is_empty() {
            // Taken under the counter's row lock (PostgreSQL) or the write
            // lock (SQLite): keys turn common in the order of `since`.
            let since: i64 = diesel::update(sync_counters::table.find(COMMON_KEYS_COUNTER))
                .set(sync_counters::value.eq(sync_counters::value + 1))
                .returning(sync_counters::value)
                .get_result(conn)?;
            let rows: Vec<_> = now_common
                .iter()
                .map(|key| {
                    (
                        common_photo_keys::key.eq(*key),
                        common_photo_keys::since.eq(since),
                    )
                })
                .collect();
            diesel::insert_into(common_photo_keys::table)
                .values(rows)
                .on_conflict_do_nothing()
                .execute(conn)?;
            diesel::delete(photo_keys::table.filter(photo_keys::key.eq_any(&now_common)))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// Takes photo `sha`'s postings under `keys` out of the index (it repeats an
/// earlier paper; see [`index_photo_keys`]).
pub fn unindex_photo_keys(db: &Db, sha: &str, keys: &[i64]) -> Result<(), DbError> {
    write_tx!(db, |conn| {
        for chunk in keys.chunks(500) {
            diesel::delete(
                photo_keys::table
                    .filter(photo_keys::key.eq_any(chunk))
                    .filter(photo_keys::sha256.eq(sha)),
            )
            .execute(conn)?;
        }
        Ok(())
    })
}

/// The keypoint index's size: its postings, and the keys found common.
pub fn photo_index_size(db: &Db) -> Result<(i64, i64), DbError> {
    with_conn!(db, |conn| Ok((
        photo_keys::table.count().get_result(conn)?,
        common_photo_keys::table.count().get_result(conn)?,
    )))
}

/// Forgets the whole keypoint index, postings and common keys, before
/// `verification::reindex_photos` builds it again.
pub fn clear_photo_index(db: &Db) -> Result<(), DbError> {
    write_tx!(db, |conn| {
        diesel::delete(photo_keys::table).execute(conn)?;
        diesel::delete(common_photo_keys::table).execute(conn)?;
        diesel::update(sync_counters::table.find(INDEX_CLEARS_COUNTER))
            .set(sync_counters::value.eq(sync_counters::value + 1))
            .execute(conn)?;
        Ok(())
    })
}

/// Every photo decoded without error, by its sha-256, in the order it was checked.
pub fn checked_photos(db: &Db) -> Result<Vec<String>, DbError> {
    with_conn!(db, |conn| Ok(photos::table
        .filter(photos::verified_at.is_not_null())
        .filter(photos::verify_error.is_null())
        .order((photos::verified_at.asc(), photos::sha256.asc()))
        .select(photos::sha256)
        .load(conn)?))
}

/// Those of these photos that some use keeps in the keypoint index: a
/// submission sent it and its flags do not say it repeats an earlier paper.
/// A photo every use of which is flagged so stays out of the index (its keys
/// are its original's; see `verification::search_reused_paper`). With the
/// village of the first such use, where it is indexed (see
/// [`index_photo_keys`]).
pub fn photos_kept_by_a_use(
    db: &Db,
    shas: &[String],
) -> Result<std::collections::HashMap<String, i64>, DbError> {
    let uses: Vec<(String, String, String, i64)> = with_conn!(db, |conn| submission_photos::table
        .inner_join(submissions::table)
        .filter(submission_photos::sha256.eq_any(shas))
        .order(submissions::id)
        .select((
            submission_photos::sha256,
            submission_photos::part_name,
            submissions::flags,
            submissions::village_id,
        ))
        .load(conn))?;
    let mut kept = std::collections::HashMap::new();
    for (sha, part_name, flags, village) in uses {
        let flags: Vec<crate::evidence::Flag> = serde_json::from_str(&flags).unwrap_or_default();
        if !crate::evidence::flags_photo_as_repeat(&flags, &part_name) {
            kept.entry(sha).or_insert(village);
        }
    }
    Ok(kept)
}

/// Records a photo's row as it arrives (not yet checked), unless it is there.
pub fn record_photo(db: &Db, row: &PhotoRow) -> Result<(), DbError> {
    write_tx!(db, |conn| {
        diesel::insert_into(photos::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(conn)?;
        Ok(())
    })
}

/// What decoding a photo gave.
pub struct Decoded {
    /// After the EXIF orientation is applied.
    pub width: u32,
    pub height: u32,
}

/// One photo's row.
/// The area paths of these submissions, by id.
pub fn area_paths(
    db: &Db,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, AreaPath>, DbError> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    with_conn!(db, |conn| Ok(submissions::table
        .filter(submissions::id.eq_any(ids))
        .select((submissions::id, submissions::area_path))
        .load::<(i64, AreaPath)>(conn)?
        .into_iter()
        .collect()))
}

/// The stored rows of those of these photos that were sent before.
pub fn photos(db: &Db, shas: &[String]) -> Result<Vec<PhotoRow>, DbError> {
    with_conn!(db, |conn| Ok(photos::table
        .filter(photos::sha256.eq_any(shas))
        .select(PhotoRow::as_select())
        .load(conn)?))
}

/// One stored photo's row.
pub fn photo(db: &Db, sha: &str) -> Result<Option<PhotoRow>, DbError> {
    with_conn!(db, |conn| Ok(photos::table
        .find(sha)
        .select(PhotoRow::as_select())
        .first(conn)
        .optional()?))
}

/// Records the background decoding of a photo (once: a second call does
/// nothing): its hash and its oriented size, or why it failed. Its keypoints
/// are indexed apart, by the search for an earlier paper
/// ([`index_photo_keys`]).
pub fn mark_verified(db: &Db, sha: &str, outcome: &Result<Decoded, String>) -> Result<(), DbError> {
    let now = Utc::now().naive_utc();
    write_tx!(db, |conn| {
        let pending = photos::table
            .find(sha)
            .filter(photos::verified_at.is_null());
        match outcome {
            Ok(decoded) => {
                diesel::update(pending)
                    .set((
                        photos::width.eq(decoded.width as i32),
                        photos::height.eq(decoded.height as i32),
                        photos::verified_at.eq(Some(now)),
                    ))
                    .execute(conn)?;
            }
            Err(error) => {
                diesel::update(pending)
                    .set((
                        photos::verified_at.eq(Some(now)),
                        photos::verify_error.eq(Some(error.as_str())),
                    ))
                    .execute(conn)?;
            }
        }
        Ok(())
    })
}

#[derive(diesel::QueryableByName)]
struct ClaimedJob {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    submission_id: i64,
}

/// Takes up to `limit` submissions waiting for the background checks, oldest
/// first, for `holder` until `leased_until`: those nobody holds, or whose
/// holder's lease ran out (its instance died). On PostgreSQL two instances
/// claiming at once skip each other's rows (`FOR UPDATE SKIP LOCKED`), and the
/// upsert takes over a lease only if it has run out as the row stands when
/// written; SQLite has one writer at a time.
pub fn claim_evidence_jobs(
    db: &Db,
    holder: &str,
    limit: i64,
    leased_until: DateTime<Utc>,
) -> Result<Vec<i64>, DbError> {
    use diesel::sql_types::{BigInt, Text, Timestamp};
    let (now, until) = (Utc::now().naive_utc(), leased_until.naive_utc());
    let claimed: Vec<ClaimedJob> = match db {
        Db::Sqlite(_) => write_tx!(db, |conn| diesel::sql_query(
            "INSERT INTO evidence_leases (submission_id, holder, leased_until) \
             SELECT s.id, ?, ? FROM submissions s \
             LEFT JOIN evidence_leases l ON l.submission_id = s.id \
             WHERE s.evidence_pending AND (l.leased_until IS NULL OR l.leased_until < ?) \
             ORDER BY s.id LIMIT ? \
             ON CONFLICT (submission_id) DO UPDATE SET holder = excluded.holder, \
             leased_until = excluded.leased_until \
             WHERE evidence_leases.leased_until < ? \
             RETURNING submission_id"
        )
        .bind::<Text, _>(holder)
        .bind::<Timestamp, _>(until)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit)
        .bind::<Timestamp, _>(now)
        .load(conn))?,
        Db::Pg(_) => write_tx!(db, |conn| diesel::sql_query(
            "WITH free AS ( \
               SELECT s.id FROM submissions s \
               LEFT JOIN evidence_leases l ON l.submission_id = s.id \
               WHERE s.evidence_pending AND (l.leased_until IS NULL OR l.leased_until < $3) \
               ORDER BY s.id LIMIT $4 FOR UPDATE OF s SKIP LOCKED) \
             INSERT INTO evidence_leases (submission_id, holder, leased_until) \
             SELECT id, $1, $2 FROM free \
             ON CONFLICT (submission_id) DO UPDATE SET holder = excluded.holder, \
             leased_until = excluded.leased_until \
             WHERE evidence_leases.leased_until < $3 \
             RETURNING submission_id"
        )
        .bind::<Text, _>(holder)
        .bind::<Timestamp, _>(until)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit)
        .load(conn))?,
    };
    let mut ids: Vec<i64> = claimed.into_iter().map(|job| job.submission_id).collect();
    ids.sort_unstable();
    Ok(ids)
}

/// Puts off a job whose check failed until `retry_at` (then any instance may
/// take it again), so that a job that keeps failing does not take the
/// checkers from the rest of the backlog.
pub fn postpone_evidence_job(
    db: &Db,
    id: i64,
    holder: &str,
    retry_at: DateTime<Utc>,
) -> Result<(), DbError> {
    let retry_at = retry_at.naive_utc();
    write_tx!(db, |conn| diesel::update(
        evidence_leases::table
            .filter(evidence_leases::submission_id.eq(id))
            .filter(evidence_leases::holder.eq(holder))
    )
    .set(evidence_leases::leased_until.eq(retry_at))
    .execute(conn))?;
    Ok(())
}

/// Forgets every lease: only for a database that one process uses (SQLite),
/// at its start, when no other checker can exist.
pub fn clear_evidence_leases(db: &Db) -> Result<usize, DbError> {
    Ok(write_tx!(db, |conn| diesel::delete(
        evidence_leases::table
    )
    .execute(conn))?)
}

/// Forgets the leases of an earlier run of this instance (their holder starts
/// with `prefix`, see `verification::Backlog::instance_prefix`): after a
/// crash, its own jobs are taken again at once, not after their leases.
pub fn clear_leases_of_earlier_runs(db: &Db, prefix: &str) -> Result<usize, DbError> {
    // The prefix is hex and a colon: nothing in it means anything to LIKE.
    Ok(write_tx!(db, |conn| diesel::delete(
        evidence_leases::table.filter(evidence_leases::holder.like(format!("{prefix}%")))
    )
    .execute(conn))?)
}

/// How many submissions wait for the background checks. The filter is the
/// bare column, as in the partial index `submissions_evidence_backlog_idx`:
/// SQLite uses that index only for a term it can match to the index's own
/// `WHERE`, and scanned every submission for `evidence_pending = 1` (190 ms on
/// 150,000 submissions, for each `GET /readyz`).
pub fn evidence_backlog_size(db: &Db) -> Result<i64, DbError> {
    with_conn!(db, |conn| Ok(submissions::table
        .filter(submissions::evidence_pending)
        .count()
        .get_result(conn)?))
}

/// Adds what the background checks found to a submission (once): true if
/// this call settled it, false if it was settled already.
pub fn settle_evidence(db: &Db, id: i64, found: &[crate::evidence::Flag]) -> Result<bool, DbError> {
    write_tx!(db, |conn| {
        // Written only over the flags as read: on PostgreSQL another check
        // (`flag_repeat`) may change them in between, and is then read again.
        loop {
            let current: Option<(String, bool)> = submissions::table
                .find(id)
                .select((submissions::flags, submissions::evidence_pending))
                .first(conn)
                .optional()?;
            let Some((read, true)) = current else {
                return Ok(false);
            };
            let mut flags: Vec<crate::evidence::Flag> =
                serde_json::from_str(&read).unwrap_or_default();
            // The check of an earlier photo of the same paper, running beside
            // this one, may have flagged the photo already (`flag_repeat`).
            let found: Vec<crate::evidence::Flag> = found
                .iter()
                .filter(|f| !repeats_a_flagged_photo(&flags, f))
                .cloned()
                .collect();
            flags.extend(found.iter().cloned());
            let stored = serde_json::to_string(&flags)
                .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
            // Still pending as the row stands when written: of two checks of one
            // submission (a lease that ran out), only the first settles it.
            let settled = diesel::update(
                submissions::table
                    .find(id)
                    .filter(submissions::evidence_pending.eq(true))
                    .filter(submissions::flags.eq(&read)),
            )
            .set((
                submissions::flags.eq(stored),
                submissions::risk.eq(crate::evidence::risk_of(&flags)),
                submissions::evidence_pending.eq(false),
            ))
            .execute(conn)?;
            if settled == 0 {
                continue;
            }
            record_flag_codes(conn, id, &found)?;
            diesel::delete(evidence_leases::table.filter(evidence_leases::submission_id.eq(id)))
                .execute(conn)?;
            return Ok(true);
        }
    })
}

/// `flag` says a photo repeats an earlier paper, and `flags` already say so
/// of that photo.
fn repeats_a_flagged_photo(flags: &[crate::evidence::Flag], flag: &crate::evidence::Flag) -> bool {
    flag.code == FlagCode::DuplicatePhoto
        && flag
            .photo
            .as_deref()
            .is_some_and(|part| crate::evidence::flags_photo_as_repeat(flags, part))
}

/// The history's action for a flag that the check of another photo added
/// after the submission's own check.
pub const FLAGGED_LATER: &str = "flagged_later";

/// Adds `flag` (a photo repeating an earlier paper) to submission `id`,
/// checked or not, unless its flags already say that photo is a repeat,
/// and says so in its history ([`FLAGGED_LATER`], by no user).
/// For a repeat found by the check of the earlier photo: the two were
/// checked side by side, or the later one first, and its own check could not
/// see the earlier. Returns whether the flag was added.
pub fn flag_repeat(db: &Db, id: i64, flag: &crate::evidence::Flag) -> Result<bool, DbError> {
    write_tx!(db, |conn| {
        // Written only over the flags as read (see `settle_evidence`).
        loop {
            let current: Option<String> = submissions::table
                .find(id)
                .select(submissions::flags)
                .first(conn)
                .optional()?;
            let Some(read) = current else {
                return Ok(false);
            };
            let mut flags: Vec<crate::evidence::Flag> =
                serde_json::from_str(&read).unwrap_or_default();
            if repeats_a_flagged_photo(&flags, flag) {
                return Ok(false);
            }
            flags.push(flag.clone());
            let stored = serde_json::to_string(&flags)
                .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
            let written = diesel::update(
                submissions::table
                    .find(id)
                    .filter(submissions::flags.eq(&read)),
            )
            .set((
                submissions::flags.eq(stored),
                submissions::risk.eq(crate::evidence::risk_of(&flags)),
            ))
            .execute(conn)?;
            if written == 0 {
                continue;
            }
            record_flag_codes(conn, id, std::slice::from_ref(flag))?;
            // The officer may have reviewed it already, without this flag:
            // the history says when it came, and from whom (the checks).
            diesel::insert_into(submission_events::table)
                .values((
                    submission_events::submission_id.eq(id),
                    submission_events::at.eq(Utc::now().naive_utc()),
                    submission_events::actor_id.eq(None::<i64>),
                    submission_events::action.eq(FLAGGED_LATER),
                    submission_events::comment.eq(Some(flag.sentence(crate::locale::Lang::Vi))),
                ))
                .execute(conn)?;
            return Ok(true);
        }
    })
}

/// Indexes a submission's flags by code, for the queue's flag filter.
fn record_flag_codes<C>(conn: &mut C, id: i64, flags: &[crate::evidence::Flag]) -> QueryResult<()>
where
    C: FlagIndex,
{
    let mut codes: Vec<FlagCode> = flags.iter().map(|f| f.code).collect();
    codes.sort_unstable();
    codes.dedup();
    for code in codes {
        conn.index_flag(id, code)?;
    }
    Ok(())
}

/// Writes one (submission, flag code) row once, on either backend.
trait FlagIndex {
    fn index_flag(&mut self, id: i64, code: FlagCode) -> QueryResult<()>;
}

macro_rules! impl_flag_index {
    ($conn:ty) => {
        impl FlagIndex for $conn {
            fn index_flag(&mut self, id: i64, code: FlagCode) -> QueryResult<()> {
                diesel::insert_into(submission_flags::table)
                    .values((
                        submission_flags::submission_id.eq(id),
                        submission_flags::code.eq(code),
                    ))
                    .on_conflict_do_nothing()
                    .execute(self)?;
                Ok(())
            }
        }
    };
}

impl_flag_index!(diesel::SqliteConnection);
impl_flag_index!(diesel::PgConnection);

/// What to store for a new submission.
pub struct NewRecord {
    pub submission: NewSubmission,
    pub photos: Vec<PhotoRow>,
    /// (field path, part file name, sha-256).
    pub attachments: Vec<(String, String, String)>,
    pub subject: String,
    pub corrects: Option<i64>,
    /// The flags raised at intake (also in `submission.flags`, as JSON).
    pub flags: Vec<crate::evidence::Flag>,
}

/// Why a submission was not stored.
#[derive(Debug, thiserror::Error)]
pub enum InsertRefusal {
    #[error("no submission {0}")]
    UnknownOriginal(i64),
    #[error("submission {original} cannot be corrected: {why}")]
    NotCorrectable { original: i64, why: String },
    /// The upload took longer than the orphan sweep's grace period and its
    /// photo may have been swept meanwhile.
    #[error("photo {0} was swept while its upload was committing")]
    PhotoSwept(String),
    #[error(transparent)]
    Storage(#[from] DbError),
}

camket_schema::storage_errors_into!(InsertRefusal);

/// Why a review was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("no submission {0}")]
    Unknown(i64),
    /// The review rules refuse it (`review::decide`).
    #[error("the review rules refuse it: {0:?}")]
    Refused(ReviewRefusal),
    #[error(transparent)]
    Storage(#[from] DbError),
}

camket_schema::storage_errors_into!(ReviewError);

/// Stores a submission, its photos' rows and its first audit entry, atomically.
/// A concurrent insert of the same `instance_id` fails here with a conflict;
/// the caller then answers from the stored one.
pub fn insert(db: &Db, record: &NewRecord) -> Result<i64, InsertRefusal> {
    let now = Utc::now().naive_utc();
    let actor = record.submission.submitted_by;
    let mut new_photos: Vec<&PhotoRow> = record.photos.iter().collect();
    // In one order, so that two uploads sharing new photos lock them alike.
    new_photos.sort_by(|a, b| a.sha256.cmp(&b.sha256));
    write_tx!(db, |conn| {
        for photo in &new_photos {
            // The upload's intent goes with the commit. If it is gone while
            // the photo is still new, an orphan sweep took it for abandoned
            // (the upload outlived the grace period) and may have removed
            // the photo: refuse, and the phone sends it again.
            let intent = diesel::delete(photo_intents::table.find(&photo.sha256)).execute(conn)?;
            // Two phones may send the same new photo at once: the second insert
            // waits for the first and then does nothing (no conflict error).
            // Its keypoint keys come with the decoding (`mark_verified`).
            let inserted = diesel::insert_into(photos::table)
                .values(*photo)
                .on_conflict_do_nothing()
                .execute(conn)?;
            if intent == 0 && inserted == 1 {
                return Err(InsertRefusal::PhotoSwept(photo.sha256.clone()));
            }
        }
        if let Some(original) = record.corrects {
            let (status, superseded_by): (SubmissionStatus, Option<i64>) = submissions::table
                .find(original)
                .select((submissions::status, submissions::superseded_by))
                .first(conn)
                .optional()?
                .ok_or(InsertRefusal::UnknownOriginal(original))?;
            review::correctable(status, superseded_by)
                .map_err(|why| InsertRefusal::NotCorrectable { original, why })?;
        }
        let id: i64 = diesel::insert_into(submissions::table)
            .values(&record.submission)
            .returning(submissions::id)
            .get_result(conn)?;
        record_flag_codes(conn, id, &record.flags)?;
        for (field, part, sha) in &record.attachments {
            diesel::insert_into(submission_photos::table)
                .values((
                    submission_photos::submission_id.eq(id),
                    submission_photos::field_path.eq(field),
                    submission_photos::part_name.eq(part),
                    submission_photos::sha256.eq(sha),
                    submission_photos::subject.eq(&record.subject),
                ))
                .execute(conn)?;
        }
        let action = if record.corrects.is_some() {
            "corrected"
        } else {
            "submitted"
        };
        diesel::insert_into(submission_events::table)
            .values((
                submission_events::submission_id.eq(id),
                submission_events::at.eq(now),
                submission_events::actor_id.eq(actor),
                submission_events::action.eq(action),
                submission_events::from_status.eq(None::<SubmissionStatus>),
                submission_events::to_status.eq(Some(SubmissionStatus::Received)),
                submission_events::comment.eq(record
                    .corrects
                    .map(|o| format!("correction of submission {o}"))),
            ))
            .execute(conn)?;
        if let Some(original) = record.corrects {
            diesel::update(submissions::table.find(original))
                .set((
                    submissions::superseded_by.eq(Some(id)),
                    submissions::updated_at.eq(now),
                ))
                .execute(conn)?;
            diesel::insert_into(submission_events::table)
                .values((
                    submission_events::submission_id.eq(original),
                    submission_events::at.eq(now),
                    submission_events::actor_id.eq(actor),
                    submission_events::action.eq("superseded"),
                    submission_events::from_status.eq(None::<SubmissionStatus>),
                    submission_events::to_status.eq(None::<SubmissionStatus>),
                    submission_events::comment.eq(Some(format!("corrected by submission {id}"))),
                ))
                .execute(conn)?;
        }
        let survey = record.submission.form_id == HOUSEHOLD_SURVEY;
        let mut touched = vec![Touched::Submission {
            household_id: record.submission.household_id,
            village_id: record.submission.village_id,
            survey,
        }];
        if let Some(original) = record.corrects {
            // The original stops counting where it counted, which is not the
            // correction's village when its household has moved since.
            let (household_id, village_id): (Option<i64>, i64) = submissions::table
                .find(original)
                .select((submissions::household_id, submissions::village_id))
                .first(conn)?;
            touched.push(Touched::Submission {
                household_id,
                village_id,
                survey,
            });
        }
        // Recounted after the commit (`coverage::pending`), so that uploads
        // to one village do not wait for each other's recount.
        conn.mark(&touched)?;
        Ok(id)
    })
}

/// Filters of the officer queue.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Where to search (the caller's areas, or the one asked for).
    pub scope: Scope,
    pub form_id: Option<String>,
    pub status: Option<SubmissionStatus>,
    pub flag: Option<FlagCode>,
    pub submitted_by: Option<i64>,
    pub village_id: Option<i64>,
    pub collected_from: Option<NaiveDateTime>,
    pub collected_to: Option<NaiveDateTime>,
    /// Continue after this (risk, id).
    pub after: Option<(i32, i64)>,
    pub limit: i64,
}

/// The queue, riskiest first.
pub fn list(db: &Db, filter: &QueueFilter) -> Result<Vec<SubmissionRow>, DbError> {
    let mut found = Vec::new();
    for (lower, upper) in filter.scope.path_ranges() {
        // A province or district holds most submissions: walking the risk index and
        // filtering beats sorting the whole subtree, so the path test is written so
        // that it cannot use the path index (`area_path || ''`). A commune or village
        // is a small slice: its path range is the better way in.
        let broad = AreaPath::from_stored(lower.clone()).ids().len() <= 2;
        let rows: Vec<SubmissionRow> = with_conn!(db, |conn| {
            let mut query = submissions::table
                .select(SubmissionRow::as_select())
                .order((submissions::risk.desc(), submissions::id.desc()))
                .limit(filter.limit)
                .into_boxed();
            if broad {
                query = query
                    .filter(submissions::area_path.concat("").ge(lower.clone()))
                    .filter(submissions::area_path.concat("").lt(upper.clone()));
            } else {
                query = query
                    .filter(submissions::area_path.ge(lower.clone()))
                    .filter(submissions::area_path.lt(upper.clone()));
            }
            if let Some(form) = &filter.form_id {
                query = query.filter(submissions::form_id.eq(form));
            }
            if let Some(status) = filter.status {
                query = query.filter(submissions::status.eq(status));
            }
            if let Some(flag) = filter.flag {
                query = query.filter(
                    submissions::id.eq_any(
                        submission_flags::table
                            .filter(submission_flags::code.eq(flag))
                            .select(submission_flags::submission_id),
                    ),
                );
            }
            if let Some(user) = filter.submitted_by {
                query = query.filter(submissions::submitted_by.eq(user));
            }
            if let Some(village) = filter.village_id {
                query = query.filter(submissions::village_id.eq(village));
            }
            if let Some(from) = filter.collected_from {
                query = query.filter(submissions::collected_at.ge(from));
            }
            if let Some(to) = filter.collected_to {
                query = query.filter(submissions::collected_at.lt(to));
            }
            if let Some((risk, id)) = filter.after {
                query = query.filter(
                    submissions::risk
                        .lt(risk)
                        .or(submissions::risk.eq(risk).and(submissions::id.lt(id))),
                );
            }
            query.load(conn)?
        });
        found.extend(rows);
    }
    found.sort_by(|a, b| b.risk.cmp(&a.risk).then(b.id.cmp(&a.id)));
    found.dedup_by_key(|row| row.id);
    found.truncate(usize::try_from(filter.limit).unwrap_or(0));
    Ok(found)
}

fn derived_categories_json(version: &FormVersionRow, answers: &str) -> Option<String> {
    let definition: survey_forms::FormDefinition =
        serde_json::from_str(&version.definition).ok()?;
    if definition.feeds.household_categories.is_empty() {
        return None;
    }
    let answers: serde_json::Value = serde_json::from_str(answers).ok()?;
    let names: Vec<&str> = survey_forms::derived_categories(&definition, &answers)
        .into_iter()
        .map(|c| c.as_str())
        .collect();
    serde_json::to_string(&names).ok()
}

/// Records a review decision. When a household survey's approval changes, the
/// household's categories follow its latest approved survey, in the same transaction.
pub fn review(
    db: &Db,
    id: i64,
    reviewer: i64,
    decision: Decision,
    comment: Option<&str>,
) -> Result<SubmissionRow, ReviewError> {
    let now = Utc::now().naive_utc();
    write_tx!(db, |conn| {
        let row = submissions::table
            .find(id)
            .select(SubmissionRow::as_select())
            .first(conn)
            .optional()?
            .ok_or(ReviewError::Unknown(id))?;
        let current = row.status;
        let target = review::decide(
            current,
            row.superseded_by,
            decision,
            comment,
            row.submitted_by == reviewer,
        )
        .map_err(ReviewError::Refused)?;
        let approved_at = (target == SubmissionStatus::Approved).then_some(now);
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        diesel::update(submissions::table.find(id))
            .set((
                submissions::status.eq(target),
                submissions::review_comment.eq(comment),
                submissions::updated_at.eq(now),
                submissions::approved_at.eq(approved_at),
            ))
            .execute(conn)?;
        diesel::insert_into(submission_events::table)
            .values((
                submission_events::submission_id.eq(id),
                submission_events::at.eq(now),
                submission_events::actor_id.eq(reviewer),
                submission_events::action.eq("reviewed"),
                submission_events::from_status.eq(Some(current)),
                submission_events::to_status.eq(Some(target)),
                submission_events::comment.eq(comment),
            ))
            .execute(conn)?;
        let touches_approval =
            current == SubmissionStatus::Approved || target == SubmissionStatus::Approved;
        if let (Some(household), true) = (row.household_id, touches_approval) {
            // The household's categories follow its latest approved survey of this form.
            let latest: Option<(String, i32)> = submissions::table
                .filter(submissions::household_id.eq(household))
                .filter(submissions::form_id.eq(&row.form_id))
                .filter(submissions::status.eq(SubmissionStatus::Approved))
                .order((submissions::collected_at.desc(), submissions::id.desc()))
                .select((submissions::answers, submissions::form_version))
                .first(conn)
                .optional()?;
            if let Some((answers, version)) = latest {
                let version_row = form_versions::table
                    .filter(form_versions::form_id.eq(&row.form_id))
                    .filter(form_versions::version.eq(version))
                    .select(FormVersionRow::as_select())
                    .first(conn)?;
                if let Some(categories) = derived_categories_json(&version_row, &answers) {
                    let seq: i64 = diesel::update(sync_counters::table.find("households"))
                        .set(sync_counters::value.eq(sync_counters::value + 1))
                        .returning(sync_counters::value)
                        .get_result(conn)?;
                    diesel::update(households::table.find(household))
                        .set((
                            households::categories.eq(categories),
                            households::sync_seq.eq(seq),
                            households::updated_at.eq(now),
                        ))
                        .execute(conn)?;
                }
            }
        }
        conn.touch(Touched::Submission {
            household_id: row.household_id,
            village_id: row.village_id,
            survey: row.form_id == HOUSEHOLD_SURVEY,
        })?;
        Ok(submissions::table
            .find(id)
            .select(SubmissionRow::as_select())
            .first(conn)?)
    })
}

/// One entry of the audit trail with the actor's username.
pub type HistoryEntry = (SubmissionEventRow, Option<String>);

/// The audit trail of a submission and every revision linked to it, oldest first.
pub fn history(db: &Db, id: i64) -> Result<Vec<HistoryEntry>, DbError> {
    with_conn!(db, |conn| {
        // Walk the revision chain both ways.
        let mut chain = vec![id];
        let mut cursor = id;
        while let Some(Some(previous)) = submissions::table
            .find(cursor)
            .select(submissions::supersedes)
            .first::<Option<i64>>(conn)
            .optional()?
        {
            if chain.contains(&previous) {
                break;
            }
            chain.push(previous);
            cursor = previous;
        }
        cursor = id;
        while let Some(Some(next)) = submissions::table
            .find(cursor)
            .select(submissions::superseded_by)
            .first::<Option<i64>>(conn)
            .optional()?
        {
            if chain.contains(&next) {
                break;
            }
            chain.push(next);
            cursor = next;
        }
        Ok(submission_events::table
            .left_join(users::table)
            .filter(submission_events::submission_id.eq_any(&chain))
            .order(submission_events::id)
            .select((SubmissionEventRow::as_select(), users::username.nullable()))
            .load(conn)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(clears: i64, keys: &[(i64, i64)]) -> KnownCommon {
        let mut known = KnownCommon::default();
        let read = CommonRead {
            clears,
            after: -1,
            added: keys.to_vec(),
            whole_index: true,
        };
        known.take(read, &[]);
        known
    }

    fn keys_of(known: &KnownCommon) -> Vec<i64> {
        let mut keys: Vec<i64> = known.keys.iter().copied().collect();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn a_read_of_the_same_index_adds_to_what_is_known() {
        let mut known = known(2, &[(10, 50), (20, 100)]);
        assert_eq!((known.clears, known.read_up_to), (Some(2), 100));
        let rare = known.take(
            CommonRead {
                clears: 2,
                after: 100,
                added: vec![(30, 120)],
                whole_index: true,
            },
            &[10, 30, 40],
        );
        assert_eq!(rare, vec![40]);
        assert_eq!(keys_of(&known), vec![10, 20, 30]);
        assert_eq!(known.read_up_to, 120);
    }

    #[test]
    fn a_whole_read_after_a_clear_replaces_what_is_known() {
        let mut known = known(2, &[(10, 50), (20, 100)]);
        let rare = known.take(
            CommonRead {
                clears: 3,
                after: -1,
                added: vec![(40, 5)],
                whole_index: true,
            },
            &[10, 40],
        );
        assert_eq!(rare, vec![10]);
        assert_eq!(keys_of(&known), vec![40]);
        assert_eq!((known.clears, known.read_up_to), (Some(3), 5));
    }

    /// Three checks around a clear: one read the new index whole, one still
    /// brings an increment of the old index, one a whole read of it. Neither
    /// late read may replace the set, or the keys read before its
    /// `read_up_to` would never be read again.
    #[test]
    fn a_read_made_for_an_older_index_answers_once_and_changes_nothing() {
        let mut known = known(2, &[(10, 50), (20, 100)]);
        let stale_increment = CommonRead {
            clears: 1,
            after: 80,
            added: vec![(30, 90)],
            whole_index: true,
        };
        assert_eq!(known.take(stale_increment, &[10, 30, 40]), vec![10, 30, 40]);
        let stale_whole = CommonRead {
            clears: 1,
            after: -1,
            added: vec![(30, 90)],
            whole_index: true,
        };
        assert_eq!(known.take(stale_whole, &[10, 30, 40]), vec![10, 40]);
        assert_eq!(keys_of(&known), vec![10, 20]);
        assert_eq!((known.clears, known.read_up_to), (Some(2), 100));
    }

    #[test]
    fn a_read_across_a_clear_is_not_used() {
        let mut known = known(2, &[(10, 50)]);
        let across = CommonRead {
            clears: 2,
            after: 50,
            added: vec![(30, 60)],
            whole_index: false,
        };
        assert_eq!(known.take(across, &[30]), vec![30]);
        assert_eq!(keys_of(&known), vec![10]);
        assert_eq!(known.read_up_to, 50);
    }
}
