//! Beyond one machine: photos in an S3-compatible bucket (served, signed,
//! backed up, migrated, swept), the photo checks as leased jobs in the
//! database, and two instances on one PostgreSQL and one bucket, one of them
//! killed mid-load.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::{json, Value};

use crate::crashes::{hex_sha256, verify_coverage};
use crate::fixture::{ok as succeed, Fixture};
use crate::harness::field::{clean_visit, households, local, open_campaign, settled, with_forms};
use crate::harness::s3::{as_refs, holds_no_file, s3};
use crate::harness::{wait_until, Backend, Client, Part, TestEnv};

/// GET without following redirects: (status, Location).
fn get_unfollowed(client: &Client, path: &str) -> (u16, Option<String>) {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let mut request = agent.get(&format!("{}{}", client.base, path));
    if let Some(token) = &client.token {
        request = request.set("Authorization", &format!("Bearer {token}"));
    }
    let response = match request.call() {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(other) => panic!("GET {path}: {other}"),
    };
    (
        response.status(),
        response.header("location").map(str::to_string),
    )
}

/// GET an absolute URL without credentials: (status, body).
fn fetch(url: &str) -> (u16, Vec<u8>) {
    let (status, _, bytes) = fetch_with_headers(url);
    (status, bytes)
}

/// GET an absolute URL without credentials: (status, Content-Type and
/// Cache-Control, body).
fn fetch_with_headers(url: &str) -> (u16, (String, String), Vec<u8>) {
    let response = match ureq::get(url).call() {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(other) => panic!("GET {url}: {other}"),
    };
    let status = response.status();
    let headers = (
        response.header("content-type").unwrap_or("").to_string(),
        response.header("cache-control").unwrap_or("").to_string(),
    );
    let mut bytes = Vec::new();
    let _ = std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes);
    (status, headers, bytes)
}

per_backend! {
    fn photos_live_in_an_s3_bucket_and_are_served_signed_backed_up_migrated_and_swept(backend) {
        let server = s3();
        let bucket = server.bucket();
        let mut vars = server.vars(&format!("s3://{bucket}/camket"));
        vars.push(("CAMKET_PHOTO_REDIRECT_SECS".into(), "60".into()));
        let fx = with_forms(backend, &as_refs(&vars));
        open_campaign(&fx);
        let v1 = households(&fx, "V1");
        let surveyor = fx.login("surveyor");
        let officer = fx.login("officer");
        let visit = clean_visit(&fx, v1["H1"], "household_reporting", local(1, 9), 7101);
        let sent = visit.send(&surveyor);
        assert_eq!(sent.status, 201, "{}", sent.text);
        let id = sent.body["id"].as_i64().expect("id");
        let checked = settled(&officer, id);
        let photo = &checked["photos"][0];
        let sha = photo["sha256"].as_str().expect("sha").to_string();

        // The original and its derivatives are objects of the bucket, under the
        // prefix; nothing is kept in the data dir's photo directory. The review
        // size is made on its first request (and then kept).
        let base = format!("camket/{}/{}/{sha}", &sha[0..2], &sha[2..4]);
        let keys = server.keys(&bucket);
        assert!(!keys.contains(&format!("{base}.review.jpg")), "{keys:?}");
        let review_url = photo["review_url"].as_str().expect("review url");
        let (status, location) = get_unfollowed(&officer, review_url);
        assert_eq!(status, 307);
        let (status, (media_type, _), review) =
            fetch_with_headers(&location.expect("Location of the review size"));
        assert_eq!((status, media_type.as_str()), (200, "image/jpeg"));
        assert!(image::load_from_memory(&review).is_ok(), "a JPEG");
        let keys = server.keys(&bucket);
        for suffix in ["orig", "thumb.jpg", "review.jpg", "sig"] {
            assert!(keys.contains(&format!("{base}.{suffix}")), "{suffix} in {keys:?}");
        }
        assert!(holds_no_file(&fx.env.data_dir.path().join("photos")));

        // Served as a redirect to a short-lived signed URL, after the same
        // authorisation: the signed URL gives the bytes, a forged one nothing.
        let original_url = photo["original_url"].as_str().expect("original url");
        let (status, location) = get_unfollowed(&officer, original_url);
        assert_eq!(status, 307);
        let location = location.expect("Location");
        assert!(location.contains("X-Amz-Signature="), "{location}");
        let (status, (media_type, cache), bytes) = fetch_with_headers(&location);
        assert_eq!(status, 200);
        assert_eq!(hex_sha256(&bytes), sha, "the signed URL gives the original");
        // ... served as camket serves it: a JPEG, never kept by the browser.
        assert_eq!(media_type, "image/jpeg");
        assert_eq!(cache, "private, no-store");
        let forged = location.replace("X-Amz-Expires=60", "X-Amz-Expires=604800");
        assert_ne!(fetch(&forged).0, 200, "a signed URL cannot be stretched");
        let (status, _) = get_unfollowed(&fx.login("officer2"), original_url);
        assert_eq!(status, 404, "no redirect for an officer of another commune");
        assert_eq!(get_unfollowed(&fx.server.anonymous(), original_url).0, 401);

        // An object that no row names (a crash between the store and the
        // database) is swept once older than the grace period, and only then.
        let orphan = "ff".repeat(32);
        server.plant(&bucket, &format!("camket/ff/ff/{orphan}.orig"), b"cut off");
        let vars_ref = as_refs(&vars);
        let out = succeed(
            fx.env.camket_env(&["sweep-photos", "--older-than-secs", "3600"], &vars_ref),
            "sweep (young)",
        );
        assert!(out.contains("removed 0 "), "{out}");
        let out = succeed(
            fx.env.camket_env(&["sweep-photos", "--older-than-secs", "0"], &vars_ref),
            "sweep",
        );
        assert!(out.contains("removed 1 "), "{out}");
        let keys = server.keys(&bucket);
        assert!(!keys.iter().any(|k| k.contains(&orphan)), "{keys:?}");
        assert!(keys.contains(&format!("{base}.orig")), "a named photo stays");

        // A backup of a bucket-backed server restores into a local directory.
        let backup_dir = tempfile::tempdir().expect("backup dir");
        let target = backup_dir.path().join("b");
        let target_str = target.to_string_lossy().into_owned();
        succeed(fx.env.camket_env(&["backup", &target_str], &vars_ref), "backup");
        let restored = TestEnv::unmigrated(backend);
        succeed(restored.camket(&["restore", &target_str]), "restore");
        let local_server = restored.start();
        let officer_local = local_server.login("officer", crate::fixture::PASSWORD);
        let bytes = officer_local.get_bytes(original_url);
        assert_eq!(hex_sha256(&bytes), sha, "restored into a local directory");
        drop(local_server);

        // ... and a local store moves into a bucket, resumably.
        let bucket2 = server.bucket();
        let to = format!("s3://{bucket2}/moved");
        let aws_only = server.vars(&to)[1..].to_vec();
        let env2 = as_refs(&aws_only);
        let out = succeed(restored.camket_env(&["migrate-photos", "--to", &to], &env2), "migrate");
        assert!(out.contains("1 photos are in"), "{out}");
        assert!(out.contains("(4 files copied now)"), "{out}");
        let out = succeed(restored.camket_env(&["migrate-photos", "--to", &to], &env2), "again");
        assert!(out.contains("(0 files copied now)"), "resumes: {out}");
        let moved = server.vars(&to);
        let bucket_server = restored.start_with(&as_refs(&moved));
        let bytes = bucket_server
            .login("officer", crate::fixture::PASSWORD)
            .get_bytes(original_url);
        assert_eq!(hex_sha256(&bytes), sha, "served from the bucket it moved to");

        // A store that refuses the credentials is found at start, not at the
        // first upload.
        let wrong: Vec<(String, String)> = server
            .vars(&format!("s3://{bucket}/camket"))
            .into_iter()
            .map(|(k, v)| if k == "AWS_SECRET_ACCESS_KEY" { (k, "not-the-secret".into()) } else { (k, v) })
            .collect();
        let out = fx.env.camket_env(&["serve", "--bind", "127.0.0.1:0"], &as_refs(&wrong));
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("does not answer"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

per_backend! {
    fn the_photo_checks_are_jobs_that_one_holder_leases_at_a_time(backend) {
        use camket::submissions::store::{
            claim_evidence_jobs, clear_evidence_leases, evidence_backlog_size, settle_evidence,
        };
        let mut fx = with_forms(backend, &[]);
        open_campaign(&fx);
        let v1 = households(&fx, "V1");
        let surveyor = fx.login("surveyor");
        let officer = fx.login("officer");
        let mut ids = Vec::new();
        for n in 0..6u64 {
            let code = ["H1", "H2", "H3"][(n % 3) as usize];
            let visit = clean_visit(&fx, v1[code], "household_reporting", local(1, 8 + n as u32), 7200 + n);
            let sent = visit.send(&surveyor);
            assert_eq!(sent.status, 201, "{}", sent.text);
            ids.push(sent.body["id"].as_i64().expect("id"));
        }
        for id in &ids {
            settled(&officer, *id);
        }
        fx.server.terminate();
        let db = camket_schema::Db::connect(&fx.env.database_url, 8).expect("database");
        let mark_pending = || -> Result<usize, camket_schema::DbError> {
            use diesel::RunQueryDsl;
            Ok(camket_schema::with_conn!(&db, |conn| diesel::sql_query(
                "UPDATE submissions SET evidence_pending = TRUE"
            )
            .execute(conn)?))
        };
        assert_eq!(mark_pending().expect("mark pending"), 6);
        let later = chrono::Utc::now() + chrono::Duration::seconds(60);

        let first = claim_evidence_jobs(&db, "a", 2, later).expect("claim a");
        assert_eq!(first, ids[..2].to_vec(), "oldest first");
        let second = claim_evidence_jobs(&db, "b", 10, later).expect("claim b");
        assert_eq!(second, ids[2..].to_vec(), "what another holds is not taken");
        assert!(claim_evidence_jobs(&db, "c", 10, later).expect("claim c").is_empty());

        // A lease that runs out (its instance died) is taken by another.
        clear_evidence_leases(&db).expect("clear");
        let soon = chrono::Utc::now() + chrono::Duration::milliseconds(300);
        assert_eq!(claim_evidence_jobs(&db, "dead", 3, soon).expect("claim").len(), 3);
        let mut taken = Vec::new();
        wait_until("the lease runs out", Duration::from_secs(10), || {
            taken.extend(claim_evidence_jobs(&db, "alive", 10, later).expect("claim"));
            taken.len() == 6
        });
        taken.sort_unstable();
        assert_eq!(taken, ids);

        // Four claimers at once: every job goes to exactly one of them.
        clear_evidence_leases(&db).expect("clear");
        let claimed: Vec<i64> = std::thread::scope(|scope| {
            let claimers: Vec<_> = (0..4)
                .map(|n| {
                    let db = &db;
                    scope.spawn(move || {
                        let mut mine = Vec::new();
                        loop {
                            let got = claim_evidence_jobs(db, &format!("c{n}"), 1, later)
                                .expect("claim");
                            if got.is_empty() {
                                return mine;
                            }
                            mine.extend(got);
                        }
                    })
                })
                .collect();
            claimers
                .into_iter()
                .flat_map(|c| c.join().expect("claimer"))
                .collect()
        });
        let distinct: HashSet<i64> = claimed.iter().copied().collect();
        assert_eq!(claimed.len(), 6, "{claimed:?}");
        assert_eq!(distinct.len(), 6, "{claimed:?}");

        // A settled job is no job: its lease goes with it.
        assert_eq!(evidence_backlog_size(&db).expect("backlog"), 6);
        assert!(settle_evidence(&db, ids[0], &[]).expect("settle"));
        assert_eq!(evidence_backlog_size(&db).expect("backlog"), 5);
        assert!(
            !settle_evidence(&db, ids[0], &[]).expect("settle again"),
            "a submission is settled once"
        );
        clear_evidence_leases(&db).expect("clear");
        let rest = claim_evidence_jobs(&db, "d", 10, later).expect("claim");
        assert_eq!(rest, ids[1..].to_vec());
    }
}

per_backend! {
    fn a_repeat_flag_written_while_a_check_settles_is_kept(backend) {
        use camket::evidence::{Flag, FlagCode};
        use camket::submissions::store::{flag_repeat, get, settle_evidence};
        let mut fx = with_forms(backend, &[]);
        let v1 = households(&fx, "V1");
        let surveyor = fx.login("surveyor");
        let sent = clean_visit(&fx, v1["H1"], "household_reporting", local(1, 9), 7300).send(&surveyor);
        assert_eq!(sent.status, 201, "{}", sent.text);
        let id = sent.body["id"].as_i64().expect("id");
        settled(&surveyor, id);
        fx.server.terminate();
        let db = camket_schema::Db::connect(&fx.env.database_url, 8).expect("database");
        let reset = || -> Result<usize, camket_schema::DbError> {
            use diesel::RunQueryDsl;
            Ok(camket_schema::with_conn!(&db, |conn| diesel::sql_query(format!(
                "UPDATE submissions SET evidence_pending = TRUE, flags = '[]', risk = 0 WHERE id = {id}"
            ))
            .execute(conn)?))
        };
        // What the submission's own check found, and what the check of an
        // earlier photo of the same paper adds at that moment.
        let found = camket::evidence::unreadable_flag("second.jpg", "cut short");
        let repeat: Flag = serde_json::from_value(json!({
            "code": "duplicate_photo",
            "detail": "photo 'paper.jpg' is a near-identical photo as one sent in submission 1",
            "photo": "paper.jpg",
            "other_submission": 1,
            "weight": 50
        }))
        .expect("flag");
        for round in 0..40 {
            assert_eq!(reset().expect("reset"), 1);
            let both = std::sync::Barrier::new(2);
            std::thread::scope(|scope| {
                scope.spawn(|| {
                    both.wait();
                    assert!(settle_evidence(&db, id, std::slice::from_ref(&found)).expect("settle"));
                });
                scope.spawn(|| {
                    both.wait();
                    assert!(flag_repeat(&db, id, &repeat).expect("flag"));
                });
            });
            let row = get(&db, id).expect("read").expect("row").0;
            let flags: Vec<Flag> = serde_json::from_str(&row.flags).expect("flags");
            let mut codes: Vec<FlagCode> = flags.iter().map(|f| f.code).collect();
            codes.sort_unstable();
            let mut expected = vec![FlagCode::DuplicatePhoto, FlagCode::PhotoUnreadable];
            expected.sort_unstable();
            assert_eq!(codes, expected, "round {round}: {}", row.flags);
            assert_eq!(row.risk, flags.iter().map(|f| f.weight).sum::<i32>(), "round {round}");
            assert!(!row.evidence_pending, "round {round}");
        }
    }
}

/// Two instances on one PostgreSQL and one bucket: submissions and reviews go
/// to both; one is killed with SIGKILL mid-load. Nothing acknowledged is lost,
/// every photo is readable from the survivor, the survivor finishes the
/// backlog (taking over the dead one's leases), and coverage verifies.
#[test]
fn two_instances_share_the_work_and_one_killed_loses_nothing() {
    let server = s3();
    let bucket = server.bucket();
    let mut vars = server.vars(&format!("s3://{bucket}/camket"));
    vars.push((
        "CAMKET_JWT_SECRET".into(),
        "two-instances-share-this-secret-0123456789".into(),
    ));
    vars.push(("CAMKET_EVIDENCE_LEASE_SECS".into(), "3".into()));
    let mut fx: Fixture = with_forms(Backend::Postgres, &as_refs(&vars));
    open_campaign(&fx);
    let second_dir = tempfile::tempdir().expect("second data dir");
    let mut second_vars = vars.clone();
    second_vars.push((
        "CAMKET_DATA_DIR".into(),
        second_dir.path().to_string_lossy().into_owned(),
    ));
    let second = fx.env.start_with(&as_refs(&second_vars));
    let v1 = households(&fx, "V1");
    let visits: Vec<_> = (0..40u64)
        .map(|n| {
            let code = ["H1", "H2", "H3"][(n % 3) as usize];
            let at = local(1, 7) + chrono::Duration::minutes(n as i64);
            clean_visit(&fx, v1[code], "household_reporting", at, 7300 + n)
        })
        .collect();
    let surveyor_on = [
        fx.login("surveyor"),
        second.login("surveyor", crate::fixture::PASSWORD),
    ];
    let officer_on = [
        fx.login("officer"),
        second.login("officer", crate::fixture::PASSWORD),
    ];

    let mut acknowledged: HashMap<String, i64> = HashMap::new();
    let mut reviewed: HashMap<i64, &str> = HashMap::new();
    let mut first_alive = true;
    for (n, visit) in visits.iter().enumerate() {
        if n == 24 {
            // Mid-load: the first instance dies without a word.
            let _ = fx.server.child.kill();
            let _ = fx.server.child.wait();
            first_alive = false;
        }
        let instance = if first_alive { n % 2 } else { 1 };
        let mut parts = vec![Part::json(&visit.document)];
        parts.extend(visit.parts.iter().cloned());
        let answer = surveyor_on[instance]
            .try_post_multipart("/api/v1/submissions", &parts)
            // A phone whose upload failed sends it again, here to the survivor.
            .or_else(|| surveyor_on[1].try_post_multipart("/api/v1/submissions", &parts))
            .expect("the survivor answers");
        assert!(
            answer.status == 201 || answer.status == 200,
            "{}",
            answer.text
        );
        let id = answer.body["id"].as_i64().expect("id");
        let key = visit.document["instance_id"]
            .as_str()
            .unwrap_or("")
            .to_string();
        acknowledged.insert(key, id);
        if n % 4 == 3 {
            let decision = if n % 8 == 3 { "approve" } else { "reject" };
            let body = json!({"decision": decision, "comment": "kiểm tra"});
            let reviewer = if first_alive {
                &officer_on[(n / 4) % 2]
            } else {
                &officer_on[1]
            };
            let done = reviewer.post_json(&format!("/api/v1/submissions/{id}/review"), &body);
            assert_eq!(done.status, 200, "{}", done.text);
            reviewed.insert(
                id,
                if decision == "approve" {
                    "approved"
                } else {
                    "rejected"
                },
            );
        }
    }
    assert_eq!(acknowledged.len(), 40);

    let officer = &officer_on[1];
    let mut seen_photos = HashSet::new();
    for (instance_id, id) in &acknowledged {
        let got = officer.get(&format!("/api/v1/submissions/{id}"));
        assert_eq!(got.status, 200, "acknowledged submission {id} lost");
        assert_eq!(got.body["instance_id"].as_str(), Some(instance_id.as_str()));
        // The survivor finishes the backlog, the dead instance's leases included.
        let checked: Value = settled(officer, *id);
        if let Some(status) = reviewed.get(id) {
            assert_eq!(checked["status"], *status, "the review of {id} was lost");
        }
        let flags = checked["flags"].as_array().cloned().unwrap_or_default();
        let distinct: HashSet<String> = flags
            .iter()
            .map(|f| format!("{}/{}", f["code"], f["photo"]))
            .collect();
        assert_eq!(
            distinct.len(),
            flags.len(),
            "a check was applied twice: {flags:?}"
        );
        for photo in checked["photos"].as_array().cloned().unwrap_or_default() {
            let sha = photo["sha256"].as_str().unwrap_or("").to_string();
            let original = officer.get_bytes(photo["original_url"].as_str().unwrap_or(""));
            assert_eq!(
                hex_sha256(&original),
                sha,
                "photo of {id} readable from the survivor"
            );
            let thumb = officer.get(photo["thumb_url"].as_str().unwrap_or(""));
            assert_eq!(thumb.status, 200, "{}", thumb.text);
            seen_photos.insert(sha);
        }
    }
    assert_eq!(seen_photos.len(), 40);
    let health = officer_on[1].get("/readyz");
    assert_eq!(health.body["evidence_backlog"], 0, "{}", health.text);
    verify_coverage(&fx);
    drop(second);
}

per_backend! {
    fn the_sweep_leaves_an_upload_in_flight_alone_and_removes_an_abandoned_one(backend) {
        use camket::recovery::{intend_photo, remove_abandoned_uploads};
        use std::io::Write;
        let env = TestEnv::new(backend);
        let db = camket_schema::Db::connect(&env.database_url, 4).expect("database");
        let store = camket::photo_store::PhotoStore::open(env.data_dir.path()).expect("store");
        let sha = "cd".repeat(32);
        // An upload records its intent, writes the photo, and has not committed.
        intend_photo(&db, &sha).expect("intent");
        let (staged, mut file) = store.temp_file().expect("staging");
        file.write_all(b"a photo").expect("write");
        store.adopt(&staged, &sha).expect("adopt");
        let an_hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
        assert_eq!(remove_abandoned_uploads(&db, &store, an_hour_ago).expect("sweep"), 0);
        assert!(store.contains(&sha).expect("contains"), "a recent upload keeps its photo");
        // Once its intent is older than the grace period, it was abandoned.
        let later = chrono::Utc::now() + chrono::Duration::seconds(1);
        assert_eq!(remove_abandoned_uploads(&db, &store, later).expect("sweep"), 1);
        assert!(!store.contains(&sha).expect("contains"), "an abandoned upload's photo goes");
        assert_eq!(remove_abandoned_uploads(&db, &store, later).expect("sweep"), 0, "and its intent");
    }
}
