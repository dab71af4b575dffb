//! `GET /queue`: the review queue, riskiest first, filtered by village, form,
//! flag, status, surveyor and date, paged. Calls [`submissions::queue`].

use actix_web::{web, HttpResponse};
use chrono::{Duration, NaiveDate};
use maud::{html, Markup};
use serde::Deserialize;

use camket_schema::domain::{AreaLevel, SubmissionStatus};

use super::layout::{self, urlencode};
use super::session::{chrome, Visitor};
use super::{names, vocabulary, ConsoleError};
use crate::access::{authorize, Action};
use crate::error::ApiError;
use crate::evidence::FlagCode;
use crate::locale::{self, Lang};
use crate::state::AppState;
use crate::submissions::{self, ListQuery, SubmissionView};

/// How many submissions a page of the queue shows.
const PAGE_SIZE: i64 = 30;

/// The queue's filters as the page's form sends them (empty means any).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct QueueFilters {
    pub village: Option<String>,
    pub form: Option<String>,
    pub flag: Option<String>,
    /// A status, `all`, or (absent) those awaiting review.
    pub status: Option<String>,
    pub surveyor: Option<String>,
    /// First day, `YYYY-MM-DD`, local time.
    pub from: Option<String>,
    /// Last day (inclusive), `YYYY-MM-DD`, local time.
    pub to: Option<String>,
    pub cursor: Option<String>,
    /// The submission just decided (shown as a notice, not a filter).
    pub decided: Option<String>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn number(field: &str, value: &Option<String>) -> Result<Option<i64>, ApiError> {
    given(value)
        .map(|text| {
            text.parse::<i64>()
                .map_err(|_| ApiError::bad_param(field, "must be a number"))
        })
        .transpose()
}

fn day(field: &str, value: &Option<String>) -> Result<Option<NaiveDate>, ApiError> {
    given(value)
        .map(|text| {
            locale::parse_day(text).ok_or_else(|| {
                ApiError::bad_param(field, "use a date such as 2026-11-27 (2000 to 2100)")
            })
        })
        .transpose()
}

impl QueueFilters {
    /// The API's query for these filters; days are whole local days.
    pub fn to_list_query(
        &self,
        offset: chrono::FixedOffset,
        limit: i64,
    ) -> Result<ListQuery, ApiError> {
        let local_midnight = |d: NaiveDate| {
            crate::coverage::rules::start_of(d, offset)
                .with_timezone(&offset)
                .to_rfc3339()
        };
        let status = match given(&self.status) {
            None => Some(SubmissionStatus::Received.as_str().to_string()),
            Some("all") => None,
            Some(other) => Some(other.to_string()),
        };
        Ok(ListQuery {
            village: number("village", &self.village)?,
            form: given(&self.form).map(str::to_string),
            flag: given(&self.flag).map(str::to_string),
            status,
            surveyor: number("surveyor", &self.surveyor)?,
            from: day("from", &self.from)?.map(local_midnight),
            to: day("to", &self.to)?.map(|d| local_midnight(d + Duration::days(1))),
            cursor: given(&self.cursor).map(str::to_string),
            limit: Some(limit),
            ..ListQuery::default()
        })
    }

    /// The filters as a query string (without the page cursor), to carry
    /// through a submission and back.
    pub fn query_string(&self) -> String {
        let pairs = [
            ("village", &self.village),
            ("form", &self.form),
            ("flag", &self.flag),
            ("status", &self.status),
            ("surveyor", &self.surveyor),
            ("from", &self.from),
            ("to", &self.to),
        ];
        pairs
            .iter()
            .filter_map(|(name, value)| given(value).map(|v| format!("{name}={}", urlencode(v))))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Handles the `GET /queue` route.
pub async fn page(
    state: web::Data<AppState>,
    visitor: Visitor,
    filters: web::Query<QueueFilters>,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: reading others' submissions, as `GET /api/v1/submissions`.
    authorize(&visitor.principal, Action::ReadSubmissions, None)?;
    let filters = filters.into_inner();
    let offset = state.config.evidence.local_offset();
    let query = filters.to_list_query(offset, PAGE_SIZE)?;
    let found = submissions::queue(&state, &visitor.principal, query).await?;
    let forms = crate::forms::catalogue(&state, &visitor.principal, false).await?;
    let db = state.db.clone();
    let scope = visitor.principal.scope.clone();
    let items = &found.items;
    let (users, households, villages, ids) = (
        items.iter().map(|s| s.submitted_by).collect(),
        items.iter().filter_map(|s| s.household_id).collect(),
        items.iter().map(|s| s.village_id).collect(),
        items.iter().map(|s| s.id).collect(),
    );
    let (names, village_choices) = web::block(move || {
        let names = names::load(&db, users, households, villages, ids)?;
        let choices = crate::areas::store::list(
            &db,
            &scope,
            &crate::areas::store::AreaFilter {
                level: Some(AreaLevel::Village),
                limit: 500,
                ..Default::default()
            },
        )?;
        Ok::<_, camket_schema::DbError>((names, choices))
    })
    .await?
    .map_err(ApiError::from)?;
    let lang = visitor.lang;
    let carried = filters.query_string();
    let next_page = found.next_cursor.as_ref().map(|cursor| {
        let base = if carried.is_empty() {
            String::new()
        } else {
            format!("{carried}&")
        };
        format!("/queue?{base}cursor={}", urlencode(cursor))
    });
    let form_choices: Vec<(String, String)> = forms
        .iter()
        .map(|f| {
            let title = f
                .title
                .as_ref()
                .map_or(f.id.as_str(), |t| lang.pick(&t.vi, &t.en));
            (f.id.clone(), title.to_string())
        })
        .collect();
    let body = html! {
        h1 { (lang.pick("Phiếu chờ duyệt", "Review queue")) }
        (filter_form(lang, &filters, &village_choices, &form_choices))
        @if items.is_empty() {
            p.empty #queue-empty { (lang.pick("Không có phiếu nào khớp bộ lọc.", "No submission matches these filters.")) }
        } @else {
            table.queue #queue {
                caption.visually-hidden { (lang.pick("Phiếu, rủi ro cao trước", "Submissions, riskiest first")) }
                thead {
                    tr {
                        th scope="col" { (lang.pick("Ảnh", "Photo")) }
                        th scope="col" { (lang.pick("Hộ / thôn", "Household / village")) }
                        th scope="col" { (lang.pick("Người khảo sát", "Surveyor")) }
                        th scope="col" { (lang.pick("Thời gian", "Collected")) }
                        th scope="col" { (lang.pick("Trạng thái", "Status")) }
                        th scope="col" { (lang.pick("Cảnh báo", "Flags")) }
                    }
                }
                tbody {
                    @for item in items {
                        (row(lang, offset, item, &names, &carried))
                    }
                }
            }
        }
        @if let Some(next) = next_page {
            p { a.button #next-page href=(next) rel="next" { (lang.pick("Trang sau →", "Next page →")) } }
        }
    };
    Ok(layout::page(
        &chrome(&visitor, "queue"),
        lang.pick("Duyệt phiếu", "Review"),
        body,
    ))
}

fn row(
    lang: Lang,
    offset: chrono::FixedOffset,
    item: &SubmissionView,
    names: &names::Names,
    carried: &str,
) -> Markup {
    let link = if carried.is_empty() {
        format!("/submissions/{}", item.id)
    } else {
        format!("/submissions/{}?{carried}", item.id)
    };
    let subject = item
        .household_id
        .map(|h| names.household(h))
        .unwrap_or_else(|| lang.pick("(cả thôn)", "(whole village)").to_string());
    html! {
        tr data-submission=(item.id) {
            td.thumb {
                @if let Some(photo) = names.first_photos.get(&item.id) {
                    img src={ "/submissions/" (item.id) "/photos/" (photo) "?size=thumb" }
                        alt=(lang.pick("Ảnh thu nhỏ", "Thumbnail")) width="64" height="64" loading="lazy";
                }
            }
            td {
                a href=(link) { (subject) }
                br;
                small { (names.area(item.village_id)) }
            }
            td { (names.user(item.submitted_by)) }
            td { time datetime=(item.collected_at.to_rfc3339()) { (locale::date_time(item.collected_at, offset)) } }
            td { span class={ "status " (item.status.as_str()) } { (vocabulary::status(lang, item.status)) } }
            td.flags {
                @if item.evidence == "pending" {
                    span.chip.pending { (lang.pick("Đang kiểm tra ảnh", "Checking photos")) }
                }
                @for flag in &item.flags {
                    span class={ "chip " (vocabulary::severity(flag)) } title=(flag.sentence(lang)) {
                        (vocabulary::flag_name(lang, flag.code))
                    }
                }
            }
        }
    }
}

fn filter_form(
    lang: Lang,
    filters: &QueueFilters,
    villages: &[camket_schema::models::AreaRow],
    forms: &[(String, String)],
) -> Markup {
    let chosen = |value: &Option<String>, option: &str| given(value) == Some(option);
    html! {
        form.filters #filters method="get" action="/queue" {
            div {
                label for="f-village" { (lang.pick("Thôn", "Village")) }
                select #f-village name="village" {
                    option value="" { (lang.pick("Tất cả", "All")) }
                    @for village in villages {
                        @let id = village.id.0.to_string();
                        option value=(id) selected[chosen(&filters.village, &id)] { (village.name) }
                    }
                }
            }
            div {
                label for="f-form" { (lang.pick("Mẫu phiếu", "Form")) }
                select #f-form name="form" {
                    option value="" { (lang.pick("Tất cả", "All")) }
                    @for (id, title) in forms {
                        option value=(id) selected[chosen(&filters.form, id)] { (title) }
                    }
                }
            }
            div {
                label for="f-flag" { (lang.pick("Cảnh báo", "Flag")) }
                select #f-flag name="flag" {
                    option value="" { (lang.pick("Tất cả", "All")) }
                    @for code in FlagCode::ALL {
                        option value=(code.as_str()) selected[chosen(&filters.flag, code.as_str())] { (vocabulary::flag_name(lang, *code)) }
                    }
                }
            }
            div {
                label for="f-status" { (lang.pick("Trạng thái", "Status")) }
                select #f-status name="status" {
                    @for status in SubmissionStatus::ALL {
                        option value=(status.as_str()) selected[given(&filters.status).unwrap_or("received") == status.as_str()] { (vocabulary::status(lang, *status)) }
                    }
                    option value="all" selected[chosen(&filters.status, "all")] { (lang.pick("Tất cả", "All")) }
                }
            }
            div {
                label for="f-surveyor" { (lang.pick("Mã người khảo sát", "Surveyor id")) }
                input #f-surveyor name="surveyor" inputmode="numeric" value=[given(&filters.surveyor)];
            }
            div {
                label for="f-from" { (lang.pick("Từ ngày", "From")) }
                input #f-from type="date" name="from" value=[given(&filters.from)];
            }
            div {
                label for="f-to" { (lang.pick("Đến ngày", "To")) }
                input #f-to type="date" name="to" value=[given(&filters.to)];
            }
            div.actions {
                button type="submit" { (lang.pick("Lọc", "Filter")) }
                " "
                a href="/queue" { (lang.pick("Bỏ lọc", "Clear")) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_whole_local_days_and_the_default_is_awaiting_review() {
        let vietnam = chrono::FixedOffset::east_opt(7 * 3600).expect("offset");
        let filters = QueueFilters {
            from: Some("2026-11-27".into()),
            to: Some("2026-11-27".into()),
            village: Some(" ".into()),
            ..QueueFilters::default()
        };
        let query = filters.to_list_query(vietnam, 30).expect("valid");
        assert_eq!(query.from.as_deref(), Some("2026-11-27T00:00:00+07:00"));
        assert_eq!(query.to.as_deref(), Some("2026-11-28T00:00:00+07:00"));
        assert_eq!(query.status.as_deref(), Some("received"));
        assert_eq!(query.village, None);
        let all = QueueFilters {
            status: Some("all".into()),
            ..QueueFilters::default()
        };
        assert_eq!(all.to_list_query(vietnam, 30).expect("valid").status, None);
        let wrong = QueueFilters {
            surveyor: Some("abc".into()),
            ..QueueFilters::default()
        };
        assert!(wrong.to_list_query(vietnam, 30).is_err());
        assert_eq!(
            QueueFilters {
                flag: Some("duplicate_photo".into()),
                form: Some("a b".into()),
                ..QueueFilters::default()
            }
            .query_string(),
            "form=a%20b&flag=duplicate_photo"
        );
    }
}
