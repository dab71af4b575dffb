//! Who is using the console: the session cookie, the anti-forgery token on
//! every form, the language, and logging in and out (`GET`/`POST /login`,
//! `POST /logout`, `GET /lang`).
//!
//! The cookie names a login (an `auth_sessions` row, like the API's) and is
//! signed with a key derived from the server's secret; it is HttpOnly,
//! `SameSite=Strict`, and `Secure` when the public URL is https. Every request
//! re-reads the login, so logging out or deactivating the account ends it at
//! once. Every form carries a token derived from the login, checked on POST
//! together with the `Origin` header.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use maud::html;
use serde::Deserialize;

use super::layout::{self, Chrome};
use super::ConsoleError;
use crate::access::Principal;
use crate::auth::sessions;
use crate::error::ApiError;
use crate::locale::Lang;
use crate::state::AppState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "camket_console";
/// The language cookie (`vi` or `en`).
pub const LANG_COOKIE: &str = "camket_lang";
/// Ties the login form to the browser that asked for it.
const LOGIN_COOKIE: &str = "camket_login";
/// A console login lasts a working day at most.
pub const WORKING_DAY_SECS: u64 = 12 * 3600;

/// The signed-in user of a console request.
pub struct Visitor {
    pub principal: Principal,
    pub lang: Lang,
    /// The anti-forgery token every form of this login carries.
    pub csrf: String,
    /// The page asked for (path and query).
    pub here: String,
}

impl Visitor {
    /// Refuses a POST whose form lacks this login's token or that comes from
    /// another site.
    pub fn check_form(&self, req: &HttpRequest, presented: &str) -> Result<(), ConsoleError> {
        same_origin(req)?;
        let state = app_state(req)?;
        if state
            .keys
            .console_mac_matches("csrf", &self.principal.session_id, presented)
        {
            Ok(())
        } else {
            Err(ConsoleError::Forged)
        }
    }
}

/// The language a request asks for: the cookie, else Vietnamese.
pub fn lang_of(req: &HttpRequest) -> Lang {
    req.cookie(LANG_COOKIE)
        .map(|c| Lang::from_code(c.value()))
        .unwrap_or_default()
}

fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, ConsoleError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ConsoleError::Api(ApiError::Internal("application state missing".into())))
}

/// A POST from a page of another site is refused even before its token is
/// looked at: browsers name the page's origin on every POST. It must be the
/// public URL's when one is set (behind a proxy the `Host` may be the
/// proxy's upstream), else this request's `Host`.
fn same_origin(req: &HttpRequest) -> Result<(), ConsoleError> {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("");
    let public = req.app_data::<web::Data<AppState>>().and_then(|state| {
        state
            .config
            .public_url
            .as_deref()
            .and_then(layout::origin_of)
    });
    if let Some(public) = public {
        return if origin.eq_ignore_ascii_case(&public) {
            Ok(())
        } else {
            Err(ConsoleError::Forged)
        };
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .unwrap_or("");
    if !host.is_empty() && origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(ConsoleError::Forged)
    }
}

/// The session cookie's value for a login: its id and the id's signature.
fn cookie_value(state: &AppState, session_id: &str) -> String {
    format!(
        "{session_id}.{}",
        state.keys.console_mac("session", session_id)
    )
}

/// The login a cookie value names, if its signature holds.
fn session_of(state: &AppState, value: &str) -> Option<String> {
    let (id, mac) = value.split_once('.')?;
    (id.len() == 32
        && id.bytes().all(|b| b.is_ascii_hexdigit())
        && state.keys.console_mac_matches("session", id, mac))
    .then(|| id.to_string())
}

fn secure(state: &AppState) -> bool {
    state
        .config
        .public_url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://"))
}

fn cookie<'a>(state: &AppState, name: &'a str, value: String) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure(state))
        .finish()
}

impl FromRequest for Visitor {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Visitor, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = app_state(&req)?;
            let lang = lang_of(&req);
            let back = req
                .uri()
                .path_and_query()
                .map_or("/".to_string(), |p| p.as_str().to_string());
            let logged_out = || ConsoleError::LoggedOut { next: back.clone() };
            let session_id = req
                .cookie(SESSION_COOKIE)
                .and_then(|c| session_of(&state, c.value()))
                .ok_or_else(logged_out)?;
            let db = state.db.clone();
            let max_age = state.config.login_max_age_secs().min(WORKING_DAY_SECS);
            let id = session_id.clone();
            let principal =
                web::block(move || sessions::console_principal(&db, &id, max_age)).await??;
            let principal = principal.ok_or_else(logged_out)?;
            let csrf = state.keys.console_mac("csrf", &session_id);
            Ok(Visitor {
                principal,
                lang,
                csrf,
                here: back,
            })
        })
    }
}

/// Query of the login page.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    pub next: Option<String>,
}

/// Where to go after logging in: a page of the console, never another site.
fn local_target(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.starts_with("/login")
                && !path.chars().any(char::is_control) =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

fn login_page(
    state: &AppState,
    lang: Lang,
    next: &str,
    problem: Option<&str>,
    status: actix_web::http::StatusCode,
) -> HttpResponse {
    let nonce = crate::auth::tokens::random_hex(16);
    let token = state.keys.console_mac("login", &nonce);
    let body = html! {
        main.login {
            h1 { "camket" }
            p.lead { (lang.pick("Theo dõi cam kết hộ gia đình", "Household commitments, tracked")) }
            @if let Some(problem) = problem {
                p.error role="alert" { (problem) }
            }
            form method="post" action="/login" {
                input type="hidden" name="_csrf" value=(token);
                input type="hidden" name="next" value=(next);
                label for="username" { (lang.pick("Tên đăng nhập", "Username")) }
                input #username name="username" autocomplete="username" required autofocus;
                label for="password" { (lang.pick("Mật khẩu", "Password")) }
                input #password type="password" name="password" autocomplete="current-password" required;
                button type="submit" { (lang.pick("Đăng nhập", "Log in")) }
            }
            (layout::language_switch(lang, "/login"))
        }
    };
    let page = layout::document(lang, lang.pick("Đăng nhập", "Log in"), None, body);
    layout::html_builder(status)
        .cookie(cookie(state, LOGIN_COOKIE, nonce))
        .body(page.into_string())
}

/// Handles the `GET /login` route.
pub async fn login_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<LoginQuery>,
) -> HttpResponse {
    // Authorisation: none; this is how one gets in.
    let next = local_target(query.next.as_deref());
    login_page(
        &state,
        lang_of(&req),
        &next,
        None,
        actix_web::http::StatusCode::OK,
    )
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(rename = "_csrf", default)]
    pub csrf: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    pub next: Option<String>,
}

/// Handles the `POST /login` route: the same credentials, rate limits and
/// refusals as `POST /api/v1/auth/login`.
pub async fn log_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: none needed to try; throttled like the API's login.
    same_origin(&req)?;
    let lang = lang_of(&req);
    let form = form.into_inner();
    let nonce = req
        .cookie(LOGIN_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if nonce.is_empty() || !state.keys.console_mac_matches("login", &nonce, &form.csrf) {
        return Err(ConsoleError::Forged);
    }
    let next = local_target(form.next.as_deref());
    let refuse = |message: &str, status| Ok(login_page(&state, lang, &next, Some(message), status));
    let name = form.username.trim().to_string();
    if name.is_empty() || form.password.is_empty() {
        return refuse(
            lang.pick(
                "Nhập tên đăng nhập và mật khẩu.",
                "Enter your username and password.",
            ),
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let address = crate::client_address::of_request(&req, state.config.trusted_proxies.as_slice());
    let too_many = lang.pick(
        "Đăng nhập sai quá nhiều lần. Hãy thử lại sau ít phút.",
        "Too many attempts. Try again in a few minutes.",
    );
    if state
        .login_limiter
        .before_verifying(&name, &address)
        .is_err()
    {
        return refuse(too_many, actix_web::http::StatusCode::TOO_MANY_REQUESTS);
    }
    let db = state.db.clone();
    let lookup = name.clone();
    let password = form.password;
    let user = web::block(move || sessions::verify_credentials(&db, &lookup, &password)).await??;
    let Some(user) = user else {
        if state.login_limiter.after_wrong_password(&name).is_err() {
            return refuse(too_many, actix_web::http::StatusCode::TOO_MANY_REQUESTS);
        }
        tracing::info!("console login refused");
        return refuse(
            lang.pick(
                "Sai tên đăng nhập hoặc mật khẩu, hoặc tài khoản đã bị khoá.",
                "Wrong username or password, or the account is deactivated.",
            ),
            actix_web::http::StatusCode::UNAUTHORIZED,
        );
    };
    let db = state.db.clone();
    let user_id = user.id.0;
    let session_id = web::block(move || sessions::start_console_session(&db, user_id)).await??;
    tracing::info!(user_id, "console login");
    let mut gone = Cookie::new(LOGIN_COOKIE, "");
    gone.set_path("/");
    gone.make_removal();
    Ok(HttpResponse::SeeOther()
        .cookie(cookie(
            &state,
            SESSION_COOKIE,
            cookie_value(&state, &session_id),
        ))
        .cookie(gone)
        .insert_header((header::LOCATION, next))
        .finish())
}

/// A form that carries nothing but its token.
#[derive(Debug, Deserialize)]
pub struct TokenOnly {
    #[serde(rename = "_csrf", default)]
    pub csrf: String,
}

/// Handles the `POST /logout` route: the login ends for every request at once.
pub async fn log_out(
    state: web::Data<AppState>,
    req: HttpRequest,
    visitor: Visitor,
    form: web::Form<TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: anyone signed in may end their own login.
    visitor.check_form(&req, &form.csrf)?;
    let db = state.db.clone();
    let session_id = visitor.principal.session_id.clone();
    web::block(move || sessions::revoke_session(&db, &session_id, "console logout")).await??;
    let mut gone = Cookie::new(SESSION_COOKIE, "");
    gone.set_path("/");
    gone.make_removal();
    Ok(HttpResponse::SeeOther()
        .cookie(gone)
        .insert_header((header::LOCATION, "/login"))
        .finish())
}

/// Query of the language switch.
#[derive(Debug, Deserialize)]
pub struct LangQuery {
    pub to: String,
    pub back: Option<String>,
}

/// Handles the `GET /lang` route: remembers the language and goes back.
pub async fn switch_language(
    state: web::Data<AppState>,
    query: web::Query<LangQuery>,
) -> HttpResponse {
    // Authorisation: none; a preference, no data.
    let lang = Lang::from_code(&query.to);
    let mut remembered = cookie(&state, LANG_COOKIE, lang.code().to_string());
    remembered.set_max_age(actix_web::cookie::time::Duration::days(365));
    HttpResponse::SeeOther()
        .cookie(remembered)
        .insert_header((header::LOCATION, local_target(query.back.as_deref())))
        .finish()
}

/// The page's chrome for a visitor.
pub fn chrome(visitor: &Visitor, current: &str) -> Chrome {
    Chrome {
        lang: visitor.lang,
        role: visitor.principal.role,
        full_name: visitor.principal.full_name.clone(),
        csrf: visitor.csrf.clone(),
        current: current.to_string(),
        here: visitor.here.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_login_only_pages_of_this_site() {
        assert_eq!(local_target(Some("/queue?flag=x")), "/queue?flag=x");
        assert_eq!(local_target(Some("//evil.example/")), "/");
        assert_eq!(local_target(Some("/\\evil.example")), "/");
        assert_eq!(local_target(Some("https://evil.example/")), "/");
        assert_eq!(local_target(Some("/login?next=/x")), "/");
        assert_eq!(local_target(Some("/a\r\nSet-Cookie: x")), "/");
        assert_eq!(local_target(None), "/");
    }
}
