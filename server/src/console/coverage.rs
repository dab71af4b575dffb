//! Coverage, drilling down province → district → commune → village →
//! households (`GET /coverage?campaign=&area=`), and the printable gap list
//! for the working group's next round (`GET /coverage/gaps?campaign=&area=`).
//! Calls [`crate::coverage::coverage_of`], [`crate::coverage::village_sheet`]
//! and [`crate::coverage::gap_page`].

use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use camket_schema::domain::{AreaId, AreaLevel};

use super::layout;
use super::session::{chrome, Visitor};
use super::{vocabulary, ConsoleError};
use crate::campaigns::CampaignRules;
use crate::coverage::rules::SubjectState;
use crate::coverage::{self as figures, CoverageRow, TargetFigures};
use crate::error::ApiError;
use crate::locale::{self, Lang};
use crate::state::AppState;

/// Query of the coverage pages.
#[derive(Debug, Deserialize)]
pub struct CoverageQuery {
    pub campaign: Option<i64>,
    pub area: Option<i64>,
}

/// The campaign asked for, or the newest the user can see.
async fn chosen_campaign(
    state: &AppState,
    visitor: &Visitor,
    asked: Option<i64>,
) -> Result<(Vec<CampaignRules>, Option<i64>), ApiError> {
    let all = crate::campaigns::visible(state, &visitor.principal).await?;
    let id = asked.or_else(|| all.iter().map(|c| c.row.id).max());
    Ok((all, id))
}

fn campaign_picker(lang: Lang, all: &[CampaignRules], id: i64, action: &str) -> Markup {
    html! {
        form.inline method="get" action=(action) {
            label for="campaign" { (lang.pick("Chiến dịch", "Campaign")) }
            select #campaign name="campaign" {
                @for campaign in all {
                    option value=(campaign.row.id) selected[campaign.row.id == id] { (campaign.row.name) }
                }
            }
            button type="submit" { (lang.pick("Xem", "Show")) }
        }
    }
}

/// A bar: covered (solid) and pending (lighter) out of the eligible, drawn
/// as SVG so that it needs no inline style.
fn bar(lang: Lang, figures: &TargetFigures) -> Markup {
    let share = |n: i64| {
        if figures.eligible > 0 {
            (n as f64 / figures.eligible as f64 * 100.0).clamp(0.0, 100.0)
        } else {
            0.0
        }
    };
    let covered = share(figures.covered);
    let pending = share(figures.pending).min(100.0 - covered);
    let label = format!(
        "{} {} / {}, {} {}",
        lang.pick("Đã có", "Covered"),
        lang.count(figures.covered),
        lang.count(figures.eligible),
        lang.count(figures.pending),
        lang.pick("chờ duyệt", "pending"),
    );
    html! {
        svg.bar viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label=(label) xmlns="http://www.w3.org/2000/svg" {
            rect.track x="0" y="0" width="100" height="8" {}
            rect.covered x="0" y="0" width=(format!("{covered:.2}")) height="8" {}
            rect.pending x=(format!("{covered:.2}")) y="0" width=(format!("{pending:.2}")) height="8" {}
            line.threshold x1=(figures.threshold_percent) x2=(figures.threshold_percent) y1="0" y2="8" {}
        }
    }
}

fn standing_chip(lang: Lang, figures: &TargetFigures) -> Markup {
    let class = match figures.status {
        crate::coverage::rules::Status::Met => "met",
        crate::coverage::rules::Status::OnTrack => "on-track",
        crate::coverage::rules::Status::Behind => "behind",
        crate::coverage::rules::Status::Overdue => "overdue",
    };
    html! { span class={ "chip standing " (class) } { (vocabulary::standing(lang, figures.status)) } }
}

fn target_block(lang: Lang, figures: &TargetFigures) -> Markup {
    html! {
        div.target data-target=(figures.kind) {
            h3 { (vocabulary::target(lang, &figures.kind)) }
            (bar(lang, figures))
            p.figures {
                strong.percent { (lang.percent(figures.percent)) }
                " · " (lang.pick("đủ điều kiện", "eligible")) " " (lang.count(figures.eligible))
                " · " (lang.pick("đã có", "covered")) " " span.covered { (lang.count(figures.covered)) }
                " · " (lang.pick("chờ duyệt", "pending")) " " (lang.count(figures.pending))
                " · " (lang.pick("chỉ tiêu", "target")) " " (figures.threshold_percent) " %"
                " " (lang.pick("trước", "by")) " " (locale::date(figures.deadline))
                " " (standing_chip(lang, figures))
            }
        }
    }
}

fn children_table(
    lang: Lang,
    campaign: i64,
    row: &CoverageRow,
    children: &[CoverageRow],
) -> Markup {
    html! {
        table.coverage #children {
            thead {
                tr {
                    th scope="col" { (lang.pick("Địa bàn", "Area")) }
                    @for target in &row.targets {
                        th scope="col" { (vocabulary::target(lang, &target.kind)) }
                    }
                }
            }
            tbody {
                @for child in children {
                    tr {
                        th scope="row" {
                            a href={ "/coverage?campaign=" (campaign) "&area=" (child.area_id.0) } { (child.name) }
                            br; small { (vocabulary::level(lang, child.level)) }
                        }
                        @for target in &child.targets {
                            td {
                                (bar(lang, target))
                                (lang.percent(target.percent)) " " (standing_chip(lang, target))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn state_cell(lang: Lang, state: Option<SubjectState>) -> Markup {
    match state {
        None => html! { td.na { "—" } },
        Some(SubjectState::Covered) => {
            html! { td.covered { "✔ " (lang.pick("Đã có", "Covered")) } }
        }
        Some(SubjectState::Pending) => {
            html! { td.pending { "… " (lang.pick("Chờ duyệt", "Pending")) } }
        }
        Some(SubjectState::Missing) => {
            html! { td.missing { "✘ " (lang.pick("Còn thiếu", "Missing")) } }
        }
    }
}

async fn breadcrumb(
    state: &AppState,
    visitor: &Visitor,
    campaign: i64,
    area_id: AreaId,
) -> Result<Markup, ApiError> {
    let db = state.db.clone();
    let area = web::block(move || crate::areas::store::get(&db, area_id)).await??;
    let Some(area) = area else {
        return Ok(html! {});
    };
    let ids: Vec<i64> = area.path.ids().iter().map(|a| a.0).collect();
    let db = state.db.clone();
    let mut rows = web::block(move || figures::store::areas_by_id(&db, &ids)).await??;
    rows.sort_by_key(|row| row.depth);
    let scope = &visitor.principal.scope;
    Ok(html! {
        nav.breadcrumb aria-label=(visitor.lang.pick("Địa bàn", "Areas")) {
            ol {
                @for row in &rows {
                    li {
                        @if !scope.covers(&row.path) {
                            // Above the reader's areas: its level, not its name.
                            span { (vocabulary::level(visitor.lang, row.level)) }
                        } @else if row.id == area.id {
                            span aria-current="page" { (row.name) }
                        } @else {
                            a href={ "/coverage?campaign=" (campaign) "&area=" (row.id.0) } { (row.name) }
                        }
                    }
                }
            }
        }
    })
}

/// Handles the `GET /coverage` route.
pub async fn page(
    state: web::Data<AppState>,
    visitor: Visitor,
    query: web::Query<CoverageQuery>,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: `campaigns::visible` and `coverage_of` (Action::ReadCoverage
    // inside the reader's areas), as the API's coverage route.
    let lang = visitor.lang;
    let (all, chosen) = chosen_campaign(&state, &visitor, query.campaign).await?;
    let chrome = chrome(&visitor, "coverage");
    let title = lang.pick("Độ phủ cam kết", "Coverage");
    let Some(id) = chosen else {
        return Ok(layout::page(
            &chrome,
            title,
            html! { h1 { (title) } p { (lang.pick("Chưa có chiến dịch nào trong địa bàn của bạn.", "No campaign in your areas yet.")) } },
        ));
    };
    let (campaign, view) =
        figures::coverage_of(&state, &visitor.principal, id, query.area, 1).await?;
    let area = &view.area;
    let crumbs = breadcrumb(&state, &visitor, id, area.area_id).await?;
    let sheet = if area.level == AreaLevel::Village {
        Some(figures::village_sheet(&state, &visitor.principal, id, area.area_id.0).await?)
    } else {
        None
    };
    let gaps_link = format!("/coverage/gaps?campaign={id}&area={}", area.area_id.0);
    let body = html! {
        h1 { (title) }
        (campaign_picker(lang, &all, id, "/coverage"))
        (crumbs)
        h2 #area-name { (area.name) " " small { (vocabulary::level(lang, area.level)) } }
        p.meta {
            (campaign.row.name) " · " (locale::date(campaign.row.starts_on)) " – " (locale::date(campaign.row.ends_on))
            " · " a #print-gaps href=(gaps_link) { (lang.pick("In danh sách còn thiếu (A4)", "Print the gap list (A4)")) }
        }
        section.targets #targets {
            @for target in &area.targets {
                (target_block(lang, target))
            }
        }
        @if !view.children.is_empty() && area.level != AreaLevel::Village {
            h2 { (lang.pick("Theo địa bàn cấp dưới", "By area below")) }
            (children_table(lang, id, area, &view.children))
        }
        @if let Some(sheet) = &sheet {
            h2 { (lang.pick("Các hộ trong thôn", "Households of the village")) }
            @if sheet.village_targets.iter().any(Option::is_some) {
                table.households #village-targets {
                    tbody { tr {
                        th scope="row" { (lang.pick("Cả thôn", "The village itself")) }
                        @for (target, state) in sheet.campaign.targets.iter().zip(&sheet.village_targets) {
                            @if state.is_some() {
                                td { (vocabulary::target(lang, target.kind.key())) }
                                (state_cell(lang, *state))
                            }
                        }
                    } }
                }
            }
            table.households #households {
                thead { tr {
                    th scope="col" { (lang.pick("Hộ", "Household")) }
                    @for target in &sheet.campaign.targets {
                        @if !target.who.per_village() {
                            th scope="col" { (vocabulary::target(lang, target.kind.key())) }
                        }
                    }
                } }
                tbody {
                    @for row in &sheet.households {
                        tr {
                            th scope="row" { (row.household.code) " · " (row.household.head_name) }
                            @for (target, state) in sheet.campaign.targets.iter().zip(&row.targets) {
                                @if !target.who.per_village() { (state_cell(lang, *state)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&chrome, title, body))
}

/// Handles the `GET /coverage/gaps` route: every household (or village)
/// still lacking a required commitment, grouped by village, laid out for A4.
pub async fn gap_list(
    state: web::Data<AppState>,
    visitor: Visitor,
    query: web::Query<CoverageQuery>,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: `gap_page`, as the API's gap route.
    let lang = visitor.lang;
    let (_, chosen) = chosen_campaign(&state, &visitor, query.campaign).await?;
    let id = chosen.ok_or_else(|| ApiError::NotFound("no campaign in your areas".into()))?;
    let campaign = crate::campaigns::load(&state, &visitor.principal, id).await?;
    let area = figures::resolve_area(&state, &visitor.principal, &campaign, query.area).await?;
    let page =
        figures::gap_page(&state, &visitor.principal, id, Some(area.id.0), None, 5000).await?;
    let offset = state.config.evidence.local_offset();
    let printed = locale::date_time(chrono::Utc::now(), offset);
    let mut villages: Vec<(AreaId, String, Vec<&figures::GapView>)> = Vec::new();
    for gap in &page.items {
        match villages.last_mut() {
            Some((id, _, list)) if *id == gap.village_id => list.push(gap),
            _ => villages.push((gap.village_id, gap.village.clone(), vec![gap])),
        }
    }
    let title = lang.pick("Danh sách còn thiếu cam kết", "Gap list");
    let body = html! {
        main.print #gap-list {
            p.noprint { a href={ "/coverage?campaign=" (id) "&area=" (area.id.0) } { (lang.pick("← Về trang độ phủ", "← Back to coverage")) } " · " button.print type="button" data-print { (lang.pick("In", "Print")) } }
            h1 { (title) }
            p { (campaign.row.name) " · " (area.name) " · " (lang.pick("in lúc", "printed")) " " (printed) " · " (lang.pick("tổng cộng", "in all")) " " strong #gap-total { (lang.count(page.total as i64)) } }
            @if page.items.len() < page.total {
                p.notice { (lang.pick("Danh sách dài; chỉ in ", "Long list; only the first ")) (page.items.len()) (lang.pick(" dòng đầu. Hãy in theo từng xã hoặc thôn.", " lines are printed. Print by commune or village.")) }
            }
            @for (_, village, gaps) in &villages {
                section.village {
                    h2 { (village) " " small { "(" (gaps.len()) ")" } }
                    table.gaps {
                        thead { tr {
                            th scope="col" { "#" }
                            th scope="col" { (lang.pick("Mã hộ", "Code")) }
                            th scope="col" { (lang.pick("Chủ hộ", "Head")) }
                            th scope="col" { (lang.pick("Còn thiếu", "Missing")) }
                            th scope="col" { (lang.pick("Hạn", "Deadline")) }
                            th scope="col" { (lang.pick("Ghi chú", "Notes")) }
                        } }
                        tbody {
                            @for (n, gap) in gaps.iter().enumerate() {
                                tr {
                                    td { (n + 1) }
                                    td { (gap.gap.household_code.as_deref().unwrap_or("—")) }
                                    td { (gap.gap.head_name.as_deref().unwrap_or_else(|| lang.pick("(cả thôn)", "(whole village)"))) }
                                    td {
                                        (vocabulary::target(lang, &gap.gap.kind))
                                        @if gap.gap.pending { " " em { (lang.pick("(đang chờ duyệt)", "(awaiting review)")) } }
                                    }
                                    td { (locale::date(gap.gap.deadline)) }
                                    td.blank {}
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::html_response(layout::document(
        lang, title, None, body,
    )))
}
