//! The frame of every console page: the document, the navigation for the
//! user's role, the language switch, and the stylesheet and script compiled
//! into the binary (`GET /assets/console.css`, `/assets/console.js`).

use actix_web::http::header;
use actix_web::HttpResponse;
use maud::{html, Markup, DOCTYPE};

use camket_schema::domain::Role;

use crate::access::Action;
use crate::locale::Lang;

const STYLESHEET: &str = include_str!("console.css");
const SCRIPT: &str = include_str!("console.js");

/// What the frame needs to know about the signed-in user.
pub struct Chrome {
    pub lang: Lang,
    pub role: Role,
    pub full_name: String,
    pub csrf: String,
    /// The section the page belongs to (`queue`, `coverage`, `reports`, `admin`).
    pub current: String,
    /// This page's path and query, for the language switch.
    pub here: String,
}

/// The role's name for people.
pub fn role_name(lang: Lang, role: Role) -> &'static str {
    match role {
        Role::Surveyor => lang.pick("Tổ công tác", "Surveyor"),
        Role::Officer => lang.pick("Cán bộ duyệt", "Officer"),
        Role::Viewer => lang.pick("Theo dõi", "Viewer"),
        Role::Admin => lang.pick("Quản trị", "Administrator"),
    }
}

/// Links to the same page in the other language.
pub fn language_switch(lang: Lang, back: &str) -> Markup {
    let back = urlencode(back);
    html! {
        nav.lang aria-label=(lang.pick("Ngôn ngữ", "Language")) {
            @if lang == Lang::Vi {
                strong { "Tiếng Việt" } " · "
                a href={ "/lang?to=en&back=" (back) } hreflang="en" lang="en" { "English" }
            } @else {
                a href={ "/lang?to=vi&back=" (back) } hreflang="vi" lang="vi" { "Tiếng Việt" }
                " · " strong { "English" }
            }
        }
    }
}

/// Percent-encodes a query value.
pub fn urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// A whole HTML document; with `chrome`, the navigation of a signed-in user.
pub fn document(lang: Lang, title: &str, chrome: Option<&Chrome>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · camket" }
                link rel="stylesheet" href="/assets/console.css";
                script src="/assets/console.js" defer {}
            }
            body {
                @if let Some(chrome) = chrome {
                    (navigation(chrome))
                }
                (body)
            }
        }
    }
}

fn navigation(chrome: &Chrome) -> Markup {
    let lang = chrome.lang;
    let link = |href: &str, section: &str, label: &str| {
        html! {
            a href=(href) aria-current=[(chrome.current == section).then_some("page")] { (label) }
        }
    };
    html! {
        header.top {
            a.brand href="/" { "camket" }
            nav.sections aria-label=(lang.pick("Mục chính", "Main")) {
                @if Action::ReadSubmissions.permits(chrome.role) {
                    (link("/queue", "queue", lang.pick("Duyệt phiếu", "Review")))
                }
                (link("/coverage", "coverage", lang.pick("Độ phủ", "Coverage")))
                (link("/reports", "reports", lang.pick("Báo cáo", "Reports")))
                @if chrome.role == Role::Admin {
                    (link("/admin/users", "admin", lang.pick("Quản trị", "Administration")))
                }
            }
            div.who {
                span { (chrome.full_name) " · " (role_name(lang, chrome.role)) }
                form method="post" action="/logout" {
                    input type="hidden" name="_csrf" value=(chrome.csrf);
                    button.link type="submit" { (lang.pick("Đăng xuất", "Log out")) }
                }
            }
        }
    }
}

/// A page for a signed-in user, as a response.
pub fn page(chrome: &Chrome, title: &str, body: Markup) -> HttpResponse {
    let body = html! {
        main #content {
            (body)
        }
        footer { (language_switch(chrome.lang, &chrome.here)) }
    };
    html_response(document(chrome.lang, title, Some(chrome), body))
}

/// What a console page may load: only this server's own files; no inline
/// script, no framing, forms post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// Pages name their origin to this server only: browsers then send the
/// `Origin` of a form's POST (with `no-referrer` they send `null`), which the
/// anti-forgery check compares, and nothing leaks to other sites.
pub const REFERRER_POLICY: &str = "same-origin";

/// The origin (`https://host[:port]`) of a URL or URL template.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest
        .split('/')
        .next()
        .filter(|h| !h.is_empty() && !h.contains('{'))?;
    (scheme == "https" || scheme == "http").then(|| format!("{scheme}://{host}"))
}

/// Lets a page show images from `origin` too (the configured map tiles).
pub fn allow_images_from(response: &mut HttpResponse, origin: &str) {
    let policy = CONTENT_SECURITY_POLICY.replace(
        "img-src 'self' data:",
        &format!("img-src 'self' data: {origin}"),
    );
    if let Ok(value) = header::HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The start of every console HTML response, whatever its status: the
/// content policy, the referrer policy, and no caching (pages hold personal data).
pub fn html_builder(status: actix_web::http::StatusCode) -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    builder
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::REFERRER_POLICY, REFERRER_POLICY))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .content_type("text/html; charset=utf-8");
    builder
}

/// A page as a 200 response.
pub fn html_response(markup: Markup) -> HttpResponse {
    html_builder(actix_web::http::StatusCode::OK).body(markup.into_string())
}

/// Handles the `GET /assets/console.css` route.
pub async fn stylesheet() -> HttpResponse {
    // Authorisation: none; the same file for everyone.
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .content_type("text/css; charset=utf-8")
        .body(STYLESHEET)
}

/// Handles the `GET /assets/console.js` route.
pub async fn script() -> HttpResponse {
    // Authorisation: none; the same file for everyone.
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .content_type("text/javascript; charset=utf-8")
        .body(SCRIPT)
}
