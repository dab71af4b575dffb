//! Phones set up for ODK Collect. Collect answers a password challenge but never
//! volunteers credentials, so (as ODK Central does for field phones) each phone
//! gets a secret token in its server URL: `{public url}/collect/{token}`. A
//! token is bound to one user, gives exactly that user's rights, and is revoked
//! on its own. Only its hash and the nonce it is made from are stored.

use std::io::Write as _;

use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use camket_schema::domain::{AreaPath, Role};
use camket_schema::models::{DeviceRow, UserRow};
use camket_schema::tables::{devices, users};
use camket_schema::{with_conn, write_tx, Db, DbError};

use crate::access::{authorize, Action, Principal};
use crate::error::{ApiError, FieldError};
use crate::json_body::JsonBody;
use crate::state::AppState;

/// Decides whether `principal` may set up, list or revoke the phones of a user
/// with `target_role` bound to `target_areas`: anyone for themself; an officer
/// for a surveyor, an admin for anyone, when their areas cover all of the
/// user's (a phone acts as its user, so no one hands out more than they hold).
/// A user outside the caller's areas answers like a missing one.
pub fn may_manage_devices(
    principal: &Principal,
    target_id: i64,
    target_role: Role,
    target_areas: &[AreaPath],
) -> Result<(), ApiError> {
    if principal.user_id.0 == target_id {
        return Ok(());
    }
    authorize(principal, Action::ManageDevices, None)?;
    if principal.role == Role::Officer && target_role != Role::Surveyor {
        return Err(ApiError::Forbidden(
            "an officer may set up phones for surveyors only".into(),
        ));
    }
    if target_areas.is_empty() || !principal.scope.covers_all(target_areas) {
        return Err(ApiError::NotFound(format!(
            "no user with id {target_id} in your areas"
        )));
    }
    Ok(())
}

/// Body of `POST /api/v1/users/{id}/devices`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    pub label: String,
}

/// A device as listed (never with its token).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeviceView {
    pub id: i64,
    pub user_id: i64,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&DeviceRow> for DeviceView {
    fn from(row: &DeviceRow) -> DeviceView {
        DeviceView {
            id: row.id,
            user_id: row.user_id.0,
            label: row.label.clone(),
            created_at: row.created_at.and_utc(),
            last_used_at: row.last_used_at.map(|at| at.and_utc()),
            revoked_at: row.revoked_at.map(|at| at.and_utc()),
        }
    }
}

/// A device just set up: the only answer that shows its server URL besides the QR code.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NewDeviceView {
    pub id: i64,
    pub user_id: i64,
    pub label: String,
    pub created_at: DateTime<Utc>,
    /// `{public url}/collect/{token}`: what Collect is set up with.
    pub server_url: String,
    /// Collect's settings, as the QR code carries them.
    pub collect_settings: serde_json::Value,
    /// Where the QR code is.
    pub qr_code: String,
}

/// A user with the paths of the areas they are bound to.
fn target_user(db: &Db, id: i64) -> Result<Option<(UserRow, Vec<AreaPath>)>, DbError> {
    Ok(crate::users::store::get(db, id)?
        .map(|(user, bound)| (user, bound.into_iter().map(|(_, path)| path).collect())))
}

fn managed(db: &Db, principal: &Principal, id: i64) -> Result<UserRow, ApiError> {
    let missing = || ApiError::NotFound(format!("no user with id {id} in your areas"));
    let (user, paths) = target_user(db, id)?.ok_or_else(missing)?;
    may_manage_devices(principal, id, user.role, &paths)?;
    Ok(user)
}

/// The device of a user that the token names, if it is live and its user active.
pub fn user_of_token(db: &Db, token: &str) -> Result<Option<(DeviceRow, UserRow)>, DbError> {
    let hash = crate::auth::tokens::secret_hash(token);
    let found: Option<(DeviceRow, UserRow)> = with_conn!(db, |conn| devices::table
        .inner_join(users::table)
        .filter(devices::token_hash.eq(&hash))
        .filter(devices::revoked_at.is_null())
        .select((DeviceRow::as_select(), UserRow::as_select()))
        .first(conn)
        .optional()?);
    Ok(found.filter(|(_, user)| user.active))
}

/// Records that a device was used now (at most about once a minute per device).
pub fn touch(db: &Db, device: &DeviceRow) -> Result<(), DbError> {
    let now = Utc::now().naive_utc();
    if device
        .last_used_at
        .is_some_and(|at| now - at < chrono::Duration::minutes(1))
    {
        return Ok(());
    }
    write_tx!(db, |conn| {
        diesel::update(devices::table.find(device.id))
            .set(devices::last_used_at.eq(Some(now)))
            .execute(conn)?;
        Ok::<_, DbError>(())
    })
}

fn device_of(db: &Db, user_id: i64, device_id: i64) -> Result<Option<DeviceRow>, DbError> {
    Ok(with_conn!(db, |conn| devices::table
        .filter(devices::id.eq(device_id))
        .filter(devices::user_id.eq(user_id))
        .select(DeviceRow::as_select())
        .first(conn)
        .optional()?))
}

/// The base URL phones and links use: `CAMKET_PUBLIC_URL`, else this request's host.
pub fn public_url(state: &AppState, req: &HttpRequest) -> String {
    match &state.config.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            let host = req
                .headers()
                .get(actix_web::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    }
}

/// Collect's "configure via QR code" settings for a phone of `user`.
pub fn collect_settings(server_url: &str, user: &UserRow) -> serde_json::Value {
    json!({
        "general": {
            "server_url": server_url,
            "form_update_mode": "match_exactly",
            "autosend": "wifi_and_cellular",
            "delete_send": false,
        },
        // The phone keeps this server: a surveyor cannot point it elsewhere by mistake.
        "admin": {
            "change_server": false,
        },
        "project": {
            "name": format!("camket · {}", user.full_name),
            "icon": "C",
            "color": "#1565c0",
        },
    })
}

/// The QR payload Collect scans: the settings JSON, zlib-compressed, in base64.
pub fn qr_payload(settings: &serde_json::Value) -> Result<String, std::io::Error> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(settings.to_string().as_bytes())?;
    let compressed = encoder.finish()?;
    Ok(base64::engine::general_purpose::STANDARD.encode(compressed))
}

fn server_url(state: &AppState, req: &HttpRequest, nonce: &str) -> String {
    format!(
        "{}/collect/{}",
        public_url(state, req),
        state.keys.device_token(nonce)
    )
}

fn label_of(input: NewDevice) -> Result<String, ApiError> {
    let label = input.label.trim().to_string();
    if label.is_empty() || label.chars().count() > 100 {
        return Err(ApiError::invalid_many(
            "the label names the phone for people",
            vec![FieldError::new("label", "must be 1 to 100 characters")],
        ));
    }
    Ok(label)
}

/// Handles the `POST /api/v1/users/{id}/devices` route: sets up a phone for the
/// user; the answer holds its server URL and QR settings.
#[utoipa::path(post, path = "/api/v1/users/{id}/devices", tag = "devices", params(("id" = i64, Path, description = "the id")), request_body = NewDevice, responses((status = 201, description = "the phone's server URL and QR settings", body = NewDeviceView)))]
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    id: web::Path<i64>,
    body: JsonBody<NewDevice>,
) -> Result<HttpResponse, ApiError> {
    let view = set_up(&state, &principal, &req, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Sets up a phone for user `user_id`, if `principal` may ([`may_manage_devices`]):
/// its server URL, Collect settings and QR code address. The service behind
/// `POST /users/{id}/devices` and the console.
pub async fn set_up(
    state: &AppState,
    principal: &Principal,
    req: &HttpRequest,
    user_id: i64,
    input: NewDevice,
) -> Result<NewDeviceView, ApiError> {
    let label = label_of(input)?;
    let principal = principal.clone();
    let db = state.db.clone();
    let keys = state.keys.clone();
    let creator = principal.user_id.0;
    let (row, user) = web::block(move || -> Result<(DeviceRow, UserRow), ApiError> {
        let user = managed(&db, &principal, user_id)?;
        let nonce = crate::auth::tokens::random_hex(32);
        let hash = crate::auth::tokens::secret_hash(&keys.device_token(&nonce));
        let now = Utc::now().naive_utc();
        let row = write_tx!(&db, |conn| {
            diesel::insert_into(devices::table)
                .values((
                    devices::user_id.eq(user_id),
                    devices::label.eq(&label),
                    devices::token_hash.eq(&hash),
                    devices::token_nonce.eq(&nonce),
                    devices::created_by.eq(creator),
                    devices::created_at.eq(now),
                ))
                .execute(conn)?;
            devices::table
                .filter(devices::token_hash.eq(&hash))
                .select(DeviceRow::as_select())
                .first(conn)
        })
        .map_err(DbError::from)?;
        Ok((row, user))
    })
    .await??;
    tracing::info!(device_id = row.id, user_id, "device set up");
    let url = server_url(state, req, &row.token_nonce);
    Ok(NewDeviceView {
        id: row.id,
        user_id,
        label: row.label.clone(),
        created_at: row.created_at.and_utc(),
        collect_settings: collect_settings(&url, &user),
        server_url: url,
        qr_code: format!("/api/v1/users/{user_id}/devices/{}/qr.png", row.id),
    })
}

/// Handles the `GET /api/v1/users/{id}/devices` route.
#[utoipa::path(get, path = "/api/v1/users/{id}/devices", tag = "devices", params(("id" = i64, Path, description = "the id")), responses((status = 200, description = "the user's phones, without tokens", body = crate::paging::Items<DeviceView>)))]
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let items = phones(&state, &principal, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(crate::paging::Items { items }))
}

/// User `user_id`'s phones, revoked ones too, without tokens.
pub async fn phones(
    state: &AppState,
    principal: &Principal,
    user_id: i64,
) -> Result<Vec<DeviceView>, ApiError> {
    let principal = principal.clone();
    let db = state.db.clone();
    let rows = web::block(move || -> Result<Vec<DeviceRow>, ApiError> {
        managed(&db, &principal, user_id)?;
        Ok(with_conn!(&db, |conn| devices::table
            .filter(devices::user_id.eq(user_id))
            .select(DeviceRow::as_select())
            .order(devices::id)
            .load(conn)
            .map_err(DbError::from)?))
    })
    .await??;
    Ok(rows.iter().map(DeviceView::from).collect())
}

/// Handles the `DELETE /api/v1/users/{id}/devices/{device_id}` route: the
/// phone's token stops working at once.
#[utoipa::path(delete, path = "/api/v1/users/{id}/devices/{device_id}", tag = "devices", params(("id" = i64, Path, description = "the user"), ("device_id" = i64, Path, description = "the device")), responses((status = 204, description = "revoked")))]
pub async fn revoke(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (user_id, device_id) = path.into_inner();
    revoke_phone(&state, &principal, user_id, device_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Revokes phone `device_id` of user `user_id`: its token stops working at once.
pub async fn revoke_phone(
    state: &AppState,
    principal: &Principal,
    user_id: i64,
    device_id: i64,
) -> Result<(), ApiError> {
    let principal = principal.clone();
    let db = state.db.clone();
    web::block(move || -> Result<(), ApiError> {
        managed(&db, &principal, user_id)?;
        device_of(&db, user_id, device_id)?.ok_or_else(|| {
            ApiError::NotFound(format!("user {user_id} has no device {device_id}"))
        })?;
        let now = Utc::now().naive_utc();
        write_tx!(&db, |conn| {
            diesel::update(devices::table.find(device_id))
                .filter(devices::revoked_at.is_null())
                .set(devices::revoked_at.eq(Some(now)))
                .execute(conn)?;
            Ok::<_, DbError>(())
        })?;
        Ok(())
    })
    .await??;
    tracing::info!(device_id, user_id, "device revoked");
    Ok(())
}

/// Handles the `GET /api/v1/users/{id}/devices/{device_id}/qr.png` route: the
/// code a surveyor scans in Collect ("Configure with QR code") to set up the phone.
#[utoipa::path(get, path = "/api/v1/users/{id}/devices/{device_id}/qr.png", tag = "devices", params(("id" = i64, Path, description = "the user"), ("device_id" = i64, Path, description = "the device")), responses((status = 200, description = "Collect's configure-by-QR code", content_type = "image/png", body = crate::openapi::BinaryFile)))]
pub async fn qr_code(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (user_id, device_id) = path.into_inner();
    let png = qr_png(&state, &principal, &req, user_id, device_id).await?;
    Ok(HttpResponse::Ok().content_type("image/png").body(png))
}

/// The configure-by-QR code of a working phone, as a PNG.
pub async fn qr_png(
    state: &AppState,
    principal: &Principal,
    req: &HttpRequest,
    user_id: i64,
    device_id: i64,
) -> Result<Vec<u8>, ApiError> {
    let principal = principal.clone();
    let db = state.db.clone();
    let (device, user) = web::block(move || -> Result<(DeviceRow, UserRow), ApiError> {
        let user = managed(&db, &principal, user_id)?;
        let device = device_of(&db, user_id, device_id)?
            .filter(|d| d.revoked_at.is_none())
            .ok_or_else(|| {
                ApiError::NotFound(format!("user {user_id} has no working device {device_id}"))
            })?;
        Ok((device, user))
    })
    .await??;
    let url = server_url(state, req, &device.token_nonce);
    let payload = qr_payload(&collect_settings(&url, &user))
        .map_err(|e| ApiError::Internal(format!("cannot compress the settings: {e}")))?;
    web::block(move || render_qr(&payload)).await?
}

/// A QR code as a PNG.
fn render_qr(payload: &str) -> Result<Vec<u8>, ApiError> {
    let code = qrcode::QrCode::new(payload.as_bytes())
        .map_err(|e| ApiError::Internal(format!("cannot make the QR code: {e}")))?;
    let image = code
        .render::<image::Luma<u8>>()
        .min_dimensions(400, 400)
        .build();
    let mut png = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(|e| ApiError::Internal(format!("cannot write the QR code: {e}")))?;
    Ok(png.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{AreaScope, Scope};
    use camket_schema::domain::{AreaId, AreaLevel, UserId};
    use std::io::Read as _;

    fn principal(id: i64, role: Role, paths: &[&str]) -> Principal {
        let areas: Vec<AreaScope> = paths
            .iter()
            .map(|p| AreaScope {
                id: AreaId(1),
                name: String::new(),
                level: AreaLevel::Commune,
                path: AreaPath::from_stored(p.to_string()),
            })
            .collect();
        Principal {
            user_id: UserId(id),
            username: String::new(),
            full_name: String::new(),
            role,
            session_id: String::new(),
            scope: Scope::new(areas.iter().map(|a| a.path.clone())),
            areas,
        }
    }

    #[test]
    fn phones_are_set_up_by_their_user_or_by_someone_covering_them() {
        let village = [AreaPath::from_stored("/1/2/3/".into())];
        let elsewhere = [AreaPath::from_stored("/9/8/7/".into())];
        let officer = principal(1, Role::Officer, &["/1/2/"]);
        assert!(may_manage_devices(&officer, 5, Role::Surveyor, &village).is_ok());
        assert!(matches!(
            may_manage_devices(&officer, 5, Role::Surveyor, &elsewhere),
            Err(ApiError::NotFound(_))
        ));
        // An officer cannot mint a phone that acts as another officer or an admin.
        assert!(matches!(
            may_manage_devices(&officer, 6, Role::Admin, &village),
            Err(ApiError::Forbidden(_))
        ));
        let admin = principal(2, Role::Admin, &["/1/"]);
        assert!(may_manage_devices(&admin, 6, Role::Officer, &village).is_ok());
        // A user bound nowhere is nobody's to set up, except their own.
        assert!(may_manage_devices(&admin, 7, Role::Surveyor, &[]).is_err());
        let surveyor = principal(5, Role::Surveyor, &["/1/2/3/"]);
        assert!(may_manage_devices(&surveyor, 5, Role::Surveyor, &village).is_ok());
        assert!(matches!(
            may_manage_devices(&surveyor, 8, Role::Surveyor, &village),
            Err(ApiError::Forbidden(_))
        ));
    }

    #[test]
    fn the_qr_payload_is_zlib_compressed_settings_in_base64() {
        let settings = json!({"general": {"server_url": "https://x.example/collect/abc"}});
        let payload = qr_payload(&settings).expect("payload");
        let compressed = base64::engine::general_purpose::STANDARD
            .decode(payload)
            .expect("base64");
        let mut text = String::new();
        flate2::read::ZlibDecoder::new(compressed.as_slice())
            .read_to_string(&mut text)
            .expect("zlib");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).ok(),
            Some(settings)
        );
        assert!(render_qr("short").expect("png").starts_with(b"\x89PNG"));
    }
}
