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

use crate::auth::sessions;
use crate::auth::tokens::TokenError;
use crate::error::ApiError;
use crate::state::AppState;

/// An area a user is bound to.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
    /// The areas the user is bound to, as `/me` shows them.
    pub areas: Vec<AreaScope>,
    /// Where the user may act: the subtrees under `areas`.
    pub scope: Scope,
}

/// Where a user may act: the subtrees under the areas they are bound to. Every
/// area decision (a single area, a list, an import, a campaign) asks this value,
/// so the rule is written once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    roots: Vec<AreaPath>,
}

impl Scope {
    /// The subtrees under `roots`.
    pub fn new(roots: impl IntoIterator<Item = AreaPath>) -> Scope {
        Scope {
            roots: roots.into_iter().collect(),
        }
    }

    /// Every area: the scope of one's own submissions, listed wherever they are.
    pub fn everywhere() -> Scope {
        Scope::new([AreaPath::from_stored("/".into())])
    }

    /// Whether the area at `path` lies inside the scope.
    pub fn covers(&self, path: &AreaPath) -> bool {
        self.roots.iter().any(|root| root.contains(path))
    }

    /// Whether the subtree at `subtree` shares any area with the scope: it lies
    /// inside the scope, or holds one of the user's areas (a province campaign
    /// seen by a commune officer).
    pub fn overlaps(&self, subtree: &AreaPath) -> bool {
        self.covers(subtree) || self.roots.iter().any(|root| subtree.contains(root))
    }

    /// The first of the user's areas that lies inside `subtree`.
    pub fn area_inside(&self, subtree: &AreaPath) -> Option<&AreaPath> {
        self.roots.iter().find(|root| subtree.contains(root))
    }

    /// The half-open path ranges `[lower, upper)` a list filters its path column
    /// by: one per area, and nothing at all for an empty scope.
    pub fn path_ranges(&self) -> Vec<(String, String)> {
        self.roots.iter().map(AreaPath::subtree_range).collect()
    }

    /// Whether the scope covers every one of `top_level` (the provinces): the
    /// scope of rules that hold everywhere, such as the forms.
    pub fn covers_all(&self, top_level: &[AreaPath]) -> bool {
        top_level.iter().all(|path| self.covers(path))
    }

    /// Whether an import may write a row under the area at `parent`; the reason
    /// names the refusal for the import's error list.
    pub fn admits_import_under(&self, parent: &AreaPath) -> Result<(), &'static str> {
        if self.covers(parent) {
            Ok(())
        } else {
            Err("this area is outside the areas assigned to you")
        }
    }
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
    /// Set up or revoke ODK Collect phones for other users (anyone may for themself).
    ManageDevices,
}

impl Action {
    /// Whether `role` may ever perform this action (areas aside).
    pub fn permits(self, role: Role) -> bool {
        self.allowed_roles().contains(&role)
    }

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
            Action::ManageDevices => &[Officer, Admin],
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
            Action::ManageDevices => "set up phones for other users",
        }
    }
}

/// Decides whether `principal` may perform `action`, on the area at `target`
/// when the action touches one. The only place roles and areas are checked.
pub fn authorize(
    principal: &Principal,
    action: Action,
    target: Option<&AreaPath>,
) -> Result<(), ApiError> {
    if !action.permits(principal.role) {
        return Err(ApiError::Forbidden(format!(
            "a {} may not {}",
            principal.role,
            action.describe()
        )));
    }
    if let Some(path) = target {
        if !principal.scope.covers(path) {
            return Err(ApiError::Forbidden(format!(
                "this area is outside the areas assigned to you; you may not {} there",
                action.describe()
            )));
        }
    }
    Ok(())
}

/// Like [`authorize`] for what holds in every area at once (the forms: closing
/// one stops every commune's submissions): the caller's areas must cover all of
/// `top_level`, the top-level areas (provinces) of this server.
pub fn authorize_everywhere(
    principal: &Principal,
    action: Action,
    top_level: &[AreaPath],
) -> Result<(), ApiError> {
    authorize(principal, action, None)?;
    if principal.scope.covers_all(top_level) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "this applies to every province and your areas cover only part of them; \
             you may not {} (ask an administrator of the whole province)",
            action.describe()
        )))
    }
}

/// Like [`authorize`] for a resource addressed by its id (an area, a household,
/// a campaign, a submission): outside the caller's areas it answers `missing`,
/// the same answer as for an id that does not exist, so that ids of other areas
/// cannot be probed. A role that may never do `action` still gets 403.
pub fn authorize_found(
    principal: &Principal,
    action: Action,
    target: &AreaPath,
    missing: impl FnOnce() -> ApiError,
) -> Result<(), ApiError> {
    authorize(principal, action, None)?;
    if principal.scope.covers(target) {
        Ok(())
    } else {
        Err(missing())
    }
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
        let areas: Vec<AreaScope> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| AreaScope {
                id: AreaId(i as i64),
                name: String::new(),
                level: AreaLevel::Commune,
                path: AreaPath::from_stored(p.to_string()),
            })
            .collect();
        Principal {
            scope: Scope::new(areas.iter().map(|a| a.path.clone())),
            areas,
            user_id: UserId(1),
            username: "u".into(),
            full_name: "U".into(),
            role,
            session_id: "s".into(),
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

    fn path(text: &str) -> AreaPath {
        AreaPath::from_stored(text.into())
    }

    #[test]
    fn a_scope_covers_its_subtrees_and_overlaps_their_ancestors() {
        let scope = Scope::new([path("/1/2/"), path("/1/7/8/")]);
        assert!(scope.covers(&path("/1/2/")));
        assert!(scope.covers(&path("/1/2/30/")));
        assert!(scope.covers(&path("/1/7/8/9/")));
        assert!(!scope.covers(&path("/1/")));
        assert!(
            !scope.covers(&path("/1/20/")),
            "a prefix of digits is not a parent"
        );
        assert!(!scope.covers(&path("/1/7/")));
        assert!(
            scope.overlaps(&path("/1/")),
            "a province campaign touches the commune"
        );
        assert!(scope.overlaps(&path("/1/7/")));
        assert!(scope.overlaps(&path("/1/2/30/")));
        assert!(!scope.overlaps(&path("/1/3/")));
        assert!(!scope.overlaps(&path("/4/")));
        assert_eq!(scope.area_inside(&path("/1/7/")), Some(&path("/1/7/8/")));
        assert_eq!(scope.area_inside(&path("/1/3/")), None);
        assert!(scope.admits_import_under(&path("/1/2/5/")).is_ok());
        assert!(scope.admits_import_under(&path("/1/")).is_err());
        assert_eq!(scope.path_ranges().len(), 2);
        assert!(Scope::default().path_ranges().is_empty());
        assert!(!Scope::default().overlaps(&path("/1/")));
    }

    #[test]
    fn an_id_outside_the_scope_looks_missing() {
        let officer = principal(Role::Officer, &["/1/2/"]);
        let missing = || ApiError::NotFound("no such household".into());
        let inside = authorize_found(&officer, Action::ReadHouseholds, &path("/1/2/9/"), missing);
        assert!(inside.is_ok());
        let outside = authorize_found(&officer, Action::ReadHouseholds, &path("/1/3/9/"), missing);
        assert!(matches!(outside, Err(ApiError::NotFound(_))));
        let wrong_role = authorize_found(&officer, Action::ManageUsers, &path("/1/2/9/"), missing);
        assert!(matches!(wrong_role, Err(ApiError::Forbidden(_))));
    }

    #[test]
    fn rules_for_every_province_need_an_admin_of_every_province() {
        let provinces = [path("/1/"), path("/4/")];
        let both = principal(Role::Admin, &["/1/", "/4/"]);
        assert!(authorize_everywhere(&both, Action::ManageForms, &provinces).is_ok());
        let one = principal(Role::Admin, &["/1/"]);
        assert!(authorize_everywhere(&one, Action::ManageForms, &provinces).is_err());
        let commune = principal(Role::Admin, &["/1/2/"]);
        assert!(authorize_everywhere(&commune, Action::ManageForms, &provinces[..1]).is_err());
        let officer = principal(Role::Officer, &["/1/", "/4/"]);
        assert!(authorize_everywhere(&officer, Action::ManageForms, &provinces).is_err());
    }
}
