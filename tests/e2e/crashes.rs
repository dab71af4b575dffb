//! Crash consistency: the server is killed with SIGKILL in the middle of
//! uploads, reviews and an import, then restarted. No acknowledged submission
//! or review is lost, no photo is orphaned or missing, the import is all or
//! nothing, the background photo checks resume, and maintained coverage still
//! equals a full recount.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{json, Value};

use crate::fixture::Fixture;
use crate::harness::field::{clean_visit, households, local, settled, with_forms, Visit};
use crate::harness::{wait_until, Client, Part};

fn originals_in_store(fx: &Fixture) -> HashSet<String> {
    let mut found = HashSet::new();
    let mut stack = vec![fx.env.data_dir.path().join("photos")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Some(sha) = entry.file_name().to_string_lossy().strip_suffix(".orig") {
                found.insert(sha.to_string());
            }
        }
    }
    found
}

pub fn verify_coverage(fx: &Fixture) {
    let out = fx.env.camket(&["coverage", "verify"]);
    assert!(
        out.status.success(),
        "coverage verify after the crash: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn household_count(admin: &Client, fx: &Fixture) -> usize {
    ["V1", "V2", "V3", "V4"]
        .iter()
        .map(|v| {
            admin
                .get(&format!(
                    "/api/v1/villages/{}/households?limit=5000",
                    fx.area(v)
                ))
                .body["items"]
                .as_array()
                .map(Vec::len)
                .unwrap_or(0)
        })
        .sum()
}

per_backend! {
    fn killed_mid_upload_review_and_import_the_server_loses_nothing_acknowledged(backend) {
        let mut fx = with_forms(backend, &[]);
        crate::harness::field::open_campaign(&fx);
        let v1 = households(&fx, "V1");
        let when = local(1, 8);
        let visits: Vec<Visit> = (0..60u64)
            .map(|n| {
                let code = ["H1", "H2", "H3"][(n % 3) as usize];
                let at = when + chrono::Duration::minutes(n as i64);
                clean_visit(&fx, v1[code], "household_reporting", at, 3000 + n)
            })
            .collect();
        let surveyor = fx.login("surveyor");
        let officer = fx.login("officer");
        // A few submissions first, so that reviews run from the start.
        for visit in &visits[..4] {
            assert_eq!(visit.send(&surveyor).status, 201);
        }

        // Uploads and reviews in flight when the server is killed.
        let stop = AtomicBool::new(false);
        let (sent, approved_or_rejected) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let (submitted, reviewed) = std::thread::scope(|scope| {
            let sender = scope.spawn(|| {
                let mut acknowledged: Vec<(String, i64)> = Vec::new();
                for visit in &visits[4..] {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let mut parts = vec![Part::json(&visit.document)];
                    parts.extend(visit.parts.iter().cloned());
                    match surveyor.try_post_multipart("/api/v1/submissions", &parts) {
                        Some(r) if r.status == 201 => {
                            acknowledged.push((
                                visit.document["instance_id"].as_str().unwrap_or("").into(),
                                r.body["id"].as_i64().unwrap_or(0),
                            ));
                            sent.fetch_add(1, Ordering::SeqCst);
                        }
                        Some(r) => panic!("a submission failed before the crash: {}", r.text),
                        None => break,
                    }
                }
                acknowledged
            });
            let reviewer = scope.spawn(|| {
                let mut acknowledged: HashMap<i64, &'static str> = HashMap::new();
                let mut turn = 0;
                while !stop.load(Ordering::Relaxed) {
                    let Some(queue) =
                        officer.try_get("/api/v1/submissions?status=received&limit=5")
                    else {
                        break;
                    };
                    for item in queue.body["items"].as_array().cloned().unwrap_or_default() {
                        turn += 1;
                        let decision = if turn % 3 == 0 { "reject" } else { "approve" };
                        let id = item["id"].as_i64().unwrap_or(0);
                        let body = json!({"decision": decision, "comment": "kiểm tra"});
                        match officer
                            .try_post_json(&format!("/api/v1/submissions/{id}/review"), &body)
                        {
                            Some(r) if r.status == 200 => {
                                approved_or_rejected.fetch_add(1, Ordering::SeqCst);
                                acknowledged.insert(
                                    id,
                                    if decision == "approve" {
                                        "approved"
                                    } else {
                                        "rejected"
                                    },
                                );
                            }
                            Some(_) => {}
                            None => return acknowledged,
                        }
                    }
                }
                acknowledged
            });
            wait_until(
                "uploads and reviews are in full flow",
                Duration::from_secs(60),
                || {
                    sent.load(Ordering::SeqCst) >= 6
                        && approved_or_rejected.load(Ordering::SeqCst) >= 3
                },
            );
            let _ = fx.server.child.kill();
            let _ = fx.server.child.wait();
            stop.store(true, Ordering::Relaxed);
            (
                sender.join().expect("sender"),
                reviewer.join().expect("reviewer"),
            )
        });
        assert!(
            !submitted.is_empty(),
            "some uploads finished before the kill"
        );
        assert!(
            !reviewed.is_empty(),
            "some reviews finished before the kill"
        );

        fx.server = fx.env.start();
        let officer = fx.login("officer");
        for (instance, id) in &submitted {
            let got = officer.get(&format!("/api/v1/submissions/{id}"));
            assert_eq!(got.status, 200, "acknowledged submission {id} lost");
            assert_eq!(got.body["instance_id"].as_str(), Some(instance.as_str()));
        }
        for (id, status) in &reviewed {
            let got = officer.get(&format!("/api/v1/submissions/{id}"));
            assert_eq!(
                got.body["status"], *status,
                "acknowledged review of {id} lost"
            );
        }
        // Every stored submission's photos are whole, the background checks
        // resume after the restart, and the store holds no orphan.
        let all = officer.get("/api/v1/submissions?limit=200");
        let items = all.body["items"].as_array().cloned().unwrap_or_default();
        assert!(items.len() >= 4 + submitted.len());
        let mut referenced = HashSet::new();
        for item in &items {
            let id = item["id"].as_i64().unwrap_or(0);
            let checked: Value = settled(&officer, id);
            for photo in checked["photos"].as_array().cloned().unwrap_or_default() {
                let sha = photo["sha256"].as_str().unwrap_or("").to_string();
                let original = officer.get_bytes(photo["original_url"].as_str().unwrap_or(""));
                assert_eq!(
                    hex_sha256(&original),
                    sha,
                    "the photo of submission {id} is whole"
                );
                let thumb = officer.get(photo["thumb_url"].as_str().unwrap_or(""));
                assert_eq!(thumb.status, 200, "{}", thumb.text);
                referenced.insert(sha);
            }
        }
        assert_eq!(
            originals_in_store(&fx),
            referenced,
            "the store holds exactly the photos the database names"
        );
        verify_coverage(&fx);

        // An import in flight when the server is killed: all or nothing.
        let admin = fx.login("admin");
        let before = household_count(&admin, &fx);
        let mut roster =
            String::from("village_code,code,head_name,address,member_count,lat,lon,categories\n");
        for n in 0..8000 {
            let village = ["V1", "V2", "V3", "V4"][n % 4];
            roster.push_str(&format!(
                "{village},K{n},Hộ {n},Địa chỉ {n},3,19.0,105.0,\n"
            ));
        }
        // The server says when an import starts; its log must show that line.
        fx.server.terminate();
        fx.server = fx
            .env
            .start_with(&[("CAMKET_LOG", "warn,camket::households=info")]);
        let admin = fx.login("admin");
        let acknowledged = std::thread::scope(|scope| {
            let import = scope.spawn(|| {
                admin.try_post_raw("/api/v1/households/import", "text/csv", roster.as_bytes())
            });
            // Killed once the server has read the whole body: the import is then running.
            wait_until("the server starts the import", Duration::from_secs(60), || {
                fx.server.log().contains("household import started")
            });
            let _ = fx.server.child.kill();
            let _ = fx.server.child.wait();
            import
                .join()
                .expect("import")
                .is_some_and(|r| r.status == 200)
        });
        fx.server = fx.env.start();
        let admin = fx.login("admin");
        let after = household_count(&admin, &fx);
        assert!(
            after == before || after == before + 8000,
            "half an import: {before} before, {after} after"
        );
        if acknowledged {
            assert_eq!(after, before + 8000, "an acknowledged import was lost");
        }
        verify_coverage(&fx);
    }
}

pub fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
