//! The authorisation matrix: role × (own area, other area) × endpoint.

use serde_json::json;

use crate::fixture::{Fixture, PASSWORD};
use crate::harness::Client;

/// A second province nobody in the fixture is bound to.
const OTHER_PROVINCE: &str = "code,name,level,parent_code\nQ,Tỉnh Khác,province,\nQC,Xã Khác,commune,Q\nQV,Thôn Khác,village,QC\n";
const OTHER_HOUSEHOLDS: &str =
    "village_code,code,head_name,address,member_count\nQV,H1,Người Khác,Số 1,2\n";

struct Case {
    user: &'static str,
    own_village: &'static str,
    other_village: &'static str,
}

const CASES: &[Case] = &[
    Case {
        user: "admin",
        own_village: "V1",
        other_village: "QV",
    },
    Case {
        user: "officer",
        own_village: "V2",
        other_village: "V3",
    },
    Case {
        user: "viewer",
        own_village: "V3",
        other_village: "V4",
    },
    Case {
        user: "surveyor",
        own_village: "V1",
        other_village: "V2",
    },
];

fn first_household(admin: &Client, village: i64) -> i64 {
    let roster = admin.get(&format!("/api/v1/villages/{village}/households"));
    roster.body["items"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no household in {village}: {}", roster.text))
}

per_backend! {
    fn every_endpoint_checks_role_and_area(backend) {
        let mut fx = Fixture::new(backend);
        let q = fx.env.write_file("q.csv", OTHER_PROVINCE);
        assert!(fx.env.camket(&["import", "areas", &q]).status.success());
        let qh = fx.env.write_file("qh.csv", OTHER_HOUSEHOLDS);
        assert!(fx
            .env
            .camket(&["import", "households", &qh])
            .status
            .success());
        // The operator's own admin, bound to the other province, reads its ids.
        let out = fx.env.camket_env(
            &[
                "users",
                "add",
                "--username",
                "admin-q",
                "--full-name",
                "Q admin",
                "--role",
                "admin",
                "--area",
                "Q",
            ],
            &[("CAMKET_NEW_USER_PASSWORD", PASSWORD)],
        );
        assert!(out.status.success());
        let admin_q = fx.login("admin-q");
        for item in admin_q.get("/api/v1/areas").body["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            fx.areas.insert(
                item["code"].as_str().unwrap_or("").to_string(),
                item["id"].as_i64().unwrap_or(0),
            );
        }
        let admin = fx.login("admin");
        let household_of = |code: &str| {
            if code == "QV" {
                first_household(&admin_q, fx.area(code))
            } else {
                first_household(&admin, fx.area(code))
            }
        };

        for case in CASES {
            let client = fx.login(case.user);
            let is_admin = case.user == "admin";
            for (village, own) in [(case.own_village, true), (case.other_village, false)] {
                let id = fx.area(village);
                let household = household_of(village);
                // Outside one's area an id answers as if it did not exist.
                let expect_read = if own { 200 } else { 404 };
                let context = format!(
                    "{backend:?} {} {} village {village}",
                    case.user,
                    if own { "own" } else { "other" }
                );

                assert_eq!(
                    client.get(&format!("/api/v1/areas/{id}")).status,
                    expect_read,
                    "GET /areas/{{id}}: {context}"
                );
                assert_eq!(
                    client
                        .get(&format!("/api/v1/villages/{id}/households"))
                        .status,
                    expect_read,
                    "GET roster: {context}"
                );
                assert_eq!(
                    client
                        .get(&format!("/api/v1/households/{household}"))
                        .status,
                    expect_read,
                    "GET household: {context}"
                );

                let import = format!("village_code,code,head_name,address,member_count\n{village},HX,Thử Nghiệm,Số X,1\n");
                let imported =
                    client.post_raw("/api/v1/households/import", "text/csv", import.as_bytes());
                let expect_import = match (is_admin, own) {
                    (true, true) => 200,
                    (true, false) => 422,
                    (false, _) => 403,
                };
                assert_eq!(
                    imported.status, expect_import,
                    "POST /households/import: {context}: {}",
                    imported.text
                );
                if expect_import == 422 {
                    assert!(
                        imported.text.contains("outside the areas assigned to you"),
                        "{}",
                        imported.text
                    );
                }

                let new_user = json!({"username": format!("u-{}-{village}", case.user).to_lowercase(), "full_name": "Mới", "password": "long-enough-1", "role": "surveyor", "area_ids": [id]});
                let created = client.post_json("/api/v1/users", &new_user);
                let expect_create = if is_admin && own { 201 } else { 403 };
                assert_eq!(
                    created.status, expect_create,
                    "POST /users: {context}: {}",
                    created.text
                );
            }
            let expect_users = if is_admin { 200 } else { 403 };
            assert_eq!(
                client.get("/api/v1/users").status,
                expect_users,
                "GET /users {}",
                case.user
            );
            let import = client.post_raw(
                "/api/v1/areas/import",
                "text/csv",
                b"code,name,level,parent_code\nZZ,Z,village,C1\n",
            );
            assert_eq!(
                import.status,
                if is_admin { 200 } else { 403 },
                "POST /areas/import {}: {}",
                case.user,
                import.text
            );
        }

        // An admin cannot manage a user bound outside their area.
        let users_q = admin_q.get("/api/v1/users");
        let admin_q_id = users_q.body["items"][0]["id"].as_i64().unwrap_or(0);
        admin
            .post_json(
                &format!("/api/v1/users/{admin_q_id}/deactivate"),
                &json!({}),
            )
            .assert_problem(403);
        admin
            .put_json(
                &format!("/api/v1/users/{admin_q_id}/areas"),
                &json!({"area_ids": [fx.area("V1")]}),
            )
            .assert_problem(403);
    }
}
