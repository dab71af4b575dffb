//! Campaigns: `GET /campaigns`, `POST /campaigns` (admin; JSON or YAML),
//! `GET /campaigns/{id}`, and `camket campaigns load FILE`.

pub mod store;

use actix_web::{web, HttpResponse};
use chrono::{FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::coverage::rules::{Target, Window};
use camket_schema::domain::AreaPath;
use camket_schema::models::CampaignRow;
use camket_schema::Db;

use crate::access::{authorize, Action, Principal};
use crate::error::{ApiError, FieldError};
use crate::state::AppState;

/// A campaign with what coverage needs of it.
#[derive(Debug, Clone)]
pub struct CampaignRules {
    pub row: CampaignRow,
    pub scope_path: AreaPath,
    pub targets: Vec<Target>,
    pub window: Window,
    pub offset: FixedOffset,
}

impl CampaignRules {
    /// Reads a stored campaign; `None` if its targets cannot be read.
    pub fn from_row(row: CampaignRow, scope_path: AreaPath) -> Option<CampaignRules> {
        let targets: Vec<Target> = serde_json::from_str(&row.targets).ok()?;
        let offset = FixedOffset::east_opt(row.utc_offset_minutes * 60)?;
        let window = Window {
            start: row.window_start.and_utc(),
            end: row.window_end.and_utc(),
        };
        Some(CampaignRules {
            scope_path,
            targets,
            window,
            offset,
            row,
        })
    }
}

/// A campaign as written in its YAML file or sent over HTTP.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignSpec {
    /// A short unique code, e.g. `hoang-kim-2025`.
    pub code: String,
    pub name: String,
    /// The directive that launched it, e.g. `153/KH-CAT-PA08`.
    pub directive: String,
    /// The code of the area it covers.
    pub scope: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub targets: Vec<Target>,
}

/// Checks a spec; every problem is listed.
pub fn validate(spec: &CampaignSpec) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if spec.code.trim().is_empty()
        || spec.code.len() > 64
        || spec.code.contains(char::is_whitespace)
    {
        errors.push(FieldError::new(
            "code",
            "is required: 1 to 64 characters without spaces",
        ));
    }
    if spec.name.trim().is_empty() {
        errors.push(FieldError::new("name", "is required"));
    }
    if spec.ends_on < spec.starts_on {
        errors.push(FieldError::new("ends_on", "must not be before starts_on"));
    }
    if spec.targets.is_empty() {
        errors.push(FieldError::new(
            "targets",
            "a campaign needs at least one target",
        ));
    }
    for (i, target) in spec.targets.iter().enumerate() {
        if !(1..=100).contains(&target.threshold_percent) {
            errors.push(FieldError::new(
                format!("targets[{i}].threshold_percent"),
                "must be between 1 and 100",
            ));
        }
        if target.deadline < spec.starts_on {
            errors.push(FieldError::new(
                format!("targets[{i}].deadline"),
                "must not be before starts_on",
            ));
        }
        if let crate::coverage::rules::Eligibility::HouseholdsIn(categories) = &target.who {
            if categories.is_empty() {
                errors.push(FieldError::new(
                    format!("targets[{i}].who"),
                    "name at least one household category",
                ));
            }
        }
    }
    errors
}

/// Parses a YAML (or JSON) campaign file.
pub fn parse(text: &str) -> Result<CampaignSpec, ApiError> {
    // Through JSON values, so that `who: {households_in: [...]}` reads as written
    // (YAML would otherwise want a `!households_in` tag).
    let value: serde_json::Value = serde_yaml_ng::from_str(text)
        .map_err(|e| ApiError::invalid("body", format!("not YAML or JSON: {e}")))?;
    let spec: CampaignSpec =
        crate::json_body::parse_json(value.to_string().as_bytes()).map_err(|e| match e {
            ApiError::BadParam(error) => ApiError::invalid(
                error.field,
                format!("not a valid campaign: {}", error.message),
            ),
            other => other,
        })?;
    let errors = validate(&spec);
    if errors.is_empty() {
        Ok(spec)
    } else {
        Err(ApiError::invalid_many(
            "the campaign has invalid fields",
            errors,
        ))
    }
}

/// A campaign as clients see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CampaignView {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub directive: String,
    pub scope_area_id: i64,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub targets: Vec<Target>,
}

impl CampaignView {
    fn of(rules: &CampaignRules) -> CampaignView {
        CampaignView {
            id: rules.row.id,
            code: rules.row.code.clone(),
            name: rules.row.name.clone(),
            directive: rules.row.directive.clone(),
            scope_area_id: rules.row.scope_area_id,
            starts_on: rules.row.starts_on,
            ends_on: rules.row.ends_on,
            targets: rules.targets.clone(),
        }
    }
}

/// Stores a campaign and computes its coverage for every village in scope.
pub fn create(db: &Db, spec: &CampaignSpec, offset: FixedOffset) -> Result<i64, ApiError> {
    store::create(db, spec, offset).map_err(ApiError::from)
}

/// Every campaign.
pub fn all(db: &Db) -> Result<Vec<CampaignRules>, ApiError> {
    Ok(store::all(db)?)
}

/// One campaign.
pub fn get(db: &Db, id: i64) -> Result<Option<CampaignRules>, ApiError> {
    Ok(store::all(db)?.into_iter().find(|c| c.row.id == id))
}

/// Handles the `GET /api/v1/campaigns` route: campaigns touching the caller's areas.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns", responses((status = 200, description = "campaigns touching the caller's areas", body = crate::paging::Items<CampaignView>)))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    let items: Vec<CampaignView> = visible(&state, &principal)
        .await?
        .iter()
        .map(CampaignView::of)
        .collect();
    Ok(HttpResponse::Ok().json(crate::paging::Items { items }))
}

/// The campaigns whose scope touches `principal`'s areas.
pub async fn visible(
    state: &AppState,
    principal: &Principal,
) -> Result<Vec<CampaignRules>, ApiError> {
    authorize(principal, Action::ReadCoverage, None)?;
    let db = state.db.clone();
    let campaigns = web::block(move || all(&db)).await??;
    Ok(campaigns
        .into_iter()
        .filter(|c| principal.scope.overlaps(&c.scope_path))
        .collect())
}

/// Handles the `GET /api/v1/campaigns/{id}` route.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns", params(("id" = i64, Path, description = "the id")), responses((status = 200, description = "one campaign", body = CampaignView)))]
pub async fn get_one(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let campaign = load(&state, &principal, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(CampaignView::of(&campaign)))
}

/// Loads a campaign whose scope touches the caller's areas; any other is 404,
/// as if it did not exist.
pub async fn load(
    state: &AppState,
    principal: &Principal,
    id: i64,
) -> Result<CampaignRules, ApiError> {
    authorize(principal, Action::ReadCoverage, None)?;
    let db = state.db.clone();
    web::block(move || get(&db, id))
        .await??
        .filter(|campaign| principal.scope.overlaps(&campaign.scope_path))
        .ok_or_else(|| ApiError::NotFound(format!("no campaign {id} in your areas")))
}

/// Handles the `POST /api/v1/campaigns` route (admin): a campaign as JSON or YAML.
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", request_body(content((CampaignSpec = "application/json"), (String = "application/yaml"))), responses((status = 201, description = "the campaign, with coverage computed", body = CampaignView)))]
pub async fn create_campaign(
    state: web::Data<AppState>,
    principal: Principal,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_param("body", "must be UTF-8 JSON or YAML"))?;
    let campaign = create_from_text(&state, &principal, text).await?;
    Ok(HttpResponse::Created().json(CampaignView::of(&campaign)))
}

/// Creates a campaign written as YAML or JSON in an area inside
/// `principal`'s, and computes its coverage. The service behind
/// `POST /campaigns` and the console.
pub async fn create_from_text(
    state: &AppState,
    principal: &Principal,
    text: &str,
) -> Result<CampaignRules, ApiError> {
    authorize(principal, Action::ManageCampaigns, None)?;
    let spec = parse(text)?;
    let db = state.db.clone();
    let scope_code = spec.scope.clone();
    let scope_path = web::block(move || store::scope_path(&db, &scope_code)).await??;
    // An area outside the admin's own answers like an unknown code.
    let scope_path = scope_path
        .filter(|path| principal.scope.covers(path))
        .ok_or_else(|| {
            ApiError::invalid(
                "scope",
                format!("no area has code '{}' in your areas", spec.scope),
            )
        })?;
    authorize(principal, Action::ManageCampaigns, Some(&scope_path))?;
    let db = state.db.clone();
    let offset = state.config.evidence.local_offset();
    let id = web::block(move || create(&db, &spec, offset)).await??;
    load(state, principal, id).await
}

/// The row of a campaign by code (command line).
pub fn by_code(db: &Db, code: &str) -> Result<Option<CampaignRow>, ApiError> {
    Ok(store::by_code(db, code)?)
}

impl From<store::CreateRefusal> for ApiError {
    fn from(refusal: store::CreateRefusal) -> ApiError {
        match refusal {
            store::CreateRefusal::UnknownScope(_) => {
                ApiError::invalid("scope", refusal.to_string())
            }
            store::CreateRefusal::CodeTaken(_) => ApiError::Conflict(refusal.to_string()),
            store::CreateRefusal::Targets(_) => ApiError::Internal(refusal.to_string()),
            store::CreateRefusal::Storage(error) => ApiError::from(error),
        }
    }
}
