//! The web console for officers and staff, served at `/` by the same binary:
//! server-rendered HTML (maud) with a little plain JavaScript, everything
//! compiled in, nothing fetched from elsewhere. Vietnamese by default, English
//! switchable. Every page calls the same services as the API under the same
//! rights ([`crate::access`]); a page only turns their answers into HTML.
//!
//! One module per part: [`session`] (login, cookie, anti-forgery),
//! [`layout`] (the frame), [`queue`] and [`submission`] (review), [`map`]
//! (the inline SVG map), [`coverage`] (drill-down and the printable gap
//! list), [`reports`], [`admin`].

pub mod admin;
pub mod coverage;
pub mod layout;
pub mod map;
pub mod names;
pub mod queue;
pub mod reports;
pub mod session;
pub mod submission;
pub mod vocabulary;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse, ResponseError};
use maud::html;

use crate::error::ApiError;
use crate::locale::Lang;
pub use session::Visitor;

/// Every console route as (method, path pattern); a test walks it so that no
/// page goes untested for who may reach it.
pub const CONSOLE_ROUTES: &[(&str, &str)] = &[
    ("get", "/"),
    ("get", "/login"),
    ("post", "/login"),
    ("post", "/logout"),
    ("get", "/lang"),
    ("get", "/assets/console.css"),
    ("get", "/assets/console.js"),
    ("get", "/queue"),
    ("get", "/submissions/{id}"),
    ("post", "/submissions/{id}/review"),
    ("get", "/submissions/{id}/photos/{photo_id}"),
    ("get", "/coverage"),
    ("get", "/coverage/gaps"),
    ("get", "/reports"),
    ("get", "/reports/download"),
    ("get", "/admin/users"),
    ("post", "/admin/users"),
    ("get", "/admin/users/{id}"),
    ("post", "/admin/users/{id}/areas"),
    ("post", "/admin/users/{id}/active"),
    ("post", "/admin/users/{id}/devices"),
    ("post", "/admin/users/{id}/devices/{device_id}/revoke"),
    ("get", "/admin/users/{id}/devices/{device_id}/qr.png"),
    ("get", "/admin/imports"),
    ("post", "/admin/imports/{kind}"),
    ("get", "/admin/forms"),
    ("post", "/admin/forms"),
    ("post", "/admin/forms/{form_id}/state"),
    ("post", "/admin/forms/{form_id}/versions/{version}/retire"),
    ("get", "/admin/campaigns"),
    ("post", "/admin/campaigns"),
];

/// The console's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/login", web::get().to(session::login_form))
        .route("/login", web::post().to(session::log_in))
        .route("/logout", web::post().to(session::log_out))
        .route("/lang", web::get().to(session::switch_language))
        .route("/assets/console.css", web::get().to(layout::stylesheet))
        .route("/assets/console.js", web::get().to(layout::script))
        .route("/queue", web::get().to(queue::page))
        .route("/submissions/{id}", web::get().to(submission::page))
        .route(
            "/submissions/{id}/review",
            web::post().to(submission::review),
        )
        .route(
            "/submissions/{id}/photos/{photo_id}",
            web::get().to(submission::photo),
        )
        .route("/coverage", web::get().to(coverage::page))
        .route("/coverage/gaps", web::get().to(coverage::gap_list))
        .route("/reports", web::get().to(reports::page))
        .route("/reports/download", web::get().to(reports::download))
        .route("/admin/users", web::get().to(admin::users))
        .route("/admin/users", web::post().to(admin::create_user))
        .route("/admin/users/{id}", web::get().to(admin::user))
        .route("/admin/users/{id}/areas", web::post().to(admin::bind_areas))
        .route(
            "/admin/users/{id}/active",
            web::post().to(admin::set_active),
        )
        .route(
            "/admin/users/{id}/devices",
            web::post().to(admin::add_device),
        )
        .route(
            "/admin/users/{id}/devices/{device_id}/revoke",
            web::post().to(admin::revoke_device),
        )
        .route(
            "/admin/users/{id}/devices/{device_id}/qr.png",
            web::get().to(admin::device_qr),
        )
        .route("/admin/imports", web::get().to(admin::imports))
        .route("/admin/imports/{kind}", web::post().to(admin::import))
        .route("/admin/forms", web::get().to(admin::forms))
        .route("/admin/forms", web::post().to(admin::publish_form))
        .route(
            "/admin/forms/{form_id}/state",
            web::post().to(admin::form_state),
        )
        .route(
            "/admin/forms/{form_id}/versions/{version}/retire",
            web::post().to(admin::retire_form_version),
        )
        .route("/admin/campaigns", web::get().to(admin::campaigns))
        .route("/admin/campaigns", web::post().to(admin::create_campaign));
}

/// Handles the `GET /` route: the page a user starts the day on.
pub async fn home(visitor: Visitor) -> HttpResponse {
    // Authorisation: any signed-in user; the page chosen is one their role reads.
    let target = if crate::access::Action::ReadSubmissions.permits(visitor.principal.role) {
        "/queue"
    } else {
        "/coverage"
    };
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, target))
        .finish()
}

/// What a console request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No valid session: go to the login page, then come back.
    #[error("log in first")]
    LoggedOut { next: String },
    /// A POST without this login's anti-forgery token, or from another site.
    #[error("the form is out of date or came from another site")]
    Forged,
    /// What the services refused, as the API would.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<actix_web::error::BlockingError> for ConsoleError {
    fn from(error: actix_web::error::BlockingError) -> ConsoleError {
        ConsoleError::Api(ApiError::from(error))
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::LoggedOut { .. } => StatusCode::SEE_OTHER,
            ConsoleError::Forged => StatusCode::FORBIDDEN,
            ConsoleError::Api(error) => error.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ConsoleError::LoggedOut { next } = self {
            return HttpResponse::SeeOther()
                .insert_header((
                    header::LOCATION,
                    format!("/login?next={}", layout::urlencode(next)),
                ))
                .finish();
        }
        let status = self.status_code();
        if let ConsoleError::Api(ApiError::Internal(detail)) = self {
            tracing::error!(%detail, "console request failed");
        }
        let (vi, en) = headline(self);
        let detail = match self {
            ConsoleError::Api(ApiError::Internal(_)) => String::new(),
            ConsoleError::Api(error) => error.to_string(),
            ConsoleError::Forged => String::new(),
            ConsoleError::LoggedOut { .. } => String::new(),
        };
        let fields = match self {
            ConsoleError::Api(ApiError::Validation { errors, .. }) => errors.clone(),
            _ => Vec::new(),
        };
        // Both languages: the error page is shown before the language is known.
        let body = html! {
            main.problem {
                h1 lang="vi" { (vi) }
                p lang="en" { (en) }
                @if !detail.is_empty() { p.detail lang="en" { (detail) } }
                @if !fields.is_empty() {
                    table.errors {
                        thead { tr { th { "Dòng / Line" } th { "Trường / Field" } th { "Lỗi / Problem" } } }
                        tbody {
                            @for error in &fields {
                                tr {
                                    td { @if let Some(line) = error.line { (line) } }
                                    td { (error.field) }
                                    td { (error.message) }
                                }
                            }
                        }
                    }
                }
                p { a href="/" { "Trang đầu / Home" } }
            }
        };
        HttpResponse::build(status)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                layout::CONTENT_SECURITY_POLICY,
            ))
            .insert_header((header::REFERRER_POLICY, layout::REFERRER_POLICY))
            .content_type("text/html; charset=utf-8")
            .body(layout::document(Lang::Vi, vi, None, body).into_string())
    }
}

fn headline(error: &ConsoleError) -> (&'static str, &'static str) {
    match error {
        ConsoleError::LoggedOut { .. } => ("Hãy đăng nhập", "Log in first"),
        ConsoleError::Forged => (
            "Biểu mẫu đã cũ hoặc không gửi từ trang này. Hãy tải lại trang và thử lại.",
            "The form is out of date or did not come from this site. Reload the page and try again.",
        ),
        ConsoleError::Api(error) => match error {
            ApiError::Forbidden(_) => ("Bạn không có quyền làm việc này", "You may not do this"),
            ApiError::NotFound(_) => (
                "Không tìm thấy trong địa bàn của bạn",
                "Not found in your areas",
            ),
            ApiError::Validation { .. } | ApiError::BadParam(_) | ApiError::BadRequest(_) => {
                ("Dữ liệu chưa hợp lệ", "Some of what was sent is not valid")
            }
            ApiError::Conflict(_) => ("Không thực hiện được", "This cannot be done now"),
            ApiError::Unauthorized(_) => ("Hãy đăng nhập lại", "Log in again"),
            ApiError::TooManyRequests { .. } => (
                "Quá nhiều lần thử. Hãy đợi ít phút.",
                "Too many attempts. Wait a few minutes.",
            ),
            ApiError::PayloadTooLarge(_) => ("Tệp quá lớn", "The file is too large"),
            ApiError::NotReady(_) => (
                "Ảnh đang được xử lý, hãy thử lại sau ít giây",
                "Still being processed; try again in a few seconds",
            ),
            ApiError::Unavailable | ApiError::Timeout(_) => (
                "Hệ thống đang bận, hãy thử lại",
                "The system is busy; try again",
            ),
            ApiError::Internal(_) => (
                "Có lỗi ở máy chủ; đã được ghi lại",
                "Something went wrong on the server; it has been logged",
            ),
        },
    }
}
