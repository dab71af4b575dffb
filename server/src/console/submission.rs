//! One submission: `GET /submissions/{id}` (answers as the form labels them,
//! photos, every flag explained, the map, reused photos side by side, the
//! history), `POST /submissions/{id}/review` (approve, reject with a reason,
//! has issues; then the next in the queue) and
//! `GET /submissions/{id}/photos/{photo_id}` (the photo, for the page).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use camket_schema::domain::{AreaId, HouseholdId};
use survey_forms::{Field, FieldKind, FormDefinition};

use super::layout;
use super::map::{self, Mark, MarkKind};
use super::queue::QueueFilters;
use super::session::{chrome, Visitor};
use super::{vocabulary, ConsoleError};
use crate::access::{Action, Principal};
use crate::error::ApiError;
use crate::evidence::FlagCode;
use crate::locale::{self, Lang};
use crate::photo_store::Variant;
use crate::state::AppState;
use crate::submissions::review::Decision;
use crate::submissions::{self, ReviewRequest, SubmissionView};

/// What the page shows beside the submission itself.
struct Context {
    definition: Option<FormDefinition>,
    household: Option<camket_schema::models::HouseholdRow>,
    village: Option<camket_schema::models::AreaRow>,
    surveyor: String,
}

async fn context(
    state: &AppState,
    principal: &Principal,
    view: &SubmissionView,
) -> Result<Context, ApiError> {
    let principal = principal.clone();
    let db = state.db.clone();
    let (form_id, version) = (view.form_id.clone(), view.form_version);
    let (household_id, village_id, surveyor_id) =
        (view.household_id, view.village_id, view.submitted_by);
    web::block(move || {
        let definition = crate::forms::store::get(&db, &form_id)?.and_then(|record| {
            let row =
                record.version_row(survey_forms::FormVersion(u32::try_from(version).ok()?))?;
            serde_json::from_str::<FormDefinition>(&row.definition).ok()
        });
        let household = household_id
            .map(|id| crate::households::store::get(&db, HouseholdId(id)))
            .transpose()?
            .flatten()
            // A surveyor reads their own submission wherever it is, but a
            // household's details only where they may read households now.
            .filter(|(_, path)| {
                crate::access::authorize(&principal, Action::ReadHouseholds, Some(path)).is_ok()
            })
            .map(|(row, _)| row);
        let village = crate::areas::store::get(&db, AreaId(village_id))?;
        let names = super::names::load(&db, vec![surveyor_id], vec![], vec![], vec![])?;
        Ok::<_, camket_schema::DbError>(Context {
            definition,
            household,
            village,
            surveyor: names.user(surveyor_id),
        })
    })
    .await?
    .map_err(ApiError::from)
}

/// The photos of another submission a reuse flag names, if the reader may see it.
async fn other_photos(
    state: &AppState,
    principal: &Principal,
    other: i64,
) -> Option<Vec<(i64, String)>> {
    let (_, attached) = submissions::load(state, principal, other).await.ok()?;
    Some(
        attached
            .into_iter()
            .map(|photo| (photo.id, photo.part_name))
            .collect(),
    )
}

/// Query of the submission page: the queue's filters it was opened from.
pub type PageQuery = QueueFilters;

/// Handles the `GET /submissions/{id}` route.
pub async fn page(
    state: web::Data<AppState>,
    visitor: Visitor,
    id: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: `submissions::load`, as `GET /api/v1/submissions/{id}`:
    // outside the reader's areas it is "not found".
    let id = id.into_inner();
    let principal = &visitor.principal;
    let (row, attached) = submissions::load(&state, principal, id).await?;
    let view = crate::submissions::views::one(&state, principal, row, Some(attached)).await?;
    let history = submissions::history_of(&state, principal, id).await?;
    let context = context(&state, principal, &view).await?;
    let mut reused = Vec::new();
    for flag in &view.flags {
        if let (FlagCode::DuplicatePhoto, Some(other)) = (flag.code, flag.other_submission) {
            if let Some(photos) = other_photos(&state, principal, other).await {
                reused.push((flag.photo.clone().unwrap_or_default(), other, photos));
            }
        }
    }
    let lang = visitor.lang;
    let offset = state.config.evidence.local_offset();
    let carried = query.query_string();
    let next = next_in_queue(&state, principal, &query, (view.risk, view.id)).await;
    let may_review = Action::Review.permits(principal.role)
        && view.submitted_by != principal.user_id.0
        && view.superseded_by.is_none();
    let title = context
        .definition
        .as_ref()
        .map_or(view.form_id.clone(), |d| {
            lang.pick(&d.title.vi, &d.title.en).to_string()
        });
    let photos = view.photos.as_deref().unwrap_or(&[]);
    let body = html! {
        @if let Some(decided) = query.decided.as_deref().filter(|d| !d.is_empty()) {
            p.notice role="status" #decided { (lang.pick("Đã ghi quyết định cho phiếu ", "Decision recorded for submission ")) "#" (decided) "." }
        }
        nav.pager {
            a href={ "/queue" @if !carried.is_empty() { "?" (carried) } } { (lang.pick("← Về hàng chờ", "← Back to the queue")) }
            @if let Some(next) = next {
                " · " a #next rel="next" href={ "/submissions/" (next) @if !carried.is_empty() { "?" (carried) } } { (lang.pick("Phiếu tiếp theo →", "Next submission →")) }
            }
        }
        h1 { (title) " " small { "#" (view.id) } }
        dl.facts {
            dt { (lang.pick("Hộ", "Household")) }
            dd #household { @match &context.household {
                Some(h) => { (h.code) " · " (h.head_name) br; small { (h.address) } },
                None => { (lang.pick("(cả thôn)", "(whole village)")) },
            } }
            dt { (lang.pick("Thôn", "Village")) }
            dd { (context.village.as_ref().map_or(String::new(), |v| v.name.clone())) }
            dt { (lang.pick("Người khảo sát", "Surveyor")) }
            dd { (context.surveyor) }
            dt { (lang.pick("Thu thập lúc", "Collected")) }
            dd { (locale::date_time(view.collected_at, offset)) }
            dt { (lang.pick("Nhận lúc", "Received")) }
            dd { (locale::date_time(view.received_at, offset)) }
            dt { (lang.pick("Trạng thái", "Status")) }
            dd #status { span class={ "status " (view.status.as_str()) } { (vocabulary::status(lang, view.status)) } }
            @if let Some(comment) = &view.review_comment {
                dt { (lang.pick("Ý kiến duyệt", "Review comment")) }
                dd { (comment) }
            }
            dt { (lang.pick("Điểm rủi ro", "Risk")) }
            dd { (view.risk) }
            @if let Some(newer) = view.superseded_by {
                dt { (lang.pick("Đã có bản sửa", "Corrected by")) }
                dd { a href={ "/submissions/" (newer) } { "#" (newer) } }
            }
            @if let Some(older) = view.supersedes {
                dt { (lang.pick("Sửa cho phiếu", "Corrects")) }
                dd { a href={ "/submissions/" (older) } { "#" (older) } }
            }
        }
        section #flags {
            h2 { (lang.pick("Cảnh báo", "Flags")) }
            @if view.evidence == "pending" {
                p.notice { (lang.pick("Ảnh đang được kiểm tra; có thể có thêm cảnh báo.", "The photos are still being checked; more flags may follow.")) }
            }
            @if view.flags.is_empty() {
                p { (lang.pick("Không có cảnh báo nào.", "No flags.")) }
            } @else {
                ul.flags {
                    @for flag in &view.flags {
                        li {
                            span class={ "chip " (vocabulary::severity(flag)) } { (vocabulary::flag_name(lang, flag.code)) }
                            " " (flag.sentence(lang))
                            @if let Some(other) = flag.other_submission {
                                " " a href={ "/submissions/" (other) } { (lang.pick("Xem phiếu ", "See submission ")) "#" (other) }
                            }
                        }
                    }
                }
            }
        }
        @if may_review {
            (review_form(lang, &visitor.csrf, view.id, &carried))
        }
        @for (photo_name, other, other_photos) in &reused {
            section.reuse {
                h2 { (lang.pick("Ảnh dùng lại: so sánh", "Reused photo: side by side")) }
                div.side-by-side {
                    @if let Some(mine) = photos.iter().find(|p| &p.name == photo_name) {
                        figure {
                            img src={ "/submissions/" (view.id) "/photos/" (mine.id) "?size=review" } alt=(mine.name);
                            figcaption { (lang.pick("Phiếu này", "This submission")) ": " (mine.name) }
                        }
                    }
                    @for (photo_id, name) in other_photos {
                        figure {
                            img src={ "/submissions/" (other) "/photos/" (photo_id) "?size=review" } alt=(name);
                            figcaption { a href={ "/submissions/" (other) } { (lang.pick("Phiếu ", "Submission ")) "#" (other) } ": " (name) }
                        }
                    }
                }
            }
        }
        section #photos {
            h2 { (lang.pick("Ảnh", "Photos")) }
            @if photos.is_empty() { p { (lang.pick("Không có ảnh.", "No photos.")) } }
            div.photos {
                @for photo in photos {
                    figure {
                        a href={ "/submissions/" (view.id) "/photos/" (photo.id) "?size=original" } target="_blank" rel="noopener" {
                            img src={ "/submissions/" (view.id) "/photos/" (photo.id) "?size=review" } alt=(photo.name) loading="lazy";
                        }
                        figcaption {
                            (photo.name)
                            @if let Some(taken) = photo.exif.taken_at { " · " (locale::date_time(taken, offset)) }
                            @if let Some(camera) = &photo.exif.camera { " · " (camera) }
                        }
                    }
                }
            }
        }
        section #where {
            h2 { (lang.pick("Vị trí", "Where")) }
            @match map::draw(&map_input(lang, &view, &context, state.config.map_tiles.as_deref()), lang) {
                Some(svg) => (svg),
                None => p { (lang.pick("Không có toạ độ nào để vẽ.", "No position to draw.")) },
            }
        }
        section #answers {
            h2 { (lang.pick("Câu trả lời", "Answers")) }
            @match (&context.definition, &view.answers) {
                (Some(definition), Some(answers)) => (answers_table(lang, &definition.fields, answers)),
                (_, Some(answers)) => pre { (serde_json::to_string_pretty(answers).unwrap_or_default()) },
                _ => p { "—" },
            }
        }
        section #history {
            h2 { (lang.pick("Lịch sử", "History")) }
            table {
                thead { tr {
                    th scope="col" { (lang.pick("Lúc", "When")) }
                    th scope="col" { (lang.pick("Ai", "Who")) }
                    th scope="col" { (lang.pick("Việc", "What")) }
                    th scope="col" { (lang.pick("Ý kiến", "Comment")) }
                } }
                tbody {
                    @for entry in &history {
                        tr {
                            td { (locale::date_time(entry.at, offset)) }
                            td {
                                @match &entry.actor {
                                    Some(user) => (user),
                                    None => (lang.pick("Kiểm tra ảnh", "Photo checks")),
                                }
                            }
                            td {
                                @if entry.action == submissions::store::FLAGGED_LATER {
                                    (lang.pick("Cờ thêm sau, từ kiểm tra ảnh", "Flag added later by the photo checks"))
                                } @else {
                                    (entry.action)
                                }
                                @if let Some(to) = entry.to_status { " → " (vocabulary::status(lang, to)) }
                            }
                            td { (entry.comment.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    };
    let mut response = layout::page(&chrome(&visitor, "queue"), &format!("#{id}"), body);
    if let Some(origin) = state
        .config
        .map_tiles
        .as_deref()
        .and_then(layout::origin_of)
    {
        layout::allow_images_from(&mut response, &origin);
    }
    Ok(response)
}

fn review_form(lang: Lang, csrf: &str, id: i64, carried: &str) -> Markup {
    html! {
        section.review #review {
            h2 { (lang.pick("Quyết định", "Decision")) }
            form method="post" action={ "/submissions/" (id) "/review" } #review-form {
                input type="hidden" name="_csrf" value=(csrf);
                input type="hidden" name="queue" value=(carried);
                label for="comment" { (lang.pick("Ý kiến (bắt buộc khi trả lại)", "Comment (required to reject)")) }
                textarea #comment name="comment" rows="3" maxlength="2000" {}
                div.buttons {
                    button.approve type="submit" name="decision" value="approve" accesskey="a" { (lang.pick("Duyệt", "Approve")) " " kbd { "A" } }
                    button.reject type="submit" name="decision" value="reject" data-needs-reason=(lang.pick("Hãy ghi lý do trả lại để người khảo sát biết cần sửa gì.", "Give the reason for rejecting, so the surveyor knows what to correct.")) { (lang.pick("Trả lại", "Reject")) " " kbd { "R" } }
                    button.issues type="submit" name="decision" value="has_issues" { (lang.pick("Cần xem lại", "Has issues")) " " kbd { "I" } }
                }
                p.hint { (lang.pick("Phím tắt: A duyệt, R trả lại, I cần xem lại, N phiếu tiếp theo.", "Shortcuts: A approve, R reject, I has issues, N next submission.")) }
            }
        }
    }
}

fn map_input(
    lang: Lang,
    view: &SubmissionView,
    context: &Context,
    tiles: Option<&str>,
) -> map::MapInput {
    let boundary = context
        .village
        .as_ref()
        .map(crate::submissions::intake::village_place)
        .and_then(|place| place.boundary)
        .map(|geometry| map::rings(&geometry))
        .unwrap_or_default();
    let mut marks = Vec::new();
    if let Some(h) = &context.household {
        if let (Some(lat), Some(lon)) = (h.lat, h.lon) {
            marks.push(Mark {
                kind: MarkKind::Household,
                label: lang.pick("Vị trí hộ", "Household").to_string(),
                at: (lat, lon),
            });
        }
    }
    if let Some(geotag) = &view.geotag {
        marks.push(Mark {
            kind: MarkKind::Geotag,
            label: lang.pick("Toạ độ khai báo", "Submitted geotag").to_string(),
            at: (geotag.lat, geotag.lon),
        });
    }
    for photo in view.photos.as_deref().unwrap_or(&[]) {
        if let (Some(lat), Some(lon)) = (photo.exif.lat, photo.exif.lon) {
            marks.push(Mark {
                kind: MarkKind::Photo,
                label: format!("{} {}", lang.pick("Ảnh", "Photo"), photo.name),
                at: (lat, lon),
            });
        }
    }
    map::MapInput {
        boundary,
        marks,
        tiles: tiles.map(str::to_string),
    }
}

/// The answers under the form's own labels, in the form's order; choices by
/// their labels, yes/no in words, repeats as nested tables.
pub fn answers_table(lang: Lang, fields: &[Field], answers: &Value) -> Markup {
    html! {
        table.answers {
            tbody {
                @for field in fields {
                    @if !matches!(field.kind, FieldKind::Note) {
                        @if let Some(answer) = answers.get(&field.name).filter(|a| !a.is_null()) {
                            tr {
                                th scope="row" { (lang.pick(&field.label.vi, &field.label.en)) }
                                td { (answer_cell(lang, field, answer)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn answer_cell(lang: Lang, field: &Field, answer: &Value) -> Markup {
    let choice = |value: &Value| -> String {
        let text = value.as_str().map_or(value.to_string(), str::to_string);
        field
            .kind
            .choices()
            .and_then(|choices| choices.iter().find(|c| c.value == text))
            .map_or(text, |c| lang.pick(&c.vi, &c.en).to_string())
    };
    match (&field.kind, answer) {
        (FieldKind::Boolean, Value::Bool(yes)) => {
            html! { (if *yes { lang.pick("Có", "Yes") } else { lang.pick("Không", "No") }) }
        }
        (FieldKind::SelectOne { .. }, value) => html! { (choice(value)) },
        (FieldKind::SelectMultiple { .. }, Value::Array(values)) => {
            html! { (values.iter().map(choice).collect::<Vec<_>>().join(", ")) }
        }
        (FieldKind::Repeat { fields, .. }, Value::Array(entries)) => html! {
            ol.entries {
                @for entry in entries {
                    li { (answers_table(lang, fields, entry)) }
                }
            }
        },
        (FieldKind::Geopoint, Value::Object(point)) => html! {
            (point.get("lat").and_then(Value::as_f64).map_or(String::new(), |v| format!("{v:.6}")))
            ", "
            (point.get("lon").and_then(Value::as_f64).map_or(String::new(), |v| format!("{v:.6}")))
        },
        (FieldKind::Date, Value::String(text)) => html! {
            (chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_or(text.clone(), locale::date))
        },
        (_, Value::String(text)) => html! { (text) },
        (_, Value::Array(items)) => html! {
            (items.iter().map(|v| v.as_str().map_or(v.to_string(), str::to_string)).collect::<Vec<_>>().join(", "))
        },
        (_, other) => html! { (other.to_string()) },
    }
}

/// The review form.
#[derive(Debug, Deserialize)]
pub struct ReviewForm {
    #[serde(rename = "_csrf", default)]
    pub csrf: String,
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub comment: String,
    /// The queue's filters, to find the next submission.
    #[serde(default)]
    pub queue: String,
}

/// Handles the `POST /submissions/{id}/review` route: records the decision
/// through `submissions::decide` (same rules as the API), then opens the next
/// submission of the queue the officer came from.
pub async fn review(
    state: web::Data<AppState>,
    req: HttpRequest,
    visitor: Visitor,
    id: web::Path<i64>,
    form: web::Form<ReviewForm>,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: the form's token, then `submissions::decide` (Action::Review in the area).
    visitor.check_form(&req, &form.csrf)?;
    let id = id.into_inner();
    let form = form.into_inner();
    let decision = match form.decision.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        "has_issues" => Decision::HasIssues,
        _ => {
            return Err(
                ApiError::invalid("decision", "choose approve, reject or has_issues").into(),
            )
        }
    };
    let comment = Some(form.comment.trim().to_string()).filter(|c| !c.is_empty());
    let decided = submissions::decide(
        &state,
        &visitor.principal,
        id,
        ReviewRequest { decision, comment },
    )
    .await?;
    let filters: QueueFilters = web::Query::<QueueFilters>::from_query(&form.queue)
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let carried = filters.query_string();
    let next = next_in_queue(&state, &visitor.principal, &filters, (decided.risk, id)).await;
    let join = |base: String| {
        if carried.is_empty() {
            format!("{base}?decided={id}")
        } else {
            format!("{base}?{carried}&decided={id}")
        }
    };
    let target = match next {
        Some(next) => join(format!("/submissions/{next}")),
        None => join("/queue".to_string()),
    };
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, target))
        .finish())
}

/// The submission after `current` (risk, id) in the queue with `filters`
/// that this user may review (not their own, not corrected since), else the
/// first such from the top; never `current` itself.
async fn next_in_queue(
    state: &AppState,
    principal: &Principal,
    filters: &QueueFilters,
    current: (i32, i64),
) -> Option<i64> {
    let reviewable = |s: &SubmissionView| {
        s.id != current.1 && s.submitted_by != principal.user_id.0 && s.superseded_by.is_none()
    };
    let after = crate::paging::Cursor {
        major: i64::from(current.0),
        minor: current.1,
    }
    .encode();
    for cursor in [Some(after), None] {
        let mut query = filters
            .to_list_query(state.config.evidence.local_offset(), 20)
            .ok()?;
        query.cursor = cursor;
        let page = submissions::queue(state, principal, query).await.ok()?;
        if let Some(next) = page.items.iter().find(|s| reviewable(s)) {
            return Some(next.id);
        }
    }
    None
}

/// Query of the photo route.
#[derive(Debug, Deserialize)]
pub struct PhotoQuery {
    pub size: Option<String>,
}

/// Handles the `GET /submissions/{id}/photos/{photo_id}` route.
pub async fn photo(
    state: web::Data<AppState>,
    visitor: Visitor,
    path: web::Path<(i64, i64)>,
    query: web::Query<PhotoQuery>,
) -> Result<HttpResponse, ConsoleError> {
    // Authorisation: `submissions::photo_of`, as the API's photo route.
    let (id, photo_id) = path.into_inner();
    let (variant, _) = submissions::photo_size(query.size.as_deref())?;
    let (sha, media_type) =
        submissions::photo_of(&state, &visitor.principal, id, photo_id, variant).await?;
    // Only the original (opened as a page of its own) goes to the store: the
    // smaller sizes are images inside console pages, whose content policy
    // allows images from this server alone.
    if variant == Variant::Original {
        if let Some(url) = submissions::presigned_url(&state, &sha, variant).await? {
            return Ok(submissions::redirect_to_store(&url));
        }
    }
    let bytes = submissions::photo_bytes(&state, &sha, variant).await?;
    let cache = match variant {
        Variant::Original => "private, no-store",
        _ => "private, max-age=3600",
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, cache))
        .content_type(media_type)
        .body(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_as_the_form_labels_them() {
        let definition = survey_forms::parse_definition(
            "t.yaml",
            r#"
id: t
version: 1
title: {vi: "Phiếu", en: "Form"}
geotag: optional
household: none
fields:
  - name: agrees
    label: {vi: "Đồng ý", en: "Agrees"}
    type: boolean
  - name: kind
    label: {vi: "Loại", en: "Kind"}
    type: select_one
    choices:
      - {value: a, vi: "Loại A", en: "Kind A"}
  - name: born
    label: {vi: "Ngày sinh", en: "Born"}
    type: date
"#,
        )
        .expect("definition");
        let answers = serde_json::json!({"agrees": true, "kind": "a", "born": "2001-02-03"});
        let vi = answers_table(Lang::Vi, &definition.fields, &answers).into_string();
        assert!(vi.contains("Đồng ý</th><td>Có"), "{vi}");
        assert!(vi.contains("Loại A") && vi.contains("03/02/2001"), "{vi}");
        let en = answers_table(Lang::En, &definition.fields, &answers).into_string();
        assert!(
            en.contains("Agrees</th><td>Yes") && en.contains("Kind A"),
            "{en}"
        );
    }
}
