//! What a start after a crash repairs. A photo is moved into the store before
//! the transaction that records it commits (so an acknowledged submission never
//! lacks its photo); a crash between the two leaves an original that no row
//! names. A clean stop leaves a marker in the data dir; a start without it
//! removes such orphans before serving, when no upload can be in flight.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use camket_schema::tables::photos;
use camket_schema::{with_conn, Db};
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

/// Removes stored photos that no row names; returns how many.
pub fn remove_orphan_photos(db: &Db, store: &PhotoStore) -> Result<usize, ApiError> {
    let stored = store
        .originals()
        .map_err(|e| ApiError::Internal(format!("cannot list the photo store: {e}")))?;
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
