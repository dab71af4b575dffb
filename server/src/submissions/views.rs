//! How a submission is shown to a caller: its fields, its photos' URLs, and
//! its flags as far as the caller may know them (a flag naming another
//! submission names it only to those whose areas cover that submission).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use camket_schema::domain::AreaPath;
use camket_schema::models::{PhotoRow, SubmissionPhotoRow, SubmissionRow};

use super::store;
use crate::access::Principal;
use crate::error::ApiError;
use crate::evidence::{Flag, Geotag};
use crate::state::AppState;
use camket_schema::domain::SubmissionStatus;

/// A submission as clients see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
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
    pub status: SubmissionStatus,
    /// The reviewer's comment on the latest decision: for a rejection, the
    /// reason, so that the surveyor knows what to correct.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_comment: Option<String>,
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
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PhotoView {
    pub id: i64,
    pub field: String,
    pub name: String,
    pub sha256: String,
    pub thumb_url: String,
    pub review_url: String,
    pub original_url: String,
    /// What the photo's EXIF says, for the reviewer.
    pub exif: PhotoExifView,
}

/// A photo's EXIF as a reviewer reads it: when, where and with what camera it
/// was taken, or why EXIF that is there cannot be read.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct PhotoExifView {
    pub taken_at: Option<DateTime<Utc>>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub camera: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

impl From<&PhotoRow> for PhotoExifView {
    fn from(photo: &PhotoRow) -> PhotoExifView {
        PhotoExifView {
            taken_at: photo.exif_time.map(|t| t.and_utc()),
            lat: photo.exif_lat,
            lon: photo.exif_lon,
            camera: photo.exif_camera.clone(),
            unreadable: photo.exif_error.clone(),
        }
    }
}

fn view(
    row: SubmissionRow,
    detail: Option<Vec<SubmissionPhotoRow>>,
    stored: &HashMap<String, PhotoRow>,
) -> SubmissionView {
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
                let exif = stored
                    .get(&p.sha256)
                    .map(PhotoExifView::from)
                    .unwrap_or_default();
                PhotoView {
                    id: p.id,
                    field: p.field_path,
                    name: p.part_name,
                    sha256: p.sha256,
                    thumb_url: format!("{base}?size=thumb"),
                    review_url: format!("{base}?size=review"),
                    original_url: format!("{base}?size=original"),
                    exif,
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
        review_comment: row.review_comment,
        risk: row.risk,
        flags: Vec::new(),
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

/// The flags of `row` as `principal` may see them.
fn visible_flags(
    principal: &Principal,
    row: &SubmissionRow,
    others: &HashMap<i64, AreaPath>,
) -> Vec<Flag> {
    let flags: Vec<Flag> = serde_json::from_str(&row.flags).unwrap_or_default();
    flags
        .into_iter()
        .map(|flag| match flag.other_submission {
            Some(other)
                if !others
                    .get(&other)
                    .is_some_and(|path| principal.scope.covers(path)) =>
            {
                flag.without_other_submission()
            }
            _ => flag,
        })
        .collect()
}

fn others_named(rows: &[SubmissionRow]) -> Vec<i64> {
    let mut ids: Vec<i64> = rows
        .iter()
        .flat_map(|row| serde_json::from_str::<Vec<Flag>>(&row.flags).unwrap_or_default())
        .filter_map(|flag| flag.other_submission)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Views of `rows` for `principal`, in order (blocking).
pub fn for_principal(
    db: &camket_schema::Db,
    principal: &Principal,
    rows: Vec<SubmissionRow>,
) -> Result<Vec<SubmissionView>, ApiError> {
    let others = store::area_paths(db, &others_named(&rows))?;
    Ok(rows
        .into_iter()
        .map(|row| redacted(principal, row, None, &others, &HashMap::new()))
        .collect())
}

/// The view of `row` with the flags `principal` may see, given the areas of
/// the submissions its flags name.
fn redacted(
    principal: &Principal,
    row: SubmissionRow,
    detail: Option<Vec<SubmissionPhotoRow>>,
    others: &HashMap<i64, AreaPath>,
    stored: &HashMap<String, PhotoRow>,
) -> SubmissionView {
    SubmissionView {
        flags: visible_flags(principal, &row, others),
        ..view(row, detail, stored)
    }
}

/// The view of one submission for `principal`, with its photos when `detail` is given.
pub async fn one(
    state: &AppState,
    principal: &Principal,
    row: SubmissionRow,
    detail: Option<Vec<SubmissionPhotoRow>>,
) -> Result<SubmissionView, ApiError> {
    let db = state.db.clone();
    let ids = others_named(std::slice::from_ref(&row));
    let shas: Vec<String> = detail.iter().flatten().map(|p| p.sha256.clone()).collect();
    let (others, stored) = actix_web::web::block(move || {
        let others = store::area_paths(&db, &ids)?;
        let stored: HashMap<String, PhotoRow> = store::photos(&db, &shas)?
            .into_iter()
            .map(|photo| (photo.sha256.clone(), photo))
            .collect();
        Ok::<_, camket_schema::DbError>((others, stored))
    })
    .await??;
    Ok(redacted(principal, row, detail, &others, &stored))
}
