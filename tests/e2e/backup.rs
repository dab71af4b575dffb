//! `camket backup` while the server runs, and `camket restore` into a new place:
//! the round trip keeps every record and every photo.

use serde_json::json;

use crate::fixture::PASSWORD;
use crate::harness::field::{households, local, paper, with_forms, Visit};
use crate::harness::TestEnv;

per_backend! {
    fn a_backup_taken_while_serving_restores_everything(backend) {
        let fx = with_forms(backend, &[]);
        let v1 = households(&fx, "V1");
        let surveyor = fx.login("surveyor");
        let when = local(1, 9);
        let photo = paper(900, when, Some((19.01, 105.01)));
        let sent = Visit::commitment(
            &fx,
            "V1",
            Some(v1["H1"]),
            "household_reporting",
            when,
            Some((19.01, 105.01)),
            photo.clone(),
        )
        .send(&surveyor);
        assert_eq!(sent.status, 201, "{}", sent.text);
        let id = sent.body["id"].as_i64().expect("id");
        let officer = fx.login("officer");
        assert_eq!(
            officer
                .post_json(
                    &format!("/api/v1/submissions/{id}/review"),
                    &json!({"decision": "approve"})
                )
                .status,
            200
        );

        let dir = fx.env.data_dir.path().join("backup-1");
        let out = fx.env.camket(&["backup", dir.to_str().unwrap_or("")]);
        assert!(
            out.status.success(),
            "{backend:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let again = fx.env.camket(&["backup", dir.to_str().unwrap_or("")]);
        assert!(!again.status.success(), "never over an existing backup");

        // The server keeps working after the snapshot; the change is not in the backup.
        let later = Visit::commitment(
            &fx,
            "V1",
            Some(v1["H2"]),
            "household_reporting",
            when,
            Some((19.01, 105.01)),
            paper(901, when, Some((19.01, 105.01))),
        )
        .send(&surveyor);
        assert_eq!(later.status, 201);

        let elsewhere = TestEnv::unmigrated(backend);
        let out = elsewhere.camket(&["restore", dir.to_str().unwrap_or("")]);
        assert!(
            out.status.success(),
            "{backend:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let server = elsewhere.start();
        let restored = server.login("officer", PASSWORD);
        let listed = restored.get("/api/v1/submissions");
        let ids: Vec<i64> = listed.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|s| s["id"].as_i64())
            .collect();
        assert_eq!(ids, vec![id], "exactly what existed at the snapshot");
        let one = restored.get(&format!("/api/v1/submissions/{id}"));
        assert_eq!(one.body["status"], "approved");
        let photo_id = one.body["photos"][0]["id"].as_i64().expect("photo");
        assert_eq!(
            restored.get_bytes(&format!(
                "/api/v1/submissions/{id}/photos/{photo_id}?size=original"
            )),
            photo
        );
        let verify = elsewhere.camket(&["coverage", "verify"]);
        assert!(
            verify.status.success(),
            "{}",
            String::from_utf8_lossy(&verify.stderr)
        );
        let refused = elsewhere.camket(&["restore", dir.to_str().unwrap_or("")]);
        assert!(!refused.status.success(), "never over an existing database");
    }
}
