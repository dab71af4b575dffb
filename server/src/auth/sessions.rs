//! Logins, refresh-token rotation and reuse detection, in the database.

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use camket_schema::domain::{AreaId, AreaLevel, AreaPath, Role};
use camket_schema::models::{AuthSessionRow, RefreshTokenRow, UserRow};
use camket_schema::tables::{areas, auth_sessions, refresh_tokens, user_areas, users};
use camket_schema::{with_conn, write_tx, Db};

use super::tokens::{new_refresh_token, random_hex, secret_hash};
use crate::access::{AreaScope, Principal, Scope};
use crate::error::ApiError;

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// The stored account for a username, active or not.
pub fn find_user(db: &Db, username: &str) -> Result<Option<UserRow>, ApiError> {
    with_conn!(db, |conn| {
        Ok(users::table
            .filter(users::username.eq(username))
            .select(UserRow::as_select())
            .first(conn)
            .optional()?)
    })
}

/// Starts a login for a user; returns the session id and its first refresh token.
pub fn start_session(
    db: &Db,
    user_id: i64,
    refresh_ttl_secs: u64,
) -> Result<(String, String), ApiError> {
    let session_id = random_hex(16);
    let token = new_refresh_token();
    let at = now();
    let session = AuthSessionRow {
        id: session_id.clone(),
        user_id,
        created_at: at,
        revoked_at: None,
        revoked_reason: None,
    };
    let refresh = RefreshTokenRow {
        token_hash: secret_hash(&token),
        session_id: session_id.clone(),
        issued_at: at,
        expires_at: at + ttl(refresh_ttl_secs),
        used_at: None,
    };
    write_tx!(db, |conn| {
        diesel::insert_into(auth_sessions::table)
            .values(&session)
            .execute(conn)?;
        diesel::insert_into(refresh_tokens::table)
            .values(&refresh)
            .execute(conn)?;
        Ok::<_, ApiError>(())
    })?;
    Ok((session_id, token))
}

fn ttl(secs: u64) -> Duration {
    Duration::seconds(
        i64::try_from(secs)
            .unwrap_or(i64::MAX / 4_000)
            .min(100 * 365 * 86_400),
    )
}

/// What a successful refresh yields.
pub struct Rotated {
    pub user_id: i64,
    pub role: Role,
    pub session_id: String,
    pub refresh_token: String,
}

/// Why a refresh was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshRefusal {
    Unknown,
    Expired,
    Revoked,
    /// A spent token came back: someone else may hold the chain. The login is revoked.
    Reused,
    Deactivated,
    /// The login is older than its absolute lifetime; it is ended.
    TooOld,
}

/// Spends a refresh token and issues its successor in the same login. Presenting
/// a spent token revokes the whole login; so does refreshing a login that began
/// more than `login_max_age_secs` ago (the user must log in again).
pub fn rotate(
    db: &Db,
    presented: &str,
    refresh_ttl_secs: u64,
    login_max_age_secs: u64,
) -> Result<Result<Rotated, RefreshRefusal>, ApiError> {
    let hash = secret_hash(presented);
    let at = now();
    let next = new_refresh_token();
    let next_hash = secret_hash(&next);
    let outcome = write_tx!(db, |conn| {
        let found: Option<(RefreshTokenRow, AuthSessionRow, UserRow)> = refresh_tokens::table
            .inner_join(auth_sessions::table.inner_join(users::table))
            .filter(refresh_tokens::token_hash.eq(&hash))
            .select((
                RefreshTokenRow::as_select(),
                AuthSessionRow::as_select(),
                UserRow::as_select(),
            ))
            .first(conn)
            .optional()?;
        let Some((token, session, user)) = found else {
            return Ok::<_, ApiError>(Err(RefreshRefusal::Unknown));
        };
        if session.revoked_at.is_some() {
            return Ok(Err(RefreshRefusal::Revoked));
        }
        if !user.active {
            return Ok(Err(RefreshRefusal::Deactivated));
        }
        if login_too_old(session.created_at, at, login_max_age_secs) {
            diesel::update(auth_sessions::table.filter(auth_sessions::id.eq(&session.id)))
                .filter(auth_sessions::revoked_at.is_null())
                .set((
                    auth_sessions::revoked_at.eq(Some(at)),
                    auth_sessions::revoked_reason.eq(Some("login lifetime reached")),
                ))
                .execute(conn)?;
            return Ok(Err(RefreshRefusal::TooOld));
        }
        // Conditional update: of two concurrent uses of one token only one wins.
        let spent = diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::token_hash.eq(&hash))
                .filter(refresh_tokens::used_at.is_null()),
        )
        .set(refresh_tokens::used_at.eq(Some(at)))
        .execute(conn)?;
        if token.used_at.is_some() || spent == 0 {
            return Ok(Err(RefreshRefusal::Reused));
        }
        if token.expires_at < at {
            return Ok(Err(RefreshRefusal::Expired));
        }
        diesel::insert_into(refresh_tokens::table)
            .values(&RefreshTokenRow {
                token_hash: next_hash.clone(),
                session_id: session.id.clone(),
                issued_at: at,
                expires_at: at + ttl(refresh_ttl_secs),
                used_at: None,
            })
            .execute(conn)?;
        Ok(Ok(Rotated {
            user_id: user.id.0,
            role: user.role,
            session_id: session.id,
            refresh_token: next.clone(),
        }))
    })?;
    if let Err(RefreshRefusal::Reused) = &outcome {
        // Outside the refusing transaction, so the revocation is not rolled back with it.
        revoke_session_of_token(db, &hash, "refresh token reused")?;
    }
    Ok(outcome)
}

/// Whether a login that began at `created_at` has outlived `max_age_secs` at `at`.
pub fn login_too_old(created_at: NaiveDateTime, at: NaiveDateTime, max_age_secs: u64) -> bool {
    at - created_at >= ttl(max_age_secs)
}

fn revoke_session_of_token(db: &Db, token_hash: &str, reason: &str) -> Result<(), ApiError> {
    let at = now();
    write_tx!(db, |conn| {
        let session_id: Option<String> = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .select(refresh_tokens::session_id)
            .first(conn)
            .optional()?;
        if let Some(session_id) = session_id {
            diesel::update(auth_sessions::table.filter(auth_sessions::id.eq(&session_id)))
                .filter(auth_sessions::revoked_at.is_null())
                .set((
                    auth_sessions::revoked_at.eq(Some(at)),
                    auth_sessions::revoked_reason.eq(Some(reason)),
                ))
                .execute(conn)?;
        }
        Ok::<_, ApiError>(())
    })
}

/// Ends a login: its access tokens stop working and its refresh tokens are refused.
pub fn revoke_session(db: &Db, session_id: &str, reason: &str) -> Result<(), ApiError> {
    let at = now();
    write_tx!(db, |conn| {
        diesel::update(auth_sessions::table.filter(auth_sessions::id.eq(session_id)))
            .filter(auth_sessions::revoked_at.is_null())
            .set((
                auth_sessions::revoked_at.eq(Some(at)),
                auth_sessions::revoked_reason.eq(Some(reason)),
            ))
            .execute(conn)?;
        Ok::<_, ApiError>(())
    })
}

/// Loads the caller of a verified access token: `None` when the login was
/// revoked or the account deactivated since the token was issued.
pub fn load_principal(
    db: &Db,
    user_id: i64,
    session_id: &str,
) -> Result<Option<Principal>, ApiError> {
    let found: Option<(UserRow, Option<NaiveDateTime>)> = with_conn!(db, |conn| users::table
        .inner_join(auth_sessions::table)
        .filter(users::id.eq(user_id))
        .filter(auth_sessions::id.eq(session_id))
        .select((UserRow::as_select(), auth_sessions::revoked_at))
        .first(conn)
        .optional()?);
    match found {
        Some((user, None)) if user.active => Ok(Some(principal_of(db, user, session_id)?)),
        _ => Ok(None),
    }
}

/// The caller of a web-console session: `None` when the login was revoked
/// (logged out), the account deactivated, or the login began more than
/// `max_age_secs` ago. Read on every request, so that all three act at once.
pub fn console_principal(
    db: &Db,
    session_id: &str,
    max_age_secs: u64,
) -> Result<Option<Principal>, ApiError> {
    let found: Option<(UserRow, AuthSessionRow)> = with_conn!(db, |conn| users::table
        .inner_join(auth_sessions::table)
        .filter(auth_sessions::id.eq(session_id))
        .select((UserRow::as_select(), AuthSessionRow::as_select()))
        .first(conn)
        .optional()?);
    match found {
        Some((user, session))
            if user.active
                && session.revoked_at.is_none()
                && !login_too_old(session.created_at, now(), max_age_secs) =>
        {
            Ok(Some(principal_of(db, user, session_id)?))
        }
        _ => Ok(None),
    }
}

/// Starts a login without a refresh token (the web console's: its cookie
/// names the login, and the login ends with the working day or at logout).
pub fn start_console_session(db: &Db, user_id: i64) -> Result<String, ApiError> {
    let session = AuthSessionRow {
        id: random_hex(16),
        user_id,
        created_at: now(),
        revoked_at: None,
        revoked_reason: None,
    };
    write_tx!(db, |conn| {
        diesel::insert_into(auth_sessions::table)
            .values(&session)
            .execute(conn)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(session.id)
}

/// The caller who is `user`, with the areas they are bound to; `session_id`
/// names how they proved it (a login, a device token, a password on the request).
pub fn principal_of(db: &Db, user: UserRow, session_id: &str) -> Result<Principal, ApiError> {
    let rows: Vec<(i64, String, AreaLevel, AreaPath)> = with_conn!(db, |conn| user_areas::table
        .inner_join(areas::table)
        .filter(user_areas::user_id.eq(user.id.0))
        .select((areas::id, areas::name, areas::level, areas::path))
        .order(areas::path)
        .load(conn)?);
    let areas: Vec<AreaScope> = rows
        .into_iter()
        .map(|(id, name, level, path)| AreaScope {
            id: AreaId(id),
            name,
            level,
            path,
        })
        .collect();
    Ok(Principal {
        user_id: user.id,
        username: user.username,
        full_name: user.full_name,
        role: user.role,
        session_id: session_id.to_string(),
        scope: Scope::new(areas.iter().map(|area| area.path.clone())),
        areas,
    })
}

/// Checks a username and password and, when they match an active account,
/// starts a login: `(user id, role, session id, refresh token)`. An unknown
/// username costs the same time as a wrong password (a decoy hash is verified).
pub fn log_in(
    db: &Db,
    username: &str,
    password: &str,
    refresh_ttl_secs: u64,
) -> Result<Option<(i64, Role, String, String)>, ApiError> {
    match verify_credentials(db, username, password)? {
        Some(user) => {
            let (session_id, refresh) = start_session(db, user.id.0, refresh_ttl_secs)?;
            Ok(Some((user.id.0, user.role, session_id, refresh)))
        }
        None => Ok(None),
    }
}

/// The active account these credentials open, if any. An unknown username
/// costs the same time as a wrong password (a decoy hash is verified).
pub fn verify_credentials(
    db: &Db,
    username: &str,
    password: &str,
) -> Result<Option<UserRow>, ApiError> {
    let user = find_user(db, username)?;
    let stored_hash = user
        .as_ref()
        .map_or(super::password::decoy_hash(), |u| u.password_hash.as_str());
    let matches = super::password::verify_password(password, stored_hash);
    Ok(user.filter(|user| matches && user.active))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_ends_at_its_absolute_lifetime() {
        let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
            .and_then(|d| d.and_hms_opt(8, 0, 0))
            .expect("time");
        let ninety_days = 90 * 86_400;
        assert!(!login_too_old(start, start, ninety_days));
        assert!(!login_too_old(
            start,
            start + Duration::days(90) - Duration::seconds(1),
            ninety_days
        ));
        assert!(login_too_old(
            start,
            start + Duration::days(90),
            ninety_days
        ));
        assert!(login_too_old(start, start + Duration::seconds(3), 3));
        // A huge setting never overflows into "too old".
        assert!(!login_too_old(
            start,
            start + Duration::days(3650),
            u64::MAX
        ));
    }
}
