//! Row models: what a table row looks like when read or written.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::tables::{areas, auth_sessions, form_versions, households, refresh_tokens, users};

/// One row of `areas`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = areas)]
pub struct AreaRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent_id: Option<i64>,
    pub path: String,
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
    pub level: &'a str,
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
    pub id: i64,
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
    pub id: i64,
    pub username: String,
    pub full_name: String,
    pub password_hash: String,
    pub role: String,
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
    pub role: &'a str,
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
