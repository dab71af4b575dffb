//! Photos that no row names. A photo is written to the store before the
//! transaction that records it commits (so an acknowledged submission never
//! lacks its photo); a crash or a refused submission between the two leaves an
//! original that no row names. Before writing, an upload records an intent
//! (`photo_intents`), which its commit removes. Such orphans are removed:
//!
//! - at start after a crash, from a local directory (one process's: no upload
//!   can be in flight), by listing it whole;
//! - every so often by every instance, from the intents older than the grace
//!   period (`sweep_orphans`): a photo of an upload still committing has a
//!   recent intent;
//! - by `camket sweep-photos`, by listing the whole store (photos written
//!   before intents existed), keeping those younger than the grace period.
//!
//! A photo is removed in a transaction that holds its intent row, so an upload
//! of the same photo at that moment waits for the removal, then writes it again.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use camket_schema::db::Backend;
use camket_schema::tables::{photo_intents, photos};
use camket_schema::{with_conn, write_tx, Db, DbError};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::error::ApiError;
use crate::photo_store::PhotoStore;

const CLEAN_STOP_MARKER: &str = "clean-stop";

fn marker(data_dir: &Path) -> PathBuf {
    data_dir.join(CLEAN_STOP_MARKER)
}

/// Called at start: was the last stop clean? Clears the marker either way.
pub fn last_stop_was_clean(data_dir: &Path) -> bool {
    let path = marker(data_dir);
    let clean = path.exists();
    let _ = std::fs::remove_file(path);
    clean
}

/// Called after a graceful stop.
pub fn record_clean_stop(data_dir: &Path) {
    if let Err(error) = std::fs::write(marker(data_dir), b"") {
        tracing::warn!(%error, "cannot record the clean stop");
    }
}

/// Records that `sha256` is about to be written to the store for an upload
/// that has not committed; waits while a sweep is removing the same photo.
pub fn intend_photo(db: &Db, sha256: &str) -> Result<(), DbError> {
    let now = Utc::now().naive_utc();
    write_tx!(db, |conn| diesel::insert_into(photo_intents::table)
        .values((
            photo_intents::sha256.eq(sha256),
            photo_intents::started_at.eq(now),
        ))
        .on_conflict(photo_intents::sha256)
        .do_update()
        .set(photo_intents::started_at.eq(now))
        .execute(conn))?;
    Ok(())
}

enum SweepError {
    Db(DbError),
    Store(std::io::Error),
}

impl From<DbError> for SweepError {
    fn from(error: DbError) -> SweepError {
        SweepError::Db(error)
    }
}

impl From<diesel::result::Error> for SweepError {
    fn from(error: diesel::result::Error) -> SweepError {
        SweepError::Db(DbError::from(error))
    }
}

#[derive(diesel::QueryableByName)]
struct Intent {
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    started_at: NaiveDateTime,
}

/// Removes the photo `sha256` (with its derivatives) if no row names it and
/// no upload of it started at or after `intended_before` (any upload when
/// `None`); says whether it did. The photo's intent row is held meanwhile.
fn remove_if_orphan(
    db: &Db,
    store: &PhotoStore,
    sha256: &str,
    intended_before: Option<DateTime<Utc>>,
) -> Result<bool, SweepError> {
    let long_ago = DateTime::<Utc>::UNIX_EPOCH.naive_utc();
    // One statement that always returns the row and holds it (the upsert's
    // row lock on PostgreSQL; the write lock on SQLite): a row deleted by a
    // concurrent commit or another sweep is simply made again.
    let hold = match db.backend() {
        Backend::Postgres => {
            "INSERT INTO photo_intents (sha256, started_at) VALUES ($1, $2) \
             ON CONFLICT (sha256) DO UPDATE SET started_at = photo_intents.started_at \
             RETURNING started_at"
        }
        Backend::Sqlite => {
            "INSERT INTO photo_intents (sha256, started_at) VALUES (?, ?) \
             ON CONFLICT (sha256) DO UPDATE SET started_at = photo_intents.started_at \
             RETURNING started_at"
        }
    };
    write_tx!(db, |conn| {
        let intent: Intent = diesel::sql_query(hold)
            .bind::<diesel::sql_types::Text, _>(sha256)
            .bind::<diesel::sql_types::Timestamp, _>(long_ago)
            .get_result(conn)?;
        let uploading =
            intended_before.is_some_and(|before| intent.started_at >= before.naive_utc());
        let named = photos::table
            .find(sha256)
            .select(photos::sha256)
            .first::<String>(conn)
            .optional()?
            .is_some();
        if uploading {
            return Ok(false);
        }
        if !named {
            store.remove(sha256).map_err(SweepError::Store)?;
        }
        diesel::delete(photo_intents::table.find(sha256)).execute(conn)?;
        Ok(!named)
    })
}

fn sweep_error(sha256: &str, error: SweepError) -> ApiError {
    match error {
        SweepError::Db(error) => ApiError::from(error),
        SweepError::Store(error) => {
            ApiError::Internal(format!("cannot remove photo {sha256}: {error}"))
        }
    }
}

/// Removes stored photos that no row names and that were written before
/// `written_before` (every such photo when `None`), by listing the whole
/// store; returns how many.
pub fn remove_orphan_photos(
    db: &Db,
    store: &PhotoStore,
    written_before: Option<DateTime<Utc>>,
) -> Result<usize, ApiError> {
    let stored: Vec<String> = store
        .originals()
        .map_err(|e| ApiError::Internal(format!("cannot list the photo store: {e}")))?
        .into_iter()
        .filter(|photo| written_before.is_none_or(|before| photo.written_at < before))
        .map(|photo| photo.sha256)
        .collect();
    let mut removed = 0;
    for chunk in stored.chunks(500) {
        let known: HashSet<String> = with_conn!(db, |conn| photos::table
            .filter(photos::sha256.eq_any(chunk))
            .select(photos::sha256)
            .load::<String>(conn)?)
        .into_iter()
        .collect();
        for sha in chunk.iter().filter(|sha| !known.contains(*sha)) {
            if remove_if_orphan(db, store, sha, written_before).map_err(|e| sweep_error(sha, e))? {
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Removes the photos of uploads that recorded their intent before `before`
/// and never committed; returns how many.
pub fn remove_abandoned_uploads(
    db: &Db,
    store: &PhotoStore,
    before: DateTime<Utc>,
) -> Result<usize, ApiError> {
    let cutoff = before.naive_utc();
    let mut removed = 0;
    loop {
        let abandoned: Vec<String> = with_conn!(db, |conn| photo_intents::table
            .filter(photo_intents::started_at.lt(cutoff))
            .select(photo_intents::sha256)
            .order(photo_intents::sha256)
            .limit(500)
            .load::<String>(conn)?);
        for sha in &abandoned {
            if remove_if_orphan(db, store, sha, Some(before)).map_err(|e| sweep_error(sha, e))? {
                removed += 1;
            }
        }
        // Each one handled is gone from the table (or renewed by an upload).
        if abandoned.len() < 500 {
            return Ok(removed);
        }
    }
}

/// Every so often, until the server stops, removes the photos of uploads that
/// started more than the grace period ago (at least a minute) and never
/// committed. Every instance runs it; the intent rows keep them from removing
/// a photo an upload elsewhere is committing.
pub async fn sweep_orphans(state: actix_web::web::Data<crate::state::AppState>) {
    let grace = std::time::Duration::from_secs(state.config.orphan_grace_secs.max(60));
    let every = (grace / 4).clamp(
        std::time::Duration::from_secs(60),
        std::time::Duration::from_secs(3600),
    );
    let Ok(grace) = chrono::Duration::from_std(grace) else {
        tracing::error!("CAMKET_ORPHAN_GRACE_SECS is too large; photos are not swept");
        return;
    };
    loop {
        tokio::time::sleep(every).await;
        let Some(before) = Utc::now().checked_sub_signed(grace) else {
            continue;
        };
        let (db, store) = (state.db.clone(), state.photos.clone());
        match actix_web::web::block(move || remove_abandoned_uploads(&db, &store, before)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(removed)) => {
                tracing::warn!(removed, "removed photos of uploads that never committed")
            }
            Ok(Err(error)) => tracing::warn!(%error, "cannot sweep the photo store"),
            Err(_) => {}
        }
    }
}
