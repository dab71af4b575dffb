//! The area holes an outside probe found, each reproduced the way the prober
//! did it and each now refused: a moved household's old village, a commune
//! admin ruling the province's forms, resends matched before they were
//! authorised, a duplicate photo naming another commune's household, and ids of
//! other areas answering differently from ids that do not exist.

use serde_json::{json, Value};

use crate::fixture::{Fixture, PASSWORD};
use crate::harness::field::open_campaign;
use crate::harness::field::{households, local, paper, with_forms, Visit};

fn add_user(fx: &Fixture, username: &str, role: &str, area: &str) {
    let out = fx.env.camket_env(
        &[
            "users",
            "add",
            "--username",
            username,
            "--full-name",
            "Người dùng thêm",
            "--role",
            role,
            "--area",
            area,
        ],
        &[("CAMKET_NEW_USER_PASSWORD", PASSWORD)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn items(page: &Value) -> Vec<Value> {
    page["items"].as_array().cloned().unwrap_or_default()
}

per_backend! {
    fn a_moved_household_leaves_its_old_village_as_a_tombstone_sent_once(backend) {
        let fx = Fixture::new(backend);
        let admin = fx.login("admin");
        let surveyor = fx.login("surveyor");
        let v1 = fx.area("V1");
        let roster = |since: &str| {
            let page = surveyor.get(&format!("/api/v1/villages/{v1}/households?since={since}"));
            assert_eq!(page.status, 200, "{}", page.text);
            page
        };
        let synced = roster("0.0");
        let cursor = synced.body["next_cursor"].as_str().unwrap_or("").to_string();
        // H3 has a relative abroad illegally: the most sensitive row of the village.
        let h3 = households(&fx, "V1")["H3"];

        let moved = admin.post_json(
            &format!("/api/v1/households/{h3}/move"),
            &json!({"village_id": fx.area("V4")}),
        );
        assert_eq!(moved.status, 200, "{}", moved.text);
        let update = "village_code,code,head_name,address,member_count,lat,lon,categories\n\
                      V4,H3,Phạm Văn Cường,Số 9 Tổ Bốn,5,19.2,105.2,returnee;relative_abroad_illegal\n";
        let imported = admin.post_raw("/api/v1/households/import", "text/csv", update.as_bytes());
        assert_eq!(imported.status, 200, "{}", imported.text);

        // The old village's phones learn that H3 left, and nothing else about it.
        for page in [roster(&cursor), roster("0.0")] {
            let rows: Vec<Value> = items(&page.body)
                .into_iter()
                .filter(|h| h["id"] == h3)
                .collect();
            assert_eq!(rows, vec![json!({"id": h3, "status": "moved_away"})], "{}", page.text);
            for private in ["Phạm Văn Cường", "Số 9 Tổ Bốn", "relative_abroad_illegal", "19.2"] {
                assert!(!page.text.contains(private), "{private} leaked: {}", page.text);
            }
        }
        // Once per cursor: a phone that has the tombstone is not sent it again,
        // not even after later changes in the new commune.
        let after = roster(&cursor).body["next_cursor"].as_str().unwrap_or("").to_string();
        let again = "village_code,code,head_name,address,member_count\nV4,H3,Phạm Văn Cường,Số 10 Tổ Bốn,5\n";
        let imported = admin.post_raw("/api/v1/households/import", "text/csv", again.as_bytes());
        assert_eq!(imported.status, 200, "{}", imported.text);
        assert!(items(&roster(&after).body).is_empty());
        // The household itself is out of reach, like a household that never was.
        surveyor.get(&format!("/api/v1/households/{h3}")).assert_problem(404);
        // The new village's surveyor gets the full row.
        add_user(&fx, "surveyor4", "surveyor", "V4");
        let new_village = fx.login("surveyor4").get(&format!(
            "/api/v1/villages/{}/households?since=0.0",
            fx.area("V4")
        ));
        let row = items(&new_village.body)
            .into_iter()
            .find(|h| h["id"] == h3)
            .expect("listed in its new village");
        assert_eq!(row["address"], "Số 10 Tổ Bốn");
    }
}

per_backend! {
    fn only_an_admin_of_the_whole_province_rules_its_forms(backend) {
        let fx = with_forms(backend, &[]);
        add_user(&fx, "admin-c1", "admin", "C1");
        let commune_admin = fx.login("admin-c1");
        let definition = std::fs::read_to_string(format!(
            "{}/../survey-forms/forms/commitment.yaml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("shipped form")
        .replacen("version: 1", "version: 2", 1);
        assert!(definition.contains("version: 2"));

        let refusals = [
            commune_admin.put_json("/api/v1/forms/commitment/state", &json!({"state": "closed"})),
            commune_admin.post_raw("/api/v1/forms", "application/yaml", definition.as_bytes()),
            commune_admin.post_json("/api/v1/forms/commitment/versions/1/retire", &json!({})),
        ];
        for refused in &refusals {
            let problem = refused.assert_problem(403);
            assert!(
                problem["detail"].as_str().unwrap_or("").contains("every province"),
                "{problem}"
            );
        }
        // Nothing changed: the form is open, at version 1, for every commune.
        let forms = fx.login("surveyor3").get("/api/v1/forms");
        let commitment = items(&forms.body)
            .into_iter()
            .find(|f| f["id"] == "commitment")
            .expect("commitment still open");
        assert_eq!(commitment["version"], 1, "{commitment}");

        // The province's admin may.
        let admin = fx.login("admin");
        let closing = admin.put_json("/api/v1/forms/commitment/state", &json!({"state": "closing"}));
        assert_eq!(closing.status, 200, "{}", closing.text);
    }
}

per_backend! {
    fn a_resend_is_authorised_before_it_is_matched(backend) {
        let fx = with_forms(backend, &[]);
        let homes = households(&fx, "V1");
        let when = local(2, 9);
        let at = Some((19.01, 105.01));
        let visit = Visit::commitment(&fx, "V1", Some(homes["H2"]), "household_reporting", when, at, paper(40, when, at));
        let first = visit.send(&fx.login("surveyor"));
        assert_eq!(first.status, 201, "{}", first.text);

        // The refusal any V1 submission gets from the surveyor of V3.
        let stranger = fx.login("surveyor3");
        let fresh = Visit::commitment(&fx, "V1", Some(homes["H1"]), "household_reporting", when, at, paper(41, when, at));
        let refused = fresh.send(&stranger).assert_problem(403).clone();

        let identical = visit.send(&stranger);
        assert_eq!(identical.assert_problem(403), &refused, "a byte-identical resend");
        let mut changed = Visit { document: visit.document.clone(), parts: visit.parts.clone() };
        changed.document["answers"]["signer_name"] = json!("Người Khác");
        assert_eq!(changed.send(&stranger).assert_problem(403), &refused, "a changed body");
        // Under their own village, the known instance id still answers the same.
        let home_of_stranger = households(&fx, "V3")["H1"];
        changed.document["village_id"] = json!(fx.area("V3"));
        changed.document["household_id"] = json!(home_of_stranger);
        assert_eq!(changed.send(&stranger).assert_problem(403), &refused, "another village");
        assert!(!refused.to_string().contains("instance"), "{refused}");

        // The submitter, and an officer whose area covers it, get the stored record.
        let again = visit.send(&fx.login("surveyor"));
        assert_eq!((again.status, &again.body["id"]), (200, &first.body["id"]), "{}", again.text);
        let officer = visit.send(&fx.login("officer"));
        assert_eq!((officer.status, &officer.body["id"]), (200, &first.body["id"]), "{}", officer.text);
    }
}

per_backend! {
    fn a_reused_photo_names_the_other_household_only_to_those_who_cover_it(backend) {
        let fx = with_forms(backend, &[]);
        let when = local(2, 9);
        let at = Some((19.01, 105.01));
        let photo = paper(50, when, at);
        let v1 = households(&fx, "V1");
        let first = Visit::commitment(&fx, "V1", Some(v1["H1"]), "relative_abroad", when, at, photo.clone())
            .send(&fx.login("surveyor"));
        assert_eq!(first.status, 201, "{}", first.text);
        let first_id = first.body["id"].as_i64().expect("id");

        // The same paper photo sent from another commune's village.
        let v3 = households(&fx, "V3");
        let stranger = fx.login("surveyor3");
        let later = when + chrono::Duration::hours(1);
        let second = Visit::commitment(&fx, "V3", Some(v3["H1"]), "relative_abroad", later, at, photo)
            .send(&stranger);
        assert_eq!(second.status, 201, "{}", second.text);
        let second_id = second.body["id"].as_i64().expect("id");
        let duplicate = |view: &Value| -> Value {
            view["flags"]
                .as_array()
                .and_then(|f| f.iter().find(|f| f["code"] == "duplicate_photo").cloned())
                .unwrap_or_else(|| panic!("no duplicate_photo flag: {view}"))
        };

        // The submitter learns the photo was used before, not where.
        for view in [second.body.clone(), stranger.get(&format!("/api/v1/submissions/{second_id}")).body] {
            let flag = duplicate(&view);
            assert!(flag.get("other_submission").is_none(), "{flag}");
            let detail = flag["detail"].as_str().unwrap_or("");
            assert!(detail.contains("used before"), "{detail}");
            assert!(!detail.contains("H1") && !detail.contains(&first_id.to_string()), "{detail}");
        }
        // The commune's officer sees the flag but not the other commune's record.
        let officer2 = fx.login("officer2").get(&format!("/api/v1/submissions/{second_id}"));
        assert!(duplicate(&officer2.body).get("other_submission").is_none());
        // The district, which covers both, sees which submission it was.
        let viewer = fx.login("viewer").get(&format!("/api/v1/submissions/{second_id}"));
        assert_eq!(duplicate(&viewer.body)["other_submission"], first_id);
    }
}

per_backend! {
    fn ids_of_other_areas_answer_like_ids_that_do_not_exist(backend) {
        let fx = with_forms(backend, &[]);
        let campaign = open_campaign(&fx);
        // A campaign of Xã Một only: Xã Hai's officer must not learn it exists.
        let commune_campaign = crate::harness::field::campaign_yaml()
            .replacen("code: test-campaign", "code: xa-mot", 1)
            .replacen("scope: P", "scope: C1", 1);
        let loaded = fx.login("admin").post_raw("/api/v1/campaigns", "application/yaml", commune_campaign.as_bytes());
        assert_eq!(loaded.status, 201, "{}", loaded.text);
        let c1_campaign = loaded.body["id"].as_i64().expect("id");
        let when = local(2, 9);
        let at = Some((19.01, 105.01));
        let homes = households(&fx, "V1");
        let sent = Visit::commitment(&fx, "V1", Some(homes["H1"]), "household_reporting", when, at, paper(60, when, at))
            .send(&fx.login("surveyor"));
        assert_eq!(sent.status, 201, "{}", sent.text);

        let outsider = fx.login("officer2");
        let pairs = [
            (format!("/api/v1/areas/{}", fx.area("V1")), "/api/v1/areas/987654".to_string()),
            (format!("/api/v1/households/{}", homes["H1"]), "/api/v1/households/987654".to_string()),
            (format!("/api/v1/villages/{}/households", fx.area("V1")), "/api/v1/villages/987654/households".to_string()),
            (format!("/api/v1/campaigns/{c1_campaign}"), "/api/v1/campaigns/987654".to_string()),
            (format!("/api/v1/submissions/{}", sent.body["id"]), "/api/v1/submissions/987654".to_string()),
        ];
        for (elsewhere, nowhere) in &pairs {
            let a = outsider.get(elsewhere);
            let b = outsider.get(nowhere);
            assert_eq!((a.status, b.status), (404, 404), "{elsewhere}: {} / {nowhere}: {}", a.text, b.text);
            assert_eq!(a.body["type"], b.body["type"]);
        }
        // The province campaign does reach Xã Hai.
        assert_eq!(outsider.get(&format!("/api/v1/campaigns/{campaign}")).status, 200);
    }
}

/// The answers to `a` and `b` are the same refusal: same status, same body
/// once each side's own id is blanked out.
fn alike(
    a: &crate::harness::Response,
    b: &crate::harness::Response,
    ids: (&str, &str),
    what: &str,
) {
    assert_eq!(a.status, b.status, "{what}: {} / {}", a.text, b.text);
    assert!(a.status >= 400, "{what}: {}", a.text);
    assert_eq!(blank(&a.text, ids.0), blank(&b.text, ids.1), "{what}");
}

/// `text` with each whole occurrence of `id` (not part of a longer number or
/// word) replaced by `#`.
fn blank(text: &str, id: &str) -> String {
    let mut out = String::new();
    let mut from = 0;
    while let Some(found) = text[from..].find(id) {
        let at = from + found;
        let end = at + id.len();
        let before = text[..at].chars().next_back();
        let after = text[end..].chars().next();
        let whole =
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric);
        out.push_str(&text[from..at]);
        out.push_str(if whole { "#" } else { id });
        from = end;
    }
    out.push_str(&text[from..]);
    out
}

per_backend! {
    fn ids_sent_in_request_bodies_cannot_be_probed_either(backend) {
        let fx = with_forms(backend, &[]);
        add_user(&fx, "admin-c1", "admin", "C1");
        let when = local(2, 9);
        let at = Some((19.01, 105.01));
        let v1 = households(&fx, "V1");
        let v3 = households(&fx, "V3");
        let sent = Visit::commitment(&fx, "V1", Some(v1["H1"]), "household_reporting", when, at, paper(70, when, at))
            .send(&fx.login("surveyor"));
        assert_eq!(sent.status, 201, "{}", sent.text);
        let theirs = sent.body["id"].to_string();
        let nowhere = "987654";
        let stranger = fx.login("surveyor3");

        // A submission to another commune's village, or to no village at all.
        let mut visit = Visit::commitment(&fx, "V3", Some(v3["H1"]), "household_reporting", when, at, paper(71, when, at));
        visit.document["village_id"] = json!(fx.area("V1"));
        visit.document["household_id"] = serde_json::Value::Null;
        let elsewhere = visit.send(&stranger);
        visit.document["village_id"] = json!(987654);
        let missing = visit.send(&stranger);
        let v1_id = fx.area("V1").to_string();
        alike(&elsewhere, &missing, (&v1_id, nowhere), "village_id");

        // A household of another village, or none.
        let mut visit = Visit::commitment(&fx, "V3", Some(v1["H2"]), "household_reporting", when, at, paper(72, when, at));
        let elsewhere = visit.send(&stranger);
        visit.document["household_id"] = json!(987654);
        let missing = visit.send(&stranger);
        let h2 = v1["H2"].to_string();
        alike(&elsewhere, &missing, (&h2, nowhere), "household_id");

        // Correcting someone else's submission, or one that never was.
        let mut visit = Visit::commitment(&fx, "V3", Some(v3["H1"]), "household_reporting", when, at, paper(73, when, at));
        visit.document["corrects"] = json!(sent.body["id"]);
        let elsewhere = visit.send(&stranger);
        visit.document["corrects"] = json!(987654);
        let missing = visit.send(&stranger);
        alike(&elsewhere, &missing, (&theirs, nowhere), "corrects");
        assert_eq!(missing.status, 422, "{}", missing.text);

        // One's own list, filtered by an area one does not work in.
        let v1_area = stranger.get(&format!("/api/v1/submissions?mine=true&area={v1_id}"));
        let no_area = stranger.get("/api/v1/submissions?mine=true&area=987654");
        alike(&v1_area, &no_area, (&v1_id, nowhere), "?area=");

        // A commune's admin, probing the next commune.
        let small = fx.login("admin-c1");
        let v3_id = fx.area("V3").to_string();
        let move_to = |village: &str| {
            small.post_json(
                &format!("/api/v1/households/{}/move", v1["H3"]),
                &json!({"village_id": village.parse::<i64>().unwrap_or(0)}),
            )
        };
        alike(&move_to(&v3_id), &move_to(nowhere), (&v3_id, nowhere), "move target");
        let users = fx.login("admin").get("/api/v1/users");
        let officer2 = items(&users.body)
            .into_iter()
            .find(|u| u["username"] == "officer2")
            .expect("officer2");
        let officer2_id = officer2["id"].to_string();
        let deactivate = |id: &str| small.post_json(&format!("/api/v1/users/{id}/deactivate"), &json!({}));
        alike(&deactivate(&officer2_id), &deactivate(nowhere), (&officer2_id, nowhere), "user id");
        let create = |area: &str| {
            small.post_json(
                "/api/v1/users",
                &json!({"username": "new-one", "full_name": "Mới", "password": "long-enough-1",
                        "role": "surveyor", "area_ids": [area.parse::<i64>().unwrap_or(0)]}),
            )
        };
        alike(&create(&v3_id), &create(nowhere), (&v3_id, nowhere), "area_ids");
        let campaign = |code: &str| {
            let yaml = crate::harness::field::campaign_yaml().replacen("scope: P", &format!("scope: {code}"), 1);
            small.post_raw("/api/v1/campaigns", "application/yaml", yaml.as_bytes())
        };
        alike(&campaign("C2"), &campaign("NOWHERE"), ("C2", "NOWHERE"), "campaign scope");
    }
}
