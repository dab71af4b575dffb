//! The coverage rules: which subjects a campaign target requires, which are
//! covered, and how far along each target is. Pure functions over plain facts.
//!
//! # How coverage stays live at province scale
//!
//! A province has ≈ 1,000,000 households and millions of submissions; a roll-up
//! must not scan them. The server keeps one row per (campaign, target, village)
//! in `coverage_counts` with `eligible`, `covered` and `pending`, and *recomputes
//! that village's rows* — with [`village_counts`], from the village's households
//! and their submissions, a few hundred rows — after every change that can
//! change them: a submission stored or reviewed (approved, rejected, reversed,
//! corrected), households imported or changing category, a household moving
//! village (both villages), a village created by a split, a campaign created.
//! Each is recomputed inside the change's own transaction, but for a new
//! upload (or correction): it only marks its village (`coverage_pending`), and
//! the village is recomputed after the commit, once for every upload marked
//! meanwhile, and before any read of its counts (`coverage::pending`). On
//! PostgreSQL a recount holds its village's row, and uploads to one village
//! waited for each other's. Recomputing a whole village rather than adjusting counters by ±1 makes every
//! edge case (a category changing mid-campaign, an approval reversed) correct by
//! construction, at a cost bounded by one village. A roll-up is then a range
//! scan of `coverage_counts` by materialised path (≈ 5,000 villages × targets
//! for a province), summed per target or per child area. `camket coverage
//! verify` recomputes every village from scratch and compares.

use camket_schema::domain::SubmissionStatus;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use survey_forms::vocabulary::{CommitmentKind, HouseholdCategory};

/// What a target counts: a commitment kind, or a residents' meeting held with evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    Commitment(CommitmentKind),
    VillageMeeting,
}

impl TargetKind {
    /// The key stored on submissions that cover it (`submissions.commitment_kind`).
    pub fn key(self) -> &'static str {
        match self {
            TargetKind::Commitment(kind) => kind.as_str(),
            TargetKind::VillageMeeting => "village_meeting",
        }
    }

    /// What it is called in the field, in Vietnamese.
    pub fn label_vi(self) -> &'static str {
        match self {
            TargetKind::Commitment(kind) => match kind {
                CommitmentKind::VillagePledge => "Thôn cam kết tuyên truyền, tố giác",
                CommitmentKind::HouseholdReporting => "Hộ cam kết phát hiện, tố giác",
                CommitmentKind::RelativeAbroad => "Cam kết vận động người thân ở nước ngoài trở về",
                CommitmentKind::RelativeDetained => {
                    "Cam kết báo cáo khi người thân bị bắt giữ trở về"
                }
                CommitmentKind::ReturneeNoReoffend => "Cam kết không tái phạm xuất cảnh trái phép",
                CommitmentKind::BusinessCompliance => "Cơ sở kinh doanh cam kết chấp hành",
            },
            TargetKind::VillageMeeting => "Họp dân có biên bản",
        }
    }

    /// Parses a key.
    pub fn parse(text: &str) -> Result<TargetKind, String> {
        if text == "village_meeting" {
            return Ok(TargetKind::VillageMeeting);
        }
        text.parse::<CommitmentKind>()
            .map(TargetKind::Commitment)
            .map_err(|e| format!("{e}, or village_meeting"))
    }
}

impl Serialize for TargetKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.key())
    }
}

impl<'de> Deserialize<'de> for TargetKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        TargetKind::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Who must sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Eligibility {
    /// Every village in the campaign's scope (village pledges, meetings).
    EveryVillage,
    /// Every active household.
    EveryHousehold,
    /// Households in any of these categories (relatives abroad, returnees, businesses).
    HouseholdsIn(Vec<HouseholdCategory>),
}

impl Eligibility {
    /// Whether the target is counted per village rather than per household.
    pub fn per_village(&self) -> bool {
        matches!(self, Eligibility::EveryVillage)
    }
}

/// One target of a campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    #[schema(value_type = String, example = "household_reporting")]
    pub kind: TargetKind,
    pub who: Eligibility,
    /// Share of the eligible that must be covered, in percent.
    pub threshold_percent: u8,
    /// The last day to reach it (local date).
    pub deadline: NaiveDate,
}

/// What a household contributes.
#[derive(Debug, Clone)]
pub struct HouseholdFacts {
    pub id: i64,
    pub code: String,
    pub head_name: String,
    pub categories: Vec<HouseholdCategory>,
    pub active: bool,
}

/// Where a submission stands for coverage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Approved,
    /// Received or has issues: not yet counted.
    Pending,
}

impl Standing {
    /// Where a submission of this status stands for coverage: approved counts,
    /// received or has issues waits, rejected does not cover at all.
    pub fn of(status: SubmissionStatus) -> Option<Standing> {
        match status {
            SubmissionStatus::Approved => Some(Standing::Approved),
            SubmissionStatus::Received | SubmissionStatus::HasIssues => Some(Standing::Pending),
            SubmissionStatus::Rejected => None,
        }
    }
}

/// A live (not superseded, not rejected) submission that may cover a target.
#[derive(Debug, Clone)]
pub struct CoveringSubmission {
    /// `None` for a village-level submission.
    pub household_id: Option<i64>,
    /// [`TargetKind::key`] of what it covers.
    pub covers: String,
    pub standing: Standing,
    pub collected_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub approved_at: Option<DateTime<Utc>>,
}

/// The campaign window.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    /// From local dates (whole days) in the campaign's time zone.
    pub fn from_dates(starts_on: NaiveDate, ends_on: NaiveDate, offset: FixedOffset) -> Window {
        Window {
            start: start_of(starts_on, offset),
            end: start_of(ends_on + Duration::days(1), offset),
        }
    }

    fn contains(&self, at: DateTime<Utc>) -> bool {
        at >= self.start && at < self.end
    }
}

/// Local midnight as UTC.
pub fn start_of(day: NaiveDate, offset: FixedOffset) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    offset
        .from_local_datetime(&midnight)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| midnight.and_utc())
}

/// Counts for one target in one area.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Count {
    pub eligible: i64,
    pub covered: i64,
    pub pending: i64,
}

impl std::ops::AddAssign for Count {
    fn add_assign(&mut self, other: Count) {
        self.eligible += other.eligible;
        self.covered += other.covered;
        self.pending += other.pending;
    }
}

/// Where one subject (a household, a village) stands on one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectState {
    Covered,
    /// A submission is waiting for review.
    Pending,
    Missing,
}

fn eligible(target: &Target, household: &HouseholdFacts) -> bool {
    household.active
        && match &target.who {
            Eligibility::EveryVillage => false,
            Eligibility::EveryHousehold => true,
            Eligibility::HouseholdsIn(categories) => {
                household.categories.iter().any(|c| categories.contains(c))
            }
        }
}

/// What one submission does for a target of kind `key`: nothing (`None`: another
/// kind, outside the window, not yet received), covers it, or waits for review.
fn standing_for(
    s: &CoveringSubmission,
    key: &str,
    window: &Window,
    as_of: DateTime<Utc>,
) -> Option<SubjectState> {
    if s.covers != key || !window.contains(s.collected_at) || s.received_at > as_of {
        return None;
    }
    match (s.standing, s.approved_at) {
        (Standing::Approved, Some(at)) if at <= as_of => Some(SubjectState::Covered),
        _ => Some(SubjectState::Pending),
    }
}

fn state_of<'a>(
    target: &Target,
    submissions: impl Iterator<Item = &'a CoveringSubmission>,
    window: &Window,
    as_of: DateTime<Utc>,
) -> SubjectState {
    let key = target.kind.key();
    let mut pending = false;
    for s in submissions {
        match standing_for(s, key, window, as_of) {
            Some(SubjectState::Covered) => return SubjectState::Covered,
            Some(_) => pending = true,
            None => {}
        }
    }
    if pending {
        SubjectState::Pending
    } else {
        SubjectState::Missing
    }
}

/// How many residents' meetings of a village count as held as of `as_of`: the
/// one "meeting held" rule, the same that covers a `village_meeting` target.
pub fn meetings_held(
    submissions: &[CoveringSubmission],
    window: &Window,
    as_of: DateTime<Utc>,
) -> i64 {
    let key = TargetKind::VillageMeeting.key();
    submissions
        .iter()
        .filter(|s| s.household_id.is_none())
        .filter(|s| standing_for(s, key, window, as_of) == Some(SubjectState::Covered))
        .count() as i64
}

/// The counts of one village for every target, as of `as_of`.
pub fn village_counts(
    targets: &[Target],
    households: &[HouseholdFacts],
    submissions: &[CoveringSubmission],
    window: &Window,
    as_of: DateTime<Utc>,
) -> Vec<Count> {
    targets
        .iter()
        .map(|target| {
            let mut count = Count::default();
            let mut tally = |state| {
                count.eligible += 1;
                match state {
                    SubjectState::Covered => count.covered += 1,
                    SubjectState::Pending => count.pending += 1,
                    SubjectState::Missing => {}
                }
            };
            if target.who.per_village() {
                tally(state_of(
                    target,
                    submissions.iter().filter(|s| s.household_id.is_none()),
                    window,
                    as_of,
                ));
            } else {
                for household in households.iter().filter(|h| eligible(target, h)) {
                    let own = submissions
                        .iter()
                        .filter(|s| s.household_id == Some(household.id));
                    tally(state_of(target, own, window, as_of));
                }
            }
            count
        })
        .collect()
}

/// A subject still lacking a required commitment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Gap {
    pub target_index: usize,
    pub kind: String,
    /// `None` for the village itself.
    pub household_id: Option<i64>,
    pub household_code: Option<String>,
    pub head_name: Option<String>,
    /// A submission is waiting for review.
    pub pending: bool,
    /// Due since this date: the campaign start (or the deadline when passed).
    pub due_since: NaiveDate,
    pub deadline: NaiveDate,
}

/// The to-do list of one village.
pub fn village_gaps(
    targets: &[Target],
    households: &[HouseholdFacts],
    submissions: &[CoveringSubmission],
    window: &Window,
    starts_on: NaiveDate,
    as_of: DateTime<Utc>,
) -> Vec<Gap> {
    let mut gaps = Vec::new();
    for (index, target) in targets.iter().enumerate() {
        let gap = |household: Option<&HouseholdFacts>, state: SubjectState| Gap {
            target_index: index,
            kind: target.kind.key().to_string(),
            household_id: household.map(|h| h.id),
            household_code: household.map(|h| h.code.clone()),
            head_name: household.map(|h| h.head_name.clone()),
            pending: state == SubjectState::Pending,
            due_since: starts_on,
            deadline: target.deadline,
        };
        if target.who.per_village() {
            let state = state_of(
                target,
                submissions.iter().filter(|s| s.household_id.is_none()),
                window,
                as_of,
            );
            if state != SubjectState::Covered {
                gaps.push(gap(None, state));
            }
        } else {
            for household in households.iter().filter(|h| eligible(target, h)) {
                let own = submissions
                    .iter()
                    .filter(|s| s.household_id == Some(household.id));
                let state = state_of(target, own, window, as_of);
                if state != SubjectState::Covered {
                    gaps.push(gap(Some(household), state));
                }
            }
        }
    }
    gaps
}

/// One household of a village and where it stands on each target of a
/// campaign: `None` where the target does not ask anything of it.
#[derive(Debug, Clone)]
pub struct HouseholdStanding {
    pub household: HouseholdFacts,
    pub targets: Vec<Option<SubjectState>>,
}

/// Every active household of a village with its required commitments and
/// which of them are covered, waiting for review or missing (the same rules
/// as [`village_gaps`], household by household).
pub fn household_standings(
    targets: &[Target],
    households: &[HouseholdFacts],
    submissions: &[CoveringSubmission],
    window: &Window,
    as_of: DateTime<Utc>,
) -> Vec<HouseholdStanding> {
    households
        .iter()
        .filter(|h| h.active)
        .map(|household| HouseholdStanding {
            household: household.clone(),
            targets: targets
                .iter()
                .map(|target| {
                    (!target.who.per_village() && eligible(target, household)).then(|| {
                        let own = submissions
                            .iter()
                            .filter(|s| s.household_id == Some(household.id));
                        state_of(target, own, window, as_of)
                    })
                })
                .collect(),
        })
        .collect()
}

/// Where a village itself stands on each per-village target (`None` for
/// household targets).
pub fn village_standing(
    targets: &[Target],
    submissions: &[CoveringSubmission],
    window: &Window,
    as_of: DateTime<Utc>,
) -> Vec<Option<SubjectState>> {
    targets
        .iter()
        .map(|target| {
            target.who.per_village().then(|| {
                state_of(
                    target,
                    submissions.iter().filter(|s| s.household_id.is_none()),
                    window,
                    as_of,
                )
            })
        })
        .collect()
}

/// How a target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The threshold is reached.
    Met,
    /// Not yet, but at least as far along as the time elapsed towards the deadline.
    OnTrack,
    /// Behind the pace needed to meet the deadline.
    Behind,
    /// The deadline has passed without reaching the threshold.
    Overdue,
}

/// Percent covered (100 when nothing is required).
pub fn percent(count: &Count) -> f64 {
    if count.eligible == 0 {
        100.0
    } else {
        (count.covered as f64 * 1000.0 / count.eligible as f64).round() / 10.0
    }
}

/// The status of a target with these counts, as of `as_of`.
pub fn status(
    target: &Target,
    count: &Count,
    window: &Window,
    offset: FixedOffset,
    as_of: DateTime<Utc>,
) -> Status {
    let done = percent(count);
    let threshold = f64::from(target.threshold_percent);
    if done >= threshold {
        return Status::Met;
    }
    let deadline_end = start_of(target.deadline + Duration::days(1), offset);
    if as_of >= deadline_end {
        return Status::Overdue;
    }
    let span = (deadline_end - window.start).num_seconds().max(1) as f64;
    let elapsed = (as_of - window.start).num_seconds().clamp(0, span as i64) as f64;
    let expected = threshold * elapsed / span;
    if done >= expected {
        Status::OnTrack
    } else {
        Status::Behind
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset() -> FixedOffset {
        FixedOffset::east_opt(7 * 3600).expect("offset")
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&Utc)
    }

    fn household(id: i64, categories: &[HouseholdCategory]) -> HouseholdFacts {
        HouseholdFacts {
            id,
            code: format!("H{id}"),
            head_name: format!("Chủ hộ {id}"),
            categories: categories.to_vec(),
            active: true,
        }
    }

    fn submission(
        household: Option<i64>,
        covers: &str,
        standing: Standing,
        collected: &str,
    ) -> CoveringSubmission {
        let t = at(collected);
        CoveringSubmission {
            household_id: household,
            covers: covers.into(),
            standing,
            collected_at: t,
            received_at: t,
            approved_at: (standing == Standing::Approved).then_some(t + Duration::hours(2)),
        }
    }

    fn targets() -> Vec<Target> {
        vec![
            Target {
                kind: TargetKind::Commitment(CommitmentKind::VillagePledge),
                who: Eligibility::EveryVillage,
                threshold_percent: 100,
                deadline: day("2025-04-25"),
            },
            Target {
                kind: TargetKind::Commitment(CommitmentKind::HouseholdReporting),
                who: Eligibility::EveryHousehold,
                threshold_percent: 100,
                deadline: day("2025-05-18"),
            },
            Target {
                kind: TargetKind::Commitment(CommitmentKind::RelativeAbroad),
                who: Eligibility::HouseholdsIn(vec![HouseholdCategory::RelativeAbroadIllegal]),
                threshold_percent: 100,
                deadline: day("2025-04-28"),
            },
        ]
    }

    #[test]
    fn a_meeting_is_held_when_approved_inside_the_window_by_the_day_asked() {
        let window = Window::from_dates(day("2025-04-21"), day("2025-05-18"), offset());
        let subs = vec![
            submission(
                None,
                "village_meeting",
                Standing::Approved,
                "2025-04-22T03:00:00Z",
            ),
            submission(
                None,
                "village_meeting",
                Standing::Approved,
                "2025-04-29T03:00:00Z",
            ),
            // Waiting for review, before the window, or another kind: not held.
            submission(
                None,
                "village_meeting",
                Standing::Pending,
                "2025-04-23T03:00:00Z",
            ),
            submission(
                None,
                "village_meeting",
                Standing::Approved,
                "2025-04-19T03:00:00Z",
            ),
            submission(
                None,
                "village_pledge",
                Standing::Approved,
                "2025-04-23T03:00:00Z",
            ),
        ];
        assert_eq!(meetings_held(&subs, &window, at("2025-05-01T00:00:00Z")), 2);
        // Asked for a day before the second was approved.
        assert_eq!(meetings_held(&subs, &window, at("2025-04-25T00:00:00Z")), 1);
        assert_eq!(meetings_held(&subs, &window, at("2025-04-21T00:00:00Z")), 0);
    }

    #[test]
    fn a_village_is_counted_by_hand() {
        let window = Window::from_dates(day("2025-04-21"), day("2025-05-18"), offset());
        let homes = vec![
            household(
                1,
                &[
                    HouseholdCategory::RelativeAbroad,
                    HouseholdCategory::RelativeAbroadIllegal,
                ],
            ),
            household(2, &[]),
            household(3, &[HouseholdCategory::RelativeAbroadIllegal]),
            HouseholdFacts {
                active: false,
                ..household(4, &[])
            },
        ];
        let subs = vec![
            submission(
                None,
                "village_pledge",
                Standing::Approved,
                "2025-04-22T03:00:00Z",
            ),
            submission(
                Some(1),
                "household_reporting",
                Standing::Approved,
                "2025-04-23T03:00:00Z",
            ),
            submission(
                Some(2),
                "household_reporting",
                Standing::Pending,
                "2025-04-23T03:00:00Z",
            ),
            // Collected before the window opened: does not count.
            submission(
                Some(3),
                "household_reporting",
                Standing::Approved,
                "2025-04-20T10:00:00Z",
            ),
            submission(
                Some(1),
                "relative_abroad",
                Standing::Approved,
                "2025-04-24T03:00:00Z",
            ),
            // Inactive households are not required.
            submission(
                Some(4),
                "household_reporting",
                Standing::Approved,
                "2025-04-24T03:00:00Z",
            ),
        ];
        let counts = village_counts(
            &targets(),
            &homes,
            &subs,
            &window,
            at("2025-05-01T00:00:00Z"),
        );
        assert_eq!(
            counts[0],
            Count {
                eligible: 1,
                covered: 1,
                pending: 0
            }
        );
        assert_eq!(
            counts[1],
            Count {
                eligible: 3,
                covered: 1,
                pending: 1
            }
        );
        assert_eq!(
            counts[2],
            Count {
                eligible: 2,
                covered: 1,
                pending: 0
            }
        );
        // As of before the approvals, nothing is covered yet.
        let early = village_counts(
            &targets(),
            &homes,
            &subs,
            &window,
            at("2025-04-22T04:00:00Z"),
        );
        assert_eq!(
            early[0],
            Count {
                eligible: 1,
                covered: 0,
                pending: 1
            }
        );

        let gaps = village_gaps(
            &targets(),
            &homes,
            &subs,
            &window,
            day("2025-04-21"),
            at("2025-05-01T00:00:00Z"),
        );
        let listed: Vec<(usize, Option<i64>, bool)> = gaps
            .iter()
            .map(|g| (g.target_index, g.household_id, g.pending))
            .collect();
        assert_eq!(
            listed,
            vec![(1, Some(2), true), (1, Some(3), false), (2, Some(3), false)]
        );

        // The village sheet says the same, household by household.
        let sheet = household_standings(
            &targets(),
            &homes,
            &subs,
            &window,
            at("2025-05-01T00:00:00Z"),
        );
        let open: Vec<(usize, Option<i64>, bool)> = sheet
            .iter()
            .flat_map(|row| {
                row.targets
                    .iter()
                    .enumerate()
                    .filter_map(|(i, state)| match state {
                        Some(SubjectState::Pending) => Some((i, Some(row.household.id), true)),
                        Some(SubjectState::Missing) => Some((i, Some(row.household.id), false)),
                        _ => None,
                    })
            })
            .collect();
        let mut expected = listed.clone();
        expected.retain(|(_, household, _)| household.is_some());
        let mut open_sorted = open;
        open_sorted.sort();
        assert_eq!(open_sorted, expected);
        assert!(sheet
            .iter()
            .any(|row| row.targets.contains(&Some(SubjectState::Covered))));
    }

    #[test]
    fn every_status_is_reached() {
        let window = Window::from_dates(day("2025-04-21"), day("2025-05-18"), offset());
        let target = &targets()[1];
        let count = |covered| Count {
            eligible: 10,
            covered,
            pending: 0,
        };
        let o = offset();
        assert_eq!(
            status(target, &count(10), &window, o, at("2025-04-22T00:00:00Z")),
            Status::Met
        );
        // A week into a four-week target, 30 % done is on track; 10 % is behind.
        assert_eq!(
            status(target, &count(3), &window, o, at("2025-04-28T00:00:00Z")),
            Status::OnTrack
        );
        assert_eq!(
            status(target, &count(1), &window, o, at("2025-04-28T00:00:00Z")),
            Status::Behind
        );
        assert_eq!(
            status(target, &count(9), &window, o, at("2025-05-19T00:00:00Z")),
            Status::Overdue
        );
        assert_eq!(percent(&Count::default()), 100.0);
        assert_eq!(percent(&count(1)), 10.0);
    }

    #[test]
    fn targets_read_from_yaml_style_json() {
        let target: Target = serde_json::from_value(serde_json::json!({
            "kind": "business_compliance",
            "who": {"households_in": ["business_accommodation", "business_transport"]},
            "threshold_percent": 100,
            "deadline": "2025-04-28"
        }))
        .expect("target");
        assert_eq!(
            target.kind,
            TargetKind::Commitment(CommitmentKind::BusinessCompliance)
        );
        let meeting: Target = serde_json::from_value(serde_json::json!({"kind": "village_meeting", "who": "every_village", "threshold_percent": 100, "deadline": "2025-04-25"})).expect("meeting");
        assert_eq!(meeting.kind, TargetKind::VillageMeeting);
        assert!(serde_json::from_value::<Target>(serde_json::json!({"kind": "bribe", "who": "every_village", "threshold_percent": 1, "deadline": "2025-04-25"})).is_err());
    }
}
