//! Reports: daily (as of 14:00 on a date), monthly (as of the 15th) and final
//! (the end of the campaign) for an area, as JSON, CSV (UTF-8 with a BOM, so
//! Excel opens it right) or XLSX, with Vietnamese headers.
//! `GET /campaigns/{id}/reports/{kind}?area=&date=&format=` and `camket report`.

pub mod figures;
pub mod filing;
pub mod store;

use std::collections::{BTreeMap, HashMap};

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::coverage;
use crate::coverage::rules::{self, Count, TargetKind, Window};
use camket_schema::domain::{AreaId, AreaLevel, CommitmentKind, HouseholdCategory};
use camket_schema::models::AreaRow;
use camket_schema::Db;
use figures::VillageFigures;

use crate::access::Principal;
use crate::campaigns;
use crate::campaigns::CampaignRules;
use crate::coverage::{figures, resolve_area, villages_in, TargetFigures};
use crate::error::ApiError;
use crate::state::AppState;

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    Daily,
    Monthly,
    Final,
}

impl std::str::FromStr for ReportKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "daily" => Ok(ReportKind::Daily),
            "monthly" => Ok(ReportKind::Monthly),
            "final" => Ok(ReportKind::Final),
            other => Err(format!(
                "unknown report '{other}'; expected daily, monthly or final"
            )),
        }
    }
}

/// The period a report covers. Its figures are the campaign's coverage as of
/// the end (`to`): approvals after it do not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Period {
    /// The period of a report of `kind` filed for `date`, or, without a date,
    /// the one a clerk files next on `today`: the daily report at 14:00, the
    /// monthly on the 15th (the coming one, from the previous 15th), the final
    /// at the end of the campaign.
    pub fn of(
        kind: ReportKind,
        window: &Window,
        offset: FixedOffset,
        date: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Period {
        let fifteenth =
            |d: NaiveDate| NaiveDate::from_ymd_opt(d.year(), d.month(), 15).unwrap_or(d);
        match kind {
            ReportKind::Daily => {
                let to = rules::start_of(date.unwrap_or(today), offset) + Duration::hours(14);
                Period {
                    from: to - Duration::days(1),
                    to,
                }
            }
            ReportKind::Monthly => {
                let due = match date {
                    Some(date) => fifteenth(date),
                    None if today.day() <= 15 => fifteenth(today),
                    None => fifteenth(today + Duration::days(20)),
                };
                let previous = fifteenth(due - Duration::days(20));
                Period {
                    from: rules::start_of(previous, offset),
                    to: rules::start_of(due, offset),
                }
            }
            ReportKind::Final => Period {
                from: window.start,
                to: window.end,
            },
        }
    }
}

/// A moment as a clerk reads it: `dd/mm/yyyy HH:mm` in the campaign's time zone.
pub fn local_time(at: DateTime<Utc>, offset: FixedOffset) -> String {
    at.with_timezone(&offset)
        .format("%d/%m/%Y %H:%M")
        .to_string()
}

/// The Vietnamese name of what a target counts.
pub fn kind_label(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::VillageMeeting => "Họp dân có ảnh và biên bản",
        TargetKind::Commitment(CommitmentKind::VillagePledge) => "Thôn ký cam kết",
        TargetKind::Commitment(CommitmentKind::HouseholdReporting) => {
            "Hộ cam kết phát hiện, tố giác"
        }
        TargetKind::Commitment(CommitmentKind::RelativeAbroad) => {
            "Cam kết vận động người thân về nước"
        }
        TargetKind::Commitment(CommitmentKind::RelativeDetained) => {
            "Cam kết báo cáo người thân bị bắt giữ"
        }
        TargetKind::Commitment(CommitmentKind::ReturneeNoReoffend) => "Cam kết không tái phạm",
        TargetKind::Commitment(CommitmentKind::BusinessCompliance) => "Cơ sở kinh doanh cam kết",
    }
}

/// An area a report row lies in, by code and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub struct PlaceName {
    pub code: String,
    pub name: String,
}

/// One village's line, with the commune and district it lies in (either may
/// be skipped by the hierarchy: province > commune since the 2025 reform).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportRow {
    pub village_id: AreaId,
    pub village_code: String,
    pub village: String,
    pub commune: Option<PlaceName>,
    pub district: Option<PlaceName>,
    pub targets: Vec<TargetFigures>,
}

/// A report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub kind: ReportKind,
    pub campaign_id: i64,
    pub campaign: String,
    pub directive: String,
    pub area_id: AreaId,
    pub area: String,
    /// The start of the period the report covers.
    pub period_from: DateTime<Utc>,
    /// The end of the period: the figures are as of this moment.
    pub as_of: DateTime<Utc>,
    /// The period in the campaign's local time, `dd/mm/yyyy HH:mm – dd/mm/yyyy HH:mm`.
    pub period_local: String,
    /// When the figures were taken, in local time: the end of the period, or
    /// the moment of writing for a period that has not ended yet.
    pub figures_taken_local: String,
    pub rows: Vec<ReportRow>,
    pub totals: Vec<TargetFigures>,
    pub households_with_relative_abroad: i64,
    pub households_with_relative_abroad_illegally: i64,
    pub relatives_abroad: i64,
    pub households_with_relative_detained: i64,
    pub households_with_returnee: i64,
    pub returnees_by_manner: BTreeMap<String, i64>,
    pub villages_with_meeting: i64,
    pub meetings_held: i64,
    pub flagged_unreviewed: i64,
}

/// Builds a report: the sum of its villages' figures as of the end of the
/// period. A report of now or later reads the figures kept live per village;
/// one of a moment that has passed reads them from their filing (filing, the
/// first time, those of villages not yet filed: see [`store::filed_figures`]),
/// so that a filed report does not change afterwards.
pub fn build(
    db: &Db,
    campaign: &CampaignRules,
    area: &AreaRow,
    kind: ReportKind,
    period: Period,
) -> Result<Report, ApiError> {
    let as_of = period.to;
    let now = Utc::now();
    let taken = as_of.min(now);
    let counted = &coverage::counted_path(campaign, &area.path);
    let villages = villages_in(db, campaign, counted)?;
    let ancestors = Ancestors::of(db, &villages)?;
    let by_village = if as_of >= now {
        store::current_figures(db, campaign, counted, &villages)?
    } else {
        store::filed_figures(db, campaign, as_of, counted, &villages)?
    };
    let n = campaign.targets.len();
    let mut area_figures = VillageFigures {
        counts: vec![Count::default(); n],
        ..VillageFigures::default()
    };
    let mut rows = Vec::with_capacity(villages.len());
    for village in &villages {
        let mut counts = vec![Count::default(); n];
        if let Some(figures) = by_village.get(&village.id.0) {
            area_figures.add(figures);
            for (slot, count) in counts.iter_mut().zip(&figures.counts) {
                *slot = *count;
            }
        }
        rows.push(ReportRow {
            village_id: village.id,
            village_code: village.code.clone(),
            village: village.name.clone(),
            commune: ancestors.named(village, AreaLevel::Commune),
            district: ancestors.named(village, AreaLevel::District),
            targets: figures(campaign, &counts, as_of),
        });
    }
    // Grouped by district and commune, as the subtotals of the table are.
    rows.sort_by(|a, b| (&a.district, &a.commune).cmp(&(&b.district, &b.commune)));
    let flagged = store::flagged_unreviewed(db, counted, as_of)?;
    let count = |c: HouseholdCategory| area_figures.households_in(c);
    Ok(Report {
        kind,
        campaign_id: campaign.row.id,
        campaign: campaign.row.name.clone(),
        directive: campaign.row.directive.clone(),
        area_id: area.id,
        area: area.name.clone(),
        period_from: period.from,
        as_of,
        period_local: format!(
            "{} – {}",
            local_time(period.from, campaign.offset),
            local_time(period.to, campaign.offset)
        ),
        figures_taken_local: local_time(taken, campaign.offset),
        totals: figures(campaign, &area_figures.counts, as_of),
        rows,
        households_with_relative_abroad: count(HouseholdCategory::RelativeAbroad),
        households_with_relative_abroad_illegally: count(HouseholdCategory::RelativeAbroadIllegal),
        relatives_abroad: area_figures.relatives_abroad,
        households_with_relative_detained: count(HouseholdCategory::RelativeDetained),
        households_with_returnee: count(HouseholdCategory::Returnee),
        returnees_by_manner: area_figures.returnees_listed(),
        villages_with_meeting: area_figures.villages_with_meeting,
        meetings_held: area_figures.meetings_held,
        flagged_unreviewed: flagged,
    })
}

/// The areas above a report's villages.
struct Ancestors(HashMap<AreaId, AreaRow>);

impl Ancestors {
    fn of(db: &Db, villages: &[AreaRow]) -> Result<Ancestors, ApiError> {
        // The areas above each village: its own id is the last of its path.
        let mut ids: Vec<i64> = villages
            .iter()
            .flat_map(|v| {
                let mut above = v.path.ids();
                above.pop();
                above
            })
            .map(|id| id.0)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let rows = coverage::store::areas_by_id(db, &ids)?;
        Ok(Ancestors(rows.into_iter().map(|a| (a.id, a)).collect()))
    }

    /// The area of `level` above `village`, if the hierarchy has one.
    fn named(&self, village: &AreaRow, level: AreaLevel) -> Option<PlaceName> {
        village
            .path
            .ids()
            .iter()
            .filter_map(|id| self.0.get(id))
            .find(|area| area.level == level)
            .map(|area| PlaceName {
                code: area.code.clone(),
                name: area.name.clone(),
            })
    }
}

/// The sum of some rows' figures, as a subtotal line.
fn subtotal(
    campaign: &CampaignRules,
    rows: &[ReportRow],
    as_of: DateTime<Utc>,
) -> Vec<TargetFigures> {
    let mut counts = vec![Count::default(); campaign.targets.len()];
    for row in rows {
        for (count, figures) in counts.iter_mut().zip(&row.targets) {
            *count += Count {
                eligible: figures.eligible,
                covered: figures.covered,
                pending: figures.pending,
            };
        }
    }
    figures(campaign, &counts, as_of)
}

/// Neutralises a cell a spreadsheet would read as a formula.
pub fn safe_cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

fn headers(report: &Report, campaign: &CampaignRules) -> Vec<String> {
    let mut out = vec![
        "Thôn/Tổ dân phố".to_string(),
        "Mã thôn".to_string(),
        "Xã/Phường".to_string(),
        "Mã xã".to_string(),
        "Huyện/Thị xã".to_string(),
        "Mã huyện".to_string(),
    ];
    for target in &campaign.targets {
        let label = kind_label(target.kind);
        out.push(format!("{label} - Phải ký"));
        out.push(format!("{label} - Đã ký"));
        out.push(format!("{label} - Chờ duyệt"));
        out.push(format!("{label} - Tỷ lệ (%)"));
    }
    let _ = report;
    out
}

fn summary_lines(report: &Report) -> Vec<(String, String)> {
    let mut lines = vec![
        (
            "Báo cáo".to_string(),
            match report.kind {
                ReportKind::Daily => "Hằng ngày",
                ReportKind::Monthly => "Hằng tháng",
                ReportKind::Final => "Tổng kết",
            }
            .to_string(),
        ),
        ("Đợt cao điểm".into(), report.campaign.clone()),
        ("Kế hoạch".into(), report.directive.clone()),
        ("Địa bàn".into(), report.area.clone()),
        ("Kỳ báo cáo".into(), report.period_local.clone()),
        (
            "Số liệu tính đến".into(),
            report.figures_taken_local.clone(),
        ),
        (
            "Hộ có người thân ở nước ngoài".into(),
            report.households_with_relative_abroad.to_string(),
        ),
        (
            "Hộ có người thân ở nước ngoài bất hợp pháp".into(),
            report.households_with_relative_abroad_illegally.to_string(),
        ),
        (
            "Số người thân ở nước ngoài (theo phiếu rà soát)".into(),
            report.relatives_abroad.to_string(),
        ),
        (
            "Hộ có người thân bị bắt giữ ở nước ngoài".into(),
            report.households_with_relative_detained.to_string(),
        ),
        (
            "Hộ có người xuất cảnh trái phép trở về".into(),
            report.households_with_returnee.to_string(),
        ),
    ];
    let manner = |key: &str| {
        report
            .returnees_by_manner
            .get(key)
            .copied()
            .unwrap_or(0)
            .to_string()
    };
    lines.push(("Người trở về - tự về".into(), manner("self_returned")));
    lines.push((
        "Người trở về - bị bắt và trao trả".into(),
        manner("arrested_handed_back"),
    ));
    lines.push(("Người trở về - bị trục xuất".into(), manner("expelled")));
    lines.push((
        "Số thôn đã họp dân có ảnh và biên bản".into(),
        report.villages_with_meeting.to_string(),
    ));
    lines.push(("Số buổi họp dân".into(), report.meetings_held.to_string()));
    lines.push((
        "Phiếu bị gắn cờ chưa duyệt".into(),
        report.flagged_unreviewed.to_string(),
    ));
    lines
}

/// How many columns name a row's place (village, commune, district, with codes).
const PLACE_COLUMNS: usize = 6;

fn place_cells(row: &ReportRow) -> [String; PLACE_COLUMNS] {
    let part = |place: &Option<PlaceName>| {
        place.as_ref().map_or((String::new(), String::new()), |p| {
            (p.name.clone(), p.code.clone())
        })
    };
    let (commune, commune_code) = part(&row.commune);
    let (district, district_code) = part(&row.district);
    [
        row.village.clone(),
        row.village_code.clone(),
        commune,
        commune_code,
        district,
        district_code,
    ]
}

fn figures_cells(targets: &[TargetFigures]) -> Vec<String> {
    targets
        .iter()
        .flat_map(|t| {
            [
                t.eligible.to_string(),
                t.covered.to_string(),
                t.pending.to_string(),
                format!("{:.1}", t.percent),
            ]
        })
        .collect()
}

/// The report as CSV: UTF-8 with a BOM, Vietnamese headers, one line per village,
/// a total line, then the summary figures.
pub fn to_csv(report: &Report, campaign: &CampaignRules) -> Result<Vec<u8>, ApiError> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut writer = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(&mut out);
        let fail = |e: csv::Error| ApiError::Internal(format!("csv: {e}"));
        writer
            .write_record(headers(report, campaign))
            .map_err(fail)?;
        for row in &report.rows {
            let mut cells: Vec<String> = place_cells(row).iter().map(|c| safe_cell(c)).collect();
            cells.extend(figures_cells(&row.targets));
            writer.write_record(cells).map_err(fail)?;
        }
        let mut total = vec!["Tổng cộng".to_string()];
        total.extend(std::iter::repeat_n(String::new(), PLACE_COLUMNS - 1));
        total.extend(figures_cells(&report.totals));
        writer.write_record(total).map_err(fail)?;
        writer.write_record([""]).map_err(fail)?;
        for (label, value) in summary_lines(report) {
            writer
                .write_record([safe_cell(&label), safe_cell(&value)])
                .map_err(fail)?;
        }
        writer
            .flush()
            .map_err(|e| ApiError::Internal(format!("csv: {e}")))?;
    }
    Ok(out)
}

/// The report as an XLSX workbook: sheet "Bao cao" (the table) and "Tong hop" (the summary).
pub fn to_xlsx(report: &Report, campaign: &CampaignRules) -> Result<Vec<u8>, ApiError> {
    use rust_xlsxwriter::{Format, Workbook};
    let fail = |e: rust_xlsxwriter::XlsxError| ApiError::Internal(format!("xlsx: {e}"));
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Bao cao").map_err(fail)?;
    for (col, title) in headers(report, campaign).iter().enumerate() {
        sheet
            .write_string_with_format(0, col as u16, title, &bold)
            .map_err(fail)?;
    }
    let mut write_row = |row: u32,
                         places: &[String],
                         targets: &[TargetFigures],
                         format: Option<&Format>|
     -> Result<(), ApiError> {
        for (col, text) in places.iter().enumerate() {
            match format {
                Some(format) => sheet.write_string_with_format(row, col as u16, text, format),
                None => sheet.write_string(row, col as u16, text),
            }
            .map_err(fail)?;
        }
        for (i, t) in targets.iter().enumerate() {
            let col = PLACE_COLUMNS as u16 + 4 * i as u16;
            sheet
                .write_number(row, col, t.eligible as f64)
                .map_err(fail)?;
            sheet
                .write_number(row, col + 1, t.covered as f64)
                .map_err(fail)?;
            sheet
                .write_number(row, col + 2, t.pending as f64)
                .map_err(fail)?;
            sheet.write_number(row, col + 3, t.percent).map_err(fail)?;
        }
        Ok(())
    };
    // Villages grouped by commune and district (the rows come sorted so), each
    // group closed by its subtotal, then the total.
    let mut line = 1;
    for district_rows in report.rows.chunk_by(|a, b| a.district == b.district) {
        for commune_rows in district_rows.chunk_by(|a, b| a.commune == b.commune) {
            for row in commune_rows {
                write_row(line, &place_cells(row), &row.targets, None)?;
                line += 1;
            }
            if let Some(commune) = &commune_rows[0].commune {
                let figures = subtotal(campaign, commune_rows, report.as_of);
                write_row(
                    line,
                    &[format!("Cộng {}", commune.name)],
                    &figures,
                    Some(&bold),
                )?;
                line += 1;
            }
        }
        if let Some(district) = &district_rows[0].district {
            let figures = subtotal(campaign, district_rows, report.as_of);
            write_row(
                line,
                &[format!("Cộng {}", district.name)],
                &figures,
                Some(&bold),
            )?;
            line += 1;
        }
    }
    write_row(
        line,
        &["Tổng cộng".to_string()],
        &report.totals,
        Some(&bold),
    )?;
    let summary = workbook.add_worksheet();
    summary.set_name("Tong hop").map_err(fail)?;
    for (i, (label, value)) in summary_lines(report).iter().enumerate() {
        summary.write_string(i as u32, 0, label).map_err(fail)?;
        match value.parse::<f64>() {
            Ok(number) => summary.write_number(i as u32, 1, number).map_err(fail)?,
            Err(_) => summary.write_string(i as u32, 1, value).map_err(fail)?,
        };
    }
    workbook.save_to_buffer().map_err(fail)
}

/// A report as filed: its figures, the campaign's rules (for its headers) and
/// the file name it downloads under.
pub struct Filed {
    pub report: Report,
    pub campaign: CampaignRules,
    /// Without extension: named by the day the report is due, not by today.
    pub file: String,
}

/// Campaign `id`'s report of `kind` for `area` on `date` (`YYYY-MM-DD`; the
/// one a clerk files next when absent), as `principal` may read it. The
/// service behind the report route, `camket report`'s peer and the console.
pub async fn file_report(
    state: &AppState,
    principal: &Principal,
    id: i64,
    kind: ReportKind,
    area: Option<i64>,
    date: Option<&str>,
) -> Result<Filed, ApiError> {
    let campaign = campaigns::load(state, principal, id).await?;
    let area = resolve_area(state, principal, &campaign, area).await?;
    let date = date
        .map(|text| {
            crate::locale::parse_day(text)
                .ok_or_else(|| ApiError::bad_param("date", "use YYYY-MM-DD, 2000 to 2100"))
        })
        .transpose()?;
    let today = Utc::now().with_timezone(&campaign.offset).date_naive();
    let period = Period::of(kind, &campaign.window, campaign.offset, date, today);
    let due = period.to.with_timezone(&campaign.offset).date_naive();
    let db = state.db.clone();
    let (report, campaign) =
        web::block(move || build(&db, &campaign, &area, kind, period).map(|r| (r, campaign)))
            .await??;
    let file = format!(
        "bao-cao-{}-{}-{}",
        report.campaign_id,
        format!("{kind:?}").to_lowercase(),
        due
    );
    Ok(Filed {
        report,
        campaign,
        file,
    })
}

/// Query of the report route.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    pub area: Option<i64>,
    /// `YYYY-MM-DD`: the day of a daily report, a day of the month of a monthly
    /// one (filed on the 15th). Default: the report a clerk files next.
    pub date: Option<String>,
    /// `json` (default), `csv` or `xlsx`.
    pub format: Option<String>,
}

/// Handles the `GET /api/v1/campaigns/{id}/reports/{kind}` route.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/reports/{kind}", tag = "reports", params(("id" = i64, Path, description = "the campaign"), ("kind" = ReportKind, Path, description = "daily, monthly or final"), ReportQuery), responses((status = 200, description = "the report, as JSON, CSV or XLSX (format)", content((Report = "application/json"), (String = "text/csv"), (crate::openapi::BinaryFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))))]
pub async fn report_route(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(i64, String)>,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let (id, kind) = path.into_inner();
    let kind: ReportKind = kind.parse().map_err(|e: String| ApiError::NotFound(e))?;
    let format = query.format.clone().unwrap_or_else(|| "json".into());
    if !["json", "csv", "xlsx"].contains(&format.as_str()) {
        return Err(ApiError::bad_param("format", "use json, csv or xlsx"));
    }
    let Filed {
        report,
        campaign,
        file,
    } = file_report(
        &state,
        &principal,
        id,
        kind,
        query.area,
        query.date.as_deref(),
    )
    .await?;
    match format.as_str() {
        "csv" => Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}.csv\""),
            ))
            .body(to_csv(&report, &campaign)?)),
        "xlsx" => Ok(HttpResponse::Ok()
            .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}.xlsx\""),
            ))
            .body(to_xlsx(&report, &campaign)?)),
        _ => Ok(HttpResponse::Ok().json(report)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn each_report_covers_the_period_a_clerk_files() {
        let vietnam = FixedOffset::east_opt(7 * 3600).expect("offset");
        let window = Window::from_dates(day(2026, 11, 10), day(2026, 12, 31), vietnam);
        let of = |kind, date, today| Period::of(kind, &window, vietnam, date, today);
        let local = |p: Period| (local_time(p.from, vietnam), local_time(p.to, vietnam));
        // Without a date: the monthly report due next (15 December, from 15 November).
        let monthly = of(ReportKind::Monthly, None, day(2026, 11, 27));
        assert_eq!(
            local(monthly),
            ("15/11/2026 00:00".into(), "15/12/2026 00:00".into())
        );
        // On the 15th itself it is that day's report; in January, December's.
        let due_today = of(ReportKind::Monthly, None, day(2026, 11, 15));
        assert_eq!(local(due_today).1, "15/11/2026 00:00");
        let january = of(ReportKind::Monthly, None, day(2027, 1, 3));
        assert_eq!(
            local(january),
            ("15/12/2026 00:00".into(), "15/01/2027 00:00".into())
        );
        // A date chooses the month.
        let chosen = of(
            ReportKind::Monthly,
            Some(day(2026, 12, 2)),
            day(2026, 11, 27),
        );
        assert_eq!(local(chosen).1, "15/12/2026 00:00");
        // The daily report: the day up to 14:00.
        let daily = of(ReportKind::Daily, None, day(2026, 11, 27));
        assert_eq!(
            local(daily),
            ("26/11/2026 14:00".into(), "27/11/2026 14:00".into())
        );
        // The final report: the whole campaign.
        let last = of(ReportKind::Final, Some(day(2026, 11, 1)), day(2026, 11, 27));
        assert_eq!(
            local(last),
            ("10/11/2026 00:00".into(), "01/01/2027 00:00".into())
        );
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("+1"), "'+1");
        assert_eq!(safe_cell("Thôn 1"), "Thôn 1");
    }
}
