//! Authorisation, in one place. Every handler names the [`Action`] it performs and
//! the area it touches; [`authorize`] decides, from the caller's role and the
//! areas they are bound to. A user acts only inside the subtrees of their areas
//! (a surveyor's areas are the villages assigned to them).

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use camket_schema::domain::{AreaId, AreaLevel, AreaPath, Role, UserId};
use serde::Serialize;

use crate::app::AppState;
use crate::auth::sessions;
use crate::auth::tokens::TokenError;
use crate::error::ApiError;

/// An area a user is bound to.
#[derive(Debug, Clone, Serialize)]
pub struct AreaScope {
    pub id: AreaId,
    pub name: String,
    pub level: AreaLevel,
    pub path: AreaPath,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: UserId,
    pub username: String,
    pub full_name: String,
    pub role: Role,
    pub session_id: String,
    pub scopes: Vec<AreaScope>,
}

/// What a request does; each maps to the roles allowed to do it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// List or read areas.
    ReadAreas,
    /// Read a village's household roster (personal data).
    ReadHouseholds,
    /// Import or change areas and households.
    ManagePlaces,
    /// Create, bind, list or deactivate user accounts.
    ManageUsers,
    /// Download form definitions.
    ReadForms,
    /// Fill forms (and check answers against a version).
    FillForms,
    /// Publish forms, change their state, retire versions.
    ManageForms,
    /// Send submissions for a village.
    Submit,
    /// Read other people's submissions and their photos.
    ReadSubmissions,
    /// Approve, reject or question submissions.
    Review,
    /// Read coverage, gap lists and reports.
    ReadCoverage,
    /// Create campaigns.
    ManageCampaigns,
}

impl Action {
    fn allowed_roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Action::ReadAreas => &[Surveyor, Officer, Viewer, Admin],
            Action::ReadHouseholds => &[Surveyor, Officer, Viewer, Admin],
            Action::ManagePlaces => &[Admin],
            Action::ManageUsers => &[Admin],
            Action::ReadForms => &[Surveyor, Officer, Viewer, Admin],
            Action::FillForms => &[Surveyor, Officer, Admin],
            Action::ManageForms => &[Admin],
            Action::Submit => &[Surveyor, Officer],
            Action::ReadSubmissions => &[Officer, Viewer, Admin],
            Action::Review => &[Officer, Admin],
            Action::ReadCoverage => &[Surveyor, Officer, Viewer, Admin],
            Action::ManageCampaigns => &[Admin],
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Action::ReadAreas => "read areas",
            Action::ReadHouseholds => "read households",
            Action::ManagePlaces => "manage areas and households",
            Action::ManageUsers => "manage user accounts",
            Action::ReadForms => "read forms",
            Action::FillForms => "fill forms",
            Action::ManageForms => "publish or manage forms",
            Action::Submit => "send submissions",
            Action::ReadSubmissions => "read submissions",
            Action::Review => "review submissions",
            Action::ReadCoverage => "read coverage and reports",
            Action::ManageCampaigns => "manage campaigns",
        }
    }
}

impl Principal {
    /// Whether the area at `path` lies inside one of the caller's areas.
    pub fn covers(&self, path: &AreaPath) -> bool {
        self.scopes.iter().any(|scope| scope.path.contains(path))
    }

    /// The caller's area subtrees, for filtering queries.
    pub fn scope_paths(&self) -> Vec<AreaPath> {
        self.scopes.iter().map(|scope| scope.path.clone()).collect()
    }
}

/// Decides whether `principal` may perform `action`, on the area at `target`
/// when the action touches one. The only place roles and areas are checked.
pub fn authorize(
    principal: &Principal,
    action: Action,
    target: Option<&AreaPath>,
) -> Result<(), ApiError> {
    if !action.allowed_roles().contains(&principal.role) {
        return Err(ApiError::Forbidden(format!(
            "a {} may not {}",
            principal.role,
            action.describe()
        )));
    }
    if let Some(path) = target {
        if !principal.covers(path) {
            return Err(ApiError::Forbidden(format!(
                "this area is outside the areas assigned to you; you may not {} there",
                action.describe()
            )));
        }
    }
    Ok(())
}

fn bearer_token(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("log in first: no Authorization header".into()))?;
    let text = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is not text".into()))?;
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_string())
        }
        _ => Err(ApiError::Unauthorized(
            "the Authorization header must be 'Bearer <access token>'".into(),
        )),
    }
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Principal, ApiError>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            let state =
                state.ok_or_else(|| ApiError::Internal("application state missing".into()))?;
            let claims = state.keys.verify(&token?).map_err(|e| match e {
                TokenError::Expired => ApiError::Unauthorized(e.to_string()),
                TokenError::Invalid => ApiError::Unauthorized(e.to_string()),
            })?;
            let user_id = claims
                .user_id()
                .ok_or_else(|| ApiError::Unauthorized("the access token is invalid".into()))?;
            let db = state.db.clone();
            let principal =
                web::block(move || sessions::load_principal(&db, user_id, &claims.sid)).await??;
            principal.ok_or_else(|| {
                ApiError::Unauthorized(
                    "this login has ended (logged out, revoked or account deactivated)".into(),
                )
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, paths: &[&str]) -> Principal {
        Principal {
            user_id: UserId(1),
            username: "u".into(),
            full_name: "U".into(),
            role,
            session_id: "s".into(),
            scopes: paths
                .iter()
                .enumerate()
                .map(|(i, p)| AreaScope {
                    id: AreaId(i as i64),
                    name: String::new(),
                    level: AreaLevel::Commune,
                    path: AreaPath::from_stored(p.to_string()),
                })
                .collect(),
        }
    }

    #[test]
    fn role_and_area_both_decide() {
        let officer = principal(Role::Officer, &["/1/2/"]);
        let inside = AreaPath::from_stored("/1/2/9/".into());
        let outside = AreaPath::from_stored("/1/3/9/".into());
        assert!(authorize(&officer, Action::ReadHouseholds, Some(&inside)).is_ok());
        assert!(authorize(&officer, Action::ReadHouseholds, Some(&outside)).is_err());
        assert!(authorize(&officer, Action::ManageUsers, Some(&inside)).is_err());
        let admin = principal(Role::Admin, &["/1/"]);
        assert!(authorize(&admin, Action::ManageUsers, Some(&outside)).is_ok());
        let nobody = principal(Role::Viewer, &[]);
        assert!(authorize(&nobody, Action::ReadAreas, Some(&inside)).is_err());
    }
}
