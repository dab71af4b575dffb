//! User accounts (admin only): `POST /users`, `GET /users`,
//! `PUT /users/{id}/areas`, `POST /users/{id}/deactivate`, `POST /users/{id}/activate`.

pub mod store;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use camket_schema::domain::{AreaPath, Role, UserId};
use camket_schema::models::UserRow;
use camket_schema::Db;

use crate::access::{authorize, Action, Principal, Scope};
use crate::auth::password;
use crate::error::{ApiError, FieldError};
use crate::json_body::JsonBody;
use crate::paging::{cursor_param, decode_id, parse_limit, Page};
use crate::state::AppState;

/// Body of `POST /users`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateUser {
    #[schema(pattern = "^[a-z0-9._-]{3,64}$")]
    pub username: String,
    #[schema(min_length = 1, max_length = 200)]
    pub full_name: String,
    #[schema(min_length = 8)]
    pub password: String,
    /// `surveyor`, `officer`, `viewer` or `admin`.
    #[schema(value_type = Role)]
    pub role: String,
    /// The areas the account is bound to (inside the caller's).
    pub area_ids: Vec<i64>,
}

/// Body of `PUT /users/{id}/areas`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SetAreas {
    pub area_ids: Vec<i64>,
}

/// A user as admins see it (never the password hash).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: UserId,
    pub username: String,
    pub full_name: String,
    pub role: Role,
    pub active: bool,
    pub area_ids: Vec<i64>,
}

/// Why a username is unacceptable, if it is.
pub fn username_problem(username: &str) -> Option<&'static str> {
    let ok_chars = username
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !(3..=64).contains(&username.len()) {
        Some("must be 3 to 64 characters")
    } else if !ok_chars {
        Some("may contain only lowercase letters, digits, '.', '_' and '-'")
    } else {
        None
    }
}

/// Checks a new account's fields; every problem is listed.
pub fn validate_new_user(input: &CreateUser) -> Result<Role, ApiError> {
    let mut errors = Vec::new();
    if let Some(problem) = username_problem(&input.username) {
        errors.push(FieldError::new("username", problem));
    }
    if input.full_name.trim().is_empty() || input.full_name.chars().count() > 200 {
        errors.push(FieldError::new(
            "full_name",
            "is required (at most 200 characters)",
        ));
    }
    if let Some(problem) = password::password_problem(&input.password) {
        errors.push(FieldError::new("password", problem));
    }
    let role = input.role.parse::<Role>();
    if let Err(e) = &role {
        errors.push(FieldError::new("role", e.to_string()));
    }
    if input.area_ids.is_empty() {
        errors.push(FieldError::new(
            "area_ids",
            "bind the user to at least one area",
        ));
    }
    match role {
        Ok(role) if errors.is_empty() => Ok(role),
        _ => Err(ApiError::invalid_many(
            "the new account has invalid fields",
            errors,
        )),
    }
}

/// Paths of the given areas inside `scope`; an unknown id, or one outside the
/// scope (answered alike, so area ids cannot be probed), is a validation error
/// on `area_ids`.
pub fn area_paths(db: &Db, scope: &Scope, ids: &[i64]) -> Result<Vec<AreaPath>, ApiError> {
    let mut rows = store::area_paths(db, ids)?;
    rows.retain(|(_, path)| scope.covers(path));
    let missing: Vec<String> = ids
        .iter()
        .filter(|id| !rows.iter().any(|(found, _)| found == *id))
        .map(|id| id.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::invalid(
            "area_ids",
            format!("no such area: {}", missing.join(", ")),
        ));
    }
    Ok(rows.into_iter().map(|(_, path)| path).collect())
}

/// An account as admins see it, with the paths of its areas.
fn load_view(db: &Db, id: i64) -> Result<Option<(UserView, Vec<AreaPath>)>, ApiError> {
    Ok(store::get(db, id)?.map(|(user, bound)| view_of(user, bound)))
}

/// An account as clients see it, and the paths of its areas.
fn view_of(user: UserRow, bound: store::BoundAreas) -> (UserView, Vec<AreaPath>) {
    let view = UserView {
        id: user.id,
        username: user.username,
        full_name: user.full_name,
        role: user.role,
        active: user.active,
        area_ids: bound.iter().map(|(id, _)| *id).collect(),
    };
    (view, bound.into_iter().map(|(_, path)| path).collect())
}

/// Users bound to at least one area inside `scope`, by id.
fn list_in_scope(
    db: &Db,
    scope: &Scope,
    after: i64,
    limit: i64,
) -> Result<Vec<UserView>, ApiError> {
    let ids = store::ids_in_scope(db, scope, after, limit)?;
    Ok(store::get_many(db, &ids)?
        .into_iter()
        .map(|(user, bound)| view_of(user, bound).0)
        .collect())
}

/// Loads a user an admin wants to manage and checks the admin covers all its areas.
fn managed_user(db: &Db, principal: &Principal, id: i64) -> Result<UserView, ApiError> {
    authorize(principal, Action::ManageUsers, None)?;
    let missing = || ApiError::NotFound(format!("no user with id {id} in your areas"));
    let (view, paths) = load_view(db, id)?.ok_or_else(missing)?;
    // A user bound anywhere outside the admin's areas answers like a missing one.
    if !paths.iter().all(|path| principal.scope.covers(path)) {
        return Err(missing());
    }
    Ok(view)
}

/// Handles the `POST /api/v1/users` route.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser, responses((status = 201, description = "the account", body = UserView)))]
pub async fn create_user(
    state: web::Data<AppState>,
    principal: Principal,
    body: JsonBody<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    let view = create_account(&state, &principal, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Creates an account bound to areas inside `principal`'s. The service behind
/// `POST /users` and the console.
pub async fn create_account(
    state: &AppState,
    principal: &Principal,
    input: CreateUser,
) -> Result<UserView, ApiError> {
    authorize(principal, Action::ManageUsers, None)?;
    let principal = principal.clone();
    let role = validate_new_user(&input)?;
    let db = state.db.clone();
    let view = web::block(move || -> Result<UserView, ApiError> {
        for path in area_paths(&db, &principal.scope, &input.area_ids)? {
            authorize(&principal, Action::ManageUsers, Some(&path))?;
        }
        let hash = password::hash_password(&input.password).map_err(ApiError::Internal)?;
        let id = store::create(
            &db,
            &store::NewAccount {
                username: &input.username,
                full_name: input.full_name.trim(),
                password_hash: &hash,
                role,
                area_ids: &input.area_ids,
            },
        )?;
        load_view(&db, id)?
            .map(|(view, _)| view)
            .ok_or_else(|| ApiError::Internal("created user vanished".into()))
    })
    .await??;
    tracing::info!(user_id = view.id.0, role = %view.role, "user created");
    Ok(view)
}

/// Query of `GET /users`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Handles the `GET /api/v1/users` route.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(ListQuery), responses((status = 200, description = "accounts bound inside the caller's areas", body = Page<UserView>)))]
pub async fn list_users(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = parse_limit(query.limit, 100, 1000)?;
    let after = cursor_param(query.cursor.as_deref(), decode_id)?.unwrap_or(0);
    let items = accounts(&state, &principal, after, limit).await?;
    let next_cursor = (items.len() as i64 == limit)
        .then(|| items.last().map(|u| u.id.to_string()))
        .flatten();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// The accounts bound inside `principal`'s areas, by id, after `after`, at most `limit`.
pub async fn accounts(
    state: &AppState,
    principal: &Principal,
    after: i64,
    limit: i64,
) -> Result<Vec<UserView>, ApiError> {
    authorize(principal, Action::ManageUsers, None)?;
    let db = state.db.clone();
    let scope = principal.scope.clone();
    web::block(move || list_in_scope(&db, &scope, after, limit)).await?
}

/// One account `principal` manages (bound only inside their areas).
pub async fn account(
    state: &AppState,
    principal: &Principal,
    id: i64,
) -> Result<UserView, ApiError> {
    let db = state.db.clone();
    let principal = principal.clone();
    web::block(move || managed_user(&db, &principal, id)).await?
}

/// Handles the `PUT /api/v1/users/{id}/areas` route.
#[utoipa::path(put, path = "/api/v1/users/{id}/areas", tag = "users", params(("id" = i64, Path, description = "the id")), request_body = SetAreas, responses((status = 200, description = "the account with its new areas", body = UserView)))]
pub async fn set_areas(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    body: JsonBody<SetAreas>,
) -> Result<HttpResponse, ApiError> {
    let view = bind(
        &state,
        &principal,
        id.into_inner(),
        body.into_inner().area_ids,
    )
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Binds account `id` to `area_ids` (replacing its areas), all inside `principal`'s.
pub async fn bind(
    state: &AppState,
    principal: &Principal,
    id: i64,
    area_ids: Vec<i64>,
) -> Result<UserView, ApiError> {
    authorize(principal, Action::ManageUsers, None)?;
    let principal = principal.clone();
    if area_ids.is_empty() {
        return Err(ApiError::invalid(
            "area_ids",
            "bind the user to at least one area",
        ));
    }
    let db = state.db.clone();
    let view = web::block(move || -> Result<UserView, ApiError> {
        managed_user(&db, &principal, id)?;
        for path in area_paths(&db, &principal.scope, &area_ids)? {
            authorize(&principal, Action::ManageUsers, Some(&path))?;
        }
        store::set_areas(&db, id, &area_ids)?;
        managed_user(&db, &principal, id)
    })
    .await??;
    Ok(view)
}

/// Deactivates (its logins end at once) or reactivates account `id`.
pub async fn change_active(
    state: &AppState,
    principal: &Principal,
    id: i64,
    active: bool,
) -> Result<UserView, ApiError> {
    authorize(principal, Action::ManageUsers, None)?;
    let principal = principal.clone();
    if principal.user_id.0 == id && !active {
        return Err(ApiError::Conflict(
            "you cannot deactivate your own account".into(),
        ));
    }
    let db = state.db.clone();
    let view = web::block(move || -> Result<UserView, ApiError> {
        managed_user(&db, &principal, id)?;
        store::set_active(&db, id, active)?;
        managed_user(&db, &principal, id)
    })
    .await??;
    tracing::info!(user_id = id, active, "user activation changed");
    Ok(view)
}

/// Handles the `POST /api/v1/users/{id}/deactivate` route: the account's logins
/// end at once.
#[utoipa::path(post, path = "/api/v1/users/{id}/deactivate", tag = "users", params(("id" = i64, Path, description = "the id")), responses((status = 200, description = "the account; its logins have ended", body = UserView)))]
pub async fn deactivate(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let view = change_active(&state, &principal, id.into_inner(), false).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Handles the `POST /api/v1/users/{id}/activate` route.
#[utoipa::path(post, path = "/api/v1/users/{id}/activate", tag = "users", params(("id" = i64, Path, description = "the id")), responses((status = 200, description = "the account", body = UserView)))]
pub async fn activate(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let view = change_active(&state, &principal, id.into_inner(), true).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Area ids for area codes (for the command line); unknown codes are an error.
pub fn area_ids_for_codes(db: &Db, codes: &[String]) -> Result<Vec<i64>, ApiError> {
    let rows = store::area_ids_by_code(db, codes)?;
    codes
        .iter()
        .map(|code| {
            rows.iter()
                .find(|(_, c)| c == code)
                .map(|(id, _)| *id)
                .ok_or_else(|| ApiError::invalid("area", format!("no area has code '{code}'")))
        })
        .collect()
}

impl From<store::CreateRefusal> for ApiError {
    fn from(refusal: store::CreateRefusal) -> ApiError {
        match refusal {
            store::CreateRefusal::UsernameTaken(_) => ApiError::Conflict(refusal.to_string()),
            store::CreateRefusal::Storage(error) => ApiError::from(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_user_problems_are_all_listed() {
        let input = CreateUser {
            username: "A B".into(),
            full_name: " ".into(),
            password: "short".into(),
            role: "chief".into(),
            area_ids: vec![],
        };
        match validate_new_user(&input) {
            Err(ApiError::Validation { errors, .. }) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(
                    fields,
                    vec!["username", "full_name", "password", "role", "area_ids"]
                );
            }
            other => panic!("expected validation error, got {other:?}"),
        }
    }
}
