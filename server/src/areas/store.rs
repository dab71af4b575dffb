//! Areas in the database: scoped listing, lookup, and all-or-nothing import.

use std::collections::HashMap;

use chrono::Utc;
use diesel::prelude::*;

use camket_schema::domain::{AreaId, AreaLevel, AreaPath};
use camket_schema::models::{AreaRow, NewArea};
use camket_schema::tables::areas;
use camket_schema::{with_conn, write_tx, Db, DbError};

use super::import::AreaRecord;
use crate::access::Scope;
use crate::coverage::maintain::{Recompute, Touched};
use crate::error::{FieldError, ImportError};

/// Filters of `GET /areas`.
#[derive(Debug, Clone, Default)]
pub struct AreaFilter {
    pub level: Option<AreaLevel>,
    pub parent: Option<AreaId>,
    /// Only ids greater than this (the cursor).
    pub after: Option<i64>,
    pub limit: i64,
}

/// Areas inside `scope` matching `filter`, by id.
pub fn list(db: &Db, scope: &Scope, filter: &AreaFilter) -> Result<Vec<AreaRow>, DbError> {
    let mut found: Vec<AreaRow> = Vec::new();
    // One range scan per area of the scope: they are few (usually one) and disjoint.
    for (lower, upper) in scope.path_ranges() {
        let rows: Vec<AreaRow> = with_conn!(db, |conn| {
            let mut query = areas::table
                .select(AreaRow::as_select())
                .filter(areas::path.ge(&lower))
                .filter(areas::path.lt(&upper))
                .order(areas::id)
                .limit(filter.limit)
                .into_boxed();
            if let Some(level) = filter.level {
                query = query.filter(areas::level.eq(level));
            }
            if let Some(parent) = filter.parent {
                query = query.filter(areas::parent_id.eq(parent.0));
            }
            if let Some(after) = filter.after {
                query = query.filter(areas::id.gt(after));
            }
            query.load(conn)?
        });
        found.extend(rows);
    }
    found.sort_by_key(|row| row.id);
    found.dedup_by_key(|row| row.id);
    found.truncate(usize::try_from(filter.limit).unwrap_or(0));
    Ok(found)
}

/// The paths of the top-level areas (those without a parent: the provinces).
pub fn top_level_paths(db: &Db) -> Result<Vec<AreaPath>, DbError> {
    Ok(with_conn!(db, |conn| {
        areas::table
            .filter(areas::parent_id.is_null())
            .select(areas::path)
            .load::<AreaPath>(conn)?
    }))
}

/// One area by id.
pub fn get(db: &Db, id: AreaId) -> Result<Option<AreaRow>, DbError> {
    with_conn!(db, |conn| {
        Ok(areas::table
            .find(id.0)
            .select(AreaRow::as_select())
            .first(conn)
            .optional()?)
    })
}

/// Counts of what an import did.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    pub rows_read: usize,
    pub created: usize,
    pub updated: usize,
}

struct Known {
    id: i64,
    path: AreaPath,
    level: AreaLevel,
    parent_id: Option<i64>,
}

/// Creates or updates areas in one transaction: any problem rolls back all of it.
/// `scope` limits where an HTTP import may write (the command line passes `None`).
pub fn import(
    db: &Db,
    records: &[AreaRecord],
    scope: Option<&Scope>,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<ImportSummary, ImportError> {
    let codes: Vec<String> = records
        .iter()
        .flat_map(|r| std::iter::once(r.code.clone()).chain(r.parent_code.clone()))
        .collect();
    let now = Utc::now().naive_utc();
    write_tx!(db, |conn| {
        let mut known: HashMap<String, Known> = HashMap::new();
        for chunk in codes.chunks(500) {
            let rows: Vec<(i64, String, AreaPath, AreaLevel, Option<i64>)> = areas::table
                .filter(areas::code.eq_any(chunk))
                .select((
                    areas::id,
                    areas::code,
                    areas::path,
                    areas::level,
                    areas::parent_id,
                ))
                .load(conn)?;
            for (id, code, path, level, parent_id) in rows {
                known.insert(
                    code,
                    Known {
                        id,
                        path,
                        level,
                        parent_id,
                    },
                );
            }
        }
        let mut errors = Vec::new();
        let mut created_villages = Vec::new();
        let mut summary = ImportSummary {
            rows_read: records.len(),
            ..Default::default()
        };
        for (done, record) in records.iter().enumerate() {
            let line = record.line;
            let parent = match &record.parent_code {
                Some(code) => match known.get(code) {
                    Some(parent) => Some((parent.id, parent.path.clone(), parent.level)),
                    None => {
                        errors.push(FieldError::at_line(line, "parent_code", format!(
                            "no area has code '{code}' (a parent must exist or come earlier in the file)"
                        )));
                        continue;
                    }
                },
                None => None,
            };
            if let Some((_, _, parent_level)) = &parent {
                if !parent_level.may_contain(record.level) {
                    errors.push(FieldError::at_line(
                        line,
                        "level",
                        format!("a {} cannot lie inside a {parent_level}", record.level),
                    ));
                    continue;
                }
            }
            match (&parent, scope) {
                (Some((_, parent_path, _)), Some(scope)) => {
                    if let Err(why) = scope.admits_import_under(parent_path) {
                        errors.push(FieldError::at_line(line, "parent_code", why));
                        continue;
                    }
                }
                (None, Some(_)) => {
                    errors.push(FieldError::at_line(line, "parent_code", "top-level areas can only be created with `camket import areas` on the server"));
                    continue;
                }
                _ => {}
            }
            let parent_id = parent.as_ref().map(|(id, _, _)| *id);
            if let Some(existing) = known.get(&record.code) {
                if existing.parent_id != parent_id || existing.level != record.level {
                    errors.push(FieldError::at_line(line, "parent_code", format!(
                        "area '{}' already exists under another parent or at another level; moving areas is not done by import",
                        record.code
                    )));
                    continue;
                }
                diesel::update(areas::table.find(existing.id))
                    .set((
                        areas::name.eq(&record.name),
                        areas::boundary.eq(record.boundary.as_deref()),
                        areas::centroid_lat.eq(record.centroid.map(|c| c.0)),
                        areas::centroid_lon.eq(record.centroid.map(|c| c.1)),
                        areas::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                summary.updated += 1;
            } else {
                let depth = parent
                    .as_ref()
                    .map(|(_, p, _)| p.ids().len() as i32)
                    .unwrap_or(0);
                let id: i64 = diesel::insert_into(areas::table)
                    .values(&NewArea {
                        code: &record.code,
                        name: &record.name,
                        level: record.level,
                        parent_id,
                        path: "",
                        depth,
                        boundary: record.boundary.as_deref(),
                        centroid_lat: record.centroid.map(|c| c.0),
                        centroid_lon: record.centroid.map(|c| c.1),
                        created_at: now,
                        updated_at: now,
                    })
                    .returning(areas::id)
                    .get_result(conn)?;
                let path = match &parent {
                    Some((_, parent_path, _)) => parent_path.child(AreaId(id)),
                    None => AreaPath::root(AreaId(id)),
                };
                diesel::update(areas::table.find(id))
                    .set(areas::path.eq(path.as_str()))
                    .execute(conn)?;
                known.insert(
                    record.code.clone(),
                    Known {
                        id,
                        path,
                        level: record.level,
                        parent_id,
                    },
                );
                if record.level == AreaLevel::Village {
                    created_villages.push(id);
                }
                summary.created += 1;
            }
            if done % 100 == 99 {
                progress(done + 1);
            }
        }
        progress(records.len());
        if errors.is_empty() {
            conn.touch(Touched::Villages(&created_villages))?;
            Ok(summary)
        } else {
            Err(ImportError::Rejected(errors))
        }
    })
}
