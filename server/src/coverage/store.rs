//! Coverage reads: the maintained per-village counts, the villages of a
//! subtree and one village's facts. Plain queries in storage terms (`DbError`);
//! which area a caller may read is decided by the handlers. Writes go through
//! [`super::maintain::Recompute::touch`] (or `mark`, for a new upload); a read
//! of the kept counts or figures recounts the marked villages it covers first.

use std::collections::HashMap;

use diesel::prelude::*;

use camket_schema::domain::{AreaLevel, AreaPath};
use camket_schema::models::AreaRow;
use camket_schema::tables::{areas, coverage_counts};
use camket_schema::{with_conn, Db, DbError};

use super::maintain::{Facts, Recompute};
use super::rules::Count;
use crate::campaigns::CampaignRules;
use crate::reports::figures::VillageFigures;
use camket_schema::tables::village_figures;

/// The maintained counts of a campaign in a subtree: (target index, village id,
/// village path, count), after the subtree's marked villages are recounted.
pub fn subtree_counts(
    db: &Db,
    campaign_id: i64,
    path: &AreaPath,
) -> Result<Vec<(usize, i64, AreaPath, Count)>, DbError> {
    super::pending::settle_under(db, Some(path))?;
    let (lower, upper) = path.subtree_range();
    let rows: Vec<(i32, i64, AreaPath, i32, i32, i32)> = with_conn!(db, |conn| {
        coverage_counts::table
            .filter(coverage_counts::campaign_id.eq(campaign_id))
            .filter(coverage_counts::village_path.ge(&lower))
            .filter(coverage_counts::village_path.lt(&upper))
            .select((
                coverage_counts::target_index,
                coverage_counts::village_id,
                coverage_counts::village_path,
                coverage_counts::eligible,
                coverage_counts::covered,
                coverage_counts::pending,
            ))
            .load(conn)?
    });
    Ok(rows
        .into_iter()
        .map(|(target, village, path, eligible, covered, pending)| {
            let count = Count {
                eligible: eligible.into(),
                covered: covered.into(),
                pending: pending.into(),
            };
            (usize::try_from(target).unwrap_or(0), village, path, count)
        })
        .collect())
}

/// Areas by id, in id order.
pub fn areas_by_id(db: &Db, ids: &[i64]) -> Result<Vec<AreaRow>, DbError> {
    let mut found: Vec<AreaRow> = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        found.extend(with_conn!(db, |conn| areas::table
            .filter(areas::id.eq_any(chunk))
            .select(AreaRow::as_select())
            .load::<AreaRow>(conn)?));
    }
    found.sort_by_key(|area| area.id);
    Ok(found)
}

/// The villages at or below `path`, by id.
pub fn villages_under(db: &Db, path: &AreaPath) -> Result<Vec<AreaRow>, DbError> {
    let (lower, upper) = path.subtree_range();
    Ok(with_conn!(db, |conn| areas::table
        .filter(areas::path.ge(&lower))
        .filter(areas::path.lt(&upper))
        .filter(areas::level.eq(AreaLevel::Village))
        .select(AreaRow::as_select())
        .order(areas::id)
        .load(conn)?))
}

/// The households and the live submissions that may cover a target, of every
/// village at or below `path`, by village id.
pub fn subtree_facts(db: &Db, path: &AreaPath) -> Result<HashMap<i64, Facts>, DbError> {
    Ok(with_conn!(db, |conn| conn.subtree_facts(path)?))
}

/// The report figures kept live for a campaign's villages at or below `path`,
/// by village id, after their marked villages are recounted.
pub fn kept_figures(
    db: &Db,
    campaign_id: i64,
    path: &AreaPath,
) -> Result<HashMap<i64, VillageFigures>, DbError> {
    super::pending::settle_under(db, Some(path))?;
    let (lower, upper) = path.subtree_range();
    let rows: Vec<(i64, String)> = with_conn!(db, |conn| village_figures::table
        .filter(village_figures::campaign_id.eq(campaign_id))
        .filter(village_figures::village_path.ge(&lower))
        .filter(village_figures::village_path.lt(&upper))
        .select((village_figures::village_id, village_figures::figures))
        .load(conn)?);
    rows.into_iter()
        .map(|(village, json)| Ok((village, super::maintain::from_json(&json)?)))
        .collect()
}

/// One village's report figures for a campaign, counted as of `as_of`.
pub fn figures_as_of(
    db: &Db,
    campaign: &CampaignRules,
    village: &AreaRow,
    as_of: chrono::DateTime<chrono::Utc>,
) -> Result<VillageFigures, DbError> {
    Ok(with_conn!(db, |conn| conn
        .figures_as_of(&[campaign], village.id.0, &village.path, as_of)?
        .pop()
        .unwrap_or_default()))
}
