//! Many surveyors submitting while officers review and read the coverage, on
//! both backends: no deadlock, no lost update (of a submission or of the
//! coverage recounted after it), and `database is locked` never reaches a
//! client.

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Duration;
use serde_json::json;

use crate::harness::field::{households, local, paper, with_forms, Visit};

per_backend! {
    fn surveyors_submit_while_officers_review_without_errors(backend) {
        let fx = with_forms(backend, &[]);
        let campaign = crate::harness::field::open_campaign(&fx);
        let v1 = households(&fx, "V1");
        let v3 = households(&fx, "V3");
        let when = local(2, 8);
        // Photos prepared up front: the threads only speak HTTP.
        let mut work = Vec::new();
        for round in 0..6i64 {
            for (user, village, homes) in [("surveyor", "V1", &v1), ("surveyor3", "V3", &v3)] {
                let code = ["H1", "H2"][(round % 2) as usize];
                let at = when + Duration::minutes(5 * round);
                let visit = Visit::commitment(
                    &fx,
                    village,
                    Some(homes[code]),
                    "household_reporting",
                    at,
                    Some((19.01, 105.01)),
                    paper(
                        2000 + round as u64 * 10 + village.len() as u64,
                        at,
                        Some((19.01, 105.01)),
                    ),
                );
                work.push((user, visit));
            }
        }
        let clients: Vec<_> = ["surveyor", "surveyor3"]
            .iter()
            .map(|u| (*u, fx.login(u)))
            .collect();
        let reviewers = [fx.login("officer"), fx.login("officer2")];
        let done = AtomicBool::new(false);
        let (sent, reviewed) = std::thread::scope(|scope| {
            let senders: Vec<_> = work
                .chunks(3)
                .map(|chunk| {
                    let clients = &clients;
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .map(|(user, visit)| {
                                let client =
                                    &clients.iter().find(|(u, _)| u == user).expect("client").1;
                                visit.send(client).status
                            })
                            .collect::<Vec<u16>>()
                    })
                })
                .collect();
            let review_threads: Vec<_> = reviewers
                .iter()
                .map(|officer| {
                    let done = &done;
                    scope.spawn(move || {
                        let mut statuses = Vec::new();
                        loop {
                            let finished = done.load(Ordering::Relaxed);
                            let queue = officer.get("/api/v1/submissions?status=received&limit=20");
                            statuses.push(queue.status);
                            // A read of the coverage recounts the villages
                            // the uploads marked, while the background does
                            // and more uploads mark them again.
                            let coverage =
                                officer.get(&format!("/api/v1/campaigns/{campaign}/coverage"));
                            statuses.push(coverage.status);
                            for item in queue.body["items"].as_array().cloned().unwrap_or_default()
                            {
                                let r = officer.post_json(
                                    &format!("/api/v1/submissions/{}/review", item["id"]),
                                    &json!({"decision": "approve"}),
                                );
                                statuses.push(r.status);
                            }
                            if finished {
                                break;
                            }
                        }
                        statuses
                    })
                })
                .collect();
            let sent: Vec<u16> = senders
                .into_iter()
                .flat_map(|h| h.join().expect("sender"))
                .collect();
            done.store(true, Ordering::Relaxed);
            let reviewed: Vec<u16> = review_threads
                .into_iter()
                .flat_map(|h| h.join().expect("reviewer"))
                .collect();
            (sent, reviewed)
        });
        assert_eq!(sent.len(), 12);
        assert!(
            sent.iter().all(|s| *s == 201),
            "{backend:?} submissions: {sent:?}"
        );
        assert!(
            reviewed.iter().all(|s| *s == 200 || *s == 409),
            "{backend:?} reviews: {reviewed:?}"
        );
        // Every submission is there exactly once and every approval counted.
        let all = fx.login("admin").get("/api/v1/submissions?limit=100");
        let items = all.body["items"].as_array().expect("items");
        assert_eq!(items.len(), 12);
        let approved = items.iter().filter(|s| s["status"] == "approved").count();
        assert!(
            approved >= 1,
            "the officers approved while submissions arrived"
        );
        let verify = fx.env.camket(&["coverage", "verify"]);
        assert!(
            verify.status.success(),
            "{}",
            String::from_utf8_lossy(&verify.stderr)
        );
        assert!(
            String::from_utf8_lossy(&verify.stdout).contains("4 village(s)"),
            "the campaign's villages were recounted"
        );
        assert!(
            !fx.server.log().contains("database is locked"),
            "a lock reached the log"
        );
    }
}
