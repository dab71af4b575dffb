//! Personal data and secrets never reach the log: names, addresses, answers,
//! review comments, passwords and tokens stay out of it, even at debug level,
//! on success and on error paths.

use serde_json::json;

use crate::harness::field::{clean_visit, households, local, settled, with_forms};

per_backend! {
    fn personal_data_and_secrets_never_reach_the_log(backend) {
        let fx = with_forms(backend, &[("CAMKET_LOG", "debug")]);
        let secrets: Vec<String> = vec![
            "Quách Thị Bí Mật".into(),
            "Ngõ Kín Đáo 77".into(),
            "Trịnh Văn Riêng Tư".into(),
            "người thân ở Đài Loan".into(),
            crate::fixture::PASSWORD.into(),
            "wrong-password-Xq7".into(),
        ];
        let admin = fx.login("admin");
        let roster = format!(
            "village_code,code,head_name,address,member_count\nV2,P1,{},{},3\n",
            secrets[0], secrets[1]
        );
        assert_eq!(
            admin
                .post_raw("/api/v1/households/import", "text/csv", roster.as_bytes())
                .status,
            200
        );
        // The same name in a file with a mistake: the error path.
        let bad = format!(
            "village_code,code,head_name,address,member_count\nV2,P2,{},{},many\n",
            secrets[0], secrets[1]
        );
        admin
            .post_raw("/api/v1/households/import", "text/csv", bad.as_bytes())
            .assert_problem(422);
        fx.server
            .anonymous()
            .post_json(
                "/api/v1/auth/login",
                &json!({"username": "officer", "password": secrets[5]}),
            )
            .assert_problem(401);

        let surveyor = fx.login("surveyor");
        let homes = households(&fx, "V1");
        let when = local(1, 9);
        let mut visit = clean_visit(&fx, homes["H1"], "relative_abroad", when, 500);
        visit.document["answers"]["signer_name"] = json!(secrets[2]);
        let sent = visit.send(&surveyor);
        assert_eq!(sent.status, 201, "{}", sent.text);
        let id = sent.body["id"].as_i64().expect("id");
        settled(&surveyor, id);
        // A refused submission that carries the name too.
        let mut refused = clean_visit(&fx, homes["H2"], "made_up_kind", when, 501);
        refused.document["answers"]["signer_name"] = json!(secrets[2]);
        refused.send(&surveyor).assert_problem(422);
        let officer = fx.login("officer");
        let reviewed = officer.post_json(
            &format!("/api/v1/submissions/{id}/review"),
            &json!({"decision": "reject", "comment": secrets[3]}),
        );
        assert_eq!(reviewed.status, 200, "{}", reviewed.text);
        let viewer_login = fx.server.anonymous().post_json(
            "/api/v1/auth/login",
            &json!({"username": "viewer", "password": crate::fixture::PASSWORD}),
        );
        let tokens = [
            viewer_login.body["access_token"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            viewer_login.body["refresh_token"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            officer.token.clone().unwrap_or_default(),
        ];

        let log = fx.server.log();
        assert!(
            log.contains("/api/v1/submissions") && log.contains("submission received"),
            "the log records the requests, so its silence below means something:\n{log}"
        );
        for secret in secrets.iter().chain(tokens.iter()) {
            assert!(!secret.is_empty());
            assert!(
                !log.contains(secret.as_str()),
                "the log contains '{secret}'"
            );
        }
        // Nor the bearer tokens' distinctive halves.
        for token in &tokens {
            if let Some(signature) = token.rsplit('.').next() {
                assert!(
                    !log.contains(signature),
                    "the log contains a token signature"
                );
            }
        }
    }
}

per_backend! {
    fn an_operator_reads_plain_logs_and_messages_that_name_the_setting(backend) {
        // A fresh database: migrate says what it applied, then that nothing was left.
        let env = crate::harness::TestEnv::unmigrated(backend);
        let first = env.camket(&["migrate"]);
        let said = String::from_utf8_lossy(&first.stdout).to_string();
        assert!(first.status.success(), "{said}");
        assert!(said.starts_with("applied ") && said.contains("migration(s)"), "{said}");
        let again = env.camket(&["migrate"]);
        assert_eq!(
            String::from_utf8_lossy(&again.stdout).trim(),
            "the database was already up to date"
        );

        // The log goes to a file here: no terminal colour codes in it.
        let server = env.start_with(&[("CAMKET_LOG", "info")]);
        server.anonymous().post_json(
            "/api/v1/auth/login",
            &json!({"username": "nobody", "password": "not-a-password"}),
        );
        crate::harness::wait_until("the refused login is logged", std::time::Duration::from_secs(10), || {
            server.log().contains("login refused")
        });
        let log = server.log();
        assert!(!log.contains('\u{1b}'), "colour codes in a log file: {log:?}");

        // A second server on the same address names the setting to change.
        let taken = server.base.trim_start_matches("http://").to_string();
        let refused = env.camket(&["serve", "--bind", &taken]);
        let message = String::from_utf8_lossy(&refused.stderr).to_string();
        assert!(!refused.status.success());
        assert!(
            message.contains(&taken) && message.contains("--bind") && message.contains("CAMKET_BIND"),
            "{message}"
        );
    }
}
