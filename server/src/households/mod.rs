//! Households: `GET /villages/{id}/households?since=`, `GET /households/{id}`,
//! `POST /households/import`.

pub mod import;
pub mod store;

use actix_web::{web, HttpResponse};
use camket_schema::domain::{AreaId, HouseholdId};
use camket_schema::models::HouseholdRow;
use serde::{Deserialize, Serialize};

use crate::access::{authorize, authorize_found, Action, Principal};
use crate::areas;
use crate::error::ApiError;
use crate::paging::parse_limit;
use crate::state::AppState;
use camket_schema::domain::AreaLevel;
use store::SyncCursor;

/// A household as phones and officers see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HouseholdView {
    pub id: HouseholdId,
    pub village_id: AreaId,
    pub code: String,
    pub head_name: String,
    pub address: String,
    pub member_count: i32,
    /// `{"lat", "lon"}` where known.
    pub location: Option<serde_json::Value>,
    pub categories: Vec<String>,
    /// `false` once the household is removed from the roster: phones drop it.
    pub active: bool,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<HouseholdRow> for HouseholdView {
    fn from(row: HouseholdRow) -> HouseholdView {
        HouseholdView {
            id: row.id,
            village_id: row.village_id,
            code: row.code,
            head_name: row.head_name,
            address: row.address,
            member_count: row.member_count,
            location: match (row.lat, row.lon) {
                (Some(lat), Some(lon)) => Some(serde_json::json!({"lat": lat, "lon": lon})),
                _ => None,
            },
            categories: serde_json::from_str(&row.categories).unwrap_or_default(),
            active: row.active,
            updated_at: row.updated_at.and_utc(),
        }
    }
}

/// Query of the roster sync.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    pub since: Option<String>,
    pub limit: Option<i64>,
}

/// One entry of a roster sync: a household as it is now, or the news that it
/// left the village (`{"id", "status": "moved_away"}`, nothing personal).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum RosterItem {
    Present(HouseholdView),
    Departed { id: i64, status: &'static str },
}

impl From<store::RosterChange> for RosterItem {
    fn from(change: store::RosterChange) -> RosterItem {
        match change {
            store::RosterChange::Present(row) => RosterItem::Present(row.into()),
            store::RosterChange::Departed { household_id, .. } => RosterItem::Departed {
                id: household_id,
                status: "moved_away",
            },
        }
    }
}

/// A page of roster changes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SyncPage {
    pub items: Vec<RosterItem>,
    /// Keep this and send it as `since` next time (also when `items` is empty).
    pub next_cursor: String,
    /// More changes are waiting: ask again right away.
    pub has_more: bool,
}

/// Handles the `GET /api/v1/villages/{id}/households` route: the village roster,
/// or only what changed since a cursor.
#[utoipa::path(get, path = "/api/v1/villages/{id}/households", tag = "households", params(("id" = i64, Path, description = "the id"), SyncQuery), responses((status = 200, description = "the roster, or what changed since a cursor", body = SyncPage)))]
pub async fn sync(
    state: web::Data<AppState>,
    principal: Principal,
    village_id: web::Path<i64>,
    query: web::Query<SyncQuery>,
) -> Result<HttpResponse, ApiError> {
    let village_id = AreaId(village_id.into_inner());
    let since = match query.since.as_deref() {
        None | Some("") => SyncCursor::default(),
        Some(text) => SyncCursor::decode(text).ok_or_else(|| {
            ApiError::bad_param("since", "not a cursor returned by this endpoint")
        })?,
    };
    let limit = parse_limit(query.limit, 500, 5000)?;
    let db = state.db.clone();
    let missing = || ApiError::NotFound(format!("no village with id {village_id} in your areas"));
    let village = web::block(move || areas::store::get(&db, village_id))
        .await??
        .ok_or_else(missing)?;
    let path = village.path.clone();
    authorize_found(&principal, Action::ReadHouseholds, &path, missing)?;
    if village.level != AreaLevel::Village {
        return Err(ApiError::NotFound(format!(
            "area {village_id} is a {}, not a village",
            village.level
        )));
    }
    let db = state.db.clone();
    let changes =
        web::block(move || store::changes_since(&db, village_id.0, since, limit)).await??;
    let next = changes
        .last()
        .map(store::RosterChange::cursor)
        .unwrap_or(since);
    Ok(HttpResponse::Ok().json(SyncPage {
        has_more: changes.len() as i64 == limit,
        next_cursor: next.encode(),
        items: changes.into_iter().map(RosterItem::from).collect(),
    }))
}

/// Handles the `GET /api/v1/households/{id}` route.
#[utoipa::path(get, path = "/api/v1/households/{id}", tag = "households", params(("id" = i64, Path, description = "the id")), responses((status = 200, description = "one household", body = HouseholdView)))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = HouseholdId(id.into_inner());
    let db = state.db.clone();
    let missing = || ApiError::NotFound(format!("no household with id {id} in your areas"));
    let (row, path) = web::block(move || store::get(&db, id))
        .await??
        .ok_or_else(missing)?;
    authorize_found(&principal, Action::ReadHouseholds, &path, missing)?;
    Ok(HttpResponse::Ok().json(HouseholdView::from(row)))
}

/// Handles the `POST /api/v1/households/import` route: a roster CSV, all or nothing.
#[utoipa::path(post, path = "/api/v1/households/import", tag = "households", request_body(content = String, content_type = "text/csv", description = "village_code,code,head_name,address,member_count,lat,lon,categories"), responses((status = 200, description = "what was created and updated; nothing is written on error", body = crate::areas::store::ImportSummary)))]
pub async fn import_file(
    state: web::Data<AppState>,
    principal: Principal,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(import_households(&state, &principal, body).await?))
}

/// Imports a household roster CSV into villages inside `principal`'s areas,
/// all or nothing. The service behind `POST /households/import` and the console.
pub async fn import_households(
    state: &AppState,
    principal: &Principal,
    body: web::Bytes,
) -> Result<crate::areas::store::ImportSummary, ApiError> {
    authorize(principal, Action::ManagePlaces, None)?;
    let scope = principal.scope.clone();
    let db = state.db.clone();
    let summary = web::block(move || {
        let (records, problems) = import::read_csv(&body);
        tracing::info!(rows = records.len(), "household import started");
        store::import(&db, &records, problems, Some(&scope), &|_| {})
    })
    .await??;
    tracing::info!(
        created = summary.created,
        updated = summary.updated,
        "households imported"
    );
    Ok(summary)
}

/// Body of the move route.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MoveRequest {
    pub village_id: i64,
}

/// Handles the `POST /api/v1/households/{id}/move` route (a move or a village split).
#[utoipa::path(post, path = "/api/v1/households/{id}/move", tag = "households", params(("id" = i64, Path, description = "the id")), request_body = MoveRequest, responses((status = 200, description = "the household in its new village", body = HouseholdView)))]
pub async fn move_household(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: crate::json_body::JsonBody<MoveRequest>,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Action::ManagePlaces, None)?;
    let id = HouseholdId(id.into_inner());
    let target = body.into_inner().village_id;
    let db = state.db.clone();
    let missing = || ApiError::NotFound(format!("no household with id {id} in your areas"));
    let (row, from) = web::block(move || store::get(&db, id))
        .await??
        .ok_or_else(missing)?;
    authorize_found(&principal, Action::ManagePlaces, &from, missing)?;
    let db = state.db.clone();
    // A village outside the admin's areas answers like a missing one.
    let village = web::block(move || areas::store::get(&db, AreaId(target)))
        .await??
        .filter(|v| v.level == AreaLevel::Village)
        .filter(|v| principal.scope.covers(&v.path))
        .ok_or_else(|| {
            ApiError::invalid(
                "village_id",
                format!("no village with id {target} in your areas"),
            )
        })?;
    authorize(&principal, Action::ManagePlaces, Some(&village.path))?;
    let db = state.db.clone();
    let moved = web::block(move || store::move_to(&db, row.id, target)).await??;
    Ok(HttpResponse::Ok().json(HouseholdView::from(moved)))
}

impl From<store::MoveRefusal> for ApiError {
    fn from(refusal: store::MoveRefusal) -> ApiError {
        match refusal {
            store::MoveRefusal::UnknownHousehold(_) => ApiError::NotFound(refusal.to_string()),
            store::MoveRefusal::AlreadyThere | store::MoveRefusal::CodeTaken(_) => {
                ApiError::Conflict(refusal.to_string())
            }
            store::MoveRefusal::Storage(error) => ApiError::from(error),
        }
    }
}
