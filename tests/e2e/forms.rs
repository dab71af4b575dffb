//! Forms: the shipped forms served to phones, the version rules, and ETag caching.

use serde_json::json;

use crate::fixture::Fixture;

fn shipped_dir() -> String {
    format!("{}/../survey-forms/forms", env!("CARGO_MANIFEST_DIR"))
}

const V1: &str = "id: door-check
version: 1
title: {vi: Kiểm tra, en: Door check}
geotag: required
household: required
fields:
  - {name: visited, type: boolean, label: {vi: Đã đến, en: Visited}, required: true}
";

fn with_version(version: u32, extra_field: &str) -> String {
    let mut text = V1.replace("version: 1", &format!("version: {version}"));
    text.push_str(extra_field);
    text
}

per_backend! {
    fn a_surveyor_downloads_every_shipped_form_and_caches_it(backend) {
        let fx = Fixture::new(backend);
        let out = fx.env.camket(&["forms", "publish", &shipped_dir()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let again = fx.env.camket(&["forms", "publish", &shipped_dir()]);
        assert!(String::from_utf8_lossy(&again.stdout).contains("Unchanged"));

        let surveyor = fx.login("surveyor");
        let listing = surveyor.get("/api/v1/forms");
        assert_eq!(listing.status, 200, "{backend:?}: {}", listing.text);
        let ids: Vec<&str> = listing.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|f| f["id"].as_str())
            .collect();
        assert_eq!(
            ids,
            vec![
                "business-commitment",
                "commitment",
                "household-survey",
                "returnee-contact",
                "village-meeting"
            ]
        );
        assert_eq!(listing.body["items"][1]["title"]["vi"], "Ký cam kết");

        for id in ids {
            let current = surveyor.get(&format!("/api/v1/forms/{id}"));
            assert_eq!(current.status, 200, "{id}: {}", current.text);
            assert_eq!(current.body["version"], 1);
            assert_eq!(current.body["definition"]["id"], id);
            let hash = current.body["hash"].as_str().expect("hash").to_string();

            let version = surveyor.get(&format!("/api/v1/forms/{id}/versions/1"));
            assert_eq!(version.status, 200);
            assert_eq!(version.header("etag"), Some(format!("\"{hash}\"").as_str()));
            assert!(version
                .header("cache-control")
                .unwrap_or("")
                .contains("immutable"));
            assert_eq!(version.body["id"], id);

            let cached = surveyor.get_with(
                &format!("/api/v1/forms/{id}/versions/1"),
                &[("If-None-Match", &format!("\"{hash}\""))],
            );
            assert_eq!(cached.status, 304, "{id}");
            assert!(cached.text.is_empty());
            let stale = surveyor.get_with(
                &format!("/api/v1/forms/{id}/versions/1"),
                &[("If-None-Match", "\"other\"")],
            );
            assert_eq!(stale.status, 200);
        }
        let commitment = surveyor.get("/api/v1/forms/commitment/versions/1");
        let photo = commitment.body["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .find(|f| f["name"] == "signed_paper_photo")
            .expect("photo field")
            .clone();
        assert_eq!(photo["type"], "photo");
        assert_eq!(photo["min_count"], 1);
        assert_eq!(photo["max_count"], 3);
        surveyor
            .get("/api/v1/forms/commitment/versions/2")
            .assert_problem(404);
        surveyor.get("/api/v1/forms/nope").assert_problem(404);
    }
}

per_backend! {
    fn published_versions_are_immutable_and_old_ones_stay_accepted_until_retired(backend) {
        let fx = Fixture::new(backend);
        let admin = fx.login("admin");
        let surveyor = fx.login("surveyor");
        let publish =
            |text: &str| admin.post_raw("/api/v1/forms", "application/yaml", text.as_bytes());

        let first = publish(V1);
        assert_eq!(first.status, 201, "{backend:?}: {}", first.text);
        assert_eq!(first.body["outcome"], "created");
        assert_eq!(
            first.header("location"),
            Some("/api/v1/forms/door-check/versions/1")
        );

        // The same content again (re-laid out) is a no-op.
        let same = publish(&V1.replace("household: required\n", "household: required\n\n"));
        assert_eq!(same.status, 200, "{}", same.text);
        assert_eq!(same.body["outcome"], "unchanged");
        assert_eq!(same.body["hash"], first.body["hash"]);

        // Changed content under version 1 is refused.
        let changed = with_version(
            1,
            "  - {name: note, type: text, label: {vi: Ghi chú, en: Note}}\n",
        );
        let refused = publish(&changed);
        assert!(
            refused.assert_problem(409)["detail"]
                .as_str()
                .unwrap_or("")
                .contains("version 2 or higher"),
            "{}",
            refused.text
        );

        let v3 = with_version(
            3,
            "  - {name: note, type: text, label: {vi: Ghi chú, en: Note}, required: true}\n",
        );
        assert_eq!(publish(&v3).status, 201);
        let v2 = with_version(
            2,
            "  - {name: other, type: text, label: {vi: Khác, en: Other}}\n",
        );
        let lower = publish(&v2);
        assert!(lower.assert_problem(409)["detail"]
            .as_str()
            .unwrap_or("")
            .contains("lower than the latest published version 3"));

        // Version 1 is still accepted and checked against its own fields.
        let check = |version: u32, answers: serde_json::Value| {
            surveyor.post_json(
                &format!("/api/v1/forms/door-check/versions/{version}/check"),
                &json!({"answers": answers}),
            )
        };
        let old = check(1, json!({"visited": true}));
        assert_eq!(old.status, 200, "{}", old.text);
        assert_eq!(old.body["version"], 1);
        let old_with_new_field = check(1, json!({"visited": true, "note": "x"}));
        assert_eq!(
            old_with_new_field.assert_problem(422)["errors"][0]["field"],
            "note"
        );
        let new_without_note = check(3, json!({"visited": true}));
        assert_eq!(
            new_without_note.assert_problem(422)["errors"][0]["field"],
            "note"
        );
        assert_eq!(
            check(3, json!({"visited": true, "note": "đã gặp chủ hộ"})).status,
            200
        );
        assert_eq!(surveyor.get("/api/v1/forms/door-check").body["version"], 3);

        // Retiring version 1: refused, naming the current version.
        let retired = admin.post_json("/api/v1/forms/door-check/versions/1/retire", &json!({}));
        assert_eq!(retired.status, 200, "{}", retired.text);
        let refusal = check(1, json!({"visited": true}));
        let detail = refusal.assert_problem(409)["detail"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(
            detail.contains("retired") && detail.contains("current version is 3"),
            "{detail}"
        );
        check(9, json!({"visited": true})).assert_problem(409);

        // Closing: no longer listed to phones, still accepting.
        let closing = admin.put_json(
            "/api/v1/forms/door-check/state",
            &json!({"state": "closing"}),
        );
        assert_eq!(closing.status, 200, "{}", closing.text);
        let listed: Vec<String> = surveyor.get("/api/v1/forms").body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|f| f["id"].as_str().map(str::to_string))
            .collect();
        assert!(!listed.contains(&"door-check".to_string()));
        assert_eq!(
            check(3, json!({"visited": true, "note": "ok ok"})).status,
            200
        );
        let all = admin.get("/api/v1/forms?state=all");
        let door = all.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|f| f["id"] == "door-check")
            .expect("listed for admin")
            .clone();
        assert_eq!(door["state"], "closing");
        assert_eq!(door["versions"].as_array().map(Vec::len), Some(2));
        surveyor.get("/api/v1/forms?state=all").assert_problem(403);

        // Closed: nothing accepted.
        assert_eq!(
            admin
                .put_json(
                    "/api/v1/forms/door-check/state",
                    &json!({"state": "closed"})
                )
                .status,
            200
        );
        let closed = check(3, json!({"visited": true, "note": "ok ok"}));
        assert!(closed.assert_problem(409)["detail"]
            .as_str()
            .unwrap_or("")
            .contains("closed"));
        admin
            .put_json(
                "/api/v1/forms/door-check/state",
                &json!({"state": "archived"}),
            )
            .assert_problem(422);
    }
}

per_backend! {
    fn a_bad_definition_is_refused_with_every_problem_named(backend) {
        let fx = Fixture::new(backend);
        let admin = fx.login("admin");
        let bad = "id: bad-form
version: 1
title: {vi: X, en: X}
geotag: required
household: none
fields:
  - {name: a, type: select_one, label: {vi: A, en: A}, choices: []}
  - {name: a, type: text, label: {vi: A, en: A}}
  - {name: b, type: text, label: {vi: B, en: B}, relevant: {field: missing, equals: 1}}
";
        let response = admin.post_raw("/api/v1/forms", "application/yaml", bad.as_bytes());
        let body = response.assert_problem(422);
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert_eq!(fields, vec!["a", "a", "b.relevant"], "{body}");
        let unknown_type = admin.post_raw(
            "/api/v1/forms",
            "application/yaml",
            V1.replace("type: boolean", "type: yes_no").as_bytes(),
        );
        assert!(unknown_type.assert_problem(422)["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("unknown type 'yes_no'"));
        fx.login("surveyor")
            .post_raw("/api/v1/forms", "application/yaml", V1.as_bytes())
            .assert_problem(403);
        fx.login("viewer")
            .post_json(
                "/api/v1/forms/door-check/versions/1/check",
                &json!({"answers": {}}),
            )
            .assert_problem(403);
        assert_eq!(
            admin.get("/api/v1/forms?state=all").body["items"],
            json!([])
        );
    }
}

#[test]
fn forms_check_on_the_command_line_names_file_field_and_problem() {
    let fx = Fixture::new(crate::harness::Backend::Sqlite);
    let good = fx.env.camket(&["forms", "check", &shipped_dir()]);
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(String::from_utf8_lossy(&good.stdout).contains("5 form(s) checked, no problems"));

    let dir = fx.env.data_dir.path().join("bad-forms");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("one.yaml"),
        V1.replace("type: boolean", "type: checkbox"),
    )
    .expect("write");
    let bad = fx
        .env
        .camket(&["forms", "check", dir.to_str().unwrap_or("")]);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("one.yaml: visited: unknown type 'checkbox'"),
        "{stderr}"
    );
}
