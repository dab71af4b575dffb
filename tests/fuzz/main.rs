//! Fuzzing the parsers that read what strangers send: form definitions, answers,
//! the submission multipart body and the CSV / GeoJSON importers. Each target
//! feeds random and mutated inputs (mutations of a valid input reach deep into
//! a parser; pure noise tests its first line of defence) and asserts that the
//! parser answers — a value or a list of errors — and never panics, and that
//! what it accepts is sound. Bounded: `CAMKET_FUZZ_CASES` cases per target
//! (default 2000, ≈ 5 s in all), so CI spends seconds on it; 20,000 ran clean
//! in 45 s while this was written. Raise it for a long session.

use std::path::Path;

use proptest::prelude::*;
use serde_json::Value;

fn cases() -> u32 {
    std::env::var("CAMKET_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        max_shrink_iters: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// One edit of a byte string: overwrite, insert or delete at a position.
#[derive(Debug, Clone)]
enum Edit {
    Overwrite(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
}

/// Bytes that matter to the formats under test, to make edits meaningful.
const INTERESTING: &[&[u8]] = &[
    b"\"",
    b"'",
    b",",
    b"\n",
    b"\r\n",
    b":",
    b"- ",
    b"{",
    b"}",
    b"[",
    b"]",
    b"--",
    b"\\",
    b"\0",
    b"\xff",
    b"\xef\xbb\xbf",
    b"9999999999999999999999",
    b"-1",
    b"NaN",
    b"../",
    b"; DROP TABLE households;--",
    b"&a [*a, *a]",
    b"\t",
    b"null",
];

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Overwrite(at, b)),
        (any::<usize>(), prop::sample::select(INTERESTING))
            .prop_map(|(at, bytes)| Edit::Insert(at, bytes.to_vec())),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Edit::Insert(at, bytes)),
        (any::<usize>(), 1usize..40).prop_map(|(at, n)| Edit::Delete(at, n)),
    ]
}

fn apply(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for edit in edits {
        let len = bytes.len().max(1);
        match edit {
            Edit::Overwrite(at, b) => {
                if !bytes.is_empty() {
                    let i = at % bytes.len();
                    bytes[i] = *b;
                }
            }
            Edit::Insert(at, more) => {
                let i = at % (bytes.len() + 1);
                bytes.splice(i..i, more.iter().copied());
            }
            Edit::Delete(at, n) => {
                let i = at % len;
                let end = (i + n).min(bytes.len());
                if i < end {
                    bytes.drain(i..end);
                }
            }
        }
    }
    bytes
}

/// A mutated copy of one of `seeds`, or random bytes.
fn mutated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (prop::sample::select(seeds), prop::collection::vec(edit(), 1..12))
            .prop_map(|(seed, edits)| apply(&seed, &edits)),
        1 => prop::collection::vec(any::<u8>(), 0..400),
    ]
}

fn forms_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../survey-forms/forms")
}

fn shipped_yaml() -> Vec<Vec<u8>> {
    let mut found: Vec<Vec<u8>> = std::fs::read_dir(forms_dir())
        .expect("the shipped forms")
        .flatten()
        .map(|e| std::fs::read(e.path()).expect("read a form"))
        .collect();
    found.sort();
    found
}

/// Any JSON value, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::String),
        prop::sample::select(vec![
            "household_reporting",
            "relative_abroad",
            "head",
            "yes",
            "paper.jpg",
            "2025-03-01",
        ])
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "commitment_kind",
                    "signer_name",
                    "signer_relation",
                    "signed_paper_photo",
                    "member_count",
                    "members",
                    "name",
                    "relation",
                    "abroad",
                    "has_relative_abroad",
                    "broker_signs",
                    "note",
                    "x",
                ])
                .prop_map(str::to_string),
                inner,
                0..8,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(config())]

    /// Form definitions: a definition or a list of errors naming the file.
    #[test]
    fn form_definition_parser_never_panics(bytes in mutated(shipped_yaml())) {
        let text = String::from_utf8_lossy(&bytes);
        match survey_forms::parse_definition("fuzz.yaml", &text) {
            Ok(definition) => prop_assert!(!definition.id.0.is_empty()),
            Err(errors) => prop_assert!(!errors.is_empty()),
        }
    }

    /// Answers: every shipped form checks any JSON without panicking, and the
    /// derived facts (categories, commitment, attachments) are computed safely.
    #[test]
    fn answer_checker_never_panics(answers in json_value()) {
        for definition in survey_forms::shipped_forms().expect("shipped forms") {
            let problems = survey_forms::check_answers(&definition, &answers);
            if !answers.is_object() {
                prop_assert!(!problems.is_empty(), "{} accepted {answers}", definition.id);
            }
            for problem in &problems {
                prop_assert!(!problem.message.is_empty());
            }
            let _ = survey_forms::derived_categories(&definition, &answers);
            let _ = survey_forms::covered_commitment(&definition, &answers);
            let _ = survey_forms::attachment_names(&definition, &answers);
        }
    }

    /// Household rosters: records or errors with a line; accepted records are sound.
    #[test]
    fn household_csv_importer_never_panics(bytes in mutated(vec![
        HOUSEHOLDS.as_bytes().to_vec(),
    ])) {
        match camket::households::import::parse_csv(&bytes) {
            Ok(records) => {
                for record in records {
                    prop_assert!(!record.code.trim().is_empty());
                    prop_assert!(!record.village_code.trim().is_empty());
                    prop_assert!(record.member_count >= 0);
                }
            }
            Err(errors) => prop_assert!(!errors.is_empty()),
        }
    }

    /// Area trees: CSV and GeoJSON.
    #[test]
    fn area_importers_never_panic(bytes in mutated(vec![
        AREAS.as_bytes().to_vec(),
        GEOJSON.as_bytes().to_vec(),
    ])) {
        for parsed in [
            camket::areas::import::parse_csv(&bytes),
            camket::areas::import::parse_geojson(&bytes),
        ] {
            match parsed {
                Ok(records) => {
                    for record in records {
                        prop_assert!(!record.code.trim().is_empty());
                    }
                }
                Err(errors) => prop_assert!(!errors.is_empty()),
            }
        }
    }

    /// The submission body: the multipart reader answers with an upload or a
    /// 4xx error, and leaves no staging file behind either way.
    #[test]
    fn multipart_reader_never_panics_and_leaves_nothing(
        bytes in mutated(vec![multipart_seed()]),
        chunk in 1usize..4096,
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = camket::photo_store::PhotoStore::open(dir.path()).expect("store");
        let outcome = actix_web::rt::System::new().block_on(receive(store.clone(), bytes, chunk));
        match outcome {
            Ok(upload) => {
                for part in &upload.parts {
                    prop_assert_eq!(part.sha256.len(), 64);
                }
                drop(upload);
            }
            Err(status) => prop_assert!((400..500).contains(&status), "status {status}"),
        }
        let staged = std::fs::read_dir(dir.path().join("tmp")).expect("tmp").count();
        prop_assert_eq!(staged, 0, "staging files left behind");
    }
}

const HOUSEHOLDS: &str = "village_code,code,head_name,address,member_count,lat,lon,categories
V1,H1,Lê Văn An,Số 1 Thôn Một,4,19.01,105.01,relative_abroad
V1,H2,\"Trần Thị, Bình\",Số 2 Thôn Một,3,,,
V1,H3,Phạm Văn Cường,Số 3,5,19.011,105.012,returnee;relative_abroad_illegal
";

const AREAS: &str = "code,name,level,parent_code,centroid_lat,centroid_lon,boundary
P,Tỉnh Thử,province,,,,
C1,Xã Một,commune,P,,,
V1,Thôn Một,village,C1,,,\"{\"\"type\"\":\"\"Polygon\"\",\"\"coordinates\"\":[[[105.0,19.0],[105.02,19.0],[105.02,19.02],[105.0,19.0]]]}\"
V2,Thôn Hai,village,C1,19.1,105.1,
";

const GEOJSON: &str = r#"{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"code":"V9","name":"Thôn Chín","level":"village","parent_code":"C1"},
 "geometry":{"type":"Polygon","coordinates":[[[105.0,19.0],[105.02,19.0],[105.02,19.02],[105.0,19.0]]]}}]}"#;

const BOUNDARY: &str = "fuzz-boundary";

fn multipart_seed() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"submission\"\r\nContent-Type: application/json\r\n\r\n").as_bytes());
    body.extend_from_slice(br#"{"instance_id":"a","form_id":"commitment","form_version":1,"village_id":1,"collected_at":"2025-03-01T09:00:00+07:00","answers":{}}"#);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"signed_paper_photo\"; filename=\"p.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes());
    body.extend_from_slice(&[
        0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 0xFF, 0xD9,
    ]);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Feeds `body` to the multipart reader in chunks of `chunk` bytes.
async fn receive(
    store: camket::photo_store::PhotoStore,
    body: Vec<u8>,
    chunk: usize,
) -> Result<camket::submissions::upload::Upload, u16> {
    use actix_web::http::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
    use actix_web::ResponseError;
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_str(&format!("multipart/form-data; boundary={BOUNDARY}"))
            .expect("header"),
    );
    let chunks: Vec<Result<actix_web::web::Bytes, actix_web::error::PayloadError>> = body
        .chunks(chunk)
        .map(|c| Ok(actix_web::web::Bytes::copy_from_slice(c)))
        .collect();
    let multipart = actix_multipart::Multipart::new(&headers, futures_util::stream::iter(chunks));
    let limits = camket::submissions::upload::UploadLimits {
        max_photo_bytes: 1 << 20,
        max_total_bytes: 2 << 20,
        max_parts: 8,
        max_document_bytes: 64 << 10,
        idle_timeout: std::time::Duration::from_secs(5),
    };
    camket::submissions::upload::receive(multipart, &store, limits, "submission")
        .await
        .map_err(|e| e.status_code().as_u16())
}
