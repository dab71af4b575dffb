//! Forms: `GET /forms`, `GET /forms/{id}`, `GET /forms/{id}/versions/{version}`,
//! `POST /forms`, `PUT /forms/{id}/state`, `POST /forms/{id}/versions/{version}/retire`,
//! `POST /forms/{id}/versions/{version}/check`.

pub mod store;
pub mod versions;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use survey_forms::{FormVersion, Label};

use crate::access::{authorize, authorize_everywhere, Action, Principal};
use crate::caching::etag_matches;
use crate::error::{ApiError, FieldError};
use crate::json_body::JsonBody;
use crate::state::AppState;
use camket_schema::domain::UnknownName;
use versions::FormState;

/// A form in the list phones download.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FormSummary {
    pub id: String,
    pub state: FormState,
    /// The current version (the highest not retired).
    pub version: Option<u32>,
    pub hash: Option<String>,
    pub title: Option<Label>,
    /// Every published version (admins only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versions: Option<Vec<VersionSummary>>,
}

/// One published version.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionSummary {
    pub version: u32,
    pub hash: String,
    pub retired: bool,
    pub published_at: chrono::DateTime<chrono::Utc>,
}

fn summary(record: &store::FormRecord, with_versions: bool) -> FormSummary {
    let current = record.current_row();
    FormSummary {
        id: record.id.clone(),
        state: record.state,
        version: current.map(|row| u32::try_from(row.version).unwrap_or(0)),
        hash: current.map(|row| row.content_hash.clone()),
        title: current.map(|row| Label {
            vi: row.title_vi.clone(),
            en: row.title_en.clone(),
        }),
        versions: with_versions.then(|| {
            record
                .versions
                .iter()
                .map(|(v, row)| VersionSummary {
                    version: v.version.0,
                    hash: v.hash.clone(),
                    retired: v.retired,
                    published_at: row.published_at.and_utc(),
                })
                .collect()
        }),
    }
}

/// Query of `GET /forms`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `all` lists closing and closed forms too (admins only).
    pub state: Option<String>,
}

/// Handles the `GET /api/v1/forms` route: the forms the caller may fill.
#[utoipa::path(get, path = "/api/v1/forms", tag = "forms", params(ListQuery), responses((status = 200, description = "the forms", body = crate::paging::Items<FormSummary>)))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let all = match query.state.as_deref() {
        None | Some("open") => false,
        Some("all") => true,
        Some(_) => {
            return Err(ApiError::bad_param(
                "state",
                "use 'open' (default) or 'all'",
            ))
        }
    };
    let items = catalogue(&state, &principal, all).await?;
    Ok(HttpResponse::Ok().json(crate::paging::Items { items }))
}

/// The forms open for filling, or with `all` (form managers only) every form
/// in every state with all its versions.
pub async fn catalogue(
    state: &AppState,
    principal: &Principal,
    all: bool,
) -> Result<Vec<FormSummary>, ApiError> {
    if all {
        authorize(principal, Action::ManageForms, None)?;
    }
    authorize(principal, Action::ReadForms, None)?;
    let db = state.db.clone();
    let records = web::block(move || store::list(&db)).await??;
    Ok(records
        .iter()
        .filter(|r| all || (r.state == FormState::Open && r.current_row().is_some()))
        .map(|r| summary(r, all))
        .collect())
}

fn parse_version(text: &str) -> Result<FormVersion, ApiError> {
    text.parse::<u32>()
        .ok()
        .filter(|v| *v > 0)
        .map(FormVersion)
        .ok_or_else(|| ApiError::NotFound(format!("no form version '{text}'")))
}

/// Forms serve every province: only an admin whose areas cover all of them
/// may publish, close or retire one.
async fn authorize_form_management(
    state: &AppState,
    principal: &Principal,
) -> Result<(), ApiError> {
    authorize(principal, Action::ManageForms, None)?;
    let db = state.db.clone();
    let top_level = web::block(move || crate::areas::store::top_level_paths(&db)).await??;
    authorize_everywhere(principal, Action::ManageForms, &top_level)
}

async fn load(state: &AppState, form_id: &str) -> Result<store::FormRecord, ApiError> {
    let db = state.db.clone();
    let id = form_id.to_string();
    web::block(move || store::get(&db, &id))
        .await??
        .ok_or_else(|| ApiError::NotFound(format!("no form '{form_id}'")))
}

/// A form's current version with its definition.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CurrentForm {
    pub id: String,
    pub state: FormState,
    pub version: i32,
    pub hash: String,
    /// The definition, in the form language (see `survey-forms`).
    pub definition: serde_json::Value,
}

/// What publishing a definition did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Published {
    pub id: survey_forms::FormId,
    pub version: survey_forms::FormVersion,
    pub hash: String,
    pub outcome: store::PublishOutcome,
}

/// Answers that pass the checks, and what approving them would record.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckResult {
    pub ok: bool,
    pub form_id: survey_forms::FormId,
    pub version: survey_forms::FormVersion,
    pub commitment_kind: Option<survey_forms::vocabulary::CommitmentKind>,
    pub household_categories: Vec<survey_forms::vocabulary::HouseholdCategory>,
}

/// Handles the `GET /api/v1/forms/{form_id}` route: the current version.
#[utoipa::path(get, path = "/api/v1/forms/{form_id}", tag = "forms", params(("form_id" = String, Path, description = "the form id")), responses((status = 200, description = "the current version with its definition", body = CurrentForm)))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    form_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Action::ReadForms, None)?;
    let record = load(&state, &form_id).await?;
    let row = record
        .current_row()
        .ok_or_else(|| ApiError::NotFound(format!("form '{}' has no version in use", record.id)))?;
    let definition: serde_json::Value = serde_json::from_str(&row.definition)
        .map_err(|e| ApiError::Internal(format!("stored definition: {e}")))?;
    Ok(HttpResponse::Ok().json(CurrentForm {
        id: record.id.clone(),
        state: record.state,
        version: row.version,
        hash: row.content_hash.clone(),
        definition,
    }))
}

/// Handles the `GET /api/v1/forms/{form_id}/versions/{version}` route: one
/// immutable version, cacheable for a year and revalidated by its content hash.
#[utoipa::path(get, path = "/api/v1/forms/{form_id}/versions/{version}", tag = "forms", params(("form_id" = String, Path, description = "the form id"), ("version" = u32, Path, description = "the version")), responses((status = 200, description = "the definition (immutable; ETag)", body = serde_json::Value), (status = 304, description = "unchanged since If-None-Match")))]
pub async fn get_version(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Action::ReadForms, None)?;
    let (form_id, version) = path.into_inner();
    let version = parse_version(&version)?;
    let record = load(&state, &form_id).await?;
    let row = record
        .version_row(version)
        .ok_or_else(|| ApiError::NotFound(format!("form '{form_id}' has no version {version}")))?;
    let etag = format!("\"{}\"", row.content_hash);
    let cache = (
        header::CACHE_CONTROL,
        "private, max-age=31536000, immutable",
    );
    if etag_matches(&req, &etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header(cache)
            .finish());
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag))
        .insert_header(cache)
        .content_type("application/json")
        .body(row.definition.clone()))
}

/// Handles the `POST /api/v1/forms` route: publishes a definition sent as YAML
/// or JSON. 201 for a new version, 200 when the same content is already published.
#[utoipa::path(post, path = "/api/v1/forms", tag = "forms", request_body(content((String = "application/yaml"), (serde_json::Value = "application/json")), description = "a form definition"), responses((status = 201, description = "a new version", body = Published), (status = 200, description = "this content was already published", body = Published)))]
pub async fn publish(
    state: web::Data<AppState>,
    principal: Principal,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let text = std::str::from_utf8(&body).map_err(|_| {
        ApiError::bad_param("body", "the definition must be UTF-8 text (YAML or JSON)")
    })?;
    let published = publish_text(&state, &principal, text).await?;
    let location = format!(
        "/api/v1/forms/{}/versions/{}",
        published.id, published.version
    );
    match published.outcome {
        store::PublishOutcome::Created => Ok(HttpResponse::Created()
            .insert_header((header::LOCATION, location))
            .json(published)),
        store::PublishOutcome::Unchanged => Ok(HttpResponse::Ok()
            .insert_header((header::LOCATION, location))
            .json(published)),
    }
}

/// Publishes a definition written as YAML or JSON: a new version, or nothing
/// new when this content is already published. The service behind
/// `POST /forms` and the console.
pub async fn publish_text(
    state: &AppState,
    principal: &Principal,
    text: &str,
) -> Result<Published, ApiError> {
    authorize_form_management(state, principal).await?;
    let definition = survey_forms::parse_definition("<request>", text).map_err(|errors| {
        let count = errors.len();
        ApiError::invalid_many(
            format!("{count} problem(s) in the form definition; nothing was published"),
            errors
                .into_iter()
                .map(|e| FieldError::new(e.field, e.problem))
                .collect(),
        )
    })?;
    let db = state.db.clone();
    let by = principal.user_id.0;
    let published = definition.clone();
    let outcome = web::block(move || store::publish(&db, &published, Some(by))).await??;
    if outcome == store::PublishOutcome::Created {
        tracing::info!(form = %definition.id, version = %definition.version, "form published");
    }
    Ok(Published {
        id: definition.id.clone(),
        version: definition.version,
        hash: definition.content_hash(),
        outcome,
    })
}

/// Body of `PUT /forms/{id}/state`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StateChange {
    pub state: String,
}

/// Handles the `PUT /api/v1/forms/{form_id}/state` route.
#[utoipa::path(put, path = "/api/v1/forms/{form_id}/state", tag = "forms", params(("form_id" = String, Path, description = "the form id")), request_body = StateChange, responses((status = 200, description = "the form", body = FormSummary)))]
pub async fn set_state(
    state: web::Data<AppState>,
    principal: Principal,
    form_id: web::Path<String>,
    body: JsonBody<StateChange>,
) -> Result<HttpResponse, ApiError> {
    let form = change_state(&state, &principal, &form_id, &body.into_inner().state).await?;
    Ok(HttpResponse::Ok().json(form))
}

/// Opens, closes (`closing`, `closed`) a form, by the state's name.
pub async fn change_state(
    state: &AppState,
    principal: &Principal,
    form_id: &str,
    new_state: &str,
) -> Result<FormSummary, ApiError> {
    authorize_form_management(state, principal).await?;
    let new_state: FormState = new_state
        .parse()
        .map_err(|e: UnknownName| ApiError::invalid("state", e.to_string()))?;
    let db = state.db.clone();
    let id = form_id.to_string();
    if !web::block(move || store::set_state(&db, &id, new_state)).await?? {
        return Err(ApiError::NotFound(format!("no form '{form_id}'")));
    }
    let record = load(state, form_id).await?;
    Ok(summary(&record, true))
}

/// Handles the `POST /api/v1/forms/{form_id}/versions/{version}/retire` route.
#[utoipa::path(post, path = "/api/v1/forms/{form_id}/versions/{version}/retire", tag = "forms", params(("form_id" = String, Path, description = "the form id"), ("version" = u32, Path, description = "the version")), responses((status = 200, description = "the form", body = FormSummary)))]
pub async fn retire(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (form_id, version) = path.into_inner();
    let form = retire_version(&state, &principal, &form_id, &version).await?;
    Ok(HttpResponse::Ok().json(form))
}

/// Retires a version of a form: phones holding it are told to download the new one.
pub async fn retire_version(
    state: &AppState,
    principal: &Principal,
    form_id: &str,
    version: &str,
) -> Result<FormSummary, ApiError> {
    authorize_form_management(state, principal).await?;
    let version = parse_version(version)?;
    let db = state.db.clone();
    let id = form_id.to_string();
    if !web::block(move || store::retire(&db, &id, version)).await?? {
        return Err(ApiError::NotFound(format!(
            "form '{form_id}' has no version {version}"
        )));
    }
    let record = load(state, form_id).await?;
    Ok(summary(&record, true))
}

/// Body of the answer check.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CheckRequest {
    pub answers: serde_json::Value,
}

/// Handles the `POST /api/v1/forms/{form_id}/versions/{version}/check` route:
/// checks answers against that version exactly as a submission would be, and
/// says what approving them would record.
#[utoipa::path(post, path = "/api/v1/forms/{form_id}/versions/{version}/check", tag = "forms", params(("form_id" = String, Path, description = "the form id"), ("version" = u32, Path, description = "the version")), request_body = CheckRequest, responses((status = 200, description = "the answers pass", body = CheckResult)))]
pub async fn check(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: JsonBody<CheckRequest>,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Action::FillForms, None)?;
    let (form_id, version) = path.into_inner();
    let version = parse_version(&version)?;
    let db = state.db.clone();
    let definition = web::block(move || store::accepting_version(&db, &form_id, version)).await??;
    let answers = body.into_inner().answers;
    let problems = survey_forms::check_answers(&definition, &answers);
    if !problems.is_empty() {
        return Err(ApiError::invalid_many(
            format!("{} problem(s) with the answers", problems.len()),
            problems
                .into_iter()
                .map(|p| FieldError::new(p.path, p.message))
                .collect(),
        ));
    }
    Ok(HttpResponse::Ok().json(CheckResult {
        ok: true,
        commitment_kind: survey_forms::covered_commitment(&definition, &answers),
        household_categories: survey_forms::derived_categories(&definition, &answers),
        form_id: definition.id,
        version: definition.version,
    }))
}

impl From<store::PublishRefusal> for ApiError {
    fn from(refusal: store::PublishRefusal) -> ApiError {
        match refusal {
            store::PublishRefusal::VersionTooLarge(_) => {
                ApiError::invalid("version", refusal.to_string())
            }
            store::PublishRefusal::Refused(why) => ApiError::Conflict(why),
            store::PublishRefusal::Storage(error) => ApiError::from(error),
        }
    }
}

impl From<store::VersionRefusal> for ApiError {
    fn from(refusal: store::VersionRefusal) -> ApiError {
        match refusal {
            store::VersionRefusal::UnknownForm(_) => ApiError::NotFound(refusal.to_string()),
            store::VersionRefusal::NotAccepted(why) => ApiError::Conflict(why),
            store::VersionRefusal::Unreadable(_) => ApiError::Internal(refusal.to_string()),
            store::VersionRefusal::Storage(error) => ApiError::from(error),
        }
    }
}
