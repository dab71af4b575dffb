//! Hostile input over HTTP: what an attacker or a broken phone sends gets a
//! clear 4xx, is stored verbatim when it is merely strange, never runs as SQL
//! or touches the file system, and the server keeps serving.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::fixture::Fixture;
use crate::harness::field::{clean_visit, households, local, with_forms};
use crate::harness::{half_sent_upload, Part};

/// SQL that would do damage if it were ever spliced into a query.
const SQL: &[&str] = &[
    "Robert'); DROP TABLE submissions;--",
    "' OR '1'='1",
    "\"; DELETE FROM households; --",
    "1; UPDATE users SET role='admin'",
    "%' OR 1=1 --",
];

fn files_named(dir: &std::path::Path, name: &str) -> usize {
    let mut found = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found += files_named(&path, name);
            } else if entry.file_name().to_string_lossy().contains(name) {
                found += 1;
            }
        }
    }
    found
}

per_backend! {
    fn hostile_json_text_and_names_get_a_clear_4xx_or_are_stored_verbatim(backend) {
        let fx = with_forms(backend, &[]);
        let anonymous = fx.server.anonymous();
        let surveyor = fx.login("surveyor");
        let officer = fx.login("officer");
        let admin = fx.login("admin");

        // Deeply nested JSON, invalid UTF-8 and wrong types: 400, naming the field.
        let deep = "[".repeat(100_000);
        anonymous
            .post_raw("/api/v1/auth/login", "application/json", deep.as_bytes())
            .assert_problem(400);
        anonymous
            .post_raw(
                "/api/v1/auth/login",
                "application/json",
                b"{\"username\":\"admin\xff\xfe\",\"password\":\"x\"}",
            )
            .assert_problem(400);
        let wrong = anonymous
            .post_json(
                "/api/v1/auth/login",
                &json!({"username": 5, "password": "x"}),
            )
            .assert_problem(400)
            .clone();
        assert!(
            wrong["detail"].as_str().unwrap_or("").contains("username"),
            "{wrong}"
        );
        admin
            .get("/api/v1/submissions?status=%FF%FE")
            .assert_problem(400);
        let nested_answers = format!(
            "{{\"instance_id\":\"n\",\"form_id\":\"commitment\",\"form_version\":1,\"village_id\":1,\"collected_at\":\"2025-01-01T00:00:00Z\",\"answers\":{}1{}}}",
            "{\"a\":".repeat(5000),
            "}".repeat(5000)
        );
        surveyor
            .post_multipart(
                "/api/v1/submissions",
                &[Part {
                    name: "submission".into(),
                    filename: None,
                    content_type: "application/json".into(),
                    bytes: nested_answers.into_bytes(),
                }],
            )
            .assert_problem(400);

        // SQL metacharacters: refused as values where a value is a choice, and
        // never executed anywhere.
        for sql in SQL {
            let encoded: String = url_encode(sql);
            anonymous
                .post_json(
                    "/api/v1/auth/login",
                    &json!({"username": sql, "password": sql}),
                )
                .assert_problem(401);
            for query in [
                format!("/api/v1/submissions?status={encoded}"),
                format!("/api/v1/submissions?flag={encoded}"),
                format!("/api/v1/submissions?cursor={encoded}"),
                format!("/api/v1/areas?level={encoded}"),
                format!("/api/v1/areas?cursor={encoded}"),
                format!(
                    "/api/v1/villages/{}/households?since={encoded}",
                    fx.area("V1")
                ),
            ] {
                admin.get(&query).assert_problem(400);
            }
            admin
                .get(&format!("/api/v1/submissions/{encoded}"))
                .assert_problem(404);
        }
        // ... and stored verbatim where free text is allowed.
        let homes = households(&fx, "V1");
        let when = local(1, 9);
        for (n, sql) in SQL.iter().enumerate() {
            let mut visit = clean_visit(&fx, homes["H1"], "relative_abroad", when, 400 + n as u64);
            visit.document["answers"]["signer_name"] = json!(sql);
            visit.document["device_id"] = json!(sql);
            let sent = visit.send(&surveyor);
            assert_eq!(sent.status, 201, "{}", sent.text);
            let stored = officer.get(&format!("/api/v1/submissions/{}", sent.body["id"]));
            assert_eq!(stored.body["answers"]["signer_name"], json!(sql));
            assert_eq!(stored.body["device_id"], json!(sql));
        }
        let roster = format!(
            "village_code,code,head_name,address,member_count\nV2,SQL1,\"{}\",\"{}\",2\n",
            SQL[0].replace('"', "\"\""),
            SQL[2].replace('"', "\"\"")
        );
        let imported = admin.post_raw("/api/v1/households/import", "text/csv", roster.as_bytes());
        assert_eq!(imported.status, 200, "{}", imported.text);
        let v2 = officer.get(&format!("/api/v1/villages/{}/households", fx.area("V2")));
        let row = v2.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|h| h["code"] == "SQL1")
            .cloned()
            .expect("the household with SQL in its name");
        assert_eq!(row["head_name"], json!(SQL[0]));
        assert_eq!(row["address"], json!(SQL[2]));
        // Every table is still there and whole.
        let queue = officer.get("/api/v1/submissions?limit=100");
        assert_eq!(
            queue.body["items"].as_array().map(Vec::len),
            Some(SQL.len())
        );
        assert_eq!(v2.body["items"].as_array().map(Vec::len), Some(3));

        // A huge text answer: 422 naming the field; nothing stored.
        let mut visit = clean_visit(&fx, homes["H2"], "household_reporting", when, 420);
        visit.document["answers"]["signer_name"] = json!("A".repeat(200_000));
        let body = visit.send(&surveyor).assert_problem(422).clone();
        assert_eq!(body["errors"][0]["field"], "answers.signer_name", "{body}");
        assert!(body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("at most"));
        let giant = json!({"username": "x".repeat(2_000_000), "password": "y"});
        anonymous
            .post_json("/api/v1/auth/login", &giant)
            .assert_problem(413);

        // Path traversal: a photo's file name is a label, never a path.
        let mut visit = clean_visit(&fx, homes["H3"], "household_reporting", when, 421);
        let traversal = "../../../../../tmp/camket-evil.jpg";
        visit.document["answers"]["signed_paper_photo"] = json!([traversal]);
        visit.parts[0].filename = Some(traversal.into());
        let sent = visit.send(&surveyor);
        assert_eq!(sent.status, 201, "{}", sent.text);
        assert_eq!(files_named(fx.env.data_dir.path(), "camket-evil"), 0);
        assert!(!std::path::Path::new("/tmp/camket-evil.jpg").exists());
        let stored = officer.get(&format!("/api/v1/submissions/{}", sent.body["id"]));
        assert_eq!(stored.body["photos"][0]["name"], traversal);
        for path in [
            format!(
                "/api/v1/submissions/{}/photos/..%2F..%2F..%2Fetc%2Fpasswd",
                sent.body["id"]
            ),
            "/api/v1/../../../etc/passwd".to_string(),
            "/api/v1/submissions/1/photos/1?size=..%2F..%2Fetc%2Fpasswd".to_string(),
        ] {
            let response = officer.get(&path);
            assert!(
                (400..500).contains(&response.status),
                "{path}: {}",
                response.status
            );
            assert!(!response.text.contains("root:"), "{path}");
        }

        // Still serving.
        assert_eq!(anonymous.get("/healthz").status, 200);
    }
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Reads an HTTP response head from a raw socket, up to `limit`.
fn read_status(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).expect("read timeout");
    let mut buffer = [0u8; 4096];
    let mut text = String::new();
    while !text.contains("\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buffer[..n])),
        }
    }
    (text, started.elapsed())
}

/// After the response, the server closes the connection.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) => {
                return e.kind() == std::io::ErrorKind::ConnectionReset;
            }
        }
    }
}

per_backend! {
    fn a_stalled_upload_times_out_and_frees_its_connection(backend) {
        let fx = with_forms(
            backend,
            &[
                ("CAMKET_UPLOAD_IDLE_SECS", "2"),
                ("CAMKET_HEADER_TIMEOUT_SECS", "2"),
            ],
        );
        let homes = households(&fx, "V1");
        let when = local(1, 9);
        let visit = clean_visit(&fx, homes["H1"], "household_reporting", when, 430);
        let token = fx.login("surveyor").token.clone().unwrap_or_default();
        let mut parts = vec![Part::json(&visit.document)];
        parts.extend(visit.parts.iter().cloned());
        let address = fx.server.base.trim_start_matches("http://").to_string();

        // The body stops halfway and never resumes.
        let mut stream = half_sent_upload(&fx.server, &token, &parts);
        let (status, waited) = read_status(&mut stream, Duration::from_secs(20));
        assert!(status.starts_with("HTTP/1.1 408"), "{status}");
        assert!(waited < Duration::from_secs(15), "{waited:?}");
        assert!(closed_by_server(&mut stream), "the connection is freed");

        // The headers never finish.
        let mut stream = TcpStream::connect(&address).expect("connect");
        stream
            .write_all(b"POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nContent-Ty")
            .expect("partial headers");
        let (status, waited) = read_status(&mut stream, Duration::from_secs(20));
        assert!(
            status.is_empty() || status.starts_with("HTTP/1.1 408"),
            "{status}"
        );
        assert!(waited < Duration::from_secs(15), "{waited:?}");

        // Nothing was stored or left staged, and the same visit then goes through.
        assert_eq!(
            std::fs::read_dir(fx.env.data_dir.path().join("tmp"))
                .map(|d| d.count())
                .unwrap_or(0),
            0
        );
        let officer = fx.login("officer");
        assert_eq!(officer.get("/api/v1/submissions").body["items"], json!([]));
        let sent = visit.send(&fx.login("surveyor"));
        assert_eq!(sent.status, 201, "{}", sent.text);
    }
}

/// A roster of `rows` households over the fixture's villages; `bad` lines
/// (1-based data lines) carry one mistake each, of several kinds.
fn big_roster(rows: usize, bad: &[usize]) -> String {
    let villages = ["V1", "V2", "V3", "V4"];
    let mut csv =
        String::from("village_code,code,head_name,address,member_count,lat,lon,categories\n");
    for n in 1..=rows {
        let village = villages[n % villages.len()];
        let line = if bad.contains(&n) {
            match n % 5 {
                0 => format!("{village},B{n},Hộ {n},Địa chỉ {n},không,,,\n"),
                1 => format!("V404,B{n},Hộ {n},Địa chỉ {n},3,,,\n"),
                2 => format!("{village},B{n},Hộ {n},Địa chỉ {n},3,91.5,105.0,\n"),
                3 => format!("{village},B{n},Hộ {n},Địa chỉ {n},3,,,martian\n"),
                _ => format!("{village},,Hộ {n},Địa chỉ {n},3,,,\n"),
            }
        } else {
            format!(
                "{village},B{n},Hộ {n},Địa chỉ {n},{},19.0,105.0,\n",
                1 + n % 6
            )
        };
        csv.push_str(&line);
    }
    csv
}

per_backend! {
    fn a_ten_thousand_row_import_with_errors_names_every_bad_line_and_imports_nothing(backend) {
        let fx = Fixture::new(backend);
        let admin = fx.login("admin");
        let count = |village: &str| {
            admin
                .get(&format!(
                    "/api/v1/villages/{}/households?limit=5000",
                    fx.area(village)
                ))
                .body["items"]
                .as_array()
                .map(Vec::len)
                .unwrap_or(0)
        };
        let before: usize = ["V1", "V2", "V3", "V4"].iter().map(|v| count(v)).sum();
        let bad: Vec<usize> = (0..40).map(|i| 7 + i * 249).collect();
        let refused = admin.post_raw(
            "/api/v1/households/import",
            "text/csv",
            big_roster(10_000, &bad).as_bytes(),
        );
        let body = refused.assert_problem(422).clone();
        let errors = body["errors"].as_array().expect("errors");
        let lines: Vec<u64> = errors.iter().filter_map(|e| e["line"].as_u64()).collect();
        for n in &bad {
            // Data line n is file line n + 1 (the header is line 1).
            assert!(
                lines.contains(&(*n as u64 + 1)),
                "line {} is not named: {lines:?}",
                n + 1
            );
        }
        assert_eq!(errors.len(), bad.len(), "one error per bad line: {lines:?}");
        assert!(errors
            .iter()
            .all(|e| e["message"].as_str().is_some_and(|m| !m.is_empty())));
        let after: usize = ["V1", "V2", "V3", "V4"].iter().map(|v| count(v)).sum();
        assert_eq!(after, before, "nothing was imported");

        let accepted = admin.post_raw(
            "/api/v1/households/import",
            "text/csv",
            big_roster(10_000, &[]).as_bytes(),
        );
        assert_eq!(accepted.status, 200, "{}", accepted.text);
        assert_eq!(accepted.body["created"], 10_000, "{}", accepted.text);
        let after: usize = ["V1", "V2", "V3", "V4"].iter().map(|v| count(v)).sum();
        assert_eq!(after, before + 10_000);
    }
}
