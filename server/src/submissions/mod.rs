//! Submissions: `POST /submissions` (multipart), `GET /submissions`,
//! `GET /submissions/{id}`, `GET /submissions/{id}/photos/{photo_id}`,
//! `POST /submissions/{id}/review`, `GET /submissions/{id}/history`.

pub mod review;
pub mod store;
pub mod upload;
pub mod verification;

use std::collections::{BTreeSet, HashMap};

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use camket_schema::domain::AreaPath;
use camket_schema::models::{NewSubmission, PhotoRow, SubmissionPhotoRow, SubmissionRow};
use survey_forms::{FormDefinition, FormVersion, GeotagRule, HouseholdRule};

use crate::access::{authorize, Action, Principal};
use crate::app::AppState;
use crate::error::{ApiError, FieldError};
use crate::evidence::photo::{self, ExaminedPhoto};
use crate::evidence::{self, Flag, Geotag, PhotoEvidence, PhotoReuse, VillagePlace};
use crate::json_body::{parse_json, JsonBody};
use crate::paging::{parse_limit, Page};
use crate::photo_store::Variant;
use review::{Decision, SubmissionStatus};

/// The `submission` part of `POST /submissions`.
#[derive(Debug, Clone, Deserialize)]
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

/// A submission as clients see it.
#[derive(Debug, Serialize)]
pub struct SubmissionView {
    pub id: i64,
    pub instance_id: String,
    pub form_id: String,
    pub form_version: i32,
    pub village_id: i64,
    pub household_id: Option<i64>,
    pub submitted_by: i64,
    pub device_id: Option<String>,
    pub collected_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub geotag: Option<Geotag>,
    pub status: String,
    pub risk: i32,
    pub flags: Vec<Flag>,
    /// `pending` while the photos are still being decoded and compared with
    /// earlier ones (flags may be added), then `checked`.
    pub evidence: &'static str,
    pub commitment_kind: Option<String>,
    pub supersedes: Option<i64>,
    pub superseded_by: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answers: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photos: Option<Vec<PhotoView>>,
}

/// A photo of a submission, with its URLs.
#[derive(Debug, Serialize)]
pub struct PhotoView {
    pub id: i64,
    pub field: String,
    pub name: String,
    pub sha256: String,
    pub thumb_url: String,
    pub review_url: String,
    pub original_url: String,
}

fn view(row: SubmissionRow, detail: Option<Vec<SubmissionPhotoRow>>) -> SubmissionView {
    let geotag = match (row.geotag_lat, row.geotag_lon) {
        (Some(lat), Some(lon)) => Some(Geotag {
            lat,
            lon,
            accuracy_m: row.geotag_accuracy_m,
            altitude_m: row.geotag_altitude_m,
            captured_at: row.geotag_captured_at.map(|t| t.and_utc()),
        }),
        _ => None,
    };
    let photos = detail.map(|rows| {
        rows.into_iter()
            .map(|p| {
                let base = format!("/api/v1/submissions/{}/photos/{}", p.submission_id, p.id);
                PhotoView {
                    id: p.id,
                    field: p.field_path,
                    name: p.part_name,
                    sha256: p.sha256,
                    thumb_url: format!("{base}?size=thumb"),
                    review_url: format!("{base}?size=review"),
                    original_url: format!("{base}?size=original"),
                }
            })
            .collect()
    });
    SubmissionView {
        answers: photos
            .as_ref()
            .and_then(|_| serde_json::from_str(&row.answers).ok()),
        id: row.id,
        instance_id: row.instance_id,
        form_id: row.form_id,
        form_version: row.form_version,
        village_id: row.village_id,
        household_id: row.household_id,
        submitted_by: row.submitted_by,
        device_id: row.device_id,
        collected_at: row.collected_at.and_utc(),
        received_at: row.received_at.and_utc(),
        geotag,
        status: row.status,
        risk: row.risk,
        flags: serde_json::from_str(&row.flags).unwrap_or_default(),
        evidence: if row.evidence_pending {
            "pending"
        } else {
            "checked"
        },
        commitment_kind: row.commitment_kind,
        supersedes: row.supersedes,
        superseded_by: row.superseded_by,
        photos,
    }
}

/// The idempotency key of a submission's content: its JSON (canonically
/// re-serialised) and the hashes of its photo parts.
fn content_hash(document: &Value, parts: &[upload::StagedPart]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(
        serde_json::to_string(document)
            .unwrap_or_default()
            .as_bytes(),
    );
    let mut listed: Vec<(&str, &str, &str)> = parts
        .iter()
        .map(|p| (p.field.as_str(), p.filename.as_str(), p.sha256.as_str()))
        .collect();
    listed.sort_unstable();
    for (field, name, sha) in listed {
        hasher.update(format!("\n{field}\t{name}\t{sha}").as_bytes());
    }
    hex::encode(hasher.finalize())
}

fn resend_answer(row: SubmissionRow, hash: &str) -> Result<HttpResponse, ApiError> {
    if row.content_hash == hash {
        Ok(HttpResponse::Ok().json(view(row, None)))
    } else {
        Err(ApiError::Conflict(format!(
            "instance_id {} was already used for a submission with different content (submission {}); make a new instance_id for a new submission",
            row.instance_id, row.id
        )))
    }
}

/// Checks the document against the form, the place and the parts; every problem is listed.
fn validate(
    document: &SubmissionDocument,
    definition: &FormDefinition,
    household_village: Option<i64>,
    parts: &[upload::StagedPart],
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if uuid::Uuid::parse_str(&document.instance_id).is_err() {
        errors.push(FieldError::new(
            "instance_id",
            "must be a UUID made on the phone",
        ));
    }
    if document.device_id.as_ref().is_some_and(|d| d.len() > 100) {
        errors.push(FieldError::new(
            "device_id",
            "must be at most 100 characters",
        ));
    }
    match (definition.household, document.household_id) {
        (HouseholdRule::Required, None) => errors.push(FieldError::new(
            "household_id",
            format!(
                "the form '{}' is about a household: give household_id",
                definition.id
            ),
        )),
        (HouseholdRule::None, Some(_)) => errors.push(FieldError::new(
            "household_id",
            format!(
                "the form '{}' is about a whole village: leave household_id out",
                definition.id
            ),
        )),
        _ => {}
    }
    if let (Some(_), Some(village)) = (document.household_id, household_village) {
        if village != document.village_id {
            errors.push(FieldError::new(
                "household_id",
                "this household is not in the given village",
            ));
        }
    }
    if let Some(geotag) = &document.geotag {
        if !(-90.0..=90.0).contains(&geotag.lat) {
            errors.push(FieldError::new("geotag.lat", "must be between -90 and 90"));
        }
        if !(-180.0..=180.0).contains(&geotag.lon) {
            errors.push(FieldError::new(
                "geotag.lon",
                "must be between -180 and 180",
            ));
        }
        if geotag
            .accuracy_m
            .is_some_and(|a| !(0.0..=100_000.0).contains(&a))
        {
            errors.push(FieldError::new(
                "geotag.accuracy_m",
                "must be between 0 and 100000",
            ));
        }
    }
    for problem in survey_forms::check_answers(definition, &document.answers) {
        errors.push(FieldError::new(
            format!("answers.{}", problem.path),
            problem.message,
        ));
    }
    let wanted: BTreeSet<(String, String)> =
        survey_forms::attachment_names(definition, &document.answers)
            .into_iter()
            .collect();
    let sent: BTreeSet<(String, String)> = parts
        .iter()
        .map(|p| (p.field.clone(), p.filename.clone()))
        .collect();
    for (field, name) in wanted.difference(&sent) {
        errors.push(FieldError::new(format!("answers.{field}"), format!("photo '{name}' is named in the answers but no part '{field}' with that file name was sent")));
    }
    for (field, name) in sent.difference(&wanted) {
        let is_photo_field = survey_forms::attachment_names(definition, &document.answers)
            .iter()
            .any(|(f, _)| f == field)
            || definition.field(field).is_some_and(|f| {
                matches!(
                    f.kind,
                    survey_forms::FieldKind::Photo { .. } | survey_forms::FieldKind::Signature
                )
            });
        let message = if is_photo_field {
            format!("the part '{name}' is not named in the answers of '{field}'")
        } else {
            format!(
                "'{field}' is not a photo field of the form '{}'",
                definition.id
            )
        };
        errors.push(FieldError::new(field.clone(), message));
    }
    if parts.len() != sent.len() {
        errors.push(FieldError::new(
            "multipart",
            "two parts have the same field and file name",
        ));
    }
    errors
}

/// What one stored photo contributes to the evidence checks.
struct PhotoFacts {
    part_name: String,
    sha256: String,
    taken_at: Option<DateTime<Utc>>,
    location: Option<(f64, f64)>,
}

fn village_place(row: &camket_schema::models::AreaRow) -> VillagePlace {
    let boundary = row
        .boundary
        .as_deref()
        .and_then(|text| text.parse::<geojson::Geometry>().ok())
        .and_then(|g| geo::Geometry::<f64>::try_from(g).ok());
    let centroid = match (row.centroid_lat, row.centroid_lon) {
        (Some(lat), Some(lon)) => Some((lat, lon)),
        _ => None,
    };
    VillagePlace {
        name: row.name.clone(),
        boundary,
        centroid,
    }
}

/// Photos of this submission sent before, byte for byte, for another subject.
/// (Near-duplicates are found later, by the background checks.)
fn exact_reuses(
    db: &camket_schema::Db,
    facts: &[PhotoFacts],
    subject: &str,
) -> Result<Vec<PhotoReuse>, ApiError> {
    let shas: Vec<String> = facts.iter().map(|f| f.sha256.clone()).collect();
    let exact = store::uses_elsewhere(db, &shas, subject)?;
    Ok(facts
        .iter()
        .filter_map(|fact| {
            let (_, other, other_subject, code) =
                exact.iter().find(|(sha, ..)| sha == &fact.sha256)?;
            Some(PhotoReuse {
                part_name: fact.part_name.clone(),
                other_submission: *other,
                other_subject: verification::describe_subject(other_subject, code),
                similarity: None,
            })
        })
        .collect())
}

/// Handles the `POST /api/v1/submissions` route.
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
    let evidence_config = &state.config.evidence;
    let limits = upload::UploadLimits {
        max_photo_bytes: evidence_config.max_photo_bytes,
        max_total_bytes: evidence_config.max_submission_bytes,
        max_parts: evidence_config.max_parts,
        max_document_bytes: state.config.json_limit,
        idle_timeout: std::time::Duration::from_secs(state.config.upload_idle_secs.max(1)),
    };
    let upload = upload::receive(
        Multipart::new(req.headers(), payload),
        &state.photos,
        limits,
    )
    .await?;
    let raw: Value = parse_json(&upload.document)?;
    let document: SubmissionDocument = parse_json(&upload.document)?;
    let hash = content_hash(&raw, &upload.parts);

    let db = state.db.clone();
    let instance = document.instance_id.clone();
    if let Some(row) = web::block(move || store::find_by_instance(&db, &instance)).await?? {
        return resend_answer(row, &hash);
    }

    // The form version, the place, and who may submit there.
    let db = state.db.clone();
    let (form_id, version) = (document.form_id.clone(), FormVersion(document.form_version));
    let (village_id, household_id) = (document.village_id, document.household_id);
    let (definition, (village, household)) = web::block(move || -> Result<_, ApiError> {
        let definition = crate::forms::store::accepting_version(&db, &form_id, version)?;
        Ok((definition, store::place(&db, village_id, household_id)?))
    })
    .await??;
    let village = village.filter(|v| v.level == "village").ok_or_else(|| {
        ApiError::invalid("village_id", format!("no village with id {village_id}"))
    })?;
    authorize(
        &principal,
        Action::Submit,
        Some(&AreaPath::from_stored(village.path.clone())),
    )?;
    if household_id.is_some() && household.is_none() {
        return Err(ApiError::invalid("household_id", "no such household"));
    }
    let problems = validate(
        &document,
        &definition,
        household.as_ref().map(|h| h.village_id),
        &upload.parts,
    );
    if !problems.is_empty() {
        return Err(ApiError::invalid_many(
            format!(
                "{} problem(s) in the submission; nothing was stored",
                problems.len()
            ),
            problems,
        ));
    }

    // Photos: known ones are read back; new ones get the cheap checks only (format,
    // completeness, limits, EXIF). Decoding, derivatives and the near-duplicate
    // comparison run in the background pool (`verification`).
    let shas: Vec<String> = upload.parts.iter().map(|p| p.sha256.clone()).collect();
    let db = state.db.clone();
    let known: Vec<PhotoRow> = web::block(move || -> Result<Vec<PhotoRow>, ApiError> {
        use camket_schema::tables::photos;
        use diesel::prelude::*;
        Ok(camket_schema::with_conn!(&db, |conn| photos::table
            .filter(photos::sha256.eq_any(&shas))
            .select(PhotoRow::as_select())
            .load(conn)?))
    })
    .await??;
    let to_examine: Vec<(String, String, String, std::path::PathBuf)> = upload
        .parts
        .iter()
        .filter(|p| !known.iter().any(|k| k.sha256 == p.sha256))
        .map(|p| {
            (
                p.field.clone(),
                p.filename.clone(),
                p.sha256.clone(),
                p.path.clone(),
            )
        })
        .collect();
    let photo_limits = evidence_config.photo_limits();
    let offset = evidence_config.local_offset();
    let results = web::block(move || {
        to_examine
            .into_iter()
            .map(|(field, name, sha, path)| {
                (
                    field,
                    name,
                    sha,
                    photo::examine(&path, photo_limits, offset),
                )
            })
            .collect::<Vec<_>>()
    })
    .await?;
    let mut examined: HashMap<String, ExaminedPhoto> = HashMap::new();
    let mut photo_errors = Vec::new();
    for (field, name, sha, result) in results {
        match result {
            Ok(photo) => {
                examined.insert(sha, photo);
            }
            Err(error) => {
                photo_errors.push(FieldError::new(field, format!("photo '{name}': {error}")))
            }
        }
    }
    if !photo_errors.is_empty() {
        return Err(ApiError::invalid_many(
            format!(
                "{} photo(s) refused; nothing was stored",
                photo_errors.len()
            ),
            photo_errors,
        ));
    }

    let principal_id = principal.user_id.0;
    let geotag_required = definition.geotag == GeotagRule::Required;
    // What the submission covers: a commitment kind, or a village meeting.
    let commitment = survey_forms::covered_commitment(&definition, &document.answers)
        .map(|k| k.as_str().to_string())
        .or_else(|| {
            definition.feeds.village_meeting.then(|| {
                camket_schema::coverage::TargetKind::VillageMeeting
                    .key()
                    .to_string()
            })
        });
    let attachments: Vec<(String, String, String)> = upload
        .parts
        .iter()
        .map(|p| (p.field.clone(), p.filename.clone(), p.sha256.clone()))
        .collect();
    let subject = match document.household_id {
        Some(id) => format!("household:{id}"),
        None => format!("village:{}", document.village_id),
    };
    let limits = evidence_config.limits();
    let worker_state = state.clone();
    let household_location = household.as_ref().and_then(|h| Some((h.lat?, h.lon?)));
    let collected_at = document.collected_at.with_timezone(&Utc);
    let outcome = web::block(
        move || -> Result<Result<i64, (ApiError, String)>, ApiError> {
            let state = worker_state;
            let upload = upload;
            // Move the photos into the store (content-addressed; a second copy is dropped).
            let mut rows = Vec::new();
            let mut facts = Vec::new();
            let now = Utc::now().naive_utc();
            for part in &upload.parts {
                let io = |e: std::io::Error| ApiError::Internal(format!("photo store: {e}"));
                if let Some(photo) = examined.get(&part.sha256) {
                    std::fs::File::open(&part.path)
                        .and_then(|f| f.sync_all())
                        .map_err(io)?;
                    state.photos.adopt(&part.path, &part.sha256).map_err(io)?;
                    if !rows.iter().any(|r: &PhotoRow| r.sha256 == part.sha256) {
                        rows.push(PhotoRow {
                            sha256: part.sha256.clone(),
                            format: photo.format.as_str().into(),
                            size_bytes: part.size as i64,
                            width: photo.width as i32,
                            height: photo.height as i32,
                            // Set with the derivatives by the background checks.
                            phash: 0,
                            exif_time: photo.exif.taken_at.map(|t| t.naive_utc()),
                            exif_lat: photo.exif.location.map(|l| l.0),
                            exif_lon: photo.exif.location.map(|l| l.1),
                            created_at: now,
                            verified_at: None,
                            verify_error: None,
                        });
                    }
                    facts.push(PhotoFacts {
                        part_name: part.filename.clone(),
                        sha256: part.sha256.clone(),
                        taken_at: photo.exif.taken_at,
                        location: photo.exif.location,
                    });
                } else if let Some(row) = known.iter().find(|k| k.sha256 == part.sha256) {
                    facts.push(PhotoFacts {
                        part_name: part.filename.clone(),
                        sha256: row.sha256.clone(),
                        taken_at: row.exif_time.map(|t| t.and_utc()),
                        location: match (row.exif_lat, row.exif_lon) {
                            (Some(lat), Some(lon)) => Some((lat, lon)),
                            _ => None,
                        },
                    });
                }
            }
            // The evidence checks.
            let place = village_place(&village);
            let evidence_photos: Vec<PhotoEvidence> = facts
                .iter()
                .map(|f| PhotoEvidence {
                    part_name: f.part_name.clone(),
                    taken_at: f.taken_at,
                    location: f.location,
                })
                .collect();
            let reuses = exact_reuses(&state.db, &facts, &subject)?;
            let neighbours = store::neighbours(&state.db, principal_id, collected_at.naive_utc())?;
            let window = campaign_window(&state.db, &village.path, collected_at)?;
            let input = evidence::EvidenceInput {
                geotag: document.geotag,
                geotag_required,
                collected_at,
                now: Utc::now(),
                village: &place,
                household_location,
                photos: &evidence_photos,
                reuses: &reuses,
                neighbours: &neighbours,
                window,
            };
            let (flags, risk) = evidence::assess(&input, &limits);
            let record = store::NewRecord {
                submission: NewSubmission {
                    instance_id: document.instance_id.clone(),
                    content_hash: hash.clone(),
                    form_id: document.form_id.clone(),
                    form_version: document.form_version as i32,
                    village_id: document.village_id,
                    area_path: village.path.clone(),
                    household_id: document.household_id,
                    submitted_by: principal_id,
                    device_id: document.device_id.clone(),
                    collected_at: collected_at.naive_utc(),
                    received_at: now,
                    geotag_lat: document.geotag.map(|g| g.lat),
                    geotag_lon: document.geotag.map(|g| g.lon),
                    geotag_accuracy_m: document.geotag.and_then(|g| g.accuracy_m),
                    geotag_altitude_m: document.geotag.and_then(|g| g.altitude_m),
                    geotag_captured_at: document
                        .geotag
                        .and_then(|g| g.captured_at)
                        .map(|t| t.naive_utc()),
                    answers: serde_json::to_string(&document.answers)
                        .unwrap_or_else(|_| "{}".into()),
                    status: SubmissionStatus::Received.as_str().into(),
                    risk,
                    flags: serde_json::to_string(&flags).unwrap_or_else(|_| "[]".into()),
                    commitment_kind: commitment,
                    supersedes: document.corrects,
                    superseded_by: None,
                    updated_at: now,
                    approved_at: None,
                    // Every photo gets the background checks, known ones
                    // included: a near-duplicate may have arrived since.
                    evidence_pending: !facts.is_empty(),
                },
                photos: rows,
                attachments,
                subject,
                corrects: document.corrects,
            };
            match store::insert(&state.db, &record) {
                Ok(id) => Ok(Ok(id)),
                Err(error) => Ok(Err((error, hash))),
            }
        },
    )
    .await??;
    let id = match outcome {
        Ok(id) => id,
        Err((error, hash)) => {
            // A concurrent identical send may have won the race: answer as for a resend.
            let db = state.db.clone();
            let instance = document_instance(&raw);
            match web::block(move || store::find_by_instance(&db, &instance)).await?? {
                Some(row) => return resend_answer(row, &hash),
                None => return Err(error),
            }
        }
    };
    let db = state.db.clone();
    let (row, _) = web::block(move || store::get(&db, id))
        .await??
        .ok_or_else(|| ApiError::Internal("stored submission vanished".into()))?;
    state.backlog.nudge();
    tracing::info!(submission = id, risk = row.risk, "submission received");
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/submissions/{id}")))
        .json(view(row, None)))
}

/// A campaign window: `[start, end)`.
type Span = (DateTime<Utc>, DateTime<Utc>);

/// The campaign window a submission belongs to: one of the village's campaigns
/// whose window holds `collected_at`; else, when all of them start later, the
/// first of those (so the submission is flagged `before_campaign`).
fn campaign_window(
    db: &camket_schema::Db,
    village_path: &str,
    collected_at: DateTime<Utc>,
) -> Result<Option<Span>, ApiError> {
    let path = AreaPath::from_stored(village_path.to_string());
    let windows: Vec<Span> = crate::campaigns::all(db)?
        .into_iter()
        .filter(|c| c.scope_path.contains(&path))
        .map(|c| (c.window.start, c.window.end))
        .collect();
    if let Some(holding) = windows
        .iter()
        .find(|(start, end)| collected_at >= *start && collected_at < *end)
    {
        return Ok(Some(*holding));
    }
    if !windows.is_empty() && windows.iter().all(|(start, _)| collected_at < *start) {
        return Ok(windows.into_iter().min_by_key(|(start, _)| *start));
    }
    Ok(None)
}

fn document_instance(raw: &Value) -> String {
    raw.get("instance_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn may_read(principal: &Principal, row: &SubmissionRow) -> Result<(), ApiError> {
    if row.submitted_by == principal.user_id.0 {
        return Ok(());
    }
    authorize(
        principal,
        Action::ReadSubmissions,
        Some(&AreaPath::from_stored(row.area_path.clone())),
    )
}

/// Query of `GET /submissions`.
#[derive(Debug, Deserialize)]
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

/// Handles the `GET /api/v1/submissions` route: the officer's queue, riskiest
/// first; a surveyor's own submissions with `mine=true`.
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let mine =
        query.mine.unwrap_or(false) || principal.role == camket_schema::domain::Role::Surveyor;
    let everywhere = vec![AreaPath::from_stored("/".into())];
    let scopes = if mine {
        authorize(&principal, Action::Submit, None)
            .or_else(|_| authorize(&principal, Action::ReadSubmissions, None))?;
        everywhere
    } else {
        authorize(&principal, Action::ReadSubmissions, None)?;
        principal.scope_paths()
    };
    let db = state.db.clone();
    let area_scope = match query.area {
        Some(area) => {
            let row = web::block(move || {
                crate::areas::store::get(&db, camket_schema::domain::AreaId(area))
            })
            .await??
            .ok_or_else(|| ApiError::bad_param("area", format!("no area with id {area}")))?;
            let path = AreaPath::from_stored(row.path);
            if !mine {
                authorize(&principal, Action::ReadSubmissions, Some(&path))?;
            }
            Some(path)
        }
        None => None,
    };
    let status = query
        .status
        .as_deref()
        .map(|s| {
            s.parse::<SubmissionStatus>()
                .map_err(|e| ApiError::bad_param("status", e))
        })
        .transpose()?;
    if let Some(flag) = &query.flag {
        if serde_json::from_value::<evidence::FlagCode>(Value::String(flag.clone())).is_err() {
            return Err(ApiError::bad_param(
                "flag",
                format!("unknown flag '{flag}'"),
            ));
        }
    }
    let after = match query.cursor.as_deref() {
        None => None,
        Some(text) => {
            let parsed = text
                .split_once('.')
                .and_then(|(r, i)| Some((r.parse::<i32>().ok()?, i.parse::<i64>().ok()?)));
            Some(parsed.ok_or_else(|| {
                ApiError::bad_param("cursor", "not a cursor returned by this endpoint")
            })?)
        }
    };
    let filter = store::QueueFilter {
        scopes: match area_scope {
            Some(path) => vec![path],
            None => scopes,
        },
        form_id: query.form.clone(),
        status,
        flag: query.flag.clone(),
        submitted_by: if mine {
            Some(principal.user_id.0)
        } else {
            query.surveyor
        },
        village_id: query.village,
        collected_from: query
            .from
            .as_deref()
            .map(|t| parse_time("from", t))
            .transpose()?,
        collected_to: query
            .to
            .as_deref()
            .map(|t| parse_time("to", t))
            .transpose()?,
        after,
        limit: parse_limit(query.limit, 50, 500)?,
    };
    let limit = filter.limit;
    let db = state.db.clone();
    let rows = web::block(move || store::list(&db, &filter)).await??;
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| format!("{}.{}", r.risk, r.id)))
        .flatten();
    let items: Vec<SubmissionView> = rows.into_iter().map(|r| view(r, None)).collect();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

async fn load(
    state: &AppState,
    id: i64,
) -> Result<(SubmissionRow, Vec<SubmissionPhotoRow>), ApiError> {
    let db = state.db.clone();
    web::block(move || store::get(&db, id))
        .await??
        .ok_or_else(|| ApiError::NotFound(format!("no submission {id}")))
}

/// Handles the `GET /api/v1/submissions/{id}` route.
pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (row, attached) = load(&state, id.into_inner()).await?;
    may_read(&principal, &row)?;
    Ok(HttpResponse::Ok().json(view(row, Some(attached))))
}

/// Query of the photo route.
#[derive(Debug, Deserialize)]
pub struct PhotoQuery {
    pub size: Option<String>,
}

/// Handles the `GET /api/v1/submissions/{id}/photos/{photo_id}` route.
pub async fn photo(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
    query: web::Query<PhotoQuery>,
) -> Result<HttpResponse, ApiError> {
    let (id, photo_id) = path.into_inner();
    let (row, attached) = load(&state, id).await?;
    may_read(&principal, &row)?;
    let attachment = attached
        .into_iter()
        .find(|p| p.id == photo_id)
        .ok_or_else(|| ApiError::NotFound(format!("submission {id} has no photo {photo_id}")))?;
    let (variant, tag) = match query.size.as_deref().unwrap_or("review") {
        "thumb" => (Variant::Thumbnail, "thumb"),
        "review" => (Variant::Review, "review"),
        "original" => (Variant::Original, "original"),
        other => {
            return Err(ApiError::bad_param(
                "size",
                format!("'{other}' is not one of thumb, review, original"),
            ))
        }
    };
    let etag = format!("\"{}-{tag}\"", attachment.sha256);
    let cache = (
        header::CACHE_CONTROL,
        "private, max-age=31536000, immutable",
    );
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if fresh {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header(cache)
            .finish());
    }
    let db = state.db.clone();
    let sha = attachment.sha256.clone();
    let store = state.photos.clone();
    let (bytes, format) = web::block(move || -> Result<(Vec<u8>, String), ApiError> {
        let row = store::photo(&db, &sha)?
            .ok_or_else(|| ApiError::Internal(format!("photo {sha} has no row")))?;
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
        let bytes = store
            .read(&sha, variant)
            .map_err(|e| ApiError::Internal(format!("photo {sha} missing from the store: {e}")))?;
        Ok((bytes, row.format))
    })
    .await??;
    let media_type = match (variant, format.as_str()) {
        (Variant::Original, "png") => "image/png",
        _ => "image/jpeg",
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag))
        .insert_header(cache)
        .content_type(media_type)
        .body(bytes))
}

/// Body of the review route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    pub decision: Decision,
    #[serde(default)]
    pub comment: Option<String>,
}

/// Handles the `POST /api/v1/submissions/{id}/review` route.
pub async fn review(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: JsonBody<ReviewRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let request = body.into_inner();
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
    let (row, _) = load(&state, id).await?;
    authorize(
        &principal,
        Action::Review,
        Some(&AreaPath::from_stored(row.area_path.clone())),
    )?;
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
    Ok(HttpResponse::Ok().json(view(updated, None)))
}

/// One entry of the history.
#[derive(Debug, Serialize)]
pub struct HistoryView {
    pub submission_id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: i64,
    pub actor: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub comment: Option<String>,
}

/// Handles the `GET /api/v1/submissions/{id}/history` route: every state change
/// and revision, with who and when.
pub async fn history(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (row, _) = load(&state, id).await?;
    may_read(&principal, &row)?;
    let db = state.db.clone();
    let entries = web::block(move || store::history(&db, id)).await??;
    let items: Vec<HistoryView> = entries
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
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}
