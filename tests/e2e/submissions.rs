//! A working group's day: submit commitments with photos and geotags, resend
//! after a lost reply, have an officer review them, correct a rejected one; and
//! the evidence checks that put the risky submissions first.

use chrono::Duration;
use serde_json::{json, Value};

use camket::devtools::synthetic::{self, ExifSpec};

use crate::harness::field::{households, local, paper, settled, with_forms, Visit};
use crate::harness::{Client, Part};

fn flag_codes(body: &Value) -> Vec<String> {
    body["flags"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|x| x["code"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

const H1: (f64, f64) = (19.01, 105.01);

/// Sends a signed `relative_abroad` commitment for `household` of V1,
/// photographed at H1 at `at`; its id.
fn send_commitment(
    fx: &crate::fixture::Fixture,
    surveyor: &Client,
    household: i64,
    at: chrono::DateTime<chrono::FixedOffset>,
    photo: Vec<u8>,
) -> i64 {
    let visit = Visit::commitment(
        fx,
        "V1",
        Some(household),
        "relative_abroad",
        at,
        Some(H1),
        photo,
    );
    let sent = visit.send(surveyor);
    assert_eq!(sent.status, 201, "{}", sent.text);
    sent.body["id"].as_i64().expect("id")
}

/// Runs `sql` on the database (of a stopped server); the rows it touched.
fn execute(db: &camket_schema::Db, sql: &str) -> usize {
    use diesel::RunQueryDsl;
    let run = || -> Result<usize, camket_schema::DbError> {
        Ok(camket_schema::with_conn!(db, |conn| diesel::sql_query(
            sql
        )
        .execute(conn))?)
    };
    run().expect(sql)
}

/// Puts submission `id` back in the evidence backlog without its flags, as
/// when the server stopped after decoding its photos and before settling
/// it; the flags taken off.
fn as_if_stopped_mid_check(db: &camket_schema::Db, id: i64) -> usize {
    let pending = format!(
        "UPDATE submissions SET evidence_pending = TRUE, flags = '[]', risk = 0 WHERE id = {id}"
    );
    assert_eq!(execute(db, &pending), 1, "{pending}");
    execute(
        db,
        &format!("DELETE FROM submission_flags WHERE submission_id = {id}"),
    )
}

per_backend! {
    fn a_surveyor_submits_a_commitment_and_an_officer_approves_it(backend) {
        let fx = with_forms(backend, &[]);
        let homes = households(&fx, "V1");
        let surveyor = fx.login("surveyor");
        let when = local(2, 9);
        let photo = paper(1, when, Some(H1));
        let visit = Visit::commitment(
            &fx,
            "V1",
            Some(homes["H1"]),
            "relative_abroad",
            when,
            Some(H1),
            photo.clone(),
        );
        let sent = visit.send(&surveyor);
        assert_eq!(sent.status, 201, "{backend:?}: {}", sent.text);
        assert_eq!(sent.body["status"], "received");
        assert_eq!(
            sent.body["flags"],
            json!([]),
            "a clean submission raises no flag"
        );
        assert_eq!(sent.body["risk"], 0);
        assert_eq!(sent.body["commitment_kind"], "relative_abroad");
        let id = sent.body["id"].as_i64().expect("id");
        // Accepted after the cheap checks; decoding and comparison follow.
        let checked = settled(&surveyor, id);
        assert_eq!(checked["flags"], json!([]), "{checked}");
        assert_eq!(checked["risk"], 0);

        let stored = surveyor.get(&format!("/api/v1/submissions/{id}"));
        assert_eq!(stored.status, 200, "{}", stored.text);
        assert_eq!(stored.body["answers"]["signer_name"], "Lê Văn An");
        let photo_id = stored.body["photos"][0]["id"].as_i64().expect("photo id");
        assert_eq!(stored.body["photos"][0]["field"], "signed_paper_photo");

        let officer = fx.login("officer");
        let thumb = officer.get(&format!(
            "/api/v1/submissions/{id}/photos/{photo_id}?size=thumb"
        ));
        assert_eq!(thumb.status, 200);
        assert_eq!(thumb.content_type, "image/jpeg");
        // A shared office PC keeps no copy for long after logout.
        let cached = thumb.header("cache-control").unwrap_or("");
        assert!(cached.contains("private") && !cached.contains("immutable"), "{cached}");
        let original = officer.get_bytes(&format!(
            "/api/v1/submissions/{id}/photos/{photo_id}?size=original"
        ));
        assert_eq!(original, photo, "the original comes back byte for byte");
        let original_headers = officer.get(&format!(
            "/api/v1/submissions/{id}/photos/{photo_id}?size=original"
        ));
        assert_eq!(
            original_headers.header("cache-control"),
            Some("private, no-store")
        );
        let thumb_bytes = officer.get_bytes(&format!(
            "/api/v1/submissions/{id}/photos/{photo_id}?size=thumb"
        ));
        let thumb_image = image::load_from_memory(&thumb_bytes).expect("thumbnail decodes");
        assert!(thumb_image.width().max(thumb_image.height()) <= 320);
        let review_bytes = officer.get_bytes(&format!(
            "/api/v1/submissions/{id}/photos/{photo_id}?size=review"
        ));
        let review_image = image::load_from_memory(&review_bytes).expect("review size decodes");
        assert_eq!(
            review_image.width(),
            1200,
            "a 1200-px photo is not enlarged"
        );
        officer
            .get(&format!(
                "/api/v1/submissions/{id}/photos/{photo_id}?size=huge"
            ))
            .assert_problem(400);
        fx.login("officer2")
            .get(&format!(
                "/api/v1/submissions/{id}/photos/{photo_id}?size=thumb"
            ))
            .assert_problem(404);

        let queue = officer.get("/api/v1/submissions?status=received");
        assert_eq!(queue.body["items"][0]["id"], id);
        let approved = officer.post_json(
            &format!("/api/v1/submissions/{id}/review"),
            &json!({"decision": "approve"}),
        );
        assert_eq!(approved.status, 200, "{}", approved.text);
        assert_eq!(approved.body["status"], "approved");

        let history = surveyor.get(&format!("/api/v1/submissions/{id}/history"));
        let steps: Vec<(String, String)> = history.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap_or("").to_string(),
                    e["actor"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        assert_eq!(
            steps,
            vec![
                ("submitted".to_string(), "surveyor".to_string()),
                ("reviewed".to_string(), "officer".to_string())
            ]
        );
        let mine = surveyor.get("/api/v1/submissions?mine=true");
        assert_eq!(mine.body["items"][0]["status"], "approved");
    }
}

per_backend! {
    fn resending_is_safe_and_a_changed_resend_conflicts(backend) {
        let fx = with_forms(backend, &[]);
        let homes = households(&fx, "V1");
        let surveyor = fx.login("surveyor");
        let when = local(3, 10);
        let visit = Visit::commitment(
            &fx,
            "V1",
            Some(homes["H2"]),
            "household_reporting",
            when,
            Some(H1),
            paper(2, when, Some(H1)),
        );
        let first = visit.send(&surveyor);
        assert_eq!(first.status, 201, "{backend:?}: {}", first.text);
        let again = visit.send(&surveyor);
        assert_eq!(again.status, 200, "{}", again.text);
        assert_eq!(again.body["id"], first.body["id"]);

        let mut changed = Visit {
            document: visit.document.clone(),
            parts: visit.parts.clone(),
        };
        changed.document["answers"]["signer_name"] = json!("Người Khác");
        let conflict = changed.send(&surveyor);
        assert!(conflict.assert_problem(409)["detail"]
            .as_str()
            .unwrap_or("")
            .contains("different content"));
        let other_photo = Visit {
            document: visit.document.clone(),
            parts: vec![Part::photo(
                "signed_paper_photo",
                "paper.jpg",
                paper(3, when, Some(H1)),
            )],
        };
        other_photo.send(&surveyor).assert_problem(409);

        // Two phones' retries arriving at once: one record.
        let twin = Visit::commitment(
            &fx,
            "V1",
            Some(homes["H3"]),
            "household_reporting",
            when + Duration::minutes(5),
            Some(H1),
            paper(4, when, Some(H1)),
        );
        let answers: Vec<(u16, i64)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        let r = twin.send(&surveyor);
                        (r.status, r.body["id"].as_i64().unwrap_or(-1))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        let ids: std::collections::BTreeSet<i64> = answers.iter().map(|(_, id)| *id).collect();
        assert_eq!(ids.len(), 1, "{answers:?}");
        assert!(
            answers
                .iter()
                .all(|(status, _)| *status == 201 || *status == 200),
            "{answers:?}"
        );
        assert_eq!(
            answers.iter().filter(|(status, _)| *status == 201).count(),
            1,
            "{answers:?}"
        );
        let mine = surveyor.get("/api/v1/submissions?mine=true");
        assert_eq!(mine.body["items"].as_array().map(Vec::len), Some(2));
    }
}

per_backend! {
    fn each_evidence_flag_is_raised_by_real_photos_and_geotags(backend) {
        let fx = with_forms(backend, &[]);
        let homes = households(&fx, "V1");
        let v2 = households(&fx, "V2");
        let surveyor = fx.login("surveyor");
        let officer = fx.login("officer");
        let mut day = 40;
        let mut next_day = || {
            day -= 1;
            local(day, 9)
        };
        let send = |visit: &Visit| {
            let response = visit.send(&surveyor);
            assert_eq!(response.status, 201, "{backend:?}: {}", response.text);
            response.body.clone()
        };

        let when = next_day();
        let clean = send(&Visit::commitment(
            &fx,
            "V1",
            Some(homes["H1"]),
            "relative_abroad",
            when,
            Some(H1),
            paper(10, when, Some(H1)),
        ));
        assert_eq!(flag_codes(&clean), Vec::<String>::new(), "{clean}");

        let when = next_day();
        let mut missing = Visit::commitment(
            &fx,
            "V1",
            Some(homes["H1"]),
            "household_reporting",
            when,
            None,
            paper(11, when, None),
        );
        missing.document.as_object_mut().map(|d| d.remove("geotag"));
        assert_eq!(flag_codes(&send(&missing)), vec!["geotag_missing"]);

        let when = next_day();
        let mut vague = Visit::commitment(
            &fx,
            "V1",
            Some(homes["H1"]),
            "household_reporting",
            when,
            Some(H1),
            paper(12, when, Some(H1)),
        );
        vague.document["geotag"]["accuracy_m"] = json!(180.0);
        let body = send(&vague);
        assert_eq!(flag_codes(&body), vec!["low_accuracy"]);
        assert_eq!(body["flags"][0]["value"], 180.0);

        let when = next_day();
        let away = (19.01, 105.05);
        let body = send(&Visit::commitment(
            &fx,
            "V1",
            Some(homes["H1"]),
            "household_reporting",
            when,
            Some(away),
            paper(13, when, Some(away)),
        ));
        assert_eq!(
            flag_codes(&body),
            vec!["outside_village", "far_from_household"]
        );
        assert!(
            body["flags"][0]["detail"]
                .as_str()
                .unwrap_or("")
                .ends_with("m outside the boundary of Thôn Một"),
            "{body}"
        );

        let when = next_day();
        let corner = (19.001, 105.001);
        let body = send(&Visit::commitment(
            &fx,
            "V1",
            Some(homes["H1"]),
            "household_reporting",
            when,
            Some(corner),
            paper(14, when, Some(corner)),
        ));
        assert_eq!(flag_codes(&body), vec!["far_from_household"]);

        let when = next_day();
        let body = send(&Visit::commitment(
            &fx,
            "V1",
            Some(homes["H1"]),
            "household_reporting",
            when,
            Some(H1),
            paper(15, when - Duration::hours(7), Some(H1)),
        ));
        assert_eq!(flag_codes(&body), vec!["photo_time_mismatch"]);
        assert_eq!(body["flags"][0]["photo"], "paper.jpg");

        let when = next_day();
        let body = send(&Visit::commitment(
            &fx,
            "V1",
            Some(homes["H1"]),
            "household_reporting",
            when,
            Some(H1),
            paper(16, when, Some((19.06, 105.01))),
        ));
        assert_eq!(flag_codes(&body), vec!["photo_location_mismatch"]);

        let tomorrow = local(-2, 9);
        let body = send(&Visit::commitment(
            &fx,
            "V1",
            Some(homes["H1"]),
            "household_reporting",
            tomorrow,
            Some(H1),
            paper(17, tomorrow, Some(H1)),
        ));
        assert_eq!(flag_codes(&body), vec!["future_time"]);

        // Two households 25 km apart, 10 minutes apart.
        let when = next_day();
        send(&Visit::commitment(
            &fx,
            "V1",
            Some(homes["H2"]),
            "household_reporting",
            when,
            Some(H1),
            paper(18, when, Some(H1)),
        ));
        let later = when + Duration::minutes(10);
        let far_away = (19.2, 105.2);
        let body = send(&Visit::commitment(
            &fx,
            "V1",
            Some(homes["H3"]),
            "household_reporting",
            later,
            Some(far_away),
            paper(19, later, Some(far_away)),
        ));
        assert!(
            flag_codes(&body).contains(&"impossible_travel".to_string()),
            "{body}"
        );

        // The same photo file for another household.
        let when = next_day();
        let reused = paper(20, when, Some(H1));
        let first = send(&Visit::commitment(
            &fx,
            "V1",
            Some(homes["H2"]),
            "relative_abroad",
            when,
            Some(H1),
            reused.clone(),
        ));
        assert_eq!(flag_codes(&first), Vec::<String>::new());
        let first = settled(&officer, first["id"].as_i64().expect("id"));
        assert_eq!(flag_codes(&first), Vec::<String>::new(), "the original is not flagged");
        let later = when + Duration::minutes(20);
        let body = send(&Visit::commitment(
            &fx,
            "V1",
            Some(homes["H3"]),
            "relative_abroad",
            later,
            Some(H1),
            reused.clone(),
        ));
        assert_eq!(flag_codes(&body), vec!["duplicate_photo"]);
        assert_eq!(body["flags"][0]["other_submission"], first["id"]);
        assert!(
            body["flags"][0]["detail"]
                .as_str()
                .unwrap_or("")
                .contains("household H2"),
            "{body}"
        );

        // A cropped, re-encoded copy for a household of another village (officer's area).
        let original = image::load_from_memory(&reused).expect("decode");
        let copy = synthetic::jpeg_with_exif(
            &synthetic::crop_percent(&original, 5.0),
            70,
            &ExifSpec {
                taken_local: Some(later.naive_local()),
                offset: None,
                gps: Some(H1),
            },
        );
        let copy_sha = crate::crashes::hex_sha256(&copy);
        let v2_point = (19.1, 105.1);
        let body = officer
            .post_multipart("/api/v1/submissions", &{
                let visit = Visit::commitment(
                    &fx,
                    "V2",
                    Some(v2["H1"]),
                    "relative_abroad",
                    later,
                    Some(v2_point),
                    copy,
                );
                let mut parts = vec![Part::json(&visit.document)];
                parts.extend(visit.parts);
                parts
            })
            .body;
        assert_eq!(body["evidence"], "pending", "{body}");
        let body = settled(&officer, body["id"].as_i64().expect("id"));
        assert!(
            flag_codes(&body).contains(&"duplicate_photo".to_string()),
            "{body}"
        );
        assert!(
            body["flags"]
                .as_array()
                .expect("flags")
                .iter()
                .any(|f| f["detail"]
                    .as_str()
                    .unwrap_or("")
                    .contains("near-identical")),
            "{body}"
        );

        // The same signed paper photographed again (moved and turned on the
        // table, other light): flagged, and said to be a new photo of it.
        let again = synthetic::jpeg_with_exif(
            &synthetic::PaperPhoto::new(
                synthetic::Scene {
                    seed: 5,
                    paper_shift: (20, 24),
                },
                20,
            )
            .shot(synthetic::Shot {
                rotation_deg: 1.4,
                scale: 1.0,
                light: 0.94,
                take: 3,
            })
            .render(),
            85,
            &ExifSpec {
                taken_local: Some(later.naive_local()),
                offset: None,
                gps: Some(H1),
            },
        );
        let again_sha = crate::crashes::hex_sha256(&again);
        let body = send(&Visit::commitment(
            &fx,
            "V1",
            Some(homes["H1"]),
            "relative_abroad",
            later + Duration::minutes(5),
            Some(H1),
            again,
        ));
        let body = settled(&officer, body["id"].as_i64().expect("id"));
        let reuse = body["flags"]
            .as_array()
            .expect("flags")
            .iter()
            .find(|f| f["code"] == "duplicate_photo")
            .unwrap_or_else(|| panic!("the paper photographed again is flagged: {body}"))
            .clone();
        assert!(
            reuse["detail"]
                .as_str()
                .unwrap_or("")
                .contains("the same signed paper photographed again"),
            "{reuse}"
        );

        // A different paper on the same template, same table: not a duplicate.
        let when = next_day();
        let body = send(&Visit::commitment(
            &fx,
            "V1",
            Some(homes["H3"]),
            "relative_abroad",
            when,
            Some(H1),
            paper(21, when, Some(H1)),
        ));
        let body = settled(&officer, body["id"].as_i64().expect("id"));
        assert!(
            !flag_codes(&body).contains(&"duplicate_photo".to_string()),
            "{body}"
        );

        // The officer's queue: riskiest first, filterable by flag.
        let queue = officer.get("/api/v1/submissions?limit=100");
        let risks: Vec<i64> = queue.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|s| s["risk"].as_i64().unwrap_or(0))
            .collect();
        assert!(risks.windows(2).all(|w| w[0] >= w[1]), "{risks:?}");
        let duplicates = officer.get("/api/v1/submissions?flag=duplicate_photo");
        assert_eq!(
            duplicates.body["items"].as_array().map(Vec::len),
            Some(3),
            "the same file, the cropped copy and the paper photographed again: {}",
            duplicates.text
        );
        officer
            .get("/api/v1/submissions?flag=made_up")
            .assert_problem(400);
        let page = officer.get("/api/v1/submissions?limit=3");
        let cursor = page.body["next_cursor"]
            .as_str()
            .expect("cursor")
            .to_string();
        let next = officer.get(&format!("/api/v1/submissions?limit=3&cursor={cursor}"));
        assert_ne!(next.body["items"][0]["id"], page.body["items"][0]["id"]);

        // The keypoint index holds the honest papers, not the copy nor the
        // paper photographed again; rebuilt from the stored fingerprints (as
        // after an upgrade that changes the keys), it holds the same again.
        let db = camket_schema::Db::connect(&fx.env.database_url, 2).expect("database");
        type Posting = (i64, String, Option<i64>, Option<i16>, Option<i16>);
        let postings = || -> Vec<Posting> {
            use camket_schema::tables::photo_keys;
            use diesel::prelude::*;
            let load = || -> Result<Vec<Posting>, camket_schema::DbError> {
                Ok(camket_schema::with_conn!(&db, |conn| photo_keys::table
                    .select((
                        photo_keys::key,
                        photo_keys::sha256,
                        photo_keys::village_id,
                        photo_keys::x,
                        photo_keys::y
                    ))
                    .order((photo_keys::key, photo_keys::sha256))
                    .load::<Posting>(conn)?))
            };
            load().expect("postings")
        };
        let before = postings();
        let indexed: std::collections::HashSet<&str> =
            before.iter().map(|(_, sha, ..)| sha.as_str()).collect();
        // Each posting says where its keypoint lies in the work image, for
        // the votes of a search (`evidence::candidates`).
        let unplaced = |postings: &[Posting]| {
            postings
                .iter()
                .filter(|(.., x, y)| !matches!((x, y), (Some(0..=480), Some(0..=480))))
                .count()
        };
        assert_eq!(unplaced(&before), 0);
        // Each photo is indexed under the village it was sent from (they all
        // come from V1), so that its reuse is looked for there too.
        let villages: std::collections::HashSet<Option<i64>> =
            before.iter().map(|(_, _, village, ..)| *village).collect();
        assert_eq!(villages.len(), 1, "{villages:?}");
        assert!(villages.iter().all(Option::is_some), "{villages:?}");
        // A photo indexed before the postings had villages (migration 16)
        // gets the village of the first submission that sent it.
        let migration =
            include_str!("../../migrations/sqlite/2026-12-08-000016_photo_keys_village/up.sql");
        assert_eq!(
            migration,
            include_str!("../../migrations/postgres/2026-12-08-000016_photo_keys_village/up.sql"),
            "one migration for both backends"
        );
        let fill = migration
            .split(';')
            .find(|statement| statement.contains("UPDATE photo_keys"))
            .expect("the migration fills the villages");
        assert_eq!(execute(&db, "UPDATE photo_keys SET village_id = NULL"), before.len());
        assert_eq!(execute(&db, fill), before.len());
        assert_eq!(postings(), before);
        assert!(indexed.contains(crate::crashes::hex_sha256(&reused).as_str()));
        assert!(!indexed.contains(copy_sha.as_str()) && !indexed.contains(again_sha.as_str()));
        camket::submissions::store::clear_photo_index(&db).expect("clear");
        assert!(postings().is_empty());
        let out = crate::fixture::ok(fx.env.camket(&["reindex-photos"]), "reindex-photos");
        let count = |what: &str| -> usize {
            out.split(';')
                .find(|part| part.contains(what))
                .and_then(|part| part.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("'{what}' in {out}"))
        };
        // Photos whose keys are all the template's have no postings.
        assert!(count("photos indexed") >= indexed.len(), "{out}");
        assert_eq!(
            count("left out as repeats"),
            2,
            "the copy and the new photo of the same paper: {out}"
        );
        // The same photos, and every earlier posting is back or its key is
        // now common: checks running side by side on PostgreSQL may each
        // miss the other's posting when counting a key's photos, which one
        // rebuild in order does not. (A few postings may be new: the copies
        // no longer count towards making a key common, as they did for a
        // moment during their checks.)
        let after = postings();
        let shas = |p: &[Posting]| -> std::collections::BTreeSet<String> {
            p.iter().map(|(_, sha, ..)| sha.clone()).collect()
        };
        assert_eq!(shas(&after), shas(&before));
        let common: std::collections::HashSet<i64> = {
            use camket_schema::tables::common_photo_keys;
            use diesel::prelude::*;
            let load = || -> Result<Vec<i64>, camket_schema::DbError> {
                Ok(camket_schema::with_conn!(&db, |conn| common_photo_keys::table
                    .select(common_photo_keys::key)
                    .load::<i64>(conn)?))
            };
            load().expect("common keys").into_iter().collect()
        };
        // Rebuilt with the village of the submission that sent each photo,
        // and each keypoint's place (postings written before migration 19
        // had none).
        let rebuilt: std::collections::HashSet<&Posting> = after.iter().collect();
        let lost = before
            .iter()
            .filter(|p| !rebuilt.contains(p) && !common.contains(&p.0))
            .count();
        assert_eq!(lost, 0, "{lost} of {} postings not rebuilt", before.len());
        assert_eq!(unplaced(&after), 0);
    }
}

per_backend! {
    fn a_server_skips_the_keys_it_knows_are_common_and_forgets_them_when_the_index_is_cleared(backend) {
        use camket::evidence::candidates::{Order, Sharers};
        use camket::evidence::keypoints::PlacedKey;
        use camket::submissions::store::{self, CommonKeys, COMMON_KEY_PHOTOS};
        let env = crate::harness::TestEnv::new(backend);
        let db = camket_schema::Db::connect(&env.database_url, 2).expect("database");
        let photo = |n: i64| format!("{n:064x}");
        let another_instance = CommonKeys::default();
        // Keys whose places do not matter here: all in one corner.
        let placed = |keys: &[i64]| -> Vec<PlacedKey> {
            keys.iter()
                .map(|key| PlacedKey {
                    key: *key,
                    place: (0, 0),
                })
                .collect()
        };
        let index_placed = |n: i64, keys: &[PlacedKey]| {
            store::index_photo_keys(&db, &another_instance, &photo(n), keys, Some(n % 2))
                .expect("index a photo");
        };
        let index = |n: i64, keys: &[i64]| index_placed(n, &placed(keys));
        let (template, margin, handwriting) = (7, 8, 1000);
        let this_server = CommonKeys::default();
        let looked_up = |keys: &[i64]| this_server.looked_up(&db, keys).expect("read");
        assert_eq!(looked_up(&[template, margin]), vec![template, margin]);

        // Every paper carries the template's mark: it turns common (as
        // another instance's checks would make it) and is no longer looked up.
        for n in 0..COMMON_KEY_PHOTOS {
            index(n, &[template, handwriting + n]);
        }
        assert_eq!(looked_up(&[template, margin]), vec![margin]);
        // A key turned common later is read with what was added since.
        for n in 100..100 + COMMON_KEY_PHOTOS {
            index(n, &[margin]);
        }
        assert_eq!(
            looked_up(&[template, margin, handwriting]),
            vec![handwriting]
        );
        let found = store::reuse_candidates(
            &db,
            &this_server,
            &photo(999),
            &placed(&[template, margin, handwriting]),
            None,
            1,
            10,
        )
        .expect("search");
        assert_eq!(found, vec![(photo(0), 1)], "the handwriting still finds its paper");
        let sharers = store::ranked_sharers(
            &db,
            &this_server,
            &photo(999),
            &placed(&[template, margin, handwriting]),
            None,
        )
        .expect("search");
        assert_eq!(sharers.in_the_village, vec![], "sent from no village");
        assert_eq!(
            sharers
                .everywhere
                .iter()
                .map(|s| (s.sha.clone(), s.shared, s.held_by_it_alone))
                .collect::<Vec<_>>(),
            vec![(photo(0), 1, 1)],
            "the key of its handwriting is held by that paper alone"
        );

        // Cleared (`reindex-photos`) and built again from two papers: the
        // template's mark is rare again and has postings, which this server,
        // having known it as common, must look up again.
        store::clear_photo_index(&db).expect("clear");
        index(0, &[template, handwriting]);
        index(1, &[template, handwriting + 1]);
        assert_eq!(looked_up(&[template, margin]), vec![template, margin]);
        let found = store::reuse_candidates(
            &db,
            &this_server,
            &photo(999),
            &placed(&[template]),
            None,
            1,
            10,
        )
        .expect("search");
        assert_eq!(found, vec![(photo(0), 1), (photo(1), 1)]);
        let sharers =
            store::ranked_sharers(&db, &this_server, &photo(999), &placed(&[template]), Some(1))
                .expect("search");
        assert!(
            sharers
                .everywhere
                .iter()
                .all(|s| s.held_by_it_alone == 0 && (s.weight - 0.5).abs() < 1e-9),
            "a key two papers hold weighs a half for each, and is neither's own: {sharers:?}"
        );
        // In village 1, where paper 1 alone was sent from, the key is its own.
        assert_eq!(
            sharers
                .in_the_village
                .iter()
                .map(|s| (s.sha.clone(), s.held_by_it_alone, s.weight))
                .collect::<Vec<_>>(),
            vec![(photo(1), 1, 1.0)]
        );

        // The places kept with the postings give the votes. Paper 2000
        // shares three keys that all moved by (20, -5); paper 2001 four
        // keys of its own (more weight) that lie anywhere.
        let at = |key: i64, place: (i16, i16)| PlacedKey { key, place };
        index_placed(
            2000,
            &[at(5001, (10, 10)), at(5002, (100, 40)), at(5003, (200, 90))],
        );
        index_placed(
            2001,
            &[
                at(5004, (300, 300)),
                at(5005, (5, 200)),
                at(5006, (400, 20)),
                at(5007, (150, 150)),
            ],
        );
        let searched = [
            at(5001, (30, 5)),
            at(5002, (120, 35)),
            at(5003, (220, 85)),
            at(5004, (10, 10)),
            at(5005, (250, 30)),
            at(5006, (60, 400)),
            at(5007, (420, 100)),
        ];
        let sharers = store::ranked_sharers(&db, &this_server, &photo(999), &searched, None)
            .expect("search");
        let seen: Vec<(String, usize, usize)> = sharers
            .everywhere
            .iter()
            .map(|s| (s.sha.clone(), s.shared, s.votes()))
            .collect();
        assert_eq!(seen, vec![(photo(2001), 4, 0), (photo(2000), 3, 3)]);
        let in_order = |sharers: &Sharers, order: Order| {
            sharers.clone().ordered(order).candidates(1, 10)
        };
        let (by_weight, by_votes) = (
            vec![(photo(2001), 4), (photo(2000), 3)],
            vec![(photo(2000), 3), (photo(2001), 4)],
        );
        assert_eq!(in_order(&sharers, Order::ByWeight), by_weight);
        assert_eq!(in_order(&sharers, Order::ByVotes), by_votes);
        // Postings written before places were kept (migration 19) have
        // none: paper 2000's then give no votes, and by votes the two go by
        // weight, until `reindex-photos` places them.
        {
            use camket_schema::tables::photo_keys;
            use diesel::prelude::*;
            let unplace = || -> Result<usize, camket_schema::DbError> {
                Ok(camket_schema::with_conn!(&db, |conn| diesel::update(
                    photo_keys::table.filter(photo_keys::sha256.eq(photo(2000)))
                )
                .set((
                    photo_keys::x.eq(None::<i16>),
                    photo_keys::y.eq(None::<i16>)
                ))
                .execute(conn))?)
            };
            assert_eq!(unplace().expect("unplace"), 3);
        }
        let unplaced = store::ranked_sharers(&db, &this_server, &photo(999), &searched, None)
            .expect("search");
        assert!(unplaced.everywhere.iter().all(|s| s.votes() == 0));
        assert_eq!(in_order(&unplaced, Order::ByVotes), by_weight);
    }
}

per_backend! {
    fn reviews_follow_role_area_and_ownership_and_rejections_are_corrected(backend) {
        let fx = with_forms(backend, &[]);
        let homes = households(&fx, "V1");
        let surveyor = fx.login("surveyor");
        let officer = fx.login("officer");
        let when = local(5, 9);
        let sent = Visit::commitment(
            &fx,
            "V1",
            Some(homes["H1"]),
            "relative_abroad",
            when,
            Some(H1),
            paper(30, when, Some(H1)),
        )
        .send(&surveyor);
        let id = sent.body["id"].as_i64().expect("id");
        let review = |client: &Client, body: Value| {
            client.post_json(&format!("/api/v1/submissions/{id}/review"), &body)
        };

        review(&surveyor, json!({"decision": "approve"})).assert_problem(403);
        review(&fx.login("viewer"), json!({"decision": "approve"})).assert_problem(403);
        // Outside their area, the submission is not there at all.
        review(&fx.login("officer2"), json!({"decision": "approve"})).assert_problem(404);
        let no_reason = review(&officer, json!({"decision": "reject"}));
        assert_eq!(
            no_reason.assert_problem(422)["errors"][0]["field"],
            "comment"
        );
        review(&officer, json!({"decision": "maybe"})).assert_problem(400);
        fx.login("viewer")
            .get(&format!("/api/v1/submissions/{id}"))
            .status
            .eq(&200)
            .then_some(())
            .expect("the viewer of the district reads it");
        fx.login("officer2")
            .get(&format!("/api/v1/submissions/{id}"))
            .assert_problem(404);
        fx.login("surveyor3")
            .get(&format!("/api/v1/submissions/{id}"))
            .assert_problem(404);

        // The officer's own submission cannot be approved by the officer.
        let own = Visit::commitment(
            &fx,
            "V1",
            Some(homes["H2"]),
            "household_reporting",
            when + Duration::hours(1),
            Some(H1),
            paper(31, when, Some(H1)),
        )
        .send(&officer);
        assert_eq!(own.status, 201, "{}", own.text);
        officer
            .post_json(
                &format!("/api/v1/submissions/{}/review", own.body["id"]),
                &json!({"decision": "approve"}),
            )
            .assert_problem(403);

        let rejected = review(
            &officer,
            json!({"decision": "reject", "comment": "Ảnh bản cam kết bị mờ, chụp lại"}),
        );
        assert_eq!(rejected.status, 200, "{}", rejected.text);
        assert_eq!(rejected.body["status"], "rejected");
        assert_eq!(
            rejected.body["review_comment"], "Ảnh bản cam kết bị mờ, chụp lại",
            "the reason is shown with the submission"
        );
        // The surveyor sees the reason in their own list and in the submission.
        let mine = surveyor.get("/api/v1/submissions?mine=true&status=rejected");
        assert_eq!(mine.body["items"][0]["id"], id);
        assert_eq!(
            mine.body["items"][0]["review_comment"],
            "Ảnh bản cam kết bị mờ, chụp lại"
        );
        let seen = surveyor.get(&format!("/api/v1/submissions/{id}"));
        assert_eq!(seen.body["review_comment"], "Ảnh bản cam kết bị mờ, chụp lại");

        let mut correction = Visit::commitment(
            &fx,
            "V1",
            Some(homes["H1"]),
            "relative_abroad",
            when + Duration::hours(2),
            Some(H1),
            paper(32, when + Duration::hours(2), Some(H1)),
        );
        correction.document["corrects"] = json!(id);
        let corrected = correction.send(&surveyor);
        assert_eq!(corrected.status, 201, "{}", corrected.text);
        assert_eq!(corrected.body["supersedes"], id);
        let new_id = corrected.body["id"].as_i64().expect("id");
        let original = surveyor.get(&format!("/api/v1/submissions/{id}"));
        assert_eq!(original.body["superseded_by"], new_id);
        assert_eq!(
            original.body["status"], "rejected",
            "the rejected revision is kept as it was"
        );
        review(&officer, json!({"decision": "approve"})).assert_problem(409);

        let mut again = Visit::commitment(
            &fx,
            "V1",
            Some(homes["H1"]),
            "relative_abroad",
            when + Duration::hours(3),
            Some(H1),
            paper(33, when, Some(H1)),
        );
        again.document["corrects"] = json!(id);
        again.send(&surveyor).assert_problem(409);

        assert_eq!(
            officer
                .post_json(
                    &format!("/api/v1/submissions/{new_id}/review"),
                    &json!({"decision": "approve"})
                )
                .status,
            200
        );
        let history = officer.get(&format!("/api/v1/submissions/{new_id}/history"));
        let actions: Vec<&str> = history.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        assert_eq!(
            actions,
            vec![
                "submitted",
                "reviewed",
                "corrected",
                "superseded",
                "reviewed"
            ]
        );
        let reason = history.body["items"][1]["comment"].as_str().unwrap_or("");
        assert!(reason.contains("bị mờ"));
        // An approval can be reversed, and that is recorded too.
        let reversed = officer.post_json(
            &format!("/api/v1/submissions/{new_id}/review"),
            &json!({"decision": "has_issues", "comment": "kiểm tra lại chữ ký"}),
        );
        assert_eq!(reversed.body["status"], "has_issues");
    }
}

per_backend! {
    fn an_approved_household_survey_sets_the_household_categories(backend) {
        let fx = with_forms(backend, &[]);
        let homes = households(&fx, "V1");
        let surveyor = fx.login("surveyor");
        let before = surveyor.get(&format!("/api/v1/villages/{}/households", fx.area("V1")));
        let cursor = before.body["next_cursor"]
            .as_str()
            .expect("cursor")
            .to_string();
        let when = local(1, 8);
        let document = json!({
            "instance_id": uuid::Uuid::new_v4().to_string(),
            "form_id": "household-survey",
            "form_version": 1,
            "village_id": fx.area("V1"),
            "household_id": homes["H2"],
            "collected_at": when.to_rfc3339(),
            "geotag": {"lat": H1.0, "lon": H1.1, "accuracy_m": 6.0},
            "answers": {
                "member_count": 3,
                "has_relative_abroad": true,
                "relatives_abroad": [{"full_name": "Trần Văn Dũng", "relation": "con trai", "country": "Hàn Quốc", "purpose": "labour", "legal_status": "illegal"}],
                "has_relative_detained": false,
                "has_returnee": false,
                "broker_signs": false
            }
        });
        let sent = surveyor.post_multipart("/api/v1/submissions", &[Part::json(&document)]);
        assert_eq!(sent.status, 201, "{backend:?}: {}", sent.text);
        let household = surveyor.get(&format!("/api/v1/households/{}", homes["H2"]));
        assert_eq!(
            household.body["categories"],
            json!([]),
            "not before approval"
        );

        let officer = fx.login("officer");
        let approved = officer.post_json(
            &format!("/api/v1/submissions/{}/review", sent.body["id"]),
            &json!({"decision": "approve"}),
        );
        assert_eq!(approved.status, 200, "{}", approved.text);
        let household = surveyor.get(&format!("/api/v1/households/{}", homes["H2"]));
        assert_eq!(
            household.body["categories"],
            json!(["relative_abroad", "relative_abroad_illegal"])
        );
        let delta = surveyor.get(&format!(
            "/api/v1/villages/{}/households?since={cursor}",
            fx.area("V1")
        ));
        let changed: Vec<&str> = delta.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|h| h["code"].as_str())
            .collect();
        assert_eq!(
            changed,
            vec!["H2"],
            "phones learn of the new categories by delta"
        );

        // A submission with answer problems lists every field.
        let mut bad = document.clone();
        bad["instance_id"] = json!(uuid::Uuid::new_v4().to_string());
        bad["answers"]["relatives_abroad"][0]["purpose"] = json!("smuggling");
        bad["answers"]
            .as_object_mut()
            .map(|a| a.remove("broker_signs"));
        let refused = surveyor.post_multipart("/api/v1/submissions", &[Part::json(&bad)]);
        let fields: Vec<&str> = refused.assert_problem(422)["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert_eq!(
            fields,
            vec![
                "answers.relatives_abroad[0].purpose",
                "answers.broker_signs"
            ]
        );
    }
}

per_backend! {
    fn an_officer_reads_each_photo_s_exif_and_is_told_when_it_cannot_be_read(backend) {
        let fx = with_forms(backend, &[]);
        let homes = households(&fx, "V1");
        let surveyor = fx.login("surveyor");
        let officer = fx.login("officer");
        let when = local(1, 9);

        // A phone's photo: its time and place are shown beside the submission.
        let good = Visit::commitment(
            &fx, "V1", Some(homes["H1"]), "household_reporting", when, Some(H1),
            paper(60, when, Some(H1)),
        )
        .send(&surveyor);
        assert_eq!(good.status, 201, "{}", good.text);
        let seen = officer.get(&format!("/api/v1/submissions/{}", good.body["id"]));
        let exif = &seen.body["photos"][0]["exif"];
        assert!((exif["lat"].as_f64().unwrap_or(0.0) - H1.0).abs() < 1e-4, "{exif}");
        assert!((exif["lon"].as_f64().unwrap_or(0.0) - H1.1).abs() < 1e-4, "{exif}");
        assert_eq!(
            exif["taken_at"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()),
            Some(when),
            "{exif}"
        );
        assert_eq!(exif.get("unreadable"), None, "{exif}");

        // A photo whose EXIF is there but unreadable is flagged with the reason.
        let broken = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/exif/broken.jpg"))
            .expect("corpus file");
        let bad = Visit::commitment(
            &fx, "V1", Some(homes["H2"]), "household_reporting", when, Some(H1), broken,
        )
        .send(&surveyor);
        assert_eq!(bad.status, 201, "{}", bad.text);
        let flag = bad.body["flags"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["code"] == "photo_exif_unreadable")
            .unwrap_or_else(|| panic!("no photo_exif_unreadable flag: {}", bad.text));
        assert_eq!(flag["photo"], "paper.jpg");
        assert!(flag["detail"].as_str().unwrap_or("").contains("cannot be read"), "{flag}");
        let seen = officer.get(&format!("/api/v1/submissions/{}", bad.body["id"]));
        assert!(
            seen.body["photos"][0]["exif"]["unreadable"].as_str().is_some_and(|why| !why.is_empty()),
            "{}",
            seen.text
        );
    }
}

per_backend! {
    fn a_phone_on_3g_gets_json_compressed_and_photos_as_they_are(backend) {
        let fx = with_forms(backend, &[]);
        let homes = households(&fx, "V1");
        let surveyor = fx.login("surveyor");
        let header = |headers: &[(String, String)], name: &str| {
            headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        };
        let roster = format!("/api/v1/villages/{}/households?limit=100", fx.area("V1"));
        let (status, plain_headers, plain) = surveyor.get_raw_with(&roster, &[]);
        assert_eq!(status, 200);
        assert_eq!(header(&plain_headers, "content-encoding"), None);
        let (status, headers, gzipped) =
            surveyor.get_raw_with(&roster, &[("Accept-Encoding", "gzip")]);
        assert_eq!(status, 200);
        assert_eq!(header(&headers, "content-encoding").as_deref(), Some("gzip"));
        let mut unpacked = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gzipped[..]), &mut unpacked)
            .expect("a gzip body");
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&unpacked).expect("json"),
            serde_json::from_slice::<serde_json::Value>(&plain).expect("json"),
        );
        assert!(!plain.is_empty() && !homes.is_empty());

        // A photo is not compressed again.
        let when = local(1, 9);
        let sent = Visit::commitment(
            &fx, "V1", Some(homes["H1"]), "household_reporting", when, Some(H1),
            paper(61, when, Some(H1)),
        )
        .send(&surveyor);
        assert_eq!(sent.status, 201, "{}", sent.text);
        let officer = fx.login("officer");
        let detail = officer.get(&format!("/api/v1/submissions/{}", sent.body["id"]));
        let original = detail.body["photos"][0]["original_url"].as_str().unwrap_or("").to_string();
        let (status, headers, bytes) =
            officer.get_raw_with(&original, &[("Accept-Encoding", "gzip")]);
        assert_eq!(status, 200, "{original}");
        assert_eq!(header(&headers, "content-encoding"), None);
        assert!(bytes.starts_with(&[0xFF, 0xD8, 0xFF]), "the JPEG as it was stored");
    }
}

per_backend! {
    fn a_copy_checked_before_its_original_is_flagged_by_the_originals_check(backend) {
        use camket::submissions::store::{get, settle_evidence};
        let mut fx = with_forms(backend, &[]);
        let homes = households(&fx, "V1");
        let surveyor = fx.login("surveyor");
        let when = local(3, 9);
        let original = paper(31, when, Some(H1));
        let later = when + Duration::minutes(30);
        let copy = synthetic::jpeg_with_exif(
            &image::load_from_memory(&original).expect("decode"),
            70,
            &ExifSpec {
                taken_local: Some(later.naive_local()),
                offset: None,
                gps: Some(H1),
            },
        );
        let first = send_commitment(&fx, &surveyor, homes["H1"], when, original);
        settled(&surveyor, first);
        let second = send_commitment(&fx, &surveyor, homes["H2"], later, copy);
        let checked = settled(&surveyor, second);
        assert_eq!(flag_codes(&checked), vec!["duplicate_photo"], "checked in order: {checked}");

        // Check them again in the other order: the copy first, then its
        // original (as when two are checked side by side and the copy's
        // check ends first, or the original's check was put off).
        fx.server.terminate();
        let db = camket_schema::Db::connect(&fx.env.database_url, 4).expect("database");
        execute(&db, "DELETE FROM photo_keys");
        assert_eq!(as_if_stopped_mid_check(&db, second), 1, "its flag");
        let scraper = "scraper-token-for-tests-1";
        fx.server = fx.env.start_with(&[("CAMKET_METRICS_TOKEN", scraper)]);
        let surveyor = fx.login("surveyor");
        let officer = fx.login("officer");
        let checked = settled(&officer, second);
        assert_eq!(flag_codes(&checked), Vec::<String>::new(), "its original was not indexed yet: {checked}");
        // The officer approves it, seeing no flag.
        let approved = officer.post_json(
            &format!("/api/v1/submissions/{second}/review"),
            &json!({"decision": "approve"}),
        );
        assert_eq!(approved.status, 200, "{}", approved.text);

        // The original's check finds its later copy in the index and flags it.
        assert_eq!(as_if_stopped_mid_check(&db, first), 0, "no flag");
        let original_checked = settled(&surveyor, first);
        assert_eq!(flag_codes(&original_checked), Vec::<String>::new(), "{original_checked}");
        let copy = officer.get(&format!("/api/v1/submissions/{second}")).body;
        assert_eq!(flag_codes(&copy), vec!["duplicate_photo"], "{copy}");
        assert_eq!(copy["flags"][0]["other_submission"], first, "{copy}");
        assert!(
            copy["flags"][0]["detail"].as_str().unwrap_or("").contains("household H1"),
            "{copy}"
        );
        assert!(copy["risk"].as_i64().unwrap_or(0) > 0, "{copy}");
        assert_eq!(copy["status"], "approved", "the review stands: {copy}");
        // Its history says the flag came after, from the checks, not a user.
        let history = officer.get(&format!("/api/v1/submissions/{second}/history"));
        let last = history.body["items"]
            .as_array()
            .and_then(|items| items.last())
            .cloned()
            .unwrap_or_default();
        assert_eq!(last["action"], "flagged_later", "{}", history.text);
        assert_eq!((&last["actor_id"], &last["actor"]), (&Value::Null, &Value::Null), "{last}");
        assert!(
            last["comment"].as_str().unwrap_or("").contains(&first.to_string()),
            "names the earlier submission: {last}"
        );
        let mut browser = crate::console::Browser::new(&fx.server.base);
        browser.log_in("officer");
        let page = browser.get(&format!("/submissions/{second}"));
        assert!(
            page.text.contains("Kiểm tra ảnh") && page.text.contains("Cờ thêm sau, từ kiểm tra ảnh"),
            "the console says who and what: the checks, a flag added later: {}",
            page.text
        );
        let queue = officer.get("/api/v1/submissions?flag=duplicate_photo");
        let listed: Vec<i64> = queue.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|s| s["id"].as_i64())
            .collect();
        assert_eq!(listed, vec![second], "{}", queue.text);
        let scrape = fx.server.anonymous().with_token(scraper).get("/metrics");
        assert!(
            scrape.text.contains("camket_evidence_late_repeat_flags_total 1"),
            "{}",
            scrape.text
        );

        // The copy is taken out of the index; the original stays.
        let indexed = || -> std::collections::HashSet<String> {
            use camket_schema::tables::photo_keys;
            use diesel::prelude::*;
            let load = || -> Result<Vec<String>, camket_schema::DbError> {
                Ok(camket_schema::with_conn!(&db, |conn| photo_keys::table
                    .select(photo_keys::sha256)
                    .distinct()
                    .load::<String>(conn)?))
            };
            load().expect("postings").into_iter().collect()
        };
        let sha_of = |body: &Value| body["photos"][0]["sha256"].as_str().expect("sha").to_string();
        let in_index = indexed();
        assert!(in_index.contains(&sha_of(&original_checked)), "{in_index:?}");
        assert!(!in_index.contains(&sha_of(&copy)), "{in_index:?}");

        // Had the copy's own check found the original too, its flag would
        // not be written twice.
        fx.server.terminate();
        execute(&db, &format!("UPDATE submissions SET evidence_pending = TRUE WHERE id = {second}"));
        let flags: Vec<camket::evidence::Flag> =
            serde_json::from_str(&get(&db, second).expect("read").expect("row").0.flags).expect("flags");
        assert!(settle_evidence(&db, second, &flags).expect("settle"));
        let row = get(&db, second).expect("read").expect("row").0;
        let flags: Vec<camket::evidence::Flag> = serde_json::from_str(&row.flags).expect("flags");
        assert_eq!(flags.len(), 1, "{flags:?}");
        assert!(!row.evidence_pending);
    }
}

per_backend! {
    fn a_paper_photographed_from_farther_is_found_when_its_check_runs_again_after_a_stop(backend) {
        use synthetic::{PaperPhoto, Scene, Shot};
        let mut fx = with_forms(backend, &[]);
        let homes = households(&fx, "V1");
        let surveyor = fx.login("surveyor");
        let when = local(3, 9);
        let later = when + Duration::minutes(40);
        let original = paper(33, when, Some(H1));
        // The paper of `original`, moved and turned on the table and
        // photographed from farther away: three quarters of its size.
        let farther = synthetic::jpeg_with_exif(
            &PaperPhoto::new(Scene { seed: 5, paper_shift: (24, 18) }, 33)
                .shot(Shot { rotation_deg: 1.2, scale: 0.75, light: 0.95, take: 2 })
                .render(),
            88,
            &ExifSpec { taken_local: Some(later.naive_local()), offset: None, gps: Some(H1) },
        );
        // Only the photo drawn 1.4 times larger finds it: as is, it does
        // not line up with the first photo.
        {
            use camket::evidence::keypoints::{drawn, FROM_FARTHER};
            use camket::evidence::photo::{inspect, PhotoLimits};
            use camket::evidence::similarity::{same_paper, Fingerprint};
            let offset = chrono::FixedOffset::east_opt(7 * 3600).expect("offset");
            let dir = tempfile::tempdir().expect("temp dir");
            let inspected = |name: &str, bytes: &[u8]| {
                let path = dir.path().join(name);
                std::fs::write(&path, bytes).expect("write");
                inspect(&path, PhotoLimits::default(), offset).expect("inspected")
            };
            let (first, again) = (inspected("first", &original), inspected("again", &farther));
            assert_eq!(same_paper(&again.fingerprint, &first.fingerprint), None);
            let drawn_larger = Fingerprint::of(&drawn(&again.work, FROM_FARTHER));
            assert!(same_paper(&drawn_larger, &first.fingerprint).is_some());
        }
        let first = send_commitment(&fx, &surveyor, homes["H1"], when, original.clone());
        settled(&surveyor, first);
        let second = send_commitment(&fx, &surveyor, homes["H2"], later, farther);
        let said_again = |checked: &Value| {
            assert_eq!(flag_codes(checked), vec!["duplicate_photo"], "{checked}");
            assert_eq!(checked["flags"][0]["other_submission"], first, "{checked}");
            assert!(
                checked["flags"][0]["detail"]
                    .as_str()
                    .unwrap_or("")
                    .contains("the same signed paper photographed again"),
                "{checked}"
            );
        };
        let checked = settled(&surveyor, second);
        said_again(&checked);
        let sha = checked["photos"][0]["sha256"].as_str().expect("sha").to_string();
        // And a plain copy of the first photo, found at the first look.
        let copied_at = later + Duration::minutes(20);
        let copy = synthetic::jpeg_with_exif(
            &image::load_from_memory(&original).expect("decode"),
            70,
            &ExifSpec { taken_local: Some(copied_at.naive_local()), offset: None, gps: Some(H1) },
        );
        let third = send_commitment(&fx, &surveyor, homes["H3"], copied_at, copy);
        let said_copy = |checked: &Value| {
            assert_eq!(flag_codes(checked), vec!["duplicate_photo"], "{checked}");
            assert_eq!(checked["flags"][0]["other_submission"], first, "{checked}");
        };
        said_copy(&settled(&surveyor, third));

        // The server stops after the photos were decoded and before their
        // submissions were settled: their checks run again after the
        // restart, on the photos' kept fingerprints. The photo from farther
        // is decoded again and drawn larger to find the paper it repeats;
        // the copy, found without it, is not decoded again.
        fx.server.terminate();
        let db = camket_schema::Db::connect(&fx.env.database_url, 2).expect("database");
        for id in [second, third] {
            assert_eq!(as_if_stopped_mid_check(&db, id), 1, "its flag");
        }
        let photo = camket::submissions::store::photo(&db, &sha)
            .expect("read")
            .expect("the photo's row");
        assert!(photo.verified_at.is_some(), "decoded by the first check");
        let scraper = "scraper-token-for-tests-2";
        fx.server = fx.env.start_with(&[("CAMKET_METRICS_TOKEN", scraper)]);
        let surveyor = fx.login("surveyor");
        said_again(&settled(&surveyor, second));
        said_copy(&settled(&surveyor, third));
        let scrape = fx.server.anonymous().with_token(scraper).get("/metrics");
        assert!(
            scrape.text.contains("camket_evidence_photos_decoded_again_total 1"),
            "{}",
            scrape.text
        );
    }
}
