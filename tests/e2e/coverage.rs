//! Campaign coverage, gaps and reports, checked against figures computed by hand,
//! through every edge case: a category changing mid-campaign, an approval
//! reversed, a household moving, a village split — and `camket coverage verify`
//! after each step and after randomised sequences.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::fixture::Fixture;
use crate::harness::field::{campaign_yaml, households, local, paper, with_forms, Visit};
use crate::harness::{Client, Part};

const H1: (f64, f64) = (19.01, 105.01);

/// (eligible, covered, pending, status) of one target.
type Figure = (i64, i64, i64, String);

/// The figures per target of a coverage row.
fn figures(row: &Value) -> Vec<Figure> {
    row["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| {
            (
                t["eligible"].as_i64().unwrap_or(-1),
                t["covered"].as_i64().unwrap_or(-1),
                t["pending"].as_i64().unwrap_or(-1),
                t["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn f(e: i64, c: i64, p: i64, s: &str) -> Figure {
    (e, c, p, s.to_string())
}

fn verify(fx: &Fixture) {
    let out = fx.env.camket(&["coverage", "verify"]);
    assert!(
        out.status.success(),
        "coverage verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn approve(client: &Client, id: &Value) {
    let r = client.post_json(
        &format!("/api/v1/submissions/{id}/review"),
        &json!({"decision": "approve"}),
    );
    assert_eq!(r.status, 200, "approve {id}: {}", r.text);
}

per_backend! {
    fn coverage_follows_every_change_and_matches_a_hand_count(backend) {
        let fx = with_forms(backend, &[]);
        let admin = fx.login("admin");
        let loaded = admin.post_raw(
            "/api/v1/campaigns",
            "application/yaml",
            campaign_yaml().as_bytes(),
        );
        assert_eq!(loaded.status, 201, "{backend:?}: {}", loaded.text);
        let campaign = loaded.body["id"].as_i64().expect("id");
        let coverage = |client: &Client, query: &str| {
            let r = client.get(&format!("/api/v1/campaigns/{campaign}/coverage{query}"));
            assert_eq!(r.status, 200, "{}", r.text);
            r.body
        };
        let province = |client: &Client| figures(&coverage(client, "")["area"]);
        let v1 = households(&fx, "V1");
        let surveyor = fx.login("surveyor");
        let officer = fx.login("officer");
        let viewer = fx.login("viewer");

        // Nothing done: 4 villages, 8 households, 1 illegal abroad, 1 returnee, 1 transport business.
        assert_eq!(
            province(&admin),
            vec![
                f(4, 0, 0, "behind"),
                f(4, 0, 0, "overdue"),
                f(8, 0, 0, "behind"),
                f(1, 0, 0, "behind"),
                f(1, 0, 0, "behind"),
                f(1, 0, 0, "behind")
            ]
        );
        verify(&fx);

        // The working group of V1: three household pledges, a relative-abroad pledge
        // (left pending), a returnee pledge and the village pledge.
        let when = local(3, 9);
        let mut sent = HashMap::new();
        for (n, (code, kind)) in [
            ("H1", "household_reporting"),
            ("H2", "household_reporting"),
            ("H3", "household_reporting"),
            ("H3", "relative_abroad"),
            ("H3", "returnee_no_reoffend"),
        ]
        .iter()
        .enumerate()
        {
            let at = when + Duration::minutes(10 * n as i64);
            let r = Visit::commitment(
                &fx,
                "V1",
                Some(v1[*code]),
                kind,
                at,
                Some(H1),
                paper(100 + n as u64, at, Some(H1)),
            )
            .send(&surveyor);
            assert_eq!(r.status, 201, "{}", r.text);
            sent.insert(format!("{code}-{kind}"), r.body["id"].clone());
        }
        let at = when + Duration::hours(2);
        let pledge = Visit::commitment(
            &fx,
            "V1",
            None,
            "village_pledge",
            at,
            Some(H1),
            paper(120, at, Some(H1)),
        )
        .send(&surveyor);
        assert_eq!(pledge.status, 201, "{}", pledge.text);
        for key in [
            "H1-household_reporting",
            "H2-household_reporting",
            "H3-household_reporting",
            "H3-returnee_no_reoffend",
        ] {
            approve(&officer, &sent[key]);
        }
        approve(&officer, &pledge.body["id"]);
        // 1/4 villages and 3/8 households: a third of the way through, 25 % is behind and 37.5 % on track.
        assert_eq!(
            province(&admin),
            vec![
                f(4, 1, 0, "behind"),
                f(4, 0, 0, "overdue"),
                f(8, 3, 0, "on_track"),
                f(1, 0, 1, "behind"),
                f(1, 1, 0, "met"),
                f(1, 0, 0, "behind")
            ]
        );
        // The district viewer sees their district by default (no business there: met).
        assert_eq!(province(&viewer)[2], f(7, 3, 0, "on_track"));
        assert_eq!(province(&viewer)[5], f(0, 0, 0, "met"));
        let by_level = coverage(&admin, "?depth=1");
        let children: Vec<(String, Vec<Figure>)> = by_level["children"]
            .as_array()
            .expect("children")
            .iter()
            .map(|c| (c["name"].as_str().unwrap_or("").to_string(), figures(c)))
            .collect();
        assert_eq!(children.len(), 2, "D1 and C3 directly under the province");
        assert_eq!(children[0].0, "Huyện Một");
        assert_eq!(children[0].1[2], f(7, 3, 0, "on_track"));
        assert_eq!(children[1].0, "Phường Ba");
        assert_eq!(children[1].1[5], f(1, 0, 0, "behind"));
        let villages = coverage(&officer, "?depth=1");
        assert_eq!(
            villages["area"]["name"], "Xã Một",
            "the officer sees their commune by default"
        );
        let v1_row = villages["children"]
            .as_array()
            .expect("children")
            .iter()
            .find(|c| c["name"] == "Thôn Một")
            .expect("V1")
            .clone();
        assert_eq!(figures(&v1_row)[2], f(3, 3, 0, "met"));
        verify(&fx);

        // A category changes mid-campaign: an approved survey finds a relative illegally abroad in V3.
        let v3 = households(&fx, "V3");
        let surveyor3 = fx.login("surveyor3");
        let survey = json!({
            "instance_id": uuid::Uuid::new_v4().to_string(), "form_id": "household-survey", "form_version": 1,
            "village_id": fx.area("V3"), "household_id": v3["H1"], "collected_at": local(2, 10).to_rfc3339(),
            "answers": {"member_count": 4, "has_relative_abroad": true,
                "relatives_abroad": [{"full_name": "Đỗ Văn Tài", "relation": "con", "country": "Đài Loan", "purpose": "labour", "legal_status": "illegal"}],
                "has_relative_detained": false, "has_returnee": false, "broker_signs": false}
        });
        let r = surveyor3.post_multipart("/api/v1/submissions", &[Part::json(&survey)]);
        assert_eq!(r.status, 201, "{}", r.text);
        approve(&fx.login("officer2"), &r.body["id"]);
        assert_eq!(province(&admin)[3], f(2, 0, 1, "behind"));
        verify(&fx);

        // An approval reversed.
        let reversed = officer.post_json(
            &format!(
                "/api/v1/submissions/{}/review",
                sent["H2-household_reporting"]
            ),
            &json!({"decision": "reject", "comment": "sai người ký"}),
        );
        assert_eq!(reversed.status, 200, "{}", reversed.text);
        assert_eq!(province(&admin)[2], f(8, 2, 0, "behind"));
        verify(&fx);

        // A household moves village (H3 to V2, which has no H3): its coverage goes with it.
        let moved = admin.post_json(
            &format!("/api/v1/households/{}/move", v1["H3"]),
            &json!({"village_id": fx.area("V2")}),
        );
        assert_eq!(moved.status, 200, "{}", moved.text);
        let villages = coverage(&officer, "?depth=1");
        let row = |name: &str| {
            figures(
                &villages["children"]
                    .as_array()
                    .expect("children")
                    .iter()
                    .find(|c| c["name"] == name)
                    .expect("village")
                    .clone(),
            )
        };
        assert_eq!((row("Thôn Một")[2].0, row("Thôn Một")[2].1), (2, 1));
        assert_eq!((row("Thôn Hai")[2].0, row("Thôn Hai")[2].1), (3, 1));
        // The old village's phones learn that H1 left.
        let delta = surveyor.get(&format!("/api/v1/villages/{}/households", fx.area("V1")));
        let gone = delta.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|h| h["id"] == v1["H3"])
            .expect("moved household listed")
            .clone();
        assert_eq!(gone["status"], "moved_away");
        assert!(gone.get("head_name").is_none(), "{gone}");
        verify(&fx);

        // A village is split: V5 is made from part of V2.
        let split = admin.post_raw(
            "/api/v1/areas/import",
            "text/csv",
            "code,name,level,parent_code\nV5,Thôn Năm,village,C1\n".as_bytes(),
        );
        assert_eq!(split.status, 200, "{}", split.text);
        let v5 = admin.get("/api/v1/areas?level=village&limit=100").body["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|a| a["code"] == "V5")
            .expect("V5")["id"]
            .clone();
        let v2 = households(&fx, "V2");
        assert_eq!(
            admin
                .post_json(
                    &format!("/api/v1/households/{}/move", v2["H2"]),
                    &json!({"village_id": v5})
                )
                .status,
            200
        );
        let after = province(&admin);
        assert_eq!(
            after[0],
            f(5, 1, 0, "behind"),
            "the new village must pledge too"
        );
        assert_eq!(
            after[2],
            f(8, 2, 0, "behind"),
            "households are neither lost nor counted twice"
        );
        verify(&fx);

        // The gap list: the working group's to-do list.
        let gaps = surveyor.get(&format!("/api/v1/campaigns/{campaign}/gaps"));
        assert_eq!(gaps.status, 200, "{}", gaps.text);
        let todo: Vec<(String, Option<String>, bool)> = gaps.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|g| {
                (
                    g["kind"].as_str().unwrap_or("").to_string(),
                    g["household_code"].as_str().map(str::to_string),
                    g["pending"].as_bool().unwrap_or(false),
                )
            })
            .collect();
        assert_eq!(
            todo,
            vec![
                ("village_meeting".to_string(), None, false),
                (
                    "household_reporting".to_string(),
                    Some("H2".to_string()),
                    false
                ),
            ],
            "{}",
            gaps.text
        );
        // The province's list comes a page at a time, with the total, and the
        // pages together are the whole list.
        let viewer = fx.login("viewer");
        let whole = viewer.get(&format!("/api/v1/campaigns/{campaign}/gaps?limit=1000"));
        let total = whole.body["total"].as_u64().expect("total") as usize;
        assert_eq!(whole.body["items"].as_array().map(Vec::len), Some(total));
        assert!(total >= 3, "{}", whole.text);
        assert_eq!(whole.body["next_cursor"], serde_json::Value::Null);
        let mut paged = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = viewer.get(&format!(
                "/api/v1/campaigns/{campaign}/gaps?limit=2{cursor}"
            ));
            assert_eq!(page.status, 200, "{}", page.text);
            assert_eq!(page.body["total"].as_u64(), Some(total as u64));
            paged.extend(page.body["items"].as_array().cloned().unwrap_or_default());
            match page.body["next_cursor"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => break,
            }
        }
        assert_eq!(serde_json::Value::Array(paged), whole.body["items"]);
        viewer
            .get(&format!("/api/v1/campaigns/{campaign}/gaps?cursor=7"))
            .assert_problem(400);
        fx.login("surveyor3")
            .get(&format!(
                "/api/v1/campaigns/{campaign}/gaps?area={}",
                fx.area("V1")
            ))
            .assert_problem(400);
        // An area outside one's own answers like an area that does not exist.
        let outside = fx
            .login("officer2")
            .get(&format!(
                "/api/v1/campaigns/{campaign}/coverage?area={}",
                fx.area("C1")
            ));
        assert_eq!(outside.assert_problem(400)["errors"][0]["field"], "area");
    }
}

per_backend! {
    fn randomised_changes_keep_maintained_coverage_equal_to_a_recount(backend) {
        let fx = with_forms(backend, &[]);
        let admin = fx.login("admin");
        assert_eq!(
            admin
                .post_raw(
                    "/api/v1/campaigns",
                    "application/yaml",
                    campaign_yaml().as_bytes()
                )
                .status,
            201
        );
        let officer = fx.login("officer");
        let surveyor = fx.login("surveyor");
        let v1 = households(&fx, "V1");
        let codes = ["H1", "H2", "H3"];
        let kinds = [
            "household_reporting",
            "relative_abroad",
            "returnee_no_reoffend",
        ];
        let photo = paper(500, local(1, 9), Some(H1));
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let mut sent: Vec<Value> = Vec::new();
        for step in 0..24 {
            match next(4) {
                0 | 1 => {
                    let at = local(5, 8) + Duration::minutes(7 * step);
                    let code = codes[next(3) as usize];
                    let kind = kinds[next(3) as usize];
                    let r = Visit::commitment(
                        &fx,
                        "V1",
                        Some(v1[code]),
                        kind,
                        at,
                        Some(H1),
                        photo.clone(),
                    )
                    .send(&surveyor);
                    assert_eq!(r.status, 201, "{}", r.text);
                    sent.push(r.body["id"].clone());
                }
                2 if !sent.is_empty() => {
                    let id = &sent[next(sent.len() as u64) as usize];
                    let decision = ["approve", "reject", "has_issues"][next(3) as usize];
                    let r = officer.post_json(
                        &format!("/api/v1/submissions/{id}/review"),
                        &json!({"decision": decision, "comment": "kiểm tra"}),
                    );
                    assert!(r.status == 200 || r.status == 409, "{}", r.text);
                }
                _ => {
                    let code = codes[next(3) as usize];
                    let target = if next(2) == 0 { "V1" } else { "V2" };
                    let r = admin.post_json(
                        &format!("/api/v1/households/{}/move", v1[code]),
                        &json!({"village_id": fx.area(target)}),
                    );
                    assert!(r.status == 200 || r.status == 409, "{}", r.text);
                }
            }
            if step % 6 == 5 {
                verify(&fx);
            }
        }
        verify(&fx);
    }
}

per_backend! {
    fn reports_are_right_value_by_value_in_every_format(backend) {
        let fx = with_forms(backend, &[]);
        let admin = fx.login("admin");
        let loaded = admin.post_raw(
            "/api/v1/campaigns",
            "application/yaml",
            campaign_yaml().as_bytes(),
        );
        let campaign = loaded.body["id"].as_i64().expect("id");
        let v1 = households(&fx, "V1");
        let surveyor = fx.login("surveyor");
        let officer = fx.login("officer");
        let when = local(2, 9);
        let r = Visit::commitment(
            &fx,
            "V1",
            Some(v1["H1"]),
            "household_reporting",
            when,
            Some(H1),
            paper(300, when, Some(H1)),
        )
        .send(&surveyor);
        approve(&officer, &r.body["id"]);
        let flagged = Visit::commitment(
            &fx,
            "V1",
            Some(v1["H2"]),
            "household_reporting",
            when + Duration::hours(1),
            Some((19.01, 105.09)),
            paper(301, when, Some((19.01, 105.09))),
        )
        .send(&surveyor);
        assert!(flagged.body["risk"].as_i64().unwrap_or(0) > 0);
        let survey = json!({
            "instance_id": uuid::Uuid::new_v4().to_string(), "form_id": "household-survey", "form_version": 1,
            "village_id": fx.area("V1"), "household_id": v1["H3"], "collected_at": when.to_rfc3339(),
            "geotag": {"lat": H1.0, "lon": H1.1, "accuracy_m": 5.0},
            "answers": {"member_count": 5, "has_relative_abroad": true,
                "relatives_abroad": [
                    {"full_name": "Phạm Văn Nam", "relation": "con", "country": "Hàn Quốc", "purpose": "labour", "legal_status": "illegal"},
                    {"full_name": "Phạm Thị Hoa", "relation": "con", "country": "Nhật Bản", "purpose": "study", "legal_status": "legal"}],
                "has_relative_detained": false, "has_returnee": true,
                "returnees": [{"full_name": "Phạm Văn Cường", "return_date": "2025-01-10", "manner_of_return": "arrested_handed_back"}],
                "broker_signs": false}
        });
        let s = surveyor.post_multipart("/api/v1/submissions", &[Part::json(&survey)]);
        approve(&officer, &s.body["id"]);

        let today = Utc::now()
            .with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).expect("offset"))
            .date_naive();
        let viewer = fx.login("viewer");
        let url = |kind: &str, date: chrono::NaiveDate, format: &str| {
            format!(
                "/api/v1/campaigns/{campaign}/reports/{kind}?area={}&date={date}&format={format}",
                fx.area("C1")
            )
        };

        let report = viewer.get(&url("final", today, "json"));
        assert_eq!(report.status, 200, "{}", report.text);
        let rows = report.body["rows"].as_array().expect("rows");
        assert_eq!(
            rows.iter()
                .map(|r| r["village"].as_str().unwrap_or(""))
                .collect::<Vec<_>>(),
            vec!["Thôn Một", "Thôn Hai"]
        );
        assert_eq!((figures(&rows[0])[2].0, figures(&rows[0])[2].1), (3, 1));
        assert_eq!(report.body["totals"][2]["eligible"], 5);
        assert_eq!(report.body["totals"][2]["covered"], 1);
        assert_eq!(report.body["totals"][2]["pending"], 1);
        assert_eq!(report.body["relatives_abroad"], 2);
        assert_eq!(
            report.body["households_with_relative_abroad_illegally"], 1,
            "{}",
            report.text
        );
        assert_eq!(report.body["households_with_relative_abroad"], 2);
        assert_eq!(
            report.body["returnees_by_manner"]["arrested_handed_back"],
            1
        );
        assert_eq!(report.body["returnees_by_manner"]["expelled"], 0);
        assert_eq!(report.body["flagged_unreviewed"], 1);
        assert_eq!(report.body["villages_with_meeting"], 0);
        // A daily report of a day before the approvals counts none of them.
        let earlier = viewer.get(&url("daily", today - Duration::days(5), "json"));
        assert_eq!(earlier.body["totals"][2]["covered"], 0);
        assert!(
            earlier.body["as_of"]
                .as_str()
                .unwrap_or("")
                .contains("T07:00:00"),
            "14:00 in Vietnam: {}",
            earlier.body["as_of"]
        );

        // Without a date, the monthly report is the one due next: its period
        // ends on a coming 15th, so today's approvals are in it, and it says
        // its period and when its figures were taken in local time.
        let monthly = viewer.get(&format!(
            "/api/v1/campaigns/{campaign}/reports/monthly?area={}",
            fx.area("C1")
        ));
        assert_eq!(monthly.status, 200, "{}", monthly.text);
        assert_eq!(monthly.body["totals"][2]["covered"], 1, "{}", monthly.text);
        let period = monthly.body["period_local"].as_str().unwrap_or("");
        assert!(period.ends_with(" 00:00"), "{period}");
        assert!(period.split(" – ").all(|end| end.starts_with("15/")), "{period}");
        let taken = monthly.body["figures_taken_local"].as_str().unwrap_or("");
        assert!(
            chrono::NaiveDateTime::parse_from_str(taken, "%d/%m/%Y %H:%M").is_ok(),
            "{taken}"
        );

        // CSV: a BOM, Vietnamese headers, the same numbers.
        let csv_bytes = viewer.get_bytes(&url("final", today, "csv"));
        assert!(csv_bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM");
        let text = String::from_utf8(csv_bytes[3..].to_vec()).expect("utf-8");
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .from_reader(text.as_bytes());
        let lines: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.expect("record").iter().map(str::to_string).collect())
            .collect();
        assert_eq!(lines[0][0], "Thôn/Tổ dân phố");
        assert_eq!(lines[0][14], "Hộ cam kết phát hiện, tố giác - Phải ký");
        // Every row names its commune and district: six "Thôn 1" of a
        // province can be told apart.
        assert_eq!(&lines[1][..6], &["Thôn Một", "V1", "Xã Một", "C1", "Huyện Một", "D1"]);
        assert_eq!(&lines[1][14..18], &["3", "1", "1", "33.3"]);
        assert_eq!(lines[3][0], "Tổng cộng");
        assert_eq!(&lines[3][14..18], &["5", "1", "1", "20.0"]);
        let summary: HashMap<String, String> = lines
            .iter()
            .filter(|l| l.len() == 2)
            .map(|l| (l[0].clone(), l[1].clone()))
            .collect();
        assert_eq!(summary["Người trở về - bị bắt và trao trả"], "1");
        assert_eq!(summary["Phiếu bị gắn cờ chưa duyệt"], "1");

        // XLSX, read back.
        let xlsx = viewer.get_bytes(&url("final", today, "xlsx"));
        use calamine::{Data, Reader, Xlsx};
        let mut workbook: Xlsx<_> =
            Xlsx::new(std::io::Cursor::new(xlsx)).expect("an xlsx workbook");
        let sheet = workbook.worksheet_range("Bao cao").expect("sheet");
        assert_eq!(
            sheet.get((0, 0)),
            Some(&Data::String("Thôn/Tổ dân phố".into()))
        );
        assert_eq!(sheet.get((1, 0)), Some(&Data::String("Thôn Một".into())));
        assert_eq!(sheet.get((1, 2)), Some(&Data::String("Xã Một".into())));
        assert_eq!(sheet.get((1, 14)), Some(&Data::Float(3.0)));
        assert_eq!(sheet.get((1, 15)), Some(&Data::Float(1.0)));
        // The commune's and the district's subtotals close their groups.
        assert_eq!(sheet.get((3, 0)), Some(&Data::String("Cộng Xã Một".into())));
        assert_eq!(sheet.get((3, 14)), Some(&Data::Float(5.0)));
        assert_eq!(sheet.get((4, 0)), Some(&Data::String("Cộng Huyện Một".into())));
        assert_eq!(sheet.get((4, 15)), Some(&Data::Float(1.0)));
        assert_eq!(sheet.get((5, 0)), Some(&Data::String("Tổng cộng".into())));
        assert_eq!(sheet.get((5, 17)), Some(&Data::Float(20.0)));
        let totals = workbook.worksheet_range("Tong hop").expect("summary sheet");
        let relatives = totals
            .rows()
            .find(|r| {
                r[0] == Data::String("Số người thân ở nước ngoài (theo phiếu rà soát)".into())
            })
            .expect("line");
        assert_eq!(relatives[1], Data::Float(2.0));

        // The command line writes the same report.
        let out = fx.env.data_dir.path().join("report.csv");
        let cli = fx.env.camket(&[
            "report",
            "--campaign",
            "test-campaign",
            "--kind",
            "final",
            "--area",
            "C1",
            "--format",
            "csv",
            "--out",
            out.to_str().unwrap_or(""),
        ]);
        assert!(
            cli.status.success(),
            "{}",
            String::from_utf8_lossy(&cli.stderr)
        );
        assert_eq!(std::fs::read(&out).expect("report file"), csv_bytes);
        viewer
            .get(&format!("/api/v1/campaigns/{campaign}/reports/weekly"))
            .assert_problem(404);
        viewer.get(&url("daily", today, "pdf")).assert_problem(400);

        // A report of a moment that has passed is filed the first time it is
        // asked and does not change afterwards; the live report moves on. A
        // survey approved now puts H2 among the households with a relative
        // abroad: the report due five days ago (filed above) still says 2.
        assert_eq!(earlier.body["households_with_relative_abroad"], 2, "{}", earlier.text);
        let survey = json!({
            "instance_id": uuid::Uuid::new_v4().to_string(), "form_id": "household-survey", "form_version": 1,
            "village_id": fx.area("V1"), "household_id": v1["H2"], "collected_at": when.to_rfc3339(),
            "geotag": {"lat": H1.0, "lon": H1.1, "accuracy_m": 5.0},
            "answers": {"member_count": 3, "has_relative_abroad": true,
                "relatives_abroad": [
                    {"full_name": "Lê Văn Tư", "relation": "con", "country": "Đài Loan", "purpose": "labour", "legal_status": "legal"}],
                "has_relative_detained": false, "has_returnee": false, "broker_signs": false}
        });
        let s = surveyor.post_multipart("/api/v1/submissions", &[Part::json(&survey)]);
        assert_eq!(s.status, 201, "{}", s.text);
        approve(&officer, &s.body["id"]);
        let filed = viewer.get(&url("daily", today - Duration::days(5), "json"));
        assert_eq!(filed.body["households_with_relative_abroad"], 2, "{}", filed.text);
        assert_eq!(filed.body["relatives_abroad"], 0, "approved after its moment");
        let live = viewer.get(&url("final", today, "json"));
        assert_eq!(live.body["households_with_relative_abroad"], 3, "{}", live.text);
        assert_eq!(live.body["relatives_abroad"], 3);
        verify(&fx);
    }
}

per_backend! {
    fn work_dated_before_the_campaign_is_flagged_and_not_counted(backend) {
        let fx = with_forms(backend, &[]);
        let yaml = campaign_yaml().replace("scope: P", "scope: C1");
        let file = fx.env.write_file("campaign.yaml", &yaml);
        let out = fx.env.camket(&["campaigns", "load", &file]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("6 targets"));
        let v1 = households(&fx, "V1");
        let surveyor = fx.login("surveyor");
        let early = local(15, 9);
        let r = Visit::commitment(
            &fx,
            "V1",
            Some(v1["H1"]),
            "household_reporting",
            early,
            Some(H1),
            paper(700, early, Some(H1)),
        )
        .send(&surveyor);
        let codes: Vec<&str> = r.body["flags"]
            .as_array()
            .expect("flags")
            .iter()
            .filter_map(|f| f["code"].as_str())
            .collect();
        assert_eq!(
            codes,
            vec!["photo_time_mismatch", "before_campaign"],
            "{}",
            r.text
        );
        approve(&fx.login("officer"), &r.body["id"]);
        let admin = fx.login("admin");
        let campaign = admin.get("/api/v1/campaigns").body["items"][0]["id"].clone();
        let coverage = admin.get(&format!("/api/v1/campaigns/{campaign}/coverage"));
        assert_eq!(
            figures(&coverage.body["area"])[2],
            f(5, 0, 0, "behind"),
            "collected outside the window: not covered"
        );
        let again = fx.env.camket(&["campaigns", "load", &file]);
        assert!(!again.status.success(), "the same code twice is refused");
        verify(&fx);
    }
}

per_backend! {
    fn an_uploads_village_is_recounted_after_it_even_when_the_server_stopped_first(backend) {
        const TOKEN: &str = "scraper-token-for-coverage-1";
        let mut fx = with_forms(backend, &[("CAMKET_METRICS_TOKEN", TOKEN)]);
        let admin = fx.login("admin");
        let loaded = admin.post_raw("/api/v1/campaigns", "application/yaml", campaign_yaml().as_bytes());
        assert_eq!(loaded.status, 201, "{backend:?}: {}", loaded.text);
        let village = fx.area("V1");
        let db = camket_schema::Db::connect(&fx.env.database_url, 2).expect("database");
        // Read straight from the table: a read through the API recounts
        // the villages still marked first, and would hide what is kept.
        let kept_pending = || -> i64 {
            use camket_schema::tables::coverage_counts;
            use diesel::prelude::*;
            let load = || -> Result<Vec<i32>, camket_schema::DbError> {
                Ok(camket_schema::with_conn!(&db, |conn| coverage_counts::table
                    .filter(coverage_counts::village_id.eq(village))
                    .select(coverage_counts::pending)
                    .load::<i32>(conn)?))
            };
            load().expect("kept counts").into_iter().map(i64::from).sum()
        };
        let execute = |sql: &str| -> usize {
            use diesel::RunQueryDsl;
            let run = || -> Result<usize, camket_schema::DbError> {
                Ok(camket_schema::with_conn!(&db, |conn| diesel::sql_query(sql).execute(conn))?)
            };
            run().expect(sql)
        };
        let marked = |server: &crate::harness::Server| -> i64 {
            let scrape = server.anonymous().with_token(TOKEN).get("/metrics");
            assert_eq!(scrape.status, 200, "{}", scrape.text);
            scrape
                .text
                .lines()
                .find_map(|line| line.strip_prefix("camket_coverage_villages_pending "))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or_else(|| panic!("no villages_pending gauge in:\n{}", scrape.text))
        };
        assert_eq!(kept_pending(), 0);

        // The surveyor's upload: its village is marked in the upload's
        // transaction and recounted after it, without anyone reading.
        let at = local(3, 9);
        let home = households(&fx, "V1")["H1"];
        let sent = Visit::commitment(&fx, "V1", Some(home), "household_reporting", at, Some(H1), paper(300, at, Some(H1)))
            .send(&fx.login("surveyor"));
        assert_eq!(sent.status, 201, "{backend:?}: {}", sent.text);
        crate::harness::wait_until("the upload's village is recounted", std::time::Duration::from_secs(30), || {
            marked(&fx.server) == 0 && kept_pending() == 1
        });
        verify(&fx);

        // The server stops between an upload's commit and its recount: the
        // village's kept counts are behind, and it is still marked.
        fx.server.terminate();
        let behind = format!("UPDATE coverage_counts SET pending = pending + 7 WHERE village_id = {village}");
        let mark = format!(
            "INSERT INTO coverage_pending (village_id, marks, surveys) \
             SELECT id, 1, FALSE FROM areas WHERE id = {village}"
        );
        assert!(execute(&behind) > 0);
        assert_eq!(execute(&mark), 1);
        assert_eq!(kept_pending(), 1 + 7 * 6);
        // The next start recounts it before anyone asks.
        fx.server = fx.env.start_with(&[("CAMKET_METRICS_TOKEN", TOKEN)]);
        crate::harness::wait_until("the marked village is recounted at the start", std::time::Duration::from_secs(30), || {
            marked(&fx.server) == 0 && kept_pending() == 1
        });

        // Counts behind without a mark are what `coverage verify` exists to
        // find; with the mark, it recounts the village before it compares.
        fx.server.terminate();
        assert!(execute(&behind) > 0);
        let out = fx.env.camket(&["coverage", "verify"]);
        assert!(!out.status.success(), "verify must find counts behind: {}", String::from_utf8_lossy(&out.stdout));
        assert_eq!(execute(&mark), 1);
        verify(&fx);
        assert_eq!(kept_pending(), 1);
    }
}

/// A household moves village while an upload for it is committing. On
/// PostgreSQL the two transactions run side by side: if the move could
/// recount both villages before the upload commits, while the upload marks
/// the village it read before the move, the household's new village would
/// stay behind. What prevents it: the upload's foreign-key check locks the
/// household's row (`FOR KEY SHARE`), and so does its read of the household's
/// village (`FOR SHARE`), while a move changes `village_id`, part of the
/// unique key `(village_id, code)`, which needs the stronger lock, so the
/// move waits for the upload. (With the constraint dropped and the read not
/// locked, as before the read was, this test fails.) SQLite's
/// writers hold the whole database for their transaction, one after the
/// other, so the interleaving exists on PostgreSQL only.
///
/// The test holds the upload at its last step (its village's mark) with a
/// transaction of its own, starts the move, and only then lets it commit.
#[test]
fn a_household_moving_while_its_upload_commits_is_counted_where_it_went_postgres() {
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    let fx = with_forms(crate::harness::Backend::Postgres, &[]);
    let admin = fx.login("admin");
    let loaded = admin.post_raw(
        "/api/v1/campaigns",
        "application/yaml",
        campaign_yaml().as_bytes(),
    );
    assert_eq!(loaded.status, 201, "{}", loaded.text);
    let (v1, v2) = (fx.area("V1"), fx.area("V2"));
    // V2 has no H3 of its own.
    let home = households(&fx, "V1")["H3"];
    let mut holder =
        PgConnection::establish(&fx.env.database_url).expect("a connection of our own");
    let mut watcher = PgConnection::establish(&fx.env.database_url).expect("a second connection");
    let waiting = |conn: &mut PgConnection| -> i64 {
        diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .get_result::<Count>(conn)
        .expect("pg_stat_activity")
        .n
    };
    let kept_pending = |conn: &mut PgConnection, village: i64| -> i64 {
        diesel::sql_query(format!(
            "SELECT COALESCE(SUM(pending), 0)::BIGINT AS n FROM coverage_counts WHERE village_id = {village}"
        ))
        .get_result::<Count>(conn)
        .expect("kept counts")
        .n
    };
    assert_eq!(kept_pending(&mut watcher, v2), 0);

    // Our own uncommitted mark of V1: the upload's mark waits for it.
    diesel::sql_query("BEGIN")
        .execute(&mut holder)
        .expect("begin");
    diesel::sql_query(format!(
        "INSERT INTO coverage_pending (village_id, marks, surveys) VALUES ({v1}, 1, FALSE) \
         ON CONFLICT (village_id) DO UPDATE SET marks = coverage_pending.marks + 1"
    ))
    .execute(&mut holder)
    .expect("hold V1's mark");

    let surveyor = fx.login("surveyor");
    let at = local(3, 9);
    let visit = Visit::commitment(
        &fx,
        "V1",
        Some(home),
        "household_reporting",
        at,
        Some(H1),
        paper(301, at, Some(H1)),
    );
    std::thread::scope(|threads| {
        let upload = threads.spawn(|| visit.send(&surveyor));
        crate::harness::wait_until(
            "the upload waits at its mark",
            std::time::Duration::from_secs(30),
            || waiting(&mut watcher) == 1,
        );
        let mover = admin.clone();
        let moving = threads.spawn(move || {
            mover.post_json(
                &format!("/api/v1/households/{home}/move"),
                &json!({"village_id": v2}),
            )
        });
        // The move either waits for the upload's household, or (without the
        // lock) commits while the upload is still open.
        crate::harness::wait_until(
            "the move waits or is done",
            std::time::Duration::from_secs(30),
            || moving.is_finished() || waiting(&mut watcher) == 2,
        );
        diesel::sql_query("COMMIT")
            .execute(&mut holder)
            .expect("commit");
        let sent = upload.join().expect("upload thread");
        assert_eq!(sent.status, 201, "{}", sent.text);
        let moved = moving.join().expect("move thread");
        assert_eq!(moved.status, 200, "{}", moved.text);
    });

    // The commitment is pending where its household is now.
    verify(&fx);
    assert_eq!(
        kept_pending(&mut watcher, v2),
        1,
        "V2 counts the moved household's commitment"
    );
    assert_eq!(kept_pending(&mut watcher, v1), 0);
}
