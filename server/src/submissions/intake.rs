//! Submission intake: everything between "the upload is on disk" and "the
//! submission is stored". Every entry point that accepts field work (the JSON
//! API, the phone protocol) hands a [`ParsedSubmission`] to [`intake`] and maps
//! its [`Outcome`]: the rules for who may submit where, resends, validation,
//! the cheap photo checks, the evidence flags and the stored record live here.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use camket_schema::domain::AreaPath;
use camket_schema::models::{AreaRow, NewSubmission, PhotoRow, SubmissionRow};
use survey_forms::{FormDefinition, FormVersion, GeotagRule, HouseholdRule};

use super::review::SubmissionStatus;
use super::upload::{StagedPart, Upload};
use super::{store, verification, SubmissionDocument};
use crate::access::{authorize, Action, Principal};
use crate::error::{ApiError, FieldError};
use crate::evidence::photo::{self, ExaminedPhoto};
use crate::evidence::{self, PhotoEvidence, PhotoReuse, VillagePlace};
use crate::state::AppState;
use camket_schema::domain::AreaLevel;

/// A received submission: its document (as sent, and parsed) and its staged photos.
pub struct ParsedSubmission {
    /// The document as sent, for the idempotency key.
    pub raw: Value,
    pub document: SubmissionDocument,
    /// The staged photo parts; removed from staging when this is dropped.
    pub upload: Upload,
}

/// What became of a submission that was not refused.
#[derive(Debug)]
pub enum Outcome {
    /// Stored now.
    Created(SubmissionRow),
    /// The same content was stored before under this `instance_id` (a phone's resend).
    AlreadyStored(SubmissionRow),
    /// The `instance_id` was used before for different content.
    Conflict { instance_id: String, existing: i64 },
}

/// The idempotency key of a submission's content: its JSON (canonically
/// re-serialised) and the hashes of its photo parts.
fn content_hash(document: &Value, parts: &[StagedPart]) -> String {
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

/// Who may be told about an earlier submission under the same `instance_id`:
/// its submitter, or a user whose area covers it. Anyone else gets the refusal
/// of any out-of-area request, so instance ids cannot be probed.
fn may_see_resend(principal: &Principal, stored: &SubmissionRow) -> Result<(), ApiError> {
    if stored.submitted_by == principal.user_id.0 {
        return Ok(());
    }
    authorize(principal, Action::ReadSubmissions, Some(&stored.area_path))
        .map_err(|_| out_of_area())
}

/// The one answer for a household that is missing or lies in another village,
/// so that household ids of other areas cannot be probed.
const NOT_IN_VILLAGE: &str = "this household is not in the given village";

fn out_of_area() -> ApiError {
    ApiError::Forbidden(
        "this area is outside the areas assigned to you; you may not send submissions there".into(),
    )
}

fn resend(principal: &Principal, stored: SubmissionRow, hash: &str) -> Result<Outcome, ApiError> {
    may_see_resend(principal, &stored)?;
    if stored.content_hash == hash {
        Ok(Outcome::AlreadyStored(stored))
    } else {
        Ok(Outcome::Conflict {
            instance_id: stored.instance_id,
            existing: stored.id,
        })
    }
}

/// Checks the document against the form, the place and the parts; every problem is listed.
fn validate(
    document: &SubmissionDocument,
    definition: &FormDefinition,
    household_village: Option<i64>,
    parts: &[StagedPart],
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
    // A missing household and one of another village get the same answer.
    if document.household_id.is_some() && household_village != Some(document.village_id) {
        errors.push(FieldError::new("household_id", NOT_IN_VILLAGE));
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
    let named = survey_forms::attachment_names(definition, &document.answers);
    let wanted: BTreeSet<(String, String)> = named.iter().cloned().collect();
    let sent: BTreeSet<(String, String)> = parts
        .iter()
        .map(|p| (p.field.clone(), p.filename.clone()))
        .collect();
    for (field, name) in wanted.difference(&sent) {
        errors.push(FieldError::new(format!("answers.{field}"), format!("photo '{name}' is named in the answers but no part '{field}' with that file name was sent")));
    }
    for (field, name) in sent.difference(&wanted) {
        let is_photo_field = named.iter().any(|(f, _)| f == field)
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
    exif_unreadable: Option<String>,
}

/// A village as the evidence checks see it: its name, boundary and centre.
pub fn village_place(row: &AreaRow) -> VillagePlace {
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
                kind: crate::evidence::ReuseKind::SameFile,
            })
        })
        .collect())
}

/// A campaign window: `[start, end)`.
type Span = (DateTime<Utc>, DateTime<Utc>);

/// The campaign window a submission belongs to: one of the village's campaigns
/// whose window holds `collected_at`; else, when all of them start later, the
/// first of those (so the submission is flagged `before_campaign`).
fn campaign_window(
    db: &camket_schema::Db,
    village: &AreaPath,
    collected_at: DateTime<Utc>,
) -> Result<Option<Span>, ApiError> {
    let windows: Vec<Span> = crate::campaigns::all(db)?
        .into_iter()
        .filter(|c| c.scope_path.contains(village))
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

/// The cheap checks of every photo not stored before (format, completeness,
/// limits, EXIF); decoding and the near-duplicate search run later, in the
/// background (`verification`).
fn examine_new_photos(
    state: &AppState,
    parts: &[StagedPart],
    known: &[PhotoRow],
) -> Result<HashMap<String, ExaminedPhoto>, ApiError> {
    let limits = state.config.evidence.photo_limits();
    let offset = state.config.evidence.local_offset();
    let mut examined = HashMap::new();
    let mut refused = Vec::new();
    for part in parts
        .iter()
        .filter(|p| !known.iter().any(|k| k.sha256 == p.sha256))
    {
        match photo::examine(&part.path, limits, offset) {
            Ok(found) => {
                examined.insert(part.sha256.clone(), found);
            }
            Err(error) => refused.push(FieldError::new(
                part.field.clone(),
                format!("photo '{}': {error}", part.filename),
            )),
        }
    }
    if refused.is_empty() {
        Ok(examined)
    } else {
        Err(ApiError::invalid_many(
            format!("{} photo(s) refused; nothing was stored", refused.len()),
            refused,
        ))
    }
}

/// Moves the new photos into the store and lists what each photo contributes
/// to the evidence checks; returns the rows of photos stored for the first time.
fn store_photos(
    state: &AppState,
    parts: &[StagedPart],
    known: &[PhotoRow],
    examined: &HashMap<String, ExaminedPhoto>,
) -> Result<(Vec<PhotoRow>, Vec<PhotoFacts>), ApiError> {
    let now = Utc::now().naive_utc();
    let mut rows: Vec<PhotoRow> = Vec::new();
    let mut facts = Vec::new();
    for part in parts {
        let io = |e: std::io::Error| {
            state.metrics.photo_store_errors.inc();
            ApiError::Internal(format!("photo store: {e}"))
        };
        if let Some(photo) = examined.get(&part.sha256) {
            std::fs::File::open(&part.path)
                .and_then(|f| f.sync_all())
                .map_err(io)?;
            // Content-addressed: a second copy of the same photo is dropped.
            // The intent keeps the orphan sweep away until the commit.
            crate::recovery::intend_photo(&state.db, &part.sha256)?;
            state.photos.adopt(&part.path, &part.sha256).map_err(io)?;
            if !rows.iter().any(|r| r.sha256 == part.sha256) {
                rows.push(PhotoRow {
                    sha256: part.sha256.clone(),
                    format: photo.format,
                    size_bytes: part.size as i64,
                    width: photo.width as i32,
                    height: photo.height as i32,
                    exif_time: photo.exif.taken_at.map(|t| t.naive_utc()),
                    exif_lat: photo.exif.location.map(|l| l.0),
                    exif_lon: photo.exif.location.map(|l| l.1),
                    created_at: now,
                    verified_at: None,
                    verify_error: None,
                    exif_camera: photo.exif.camera.clone(),
                    exif_error: photo.exif.unreadable.clone(),
                });
            }
            facts.push(PhotoFacts {
                part_name: part.filename.clone(),
                sha256: part.sha256.clone(),
                taken_at: photo.exif.taken_at,
                location: photo.exif.location,
                exif_unreadable: photo.exif.unreadable.clone(),
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
                exif_unreadable: row.exif_error.clone(),
            });
        }
    }
    Ok((rows, facts))
}

/// Takes in one submission for `principal`: authorises it for its village
/// first (resends included), validates it against its form version and place,
/// runs the cheap photo checks, assesses the evidence and stores it with its
/// photos in one transaction. Blocking: call it on the blocking pool, once.
pub fn intake(
    state: &AppState,
    principal: &Principal,
    parsed: ParsedSubmission,
) -> Result<Outcome, ApiError> {
    authorize(principal, Action::Submit, None)?;
    let ParsedSubmission {
        raw,
        document,
        upload,
    } = parsed;
    let db = &state.db;
    let hash = content_hash(&raw, &upload.parts);

    // Who may submit there comes before anything about the instance id.
    let (village, household) = store::place(db, document.village_id, document.household_id)?;
    // A village outside the caller's areas gets the refusal a missing one gets,
    // so that village ids cannot be probed.
    let village = village
        .filter(|v| principal.scope.covers(&v.path.clone()))
        .ok_or_else(out_of_area)?;
    if village.level != AreaLevel::Village {
        return Err(ApiError::invalid(
            "village_id",
            format!("area {} is a {}, not a village", village.id, village.level),
        ));
    }
    let village_path = village.path.clone();
    authorize(principal, Action::Submit, Some(&village_path))?;
    if let Some(stored) = store::find_by_instance(db, &document.instance_id)? {
        return resend(principal, stored, &hash);
    }

    let definition = crate::forms::store::accepting_version(
        db,
        &document.form_id,
        FormVersion(document.form_version),
    )?;
    if let Some(original) = document.corrects {
        // Only one's own submission can be corrected, and only in its village;
        // anyone else's answers like a missing one.
        let corrected = store::get(db, original)?
            .map(|(row, _)| row)
            .filter(|row| row.submitted_by == principal.user_id.0)
            .ok_or_else(|| {
                ApiError::invalid("corrects", format!("you sent no submission {original}"))
            })?;
        if corrected.village_id != document.village_id {
            return Err(ApiError::invalid(
                "corrects",
                format!("submission {original} was for another village"),
            ));
        }
    }
    let problems = validate(
        &document,
        &definition,
        household.as_ref().map(|h| h.village_id.0),
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

    let shas: Vec<String> = upload.parts.iter().map(|p| p.sha256.clone()).collect();
    let known = store::photos(db, &shas)?;
    let examined = examine_new_photos(state, &upload.parts, &known)?;
    let (photo_rows, facts) = store_photos(state, &upload.parts, &known, &examined)?;

    let subject = match document.household_id {
        Some(id) => format!("household:{id}"),
        None => format!("village:{}", document.village_id),
    };
    let collected_at = document.collected_at.with_timezone(&Utc);
    let evidence_photos: Vec<PhotoEvidence> = facts
        .iter()
        .map(|f| PhotoEvidence {
            part_name: f.part_name.clone(),
            taken_at: f.taken_at,
            location: f.location,
            exif_unreadable: f.exif_unreadable.clone(),
        })
        .collect();
    let reuses = exact_reuses(db, &facts, &subject)?;
    let neighbours = store::neighbours(db, principal.user_id.0, collected_at.naive_utc())?;
    let window = campaign_window(db, &village_path, collected_at)?;
    let place = village_place(&village);
    let input = evidence::EvidenceInput {
        geotag: document.geotag,
        geotag_required: definition.geotag == GeotagRule::Required,
        collected_at,
        now: Utc::now(),
        village: &place,
        household_location: household.as_ref().and_then(|h| Some((h.lat?, h.lon?))),
        photos: &evidence_photos,
        reuses: &reuses,
        neighbours: &neighbours,
        window,
    };
    let (flags, risk) = evidence::assess(&input, &state.config.evidence.limits());

    // What the submission covers: a commitment kind, or a village meeting.
    let commitment = survey_forms::covered_commitment(&definition, &document.answers)
        .map(|k| k.as_str().to_string())
        .or_else(|| {
            definition.feeds.village_meeting.then(|| {
                crate::coverage::rules::TargetKind::VillageMeeting
                    .key()
                    .to_string()
            })
        });
    let now = Utc::now().naive_utc();
    let record = store::NewRecord {
        submission: NewSubmission {
            instance_id: document.instance_id.clone(),
            content_hash: hash.clone(),
            form_id: document.form_id.clone(),
            form_version: document.form_version as i32,
            village_id: document.village_id,
            area_path: village.path.clone(),
            household_id: document.household_id,
            submitted_by: principal.user_id.0,
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
            answers: serde_json::to_string(&document.answers).unwrap_or_else(|_| "{}".into()),
            status: SubmissionStatus::Received,
            risk,
            flags: serde_json::to_string(&flags).unwrap_or_else(|_| "[]".into()),
            commitment_kind: commitment,
            supersedes: document.corrects,
            superseded_by: None,
            updated_at: now,
            approved_at: None,
            // Every photo gets the background checks, known ones included: a
            // near-duplicate may have arrived since.
            evidence_pending: !facts.is_empty(),
        },
        photos: photo_rows,
        attachments: upload
            .parts
            .iter()
            .map(|p| (p.field.clone(), p.filename.clone(), p.sha256.clone()))
            .collect(),
        subject,
        corrects: document.corrects,
        flags,
    };
    match store::insert(db, &record) {
        Ok(id) => {
            let (row, _) = store::get(db, id)?
                .ok_or_else(|| ApiError::Internal("stored submission vanished".into()))?;
            Ok(Outcome::Created(row))
        }
        // A concurrent identical send may have won the race: answer as for a resend.
        Err(error) => match store::find_by_instance(db, &document.instance_id)? {
            Some(stored) => resend(principal, stored, &hash),
            None => Err(error.into()),
        },
    }
}
