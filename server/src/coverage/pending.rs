//! The villages whose kept coverage waits for a recount (`coverage_pending`).
//!
//! An upload marks its village inside its own write transaction
//! ([`Recompute::mark`]) instead of recounting it there: on PostgreSQL a
//! recount holds its village's row until the commit, so every upload to a
//! village waited for the recount of the one before, and the upload p99 went
//! over a second (BENCHMARKS.md §4, "On PostgreSQL the recount is what breaks
//! the upload targets"). The marked villages are recounted after the commit,
//! by [`run`] in the background (once for all the uploads marked meanwhile),
//! and by every read of the kept coverage for the villages it covers
//! ([`settle_under`]), so that no reader sees a count behind. The counting
//! itself is [`Recompute::recount_villages`], as for every other change.

use std::time::Duration;

use actix_web::web;
use diesel::prelude::*;

use camket_schema::domain::AreaPath;
use camket_schema::tables::{areas, coverage_pending};
use camket_schema::{with_conn, write_tx, Db, DbError};

use super::maintain::Recompute;
use crate::state::AppState;

/// How often the background recount looks for marked villages. A reader
/// does not wait for it (it recounts what it reads), so this only bounds how
/// long marks pile up: during a burst of uploads, each village is recounted
/// once a period, not once an upload.
const PERIOD: Duration = Duration::from_millis(500);

/// Recounts the marked villages at or below `path` (every marked village
/// when `None`), one write transaction each, so that a writer waits for one
/// village's recount at most. Returns how many were recounted.
pub fn settle_under(db: &Db, path: Option<&AreaPath>) -> Result<usize, DbError> {
    let marked: Vec<i64> = with_conn!(db, |conn| {
        // The village's path from `areas`, by its primary key: the few marked
        // villages are joined, not the area tree scanned.
        let mut query = coverage_pending::table
            .inner_join(areas::table)
            .select(coverage_pending::village_id)
            .order(coverage_pending::village_id)
            .into_boxed();
        if let Some(path) = path {
            let (lower, upper) = path.subtree_range();
            query = query
                .filter(areas::path.ge(lower))
                .filter(areas::path.lt(upper));
        }
        query.load(conn)?
    });
    let mut settled = 0;
    for village_id in marked {
        if write_tx!(db, |conn| conn.settle(village_id))? {
            settled += 1;
        }
    }
    Ok(settled)
}

/// How many villages wait for their recount (shown by `GET /metrics`).
pub fn waiting(db: &Db) -> Result<i64, DbError> {
    Ok(with_conn!(db, |conn| coverage_pending::table
        .count()
        .get_result(conn)?))
}

/// Recounts the marked villages until the server stops: first what an earlier
/// run left marked (it may have stopped between an upload's commit and its
/// recount), then every [`PERIOD`].
pub async fn run(state: web::Data<AppState>) {
    loop {
        let db = state.db.clone();
        match web::block(move || settle_under(&db, None)).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "cannot recount the marked villages"),
            Err(error) => tracing::warn!(%error, "the villages' recount stopped"),
        }
        tokio::time::sleep(PERIOD).await;
    }
}
