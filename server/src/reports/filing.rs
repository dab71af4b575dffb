//! Filing reports when they fall due: every daily report at 14:00, every
//! monthly report on the 15th and the final report at the campaign's end, for
//! the campaign's whole scope. A filing right after its moment is cheap (the
//! villages untouched since are copied from their live figures; the few
//! touched in the last minute are recounted as of the moment), and it spares
//! the first clerk who opens that report a recount of the province. A moment
//! nobody filed (the server was down) is filed by the first report that asks.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Datelike, Duration, Utc};

use crate::campaigns::{self, CampaignRules};
use crate::coverage::villages_in;
use crate::error::ApiError;
use crate::state::AppState;

use super::{store, Period, ReportKind};

/// How far back a starting server files the moments it may have missed.
const LOOKBACK_HOURS: i64 = 36;

/// How often the filer looks for moments that have passed.
const EVERY: StdDuration = StdDuration::from_secs(60);

/// How long after its moment a report is filed: a review or a submission
/// stamped just before the moment may still be committing (its time is taken
/// before its transaction waits for the database).
pub const SETTLING_MINUTES: i64 = 10;

/// Whether a report as of `moment` may be filed at `now`: it is a moment a
/// report of `campaign` falls due, and it has settled. Reports of any other
/// moment (a day before the campaign, a date picked by hand) are counted
/// each time they are asked, and not kept.
pub fn may_file(campaign: &CampaignRules, moment: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    moment <= now - Duration::minutes(SETTLING_MINUTES)
        && due_moments(campaign, moment - Duration::seconds(1), moment).contains(&moment)
}

/// The moments in `(after, until]` at which a report of `campaign` falls
/// due: each day's 14:00 and each month's 15th (local time) from the
/// campaign's first day to the day its window closes (the last day's
/// afternoon is reported at 14:00 the next day), and its end.
pub fn due_moments(
    campaign: &CampaignRules,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let offset = campaign.offset;
    let first = campaign.window.start.with_timezone(&offset).date_naive();
    let last = campaign.window.end.with_timezone(&offset).date_naive();
    let from = after.with_timezone(&offset).date_naive().max(first);
    let to = until.with_timezone(&offset).date_naive().min(last);
    let mut moments = vec![campaign.window.end];
    let mut day = from;
    while day <= to {
        for kind in [ReportKind::Daily, ReportKind::Monthly] {
            let due = Period::of(kind, &campaign.window, offset, Some(day), day).to;
            if kind == ReportKind::Daily || day.day() == 15 {
                moments.push(due);
            }
        }
        day = match day.succ_opt() {
            Some(next) => next,
            None => break,
        };
    }
    moments.retain(|m| *m > after && *m <= until);
    moments.sort_unstable();
    moments.dedup();
    moments
}

/// Files every report of every campaign that fell due in `(after, until]`.
pub fn file_due(
    state: &AppState,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<usize, ApiError> {
    let mut filed = 0;
    let mut failed = None;
    for campaign in campaigns::all(&state.db)? {
        for moment in due_moments(&campaign, after, until) {
            // One campaign's failure does not keep the others from filing.
            let outcome =
                villages_in(&state.db, &campaign, &campaign.scope_path).and_then(|villages| {
                    store::filed_figures(
                        &state.db,
                        &campaign,
                        moment,
                        &campaign.scope_path,
                        &villages,
                    )
                    .map_err(ApiError::from)
                });
            match outcome {
                Ok(figures) => {
                    tracing::info!(campaign = campaign.row.id, %moment, villages = figures.len(), "reports filed");
                    filed += 1;
                }
                Err(error) => failed = Some(error),
            }
        }
    }
    match failed {
        Some(error) => Err(error),
        None => Ok(filed),
    }
}

/// Files reports as they fall due, for as long as the server runs.
pub async fn run(state: actix_web::web::Data<AppState>) {
    let mut after = Utc::now() - Duration::hours(LOOKBACK_HOURS);
    loop {
        let until = Utc::now() - Duration::minutes(SETTLING_MINUTES);
        let worker = state.clone();
        let outcome = tokio::task::spawn_blocking(move || file_due(&worker, after, until)).await;
        match outcome {
            Ok(Ok(_)) => after = until,
            Ok(Err(error)) => tracing::warn!(%error, "filing reports failed; will retry"),
            Err(error) => tracing::warn!(%error, "filing reports stopped; will retry"),
        }
        tokio::time::sleep(EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::rules::{start_of, Window};
    use camket_schema::domain::AreaPath;
    use camket_schema::models::CampaignRow;
    use chrono::{FixedOffset, NaiveDate, NaiveDateTime};

    fn campaign(starts: NaiveDate, ends: NaiveDate) -> CampaignRules {
        let offset = FixedOffset::east_opt(7 * 3600).expect("offset");
        let window = Window::from_dates(starts, ends, offset);
        let epoch = NaiveDateTime::default();
        CampaignRules {
            row: CampaignRow {
                id: 1,
                code: "c".into(),
                name: "c".into(),
                directive: "d".into(),
                scope_area_id: 1,
                starts_on: starts,
                ends_on: ends,
                window_start: epoch,
                window_end: epoch,
                utc_offset_minutes: 420,
                targets: "[]".into(),
                created_at: epoch,
            },
            scope_path: AreaPath::root(camket_schema::domain::AreaId(1)),
            targets: vec![],
            window,
            offset,
        }
    }

    fn local_day(moment: DateTime<Utc>, campaign: &CampaignRules) -> NaiveDate {
        moment.with_timezone(&campaign.offset).date_naive()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a date")
    }

    #[test]
    fn the_daily_fourteen_hundred_the_fifteenth_and_the_end_fall_due() {
        let c = campaign(day(2026, 3, 1), day(2026, 4, 30));
        let offset = c.offset;
        let local = |y, m, d, h| start_of(day(y, m, d), offset) + Duration::hours(h);
        // 14 March 15:00 to 15 March 15:00: the 15th's midnight and its 14:00.
        let due = due_moments(&c, local(2026, 3, 14, 15), local(2026, 3, 15, 15));
        assert_eq!(due, vec![local(2026, 3, 15, 0), local(2026, 3, 15, 14)]);
        assert_eq!(
            due.iter().map(|m| local_day(*m, &c)).collect::<Vec<_>>(),
            vec![day(2026, 3, 15), day(2026, 3, 15)]
        );
        // A minute before 14:00 nothing is due yet; the minute after, it is.
        assert!(due_moments(&c, local(2026, 3, 16, 0), local(2026, 3, 16, 13)).is_empty());
        // The end of the campaign is due at its end, with the next day's 14:00
        // (a daily report of the last afternoon), and nothing later.
        let end = due_moments(&c, local(2026, 4, 30, 15), local(2026, 6, 1, 0));
        assert_eq!(end, vec![c.window.end, local(2026, 5, 1, 14)]);
        // Filed once settled, and only at a moment a report falls due.
        let due = local(2026, 3, 16, 14);
        assert!(!may_file(&c, due, due + Duration::minutes(5)));
        assert!(may_file(&c, due, due + Duration::minutes(10)));
        assert!(!may_file(
            &c,
            due + Duration::hours(1),
            due + Duration::days(1)
        ));
        assert!(may_file(
            &c,
            c.window.end,
            c.window.end + Duration::days(30)
        ));
        // Before the campaign, nothing.
        assert!(due_moments(&c, local(2026, 1, 1, 0), local(2026, 2, 28, 23)).is_empty());
    }
}
