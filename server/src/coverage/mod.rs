//! Coverage: `GET /campaigns/{id}/coverage?area=&depth=`, `GET /campaigns/{id}/gaps?area=`,
//! and `camket coverage verify`. The rules are in [`rules`].

pub mod maintain;
pub mod pending;
pub mod rules;
pub mod store;

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use camket_schema::domain::{AreaId, AreaLevel, AreaPath};
use camket_schema::models::AreaRow;
use camket_schema::Db;
use rules::{self as coverage, Count, Gap};

use crate::access::{authorize, authorize_found, Action, Principal};
use crate::campaigns;
use crate::campaigns::CampaignRules;
use crate::error::ApiError;
use crate::paging::Cursor;
use crate::state::AppState;

/// One target's figures in a coverage row.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TargetFigures {
    pub kind: String,
    pub eligible: i64,
    pub covered: i64,
    pub pending: i64,
    pub percent: f64,
    pub status: coverage::Status,
    pub deadline: NaiveDate,
    pub threshold_percent: u8,
}

/// Coverage of one area.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CoverageRow {
    pub area_id: AreaId,
    pub name: String,
    pub level: AreaLevel,
    pub targets: Vec<TargetFigures>,
}

/// Figures for totals per target.
pub fn figures(
    campaign: &CampaignRules,
    totals: &[Count],
    as_of: DateTime<Utc>,
) -> Vec<TargetFigures> {
    campaign
        .targets
        .iter()
        .zip(totals)
        .map(|(target, count)| TargetFigures {
            kind: target.kind.key().to_string(),
            eligible: count.eligible,
            covered: count.covered,
            pending: count.pending,
            percent: coverage::percent(count),
            status: coverage::status(target, count, &campaign.window, campaign.offset, as_of),
            deadline: target.deadline,
            threshold_percent: target.threshold_percent,
        })
        .collect()
}

/// The area a coverage request is about: the one asked for (which the caller
/// must cover), or the campaign's scope, or the caller's own area in it.
pub async fn resolve_area(
    state: &AppState,
    principal: &Principal,
    campaign: &CampaignRules,
    area: Option<i64>,
) -> Result<AreaRow, ApiError> {
    authorize(principal, Action::ReadCoverage, None)?;
    let db = state.db.clone();
    let wanted = match area {
        Some(id) => id,
        None if principal.scope.covers(&campaign.scope_path) => campaign.row.scope_area_id,
        None => principal
            .scope
            .area_inside(&campaign.scope_path)
            .and_then(|path| path.ids().last().map(|id| id.0))
            .ok_or_else(|| {
                ApiError::NotFound(format!("no campaign {} in your areas", campaign.row.id))
            })?,
    };
    let missing = || ApiError::bad_param("area", format!("no area with id {wanted} in your areas"));
    let row = web::block(move || crate::areas::store::get(&db, AreaId(wanted)))
        .await??
        .ok_or_else(missing)?;
    let path = row.path.clone();
    authorize_found(principal, Action::ReadCoverage, &path, missing)?;
    if !campaign.scope_path.contains(&path) && !path.contains(&campaign.scope_path) {
        return Err(ApiError::bad_param(
            "area",
            "this area is outside the campaign's scope",
        ));
    }
    Ok(row)
}

/// Coverage of an area and of its descendants `depth` levels down.
pub fn rollup(
    db: &Db,
    campaign: &CampaignRules,
    area: &AreaRow,
    depth: usize,
    as_of: DateTime<Utc>,
) -> Result<(CoverageRow, Vec<CoverageRow>), ApiError> {
    let path = area.path.clone();
    let rows = store::subtree_counts(db, campaign.row.id, &path)?;
    let n = campaign.targets.len();
    let mut totals = vec![Count::default(); n];
    let mut groups: BTreeMap<i64, Vec<Count>> = BTreeMap::new();
    let own_depth = path.ids().len();
    for (index, village, village_path, count) in &rows {
        if *index >= n {
            continue;
        }
        totals[*index] += *count;
        if depth > 0 {
            let ids = village_path.ids();
            let group = ids
                .get(own_depth - 1 + depth)
                .map(|a| a.0)
                .unwrap_or(*village);
            groups
                .entry(group)
                .or_insert_with(|| vec![Count::default(); n])[*index] += *count;
        }
    }
    let area_row = CoverageRow {
        area_id: area.id,
        name: area.name.clone(),
        level: area.level,
        targets: figures(campaign, &totals, as_of),
    };
    let ids: Vec<i64> = groups.keys().copied().collect();
    let names = store::areas_by_id(db, &ids)?;
    let children = names
        .into_iter()
        .map(|a| CoverageRow {
            targets: figures(
                campaign,
                groups.get(&a.id.0).map(Vec::as_slice).unwrap_or(&[]),
                as_of,
            ),
            area_id: a.id,
            name: a.name,
            level: a.level,
        })
        .collect();
    Ok((area_row, children))
}

/// Query of the coverage and gap routes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AreaQuery {
    pub area: Option<i64>,
    pub depth: Option<usize>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// An area's coverage and its children's, one level down.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CoverageView {
    pub area: CoverageRow,
    pub children: Vec<CoverageRow>,
}

/// Handles the `GET /api/v1/campaigns/{id}/coverage` route.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/coverage", tag = "coverage", params(("id" = i64, Path, description = "the id"), AreaQuery), responses((status = 200, description = "an area's coverage per target and its children's", body = CoverageView)))]
pub async fn coverage_route(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    query: web::Query<AreaQuery>,
) -> Result<HttpResponse, ApiError> {
    let depth = query.depth.unwrap_or(1);
    let (_, view) = coverage_of(&state, &principal, id.into_inner(), query.area, depth).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Campaign `id`'s coverage of `area` (see [`resolve_area`]) and of its
/// descendants `depth` levels down, as `principal` may read it; with the
/// campaign's rules. The service behind the coverage route and the console.
pub async fn coverage_of(
    state: &AppState,
    principal: &Principal,
    id: i64,
    area: Option<i64>,
    depth: usize,
) -> Result<(CampaignRules, CoverageView), ApiError> {
    let campaign = campaigns::load(state, principal, id).await?;
    let area = resolve_area(state, principal, &campaign, area).await?;
    if depth > 4 {
        return Err(ApiError::bad_param("depth", "must be between 0 and 4"));
    }
    let db = state.db.clone();
    let rules = campaign.clone();
    let (row, children) =
        web::block(move || rollup(&db, &rules, &area, depth, Utc::now())).await??;
    Ok((
        campaign,
        CoverageView {
            area: row,
            children,
        },
    ))
}

/// One gap with its village.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GapView {
    pub village_id: AreaId,
    pub village: String,
    #[serde(flatten)]
    pub gap: Gap,
}

/// The part of an area a campaign counts: the area itself when it lies in the
/// campaign's scope, else the whole scope (the area holds it).
pub fn counted_path(campaign: &CampaignRules, path: &AreaPath) -> AreaPath {
    if campaign.scope_path.contains(path) {
        path.clone()
    } else {
        campaign.scope_path.clone()
    }
}

/// The villages of a subtree inside a campaign's scope, by id.
pub fn villages_in(
    db: &Db,
    campaign: &CampaignRules,
    path: &AreaPath,
) -> Result<Vec<AreaRow>, ApiError> {
    Ok(store::villages_under(db, &counted_path(campaign, path))?)
}

/// One page of an area's gap list, with the number of gaps in the whole area.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GapPage {
    pub items: Vec<GapView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    pub total: usize,
}

/// Where a gap stands in its village's list, the rules' order (by target, the
/// village itself before its households, households by id), as a number that
/// does not move when other gaps close or open between two pages.
fn place_in_village(gap: &Gap) -> i64 {
    let target = i64::try_from(gap.target_index).unwrap_or(i64::MAX >> 40);
    (target << 40) + gap.household_id.unwrap_or(0)
}

/// The gaps of every village of a subtree, by village and then in the rules'
/// order, from just after `after` (a village id and the gap's place in it), at
/// most `limit` of them.
pub fn gaps(
    db: &Db,
    campaign: &CampaignRules,
    area: &AreaRow,
    as_of: DateTime<Utc>,
    after: Option<Cursor>,
    limit: usize,
) -> Result<GapPage, ApiError> {
    let counted = counted_path(campaign, &area.path);
    let villages = store::villages_under(db, &counted)?;
    let mut facts = store::subtree_facts(db, &counted)?;
    let mut page = GapPage {
        items: Vec::new(),
        next_cursor: None,
        total: 0,
    };
    let mut last = None;
    for village in villages {
        let (homes, subs) = facts.remove(&village.id.0).unwrap_or_default();
        let found = coverage::village_gaps(
            &campaign.targets,
            &homes,
            &subs,
            &campaign.window,
            campaign.row.starts_on,
            as_of,
        );
        for gap in found {
            page.total += 1;
            let here = Cursor {
                major: village.id.0,
                minor: place_in_village(&gap),
            };
            if after.is_some_and(|a| (here.major, here.minor) <= (a.major, a.minor)) {
                continue;
            }
            if page.items.len() < limit {
                last = Some(here);
                page.items.push(GapView {
                    village_id: village.id,
                    village: village.name.clone(),
                    gap,
                });
            } else if page.next_cursor.is_none() {
                page.next_cursor = last.map(|c| c.encode());
            }
        }
    }
    Ok(page)
}

/// Handles the `GET /api/v1/campaigns/{id}/gaps` route: every household (or
/// village) still lacking a required commitment — the working group's to-do
/// list — paged like every list, with the total.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/gaps", tag = "coverage", params(("id" = i64, Path, description = "the id"), AreaQuery), responses((status = 200, description = "the gap list, paged, with the total", body = GapPage)))]
pub async fn gaps_route(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<i64>,
    query: web::Query<AreaQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = crate::paging::parse_limit(query.limit, 100, 1000)? as usize;
    let after = crate::paging::cursor_param(query.cursor.as_deref(), Cursor::decode)?;
    let page = gap_page(
        &state,
        &principal,
        id.into_inner(),
        query.area,
        after,
        limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One page of campaign `id`'s gap list for `area`, as `principal` may read
/// it. The service behind the gap route and the console's gap lists.
pub async fn gap_page(
    state: &AppState,
    principal: &Principal,
    id: i64,
    area: Option<i64>,
    after: Option<Cursor>,
    limit: usize,
) -> Result<GapPage, ApiError> {
    let campaign = campaigns::load(state, principal, id).await?;
    let area = resolve_area(state, principal, &campaign, area).await?;
    let db = state.db.clone();
    web::block(move || gaps(&db, &campaign, &area, Utc::now(), after, limit)).await?
}

/// A village's sheet for one campaign: every household with where it stands
/// on each target, and the village's own targets.
pub struct VillageSheet {
    pub campaign: CampaignRules,
    pub village: AreaRow,
    pub households: Vec<coverage::HouseholdStanding>,
    pub village_targets: Vec<Option<coverage::SubjectState>>,
}

/// Campaign `id`'s sheet of village `village_id`, as `principal` may read it.
pub async fn village_sheet(
    state: &AppState,
    principal: &Principal,
    id: i64,
    village_id: i64,
) -> Result<VillageSheet, ApiError> {
    let campaign = campaigns::load(state, principal, id).await?;
    let village = resolve_area(state, principal, &campaign, Some(village_id)).await?;
    if village.level != AreaLevel::Village {
        return Err(ApiError::bad_param("area", "this area is not a village"));
    }
    let db = state.db.clone();
    let path = village.path.clone();
    let mut facts = web::block(move || store::subtree_facts(&db, &path)).await??;
    let (homes, subs) = facts.remove(&village.id.0).unwrap_or_default();
    let now = Utc::now();
    Ok(VillageSheet {
        households: coverage::household_standings(
            &campaign.targets,
            &homes,
            &subs,
            &campaign.window,
            now,
        ),
        village_targets: coverage::village_standing(
            &campaign.targets,
            &subs,
            &campaign.window,
            now,
        ),
        campaign,
        village,
    })
}

/// A difference between the maintained figures and a recomputation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub campaign_id: i64,
    pub village_id: AreaId,
    /// What differs: a target's counts, the number of stored rows, or the
    /// village's report figures.
    pub what: String,
    pub stored: String,
    pub recomputed: String,
}

/// Recomputes every village of every campaign from scratch and compares with
/// the maintained counts and report figures; returns (villages checked, mismatches).
pub fn verify(db: &Db) -> Result<(usize, Vec<Mismatch>), ApiError> {
    let all = campaigns::all(db)?;
    let now = Utc::now();
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for campaign in &all {
        let stored: BTreeMap<(i64, usize), Count> =
            store::subtree_counts(db, campaign.row.id, &campaign.scope_path)?
                .into_iter()
                .map(|(t, v, _, c)| ((v, t), c))
                .collect();
        let kept = store::kept_figures(db, campaign.row.id, &campaign.scope_path)?;
        let mut expected_rows = 0;
        let mut facts = store::subtree_facts(db, &campaign.scope_path)?;
        for village in villages_in(db, campaign, &campaign.scope_path)? {
            checked += 1;
            let (homes, subs) = facts.remove(&village.id.0).unwrap_or_default();
            let counts =
                coverage::village_counts(&campaign.targets, &homes, &subs, &campaign.window, now);
            for (index, count) in counts.into_iter().enumerate() {
                expected_rows += 1;
                let found = stored.get(&(village.id.0, index)).copied();
                if found != Some(count) {
                    mismatches.push(Mismatch {
                        campaign_id: campaign.row.id,
                        village_id: village.id,
                        what: format!("target {index}"),
                        stored: format!("{found:?}"),
                        recomputed: format!("{count:?}"),
                    });
                }
            }
            let recounted = store::figures_as_of(db, campaign, &village, now)?;
            let found = kept.get(&village.id.0);
            if found != Some(&recounted) {
                mismatches.push(Mismatch {
                    campaign_id: campaign.row.id,
                    village_id: village.id,
                    what: "report figures".into(),
                    stored: format!("{found:?}"),
                    recomputed: format!("{recounted:?}"),
                });
            }
        }
        if stored.len() != expected_rows || kept.len() * campaign.targets.len() != expected_rows {
            mismatches.push(Mismatch {
                campaign_id: campaign.row.id,
                village_id: AreaId(0),
                what: "stored rows".into(),
                stored: format!("{} counts, {} villages' figures", stored.len(), kept.len()),
                recomputed: format!("{expected_rows} counts"),
            });
        }
    }
    Ok((checked, mismatches))
}
