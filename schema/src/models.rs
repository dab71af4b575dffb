//! Row models: what a table row looks like when read or written.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::domain::{
    AreaId, AreaLevel, AreaPath, HouseholdId, PhotoFormat, Role, SubmissionStatus, UserId,
};

use crate::tables::{
    areas, auth_sessions, campaigns, devices, form_versions, households, photos, refresh_tokens,
    submission_events, submission_photos, submissions, users,
};

/// One row of `areas`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = areas)]
pub struct AreaRow {
    pub id: AreaId,
    pub code: String,
    pub name: String,
    pub level: AreaLevel,
    pub parent_id: Option<AreaId>,
    pub path: AreaPath,
    pub depth: i32,
    pub boundary: Option<String>,
    pub centroid_lat: Option<f64>,
    pub centroid_lon: Option<f64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A new area; its `path` is completed once its id is known.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = areas)]
pub struct NewArea<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub level: AreaLevel,
    pub parent_id: Option<i64>,
    pub path: &'a str,
    pub depth: i32,
    pub boundary: Option<&'a str>,
    pub centroid_lat: Option<f64>,
    pub centroid_lon: Option<f64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// One row of `households`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = households)]
pub struct HouseholdRow {
    pub id: HouseholdId,
    pub village_id: AreaId,
    pub code: String,
    pub head_name: String,
    pub address: String,
    pub member_count: i32,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub categories: String,
    pub active: bool,
    pub sync_seq: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A new household.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = households)]
pub struct NewHousehold {
    pub village_id: i64,
    pub code: String,
    pub head_name: String,
    pub address: String,
    pub member_count: i32,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub categories: String,
    pub active: bool,
    pub sync_seq: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// One row of `users`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: UserId,
    pub username: String,
    pub full_name: String,
    pub password_hash: String,
    pub role: Role,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A new user account.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub full_name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// One login (a family of rotating refresh tokens).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_sessions)]
pub struct AuthSessionRow {
    pub id: String,
    pub user_id: i64,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_reason: Option<String>,
}

/// A refresh token, stored only as its sha-256.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub token_hash: String,
    pub session_id: String,
    pub issued_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

/// One published form version (immutable but for `retired`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = form_versions)]
pub struct FormVersionRow {
    pub form_id: String,
    pub version: i32,
    pub content_hash: String,
    pub definition: String,
    pub title_vi: String,
    pub title_en: String,
    pub retired: bool,
    pub published_at: NaiveDateTime,
    pub published_by: Option<i64>,
}

/// One stored photo file.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = photos)]
pub struct PhotoRow {
    pub sha256: String,
    pub format: PhotoFormat,
    pub size_bytes: i64,
    pub width: i32,
    pub height: i32,
    pub exif_time: Option<NaiveDateTime>,
    pub exif_lat: Option<f64>,
    pub exif_lon: Option<f64>,
    pub created_at: NaiveDateTime,
    /// When the background checks decoded the photo; `None` while waiting.
    pub verified_at: Option<NaiveDateTime>,
    /// Why the photo could not be decoded, when it could not.
    pub verify_error: Option<String>,
    /// The camera EXIF names (make and model).
    pub exif_camera: Option<String>,
    /// Why EXIF present in the photo could not be read, when it could not.
    pub exif_error: Option<String>,
}

/// One submission (a revision: a correction is a new row linked by `supersedes`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = submissions)]
pub struct SubmissionRow {
    pub id: i64,
    pub instance_id: String,
    pub content_hash: String,
    pub form_id: String,
    pub form_version: i32,
    pub village_id: i64,
    pub area_path: AreaPath,
    pub household_id: Option<i64>,
    pub submitted_by: i64,
    pub device_id: Option<String>,
    pub collected_at: NaiveDateTime,
    pub received_at: NaiveDateTime,
    pub geotag_lat: Option<f64>,
    pub geotag_lon: Option<f64>,
    pub geotag_accuracy_m: Option<f64>,
    pub geotag_altitude_m: Option<f64>,
    pub geotag_captured_at: Option<NaiveDateTime>,
    pub answers: String,
    pub status: SubmissionStatus,
    pub risk: i32,
    pub flags: String,
    pub commitment_kind: Option<String>,
    pub supersedes: Option<i64>,
    pub superseded_by: Option<i64>,
    pub updated_at: NaiveDateTime,
    pub approved_at: Option<NaiveDateTime>,
    /// The background photo checks have not run yet; flags may still be added.
    pub evidence_pending: bool,
    /// The reviewer's comment on the latest decision (the reason of a rejection).
    pub review_comment: Option<String>,
}

/// A new submission.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = submissions)]
pub struct NewSubmission {
    pub instance_id: String,
    pub content_hash: String,
    pub form_id: String,
    pub form_version: i32,
    pub village_id: i64,
    pub area_path: AreaPath,
    pub household_id: Option<i64>,
    pub submitted_by: i64,
    pub device_id: Option<String>,
    pub collected_at: NaiveDateTime,
    pub received_at: NaiveDateTime,
    pub geotag_lat: Option<f64>,
    pub geotag_lon: Option<f64>,
    pub geotag_accuracy_m: Option<f64>,
    pub geotag_altitude_m: Option<f64>,
    pub geotag_captured_at: Option<NaiveDateTime>,
    pub answers: String,
    pub status: SubmissionStatus,
    pub risk: i32,
    pub flags: String,
    pub commitment_kind: Option<String>,
    pub supersedes: Option<i64>,
    pub superseded_by: Option<i64>,
    pub updated_at: NaiveDateTime,
    pub approved_at: Option<NaiveDateTime>,
    /// The background photo checks have not run yet; flags may still be added.
    pub evidence_pending: bool,
}

/// A photo attached to a submission under one field.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = submission_photos)]
pub struct SubmissionPhotoRow {
    pub id: i64,
    pub submission_id: i64,
    pub field_path: String,
    pub part_name: String,
    pub sha256: String,
    pub subject: String,
}

/// One entry of a submission's audit trail.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = submission_events)]
pub struct SubmissionEventRow {
    pub id: i64,
    pub submission_id: i64,
    pub at: NaiveDateTime,
    /// Who did it; `None` for the photo checks (a flag found later).
    pub actor_id: Option<i64>,
    pub action: String,
    pub from_status: Option<SubmissionStatus>,
    pub to_status: Option<SubmissionStatus>,
    pub comment: Option<String>,
}

/// One campaign.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = campaigns)]
pub struct CampaignRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub directive: String,
    pub scope_area_id: i64,
    pub starts_on: chrono::NaiveDate,
    pub ends_on: chrono::NaiveDate,
    pub window_start: NaiveDateTime,
    pub window_end: NaiveDateTime,
    pub utc_offset_minutes: i32,
    pub targets: String,
    pub created_at: NaiveDateTime,
}

/// One row of `devices`: a phone set up for ODK Collect.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = devices)]
pub struct DeviceRow {
    pub id: i64,
    pub user_id: UserId,
    pub label: String,
    pub token_hash: String,
    pub token_nonce: String,
    pub created_by: UserId,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}
