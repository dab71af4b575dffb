//! Bad uploads get a clear 4xx and leave nothing behind; a killed upload leaves
//! nothing half-done; the server keeps serving.

use serde_json::{json, Value};

use camket::devtools::synthetic::{self, PaperPhoto, Scene};

use crate::fixture::Fixture;
use crate::harness::{half_sent_upload, Part};

fn shipped_dir() -> String {
    format!("{}/../survey-forms/forms", env!("CARGO_MANIFEST_DIR"))
}

fn document(fx: &Fixture, household: i64, photos: &[&str]) -> Value {
    json!({
        "instance_id": uuid::Uuid::new_v4().to_string(),
        "form_id": "commitment",
        "form_version": 1,
        "village_id": fx.area("V1"),
        "household_id": household,
        "collected_at": chrono::Utc::now().to_rfc3339(),
        "geotag": {"lat": 19.01, "lon": 105.01, "accuracy_m": 5.0},
        "answers": {"commitment_kind": "household_reporting", "signer_name": "Lê Văn An", "signer_relation": "head", "signed_paper_photo": photos}
    })
}

fn first_household(fx: &Fixture) -> i64 {
    let roster = fx
        .login("admin")
        .get(&format!("/api/v1/villages/{}/households", fx.area("V1")));
    roster.body["items"][0]["id"].as_i64().expect("household")
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    chunk.extend_from_slice(&body);
    chunk.extend_from_slice(&crc32(&body).to_be_bytes());
    chunk
}

/// A tiny PNG whose header claims 30,000 × 30,000 pixels (2.7 GB decoded).
fn png_bomb() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&30_000u32.to_be_bytes());
    header.extend_from_slice(&30_000u32.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    png.extend(png_chunk(b"IHDR", &header));
    png.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
    ));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

/// A tiny JPEG whose frame header claims 60,000 × 60,000 pixels (10.8 GB decoded).
fn jpeg_bomb() -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8];
    // Baseline frame: 8-bit, height and width 60000, three components.
    bytes.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08, 0xEA, 0x60, 0xEA, 0x60, 0x03]);
    bytes.extend_from_slice(&[0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]);
    bytes.extend_from_slice(&[
        0xFF, 0xDA, 0x00, 0x0C, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11,
    ]);
    bytes.extend_from_slice(&[0x00, 0x3F, 0x00, 0x12, 0x34, 0xFF, 0xD9]);
    bytes
}

fn a_paper(seed: u64) -> Vec<u8> {
    synthetic::jpeg(
        &PaperPhoto::new(
            Scene {
                seed: 9,
                paper_shift: (0, 0),
            },
            seed,
        )
        .render(),
        85,
    )
}

fn stored_count(fx: &Fixture) -> usize {
    fx.login("officer")
        .get("/api/v1/submissions?limit=500")
        .body["items"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0)
}

fn files_under(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            if e.path().is_dir() {
                files_under(&e.path())
            } else {
                1
            }
        })
        .sum()
}

per_backend! {
    fn bad_uploads_get_a_clear_4xx_and_store_nothing(backend) {
        let fx = Fixture::with(
            backend,
            &[
                ("CAMKET_MAX_SUBMISSION_BYTES", "3000000"),
                ("CAMKET_MAX_PHOTO_BYTES", "2000000"),
            ],
        );
        assert!(fx
            .env
            .camket(&["forms", "publish", &shipped_dir()])
            .status
            .success());
        let household = first_household(&fx);
        let surveyor = fx.login("surveyor");
        let send = |parts: Vec<Part>| surveyor.post_multipart("/api/v1/submissions", &parts);
        let with_photo = |bytes: Vec<u8>| {
            send(vec![
                Part::json(&document(&fx, household, &["p.jpg"])),
                Part::photo("signed_paper_photo", "p.jpg", bytes),
            ])
        };
        let detail_of = |body: &Value| {
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or("")
                .to_string()
        };

        let exe = with_photo(
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff this is a program".to_vec(),
        );
        let body = exe.assert_problem(422).clone();
        assert_eq!(body["errors"][0]["field"], "signed_paper_photo");
        assert!(detail_of(&body).contains("not a JPEG or PNG"), "{body}");

        let mut truncated = a_paper(1);
        truncated.truncate(truncated.len() * 2 / 3);
        assert!(detail_of(with_photo(truncated).assert_problem(422)).contains("truncated"));

        let bomb = with_photo(png_bomb());
        let message = detail_of(bomb.assert_problem(422));
        assert!(message.contains("30000 × 30000"), "{message}");
        let bomb = with_photo(jpeg_bomb());
        let message = detail_of(bomb.assert_problem(422));
        assert!(message.contains("60000 × 60000"), "{message}");

        let mut heic = vec![0, 0, 0, 0x18];
        heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
        assert!(detail_of(with_photo(heic).assert_problem(422)).contains("JPEG"));

        // Unknown field names and photos the answers do not mention.
        let unknown = send(vec![
            Part::json(&document(&fx, household, &["p.jpg"])),
            Part::photo("signed_paper_photo", "p.jpg", a_paper(2)),
            Part::photo("selfie", "me.jpg", a_paper(3)),
        ]);
        let body = unknown.assert_problem(422);
        assert_eq!(body["errors"][0]["field"], "selfie", "{body}");
        let missing_part = send(vec![Part::json(&document(&fx, household, &["p.jpg"]))]);
        assert!(missing_part.assert_problem(422)["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("no part"));
        let mut unknown_key = document(&fx, household, &[]);
        unknown_key["extra"] = json!(1);
        let body = send(vec![Part::json(&unknown_key)])
            .assert_problem(400)
            .clone();
        assert!(
            body["detail"].as_str().unwrap_or("").contains("extra"),
            "{body}"
        );
        let not_json = send(vec![Part {
            name: "submission".into(),
            filename: None,
            content_type: "application/json".into(),
            bytes: b"{\"instance_id\":".to_vec(),
        }]);
        not_json.assert_problem(400);
        send(vec![Part::photo("signed_paper_photo", "p.jpg", a_paper(4))]).assert_problem(400);

        // 500 parts.
        let mut many = vec![Part::json(&document(&fx, household, &["p.jpg"]))];
        many.extend((0..500).map(|i| {
            Part::photo(
                "signed_paper_photo",
                &format!("p{i}.jpg"),
                vec![0xFF, 0xD8, 0xFF],
            )
        }));
        send(many).assert_problem(413);

        // Over the photo limit, and over the whole-body limit.
        let mut big = a_paper(5);
        big.resize(2_100_000, 0);
        with_photo(big).assert_problem(413);
        let parts = vec![
            Part::json(&document(&fx, household, &["a.jpg", "b.jpg"])),
            Part::photo("signed_paper_photo", "a.jpg", vec![0xFF; 1_900_000]),
            Part::photo("signed_paper_photo", "b.jpg", vec![0xFF; 1_900_000]),
        ];
        send(parts).assert_problem(413);

        // No boundary at all.
        surveyor
            .post_raw("/api/v1/submissions", "multipart/form-data", b"--x\r\n")
            .assert_problem(400);
        surveyor
            .post_raw("/api/v1/submissions", "application/json", b"{}")
            .assert_problem(400);

        // Nothing was stored, nothing is staged, and the server still serves.
        assert_eq!(stored_count(&fx), 0);
        assert_eq!(
            files_under(&fx.env.data_dir.path().join("tmp")),
            0,
            "staging files are removed"
        );
        assert_eq!(fx.server.anonymous().get("/healthz").status, 200);
        let good = with_photo(a_paper(6));
        assert_eq!(good.status, 201, "{}", good.text);
    }
}

per_backend! {
    fn an_upload_killed_midway_leaves_nothing_behind(backend) {
        let mut fx = Fixture::new(backend);
        assert!(fx
            .env
            .camket(&["forms", "publish", &shipped_dir()])
            .status
            .success());
        let household = first_household(&fx);
        let token = fx.login("surveyor").token.clone().unwrap_or_default();
        let stream = half_sent_upload(
            &fx.server,
            &token,
            &[
                Part::json(&document(&fx, household, &["p.jpg"])),
                Part::photo("signed_paper_photo", "p.jpg", a_paper(7)),
            ],
        );
        let staging = fx.env.data_dir.path().join("tmp");
        crate::harness::wait_until(
            "the photo is being staged",
            std::time::Duration::from_secs(30),
            || files_under(&staging) == 1,
        );
        let _ = fx.server.child.kill();
        let _ = fx.server.child.wait();
        drop(stream);

        let restarted = fx.env.start();
        assert_eq!(
            files_under(&fx.env.data_dir.path().join("tmp")),
            0,
            "staging is swept at start"
        );
        assert_eq!(
            files_under(&fx.env.data_dir.path().join("photos")),
            0,
            "no photo was stored"
        );
        let officer = restarted.login("officer", crate::fixture::PASSWORD);
        assert_eq!(officer.get("/api/v1/submissions").body["items"], json!([]));
        fx.server = restarted;
    }
}
