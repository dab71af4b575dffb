//! Submissions: `POST /submissions` (multipart), `GET /submissions`,
//! `GET /submissions/{id}`, `GET /submissions/{id}/photos/{photo_id}`,
//! `POST /submissions/{id}/review`, `GET /submissions/{id}/history`.

pub mod intake;
pub mod review;
pub mod store;
pub mod upload;
pub mod verification;
pub mod views;

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use camket_schema::domain::{AreaId, Role};
use camket_schema::models::{SubmissionPhotoRow, SubmissionRow};

use crate::access::{authorize, authorize_found, Action, Principal, Scope};
use crate::caching::etag_matches;
use crate::error::ApiError;
use crate::evidence::{self, Geotag};
use crate::json_body::{parse_json, JsonBody};
use crate::paging::{parse_limit, Cursor, Page};
use crate::photo_store::Variant;
use crate::state::AppState;
use review::{Decision, ReviewRefusal, SubmissionStatus};
pub use views::{PhotoView, SubmissionView};

/// The queue's position: (risk, id), riskiest first.
struct QueueCursor {
    risk: i32,
    id: i64,
}

impl QueueCursor {
    fn decode(text: &str) -> Option<QueueCursor> {
        let cursor = Cursor::decode(text)?;
        Some(QueueCursor {
            risk: i32::try_from(cursor.major).ok()?,
            id: cursor.minor,
        })
    }

    fn encode(&self) -> String {
        Cursor {
            major: i64::from(self.risk),
            minor: self.id,
        }
        .encode()
    }
}

/// The `submission` part of `POST /submissions`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmissionDocument {
    /// A UUID made on the phone; resending it is safe.
    pub instance_id: String,
    pub form_id: String,
    pub form_version: u32,
    pub village_id: i64,
    #[serde(default)]
    pub household_id: Option<i64>,
    /// When the form was filled, with the phone's offset (RFC 3339).
    pub collected_at: DateTime<FixedOffset>,
    #[serde(default)]
    pub device_id: Option<String>,
    #[serde(default)]
    pub geotag: Option<Geotag>,
    pub answers: Value,
    /// The rejected submission this one corrects.
    #[serde(default)]
    pub corrects: Option<i64>,
}

/// Handles the `POST /api/v1/submissions` route: a multipart body with the
/// `submission` JSON part and one part per photo.
#[utoipa::path(post, path = "/api/v1/submissions", tag = "submissions", request_body(content = crate::openapi::SubmissionUpload, content_type = "multipart/form-data"), responses((status = 201, description = "stored", body = crate::submissions::views::SubmissionView), (status = 200, description = "the same content was stored before (a resend)", body = crate::submissions::views::SubmissionView)))]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&principal, Action::Submit, None)?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
        || !content_type.contains("boundary=")
    {
        return Err(ApiError::bad_param("Content-Type", "send multipart/form-data with a boundary: a 'submission' JSON part and one part per photo"));
    }
    let upload = upload::receive(
        Multipart::new(req.headers(), payload),
        &state.photos,
        upload::UploadLimits::of(&state.config),
        "submission",
    )
    .await?;
    let parsed = intake::ParsedSubmission {
        raw: parse_json(&upload.document)?,
        document: parse_json(&upload.document)?,
        upload,
    };
    let worker = state.clone();
    let viewer = principal.clone();
    let outcome = web::block(move || intake::intake(&worker, &viewer, parsed)).await??;
    match outcome {
        intake::Outcome::Created(row) => {
            state.backlog.nudge();
            tracing::info!(submission = row.id, risk = row.risk, "submission received");
            let view = views::one(&state, &principal, row, None).await?;
            Ok(HttpResponse::Created()
                .insert_header((header::LOCATION, format!("/api/v1/submissions/{}", view.id)))
                .json(view))
        }
        intake::Outcome::AlreadyStored(row) => {
            Ok(HttpResponse::Ok().json(views::one(&state, &principal, row, None).await?))
        }
        intake::Outcome::Conflict {
            instance_id,
            existing,
        } => Err(ApiError::Conflict(format!(
            "instance_id {instance_id} was already used for a submission with different content (submission {existing}); make a new instance_id for a new submission"
        ))),
    }
}

/// Query of `GET /submissions`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub area: Option<i64>,
    pub village: Option<i64>,
    pub form: Option<String>,
    pub status: Option<String>,
    pub flag: Option<String>,
    pub surveyor: Option<i64>,
    /// Collected on or after this date (`YYYY-MM-DD`) or time (RFC 3339).
    pub from: Option<String>,
    /// Collected before this date (exclusive) or time.
    pub to: Option<String>,
    pub mine: Option<bool>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

fn parse_time(field: &str, text: &str) -> Result<NaiveDateTime, ApiError> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).unwrap_or_default());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.naive_utc())
        .map_err(|_| {
            ApiError::bad_param(
                field,
                "use a date (2025-04-21) or a time (2025-04-21T08:00:00+07:00)",
            )
        })
}

impl ListQuery {
    /// The queue filter this query asks for, inside `scope`; `mine` limits it to
    /// the caller's own submissions wherever they are.
    fn filter(&self, scope: Scope, mine: Option<i64>) -> Result<store::QueueFilter, ApiError> {
        let status = self
            .status
            .as_deref()
            .map(|s| {
                s.parse::<SubmissionStatus>()
                    .map_err(|e| ApiError::bad_param("status", e.to_string()))
            })
            .transpose()?;
        let flag = self
            .flag
            .as_deref()
            .map(|flag| {
                flag.parse::<evidence::FlagCode>()
                    .map_err(|_| ApiError::bad_param("flag", format!("unknown flag '{flag}'")))
            })
            .transpose()?;
        let after = crate::paging::cursor_param(self.cursor.as_deref(), QueueCursor::decode)?;
        Ok(store::QueueFilter {
            scope,
            form_id: self.form.clone(),
            status,
            flag,
            submitted_by: mine.or(self.surveyor),
            village_id: self.village,
            collected_from: self
                .from
                .as_deref()
                .map(|t| parse_time("from", t))
                .transpose()?,
            collected_to: self
                .to
                .as_deref()
                .map(|t| parse_time("to", t))
                .transpose()?,
            after: after.map(|c| (c.risk, c.id)),
            limit: parse_limit(self.limit, 50, 500)?,
        })
    }
}

/// Handles the `GET /api/v1/submissions` route: the officer's queue, riskiest
/// first; a surveyor's own submissions with `mine=true`.
#[utoipa::path(get, path = "/api/v1/submissions", tag = "submissions", params(ListQuery), responses((status = 200, description = "the queue, riskiest first", body = Page<crate::submissions::views::SubmissionView>)))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(queue(&state, &principal, query.into_inner()).await?))
}

/// The queue as `principal` may see it, riskiest first: every submission in
/// their areas matching `query`, or their own with `mine` (always for a
/// surveyor). The service behind `GET /submissions` and the console's queue.
pub async fn queue(
    state: &AppState,
    principal: &Principal,
    query: ListQuery,
) -> Result<Page<SubmissionView>, ApiError> {
    let principal = principal.clone();
    let mine = query.mine.unwrap_or(false) || principal.role == Role::Surveyor;
    if mine {
        authorize(&principal, Action::Submit, None)
            .or_else(|_| authorize(&principal, Action::ReadSubmissions, None))?;
    } else {
        authorize(&principal, Action::ReadSubmissions, None)?;
    }
    let mut scope = if mine {
        Scope::everywhere()
    } else {
        principal.scope.clone()
    };
    if let Some(area) = query.area {
        let db = state.db.clone();
        let missing =
            || ApiError::bad_param("area", format!("no area with id {area} in your areas"));
        let row = web::block(move || crate::areas::store::get(&db, AreaId(area)))
            .await??
            .ok_or_else(missing)?;
        let path = row.path;
        if mine {
            // One's own list filtered by an area one does not work in: the
            // same answer as an unknown area.
            if !principal.scope.overlaps(&path) {
                return Err(missing());
            }
        } else {
            authorize_found(&principal, Action::ReadSubmissions, &path, missing)?;
        }
        scope = Scope::new([path]);
    }
    let filter = query.filter(scope, mine.then_some(principal.user_id.0))?;
    let limit = filter.limit;
    let db = state.db.clone();
    let items = web::block(move || {
        let rows = store::list(&db, &filter)?;
        views::for_principal(&db, &principal, rows)
    })
    .await??;
    let next_cursor = (items.len() as i64 == limit)
        .then(|| {
            items.last().map(|v| {
                QueueCursor {
                    risk: v.risk,
                    id: v.id,
                }
                .encode()
            })
        })
        .flatten();
    Ok(Page { items, next_cursor })
}

/// Loads a submission the caller may read: their own, or one inside their
/// areas for those who read submissions. Any other is 404, as if it did not exist.
pub async fn load(
    state: &AppState,
    principal: &Principal,
    id: i64,
) -> Result<(SubmissionRow, Vec<SubmissionPhotoRow>), ApiError> {
    let db = state.db.clone();
    let missing = || ApiError::NotFound(format!("no submission {id} in your areas"));
    let (row, attached) = web::block(move || store::get(&db, id))
        .await??
        .ok_or_else(missing)?;
    if row.submitted_by != principal.user_id.0 {
        // A surveyor reads only their own: another's id is as good as absent.
        if !Action::ReadSubmissions.permits(principal.role) {
            return Err(missing());
        }
        let path = row.area_path.clone();
        authorize_found(principal, Action::ReadSubmissions, &path, missing)?;
    }
    Ok((row, attached))
}

/// Handles the `GET /api/v1/submissions/{id}` route.
#[utoipa::path(get, path = "/api/v1/submissions/{id}", tag = "submissions", params(("id" = i64, Path, description = "the id")), responses((status = 200, description = "one submission with its answers and photos", body = crate::submissions::views::SubmissionView)))]
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (row, attached) = load(&state, &principal, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(views::one(&state, &principal, row, Some(attached)).await?))
}

/// Query of the photo route.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PhotoQuery {
    pub size: Option<String>,
}

/// Handles the `GET /api/v1/submissions/{id}/photos/{photo_id}` route.
#[utoipa::path(get, path = "/api/v1/submissions/{id}/photos/{photo_id}", tag = "submissions", params(("id" = i64, Path, description = "the submission"), ("photo_id" = i64, Path, description = "the photo"), PhotoQuery), responses((status = 200, description = "the photo", content((crate::openapi::BinaryFile = "image/jpeg"), (crate::openapi::BinaryFile = "image/png")))))]
pub async fn photo(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    query: web::Query<PhotoQuery>,
) -> Result<HttpResponse, ApiError> {
    let (id, photo_id) = path.into_inner();
    let (variant, tag) = photo_size(query.size.as_deref())?;
    let (sha, media_type) = photo_of(&state, &principal, id, photo_id, variant).await?;
    let etag = format!("\"{sha}-{tag}\"");
    // Photos are personal data on what may be a shared office PC: the original
    // is never kept by the browser, the smaller sizes only for a working hour.
    let cache = (
        header::CACHE_CONTROL,
        match variant {
            Variant::Original => "private, no-store",
            _ => "private, max-age=3600",
        },
    );
    if etag_matches(&req, &etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header(cache)
            .finish());
    }
    if let Some(url) = presigned_url(&state, &sha, variant).await? {
        return Ok(redirect_to_store(&url));
    }
    let bytes = photo_bytes(&state, &sha, variant).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag))
        .insert_header(cache)
        .content_type(media_type)
        .body(bytes))
}

/// The stored photo `photo_id` of submission `id`, if `principal` may read
/// the submission: its content hash and the media type of `variant` (the
/// smaller sizes are JPEG whatever the original was).
pub async fn photo_of(
    state: &AppState,
    principal: &Principal,
    id: i64,
    photo_id: i64,
    variant: Variant,
) -> Result<(String, &'static str), ApiError> {
    let (_, attached) = load(state, principal, id).await?;
    let attachment = attached
        .into_iter()
        .find(|p| p.id == photo_id)
        .ok_or_else(|| ApiError::NotFound(format!("submission {id} has no photo {photo_id}")))?;
    let db = state.db.clone();
    let sha = attachment.sha256.clone();
    let row = web::block(move || store::photo(&db, &sha))
        .await??
        .ok_or_else(|| ApiError::Internal(format!("photo {} has no row", attachment.sha256)))?;
    if variant != Variant::Original {
        if row.verified_at.is_none() {
            return Err(ApiError::NotReady(
                "the photo is still being processed; its thumbnail and review size will be ready shortly (the original is available now)".into(),
            ));
        }
        if let Some(error) = &row.verify_error {
            return Err(ApiError::NotFound(format!(
                "the photo could not be decoded ({error}); only the original is kept"
            )));
        }
    }
    let media_type = match variant {
        Variant::Original => row.format.media_type(),
        _ => "image/jpeg",
    };
    Ok((attachment.sha256, media_type))
}

/// The bytes of one size of a stored photo (after [`photo_of`] allowed it).
pub async fn photo_bytes(
    state: &AppState,
    sha: &str,
    variant: Variant,
) -> Result<Vec<u8>, ApiError> {
    let store = state.photos.clone();
    let key = sha.to_string();
    match web::block(move || store.read(&key, variant)).await? {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && variant == Variant::Review => {
            make_review_image(state, sha).await
        }
        Err(e) => Err(ApiError::Internal(format!(
            "photo {sha} missing from the store: {e}"
        ))),
    }
}

/// The review-size image of a checked photo, made from its original on its
/// first request and kept: the background checks decode only as much as they
/// need (1/8 of a phone photo), and most photos are never opened that large.
async fn make_review_image(state: &AppState, sha: &str) -> Result<Vec<u8>, ApiError> {
    let (store, key) = (state.photos.clone(), sha.to_string());
    let (limits, offset) = (
        state.config.evidence.photo_limits(),
        state.config.evidence.local_offset(),
    );
    let made = web::block(move || -> Result<Vec<u8>, String> {
        let original = store.local_original(&key).map_err(|e| e.to_string())?;
        let bytes = crate::evidence::photo::review_image(original.path(), limits, offset)
            .map_err(|e| e.to_string())?;
        store
            .put(&key, Variant::Review, &bytes)
            .map_err(|e| e.to_string())?;
        Ok(bytes)
    })
    .await?;
    made.map_err(|e| {
        state.metrics.photo_store_errors.inc();
        ApiError::Internal(format!("cannot make the review image of photo {sha}: {e}"))
    })
}

/// A short-lived URL of the photo in the bucket, when the store is a bucket
/// and `CAMKET_PHOTO_REDIRECT_SECS` is set (after [`photo_of`] allowed it).
pub async fn presigned_url(
    state: &AppState,
    sha: &str,
    variant: Variant,
) -> Result<Option<String>, ApiError> {
    // S3 refuses presigned URLs valid longer than seven days.
    let seconds = state.config.photo_redirect_secs.min(7 * 24 * 3600);
    if seconds == 0 || !state.photos.is_shared() {
        return Ok(None);
    }
    if variant == Variant::Review {
        let (store, key) = (state.photos.clone(), sha.to_string());
        let held = web::block(move || store.holds(&key, Variant::Review)).await?;
        if !held.map_err(|e| ApiError::Internal(format!("photo store: {e}")))? {
            make_review_image(state, sha).await?;
        }
    }
    let store = state.photos.clone();
    let key = sha.to_string();
    let signed = web::block(move || {
        store.signed_url(&key, variant, std::time::Duration::from_secs(seconds))
    })
    .await?;
    match signed {
        None => Ok(None),
        Some(Ok(url)) => Ok(Some(url)),
        Some(Err(e)) => {
            state.metrics.photo_store_errors.inc();
            Err(ApiError::Internal(format!(
                "cannot sign a URL for photo {sha}: {e}"
            )))
        }
    }
}

/// A temporary redirect to the photo's presigned URL; the redirect itself is
/// not kept (the URL stops working soon).
pub fn redirect_to_store(url: &str) -> HttpResponse {
    HttpResponse::TemporaryRedirect()
        .insert_header((header::LOCATION, url))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .finish()
}

/// The size asked for by `?size=` (review when absent) and its ETag suffix.
pub fn photo_size(size: Option<&str>) -> Result<(Variant, &'static str), ApiError> {
    match size.unwrap_or("review") {
        "thumb" => Ok((Variant::Thumbnail, "thumb")),
        "review" => Ok((Variant::Review, "review")),
        "original" => Ok((Variant::Original, "original")),
        other => Err(ApiError::bad_param(
            "size",
            format!("'{other}' is not one of thumb, review, original"),
        )),
    }
}

/// Body of the review route.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    pub decision: Decision,
    #[serde(default)]
    pub comment: Option<String>,
}

/// Handles the `POST /api/v1/submissions/{id}/review` route.
#[utoipa::path(post, path = "/api/v1/submissions/{id}/review", tag = "submissions", params(("id" = i64, Path, description = "the id")), request_body = ReviewRequest, responses((status = 200, description = "the submission after the decision", body = crate::submissions::views::SubmissionView)))]
pub async fn review(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: JsonBody<ReviewRequest>,
) -> Result<HttpResponse, ApiError> {
    let view = decide(&state, &principal, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Records `principal`'s decision on submission `id`, under the review rules
/// (`review::decide`); returns the submission after it. The service behind
/// `POST /submissions/{id}/review` and the console's review buttons.
pub async fn decide(
    state: &AppState,
    principal: &Principal,
    id: i64,
    request: ReviewRequest,
) -> Result<SubmissionView, ApiError> {
    if request
        .comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > 2000)
    {
        return Err(ApiError::invalid(
            "comment",
            "must be at most 2000 characters",
        ));
    }
    let (row, _) = load(state, principal, id).await?;
    authorize(principal, Action::Review, Some(&row.area_path.clone()))?;
    let db = state.db.clone();
    let reviewer = principal.user_id.0;
    let updated = web::block(move || {
        store::review(
            &db,
            id,
            reviewer,
            request.decision,
            request.comment.as_deref(),
        )
    })
    .await??;
    tracing::info!(submission = id, status = %updated.status, "submission reviewed");
    views::one(state, principal, updated, None).await
}

/// One entry of the history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryView {
    pub submission_id: i64,
    pub at: DateTime<Utc>,
    /// Who did it: `null` for the photo checks (`flagged_later`: a repeat
    /// found by the check of an earlier photo, after this one's own).
    pub actor_id: Option<i64>,
    pub actor: Option<String>,
    pub action: String,
    pub from_status: Option<SubmissionStatus>,
    pub to_status: Option<SubmissionStatus>,
    pub comment: Option<String>,
}

/// Handles the `GET /api/v1/submissions/{id}/history` route: every state change
/// and revision, with who and when.
#[utoipa::path(get, path = "/api/v1/submissions/{id}/history", tag = "submissions", params(("id" = i64, Path, description = "the id")), responses((status = 200, description = "every state change", body = crate::paging::Items<HistoryView>)))]
pub async fn history(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let items = history_of(&state, &principal, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(crate::paging::Items { items }))
}

/// Every state change and revision of submission `id`, oldest first, if
/// `principal` may read it.
pub async fn history_of(
    state: &AppState,
    principal: &Principal,
    id: i64,
) -> Result<Vec<HistoryView>, ApiError> {
    load(state, principal, id).await?;
    let db = state.db.clone();
    let entries = web::block(move || store::history(&db, id)).await??;
    Ok(entries
        .into_iter()
        .map(|(event, username)| HistoryView {
            submission_id: event.submission_id,
            at: event.at.and_utc(),
            actor_id: event.actor_id,
            actor: username,
            action: event.action,
            from_status: event.from_status,
            to_status: event.to_status,
            comment: event.comment,
        })
        .collect())
}

impl From<store::InsertRefusal> for ApiError {
    fn from(refusal: store::InsertRefusal) -> ApiError {
        match refusal {
            store::InsertRefusal::UnknownOriginal(_) => {
                ApiError::invalid("corrects", refusal.to_string())
            }
            store::InsertRefusal::NotCorrectable { .. } => ApiError::Conflict(refusal.to_string()),
            // Nothing was stored; a resend stores the photo again.
            store::InsertRefusal::PhotoSwept(_) => ApiError::Unavailable,
            store::InsertRefusal::Storage(error) => ApiError::from(error),
        }
    }
}

impl From<store::ReviewError> for ApiError {
    fn from(error: store::ReviewError) -> ApiError {
        match error {
            store::ReviewError::Unknown(_) => ApiError::NotFound(error.to_string()),
            store::ReviewError::Refused(ReviewRefusal::OwnSubmission) => {
                ApiError::Forbidden("nobody reviews their own submission".into())
            }
            store::ReviewError::Refused(ReviewRefusal::ReasonRequired) => ApiError::invalid(
                "comment",
                "give the reason for rejecting, so the surveyor can correct it",
            ),
            store::ReviewError::Refused(ReviewRefusal::Superseded(newer)) => ApiError::Conflict(
                format!("this submission was corrected; review submission {newer} instead"),
            ),
            store::ReviewError::Refused(ReviewRefusal::AlreadyThere(status)) => {
                ApiError::Conflict(format!("the submission is already {status}"))
            }
            store::ReviewError::Storage(error) => ApiError::from(error),
        }
    }
}
