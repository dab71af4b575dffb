//! Report reads: each village's figures (kept live in `village_figures`, or
//! filed once per due moment in `filed_figures`) and the flagged submissions
//! still waiting for review, in a subtree. Plain queries in storage terms
//! (`DbError`); which area a caller may read is decided by the handlers.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use camket_schema::domain::AreaPath;
use camket_schema::models::AreaRow;
use camket_schema::tables::submissions;
use camket_schema::{with_conn, write_tx, Db, DbError};

use super::figures::VillageFigures;
use crate::campaigns::CampaignRules;
use crate::coverage;
use crate::coverage::maintain::Recompute;

/// The live figures of `villages` (all at or below `path`), by village id. A
/// village whose figures were never kept (a database from before they were)
/// is counted now and kept from then on.
pub fn current_figures(
    db: &Db,
    campaign: &CampaignRules,
    path: &AreaPath,
    villages: &[AreaRow],
) -> Result<HashMap<i64, VillageFigures>, DbError> {
    let kept = coverage::store::kept_figures(db, campaign.row.id, path)?;
    let missing: Vec<i64> = villages
        .iter()
        .map(|v| v.id.0)
        .filter(|id| !kept.contains_key(id))
        .collect();
    if missing.is_empty() {
        return Ok(kept);
    }
    write_tx!(db, |conn| conn.recompute_villages(&missing))?;
    coverage::store::kept_figures(db, campaign.row.id, path)
}

/// The figures of `villages` as of `as_of` (a moment that has passed), by
/// village id: read from their filing, filing those not yet filed.
pub fn filed_figures(
    db: &Db,
    campaign: &CampaignRules,
    as_of: DateTime<Utc>,
    villages: &[AreaRow],
) -> Result<HashMap<i64, VillageFigures>, DbError> {
    let mut filed = HashMap::with_capacity(villages.len());
    // In small batches: a recount as of a past moment holds the write lock
    // (SQLite has one) while it counts, and submissions keep arriving.
    for batch in villages.chunks(25) {
        let wanted: Vec<(i64, AreaPath)> = batch.iter().map(|v| (v.id.0, v.path.clone())).collect();
        filed.extend(write_tx!(db, |conn| conn.file_figures(campaign, as_of, &wanted))?);
    }
    Ok(filed)
}

/// How many flagged submissions of a subtree received by `as_of` still wait for review.
pub fn flagged_unreviewed(db: &Db, path: &AreaPath, as_of: DateTime<Utc>) -> Result<i64, DbError> {
    let (lower, upper) = path.subtree_range();
    let as_of = as_of.naive_utc();
    // Written out, not bound, so that both engines use the partial index
    // `submissions_flagged_idx` (a planner cannot match a bound value to it).
    let waiting = diesel::dsl::sql::<diesel::sql_types::Bool>("status = 'received' AND risk > 0");
    Ok(with_conn!(db, |conn| submissions::table
        .filter(waiting)
        .filter(submissions::area_path.ge(&lower))
        .filter(submissions::area_path.lt(&upper))
        .filter(submissions::received_at.le(as_of))
        .count()
        .get_result(conn)?))
}
