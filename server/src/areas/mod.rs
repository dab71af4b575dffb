//! Places: `GET /areas`, `GET /areas/{id}`, `POST /areas/import`.

pub mod import;
pub mod store;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use camket_schema::domain::AreaId;
use camket_schema::models::AreaRow;
use serde::{Deserialize, Serialize};

use crate::access::{authorize, authorize_found, Action, Principal};
use crate::error::{ApiError, ImportError};
use crate::paging::{cursor_param, decode_id, parse_limit, Page};
use crate::state::AppState;
use camket_schema::domain::AreaLevel;

/// An area in a listing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AreaSummary {
    pub id: AreaId,
    pub code: String,
    pub name: String,
    pub level: AreaLevel,
    pub parent_id: Option<AreaId>,
}

impl From<AreaRow> for AreaSummary {
    fn from(row: AreaRow) -> AreaSummary {
        AreaSummary {
            id: row.id,
            code: row.code,
            name: row.name,
            level: row.level,
            parent_id: row.parent_id,
        }
    }
}

/// One area with its geometry.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AreaDetail {
    #[serde(flatten)]
    pub summary: AreaSummary,
    /// Ids from the root down to this area.
    pub ancestors: Vec<i64>,
    /// GeoJSON Polygon or MultiPolygon.
    pub boundary: Option<serde_json::Value>,
    /// GeoJSON Point.
    pub centroid: Option<serde_json::Value>,
}

/// Query of `GET /areas`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub level: Option<String>,
    pub parent: Option<i64>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Handles the `GET /api/v1/areas` route.
#[utoipa::path(get, path = "/api/v1/areas", tag = "areas", params(ListQuery), responses((status = 200, description = "areas of the caller's subtree, by id", body = Page<AreaSummary>)))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Action::ReadAreas, None)?;
    let query = query.into_inner();
    let level = query
        .level
        .as_deref()
        .map(|l| {
            l.parse().map_err(|e: camket_schema::domain::UnknownName| {
                ApiError::bad_param("level", e.to_string())
            })
        })
        .transpose()?;
    let after = cursor_param(query.cursor.as_deref(), decode_id)?;
    let limit = parse_limit(query.limit, 100, 1000)?;
    let filter = store::AreaFilter {
        level,
        parent: query.parent.map(AreaId),
        after,
        limit,
    };
    let db = state.db.clone();
    let rows = web::block(move || store::list(&db, &principal.scope, &filter)).await??;
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.id.to_string()))
        .flatten();
    let items: Vec<AreaSummary> = rows.into_iter().map(AreaSummary::from).collect();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// Handles the `GET /api/v1/areas/{id}` route.
#[utoipa::path(get, path = "/api/v1/areas/{id}", tag = "areas", params(("id" = i64, Path, description = "the id")), responses((status = 200, description = "one area with its boundary", body = AreaDetail)))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = AreaId(id.into_inner());
    let db = state.db.clone();
    let missing = || ApiError::NotFound(format!("no area with id {id} in your areas"));
    let row = web::block(move || store::get(&db, id))
        .await??
        .ok_or_else(missing)?;
    let path = row.path.clone();
    authorize_found(&principal, Action::ReadAreas, &path, missing)?;
    let boundary = row
        .boundary
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok());
    let centroid = match (row.centroid_lat, row.centroid_lon) {
        (Some(lat), Some(lon)) => {
            Some(serde_json::json!({"type": "Point", "coordinates": [lon, lat]}))
        }
        _ => None,
    };
    Ok(HttpResponse::Ok().json(AreaDetail {
        ancestors: path
            .ids()
            .into_iter()
            .map(|a| a.0)
            .filter(|a| *a != row.id.0)
            .collect(),
        summary: AreaSummary::from(row),
        boundary,
        centroid,
    }))
}

/// Handles the `POST /api/v1/areas/import` route: a CSV (`text/csv`) or GeoJSON
/// (`application/geo+json`) file of areas, imported all or nothing.
#[utoipa::path(post, path = "/api/v1/areas/import", tag = "areas", request_body(content((String = "text/csv"), (serde_json::Value = "application/geo+json")), description = "areas as CSV (code,name,level,parent_code,centroid_lat,centroid_lon,boundary) or a GeoJSON FeatureCollection"), responses((status = 200, description = "what was created and updated; nothing is written on error", body = crate::areas::store::ImportSummary)))]
pub async fn import_file(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Action::ManagePlaces, None)?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let is_geojson = content_type.contains("json");
    if !is_geojson && !content_type.starts_with("text/csv") {
        return Err(ApiError::bad_param(
            "Content-Type",
            "send the file as text/csv or application/geo+json",
        ));
    }
    let summary = import_areas(&state, &principal, body, is_geojson).await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// Imports a CSV or GeoJSON file of areas inside `principal`'s, all or
/// nothing. The service behind `POST /areas/import` and the console.
pub async fn import_areas(
    state: &AppState,
    principal: &Principal,
    body: web::Bytes,
    is_geojson: bool,
) -> Result<store::ImportSummary, ApiError> {
    authorize(principal, Action::ManagePlaces, None)?;
    let scope = principal.scope.clone();
    let db = state.db.clone();
    let summary = web::block(move || {
        let records = if is_geojson {
            import::parse_geojson(&body)
        } else {
            import::parse_csv(&body)
        }
        .map_err(ImportError::Rejected)?;
        store::import(&db, &records, Some(&scope), &|_| {})
    })
    .await??;
    tracing::info!(
        created = summary.created,
        updated = summary.updated,
        "areas imported"
    );
    Ok(summary)
}
