//! Households in the database: all-or-nothing roster import and delta sync.
//!
//! Every write bumps the `households` sync counter inside its transaction and
//! stamps the rows it touches with the new value. The counter row is locked
//! until commit, so stamps are handed out in commit order and a phone that has
//! seen stamp N has seen everything up to N: its cursor is `(stamp, id)`.

use std::collections::HashMap;

use chrono::Utc;
use diesel::prelude::*;

use camket_schema::domain::{AreaLevel, AreaPath, HouseholdId};
use camket_schema::models::{HouseholdRow, NewHousehold};
use camket_schema::tables::{areas, household_departures, households, sync_counters};
use camket_schema::{with_conn, write_tx, Db, DbError};

use super::import::HouseholdRecord;
use crate::access::Scope;
use crate::areas::store::ImportSummary;
use crate::coverage::maintain::{Recompute, Touched};
use crate::error::{FieldError, ImportError};

/// A position in a village's change stream: (sync stamp, household id).
pub type SyncCursor = crate::paging::Cursor;

/// One entry of a village's change stream.
#[derive(Debug, Clone)]
pub enum RosterChange {
    /// A household of the village, as it is now.
    Present(HouseholdRow),
    /// A household that left the village (moved to another): only its id.
    Departed { household_id: i64, seq: i64 },
}

impl RosterChange {
    /// Where the entry sits in the stream.
    pub fn cursor(&self) -> SyncCursor {
        match self {
            RosterChange::Present(row) => SyncCursor {
                major: row.sync_seq,
                minor: row.id.0,
            },
            RosterChange::Departed { household_id, seq } => SyncCursor {
                major: *seq,
                minor: *household_id,
            },
        }
    }
}

/// What changed in a village after `since`, in change order: its households,
/// and a tombstone for each household that left it after `since` (sent once:
/// it carries the stamp of the move, so a later cursor is past it).
pub fn changes_since(
    db: &Db,
    village_id: i64,
    since: SyncCursor,
    limit: i64,
) -> Result<Vec<RosterChange>, DbError> {
    let (present, departed) = with_conn!(db, |conn| {
        // Stamps are taken under the counter's row lock, so every stamp up to
        // the counter's value is committed: both reads stop there, and a change
        // committed between them cannot be jumped over by the cursor.
        let upper: i64 = sync_counters::table
            .find("households")
            .select(sync_counters::value)
            .first(conn)
            .optional()?
            .unwrap_or(0);
        let present: Vec<HouseholdRow> = households::table
            .filter(households::village_id.eq(village_id))
            .filter(households::sync_seq.le(upper))
            .filter(
                households::sync_seq.gt(since.major).or(households::sync_seq
                    .eq(since.major)
                    .and(households::id.gt(since.minor))),
            )
            .order((households::sync_seq, households::id))
            .limit(limit)
            .select(HouseholdRow::as_select())
            .load(conn)?;
        let departed: Vec<(i64, i64)> = household_departures::table
            .filter(household_departures::village_id.eq(village_id))
            .filter(household_departures::sync_seq.le(upper))
            .filter(
                household_departures::sync_seq
                    .gt(since.major)
                    .or(household_departures::sync_seq
                        .eq(since.major)
                        .and(household_departures::household_id.gt(since.minor))),
            )
            .order((
                household_departures::sync_seq,
                household_departures::household_id,
            ))
            .limit(limit)
            .select((
                household_departures::household_id,
                household_departures::sync_seq,
            ))
            .load(conn)?;
        (present, departed)
    });
    let mut changes: Vec<RosterChange> = present
        .into_iter()
        .map(RosterChange::Present)
        .chain(
            departed
                .into_iter()
                .map(|(household_id, seq)| RosterChange::Departed { household_id, seq }),
        )
        .collect();
    changes.sort_by_key(|change| {
        let cursor = change.cursor();
        (cursor.major, cursor.minor)
    });
    changes.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(changes)
}

/// One household with the path of its village.
pub fn get(db: &Db, id: HouseholdId) -> Result<Option<(HouseholdRow, AreaPath)>, DbError> {
    with_conn!(db, |conn| {
        let found: Option<(HouseholdRow, AreaPath)> = households::table
            .inner_join(areas::table)
            .filter(households::id.eq(id.0))
            .select((HouseholdRow::as_select(), areas::path))
            .first(conn)
            .optional()?;
        Ok(found)
    })
}

fn categories_json(record: &HouseholdRecord) -> String {
    let names: Vec<&str> = record.categories.iter().map(|c| c.as_str()).collect();
    serde_json::to_string(&names).unwrap_or_else(|_| "[]".into())
}

/// Creates or updates households in one transaction: any problem rolls back all of it.
pub fn import(
    db: &Db,
    records: &[HouseholdRecord],
    earlier_problems: Vec<FieldError>,
    scope: Option<&Scope>,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<ImportSummary, ImportError> {
    let mut village_codes: Vec<&str> = records.iter().map(|r| r.village_code.as_str()).collect();
    village_codes.sort_unstable();
    village_codes.dedup();
    let now = Utc::now().naive_utc();
    write_tx!(db, |conn| {
        let mut villages: HashMap<String, (i64, AreaLevel, AreaPath)> = HashMap::new();
        for chunk in village_codes.chunks(500) {
            let rows: Vec<(i64, String, AreaLevel, AreaPath)> = areas::table
                .filter(areas::code.eq_any(chunk))
                .select((areas::id, areas::code, areas::level, areas::path))
                .load(conn)?;
            for (id, code, level, path) in rows {
                villages.insert(code, (id, level, path));
            }
        }
        let mut errors = earlier_problems;
        for record in records {
            match villages.get(&record.village_code) {
                None => errors.push(FieldError::at_line(
                    record.line,
                    "village_code",
                    format!("no area has code '{}'", record.village_code),
                )),
                Some((_, level, _)) if *level != AreaLevel::Village => {
                    errors.push(FieldError::at_line(
                        record.line,
                        "village_code",
                        format!("'{}' is a {level}, not a village", record.village_code),
                    ))
                }
                Some((_, _, path)) => {
                    if let Some(Err(why)) = scope.map(|s| s.admits_import_under(path)) {
                        errors.push(FieldError::at_line(record.line, "village_code", why));
                    }
                }
            }
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.line);
            return Err(ImportError::Rejected(errors));
        }
        let village_ids: Vec<i64> = villages.values().map(|(id, _, _)| *id).collect();
        let mut existing: HashMap<(i64, String), i64> = HashMap::new();
        for chunk in village_ids.chunks(500) {
            let rows: Vec<(i64, i64, String)> = households::table
                .filter(households::village_id.eq_any(chunk))
                .select((households::id, households::village_id, households::code))
                .load(conn)?;
            for (id, village_id, code) in rows {
                existing.insert((village_id, code), id);
            }
        }
        let seq: i64 = diesel::update(sync_counters::table.find("households"))
            .set(sync_counters::value.eq(sync_counters::value + 1))
            .returning(sync_counters::value)
            .get_result(conn)?;
        let mut summary = ImportSummary {
            rows_read: records.len(),
            ..Default::default()
        };
        let mut fresh = Vec::new();
        for record in records {
            let village_id = villages
                .get(&record.village_code)
                .map(|v| v.0)
                .unwrap_or_default();
            match existing.get(&(village_id, record.code.clone())) {
                Some(id) => {
                    diesel::update(households::table.find(id))
                        .set((
                            households::head_name.eq(&record.head_name),
                            households::address.eq(&record.address),
                            households::member_count.eq(record.member_count),
                            households::lat.eq(record.location.map(|l| l.0)),
                            households::lon.eq(record.location.map(|l| l.1)),
                            households::categories.eq(categories_json(record)),
                            households::active.eq(true),
                            households::sync_seq.eq(seq),
                            households::updated_at.eq(now),
                        ))
                        .execute(conn)?;
                    summary.updated += 1;
                }
                None => fresh.push(NewHousehold {
                    village_id,
                    code: record.code.clone(),
                    head_name: record.head_name.clone(),
                    address: record.address.clone(),
                    member_count: record.member_count,
                    lat: record.location.map(|l| l.0),
                    lon: record.location.map(|l| l.1),
                    categories: categories_json(record),
                    active: true,
                    sync_seq: seq,
                    created_at: now,
                    updated_at: now,
                }),
            }
        }
        let mut written = summary.updated;
        for batch in fresh.chunks(500) {
            diesel::insert_into(households::table)
                .values(batch)
                .execute(conn)?;
            summary.created += batch.len();
            written += batch.len();
            progress(written);
        }
        let touched: Vec<i64> = villages.values().map(|(id, _, _)| *id).collect();
        conn.touch(Touched::Villages(&touched))?;
        progress(records.len());
        Ok(summary)
    })
}

/// Why a household was not moved.
#[derive(Debug, thiserror::Error)]
pub enum MoveRefusal {
    #[error("no household {0}")]
    UnknownHousehold(HouseholdId),
    #[error("the household is already in that village")]
    AlreadyThere,
    #[error("the target village already has a household with code '{0}'")]
    CodeTaken(String),
    #[error(transparent)]
    Storage(#[from] DbError),
}

camket_schema::storage_errors_into!(MoveRefusal);

/// Moves a household to another village (a move, or a village split); both
/// villages' phones see the change and both villages' coverage is recomputed.
pub fn move_to(db: &Db, id: HouseholdId, village_id: i64) -> Result<HouseholdRow, MoveRefusal> {
    let now = Utc::now().naive_utc();
    write_tx!(db, |conn| {
        let row = households::table
            .find(id.0)
            .select(HouseholdRow::as_select())
            .first(conn)
            .optional()?
            .ok_or(MoveRefusal::UnknownHousehold(id))?;
        if row.village_id.0 == village_id {
            return Err(MoveRefusal::AlreadyThere);
        }
        let taken: i64 = households::table
            .filter(households::village_id.eq(village_id))
            .filter(households::code.eq(&row.code))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(MoveRefusal::CodeTaken(row.code));
        }
        let seq: i64 = diesel::update(sync_counters::table.find("households"))
            .set(sync_counters::value.eq(sync_counters::value + 1))
            .returning(sync_counters::value)
            .get_result(conn)?;
        diesel::update(households::table.find(id.0))
            .set((
                households::village_id.eq(village_id),
                households::sync_seq.eq(seq),
                households::updated_at.eq(now),
            ))
            .execute(conn)?;
        diesel::insert_into(household_departures::table)
            .values((
                household_departures::household_id.eq(id.0),
                household_departures::village_id.eq(row.village_id),
                household_departures::sync_seq.eq(seq),
            ))
            .execute(conn)?;
        conn.touch(Touched::Villages(&[row.village_id.0, village_id]))?;
        Ok(households::table
            .find(id.0)
            .select(HouseholdRow::as_select())
            .first(conn)?)
    })
}
