//! Campaign storage: plain queries that answer in storage terms (`DbError`) or
//! with a domain refusal, never in HTTP terms; the handlers map them.

use chrono::{FixedOffset, Utc};
use diesel::prelude::*;

use camket_schema::domain::AreaPath;
use camket_schema::models::CampaignRow;
use camket_schema::tables::{areas, campaigns};
use camket_schema::{with_conn, write_tx, Db, DbError};

use super::{CampaignRules, CampaignSpec};
use crate::coverage::maintain::{Recompute, Touched};
use crate::coverage::rules::Window;

/// Why a campaign was not stored.
#[derive(Debug, thiserror::Error)]
pub enum CreateRefusal {
    #[error("no area has code '{0}'")]
    UnknownScope(String),
    #[error("a campaign with code '{0}' exists")]
    CodeTaken(String),
    #[error("the campaign's targets cannot be written: {0}")]
    Targets(#[from] serde_json::Error),
    #[error(transparent)]
    Storage(#[from] DbError),
}

camket_schema::storage_errors_into!(CreateRefusal);

/// Stores a campaign and counts its coverage for every village in scope, in one
/// transaction.
pub fn create(db: &Db, spec: &CampaignSpec, offset: FixedOffset) -> Result<i64, CreateRefusal> {
    let window = Window::from_dates(spec.starts_on, spec.ends_on, offset);
    let targets = serde_json::to_string(&spec.targets)?;
    let now = Utc::now().naive_utc();
    write_tx!(db, |conn| {
        let (scope_id, scope_path): (i64, AreaPath) = areas::table
            .filter(areas::code.eq(&spec.scope))
            .select((areas::id, areas::path))
            .first(conn)
            .optional()?
            .ok_or_else(|| CreateRefusal::UnknownScope(spec.scope.clone()))?;
        let taken: i64 = campaigns::table
            .filter(campaigns::code.eq(&spec.code))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(CreateRefusal::CodeTaken(spec.code.clone()));
        }
        let id: i64 = diesel::insert_into(campaigns::table)
            .values((
                campaigns::code.eq(&spec.code),
                campaigns::name.eq(&spec.name),
                campaigns::directive.eq(&spec.directive),
                campaigns::scope_area_id.eq(scope_id),
                campaigns::starts_on.eq(spec.starts_on),
                campaigns::ends_on.eq(spec.ends_on),
                campaigns::window_start.eq(window.start.naive_utc()),
                campaigns::window_end.eq(window.end.naive_utc()),
                campaigns::utc_offset_minutes.eq(offset.local_minus_utc() / 60),
                campaigns::targets.eq(&targets),
                campaigns::created_at.eq(now),
            ))
            .returning(campaigns::id)
            .get_result(conn)?;
        conn.touch(Touched::Campaign(&scope_path))?;
        Ok(id)
    })
}

/// Every campaign, with what coverage needs of it.
pub fn all(db: &Db) -> Result<Vec<CampaignRules>, DbError> {
    with_conn!(db, |conn| Ok(conn.campaign_rules()?))
}

/// The path of the area with this code, if any.
pub fn scope_path(db: &Db, code: &str) -> Result<Option<AreaPath>, DbError> {
    with_conn!(db, |conn| Ok(areas::table
        .filter(areas::code.eq(code))
        .select(areas::path)
        .first(conn)
        .optional()?))
}

/// The row of a campaign by code.
pub fn by_code(db: &Db, code: &str) -> Result<Option<CampaignRow>, DbError> {
    with_conn!(db, |conn| Ok(campaigns::table
        .filter(campaigns::code.eq(code))
        .select(CampaignRow::as_select())
        .first(conn)
        .optional()?))
}
