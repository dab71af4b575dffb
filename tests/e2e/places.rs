//! Areas and households: listing within one's area, imports that are all or
//! nothing, and the phones' delta sync of the roster.

use serde_json::{json, Value};

use crate::fixture::{self, Fixture};
use crate::harness::TestEnv;

fn codes(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|a| a["code"].as_str().map(str::to_string))
        .collect()
}

per_backend! {
    fn each_user_lists_only_their_own_subtree(backend) {
        let fx = Fixture::new(backend);
        let all = fx.login("admin").get("/api/v1/areas");
        assert_eq!(codes(&all.body).len(), 9, "{backend:?}");
        assert_eq!(
            codes(&fx.login("viewer").get("/api/v1/areas").body),
            vec!["D1", "C1", "V1", "V2", "C2", "V3"]
        );
        assert_eq!(
            codes(&fx.login("officer").get("/api/v1/areas").body),
            vec!["C1", "V1", "V2"]
        );
        assert_eq!(
            codes(&fx.login("surveyor").get("/api/v1/areas").body),
            vec!["V1"]
        );

        let viewer = fx.login("viewer");
        let villages = viewer.get("/api/v1/areas?level=village");
        assert_eq!(codes(&villages.body), vec!["V1", "V2", "V3"]);
        let children = viewer.get(&format!("/api/v1/areas?parent={}", fx.area("C1")));
        assert_eq!(codes(&children.body), vec!["V1", "V2"]);
        viewer.get("/api/v1/areas?level=hamlet").assert_problem(400);
        viewer.get("/api/v1/areas?limit=0").assert_problem(400);
    }
}

per_backend! {
    fn area_listing_pages_with_a_cursor(backend) {
        let fx = Fixture::new(backend);
        let admin = fx.login("admin");
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/areas?limit=4&cursor={c}"),
                None => "/api/v1/areas?limit=4".to_string(),
            };
            let page = admin.get(&path);
            assert_eq!(page.status, 200, "{}", page.text);
            seen.extend(codes(&page.body));
            match page.body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        assert_eq!(
            seen,
            vec!["P", "D1", "C1", "V1", "V2", "C2", "V3", "C3", "V4"],
            "{backend:?}"
        );
        admin.get("/api/v1/areas?cursor=zzz").assert_problem(400);
    }
}

per_backend! {
    fn a_village_comes_with_its_boundary_and_centroid(backend) {
        let fx = Fixture::new(backend);
        let v1 = fx
            .login("surveyor")
            .get(&format!("/api/v1/areas/{}", fx.area("V1")));
        assert_eq!(v1.status, 200, "{}", v1.text);
        assert_eq!(v1.body["name"], "Thôn Một");
        assert_eq!(v1.body["level"], "village");
        assert_eq!(v1.body["parent_id"], fx.area("C1"));
        assert_eq!(
            v1.body["ancestors"],
            json!([fx.area("P"), fx.area("D1"), fx.area("C1")])
        );
        assert_eq!(v1.body["boundary"]["type"], "Polygon");
        assert_eq!(v1.body["centroid"]["type"], "Point");
        let coordinates = &v1.body["centroid"]["coordinates"];
        assert!((coordinates[0].as_f64().unwrap_or(0.0) - 105.01).abs() < 1e-9);
        assert!((coordinates[1].as_f64().unwrap_or(0.0) - 19.01).abs() < 1e-9);

        let v2 = fx
            .login("officer")
            .get(&format!("/api/v1/areas/{}", fx.area("V2")));
        assert_eq!(v2.body["boundary"], Value::Null);
        assert_eq!(v2.body["centroid"]["coordinates"], json!([105.1, 19.1]));
        fx.login("admin")
            .get("/api/v1/areas/999999")
            .assert_problem(404);
    }
}

per_backend! {
    fn a_bad_area_file_is_rejected_whole_with_every_line_named(backend) {
        let fx = Fixture::new(backend);
        let admin = fx.login("admin");
        let file = "code,name,level,parent_code\n\
                    V5,Thôn Năm,village,C1\n\
                    V6,,village,C1\n\
                    V7,Thôn Bảy,village,NOPE\n\
                    X1,Xã lạ,commune,V1\n";
        let response = admin.post_raw("/api/v1/areas/import", "text/csv", file.as_bytes());
        let body = response.assert_problem(422);
        let errors: Vec<(u64, String)> = body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| {
                (
                    e["line"].as_u64().unwrap_or(0),
                    e["field"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        assert_eq!(
            errors,
            vec![(3, "name".to_string())],
            "{backend:?}: parse errors come first"
        );

        let file = "code,name,level,parent_code\n\
                    V5,Thôn Năm,village,C1\n\
                    V7,Thôn Bảy,village,NOPE\n\
                    X1,Xã lạ,commune,V1\n";
        let body = admin
            .post_raw("/api/v1/areas/import", "text/csv", file.as_bytes())
            .assert_problem(422)
            .clone();
        let errors: Vec<(u64, String)> = body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| {
                (
                    e["line"].as_u64().unwrap_or(0),
                    e["field"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        assert_eq!(
            errors,
            vec![(3, "parent_code".to_string()), (4, "level".to_string())],
            "{body}"
        );
        // V5 was valid but nothing may be half-imported.
        assert!(!codes(&admin.get("/api/v1/areas").body).contains(&"V5".to_string()));

        // The same file saved by Excel (a byte-order mark, CRLF endings) names
        // the same lines, and so does a household file.
        let excel = format!("\u{feff}{}", file.replace('\n', "\r\n"));
        let body = admin
            .post_raw("/api/v1/areas/import", "text/csv", excel.as_bytes())
            .assert_problem(422)
            .clone();
        let lines: Vec<u64> = body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["line"].as_u64().unwrap_or(0))
            .collect();
        assert_eq!(lines, vec![3, 4], "{body}");
        let households = "village_code,code,head_name,address,member_count\r\n\
                          V1,H90,Lê Văn Một,Xóm 1,4\r\n\
                          V1,H91,Lê Văn Hai,Xóm 1,bốn\r\n";
        let body = admin
            .post_raw("/api/v1/households/import", "text/csv", households.as_bytes())
            .assert_problem(422)
            .clone();
        assert_eq!(body["errors"][0]["line"], 3, "{body}");
        assert_eq!(body["errors"][0]["field"], "member_count", "{body}");

        let good = admin.post_raw(
            "/api/v1/areas/import",
            "text/csv",
            b"code,name,level,parent_code\nV5,Thon Nam,village,C1\n",
        );
        assert_eq!(good.status, 200, "{}", good.text);
        assert_eq!(good.body["created"], 1);
        assert!(codes(&admin.get("/api/v1/areas").body).contains(&"V5".to_string()));
        admin
            .post_raw("/api/v1/areas/import", "application/pdf", b"%PDF")
            .assert_problem(400);
    }
}

per_backend! {
    fn an_admin_imports_village_boundaries_from_geojson(backend) {
        let fx = Fixture::new(backend);
        let admin = fx.login("admin");
        let geojson = json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"code": "V9", "name": "Thôn Chín", "level": "village", "parent_code": "C2"},
             "geometry": {"type": "Polygon", "coordinates": [[[105.5, 19.5], [105.52, 19.5], [105.52, 19.52], [105.5, 19.52], [105.5, 19.5]]]}}
        ]});
        let response = admin.post_raw(
            "/api/v1/areas/import",
            "application/geo+json",
            geojson.to_string().as_bytes(),
        );
        assert_eq!(response.status, 200, "{backend:?}: {}", response.text);
        let listing = admin.get("/api/v1/areas?level=village&limit=100");
        let v9 = listing.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|a| a["code"] == "V9")
            .expect("V9")
            .clone();
        let detail = admin.get(&format!("/api/v1/areas/{}", v9["id"]));
        assert_eq!(
            detail.body["centroid"]["coordinates"],
            json!([105.51, 19.51])
        );
        assert_eq!(detail.body["parent_id"], fx.area("C2"));
        // The officer of C2 now sees the new village.
        assert!(codes(&fx.login("officer2").get("/api/v1/areas").body).contains(&"V9".to_string()));
    }
}

per_backend! {
    fn the_command_line_import_reports_bad_rows_and_imports_nothing(backend) {
        let env = TestEnv::new(backend);
        fixture::load(&env);
        let file = env.write_file(
            "bad-households.csv",
            "village_code,code,head_name,address,member_count\n\
             V1,H9,Good Row,Số 9,3\n\
             V1,H10,,Số 10,3\n\
             NOPE,H11,Khong Thon,Số 11,two\n",
        );
        let out = env.camket(&["import", "households", &file]);
        assert!(!out.status.success(), "{backend:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("line 3, head_name: is required"),
            "{stderr}"
        );
        assert!(stderr.contains("line 4, member_count"), "{stderr}");
        assert!(stderr.contains("nothing was imported"), "{stderr}");

        // Parsing passed but a village is unknown: still nothing imported.
        let file = env.write_file(
            "bad-village.csv",
            "village_code,code,head_name,address,member_count\n\
             V1,H9,Good Row,Số 9,3\n\
             NOPE,H11,Khong Thon,Số 11,2\n\
             C1,H12,Sai Cap,Số 12,2\n",
        );
        let out = env.camket(&["import", "households", &file]);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("line 3, village_code: no area has code 'NOPE'"),
            "{stderr}"
        );
        assert!(
            stderr.contains("line 4, village_code: 'C1' is a commune, not a village"),
            "{stderr}"
        );

        let server = env.start();
        let admin = server.login("admin", fixture::PASSWORD);
        let areas = admin.get("/api/v1/areas?level=village");
        let v1 = areas.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|a| a["code"] == "V1")
            .expect("V1")["id"]
            .clone();
        let roster = admin.get(&format!("/api/v1/villages/{v1}/households"));
        assert_eq!(
            roster.body["items"].as_array().map(Vec::len),
            Some(3),
            "{}",
            roster.text
        );
    }
}

per_backend! {
    fn a_surveyor_syncs_the_roster_by_delta(backend) {
        let fx = Fixture::new(backend);
        let surveyor = fx.login("surveyor");
        let v1 = fx.area("V1");
        let first = surveyor.get(&format!("/api/v1/villages/{v1}/households?limit=2"));
        assert_eq!(first.status, 200, "{backend:?}: {}", first.text);
        let page: Vec<&str> = first.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|h| h["code"].as_str())
            .collect();
        assert_eq!(page, vec!["H1", "H2"]);
        assert_eq!(first.body["has_more"], true);
        let h1 = &first.body["items"][0];
        assert_eq!(h1["head_name"], "Lê Văn An");
        assert_eq!(h1["categories"], json!(["relative_abroad"]));
        assert_eq!(h1["location"], json!({"lat": 19.01, "lon": 105.01}));
        assert_eq!(h1["active"], true);

        let cursor = first.body["next_cursor"]
            .as_str()
            .expect("cursor")
            .to_string();
        let second = surveyor.get(&format!(
            "/api/v1/villages/{v1}/households?since={cursor}&limit=2"
        ));
        let page: Vec<&str> = second.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|h| h["code"].as_str())
            .collect();
        assert_eq!(page, vec!["H3"]);
        assert_eq!(second.body["has_more"], false);
        let cursor = second.body["next_cursor"]
            .as_str()
            .expect("cursor")
            .to_string();

        let nothing = surveyor.get(&format!("/api/v1/villages/{v1}/households?since={cursor}"));
        assert_eq!(nothing.body["items"], json!([]));
        assert_eq!(nothing.body["next_cursor"], cursor.as_str());

        // The commune updates one household of V1 and adds one; V2 changes too.
        let update = "village_code,code,head_name,address,member_count\n\
                      V1,H2,Trần Thị Bình,Số 2 Thôn Một (mới),4\n\
                      V1,H4,Mai Văn Khoa,Số 4 Thôn Một,2\n\
                      V2,H1,Ngô Thị Dung,Số 1 Thôn Hai,3\n";
        let imported =
            fx.login("admin")
                .post_raw("/api/v1/households/import", "text/csv", update.as_bytes());
        assert_eq!(imported.status, 200, "{}", imported.text);
        assert_eq!(imported.body["created"], 1);
        assert_eq!(imported.body["updated"], 2);

        let delta = surveyor.get(&format!("/api/v1/villages/{v1}/households?since={cursor}"));
        let changed: Vec<(&str, &str)> = delta.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|h| {
                (
                    h["code"].as_str().unwrap_or(""),
                    h["address"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            changed,
            vec![("H2", "Số 2 Thôn Một (mới)"), ("H4", "Số 4 Thôn Một")]
        );

        surveyor
            .get(&format!("/api/v1/villages/{v1}/households?since=garbage"))
            .assert_problem(400);
        surveyor
            .get(&format!("/api/v1/villages/{}/households", fx.area("C1")))
            .assert_problem(404);
        fx.login("officer")
            .get(&format!("/api/v1/villages/{}/households", fx.area("C1")))
            .assert_problem(404);
        let one = surveyor.get(&format!("/api/v1/households/{}", h1["id"]));
        assert_eq!(one.body["code"], "H1");
    }
}
