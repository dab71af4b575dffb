//! ODK Collect over OpenRosa 1.0: the form list, the XForms and their roster
//! files, and submissions with photos. A phone's server URL is
//! `{public url}/collect/{device token}` (see [`devices`]), or `{public url}/collect`
//! with HTTP Basic behind TLS. Every answer carries `X-OpenRosa-Version: 1.0`;
//! errors are OpenRosa envelopes with a message the surveyor can read.
//!
//! Submissions become the JSON API's submission document ([`mapping`]) and go
//! through the same intake: the same checks, flags, queue and coverage.

pub mod devices;
pub mod held;
pub mod mapping;
pub mod roster;

use actix_multipart::Multipart;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use base64::Engine as _;
use md5::{Digest as _, Md5};
use serde_json::Value;
use sha2::Sha256;
use std::collections::HashMap;

use survey_forms::xform::escape;
use survey_forms::{FormDefinition, FormVersion};

use crate::access::{authorize, Action, Principal};
use crate::error::ApiError;
use crate::forms::versions::FormState;
use crate::state::AppState;
use crate::submissions::intake::{self, Outcome, ParsedSubmission};
use crate::submissions::upload;

/// A request target as it may be logged: a device token in the path is a
/// password, so `/collect/{token}/…` is written `/collect/…/…`.
pub fn redacted_target(target: &str) -> std::borrow::Cow<'_, str> {
    let Some(rest) = target.strip_prefix("/collect/") else {
        return target.into();
    };
    let (first, tail) = rest.split_once(['/', '?']).unwrap_or((rest, ""));
    let named = ["formList", "forms", "submission"];
    if first.is_empty() || named.contains(&first) {
        return target.into();
    }
    let separator = &rest[first.len()..(first.len() + 1).min(rest.len())];
    format!("/collect/…{separator}{tail}").into()
}

/// The OpenRosa version every answer declares.
const OPENROSA_VERSION: &str = "1.0";

/// An error as ODK Collect shows it: an OpenRosa envelope with a Vietnamese message.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct OpenRosaError {
    status: StatusCode,
    message: String,
    /// Ask for a password (HTTP Basic) rather than refuse.
    challenge: bool,
}

impl OpenRosaError {
    fn new(status: StatusCode, message: impl Into<String>) -> OpenRosaError {
        OpenRosaError {
            status,
            message: message.into(),
            challenge: false,
        }
    }
}

impl From<ApiError> for OpenRosaError {
    fn from(error: ApiError) -> OpenRosaError {
        let status = error.status_code();
        let lead = match &error {
            ApiError::Validation { .. } | ApiError::BadParam(_) | ApiError::BadRequest(_) => {
                "Phiếu chưa được lưu vì có lỗi; sửa phiếu rồi gửi lại"
            }
            ApiError::Unauthorized(_) => "Cần đăng nhập lại",
            ApiError::Forbidden(_) => "Bạn không có quyền gửi phiếu cho nơi này",
            ApiError::NotFound(_) => "Không tìm thấy",
            ApiError::Conflict(_) => "Mã phiếu này đã được dùng cho một phiếu khác",
            ApiError::TooManyRequests { .. } => "Thử quá nhiều lần; chờ một lát rồi thử lại",
            ApiError::PayloadTooLarge(_) => "Phiếu hoặc ảnh quá lớn",
            ApiError::Timeout(_) => {
                "Mạng quá chậm, phiếu chưa gửi xong; gửi lại (gửi lại không sao)"
            }
            ApiError::Unavailable | ApiError::NotReady(_) => {
                "Máy chủ đang bận; gửi lại sau ít phút"
            }
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                return OpenRosaError::new(
                    status,
                    "Máy chủ gặp lỗi; gửi lại sau ít phút (lỗi đã được ghi lại)",
                );
            }
        };
        let details = match &error {
            ApiError::Validation { errors, .. } if !errors.is_empty() => errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        OpenRosaError::new(status, format!("{lead}. ({details})"))
    }
}

impl From<actix_web::error::BlockingError> for OpenRosaError {
    fn from(error: actix_web::error::BlockingError) -> OpenRosaError {
        OpenRosaError::from(ApiError::from(error))
    }
}

impl From<survey_forms::InstanceError> for OpenRosaError {
    fn from(error: survey_forms::InstanceError) -> OpenRosaError {
        OpenRosaError::new(
            StatusCode::BAD_REQUEST,
            format!("Tệp phiếu không đọc được. ({error})"),
        )
    }
}

/// An OpenRosa answer: XML with the headers Collect requires.
fn openrosa(status: StatusCode, xml: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/xml; charset=utf-8"))
        .insert_header(("X-OpenRosa-Version", OPENROSA_VERSION))
        .body(xml)
}

/// The `OpenRosaResponse` envelope.
fn envelope(message: &str, nature: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<OpenRosaResponse xmlns=\"http://openrosa.org/http/response\">\n  <message nature=\"{nature}\">{}</message>\n</OpenRosaResponse>\n",
        escape(message)
    )
}

impl ResponseError for OpenRosaError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = openrosa(self.status, envelope(&self.message, "error"));
        if self.challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"camket\", charset=\"UTF-8\""),
            );
        }
        response
    }
}

/// Passwords verified recently over HTTP Basic. Collect sends them with every
/// request of a sync (a form list, then each form, manifest and file), so
/// argon2 and the login limiter on each would stop a phone part-way. A hit
/// still needs the account active with the same password hash; kept in
/// memory for ten minutes, per instance.
#[derive(Default)]
pub struct BasicCache {
    entries: std::sync::Mutex<HashMap<[u8; 32], (String, std::time::Instant)>>,
}

const BASIC_CACHE_FOR: std::time::Duration = std::time::Duration::from_secs(600);

impl BasicCache {
    fn key(username: &str, password: &str) -> [u8; 32] {
        Sha256::digest(format!("{username}\0{password}").as_bytes()).into()
    }

    /// The password hash a fresh entry was verified against.
    fn verified(&self, username: &str, password: &str) -> Option<String> {
        let entries = self.entries.lock().ok()?;
        let (hash, at) = entries.get(&Self::key(username, password))?;
        (at.elapsed() < BASIC_CACHE_FOR).then(|| hash.clone())
    }

    fn remember(&self, username: &str, password: &str, hash: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() > 10_000 {
                entries.retain(|_, (_, at)| at.elapsed() < BASIC_CACHE_FOR);
            }
            entries.insert(
                Self::key(username, password),
                (hash.to_string(), std::time::Instant::now()),
            );
        }
    }
}

/// Who is calling, and the base URL their phone uses.
struct Caller {
    principal: Principal,
    base: String,
}

fn challenge(message: &str) -> OpenRosaError {
    OpenRosaError {
        status: StatusCode::UNAUTHORIZED,
        message: message.into(),
        challenge: true,
    }
}

/// Authenticates a request by the device token in its path, or else by HTTP Basic.
async fn caller(state: &web::Data<AppState>, req: &HttpRequest) -> Result<Caller, OpenRosaError> {
    let public = devices::public_url(state, req);
    let db = state.db.clone();
    if let Some(token) = req.match_info().get("token").map(str::to_string) {
        let base = format!("{public}/collect/{token}");
        let principal = web::block(move || -> Result<Option<Principal>, ApiError> {
            let Some((device, user)) = devices::user_of_token(&db, &token)? else {
                return Ok(None);
            };
            devices::touch(&db, &device)?;
            let session = format!("device:{}", device.id);
            Ok(Some(crate::auth::sessions::principal_of(
                &db, user, &session,
            )?))
        })
        .await??;
        // A 403, not a 401: Collect would otherwise ask for a password it cannot use.
        let principal = principal.ok_or_else(|| {
            OpenRosaError::new(
                StatusCode::FORBIDDEN,
                "Mã cài đặt của máy này không còn dùng được (đã bị thu hồi hoặc tài khoản đã khóa). Xin cán bộ quản lý cấp mã QR mới.",
            )
        })?;
        return Ok(Caller { principal, base });
    }
    let (username, password) =
        basic_credentials(req).ok_or_else(|| challenge("Cần tên đăng nhập và mật khẩu"))?;
    if let Some(hash) = state.basic_auth.verified(&username, &password) {
        let lookup = username.clone();
        let db = db.clone();
        let known = web::block(move || -> Result<Option<Principal>, ApiError> {
            match crate::auth::sessions::find_user(&db, &lookup)? {
                Some(user) if user.active && user.password_hash == hash => Ok(Some(
                    crate::auth::sessions::principal_of(&db, user, "basic")?,
                )),
                _ => Ok(None),
            }
        })
        .await??;
        if let Some(principal) = known {
            return Ok(Caller {
                principal,
                base: format!("{public}/collect"),
            });
        }
    }
    let address = crate::client_address::of_request(req, state.config.trusted_proxies.as_slice());
    state
        .login_limiter
        .before_verifying(&username, &address)
        .map_err(|wait| {
            OpenRosaError::from(ApiError::TooManyRequests {
                retry_after_secs: wait,
            })
        })?;
    let lookup = username.clone();
    let typed = password.clone();
    let principal = web::block(move || -> Result<Option<(Principal, String)>, ApiError> {
        let Some(user) = crate::auth::sessions::verify_credentials(&db, &lookup, &typed)? else {
            return Ok(None);
        };
        let hash = user.password_hash.clone();
        let principal = crate::auth::sessions::principal_of(&db, user, "basic")?;
        Ok(Some((principal, hash)))
    })
    .await??;
    match principal {
        Some((principal, hash)) => {
            state.basic_auth.remember(&username, &password, &hash);
            Ok(Caller {
                principal,
                base: format!("{public}/collect"),
            })
        }
        None => {
            if let Err(wait) = state.login_limiter.after_wrong_password(&username) {
                return Err(ApiError::TooManyRequests {
                    retry_after_secs: wait,
                }
                .into());
            }
            Err(challenge(
                "Sai tên đăng nhập hoặc mật khẩu, hoặc tài khoản đã bị khóa",
            ))
        }
    }
}

fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// `md5:` and the MD5 of the bytes, as OpenRosa lists hashes.
fn md5_hash(bytes: &[u8]) -> String {
    format!("md5:{}", hex::encode(Md5::digest(bytes)))
}

fn parse_definition(text: &str) -> Result<FormDefinition, ApiError> {
    serde_json::from_str(text)
        .map_err(|e| ApiError::Internal(format!("a stored form definition cannot be read: {e}")))
}

/// The forms offered to phones: the current version of every open form.
fn offered(db: &camket_schema::Db) -> Result<Vec<FormDefinition>, ApiError> {
    let mut out = Vec::new();
    for record in crate::forms::store::list(db)? {
        if record.state != FormState::Open {
            continue;
        }
        if let Some(row) = record.current_row() {
            out.push(parse_definition(&row.definition)?);
        }
    }
    Ok(out)
}

/// A version a phone may download: not retired, of a form not closed.
fn downloadable(
    db: &camket_schema::Db,
    form_id: &str,
    version: &str,
) -> Result<FormDefinition, ApiError> {
    let missing =
        || ApiError::NotFound(format!("no form '{form_id}' version {version} to download"));
    let version = version.parse::<u32>().map_err(|_| missing())?;
    let record = crate::forms::store::get(db, form_id)?.ok_or_else(missing)?;
    if record.state == FormState::Closed {
        return Err(missing());
    }
    let row = record
        .versions
        .iter()
        .find(|(v, _)| v.version == FormVersion(version) && !v.retired)
        .map(|(_, row)| row)
        .ok_or_else(missing)?;
    parse_definition(&row.definition)
}

fn form_path(req: &HttpRequest) -> (String, String) {
    let info = req.match_info();
    (
        info.get("form_id").unwrap_or_default().to_string(),
        info.get("version").unwrap_or_default().to_string(),
    )
}

/// Only users who fill forms get forms.
fn may_fill(principal: &Principal) -> Result<(), OpenRosaError> {
    authorize(principal, Action::FillForms, None).map_err(|_| {
        OpenRosaError::new(
            StatusCode::FORBIDDEN,
            "Tài khoản này không dùng để điền phiếu",
        )
    })
}

/// Handles the `GET /collect/{token}/formList` (and `/collect/formList`) route:
/// the OpenRosa form list.
pub async fn form_list(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, OpenRosaError> {
    let caller = caller(&state, &req).await?;
    may_fill(&caller.principal)?;
    let db = state.db.clone();
    let forms = web::block(move || offered(&db)).await??;
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xforms xmlns=\"http://openrosa.org/xforms/xformsList\">\n");
    for form in &forms {
        let xform = survey_forms::to_xform(form);
        let url = format!("{}/forms/{}/{}", caller.base, form.id, form.version);
        let description = form
            .description
            .as_ref()
            .map(|d| d.vi.as_str())
            .unwrap_or("");
        xml.push_str(&format!(
            "  <xform>\n    <formID>{}</formID>\n    <name>{}</name>\n    <version>{}</version>\n    <hash>{}</hash>\n    <descriptionText>{}</descriptionText>\n    <downloadUrl>{}/form.xml</downloadUrl>\n    <manifestUrl>{}/manifest</manifestUrl>\n  </xform>\n",
            escape(&form.id.0),
            escape(&form.title.vi),
            form.version,
            md5_hash(xform.as_bytes()),
            escape(description),
            escape(&url),
            escape(&url),
        ));
    }
    xml.push_str("</xforms>\n");
    Ok(openrosa(StatusCode::OK, xml))
}

/// Handles the `GET /collect/{token}/forms/{form_id}/{version}/form.xml` route: the XForm.
pub async fn form_xml(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, OpenRosaError> {
    let caller = caller(&state, &req).await?;
    may_fill(&caller.principal)?;
    let (form_id, version) = form_path(&req);
    let db = state.db.clone();
    let form = web::block(move || downloadable(&db, &form_id, &version)).await??;
    Ok(openrosa(StatusCode::OK, survey_forms::to_xform(&form)))
}

/// The form version the path names, and the caller's roster files.
async fn form_and_roster(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    principal: &Principal,
) -> Result<(FormDefinition, roster::Roster), OpenRosaError> {
    let (form_id, version) = form_path(req);
    let db = state.db.clone();
    let principal = principal.clone();
    Ok(web::block(move || -> Result<_, ApiError> {
        let form = downloadable(&db, &form_id, &version)?;
        Ok((form, roster::for_user(&db, &principal)?))
    })
    .await??)
}

/// Handles the `GET /collect/{token}/forms/{form_id}/{version}/manifest` route:
/// the roster files the form reads, with hashes that change when the roster does.
pub async fn manifest(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, OpenRosaError> {
    let caller = caller(&state, &req).await?;
    may_fill(&caller.principal)?;
    let (form, files) = form_and_roster(&state, &req, &caller.principal).await?;
    let url = format!("{}/forms/{}/{}/media", caller.base, form.id, form.version);
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<manifest xmlns=\"http://openrosa.org/xforms/xformsManifest\">\n");
    for name in survey_forms::media_files(&form) {
        let bytes = media_bytes(&files, name).unwrap_or_default();
        xml.push_str(&format!(
            "  <mediaFile>\n    <filename>{name}</filename>\n    <hash>{}</hash>\n    <downloadUrl>{}/{name}</downloadUrl>\n  </mediaFile>\n",
            md5_hash(bytes.as_bytes()),
            escape(&url),
        ));
    }
    xml.push_str("</manifest>\n");
    Ok(openrosa(StatusCode::OK, xml))
}

fn media_bytes(files: &roster::Roster, name: &str) -> Option<String> {
    match name {
        survey_forms::VILLAGES_CSV => Some(files.villages.clone()),
        survey_forms::HOUSEHOLDS_CSV => Some(files.households.clone()),
        _ => None,
    }
}

/// Handles the `GET /collect/{token}/forms/{form_id}/{version}/media/{name}`
/// route: a roster file, with only the caller's villages and households.
pub async fn media(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, OpenRosaError> {
    let caller = caller(&state, &req).await?;
    may_fill(&caller.principal)?;
    let name = req.match_info().get("name").unwrap_or_default().to_string();
    let (form, files) = form_and_roster(&state, &req, &caller.principal).await?;
    let body = survey_forms::media_files(&form)
        .contains(&name.as_str())
        .then(|| media_bytes(&files, &name))
        .flatten()
        .ok_or_else(|| OpenRosaError::new(StatusCode::NOT_FOUND, format!("Không có tệp {name}")))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header(("X-OpenRosa-Version", OPENROSA_VERSION))
        .body(body))
}

/// Handles the `HEAD /collect/{token}/submission` route: Collect asks before
/// sending how large a request may be. Exactly 204: any other 2xx makes it stop.
pub async fn submission_head(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, OpenRosaError> {
    caller(&state, &req).await?;
    Ok(HttpResponse::NoContent()
        .insert_header(("X-OpenRosa-Version", OPENROSA_VERSION))
        .insert_header((
            "X-OpenRosa-Accept-Content-Length",
            state.config.evidence.max_submission_bytes.to_string(),
        ))
        .finish())
}

/// What became of one request of a submission.
enum Accepted {
    /// Stored, or stored before (a resend).
    Stored(i64),
    /// The first parts of a split upload, kept until the rest arrive.
    Held,
}

/// Reads the instance, maps it onto the submission document and hands it to intake.
fn accept(
    state: &AppState,
    principal: &Principal,
    mut upload: upload::Upload,
    device_id: Option<String>,
) -> Result<Accepted, OpenRosaError> {
    let db = &state.db;
    let form = survey_forms::form_of(&upload.document)?;
    let definition =
        crate::forms::store::accepting_version(db, &form.form_id, FormVersion(form.version))
            .map_err(|refusal| match refusal {
                crate::forms::store::VersionRefusal::NotAccepted(why) => OpenRosaError::new(
                    StatusCode::CONFLICT,
                    format!("Mẫu phiếu này đã cũ hoặc đã đóng: vào «Tải mẫu phiếu» lấy mẫu mới rồi điền lại. ({why})"),
                ),
                other => OpenRosaError::from(ApiError::from(other)),
            })?;
    let filled = survey_forms::read_instance(&definition, &upload.document)?;
    let key = held::key(principal.user_id.0, &filled.instance_id);
    let io =
        |e: std::io::Error| OpenRosaError::from(ApiError::Internal(format!("held parts: {e}")));
    let different = || {
        OpenRosaError::from(ApiError::Conflict(format!(
            "instance {} was sent before with different content",
            filled.instance_id
        )))
    };
    if upload.incomplete {
        // Parts are held only for a village the caller may send for.
        let village = filled
            .village
            .as_deref()
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
        let place = crate::coverage::store::areas_by_id(db, &[village]).map_err(ApiError::from)?;
        if !place.iter().any(|area| principal.scope.covers(&area.path)) {
            return Err(ApiError::Forbidden(
                "this village is outside the areas assigned to you".into(),
            )
            .into());
        }
        held::hold(&state.photos, &key, &mut upload)
            .map_err(io)?
            .map_err(|_| different())?;
        return Ok(Accepted::Held);
    }
    held::join(&state.photos, &key, &mut upload)
        .map_err(io)?
        .map_err(|_| different())?;
    // An edit of an instance this server never received (the phone edited it
    // before sending it) is simply a new submission; an edit of someone
    // else's is refused by intake like any correction.
    let corrects = match &filled.deprecated_id {
        None => None,
        Some(earlier) => crate::submissions::store::find_by_instance(db, earlier)
            .map_err(ApiError::from)?
            .map(|row| row.id),
    };
    let envelope = mapping::Envelope {
        device_id,
        corrects,
        received_at: chrono::Utc::now().fixed_offset(),
    };
    let document = mapping::document(&filled, &form, envelope).map_err(|problems| {
        ApiError::invalid_many(
            format!("{} problem(s) in the submission", problems.len()),
            problems,
        )
    })?;
    mapping::name_parts(&definition, &document.answers, &mut upload.parts);
    let raw = Value::String(String::from_utf8_lossy(&upload.document).into_owned());
    let outcome = intake::intake(
        state,
        principal,
        ParsedSubmission {
            raw,
            document,
            upload,
        },
    );
    held::release(&state.photos, &key);
    match outcome? {
        Outcome::Created(row) | Outcome::AlreadyStored(row) => Ok(Accepted::Stored(row.id)),
        Outcome::Conflict { instance_id, .. } => Err(ApiError::Conflict(format!(
            "instance {instance_id} was sent before with different content"
        ))
        .into()),
    }
}

/// Handles the `POST /collect/{token}/submission` route: the instance XML in
/// `xml_submission_file` and one part per photo, possibly split over requests.
pub async fn submission(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, OpenRosaError> {
    let caller = caller(&state, &req).await?;
    authorize(&caller.principal, Action::Submit, None)?;
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !multipart {
        return Err(ApiError::bad_param("Content-Type", "send multipart/form-data").into());
    }
    let received = upload::receive(
        Multipart::new(req.headers(), payload),
        &state.photos,
        upload::UploadLimits::of(&state.config),
        "xml_submission_file",
    )
    .await?;
    let device_id =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.get("deviceID").cloned());
    let principal = caller.principal;
    let worker = state.clone();
    let accepted = web::block(move || accept(&worker, &principal, received, device_id)).await??;
    let message = match accepted {
        Accepted::Stored(id) => {
            tracing::info!(submission_id = id, "submission received from ODK Collect");
            "Đã nhận phiếu. Cảm ơn!"
        }
        Accepted::Held => "Đã nhận một phần phiếu; đang chờ phần còn lại",
    };
    Ok(openrosa(
        StatusCode::CREATED,
        envelope(message, "submit_success"),
    ))
}

/// The ODK Collect routes: each under `/collect` (HTTP Basic) and under
/// `/collect/{token}` (a device token). Full paths, not scopes, so that the two
/// never shadow each other.
pub fn routes(cfg: &mut web::ServiceConfig) {
    for base in ["/collect", "/collect/{token}"] {
        cfg.service(web::resource(format!("{base}/formList")).route(web::get().to(form_list)))
            .service(
                web::resource(format!("{base}/forms/{{form_id}}/{{version}}/form.xml"))
                    .route(web::get().to(form_xml)),
            )
            .service(
                web::resource(format!("{base}/forms/{{form_id}}/{{version}}/manifest"))
                    .route(web::get().to(manifest)),
            )
            .service(
                web::resource(format!(
                    "{base}/forms/{{form_id}}/{{version}}/media/{{name}}"
                ))
                .route(web::get().to(media)),
            )
            .service(
                web::resource(format!("{base}/submission"))
                    .route(web::head().to(submission_head))
                    .route(web::post().to(submission)),
            );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_tokens_never_reach_the_log() {
        let token = "4eca522d441614b63e0cd710c44737a2d4e06ac61367c9f89beb4041c877ee63";
        assert_eq!(
            redacted_target(&format!("/collect/{token}/formList?deviceID=collect:x")),
            "/collect/…/formList?deviceID=collect:x"
        );
        assert_eq!(redacted_target(&format!("/collect/{token}")), "/collect/…");
        assert_eq!(redacted_target("/collect/formList"), "/collect/formList");
        assert_eq!(
            redacted_target("/collect/forms/commitment/1/form.xml"),
            "/collect/forms/commitment/1/form.xml"
        );
        assert_eq!(
            redacted_target("/api/v1/areas?limit=5"),
            "/api/v1/areas?limit=5"
        );
    }
}
