//! What a start after a crash repairs. A photo is moved into the store before
//! the transaction that records it commits (so an acknowledged submission never
//! lacks its photo); a crash between the two leaves an original that no row
//! names. A clean stop leaves a marker in the data dir; a start without it
//! removes such orphans before serving, when no upload can be in flight.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use camket_schema::tables::photos;
use camket_schema::{with_conn, Db};
use chrono::{DateTime, Utc};
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

/// Removes stored photos that no row names and that were written before
/// `written_before` (every such photo when `None`); returns how many.
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
            store
                .remove(sha)
                .map_err(|e| ApiError::Internal(format!("cannot remove photo {sha}: {e}")))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Sweeps the photo store for orphans older than the grace period, now and
/// then, until the server stops. With several instances on one store none of
/// them can know that no upload is in flight elsewhere, so the grace period
/// (not a clean-stop marker) is what keeps a committing upload's photo.
pub async fn sweep_orphans(state: actix_web::web::Data<crate::state::AppState>) {
    let grace = std::time::Duration::from_secs(state.config.orphan_grace_secs);
    let every = (grace / 4).clamp(
        std::time::Duration::from_secs(60),
        std::time::Duration::from_secs(3600),
    );
    loop {
        tokio::time::sleep(every).await;
        let Ok(grace_chrono) = chrono::Duration::from_std(grace) else {
            return;
        };
        let (db, store) = (state.db.clone(), state.photos.clone());
        let before = Utc::now() - grace_chrono;
        match actix_web::web::block(move || remove_orphan_photos(&db, &store, Some(before))).await {
            Ok(Ok(0)) => {}
            Ok(Ok(removed)) => tracing::warn!(removed, "removed photos that no submission names"),
            Ok(Err(error)) => tracing::warn!(%error, "cannot sweep the photo store"),
            Err(_) => {}
        }
    }
}
