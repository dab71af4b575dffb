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

/// Writes the console's route table once and derives from it both the actix
/// routes and [`CONSOLE_ROUTES`], which the tests walk (every page wants a
/// login, every form its token), so that no route escapes them.
macro_rules! console_routes {
    ($( $method:ident $path:literal => $handler:path ),* $(,)?) => {
        /// Every console route as (method, path pattern).
        pub const CONSOLE_ROUTES: &[(&str, &str)] = &[ $( (stringify!($method), $path) ),* ];

        /// The console's routes.
        pub fn routes(cfg: &mut web::ServiceConfig) {
            $( cfg.route($path, web::$method().to($handler)); )*
        }
    };
}

console_routes! {
    get "/" => home,
    get "/login" => session::login_form,
    post "/login" => session::log_in,
    post "/logout" => session::log_out,
    get "/lang" => session::switch_language,
    get "/assets/console.css" => layout::stylesheet,
    get "/assets/console.js" => layout::script,
    get "/queue" => queue::page,
    get "/submissions/{id}" => submission::page,
    post "/submissions/{id}/review" => submission::review,
    get "/submissions/{id}/photos/{photo_id}" => submission::photo,
    get "/coverage" => coverage::page,
    get "/coverage/gaps" => coverage::gap_list,
    get "/reports" => reports::page,
    get "/reports/download" => reports::download,
    get "/admin/users" => admin::users,
    post "/admin/users" => admin::create_user,
    get "/admin/users/{id}" => admin::user,
    post "/admin/users/{id}/areas" => admin::bind_areas,
    post "/admin/users/{id}/active" => admin::set_active,
    post "/admin/users/{id}/devices" => admin::add_device,
    post "/admin/users/{id}/devices/{device_id}/revoke" => admin::revoke_device,
    get "/admin/users/{id}/devices/{device_id}/qr.png" => admin::device_qr,
    get "/admin/imports" => admin::imports,
    post "/admin/imports/{kind}" => admin::import,
    get "/admin/forms" => admin::forms,
    post "/admin/forms" => admin::publish_form,
    post "/admin/forms/{form_id}/state" => admin::form_state,
    post "/admin/forms/{form_id}/versions/{version}/retire" => admin::retire_form_version,
    get "/admin/campaigns" => admin::campaigns,
    post "/admin/campaigns" => admin::create_campaign,
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
        layout::html_builder(status).body(layout::document(Lang::Vi, vi, None, body).into_string())
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
