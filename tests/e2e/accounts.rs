//! Logging in, refreshing, logging out, and admins managing accounts.

use serde_json::json;

use crate::fixture::{Fixture, PASSWORD};

per_backend! {
    fn an_officer_logs_in_sees_themselves_and_logs_out(backend) {
        let fx = Fixture::new(backend);
        let anonymous = fx.server.anonymous();
        let login = anonymous.post_json(
            "/api/v1/auth/login",
            &json!({"username": "officer", "password": PASSWORD}),
        );
        assert_eq!(login.status, 200, "{backend:?}: {}", login.text);
        assert_eq!(login.body["token_type"], "Bearer");
        assert_eq!(login.body["expires_in"], 900);
        assert_eq!(login.header("cache-control"), Some("no-store"));
        let officer = anonymous.with_token(login.body["access_token"].as_str().unwrap_or(""));

        let me = officer.get("/api/v1/me");
        assert_eq!(me.status, 200, "{}", me.text);
        assert_eq!(me.body["username"], "officer");
        assert_eq!(me.body["role"], "officer");
        assert_eq!(me.body["areas"][0]["id"], fx.area("C1"));
        assert_eq!(me.body["areas"][0]["level"], "commune");

        let out = officer.post_json("/api/v1/auth/logout", &json!({}));
        assert_eq!(out.status, 204, "{}", out.text);
        officer.get("/api/v1/me").assert_problem(401);
        // The refresh token of the ended login is refused too.
        let refresh = anonymous.post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": login.body["refresh_token"]}),
        );
        refresh.assert_problem(401);
    }
}

per_backend! {
    fn wrong_passwords_and_unknown_users_get_the_same_401(backend) {
        let fx = Fixture::new(backend);
        let anonymous = fx.server.anonymous();
        let wrong = anonymous.post_json(
            "/api/v1/auth/login",
            &json!({"username": "officer", "password": "not-the-password"}),
        );
        let unknown = anonymous.post_json(
            "/api/v1/auth/login",
            &json!({"username": "nobody", "password": "not-the-password"}),
        );
        wrong.assert_problem(401);
        unknown.assert_problem(401);
        assert_eq!(wrong.body["detail"], unknown.body["detail"]);
        let empty = anonymous.post_json(
            "/api/v1/auth/login",
            &json!({"username": "", "password": ""}),
        );
        let body = empty.assert_problem(422);
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert_eq!(fields, vec!["username", "password"]);
    }
}

per_backend! {
    fn refresh_rotates_and_a_reused_refresh_token_revokes_the_login(backend) {
        let fx = Fixture::new(backend);
        let anonymous = fx.server.anonymous();
        let login = anonymous.post_json(
            "/api/v1/auth/login",
            &json!({"username": "surveyor", "password": PASSWORD}),
        );
        let first_refresh = login.body["refresh_token"].clone();

        let rotated = anonymous.post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": first_refresh}),
        );
        assert_eq!(rotated.status, 200, "{backend:?}: {}", rotated.text);
        let second_refresh = rotated.body["refresh_token"].clone();
        assert_ne!(first_refresh, second_refresh);
        let surveyor = anonymous.with_token(rotated.body["access_token"].as_str().unwrap_or(""));
        assert_eq!(surveyor.get("/api/v1/me").status, 200);

        // A thief replays the spent token: refused, and the whole login ends.
        let replay = anonymous.post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": first_refresh}),
        );
        let body = replay.assert_problem(401);
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or("")
                .contains("already used"),
            "{body}"
        );
        anonymous
            .post_json(
                "/api/v1/auth/refresh",
                &json!({"refresh_token": second_refresh}),
            )
            .assert_problem(401);
        surveyor.get("/api/v1/me").assert_problem(401);

        anonymous
            .post_json("/api/v1/auth/refresh", &json!({"refresh_token": "made-up"}))
            .assert_problem(401);
        // Another login of the same user is unaffected.
        assert_eq!(fx.login("surveyor").get("/api/v1/me").status, 200);
    }
}

per_backend! {
    fn expired_and_tampered_access_tokens_are_refused(backend) {
        let fx = Fixture::with(backend, &[("CAMKET_ACCESS_TTL_SECS", "1")]);
        let viewer = fx.login("viewer");
        let token = viewer.token.clone().unwrap_or_default();
        assert_eq!(viewer.get("/api/v1/me").status, 200);

        let mut tampered = token.clone().into_bytes();
        let middle = tampered.len() / 2;
        tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap_or_default();
        viewer
            .with_token(&tampered)
            .get("/api/v1/me")
            .assert_problem(401);
        viewer
            .with_token("not.a.jwt")
            .get("/api/v1/me")
            .assert_problem(401);
        let missing = fx.server.anonymous().get("/api/v1/me");
        missing.assert_problem(401);
        assert_eq!(missing.header("www-authenticate"), Some("Bearer"));

        crate::harness::wait_until(
            "the access token expires",
            std::time::Duration::from_secs(30),
            || viewer.get("/api/v1/me").status == 401,
        );
        let expired = viewer.get("/api/v1/me");
        let body = expired.assert_problem(401);
        assert!(
            body["detail"].as_str().unwrap_or("").contains("expired"),
            "{body}"
        );
    }
}

per_backend! {
    fn login_attempts_are_rate_limited_per_username(backend) {
        let fx = Fixture::with(backend, &[("CAMKET_LOGIN_PER_USER_PER_MINUTE", "3")]);
        let anonymous = fx.server.anonymous();
        for _ in 0..3 {
            let attempt = anonymous.post_json(
                "/api/v1/auth/login",
                &json!({"username": "officer2", "password": "guess-guess"}),
            );
            assert_eq!(attempt.status, 401);
        }
        let blocked = anonymous.post_json(
            "/api/v1/auth/login",
            &json!({"username": "officer2", "password": PASSWORD}),
        );
        blocked.assert_problem(429);
        let wait: u64 = blocked
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert!((1..=60).contains(&wait), "retry-after {wait}");
        // Other usernames are not locked out by someone guessing officer2's password.
        assert_eq!(
            anonymous
                .post_json(
                    "/api/v1/auth/login",
                    &json!({"username": "officer", "password": PASSWORD})
                )
                .status,
            200
        );
    }
}

per_backend! {
    fn login_attempts_are_rate_limited_per_address(backend) {
        // The fixture's own admin login is the first of the five.
        let fx = Fixture::with(backend, &[("CAMKET_LOGIN_PER_ADDRESS_PER_MINUTE", "5")]);
        let anonymous = fx.server.anonymous();
        for name in ["a1", "a2", "a3", "a4"] {
            assert_eq!(
                anonymous
                    .post_json(
                        "/api/v1/auth/login",
                        &json!({"username": name, "password": "x-x-x-x-x"})
                    )
                    .status,
                401
            );
        }
        anonymous
            .post_json(
                "/api/v1/auth/login",
                &json!({"username": "officer", "password": PASSWORD}),
            )
            .assert_problem(429);
    }
}

per_backend! {
    fn an_admin_creates_binds_and_deactivates_a_surveyor(backend) {
        let fx = Fixture::new(backend);
        let admin = fx.login("admin");
        let created = admin.post_json(
            "/api/v1/users",
            &json!({"username": "to-cong-tac-2", "full_name": "Lê Thị Hoa", "password": "mật-khẩu-dài", "role": "surveyor", "area_ids": [fx.area("V2")]}),
        );
        assert_eq!(created.status, 201, "{backend:?}: {}", created.text);
        assert_eq!(created.body["area_ids"], json!([fx.area("V2")]));
        assert!(created.body.get("password_hash").is_none());
        let id = created.body["id"].as_i64().unwrap_or(0);

        let duplicate = admin.post_json(
            "/api/v1/users",
            &json!({"username": "to-cong-tac-2", "full_name": "X", "password": "long-enough", "role": "surveyor", "area_ids": [fx.area("V2")]}),
        );
        duplicate.assert_problem(409);
        let unknown_area = admin.post_json(
            "/api/v1/users",
            &json!({"username": "someone", "full_name": "X", "password": "long-enough", "role": "surveyor", "area_ids": [999999]}),
        );
        assert_eq!(
            unknown_area.assert_problem(422)["errors"][0]["field"],
            "area_ids"
        );

        let new_user = fx.server.login("to-cong-tac-2", "mật-khẩu-dài");
        assert_eq!(
            new_user
                .get(&format!("/api/v1/villages/{}/households", fx.area("V2")))
                .status,
            200
        );
        new_user
            .get(&format!("/api/v1/villages/{}/households", fx.area("V1")))
            .assert_problem(404);

        let rebound = admin.put_json(
            &format!("/api/v1/users/{id}/areas"),
            &json!({"area_ids": [fx.area("V1")]}),
        );
        assert_eq!(rebound.status, 200, "{}", rebound.text);
        assert_eq!(
            new_user
                .get(&format!("/api/v1/villages/{}/households", fx.area("V1")))
                .status,
            200
        );
        new_user
            .get(&format!("/api/v1/villages/{}/households", fx.area("V2")))
            .assert_problem(404);

        let listed = admin.get("/api/v1/users");
        let names: Vec<&str> = listed.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|u| u["username"].as_str())
            .collect();
        assert!(
            names.contains(&"to-cong-tac-2") && names.contains(&"officer"),
            "{names:?}"
        );

        let off = admin.post_json(&format!("/api/v1/users/{id}/deactivate"), &json!({}));
        assert_eq!(off.status, 200, "{}", off.text);
        assert_eq!(off.body["active"], false);
        new_user.get("/api/v1/me").assert_problem(401);
        fx.server
            .anonymous()
            .post_json(
                "/api/v1/auth/login",
                &json!({"username": "to-cong-tac-2", "password": "mật-khẩu-dài"}),
            )
            .assert_problem(401);
        let on = admin.post_json(&format!("/api/v1/users/{id}/activate"), &json!({}));
        assert_eq!(on.body["active"], true);
        fx.server.login("to-cong-tac-2", "mật-khẩu-dài");
    }
}

per_backend! {
    fn the_server_stops_cleanly_on_sigterm(backend) {
        let mut fx = Fixture::new(backend);
        let status = fx.server.terminate();
        assert!(
            status.success() || status.code().is_none(),
            "exit status {status:?}; log:\n{}",
            fx.server.log()
        );
        assert!(
            status.success(),
            "camket did not exit 0 on SIGTERM: {status:?}"
        );
    }
}

per_backend! {
    fn a_demo_restarted_with_a_new_password_prints_the_one_that_works(backend) {
        let env = crate::harness::TestEnv::new(backend);
        let logs_in = |server: &crate::harness::Server, password: &str| {
            server
                .anonymous()
                .post_json(
                    "/api/v1/auth/login",
                    &json!({"username": "officer", "password": password}),
                )
                .status
        };
        let mut first = env.start_demo(&["--demo-password", "first-pass-1"]);
        assert!(
            first.banner.contains("password for every demo user: first-pass-1"),
            "{}",
            first.banner
        );
        assert_eq!(logs_in(&first, "first-pass-1"), 200);
        first.terminate();

        // The demo is already built: the new password is given to its users.
        let mut second = env.start_demo(&["--demo-password", "second-pass-2"]);
        assert!(
            second.banner.contains("password for every demo user: second-pass-2"),
            "{}",
            second.banner
        );
        assert_eq!(logs_in(&second, "second-pass-2"), 200);
        assert_eq!(logs_in(&second, "first-pass-1"), 401);
        second.terminate();

        // Without the flag, the password in force is the one printed.
        let third = env.start_demo(&[]);
        assert!(
            third.banner.contains("password for every demo user: second-pass-2"),
            "{}",
            third.banner
        );
        assert_eq!(logs_in(&third, "second-pass-2"), 200);
    }
}
