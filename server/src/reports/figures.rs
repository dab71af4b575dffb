//! What a report counts of one village, as of a moment: the coverage counts
//! of each target, households by category, residents' meetings held, and the
//! relatives abroad and returnees named by each household's latest approved
//! survey. Plain Rust over the facts coverage already loads; a report of an
//! area is the sum of its villages' figures, which is what lets the figures be
//! kept per village (`village_figures`) and filed per village
//! (`filed_figures`) instead of recounted from every submission of a province.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::coverage::rules::{self, Count, CoveringSubmission, HouseholdFacts, Target, Window};
use camket_schema::domain::HouseholdCategory;

/// The form whose approved answers say who has relatives abroad or returned.
pub const HOUSEHOLD_SURVEY: &str = "household-survey";

/// The ways a returnee came back, in the order reports list them.
pub const MANNERS_OF_RETURN: [&str; 3] = ["self_returned", "arrested_handed_back", "expelled"];

/// One village's figures (or, summed, an area's). Stored as JSON and kept
/// for good once filed: a field added later reads as its default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VillageFigures {
    /// Per campaign target, in the campaign's order.
    pub counts: Vec<Count>,
    /// Active households by category.
    pub categories: BTreeMap<HouseholdCategory, i64>,
    pub meetings_held: i64,
    /// Villages with at least one meeting held (0 or 1 for one village).
    pub villages_with_meeting: i64,
    pub relatives_abroad: i64,
    pub returnees_by_manner: BTreeMap<String, i64>,
}

impl VillageFigures {
    /// Adds another village's figures to these.
    pub fn add(&mut self, other: &VillageFigures) {
        if self.counts.len() < other.counts.len() {
            self.counts.resize(other.counts.len(), Count::default());
        }
        for (total, count) in self.counts.iter_mut().zip(&other.counts) {
            *total += *count;
        }
        for (category, n) in &other.categories {
            *self.categories.entry(*category).or_default() += n;
        }
        self.meetings_held += other.meetings_held;
        self.villages_with_meeting += other.villages_with_meeting;
        self.relatives_abroad += other.relatives_abroad;
        for (manner, n) in &other.returnees_by_manner {
            *self.returnees_by_manner.entry(manner.clone()).or_default() += n;
        }
    }

    /// Active households of a category.
    pub fn households_in(&self, category: HouseholdCategory) -> i64 {
        self.categories.get(&category).copied().unwrap_or(0)
    }

    /// Returnees by manner, every manner listed (0 when none).
    pub fn returnees_listed(&self) -> BTreeMap<String, i64> {
        let mut listed: BTreeMap<String, i64> = MANNERS_OF_RETURN
            .iter()
            .map(|m| (m.to_string(), 0))
            .collect();
        for (manner, n) in &self.returnees_by_manner {
            *listed.entry(manner.clone()).or_default() += n;
        }
        listed
    }
}

/// The answers that speak for each household: of its approved surveys
/// (oldest first), the latest.
pub fn latest_surveys(approved_oldest_first: Vec<(Option<i64>, String)>) -> Vec<serde_json::Value> {
    let mut latest: BTreeMap<i64, serde_json::Value> = BTreeMap::new();
    for (household, answers) in approved_oldest_first {
        if let (Some(h), Ok(value)) = (household, serde_json::from_str(&answers)) {
            latest.insert(h, value);
        }
    }
    latest.into_values().collect()
}

/// A village's figures as of `as_of`, from its households, the submissions
/// that may cover its targets, and the latest approved survey of each of its
/// households (approved by `as_of`).
pub fn village_figures(
    targets: &[Target],
    window: &Window,
    homes: &[HouseholdFacts],
    submissions: &[CoveringSubmission],
    surveys: &[serde_json::Value],
    as_of: DateTime<Utc>,
) -> VillageFigures {
    let mut figures = VillageFigures {
        counts: rules::village_counts(targets, homes, submissions, window, as_of),
        ..VillageFigures::default()
    };
    for home in homes.iter().filter(|h| h.active) {
        for category in &home.categories {
            *figures.categories.entry(*category).or_default() += 1;
        }
    }
    figures.meetings_held = rules::meetings_held(submissions, window, as_of);
    figures.villages_with_meeting = i64::from(figures.meetings_held > 0);
    for answers in surveys {
        figures.relatives_abroad += answers["relatives_abroad"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0) as i64;
        for returnee in answers["returnees"].as_array().into_iter().flatten() {
            if let Some(manner) = returnee["manner_of_return"].as_str() {
                *figures
                    .returnees_by_manner
                    .entry(manner.to_string())
                    .or_default() += 1;
            }
        }
    }
    figures
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::rules::{Eligibility, Standing, TargetKind};
    use camket_schema::domain::CommitmentKind;
    use chrono::{Duration, TimeZone};
    use serde_json::json;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, hour, 0, 0)
            .single()
            .expect("a time")
    }

    fn window() -> Window {
        Window {
            start: at(0) - Duration::days(1),
            end: at(0) + Duration::days(30),
        }
    }

    fn home(id: i64, categories: &[HouseholdCategory], active: bool) -> HouseholdFacts {
        HouseholdFacts {
            id,
            code: format!("H{id}"),
            head_name: String::new(),
            categories: categories.to_vec(),
            active,
        }
    }

    fn meeting(approved: Option<DateTime<Utc>>) -> CoveringSubmission {
        CoveringSubmission {
            household_id: None,
            covers: TargetKind::VillageMeeting.key().to_string(),
            standing: if approved.is_some() {
                Standing::Approved
            } else {
                Standing::Pending
            },
            collected_at: at(1),
            received_at: at(1),
            approved_at: approved,
        }
    }

    #[test]
    fn a_village_counts_active_households_its_meetings_and_its_latest_surveys() {
        use HouseholdCategory::*;
        let targets = vec![Target {
            kind: TargetKind::Commitment(CommitmentKind::HouseholdReporting),
            who: Eligibility::EveryHousehold,
            threshold_percent: 100,
            deadline: at(0).date_naive() + Duration::days(20),
        }];
        let homes = [
            home(1, &[RelativeAbroad, Returnee], true),
            home(2, &[RelativeAbroad], true),
            home(3, &[RelativeAbroad], false),
        ];
        let subs = [meeting(Some(at(3))), meeting(Some(at(9))), meeting(None)];
        let older = json!({"relatives_abroad": [{"full_name": "A"}], "returnees": []});
        let newer = json!({"relatives_abroad": [{"full_name": "A"}, {"full_name": "B"}],
            "returnees": [{"manner_of_return": "expelled"}]});
        let surveys = latest_surveys(vec![
            (Some(1), older.to_string()),
            (Some(1), newer.to_string()),
            (Some(2), "not json".to_string()),
        ]);
        assert_eq!(surveys, vec![newer]);

        let figures = village_figures(&targets, &window(), &homes, &subs, &surveys, at(5));
        assert_eq!(
            figures.counts[0].eligible, 2,
            "the inactive household is not owed"
        );
        assert_eq!(figures.households_in(RelativeAbroad), 2);
        assert_eq!(figures.households_in(Returnee), 1);
        assert_eq!(
            figures.meetings_held, 1,
            "the 09:00 approval is after 05:00"
        );
        assert_eq!(figures.villages_with_meeting, 1);
        assert_eq!(figures.relatives_abroad, 2);
        assert_eq!(figures.returnees_listed()["expelled"], 1);
        assert_eq!(figures.returnees_listed()["self_returned"], 0);

        let mut area = VillageFigures::default();
        area.add(&figures);
        area.add(&village_figures(
            &targets,
            &window(),
            &homes,
            &subs,
            &[],
            at(10),
        ));
        assert_eq!(area.counts[0].eligible, 4);
        assert_eq!(area.meetings_held, 3);
        assert_eq!(area.villages_with_meeting, 2);
        assert_eq!(area.relatives_abroad, 2);
        assert_eq!(area.households_in(RelativeAbroad), 4);
        let stored: VillageFigures =
            serde_json::from_str(&serde_json::to_string(&area).expect("json")).expect("back");
        assert_eq!(stored, area, "figures survive their JSON column");
    }
}
