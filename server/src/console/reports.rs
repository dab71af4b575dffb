//! Reports: daily, monthly and final, for any area in scope and any date, as
//! a table on screen (`GET /reports`) and as CSV or XLSX
//! (`GET /reports/download`). Calls [`crate::reports::file_report`], the
//! same service as the API's report route.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use maud::html;
use serde::Deserialize;

use super::layout::{self, urlencode};
use super::session::{chrome, Visitor};
use super::{vocabulary, ConsoleError};
use crate::error::ApiError;
use crate::reports::{self, ReportKind};
use crate::state::AppState;

/// How many village lines the screen shows (the downloads have all).
const SHOWN_ROWS: usize = 300;

/// Query of the report pages.
#[derive(Debug, Default, Deserialize)]
pub struct ReportForm {
    pub campaign: Option<i64>,
    pub kind: Option<String>,
    pub area: Option<String>,
    /// `YYYY-MM-DD`; empty for the report due next.
    pub date: Option<String>,
    /// `csv` or `xlsx` (downloads only).
    pub format: Option<String>,
}

impl ReportForm {
    fn kind(&self) -> Result<ReportKind, ApiError> {
        self.kind
            .as_deref()
            .unwrap_or("daily")
            .parse()
            .map_err(|e: String| ApiError::bad_param("kind", e))
    }

    fn area(&self) -> Result<Option<i64>, ApiError> {
        self.area
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(|a| {
                a.parse()
                    .map_err(|_| ApiError::bad_param("area", "must be an area id"))
            })
            .transpose()
    }

    fn date(&self) -> Option<&str> {
        self.date
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
    }
}

fn kind_name(lang: crate::locale::Lang, kind: ReportKind) -> &'static str {
    match kind {
        ReportKind::Daily => lang.pick("Báo cáo ngày (14 giờ)", "Daily (14:00)"),
        ReportKind::Monthly => lang.pick("Báo cáo tháng (ngày 15)", "Monthly (the 15th)"),
        ReportKind::Final => lang.pick("Báo cáo tổng kết", "Final"),
    }
}

/// Handles the `GET /reports` route.
pub async fn page(
    state: web::Data<AppState>,
    visitor: Visitor,
    form: web::Query<ReportForm>,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: `campaigns::visible` and `reports::file_report`
    // (Action::ReadCoverage inside the reader's areas), as the API's report route.
    let lang = visitor.lang;
    let all = crate::campaigns::visible(&state, &visitor.principal).await?;
    let chrome = chrome(&visitor, "reports");
    let title = lang.pick("Báo cáo", "Reports");
    let Some(id) = form.campaign.or_else(|| all.iter().map(|c| c.row.id).max()) else {
        return Ok(layout::page(
            &chrome,
            title,
            html! { h1 { (title) } p { (lang.pick("Chưa có chiến dịch nào trong địa bàn của bạn.", "No campaign in your areas yet.")) } },
        ));
    };
    let kind = form.kind()?;
    let filed = reports::file_report(
        &state,
        &visitor.principal,
        id,
        kind,
        form.area()?,
        form.date(),
    )
    .await?;
    let report = &filed.report;
    let download = |format: &str| {
        format!(
            "/reports/download?campaign={id}&kind={}&area={}&date={}&format={format}",
            urlencode(form.kind.as_deref().unwrap_or("daily")),
            report.area_id.0,
            urlencode(form.date().unwrap_or("")),
        )
    };
    let body = html! {
        h1 { (title) }
        form.filters #report-form method="get" action="/reports" {
            div {
                label for="r-campaign" { (lang.pick("Chiến dịch", "Campaign")) }
                select #r-campaign name="campaign" {
                    @for campaign in &all {
                        option value=(campaign.row.id) selected[campaign.row.id == id] { (campaign.row.name) }
                    }
                }
            }
            div {
                label for="r-kind" { (lang.pick("Loại báo cáo", "Report")) }
                select #r-kind name="kind" {
                    @for choice in [ReportKind::Daily, ReportKind::Monthly, ReportKind::Final] {
                        option value=(format!("{choice:?}").to_lowercase()) selected[choice == kind] { (kind_name(lang, choice)) }
                    }
                }
            }
            div {
                label for="r-area" { (lang.pick("Mã địa bàn (để trống: cả địa bàn của bạn)", "Area id (empty: all your areas)")) }
                input #r-area name="area" inputmode="numeric" value=[form.area.as_deref()];
            }
            div {
                label for="r-date" { (lang.pick("Ngày (để trống: kỳ sắp nộp)", "Date (empty: the one due next)")) }
                input #r-date type="date" name="date" value=[form.date()];
            }
            div.actions { button type="submit" { (lang.pick("Xem báo cáo", "Show")) } }
        }
        section #report {
            h2 { (kind_name(lang, kind)) " · " (report.area) }
            p.meta {
                (lang.pick("Kỳ báo cáo", "Period")) ": " (report.period_local)
                " · " a.button #download-csv href=(download("csv")) { "CSV" }
                " " a.button #download-xlsx href=(download("xlsx")) { "XLSX" }
            }
            @if report.rows.len() > SHOWN_ROWS {
                p.notice { (lang.pick("Bảng có ", "The table has ")) (lang.count(report.rows.len() as i64)) (lang.pick(" thôn; màn hình chỉ hiện ", " villages; the screen shows the first ")) (SHOWN_ROWS) (lang.pick(" thôn đầu. Tải CSV hoặc XLSX để có đủ.", ". Download CSV or XLSX for all of them.")) }
            }
            div.scroll {
                table.report {
                    thead { tr {
                        th scope="col" { (lang.pick("Địa bàn", "Area")) }
                        @for target in &report.totals {
                            th scope="col" { (vocabulary::target(lang, &target.kind)) }
                        }
                    } }
                    tbody {
                        @for row in report.rows.iter().take(SHOWN_ROWS) {
                            tr {
                                th scope="row" {
                                    (row.village)
                                    @if let Some(commune) = &row.commune { br; small { (commune.name) } }
                                }
                                @for target in &row.targets {
                                    td { (lang.count(target.covered)) " / " (lang.count(target.eligible)) br; small { (lang.percent(target.percent)) } }
                                }
                            }
                        }
                    }
                    tfoot { tr {
                        th scope="row" { (lang.pick("Tổng cộng", "Total")) }
                        @for target in &report.totals {
                            td { strong { (lang.count(target.covered)) " / " (lang.count(target.eligible)) } br; small { (lang.percent(target.percent)) } }
                        }
                    } }
                }
            }
        }
    };
    Ok(layout::page(&chrome, title, body))
}

/// Handles the `GET /reports/download` route: the same report as CSV or XLSX.
pub async fn download(
    state: web::Data<AppState>,
    visitor: Visitor,
    form: web::Query<ReportForm>,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: `reports::file_report`, as the API's report route.
    let id = form
        .campaign
        .ok_or_else(|| ApiError::bad_param("campaign", "choose a campaign"))?;
    let format = form.format.as_deref().unwrap_or("xlsx");
    if !["csv", "xlsx"].contains(&format) {
        return Err(ApiError::bad_param("format", "use csv or xlsx").into());
    }
    let filed = reports::file_report(
        &state,
        &visitor.principal,
        id,
        form.kind()?,
        form.area()?,
        form.date(),
    )
    .await?;
    let (bytes, media_type) = if format == "csv" {
        (
            reports::to_csv(&filed.report, &filed.campaign)?,
            "text/csv; charset=utf-8",
        )
    } else {
        (
            reports::to_xlsx(&filed.report, &filed.campaign)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    };
    Ok(HttpResponse::Ok()
        .content_type(media_type)
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}.{format}\"", filed.file),
        ))
        .body(bytes))
}
