//! Report reads: each village's figures (kept live in `village_figures`, or
//! filed once per due moment in `filed_figures`) and the flagged submissions
//! still waiting for review, in a subtree. Plain queries in storage terms
//! (`DbError`); which area a caller may read is decided by the handlers.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use camket_schema::domain::AreaPath;
use camket_schema::models::AreaRow;
use camket_schema::tables::{filed_figures, submissions};
use camket_schema::{with_conn, write_tx, Db, DbError};

use super::figures::VillageFigures;
use crate::campaigns::CampaignRules;
use crate::coverage;
use crate::coverage::maintain::{Recompute, ToFile};

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
    // A few villages per transaction: the first report after an upgrade may
    // count a whole province, and SQLite's writer must not wait for all of it.
    for batch in missing.chunks(25) {
        write_tx!(db, |conn| conn.recompute_villages(batch))?;
    }
    coverage::store::kept_figures(db, campaign.row.id, path)
}

/// The figures of `villages` (all at or below `path`) as of `as_of` (a moment
/// that has passed), by village id: read from their filing, filing those not
/// yet filed when `as_of` is a moment a report falls due and has settled
/// (see [`super::filing::may_file`]); any other moment is counted and not kept.
/// The recount is done on a plain connection and only the filing's rows are
/// written in a (short) write transaction: SQLite has one writer, and the
/// phones' submissions must not wait for a province's recount.
pub fn filed_figures(
    db: &Db,
    campaign: &CampaignRules,
    as_of: DateTime<Utc>,
    path: &AreaPath,
    villages: &[AreaRow],
) -> Result<HashMap<i64, VillageFigures>, DbError> {
    // A marked village's kept figures may be behind a change made before
    // `as_of`, and `figures_to_file` would take them as they are.
    coverage::pending::settle_under(db, Some(path))?;
    let (lower, upper) = path.subtree_range();
    let rows: Vec<(i64, String)> = with_conn!(db, |conn| filed_figures::table
        .filter(filed_figures::campaign_id.eq(campaign.row.id))
        .filter(filed_figures::as_of.eq(as_of.naive_utc()))
        .filter(filed_figures::village_path.ge(&lower))
        .filter(filed_figures::village_path.lt(&upper))
        .select((filed_figures::village_id, filed_figures::figures))
        .load(conn)?);
    let mut filed: HashMap<i64, VillageFigures> = HashMap::with_capacity(villages.len());
    for (village, json) in rows {
        filed.insert(village, coverage::maintain::from_json(&json)?);
    }
    let unfiled: Vec<AreaRow> = villages
        .iter()
        .filter(|v| !filed.contains_key(&v.id.0))
        .cloned()
        .collect();
    let keep = super::filing::may_file(campaign, as_of, Utc::now());
    for batch in unfiled.chunks(100) {
        let wanted: Vec<(i64, AreaPath)> = batch.iter().map(|v| (v.id.0, v.path.clone())).collect();
        let mut found = with_conn!(db, |conn| conn.figures_to_file(campaign, as_of, &wanted)?);
        let new: Vec<(i64, &AreaPath, &VillageFigures)> = wanted
            .iter()
            .filter_map(|(id, path)| match found.get(id) {
                Some(ToFile::New(figures)) => Some((*id, path, figures)),
                _ => None,
            })
            .collect();
        if keep && !new.is_empty() {
            write_tx!(db, |conn| conn.store_filed(campaign, as_of, &new))?;
            // Read back what is filed: another instance or request may have
            // filed some of these first, and its filing is the one kept.
            found = with_conn!(db, |conn| conn.figures_to_file(campaign, as_of, &wanted)?);
        }
        filed.extend(found.into_iter().map(|(id, to_file)| match to_file {
            ToFile::Filed(figures) | ToFile::New(figures) => (id, figures),
        }));
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
