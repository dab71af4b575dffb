//! The field work scenarios share: the shipped forms published, a village's
//! households, a visit with a photographed paper, waiting for the photo checks,
//! and the test campaign.

use std::collections::HashMap;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde_json::{json, Value};

use camket::devtools::synthetic::{self, ExifSpec, PaperPhoto, Scene};

use super::{Backend, Client, Part};
use crate::fixture::Fixture;

pub fn shipped_dir() -> String {
    format!("{}/../survey-forms/forms", env!("CARGO_MANIFEST_DIR"))
}

/// The fixture with the shipped forms published.
pub fn with_forms(backend: Backend, vars: &[(&str, &str)]) -> Fixture {
    let fx = Fixture::with(backend, vars);
    let out = fx.env.camket(&["forms", "publish", &shipped_dir()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    fx
}

pub fn households(fx: &Fixture, village: &str) -> HashMap<String, i64> {
    let roster = fx
        .login("admin")
        .get(&format!("/api/v1/villages/{}/households", fx.area(village)));
    roster.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|h| {
            (
                h["code"].as_str().unwrap_or("").to_string(),
                h["id"].as_i64().unwrap_or(0),
            )
        })
        .collect()
}

pub fn local(days_ago: i64, hour: u32) -> DateTime<FixedOffset> {
    let offset = FixedOffset::east_opt(7 * 3600).expect("offset");
    let day = (Utc::now() - Duration::days(days_ago))
        .with_timezone(&offset)
        .date_naive();
    day.and_hms_opt(hour, 0, 0)
        .expect("time")
        .and_local_timezone(offset)
        .single()
        .expect("local time")
}

/// A photographed signed paper with EXIF matching when and where it was taken.
pub fn paper(seed: u64, taken: DateTime<FixedOffset>, at: Option<(f64, f64)>) -> Vec<u8> {
    let image = PaperPhoto::new(
        Scene {
            seed: 5,
            paper_shift: (0, 0),
        },
        seed,
    )
    .render();
    synthetic::jpeg_with_exif(
        &image,
        88,
        &ExifSpec {
            taken_local: Some(taken.naive_local()),
            offset: None,
            gps: at,
        },
    )
}

pub struct Visit {
    pub document: Value,
    pub parts: Vec<Part>,
}

impl Visit {
    pub fn commitment(
        fx: &Fixture,
        village: &str,
        household: Option<i64>,
        kind: &str,
        when: DateTime<FixedOffset>,
        at: Option<(f64, f64)>,
        photo: Vec<u8>,
    ) -> Visit {
        let geotag = at.map(|(lat, lon)| json!({"lat": lat, "lon": lon, "accuracy_m": 8.0}));
        let mut document = json!({
            "instance_id": uuid::Uuid::new_v4().to_string(),
            "form_id": "commitment",
            "form_version": 1,
            "village_id": fx.area(village),
            "collected_at": when.to_rfc3339(),
            "device_id": "android-test-1",
            "answers": {
                "commitment_kind": kind,
                "signer_name": "Lê Văn An",
                "signer_relation": "head",
                "signed_paper_photo": ["paper.jpg"]
            }
        });
        if let Some(h) = household {
            document["household_id"] = json!(h);
        }
        if let Some(g) = geotag {
            document["geotag"] = g;
        }
        Visit {
            document,
            parts: vec![Part::photo("signed_paper_photo", "paper.jpg", photo)],
        }
    }

    pub fn send(&self, client: &Client) -> crate::harness::Response {
        let mut parts = vec![Part::json(&self.document)];
        parts.extend(self.parts.iter().cloned());
        client.post_multipart("/api/v1/submissions", &parts)
    }
}

/// A commitment visit to a household of V1 that raises no flag: geotagged and
/// photographed at the household, on a paper made distinct by `seed`.
pub fn clean_visit(
    fx: &Fixture,
    household: i64,
    kind: &str,
    when: DateTime<FixedOffset>,
    seed: u64,
) -> Visit {
    let at = Some((19.01, 105.01));
    Visit::commitment(
        fx,
        "V1",
        Some(household),
        kind,
        when,
        at,
        paper(seed, when, at),
    )
}

/// The submission once the background photo checks have run (they decode the
/// photos, make the thumbnails and look for near-duplicates after the upload).
pub fn settled(client: &Client, id: i64) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let got = client.get(&format!("/api/v1/submissions/{id}"));
        assert_eq!(got.status, 200, "{}", got.text);
        if got.body["evidence"] == "checked" {
            return got.body;
        }
        assert_eq!(got.body["evidence"], "pending", "{}", got.text);
        assert!(
            std::time::Instant::now() < deadline,
            "the photo checks of submission {id} never ran"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Opens the test campaign (`campaign_yaml`) as the admin; returns its id.
pub fn open_campaign(fx: &Fixture) -> i64 {
    let loaded = fx.login("admin").post_raw(
        "/api/v1/campaigns",
        "application/yaml",
        campaign_yaml().as_bytes(),
    );
    assert_eq!(loaded.status, 201, "{}", loaded.text);
    loaded.body["id"].as_i64().expect("campaign id")
}

pub fn campaign_yaml() -> String {
    let today = Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).expect("offset"))
        .date_naive();
    let day = |d: i64| (today + Duration::days(d)).format("%Y-%m-%d").to_string();
    format!(
        "code: test-campaign
name: Cao điểm thử nghiệm
directive: 153/KH-CAT-PA08
scope: P
starts_on: {start}
ends_on: {end}
targets:
  - {{kind: village_pledge, who: every_village, threshold_percent: 100, deadline: {end}}}
  - {{kind: village_meeting, who: every_village, threshold_percent: 100, deadline: {yesterday}}}
  - {{kind: household_reporting, who: every_household, threshold_percent: 100, deadline: {end}}}
  - {{kind: relative_abroad, who: {{households_in: [relative_abroad_illegal]}}, threshold_percent: 100, deadline: {end}}}
  - {{kind: returnee_no_reoffend, who: {{households_in: [returnee]}}, threshold_percent: 50, deadline: {end}}}
  - {{kind: business_compliance, who: {{households_in: [business_transport]}}, threshold_percent: 100, deadline: {end}}}
",
        start = day(-10),
        end = day(20),
        yesterday = day(-1)
    )
}
