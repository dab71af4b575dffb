//! Keeping `coverage_counts` live: every write that coverage depends on calls
//! [`Recompute::touch`] inside its own write transaction, on either backend
//! (a new upload [`Recompute::mark`] instead, and its village is recounted
//! after the commit: `crate::coverage::pending`), and that alone decides which
//! villages to recount (see `crate::coverage::rules` for the design).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};

use crate::coverage::rules::{CoveringSubmission, HouseholdFacts, Standing};
use camket_schema::domain::{AreaLevel, AreaPath, HouseholdCategory, SubmissionStatus};
use camket_schema::models::CampaignRow;

use crate::campaigns::CampaignRules;
use crate::reports::figures::{self, VillageFigures, HOUSEHOLD_SURVEY};
use camket_schema::tables::{
    areas, campaigns, coverage_counts, coverage_pending, filed_figures, households, submissions,
    village_figures,
};

/// The live submissions that may cover something, for a set of households and a village.
pub type Facts = (Vec<HouseholdFacts>, Vec<CoveringSubmission>);

type SubmissionFact = (
    Option<i64>,
    Option<String>,
    SubmissionStatus,
    NaiveDateTime,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

/// The columns of a [`SubmissionFact`] (diesel's columns are unit values:
/// `FactColumns::default()` is the tuple to select).
type FactColumns = (
    submissions::household_id,
    submissions::commitment_kind,
    submissions::status,
    submissions::collected_at,
    submissions::received_at,
    submissions::approved_at,
);

/// The columns [`to_household`] reads.
type HomeColumns = (
    households::id,
    households::code,
    households::head_name,
    households::categories,
    households::active,
);

fn to_covering(rows: Vec<SubmissionFact>) -> Vec<CoveringSubmission> {
    rows.into_iter()
        .filter_map(
            |(household_id, covers, status, collected, received, approved)| {
                let standing = Standing::of(status)?;
                Some(CoveringSubmission {
                    household_id,
                    covers: covers?,
                    standing,
                    collected_at: collected.and_utc(),
                    received_at: received.and_utc(),
                    approved_at: approved.map(|t| t.and_utc()),
                })
            },
        )
        .collect()
}

fn to_household(row: (i64, String, String, String, bool)) -> HouseholdFacts {
    let (id, code, head_name, categories, active) = row;
    let names: Vec<String> = serde_json::from_str(&categories).unwrap_or_default();
    HouseholdFacts {
        id,
        code,
        head_name,
        categories: names
            .iter()
            .filter_map(|n| n.parse::<HouseholdCategory>().ok())
            .collect(),
        active,
    }
}

/// What a write changed that coverage depends on.
#[derive(Debug, Clone, Copy)]
pub enum Touched<'a> {
    /// A submission was stored, reviewed or corrected. It counts in its
    /// household's village of today (the household may have moved since).
    Submission {
        household_id: Option<i64>,
        village_id: i64,
        /// It is a household survey: the relatives and returnees a report
        /// counts may have changed. Any other form leaves them as they were,
        /// and the recount keeps them instead of reading every survey again.
        survey: bool,
    },
    /// Households of these villages were imported, moved in or moved out, or
    /// the villages are new.
    Villages(&'a [i64]),
    /// A campaign was created over the subtree at this path.
    Campaign(&'a AreaPath),
}

/// Coverage maintenance and reads that must run on a connection of either backend.
pub trait Recompute {
    /// The entry point for writers: recounts what `touched` changed (a new
    /// upload calls [`Recompute::mark`] instead).
    fn touch(&mut self, touched: Touched<'_>) -> QueryResult<()>;
    /// [`Recompute::touch`] after the commit: marks the villages `touched`
    /// changed as waiting for their recount (`coverage_pending`), which
    /// [`Recompute::settle`] does later, once for every mark made meanwhile.
    fn mark(&mut self, touched: &[Touched<'_>]) -> QueryResult<()>;
    /// Recounts a village marked by [`Recompute::mark`] and clears its mark,
    /// unless it was marked again meanwhile (then it stays, to be recounted
    /// again). Inside a write transaction. Returns whether it was marked.
    fn settle(&mut self, village_id: i64) -> QueryResult<bool>;
    /// The villages `touched` changed, in its households' villages of today.
    fn villages_touched(&mut self, touched: Touched<'_>) -> QueryResult<Vec<i64>>;
    /// Every campaign with its scope path.
    fn campaign_rules(&mut self) -> QueryResult<Vec<CampaignRules>>;
    /// The households of every village at or below `path` and the live
    /// submissions that may cover its targets, by village id, in a few queries
    /// (one village, or a report's whole area at once).
    fn subtree_facts(&mut self, path: &AreaPath) -> QueryResult<HashMap<i64, Facts>>;
    /// Recomputes the stored counts of these villages for every campaign that covers them.
    fn recompute_villages(&mut self, village_ids: &[i64]) -> QueryResult<()>;
    /// [`Recompute::recompute_villages`], reading the villages' surveys again
    /// only when `surveys_changed` (or a village has no kept figures).
    fn recount_villages(&mut self, village_ids: &[i64], surveys_changed: bool) -> QueryResult<()>;
    /// Locks these villages until the transaction ends, so that one village
    /// is recounted by one transaction at a time.
    fn lock_villages(&mut self, village_ids: &[i64]) -> QueryResult<()>;
    /// [`Recompute::recount_villages`] of villages already locked, by `rules`.
    fn recount_locked(
        &mut self,
        rules: &[CampaignRules],
        village_ids: &[i64],
        surveys_changed: bool,
    ) -> QueryResult<()>;
    /// One village's report figures as of `as_of`, for each of `campaigns`.
    fn figures_as_of(
        &mut self,
        campaigns: &[&CampaignRules],
        village_id: i64,
        path: &AreaPath,
        as_of: DateTime<Utc>,
    ) -> QueryResult<Vec<VillageFigures>>;
    /// [`Recompute::figures_as_of`], with the surveys' relatives and returnees
    /// left at zero unless `with_surveys`.
    fn figures_as_of_with(
        &mut self,
        campaigns: &[&CampaignRules],
        village_id: i64,
        path: &AreaPath,
        as_of: DateTime<Utc>,
        with_surveys: bool,
    ) -> QueryResult<Vec<VillageFigures>>;
    /// The figures of these villages as of a moment that has passed: a
    /// village already filed keeps what was filed (`Filed`); one whose figures
    /// were last recounted before the moment has its kept figures (nothing
    /// changed since); any other is recounted as of the moment. Reads only:
    /// [`Recompute::store_filed`] writes what was not filed yet.
    fn figures_to_file(
        &mut self,
        campaign: &CampaignRules,
        as_of: DateTime<Utc>,
        villages: &[(i64, AreaPath)],
    ) -> QueryResult<HashMap<i64, ToFile>>;
    /// Files these villages' figures as of a moment (a village filed
    /// meanwhile keeps its first filing).
    fn store_filed(
        &mut self,
        campaign: &CampaignRules,
        as_of: DateTime<Utc>,
        figures: &[(i64, &AreaPath, &VillageFigures)],
    ) -> QueryResult<()>;
}

/// A village's figures as of a moment, and whether they are already filed.
#[derive(Debug, Clone)]
pub enum ToFile {
    Filed(VillageFigures),
    New(VillageFigures),
}

macro_rules! impl_recompute {
    ($conn:ty) => {
        impl Recompute for $conn {
            fn touch(&mut self, touched: Touched<'_>) -> QueryResult<()> {
                let villages = self.villages_touched(touched)?;
                self.recount_villages(&villages, surveys_changed(touched))
            }

            fn mark(&mut self, touched: &[Touched<'_>]) -> QueryResult<()> {
                let mut marking: Vec<(i64, bool)> = Vec::new();
                for change in touched {
                    for village_id in self.villages_touched(*change)? {
                        marking.push((village_id, surveys_changed(*change)));
                    }
                }
                // In ascending order, as the recount locks villages: two
                // transactions marking the same villages cannot deadlock.
                marking.sort_unstable();
                let mut merged: Vec<(i64, bool)> = Vec::with_capacity(marking.len());
                for (village_id, surveys) in marking {
                    match merged.last_mut() {
                        Some(last) if last.0 == village_id => last.1 |= surveys,
                        _ => merged.push((village_id, surveys)),
                    }
                }
                for (village_id, surveys) in merged {
                    let marked_again = coverage_pending::marks.eq(coverage_pending::marks + 1);
                    let insert = diesel::insert_into(coverage_pending::table)
                        .values((
                            coverage_pending::village_id.eq(village_id),
                            coverage_pending::marks.eq(1),
                            coverage_pending::surveys.eq(surveys),
                        ))
                        .on_conflict(coverage_pending::village_id)
                        .do_update();
                    // A survey's mark is kept until a recount reads the surveys again.
                    if surveys {
                        insert
                            .set((marked_again, coverage_pending::surveys.eq(true)))
                            .execute(self)?;
                    } else {
                        insert.set(marked_again).execute(self)?;
                    }
                }
                Ok(())
            }

            fn settle(&mut self, village_id: i64) -> QueryResult<bool> {
                // The village first, as the recount locks it: two settles of
                // one village must not both read the same marks, or the
                // second could clear a fresh mark (counting from 1 again
                // after the first cleared the row) for an upload it never
                // saw. Uploads do not lock the village and do not wait.
                self.lock_villages(&[village_id])?;
                // Read before the recount reads anything: a mark made after
                // this is counted again, whether or not this recount saw it.
                let found: Option<(i64, bool)> = coverage_pending::table
                    .find(village_id)
                    .select((coverage_pending::marks, coverage_pending::surveys))
                    .first(self)
                    .optional()?;
                let Some((marks, surveys)) = found else {
                    return Ok(false);
                };
                let rules = self.campaign_rules()?;
                self.recount_locked(&rules, &[village_id], surveys)?;
                diesel::delete(
                    coverage_pending::table
                        .filter(coverage_pending::village_id.eq(village_id))
                        .filter(coverage_pending::marks.eq(marks)),
                )
                .execute(self)?;
                Ok(true)
            }

            fn villages_touched(&mut self, touched: Touched<'_>) -> QueryResult<Vec<i64>> {
                Ok(match touched {
                    Touched::Submission {
                        household_id: Some(household),
                        ..
                    } => vec![self.household_village_held(household)?],
                    Touched::Submission {
                        household_id: None,
                        village_id,
                        ..
                    } => vec![village_id],
                    Touched::Villages(ids) => ids.to_vec(),
                    Touched::Campaign(scope) => {
                        let (lower, upper) = scope.subtree_range();
                        areas::table
                            .filter(areas::path.ge(&lower))
                            .filter(areas::path.lt(&upper))
                            .filter(areas::level.eq(AreaLevel::Village))
                            .select(areas::id)
                            .load(self)?
                    }
                })
            }

            fn campaign_rules(&mut self) -> QueryResult<Vec<CampaignRules>> {
                let rows: Vec<(CampaignRow, AreaPath)> = campaigns::table
                    .inner_join(areas::table)
                    .select((CampaignRow::as_select(), areas::path))
                    .order(campaigns::id)
                    .load(self)?;
                Ok(rows
                    .into_iter()
                    .filter_map(|(row, path)| CampaignRules::from_row(row, path))
                    .collect())
            }

            fn subtree_facts(&mut self, path: &AreaPath) -> QueryResult<HashMap<i64, Facts>> {
                let (lower, upper) = path.subtree_range();
                let homes: Vec<(i64, (i64, String, String, String, bool))> = households::table
                    .inner_join(areas::table)
                    .filter(areas::path.ge(&lower))
                    .filter(areas::path.lt(&upper))
                    .select((households::village_id, HomeColumns::default()))
                    .order(households::id)
                    .load(self)?;
                let mut village_of: HashMap<i64, i64> = HashMap::new();
                let mut facts: HashMap<i64, Facts> = HashMap::new();
                for (village, home) in homes {
                    village_of.insert(home.0, village);
                    facts.entry(village).or_default().0.push(to_household(home));
                }
                let mut rows: HashMap<i64, Vec<SubmissionFact>> = HashMap::new();
                let ids: Vec<i64> = village_of.keys().copied().collect();
                for chunk in ids.chunks(500) {
                    for fact in submissions::table
                        .filter(submissions::household_id.eq_any(chunk))
                        .filter(submissions::commitment_kind.is_not_null())
                        .filter(submissions::superseded_by.is_null())
                        .select(FactColumns::default())
                        .load::<SubmissionFact>(self)?
                    {
                        if let Some(village) = fact.0.and_then(|h| village_of.get(&h)) {
                            rows.entry(*village).or_default().push(fact);
                        }
                    }
                }
                let village_level: Vec<(i64, SubmissionFact)> = submissions::table
                    .filter(submissions::area_path.ge(&lower))
                    .filter(submissions::area_path.lt(&upper))
                    .filter(submissions::household_id.is_null())
                    .filter(submissions::commitment_kind.is_not_null())
                    .filter(submissions::superseded_by.is_null())
                    .select((submissions::village_id, FactColumns::default()))
                    .load(self)?;
                for (village, fact) in village_level {
                    rows.entry(village).or_default().push(fact);
                }
                for (village, facts_rows) in rows {
                    facts.entry(village).or_default().1 = to_covering(facts_rows);
                }
                Ok(facts)
            }

            fn recompute_villages(&mut self, village_ids: &[i64]) -> QueryResult<()> {
                self.recount_villages(village_ids, true)
            }

            fn recount_villages(
                &mut self,
                village_ids: &[i64],
                surveys_changed: bool,
            ) -> QueryResult<()> {
                let rules = self.campaign_rules()?;
                if rules.is_empty() {
                    return Ok(());
                }
                self.lock_villages(village_ids)?;
                self.recount_locked(&rules, village_ids, surveys_changed)
            }

            fn lock_villages(&mut self, village_ids: &[i64]) -> QueryResult<()> {
                // Two transactions recounting the same village on PostgreSQL
                // would each count without the other's change (a lost update)
                // or insert the same rows twice. A no-op update locks the
                // village's row until commit; in ascending order, so two
                // multi-village recounts cannot deadlock.
                let mut locking: Vec<i64> = village_ids.to_vec();
                locking.sort_unstable();
                locking.dedup();
                for village_id in &locking {
                    diesel::update(areas::table.find(village_id))
                        .set(areas::level.eq(areas::level))
                        .execute(self)?;
                }
                Ok(())
            }

            fn recount_locked(
                &mut self,
                rules: &[CampaignRules],
                village_ids: &[i64],
                surveys_changed: bool,
            ) -> QueryResult<()> {
                if rules.is_empty() {
                    return Ok(());
                }
                // Taken once the villages are ours: a change committed while
                // this waited for them is counted, and is older than the stamp.
                let now = Utc::now();
                for village_id in village_ids {
                    let found: Option<(AreaPath, AreaLevel)> = areas::table
                        .find(village_id)
                        .select((areas::path, areas::level))
                        .first(self)
                        .optional()?;
                    let Some((path, level)) = found else { continue };
                    let campaigns: Vec<&CampaignRules> = rules
                        .iter()
                        .filter(|c| c.scope_path.contains(&path))
                        .collect();
                    let kept: HashMap<i64, String> = if surveys_changed {
                        HashMap::new()
                    } else {
                        village_figures::table
                            .filter(village_figures::village_id.eq(village_id))
                            .select((village_figures::campaign_id, village_figures::figures))
                            .load::<(i64, String)>(self)?
                            .into_iter()
                            .collect()
                    };
                    diesel::delete(
                        coverage_counts::table.filter(coverage_counts::village_id.eq(village_id)),
                    )
                    .execute(self)?;
                    diesel::delete(
                        village_figures::table.filter(village_figures::village_id.eq(village_id)),
                    )
                    .execute(self)?;
                    if campaigns.is_empty() || level != AreaLevel::Village {
                        continue;
                    }
                    let reuse =
                        !surveys_changed && campaigns.iter().all(|c| kept.contains_key(&c.row.id));
                    let mut all =
                        self.figures_as_of_with(&campaigns, *village_id, &path, now, !reuse)?;
                    if reuse {
                        for (campaign, figures) in campaigns.iter().zip(all.iter_mut()) {
                            if let Some(json) = kept.get(&campaign.row.id) {
                                let before = from_json(json)?;
                                figures.relatives_abroad = before.relatives_abroad;
                                figures.returnees_by_manner = before.returnees_by_manner;
                            }
                        }
                    }
                    for (campaign, figures) in campaigns.iter().zip(all) {
                        diesel::insert_into(village_figures::table)
                            .values((
                                village_figures::campaign_id.eq(campaign.row.id),
                                village_figures::village_id.eq(village_id),
                                village_figures::village_path.eq(path.as_str()),
                                village_figures::figures.eq(to_json(&figures)?),
                                village_figures::recounted_at.eq(now.naive_utc()),
                            ))
                            .execute(self)?;
                        for (index, count) in figures.counts.iter().enumerate() {
                            diesel::insert_into(coverage_counts::table)
                                .values((
                                    coverage_counts::campaign_id.eq(campaign.row.id),
                                    coverage_counts::target_index.eq(index as i32),
                                    coverage_counts::village_id.eq(village_id),
                                    coverage_counts::village_path.eq(path.as_str()),
                                    coverage_counts::eligible.eq(count.eligible as i32),
                                    coverage_counts::covered.eq(count.covered as i32),
                                    coverage_counts::pending.eq(count.pending as i32),
                                ))
                                .execute(self)?;
                        }
                    }
                }
                Ok(())
            }

            fn figures_as_of(
                &mut self,
                campaigns: &[&CampaignRules],
                village_id: i64,
                path: &AreaPath,
                as_of: DateTime<Utc>,
            ) -> QueryResult<Vec<VillageFigures>> {
                self.figures_as_of_with(campaigns, village_id, path, as_of, true)
            }

            fn figures_as_of_with(
                &mut self,
                campaigns: &[&CampaignRules],
                village_id: i64,
                path: &AreaPath,
                as_of: DateTime<Utc>,
                with_surveys: bool,
            ) -> QueryResult<Vec<VillageFigures>> {
                let (homes, subs) = self
                    .subtree_facts(path)?
                    .remove(&village_id)
                    .unwrap_or_default();
                let ids: Vec<i64> = if with_surveys {
                    homes.iter().map(|h| h.id).collect()
                } else {
                    Vec::new()
                };
                let mut approved: Vec<(Option<i64>, NaiveDateTime, i64, String)> = Vec::new();
                for chunk in ids.chunks(500) {
                    approved.extend(
                        submissions::table
                            .filter(submissions::household_id.eq_any(chunk))
                            .filter(submissions::form_id.eq(HOUSEHOLD_SURVEY))
                            .filter(submissions::status.eq(SubmissionStatus::Approved))
                            .filter(submissions::approved_at.le(as_of.naive_utc()))
                            .filter(submissions::superseded_by.is_null())
                            .select((
                                submissions::household_id,
                                submissions::collected_at,
                                submissions::id,
                                submissions::answers,
                            ))
                            .load::<(Option<i64>, NaiveDateTime, i64, String)>(self)?,
                    );
                }
                approved.sort_by_key(|(_, collected, id, _)| (*collected, *id));
                let surveys = figures::latest_surveys(
                    approved
                        .into_iter()
                        .map(|(household, _, _, answers)| (household, answers))
                        .collect(),
                );
                Ok(campaigns
                    .iter()
                    .map(|campaign| {
                        figures::village_figures(
                            &campaign.targets,
                            &campaign.window,
                            &homes,
                            &subs,
                            &surveys,
                            as_of,
                        )
                    })
                    .collect())
            }

            fn figures_to_file(
                &mut self,
                campaign: &CampaignRules,
                as_of: DateTime<Utc>,
                villages: &[(i64, AreaPath)],
            ) -> QueryResult<HashMap<i64, ToFile>> {
                let moment = as_of.naive_utc();
                let mut found: HashMap<i64, ToFile> = HashMap::new();
                let ids: Vec<i64> = villages.iter().map(|(id, _)| *id).collect();
                let mut unchanged: HashMap<i64, String> = HashMap::new();
                for chunk in ids.chunks(500) {
                    let rows: Vec<(i64, String)> = filed_figures::table
                        .filter(filed_figures::campaign_id.eq(campaign.row.id))
                        .filter(filed_figures::as_of.eq(moment))
                        .filter(filed_figures::village_id.eq_any(chunk))
                        .select((filed_figures::village_id, filed_figures::figures))
                        .load(self)?;
                    for (village, json) in rows {
                        found.insert(village, ToFile::Filed(from_json(&json)?));
                    }
                    unchanged.extend(
                        village_figures::table
                            .filter(village_figures::campaign_id.eq(campaign.row.id))
                            .filter(village_figures::village_id.eq_any(chunk))
                            .filter(village_figures::recounted_at.le(moment))
                            .select((village_figures::village_id, village_figures::figures))
                            .load::<(i64, String)>(self)?,
                    );
                }
                for (village_id, path) in villages {
                    if found.contains_key(village_id) {
                        continue;
                    }
                    let figures = match unchanged.get(village_id) {
                        Some(json) => from_json(json)?,
                        None => self
                            .figures_as_of(&[campaign], *village_id, path, as_of)?
                            .pop()
                            .unwrap_or_default(),
                    };
                    found.insert(*village_id, ToFile::New(figures));
                }
                Ok(found)
            }

            fn store_filed(
                &mut self,
                campaign: &CampaignRules,
                as_of: DateTime<Utc>,
                figures: &[(i64, &AreaPath, &VillageFigures)],
            ) -> QueryResult<()> {
                let now = Utc::now().naive_utc();
                for (village_id, path, figures) in figures {
                    diesel::insert_into(filed_figures::table)
                        .values((
                            filed_figures::campaign_id.eq(campaign.row.id),
                            filed_figures::as_of.eq(as_of.naive_utc()),
                            filed_figures::village_id.eq(village_id),
                            filed_figures::village_path.eq(path.as_str()),
                            filed_figures::figures.eq(to_json(figures)?),
                            filed_figures::filed_at.eq(now),
                        ))
                        .on_conflict_do_nothing()
                        .execute(self)?;
                }
                Ok(())
            }
        }
    };
}

/// Whether `touched` may have changed the surveys' relatives and returnees:
/// anything but a submission of another form.
fn surveys_changed(touched: Touched<'_>) -> bool {
    !matches!(touched, Touched::Submission { survey: false, .. })
}

fn to_json(figures: &VillageFigures) -> QueryResult<String> {
    serde_json::to_string(figures).map_err(|e| diesel::result::Error::SerializationError(e.into()))
}

/// Reads stored figures (`village_figures`, `filed_figures`).
pub fn from_json(json: &str) -> QueryResult<VillageFigures> {
    serde_json::from_str(json).map_err(|e| diesel::result::Error::DeserializationError(e.into()))
}

impl_recompute!(SqliteConnection);
impl_recompute!(PgConnection);

/// A household's village, read so that it cannot move before this
/// transaction commits. A move on PostgreSQL that committed between the read
/// and the commit would have recounted both villages without this
/// transaction's change, which is then counted in (or marked for) the
/// village read only: the household's new village would stay behind.
trait HouseholdVillage {
    fn household_village_held(&mut self, household: i64) -> QueryResult<i64>;
}

impl HouseholdVillage for SqliteConnection {
    /// SQLite's writer holds the whole database until it commits: no move
    /// runs meanwhile.
    fn household_village_held(&mut self, household: i64) -> QueryResult<i64> {
        households::table
            .find(household)
            .select(households::village_id)
            .first(self)
    }
}

impl HouseholdVillage for PgConnection {
    /// `FOR SHARE`: a move (which changes `village_id`, part of the unique key
    /// `(village_id, code)`) waits for this transaction, or committed first
    /// and this reads the village it went to; uploads and reviews of one
    /// household do not wait for each other. An upload's own foreign-key
    /// check already holds its household so (`FOR KEY SHARE`, the end-to-end
    /// test `a_household_moving_while_its_upload_commits_…`), but neither a
    /// review nor the original a correction supersedes takes one.
    fn household_village_held(&mut self, household: i64) -> QueryResult<i64> {
        households::table
            .find(household)
            .select(households::village_id)
            .for_share()
            .first(self)
    }
}
