//! Reports: daily (as of 14:00 on a date), monthly (as of the 15th) and final
//! (the end of the campaign) for an area, as JSON, CSV (UTF-8 with a BOM, so
//! Excel opens it right) or XLSX, with Vietnamese headers.
//! `GET /campaigns/{id}/reports/{kind}?area=&date=&format=` and `camket report`.

pub mod store;

use std::collections::{BTreeMap, HashMap};

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::coverage;
use crate::coverage::rules::{self, Count, TargetKind};
use camket_schema::domain::{AreaId, AreaPath, CommitmentKind, HouseholdCategory};
use camket_schema::models::AreaRow;
use camket_schema::Db;

use crate::access::Principal;
use crate::campaigns;
use crate::campaigns::CampaignRules;
use crate::coverage::{figures, resolve_area, villages_in, TargetFigures};
use crate::error::ApiError;
use crate::state::AppState;

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// The moment a report describes.
pub fn as_of(kind: ReportKind, campaign: &CampaignRules, date: NaiveDate) -> DateTime<Utc> {
    let offset = campaign.offset;
    match kind {
        ReportKind::Daily => rules::start_of(date, offset) + Duration::hours(14),
        ReportKind::Monthly => {
            let fifteenth = NaiveDate::from_ymd_opt(date.year(), date.month(), 15).unwrap_or(date);
            rules::start_of(fifteenth, offset)
        }
        ReportKind::Final => campaign.window.end,
    }
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

/// One village's line.
#[derive(Debug, Clone, Serialize)]
pub struct ReportRow {
    pub village_id: AreaId,
    pub village: String,
    pub targets: Vec<TargetFigures>,
}

/// A report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub kind: ReportKind,
    pub campaign_id: i64,
    pub campaign: String,
    pub directive: String,
    pub area_id: AreaId,
    pub area: String,
    pub as_of: DateTime<Utc>,
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

/// Builds a report from live data (coverage as of `as_of`: approvals after it do
/// not count). A report of now or later reads the maintained per-village counts;
/// one of an earlier time recounts each village as of then with the same rules.
pub fn build(
    db: &Db,
    campaign: &CampaignRules,
    area: &AreaRow,
    kind: ReportKind,
    as_of: DateTime<Utc>,
) -> Result<Report, ApiError> {
    // The campaign's scope when the report's area holds all of it.
    let counted = if area.path.contains(&campaign.scope_path) {
        &campaign.scope_path
    } else {
        &area.path
    };
    let villages = villages_in(db, campaign, counted)?;
    let mut facts = coverage::store::subtree_facts(db, counted)?;
    let maintained = if as_of >= Utc::now() {
        Some(maintained_counts(db, campaign, counted)?)
    } else {
        None
    };
    let n = campaign.targets.len();
    let mut totals = vec![Count::default(); n];
    let mut rows = Vec::new();
    let mut category_counts: BTreeMap<HouseholdCategory, i64> = BTreeMap::new();
    let mut villages_with_meeting = 0;
    let mut meetings_held = 0;
    for village in &villages {
        let (homes, subs) = facts.remove(&village.id.0).unwrap_or_default();
        let counts = match &maintained {
            Some(stored) => stored
                .get(&village.id.0)
                .cloned()
                .unwrap_or_else(|| vec![Count::default(); n]),
            None => {
                rules::village_counts(&campaign.targets, &homes, &subs, &campaign.window, as_of)
            }
        };
        for (total, count) in totals.iter_mut().zip(&counts) {
            *total += *count;
        }
        for home in homes.iter().filter(|h| h.active) {
            for category in &home.categories {
                *category_counts.entry(*category).or_default() += 1;
            }
        }
        let held = rules::meetings_held(&subs, &campaign.window, as_of);
        meetings_held += held;
        villages_with_meeting += i64::from(held > 0);
        rows.push(ReportRow {
            village_id: village.id,
            village: village.name.clone(),
            targets: figures(campaign, &counts, as_of),
        });
    }
    let surveys = store::approved_surveys(db, counted, as_of)?;
    let flagged = store::flagged_unreviewed(db, counted, as_of)?;
    // The latest approved survey of each household speaks for it.
    let mut latest: BTreeMap<i64, serde_json::Value> = BTreeMap::new();
    for (household, answers) in surveys {
        if let (Some(h), Ok(value)) = (household, serde_json::from_str(&answers)) {
            latest.insert(h, value);
        }
    }
    let mut returnees_by_manner: BTreeMap<String, i64> =
        ["self_returned", "arrested_handed_back", "expelled"]
            .iter()
            .map(|k| (k.to_string(), 0))
            .collect();
    let mut relatives_abroad = 0;
    for answers in latest.values() {
        relatives_abroad += answers["relatives_abroad"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0) as i64;
        for returnee in answers["returnees"].as_array().into_iter().flatten() {
            if let Some(manner) = returnee["manner_of_return"].as_str() {
                *returnees_by_manner.entry(manner.to_string()).or_default() += 1;
            }
        }
    }
    let count = |c: HouseholdCategory| category_counts.get(&c).copied().unwrap_or(0);
    Ok(Report {
        kind,
        campaign_id: campaign.row.id,
        campaign: campaign.row.name.clone(),
        directive: campaign.row.directive.clone(),
        area_id: area.id,
        area: area.name.clone(),
        as_of,
        totals: figures(campaign, &totals, as_of),
        rows,
        households_with_relative_abroad: count(HouseholdCategory::RelativeAbroad),
        households_with_relative_abroad_illegally: count(HouseholdCategory::RelativeAbroadIllegal),
        relatives_abroad,
        households_with_relative_detained: count(HouseholdCategory::RelativeDetained),
        households_with_returnee: count(HouseholdCategory::Returnee),
        returnees_by_manner,
        villages_with_meeting,
        meetings_held,
        flagged_unreviewed: flagged,
    })
}

/// The maintained counts of every village at or below `path`, per target.
fn maintained_counts(
    db: &Db,
    campaign: &CampaignRules,
    path: &AreaPath,
) -> Result<HashMap<i64, Vec<Count>>, ApiError> {
    let n = campaign.targets.len();
    let mut by_village: HashMap<i64, Vec<Count>> = HashMap::new();
    for (target, village, _, count) in coverage::store::subtree_counts(db, campaign.row.id, path)? {
        if let Some(slot) = by_village
            .entry(village)
            .or_insert_with(|| vec![Count::default(); n])
            .get_mut(target)
        {
            *slot = count;
        }
    }
    Ok(by_village)
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
    let mut out = vec!["Thôn/Tổ dân phố".to_string()];
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
        ("Số liệu tính đến".into(), report.as_of.to_rfc3339()),
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
            let mut cells = vec![safe_cell(&row.village)];
            cells.extend(figures_cells(&row.targets));
            writer.write_record(cells).map_err(fail)?;
        }
        let mut total = vec!["Tổng cộng".to_string()];
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
    let mut write_row = |row: u32, name: &str, targets: &[TargetFigures]| -> Result<(), ApiError> {
        sheet.write_string(row, 0, name).map_err(fail)?;
        for (i, t) in targets.iter().enumerate() {
            let col = 1 + 4 * i as u16;
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
    for (i, row) in report.rows.iter().enumerate() {
        write_row(i as u32 + 1, &row.village, &row.targets)?;
    }
    write_row(report.rows.len() as u32 + 1, "Tổng cộng", &report.totals)?;
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

/// Query of the report route.
#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    pub area: Option<i64>,
    /// `YYYY-MM-DD` (default: today, in the campaign's time zone).
    pub date: Option<String>,
    /// `json` (default), `csv` or `xlsx`.
    pub format: Option<String>,
}

/// Handles the `GET /api/v1/campaigns/{id}/reports/{kind}` route.
pub async fn report_route(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(i64, String)>,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let (id, kind) = path.into_inner();
    let kind: ReportKind = kind.parse().map_err(|e: String| ApiError::NotFound(e))?;
    let campaign = campaigns::load(&state, &principal, id).await?;
    let area = resolve_area(&state, &principal, &campaign, query.area).await?;
    let date = match query.date.as_deref() {
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| ApiError::bad_param("date", "use YYYY-MM-DD"))?,
        None => Utc::now().with_timezone(&campaign.offset).date_naive(),
    };
    let format = query.format.clone().unwrap_or_else(|| "json".into());
    if !["json", "csv", "xlsx"].contains(&format.as_str()) {
        return Err(ApiError::bad_param("format", "use json, csv or xlsx"));
    }
    let moment = as_of(kind, &campaign, date);
    let db = state.db.clone();
    let (report, campaign) =
        web::block(move || build(&db, &campaign, &area, kind, moment).map(|r| (r, campaign)))
            .await??;
    let file = format!(
        "bao-cao-{}-{}-{}",
        report.campaign_id,
        format!("{kind:?}").to_lowercase(),
        date
    );
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

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("+1"), "'+1");
        assert_eq!(safe_cell("Thôn 1"), "Thôn 1");
    }
}
