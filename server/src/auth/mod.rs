//! Logging in and out: `POST /auth/login`, `/auth/refresh`, `/auth/logout`, `GET /me`.

pub mod password;
pub mod rate_limit;
pub mod sessions;
pub mod tokens;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use camket_schema::domain::Role;

use crate::access::{AreaScope, Principal};
use crate::error::ApiError;
use crate::json_body::JsonBody;
use crate::state::AppState;
use sessions::RefreshRefusal;
use tokens::Claims;

/// Body of `POST /auth/login`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    #[schema(min_length = 1)]
    pub username: String,
    #[schema(min_length = 1)]
    pub password: String,
}

/// Body of `POST /auth/refresh` (and optionally of `/auth/logout`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// A pair of tokens.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
}

fn tokens_for(
    state: &AppState,
    user_id: i64,
    role: Role,
    session_id: &str,
    refresh_token: String,
) -> Result<TokenResponse, ApiError> {
    let ttl = state.config.access_ttl_secs;
    let access_token = state
        .keys
        .issue(&Claims::new(user_id, session_id, role, ttl))
        .map_err(ApiError::Internal)?;
    Ok(TokenResponse {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: ttl,
    })
}

/// Handles the `POST /api/v1/auth/login` route.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", security(()), request_body = LoginRequest, responses((status = 200, description = "a new login", body = TokenResponse)))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest { username, password } = body.into_inner();
    let mut problems = Vec::new();
    if username.trim().is_empty() {
        problems.push(crate::error::FieldError::new("username", "is required"));
    }
    if password.is_empty() {
        problems.push(crate::error::FieldError::new("password", "is required"));
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid_many(
            "username and password are required",
            problems,
        ));
    }
    // Authorisation: none needed to try; throttled per address and per username
    // (see `rate_limit`). The password is verified only when the address may try.
    let address = crate::client_address::of_request(&req, state.config.trusted_proxies.as_slice());
    let name = username.trim().to_string();
    let too_many = |retry_after_secs| ApiError::TooManyRequests { retry_after_secs };
    state
        .login_limiter
        .before_verifying(&name, &address)
        .map_err(too_many)?;

    let db = state.db.clone();
    let refresh_ttl = state.config.refresh_ttl_secs;
    let lookup = name.clone();
    let outcome =
        web::block(move || sessions::log_in(&db, &lookup, &password, refresh_ttl)).await??;
    let Some((user_id, role, session_id, refresh)) = outcome else {
        // A wrong password to a username over its limit is a 429 like any other
        // refusal of the limiter; only the right password gets through it.
        if let Err(wait) = state.login_limiter.after_wrong_password(&name) {
            tracing::info!("login refused: too many wrong passwords for this username");
            return Err(too_many(wait));
        }
        tracing::info!("login refused");
        return Err(ApiError::Unauthorized(
            "wrong username or password, or the account is deactivated".into(),
        ));
    };
    tracing::info!(user_id, "login");
    let tokens = tokens_for(&state, user_id, role, &session_id, refresh)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(tokens))
}

/// Handles the `POST /api/v1/auth/refresh` route.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", security(()), request_body = RefreshRequest, responses((status = 200, description = "new tokens; the refresh token sent is spent", body = TokenResponse)))]
pub async fn refresh(
    state: web::Data<AppState>,
    body: JsonBody<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    // Authorisation: possession of an unspent refresh token of a live login.
    let presented = body.into_inner().refresh_token;
    let db = state.db.clone();
    let ttl = state.config.refresh_ttl_secs;
    let max_age = state.config.login_max_age_secs();
    let outcome = web::block(move || sessions::rotate(&db, &presented, ttl, max_age)).await??;
    match outcome {
        Ok(rotated) => {
            let tokens = tokens_for(
                &state,
                rotated.user_id,
                rotated.role,
                &rotated.session_id,
                rotated.refresh_token,
            )?;
            Ok(HttpResponse::Ok()
                .insert_header(("Cache-Control", "no-store"))
                .json(tokens))
        }
        Err(refusal) => {
            let why = match refusal {
                RefreshRefusal::Unknown => "unknown refresh token",
                RefreshRefusal::Expired => "the refresh token has expired; log in again",
                RefreshRefusal::Revoked => "this login has ended; log in again",
                RefreshRefusal::Reused => {
                    tracing::warn!("refresh token reuse: login revoked");
                    "this refresh token was already used; for safety the whole login is revoked, log in again"
                }
                RefreshRefusal::Deactivated => "the account is deactivated",
                RefreshRefusal::TooOld => {
                    tracing::info!("refresh refused: login lifetime reached");
                    "this login has reached its maximum lifetime; log in again"
                }
            };
            Err(ApiError::Unauthorized(why.into()))
        }
    }
}

/// Handles the `POST /api/v1/auth/logout` route: ends the caller's login.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body(content = Option<RefreshRequest>, description = "optional"), responses((status = 204, description = "the login has ended")))]
pub async fn logout(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    // Authorisation: any authenticated caller may end their own login.
    let db = state.db.clone();
    let session_id = principal.session_id.clone();
    web::block(move || sessions::revoke_session(&db, &session_id, "logout")).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// Response of `GET /me`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeResponse {
    pub id: i64,
    pub username: String,
    pub full_name: String,
    pub role: Role,
    pub areas: Vec<AreaScope>,
}

/// Handles the `GET /api/v1/me` route.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, description = "the caller and their areas", body = MeResponse)))]
pub async fn me(principal: Principal) -> Result<HttpResponse, ApiError> {
    // Authorisation: any authenticated caller may read themselves.
    Ok(HttpResponse::Ok().json(MeResponse {
        id: principal.user_id.0,
        username: principal.username,
        full_name: principal.full_name,
        role: principal.role,
        areas: principal.areas,
    }))
}
