//! Administration: users (create, bind to areas, deactivate, phones and their
//! QR codes), imports of areas and households (all or nothing, errors line by
//! line), forms (publish from YAML, open or close, retire a version) and
//! campaigns. Every action calls the service the API's route calls.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use maud::{html, Markup};
use serde::Deserialize;

use super::layout;
use super::session::{chrome, Visitor};
use super::{vocabulary, ConsoleError};
use crate::access::{authorize, Action};
use crate::error::ApiError;
use crate::locale::{self, Lang};
use crate::state::AppState;
use crate::users::{self, CreateUser, UserView};

fn back_to(path: String) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, path))
        .finish()
}

fn admin_tabs(lang: Lang, current: &str) -> Markup {
    let tab = |href: &str, key: &str, label: &str| {
        html! { a href=(href) aria-current=[(key == current).then_some("page")] { (label) } }
    };
    html! {
        nav.tabs aria-label=(lang.pick("Quản trị", "Administration")) {
            (tab("/admin/users", "users", lang.pick("Tài khoản", "Users")))
            (tab("/admin/imports", "imports", lang.pick("Nhập địa bàn, hộ", "Imports")))
            (tab("/admin/forms", "forms", lang.pick("Mẫu phiếu", "Forms")))
            (tab("/admin/campaigns", "campaigns", lang.pick("Chiến dịch", "Campaigns")))
        }
    }
}

fn role_options(lang: Lang) -> Markup {
    use camket_schema::domain::Role;
    html! {
        @for role in [Role::Surveyor, Role::Officer, Role::Viewer, Role::Admin] {
            option value=(role.as_str()) { (layout::role_name(lang, role)) }
        }
    }
}

/// Area codes as typed (comma- or space-separated) to area ids.
async fn area_ids(state: &AppState, codes: &str) -> Result<Vec<i64>, ApiError> {
    let codes: Vec<String> = codes
        .split([',', ' ', '\n', ';'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect();
    if codes.is_empty() {
        return Err(ApiError::invalid(
            "area_codes",
            "name at least one area code",
        ));
    }
    let db = state.db.clone();
    web::block(move || users::area_ids_for_codes(&db, &codes))
        .await?
        .map_err(|e| match e {
            ApiError::Validation { detail, errors } => ApiError::Validation {
                detail,
                errors: errors
                    .into_iter()
                    .map(|mut error| {
                        error.field = "area_codes".into();
                        error
                    })
                    .collect(),
            },
            other => other,
        })
}

async fn area_names(state: &AppState, ids: Vec<i64>) -> Result<Vec<(String, String)>, ApiError> {
    let db = state.db.clone();
    let rows = web::block(move || crate::coverage::store::areas_by_id(&db, &ids)).await??;
    Ok(rows.into_iter().map(|a| (a.code, a.name)).collect())
}

/// Handles the `GET /admin/users` route.
pub async fn users(
    state: web::Data<AppState>,
    visitor: Visitor,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: `users::accounts` (Action::ManageUsers, inside the admin's areas).
    let lang = visitor.lang;
    let accounts = users::accounts(&state, &visitor.principal, 0, 500).await?;
    let body = html! {
        (admin_tabs(lang, "users"))
        h1 { (lang.pick("Tài khoản", "Users")) }
        table #users {
            thead { tr {
                th scope="col" { (lang.pick("Tên đăng nhập", "Username")) }
                th scope="col" { (lang.pick("Họ tên", "Name")) }
                th scope="col" { (lang.pick("Vai trò", "Role")) }
                th scope="col" { (lang.pick("Trạng thái", "State")) }
            } }
            tbody {
                @for user in &accounts {
                    tr {
                        td { a href={ "/admin/users/" (user.id.0) } { (user.username) } }
                        td { (user.full_name) }
                        td { (layout::role_name(lang, user.role)) }
                        td { @if user.active { (lang.pick("Đang hoạt động", "Active")) } @else { strong { (lang.pick("Đã khoá", "Deactivated")) } } }
                    }
                }
            }
        }
        section {
            h2 { (lang.pick("Tạo tài khoản", "New account")) }
            form.stacked #new-user method="post" action="/admin/users" {
                input type="hidden" name="_csrf" value=(visitor.csrf);
                label for="u-username" { (lang.pick("Tên đăng nhập (chữ thường, số, . _ -)", "Username (lower case, digits, . _ -)")) }
                input #u-username name="username" required pattern="[a-z0-9._\\-]{3,64}" autocomplete="off";
                label for="u-name" { (lang.pick("Họ tên", "Full name")) }
                input #u-name name="full_name" required maxlength="200";
                label for="u-password" { (lang.pick("Mật khẩu (ít nhất 8 ký tự)", "Password (at least 8 characters)")) }
                input #u-password name="password" type="password" required minlength="8" autocomplete="new-password";
                label for="u-role" { (lang.pick("Vai trò", "Role")) }
                select #u-role name="role" { (role_options(lang)) }
                label for="u-areas" { (lang.pick("Mã địa bàn (cách nhau bởi dấu phẩy)", "Area codes (comma-separated)")) }
                input #u-areas name="area_codes" required;
                button type="submit" { (lang.pick("Tạo", "Create")) }
            }
        }
    };
    Ok(layout::page(
        &chrome(&visitor, "admin"),
        lang.pick("Tài khoản", "Users"),
        body,
    ))
}

/// The new-account form.
#[derive(Debug, Deserialize)]
pub struct NewUserForm {
    #[serde(rename = "_csrf", default)]
    pub csrf: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub area_codes: String,
}

/// Handles the `POST /admin/users` route.
pub async fn create_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    visitor: Visitor,
    form: web::Form<NewUserForm>,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: the form's token, then `users::create_account`.
    visitor.check_form(&req, &form.csrf)?;
    authorize(&visitor.principal, Action::ManageUsers, None)?;
    let form = form.into_inner();
    let area_ids = area_ids(&state, &form.area_codes).await?;
    let view = users::create_account(
        &state,
        &visitor.principal,
        CreateUser {
            username: form.username.trim().to_string(),
            full_name: form.full_name,
            password: form.password,
            role: form.role,
            area_ids,
        },
    )
    .await?;
    Ok(back_to(format!("/admin/users/{}", view.id.0)))
}

fn user_page(
    lang: Lang,
    csrf: &str,
    user: &UserView,
    areas: &[(String, String)],
    devices: &[crate::collect::devices::DeviceView],
    offset: chrono::FixedOffset,
) -> Markup {
    let id = user.id.0;
    html! {
        h1 { (user.full_name) " " small { (user.username) } }
        dl.facts {
            dt { (lang.pick("Vai trò", "Role")) } dd { (layout::role_name(lang, user.role)) }
            dt { (lang.pick("Trạng thái", "State")) }
            dd #user-state { @if user.active { (lang.pick("Đang hoạt động", "Active")) } @else { strong { (lang.pick("Đã khoá", "Deactivated")) } } }
            dt { (lang.pick("Địa bàn", "Areas")) }
            dd { @for (code, name) in areas { span.chip.area { (name) " (" (code) ")" } " " } }
        }
        form.inline method="post" action={ "/admin/users/" (id) "/active" } {
            input type="hidden" name="_csrf" value=(csrf);
            @if user.active {
                input type="hidden" name="active" value="false";
                button.danger #deactivate type="submit" { (lang.pick("Khoá tài khoản", "Deactivate")) }
            } @else {
                input type="hidden" name="active" value="true";
                button #activate type="submit" { (lang.pick("Mở khoá", "Reactivate")) }
            }
        }
        section {
            h2 { (lang.pick("Đổi địa bàn", "Change areas")) }
            form.inline method="post" action={ "/admin/users/" (id) "/areas" } {
                input type="hidden" name="_csrf" value=(csrf);
                label for="a-codes" { (lang.pick("Mã địa bàn", "Area codes")) }
                input #a-codes name="area_codes" required value=(areas.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>().join(", "));
                button type="submit" { (lang.pick("Lưu", "Save")) }
            }
        }
        section #devices {
            h2 { (lang.pick("Điện thoại (ODK Collect)", "Phones (ODK Collect)")) }
            @if devices.is_empty() { p { (lang.pick("Chưa có điện thoại nào.", "No phone yet.")) } }
            ul.devices {
                @for device in devices {
                    li {
                        strong { (device.label) }
                        " · " (lang.pick("tạo", "set up")) " " (locale::date_time(device.created_at, offset))
                        @if let Some(used) = device.last_used_at { " · " (lang.pick("dùng lần cuối", "last used")) " " (locale::date_time(used, offset)) }
                        @match device.revoked_at {
                            Some(at) => { " · " strong { (lang.pick("đã thu hồi", "revoked")) " " (locale::date_time(at, offset)) } },
                            None => {
                                figure.qr {
                                    img src={ "/admin/users/" (id) "/devices/" (device.id) "/qr.png" } width="200" height="200"
                                        alt=(lang.pick("Mã QR cấu hình ODK Collect", "ODK Collect set-up QR code"));
                                    figcaption { (lang.pick("Trong ODK Collect: Cấu hình dự án → Quét mã QR", "In ODK Collect: Configure project → Scan QR code")) }
                                }
                                form.inline method="post" action={ "/admin/users/" (id) "/devices/" (device.id) "/revoke" } {
                                    input type="hidden" name="_csrf" value=(csrf);
                                    button.danger type="submit" { (lang.pick("Thu hồi", "Revoke")) }
                                }
                            },
                        }
                    }
                }
            }
            form.inline #new-device method="post" action={ "/admin/users/" (id) "/devices" } {
                input type="hidden" name="_csrf" value=(csrf);
                label for="d-label" { (lang.pick("Tên điện thoại", "Phone name")) }
                input #d-label name="label" required maxlength="100" placeholder=(lang.pick("vd. Điện thoại tổ 3", "e.g. Group 3 phone"));
                button type="submit" { (lang.pick("Thêm điện thoại", "Add a phone")) }
            }
        }
    }
}

/// Handles the `GET /admin/users/{id}` route.
pub async fn user(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<i64>,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: `users::account` (Action::ManageUsers; an account bound
    // outside the admin's areas is "not found") and `devices::phones`.
    let id = id.into_inner();
    let account = users::account(&state, &visitor.principal, id).await?;
    let devices = crate::collect::devices::phones(&state, &visitor.principal, id).await?;
    let areas = area_names(&state, account.area_ids.clone()).await?;
    let lang = visitor.lang;
    let body = html! {
        (admin_tabs(lang, "users"))
        (user_page(lang, &visitor.csrf, &account, &areas, &devices, state.config.evidence.local_offset()))
    };
    Ok(layout::page(
        &chrome(&visitor, "admin"),
        &account.username,
        body,
    ))
}

/// The change-areas form.
#[derive(Debug, Deserialize)]
pub struct AreasForm {
    #[serde(rename = "_csrf", default)]
    pub csrf: String,
    #[serde(default)]
    pub area_codes: String,
}

/// Handles the `POST /admin/users/{id}/areas` route.
pub async fn bind_areas(
    state: web::Data<AppState>,
    req: HttpRequest,
    visitor: Visitor,
    id: web::Path<i64>,
    form: web::Form<AreasForm>,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: the form's token, then `users::bind`.
    visitor.check_form(&req, &form.csrf)?;
    authorize(&visitor.principal, Action::ManageUsers, None)?;
    let id = id.into_inner();
    let ids = area_ids(&state, &form.area_codes).await?;
    users::bind(&state, &visitor.principal, id, ids).await?;
    Ok(back_to(format!("/admin/users/{id}")))
}

/// The activate/deactivate form.
#[derive(Debug, Deserialize)]
pub struct ActiveForm {
    #[serde(rename = "_csrf", default)]
    pub csrf: String,
    #[serde(default)]
    pub active: String,
}

/// Handles the `POST /admin/users/{id}/active` route: a deactivated user's
/// logins, console and API alike, end at once.
pub async fn set_active(
    state: web::Data<AppState>,
    req: HttpRequest,
    visitor: Visitor,
    id: web::Path<i64>,
    form: web::Form<ActiveForm>,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: the form's token, then `users::change_active`.
    visitor.check_form(&req, &form.csrf)?;
    let id = id.into_inner();
    let active = match form.active.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(ApiError::invalid("active", "must be true or false").into()),
    };
    users::change_active(&state, &visitor.principal, id, active).await?;
    Ok(back_to(format!("/admin/users/{id}")))
}

/// The new-phone form.
#[derive(Debug, Deserialize)]
pub struct DeviceForm {
    #[serde(rename = "_csrf", default)]
    pub csrf: String,
    #[serde(default)]
    pub label: String,
}

/// Handles the `POST /admin/users/{id}/devices` route.
pub async fn add_device(
    state: web::Data<AppState>,
    req: HttpRequest,
    visitor: Visitor,
    id: web::Path<i64>,
    form: web::Form<DeviceForm>,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: the form's token, then `devices::set_up` (may_manage_devices).
    visitor.check_form(&req, &form.csrf)?;
    let id = id.into_inner();
    let input = crate::collect::devices::NewDevice {
        label: form.into_inner().label,
    };
    crate::collect::devices::set_up(&state, &visitor.principal, &req, id, input).await?;
    Ok(back_to(format!("/admin/users/{id}#devices")))
}

/// Handles the `POST /admin/users/{id}/devices/{device_id}/revoke` route.
pub async fn revoke_device(
    state: web::Data<AppState>,
    req: HttpRequest,
    visitor: Visitor,
    path: web::Path<(i64, i64)>,
    form: web::Form<super::session::TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: the form's token, then `devices::revoke_phone`.
    visitor.check_form(&req, &form.csrf)?;
    let (id, device_id) = path.into_inner();
    crate::collect::devices::revoke_phone(&state, &visitor.principal, id, device_id).await?;
    Ok(back_to(format!("/admin/users/{id}#devices")))
}

/// Handles the `GET /admin/users/{id}/devices/{device_id}/qr.png` route.
pub async fn device_qr(
    state: web::Data<AppState>,
    req: HttpRequest,
    visitor: Visitor,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: `devices::qr_png`, as the API's QR route.
    let (id, device_id) = path.into_inner();
    let png =
        crate::collect::devices::qr_png(&state, &visitor.principal, &req, id, device_id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .content_type("image/png")
        .body(png))
}

/// Handles the `GET /admin/imports` route.
pub async fn imports(visitor: Visitor) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: Action::ManagePlaces (the imports check areas again).
    authorize(&visitor.principal, Action::ManagePlaces, None)?;
    let lang = visitor.lang;
    let upload = |kind: &str, title: &str, help: &str, accept: &str| {
        html! {
            section {
                h2 { (title) }
                p.hint { (help) }
                form.stacked #{ "import-" (kind) } method="post" action={ "/admin/imports/" (kind) } enctype="multipart/form-data" {
                    input type="hidden" name="_csrf" value=(visitor.csrf);
                    label for={ "file-" (kind) } { (lang.pick("Tệp", "File")) }
                    input id={ "file-" (kind) } type="file" name="file" accept=(accept) required;
                    button type="submit" { (lang.pick("Nhập", "Import")) }
                }
            }
        }
    };
    let body = html! {
        (admin_tabs(lang, "imports"))
        h1 { (lang.pick("Nhập dữ liệu", "Imports")) }
        p { (lang.pick("Nhập là tất cả hoặc không: nếu có dòng lỗi, không có gì được ghi và mọi lỗi được liệt kê theo dòng.", "Imports are all or nothing: if any line is wrong, nothing is written and every problem is listed by line.")) }
        (upload("areas", lang.pick("Địa bàn", "Areas"), "CSV: code,name,level,parent_code,centroid_lat,centroid_lon,boundary — GeoJSON FeatureCollection", ".csv,.geojson,.json,text/csv,application/geo+json"))
        (upload("households", lang.pick("Hộ gia đình", "Households"), "CSV: village_code,code,head_name,address,member_count,lat,lon,categories", ".csv,text/csv"))
    };
    Ok(layout::page(
        &chrome(&visitor, "admin"),
        lang.pick("Nhập dữ liệu", "Imports"),
        body,
    ))
}

/// The token and the file of an upload form, read with the import size limit;
/// the token (first in the form) is checked before the file is read.
async fn read_upload(
    visitor: &Visitor,
    req: &HttpRequest,
    mut multipart: Multipart,
    limit: usize,
) -> Result<(String, String, web::Bytes), ConsoleError> {
    let (mut csrf, mut name, mut file) = (String::new(), String::new(), Vec::new());
    while let Some(field) = multipart.next().await {
        let mut field =
            field.map_err(|e| ApiError::BadRequest(format!("unreadable upload: {e}")))?;
        let part = field.name().unwrap_or_default().to_string();
        if part == "file" {
            name = field
                .content_disposition()
                .and_then(|d| d.get_filename())
                .unwrap_or_default()
                .to_string();
        }
        if part == "file" {
            // No file is read for a form without its token.
            visitor.check_form(req, &csrf)?;
        }
        let cap = if part == "file" { limit } else { 256 };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk =
                chunk.map_err(|e| ApiError::BadRequest(format!("unreadable upload: {e}")))?;
            if bytes.len() + chunk.len() > cap {
                return Err(ApiError::PayloadTooLarge(format!(
                    "the '{part}' part is larger than {cap} bytes"
                ))
                .into());
            }
            bytes.extend_from_slice(&chunk);
        }
        match part.as_str() {
            "_csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "file" => file = bytes,
            _ => {}
        }
    }
    if file.is_empty() {
        return Err(ApiError::invalid("file", "choose a file to import").into());
    }
    Ok((csrf, name, web::Bytes::from(file)))
}

/// Handles the `POST /admin/imports/{kind}` route (`areas` or `households`).
pub async fn import(
    state: web::Data<AppState>,
    req: HttpRequest,
    visitor: Visitor,
    kind: web::Path<String>,
    multipart: Multipart,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: the form's token, then the import services (Action::ManagePlaces
    // and every row inside the admin's areas).
    authorize(&visitor.principal, Action::ManagePlaces, None)?;
    let (csrf, name, bytes) =
        read_upload(&visitor, &req, multipart, state.config.import_limit).await?;
    visitor.check_form(&req, &csrf)?;
    let kind = kind.into_inner();
    let summary = match kind.as_str() {
        "areas" => {
            let geojson = name.ends_with(".geojson")
                || name.ends_with(".json")
                || bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
            crate::areas::import_areas(&state, &visitor.principal, bytes, geojson).await?
        }
        "households" => {
            crate::households::import_households(&state, &visitor.principal, bytes).await?
        }
        _ => return Err(ApiError::NotFound(format!("no import of '{kind}'")).into()),
    };
    let lang = visitor.lang;
    let body = html! {
        (admin_tabs(lang, "imports"))
        h1 { (lang.pick("Đã nhập xong", "Imported")) }
        p #import-summary role="status" {
            (lang.pick("Đã đọc ", "Read ")) (lang.count(summary.rows_read as i64)) (lang.pick(" dòng: tạo mới ", " lines: created "))
            (lang.count(summary.created as i64)) (lang.pick(", cập nhật ", ", updated ")) (lang.count(summary.updated as i64)) "."
        }
        p { a href="/admin/imports" { (lang.pick("Nhập tệp khác", "Import another file")) } }
    };
    Ok(layout::page(
        &chrome(&visitor, "admin"),
        lang.pick("Nhập dữ liệu", "Imports"),
        body,
    ))
}

/// Handles the `GET /admin/forms` route.
pub async fn forms(
    state: web::Data<AppState>,
    visitor: Visitor,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: `forms::catalogue` with every state (Action::ManageForms).
    let lang = visitor.lang;
    let all = crate::forms::catalogue(&state, &visitor.principal, true).await?;
    let offset = state.config.evidence.local_offset();
    let body = html! {
        (admin_tabs(lang, "forms"))
        h1 { (lang.pick("Mẫu phiếu", "Forms")) }
        table #forms {
            thead { tr {
                th scope="col" { (lang.pick("Mẫu", "Form")) }
                th scope="col" { (lang.pick("Trạng thái", "State")) }
                th scope="col" { (lang.pick("Phiên bản", "Versions")) }
            } }
            tbody {
                @for form in &all {
                    tr {
                        th scope="row" {
                            (form.title.as_ref().map_or(form.id.as_str(), |t| lang.pick(&t.vi, &t.en)))
                            br; small { (form.id) }
                        }
                        td {
                            form.inline method="post" action={ "/admin/forms/" (form.id) "/state" } {
                                input type="hidden" name="_csrf" value=(visitor.csrf);
                                label.visually-hidden for={ "state-" (form.id) } { (lang.pick("Trạng thái", "State")) }
                                select id={ "state-" (form.id) } name="state" {
                                    @for (value, vi, en) in [("open", "Đang mở", "Open"), ("closing", "Sắp đóng", "Closing"), ("closed", "Đã đóng", "Closed")] {
                                        option value=(value) selected[form.state.as_str() == value] { (lang.pick(vi, en)) }
                                    }
                                }
                                button type="submit" { (lang.pick("Đổi", "Change")) }
                            }
                        }
                        td {
                            ul.versions {
                                @for version in form.versions.as_deref().unwrap_or(&[]) {
                                    li {
                                        "v" (version.version) " · " (locale::date_time(version.published_at, offset))
                                        @if version.retired { " · " em { (lang.pick("đã ngừng", "retired")) } }
                                        @else {
                                            form.inline method="post" action={ "/admin/forms/" (form.id) "/versions/" (version.version) "/retire" } {
                                                input type="hidden" name="_csrf" value=(visitor.csrf);
                                                button.link type="submit" { (lang.pick("Ngừng dùng", "Retire")) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section {
            h2 { (lang.pick("Đăng mẫu phiếu (YAML)", "Publish a form (YAML)")) }
            form.stacked #publish-form method="post" action="/admin/forms" {
                input type="hidden" name="_csrf" value=(visitor.csrf);
                label for="definition" { (lang.pick("Định nghĩa mẫu phiếu", "Form definition")) }
                textarea #definition name="definition" rows="14" required spellcheck="false" {}
                button type="submit" { (lang.pick("Đăng", "Publish")) }
            }
        }
    };
    Ok(layout::page(
        &chrome(&visitor, "admin"),
        lang.pick("Mẫu phiếu", "Forms"),
        body,
    ))
}

/// The publish form.
#[derive(Debug, Deserialize)]
pub struct PublishForm {
    #[serde(rename = "_csrf", default)]
    pub csrf: String,
    #[serde(default)]
    pub definition: String,
}

/// Handles the `POST /admin/forms` route.
pub async fn publish_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    visitor: Visitor,
    form: web::Form<PublishForm>,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: the form's token, then `forms::publish_text`.
    visitor.check_form(&req, &form.csrf)?;
    crate::forms::publish_text(&state, &visitor.principal, &form.definition).await?;
    Ok(back_to("/admin/forms".into()))
}

/// The form-state form.
#[derive(Debug, Deserialize)]
pub struct StateForm {
    #[serde(rename = "_csrf", default)]
    pub csrf: String,
    #[serde(default)]
    pub state: String,
}

/// Handles the `POST /admin/forms/{form_id}/state` route.
pub async fn form_state(
    state: web::Data<AppState>,
    req: HttpRequest,
    visitor: Visitor,
    form_id: web::Path<String>,
    form: web::Form<StateForm>,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: the form's token, then `forms::change_state`.
    visitor.check_form(&req, &form.csrf)?;
    crate::forms::change_state(&state, &visitor.principal, &form_id, &form.state).await?;
    Ok(back_to("/admin/forms".into()))
}

/// Handles the `POST /admin/forms/{form_id}/versions/{version}/retire` route.
pub async fn retire_form_version(
    state: web::Data<AppState>,
    req: HttpRequest,
    visitor: Visitor,
    path: web::Path<(String, String)>,
    form: web::Form<super::session::TokenOnly>,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: the form's token, then `forms::retire_version`.
    visitor.check_form(&req, &form.csrf)?;
    let (form_id, version) = path.into_inner();
    crate::forms::retire_version(&state, &visitor.principal, &form_id, &version).await?;
    Ok(back_to("/admin/forms".into()))
}

/// Handles the `GET /admin/campaigns` route.
pub async fn campaigns(
    state: web::Data<AppState>,
    visitor: Visitor,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: Action::ManageCampaigns; the list is `campaigns::visible`.
    authorize(&visitor.principal, Action::ManageCampaigns, None)?;
    let lang = visitor.lang;
    let all = crate::campaigns::visible(&state, &visitor.principal).await?;
    let body = html! {
        (admin_tabs(lang, "campaigns"))
        h1 { (lang.pick("Chiến dịch", "Campaigns")) }
        table #campaigns {
            thead { tr {
                th scope="col" { (lang.pick("Tên", "Name")) }
                th scope="col" { (lang.pick("Thời gian", "Dates")) }
                th scope="col" { (lang.pick("Chỉ tiêu", "Targets")) }
            } }
            tbody {
                @for campaign in &all {
                    tr {
                        th scope="row" { a href={ "/coverage?campaign=" (campaign.row.id) } { (campaign.row.name) } br; small { (campaign.row.code) " · " (campaign.row.directive) } }
                        td { (locale::date(campaign.row.starts_on)) " – " (locale::date(campaign.row.ends_on)) }
                        td { ul { @for target in &campaign.targets {
                            li { (vocabulary::target(lang, target.kind.key())) ": " (target.threshold_percent) " % " (lang.pick("trước", "by")) " " (locale::date(target.deadline)) }
                        } } }
                    }
                }
            }
        }
        section {
            h2 { (lang.pick("Tạo chiến dịch (YAML)", "New campaign (YAML)")) }
            form.stacked #new-campaign method="post" action="/admin/campaigns" {
                input type="hidden" name="_csrf" value=(visitor.csrf);
                label for="spec" { (lang.pick("Mô tả chiến dịch", "Campaign description")) }
                textarea #spec name="spec" rows="14" required spellcheck="false" {}
                button type="submit" { (lang.pick("Tạo", "Create")) }
            }
        }
    };
    Ok(layout::page(
        &chrome(&visitor, "admin"),
        lang.pick("Chiến dịch", "Campaigns"),
        body,
    ))
}

/// The new-campaign form.
#[derive(Debug, Deserialize)]
pub struct CampaignForm {
    #[serde(rename = "_csrf", default)]
    pub csrf: String,
    #[serde(default)]
    pub spec: String,
}

/// Handles the `POST /admin/campaigns` route.
pub async fn create_campaign(
    state: web::Data<AppState>,
    req: HttpRequest,
    visitor: Visitor,
    form: web::Form<CampaignForm>,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: the form's token, then `campaigns::create_from_text`.
    visitor.check_form(&req, &form.csrf)?;
    let campaign =
        crate::campaigns::create_from_text(&state, &visitor.principal, &form.spec).await?;
    Ok(back_to(format!("/coverage?campaign={}", campaign.row.id)))
}
