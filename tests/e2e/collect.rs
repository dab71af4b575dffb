//! A surveyor's day on ODK Collect, with Collect's own engine: the phone is set
//! up from a device token, downloads the form list, the XForms (each parsed by
//! ODK Validate) and the roster, JavaRosa fills every form, and the instances
//! are posted exactly as Collect posts them (HEAD, then multipart POST, whole or
//! split by `*isIncomplete*`). The officer then finds them in the queue,
//! approves, and coverage counts the household.

use md5::{Digest, Md5};
use serde_json::{json, Value};

use crate::fixture::Fixture;
use crate::harness::field::{households, open_campaign, paper, settled, with_forms};
use crate::harness::odk::odk;
use crate::harness::{Client, Part, Response};

const SHIPPED: [&str; 5] = [
    "commitment",
    "household-survey",
    "village-meeting",
    "business-commitment",
    "returnee-contact",
];

/// Where the fixture's V1 households are: photos and geotags taken there raise no flag.
const AT_HOME: (f64, f64) = (19.01, 105.01);

/// A client for absolute URLs (Collect's server URL holds the token).
fn phone() -> Client {
    Client {
        base: String::new(),
        token: None,
    }
}

/// The text of the first `<name>` element in `xml`.
fn tag(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(
        xml[start..end]
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\""),
    )
}

/// The blocks of `xml` between `<name>` and `</name>`.
fn blocks<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split(&close).next())
        .collect()
}

fn md5(bytes: &[u8]) -> String {
    format!("md5:{}", hex::encode(Md5::digest(bytes)))
}

fn openrosa_ok(response: &Response, what: &str) {
    assert_eq!(response.status, 200, "{what}: {}", response.text);
    assert_eq!(response.header("X-OpenRosa-Version"), Some("1.0"), "{what}");
    assert!(response.header("Date").is_some(), "{what} has a Date");
}

fn me(client: &Client) -> i64 {
    client.get("/api/v1/me").body["id"].as_i64().expect("my id")
}

/// A phone set up for `user` by `by`: its server URL.
fn set_up_phone(by: &Client, user: i64, label: &str) -> (i64, String) {
    let made = by.post_json(
        &format!("/api/v1/users/{user}/devices"),
        &json!({"label": label}),
    );
    assert_eq!(made.status, 201, "{}", made.text);
    let url = made.body["server_url"]
        .as_str()
        .expect("server url")
        .to_string();
    assert_eq!(
        made.body["collect_settings"]["general"]["server_url"], url,
        "the QR settings point the phone at the same URL"
    );
    (made.body["id"].as_i64().expect("device id"), url)
}

/// One form as the phone has it after "Get blank form": the XForm and its files.
struct Downloaded {
    xform: String,
    media: Vec<(String, Vec<u8>)>,
    media_hashes: Vec<(String, String)>,
}

/// What Collect does on "Get blank form", checking every hash as Collect does.
fn download_forms(url: &str) -> Vec<(String, Downloaded)> {
    let phone = phone();
    let list = phone.get(&format!("{url}/formList?deviceID=collect:test"));
    openrosa_ok(&list, "formList");
    assert!(
        list.content_type.starts_with("text/xml"),
        "{}",
        list.content_type
    );
    assert!(list
        .text
        .contains("xmlns=\"http://openrosa.org/xforms/xformsList\""));
    let mut forms = Vec::new();
    for entry in blocks(&list.text, "xform") {
        let form_id = tag(entry, "formID").expect("formID");
        assert!(tag(entry, "name").is_some_and(|n| !n.is_empty()), "{entry}");
        assert_eq!(tag(entry, "version").as_deref(), Some("1"));
        let download = tag(entry, "downloadUrl").expect("downloadUrl");
        let manifest = tag(entry, "manifestUrl").expect("manifestUrl");
        assert!(
            download.starts_with(url) && manifest.starts_with(url),
            "absolute URLs"
        );
        let xform = phone.get(&format!("{download}?deviceID=collect:test"));
        openrosa_ok(&xform, "form download");
        assert_eq!(
            tag(entry, "hash"),
            Some(md5(xform.text.as_bytes())),
            "the listed hash is the MD5 of the bytes served"
        );
        let files = phone.get(&manifest);
        openrosa_ok(&files, "manifest");
        assert!(files.content_type.starts_with("text/xml"));
        let mut media = Vec::new();
        let mut media_hashes = Vec::new();
        for file in blocks(&files.text, "mediaFile") {
            let name = tag(file, "filename").expect("filename");
            let bytes = phone.get_bytes(&tag(file, "downloadUrl").expect("downloadUrl"));
            assert_eq!(tag(file, "hash"), Some(md5(&bytes)), "{name}");
            media_hashes.push((name.clone(), md5(&bytes)));
            media.push((name, bytes));
        }
        forms.push((
            form_id,
            Downloaded {
                xform: xform.text,
                media,
                media_hashes,
            },
        ));
    }
    forms
}

/// An instance filled by JavaRosa from `tests/odk/answers/{form}.answers`.
fn fill(form: &Downloaded, form_id: &str, village: i64, household: i64) -> String {
    let template = std::fs::read_to_string(format!(
        "{}/../tests/odk/answers/{form_id}.answers",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("answers file");
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).expect("offset"))
        .format("%Y-%m-%d")
        .to_string();
    let answers = template
        .replace("{village}", &village.to_string())
        .replace("{household}", &household.to_string())
        .replace("{today}", &today)
        .replace("{signer}", "Lê Văn An");
    let media: Vec<(&str, Vec<u8>)> = form
        .media
        .iter()
        .map(|(name, bytes)| (name.as_str(), bytes.clone()))
        .collect();
    odk().fill(&form.xform, &media, &answers)
}

/// The photo file names an instance names (Collect sends exactly these).
fn photo_names(instance: &str) -> Vec<String> {
    let mut names: Vec<String> = instance
        .split('>')
        .filter_map(|piece| piece.split('<').next())
        .filter(|text| text.ends_with(".jpg"))
        .map(str::to_string)
        .collect();
    names.dedup();
    names
}

/// A photo taken now at the household, distinct by `seed`.
fn photo(seed: u64) -> Vec<u8> {
    let now = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).expect("offset"))
        - chrono::Duration::minutes(2);
    paper(seed, now, Some(AT_HOME))
}

/// Collect's multipart POST: the instance, then its files, and the split marker.
fn post(url: &str, instance: &str, files: &[(String, Vec<u8>)], incomplete: bool) -> Response {
    let mut parts = vec![Part {
        name: "xml_submission_file".into(),
        filename: Some("instance.xml".into()),
        content_type: "text/xml".into(),
        bytes: instance.as_bytes().to_vec(),
    }];
    for (name, bytes) in files {
        parts.push(Part::photo(name, name, bytes.clone()));
    }
    if incomplete {
        parts.push(Part {
            name: "*isIncomplete*".into(),
            filename: None,
            content_type: "text/plain".into(),
            bytes: b"yes".to_vec(),
        });
    }
    phone().post_multipart(&format!("{url}/submission?deviceID=collect:test"), &parts)
}

/// HEAD first, as Collect does: exactly 204 with the size it may send.
fn head(url: &str) {
    let asked = phone().send("HEAD", &format!("{url}/submission?deviceID=collect:test"));
    assert_eq!(asked.status, 204, "any other 2xx makes Collect stop");
    assert_eq!(asked.header("X-OpenRosa-Version"), Some("1.0"));
    assert!(asked
        .header("X-OpenRosa-Accept-Content-Length")
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > 1_000_000));
}

fn accepted(response: &Response, what: &str) {
    assert_eq!(response.status, 201, "{what}: {}", response.text);
    assert_eq!(response.header("X-OpenRosa-Version"), Some("1.0"));
    assert!(
        response.text.contains("<OpenRosaResponse"),
        "{}",
        response.text
    );
    assert!(
        response.text.contains("nature=\"submit_success\""),
        "{}",
        response.text
    );
}

fn refused(response: &Response, status: u16, what: &str) {
    assert_eq!(response.status, status, "{what}: {}", response.text);
    assert_eq!(response.header("X-OpenRosa-Version"), Some("1.0"), "{what}");
    assert!(
        response.content_type.starts_with("text/xml"),
        "{what}: {}",
        response.content_type
    );
    assert!(
        response.text.contains("nature=\"error\""),
        "{what}: {}",
        response.text
    );
}

fn instance_id(instance: &str) -> String {
    tag(instance, "instanceID")
        .expect("instanceID")
        .trim_start_matches("uuid:")
        .to_string()
}

/// The submission with this instance id, as the officer's queue lists it.
fn in_queue(officer: &Client, instance: &str) -> Option<Value> {
    let id = instance_id(instance);
    officer.get("/api/v1/submissions?limit=200").body["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|s| s["instance_id"] == id.as_str())
                .cloned()
        })
}

fn households_csv(forms: &[(String, Downloaded)]) -> String {
    let (_, form) = forms
        .iter()
        .find(|(id, _)| id == "commitment")
        .expect("commitment form");
    let (_, bytes) = form
        .media
        .iter()
        .find(|(name, _)| name == "households.csv")
        .expect("households.csv");
    String::from_utf8(bytes.clone()).expect("UTF-8 roster")
}

per_backend! {
    fn a_surveyor_works_a_day_from_odk_collect(backend) {
        let fx: Fixture = with_forms(backend, &[]);
        let campaign = open_campaign(&fx);
        let homes = households(&fx, "V1");
        let (village, home) = (fx.area("V1"), homes["H1"]);
        let surveyor = fx.login("surveyor");
        let officer = fx.login("officer");

        // The surveyor sets up their own phone; the QR code is Collect's format.
        let (device, url) = set_up_phone(&surveyor, me(&surveyor), "Điện thoại của tổ");
        assert!(url.starts_with(&format!("{}/collect/", fx.server.base)), "{url}");
        let qr = officer.get_raw_with(
            &format!("/api/v1/users/{}/devices/{device}/qr.png", me(&surveyor)),
            &[],
        );
        assert_eq!(qr.0, 200);
        assert!(qr.2.starts_with(b"\x89PNG"), "a PNG");

        let forms = download_forms(&url);
        let mut ids: Vec<&str> = forms.iter().map(|(id, _)| id.as_str()).collect();
        ids.sort_unstable();
        let mut shipped = SHIPPED.to_vec();
        shipped.sort_unstable();
        assert_eq!(ids, shipped, "every open form is offered");
        for (form_id, form) in &forms {
            if let Err(why) = odk().validate(&form.xform) {
                panic!("ODK Validate refuses the XForm of {form_id}: {why}");
            }
        }
        // The roster holds exactly the surveyor's households, with what they owe.
        let roster = households_csv(&forms);
        let mut listed: Vec<i64> = roster
            .lines()
            .skip(1)
            .filter_map(|line| line.split(',').next()?.parse().ok())
            .collect();
        listed.sort_unstable();
        let mut own: Vec<i64> = homes.values().copied().collect();
        own.sort_unstable();
        assert_eq!(listed, own, "{roster}");
        let owes_of = |roster: &str| {
            roster
                .lines()
                .find(|line| line.starts_with(&format!("{home},")))
                .map(str::to_string)
                .unwrap_or_default()
        };
        assert!(
            owes_of(&roster).contains("Hộ cam kết phát hiện, tố giác"),
            "H1 still owes its household pledge: {roster}"
        );

        // JavaRosa fills every form; each goes up as Collect sends it.
        let mut sent = Vec::new();
        for (n, (form_id, form)) in forms.iter().enumerate() {
            let household = if form_id == "village-meeting" { 0 } else { home };
            let instance = fill(form, form_id, village, household);
            assert!(instance.contains(&format!("<_village>{village}</_village>")), "{instance}");
            let files: Vec<(String, Vec<u8>)> = photo_names(&instance)
                .into_iter()
                .enumerate()
                .map(|(i, name)| (name, photo(100 * n as u64 + i as u64)))
                .collect();
            assert!(!files.is_empty(), "{form_id} names photos: {instance}");
            head(&url);
            if form_id == "commitment" {
                // Split as Collect splits a large upload: the first request
                // holds one photo and says more follow; nothing is stored yet.
                assert_eq!(files.len(), 2, "{instance}");
                let first = post(&url, &instance, &files[..1], true);
                accepted(&first, "first half");
                assert!(in_queue(&officer, &instance).is_none(), "stored before it was complete");
                let rest = post(&url, &instance, &files[1..], false);
                accepted(&rest, "second half");
            } else {
                accepted(&post(&url, &instance, &files, false), form_id);
            }
            // Resending (Collect retries after a lost answer) is safe.
            accepted(&post(&url, &instance, &files, false), "a resend");
            sent.push((form_id.clone(), instance));
        }

        // Each is in the officer's queue as the JSON API would have stored it.
        let (_, commitment) = sent.iter().find(|(id, _)| id == "commitment").expect("sent");
        let listed = in_queue(&officer, commitment).expect("the commitment is in the queue");
        let id = listed["id"].as_i64().expect("id");
        let stored = settled(&officer, id);
        assert_eq!(stored["form_id"], "commitment");
        assert_eq!(stored["household_id"], home);
        assert_eq!(stored["device_id"], "collect:test");
        assert_eq!(stored["answers"]["signer_name"], "Lê Văn An");
        assert_eq!(stored["answers"]["signed_paper_photo"], json!(["paper-1.jpg", "paper-2.jpg"]));
        assert_eq!(stored["photos"].as_array().map(Vec::len), Some(2), "both halves' photos");
        assert_eq!(stored["geotag"]["accuracy_m"], 5.0);
        assert_eq!(stored["flags"], json!([]), "a clean visit raises no flag: {stored}");
        for (form_id, instance) in &sent {
            let row = in_queue(&officer, instance).unwrap_or_else(|| panic!("{form_id} missing"));
            assert_eq!(row["form_id"], form_id.as_str());
        }
        let survey = sent.iter().find(|(id, _)| id == "household-survey").expect("survey");
        let survey_row = in_queue(&officer, &survey.1).expect("survey stored");
        let survey_view = officer.get(&format!("/api/v1/submissions/{}", survey_row["id"]));
        assert_eq!(survey_view.body["answers"]["members"][1]["full_name"], "Thành viên 2 Lê");
        assert_eq!(survey_view.body["answers"]["runs_business"], json!(["accommodation", "passenger_transport"]));
        assert_eq!(survey_view.body["answers"]["has_relative_abroad"], true);

        // Approved, the household's pledge is covered and leaves the gap list.
        let gap_for_home = |client: &Client| {
            client.get(&format!("/api/v1/campaigns/{campaign}/gaps?limit=1000")).body["items"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .any(|g| g["household_id"] == home && g["kind"] == "household_reporting")
        };
        assert!(gap_for_home(&officer));
        let approved = officer.post_json(
            &format!("/api/v1/submissions/{id}/review"),
            &json!({"decision": "approve"}),
        );
        assert_eq!(approved.status, 200, "{}", approved.text);
        assert!(!gap_for_home(&officer), "coverage counts the household");
        // The phone's roster changes with it, and so does its hash.
        let again = download_forms(&url);
        assert!(!owes_of(&households_csv(&again)).contains("Hộ cam kết phát hiện, tố giác"));
        let hashes = |forms: &[(String, Downloaded)]| {
            forms
                .iter()
                .find(|(id, _)| id == "commitment")
                .map(|(_, f)| f.media_hashes.clone())
        };
        assert_ne!(hashes(&forms), hashes(&again), "Collect refreshes a changed roster");

        // A rejected submission, edited on the phone, comes back as its correction.
        let (_, contact) = sent.iter().find(|(id, _)| id == "returnee-contact").expect("sent");
        let original = in_queue(&officer, contact).expect("stored")["id"].as_i64().expect("id");
        let rejected = officer.post_json(
            &format!("/api/v1/submissions/{original}/review"),
            &json!({"decision": "reject", "comment": "Ảnh mờ, chụp lại"}),
        );
        assert_eq!(rejected.status, 200, "{}", rejected.text);
        let old = tag(contact, "instanceID").expect("instanceID");
        let new = format!("uuid:{}", uuid::Uuid::new_v4());
        let edited = contact
            .replace(&old, &new)
            .replace("</meta>", &format!("<deprecatedID>{old}</deprecatedID></meta>"))
            .replace("arrested_handed_back", "self_returned");
        let files: Vec<(String, Vec<u8>)> = photo_names(&edited)
            .into_iter()
            .map(|name| (name, photo(900)))
            .collect();
        accepted(&post(&url, &edited, &files, false), "the correction");
        let correction = in_queue(&officer, &edited).expect("the correction is queued");
        let view = officer.get(&format!("/api/v1/submissions/{}", correction["id"]));
        assert_eq!(view.body["supersedes"], original);
        assert_eq!(view.body["answers"]["manner_of_return"], "self_returned");
    }
}

per_backend! {
    fn collect_is_refused_what_it_may_not_do_in_words_a_surveyor_reads(backend) {
        let fx = with_forms(backend, &[]);
        open_campaign(&fx);
        let homes = households(&fx, "V1");
        let surveyor = fx.login("surveyor");
        let officer = fx.login("officer");
        let surveyor_id = me(&surveyor);

        // Who may set up whose phone.
        let admin_id = me(&fx.login("admin"));
        officer
            .post_json(&format!("/api/v1/users/{admin_id}/devices"), &json!({"label": "x"}))
            .assert_problem(403);
        fx.login("officer2")
            .post_json(&format!("/api/v1/users/{surveyor_id}/devices"), &json!({"label": "x"}))
            .assert_problem(404);
        officer
            .post_json(&format!("/api/v1/users/{surveyor_id}/devices"), &json!({"label": " "}))
            .assert_problem(422);

        // An unknown token is a 403, never a password prompt.
        let bogus = phone().get(&format!("{}/collect/{}/formList", fx.server.base, "0".repeat(64)));
        refused(&bogus, 403, "unknown token");
        assert!(bogus.header("WWW-Authenticate").is_none());

        // A revoked phone stops at once.
        let (device, url) = set_up_phone(&officer, surveyor_id, "Máy cũ");
        openrosa_ok(&phone().get(&format!("{url}/formList")), "before revoking");
        let listed = officer.get(&format!("/api/v1/users/{surveyor_id}/devices"));
        assert_eq!(listed.body["items"][0]["label"], "Máy cũ");
        assert!(listed.body["items"][0]["last_used_at"].is_string(), "{}", listed.text);
        assert!(!listed.text.contains(url.rsplit('/').next().unwrap_or("?")), "no token in the list");
        let revoked = officer.send("DELETE", &format!("/api/v1/users/{surveyor_id}/devices/{device}"));
        assert_eq!(revoked.status, 204, "{}", revoked.text);
        refused(&phone().get(&format!("{url}/formList")), 403, "revoked token");
        assert_eq!(phone().send("HEAD", &format!("{url}/submission")).status, 403);

        // HTTP Basic on /collect, for deployments behind TLS.
        let basic = format!("{}/collect", fx.server.base);
        let challenged = phone().get(&format!("{basic}/formList"));
        refused(&challenged, 401, "no credentials");
        assert!(challenged.header("WWW-Authenticate").is_some_and(|v| v.starts_with("Basic")));
        let with_password = |password: &str| {
            use base64::Engine as _;
            let credentials = base64::engine::general_purpose::STANDARD
                .encode(format!("surveyor:{password}"));
            phone().get_raw_with(
                &format!("{basic}/formList"),
                &[("Authorization", &format!("Basic {credentials}"))],
            )
        };
        assert_eq!(with_password("wrong-password").0, 401);
        // A whole sync's requests (more than the login limiter allows a
        // minute) go through: a verified password is remembered briefly.
        for _ in 0..15 {
            assert_eq!(with_password(crate::fixture::PASSWORD).0, 200);
        }
        let (status, _, body) = with_password(crate::fixture::PASSWORD);
        assert_eq!(status, 200);
        assert!(String::from_utf8_lossy(&body).contains(&format!("{basic}/forms/commitment/1/form.xml")));

        // A viewer's phone fills nothing.
        let viewer = fx.login("viewer");
        let (_, viewer_url) = set_up_phone(&viewer, me(&viewer), "Máy huyện");
        refused(&phone().get(&format!("{viewer_url}/formList")), 403, "a viewer");

        // Submissions the intake refuses, each with the reason.
        let (_, url) = set_up_phone(&surveyor, surveyor_id, "Máy mới");
        let forms = download_forms(&url);
        let (_, commitment) = forms.iter().find(|(id, _)| id == "commitment").expect("form");
        let instance = fill(commitment, "commitment", fx.area("V1"), homes["H2"]);
        let files: Vec<(String, Vec<u8>)> = photo_names(&instance)
            .into_iter()
            .enumerate()
            .map(|(i, name)| (name, photo(700 + i as u64)))
            .collect();
        refused(&post(&url, "<data id='commitment'", &files, false), 400, "malformed XML");
        refused(
            &post(&url, &instance.replace("id=\"commitment\"", "id=\"no-such-form\""), &files, false),
            404,
            "an unknown form",
        );
        refused(
            &post(&url, &instance.replace("version=\"1\"", "version=\"7\""), &files, false),
            409,
            "an unknown version",
        );
        let missing = post(&url, &instance, &files[..1], false);
        refused(&missing, 422, "a photo missing, not announced as incomplete");
        assert!(missing.text.contains("paper-2.jpg"), "{}", missing.text);
        // A surveyor of another village cannot send for V1 with their own phone.
        let other = fx.login("surveyor3");
        let (_, other_url) = set_up_phone(&other, me(&other), "Máy thôn Ba");
        let outside = post(&other_url, &instance, &files, false);
        refused(&outside, 403, "outside the user's villages");
        assert!(outside.text.contains("không có quyền"), "{}", outside.text);
        // The right one is stored; the same instance id with other content is a 409.
        accepted(&post(&url, &instance, &files, false), "the visit");
        let changed = instance.replace("Lê Văn An", "Lê Văn Bình");
        refused(&post(&url, &changed, &files, false), 409, "same instance id, other content");
        // A split upload whose second request carries other XML is a 409 too.
        let split = fill(commitment, "commitment", fx.area("V1"), homes["H3"]);
        let split_files: Vec<(String, Vec<u8>)> = photo_names(&split)
            .into_iter()
            .enumerate()
            .map(|(i, name)| (name, photo(800 + i as u64)))
            .collect();
        accepted(&post(&url, &split, &split_files[..1], true), "first half");
        // Collect sends a batch again after a lost answer: held once.
        accepted(&post(&url, &split, &split_files[..1], true), "first half again");
        refused(
            &post(&url, &split.replace("Lê Văn An", "Người Khác"), &split_files[1..], false),
            409,
            "second half with other XML",
        );
        accepted(&post(&url, &split, &split_files[1..], false), "second half");
        let stored = in_queue(&officer, &split).expect("the split submission is stored");
        let view = officer.get(&format!("/api/v1/submissions/{}", stored["id"]));
        assert_eq!(view.body["photos"].as_array().map(Vec::len), Some(2), "{}", view.text);
        // Nobody's parts are held for a village outside their areas.
        refused(&post(&other_url, &split, &split_files[..1], true), 403, "holding for another village");

        // A closing form is no longer offered but phones that have it may still
        // download and send it; a closed one is gone.
        let admin = fx.login("admin");
        let state = |s: &str| {
            let changed = admin.put_json("/api/v1/forms/village-meeting/state", &json!({"state": s}));
            assert_eq!(changed.status, 200, "{}", changed.text);
        };
        state("closing");
        let list = phone().get(&format!("{url}/formList"));
        assert!(!list.text.contains("<formID>village-meeting</formID>"), "{}", list.text);
        let xform = format!("{url}/forms/village-meeting/1/form.xml");
        openrosa_ok(&phone().get(&xform), "a closing form");
        state("closed");
        refused(&phone().get(&xform), 404, "a closed form");
    }
}
