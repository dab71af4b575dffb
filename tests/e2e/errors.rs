//! Every error a client can meet is `application/problem+json` with the right status.

use serde_json::json;

use crate::fixture::Fixture;

per_backend! {
    fn errors_are_problem_json_with_the_right_status(backend) {
        let fx = Fixture::with(backend, &[("CAMKET_JSON_LIMIT", "2048")]);
        let anonymous = fx.server.anonymous();
        let officer = fx.login("officer");

        // 400: malformed JSON, wrong types, bad parameters.
        let broken =
            anonymous.post_raw("/api/v1/auth/login", "application/json", b"{\"username\": ");
        broken.assert_problem(400);
        let wrong_type = anonymous.post_json(
            "/api/v1/auth/login",
            &json!({"username": 5, "password": "long-enough"}),
        );
        let detail = wrong_type.assert_problem(400)["detail"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(detail.contains("username"), "{detail}");
        officer.get("/api/v1/areas?limit=abc").assert_problem(400);

        // 401 and 403.
        anonymous.get("/api/v1/areas").assert_problem(401);
        officer.get("/api/v1/users").assert_problem(403);

        // 404: unknown route, unknown id, non-numeric id.
        anonymous.get("/api/v1/nothing-here").assert_problem(404);
        officer.get("/api/v1/areas/424242").assert_problem(404);
        officer
            .get("/api/v1/areas/not-a-number")
            .assert_problem(404);

        // 405 keeps the Allow header.
        let wrong_method = officer.send("DELETE", "/api/v1/areas");
        wrong_method.assert_problem(405);
        assert_eq!(wrong_method.header("allow"), Some("GET"));

        // 413: a JSON body over the configured limit.
        let huge = json!({"username": "x".repeat(5000), "password": "y"});
        anonymous
            .post_json("/api/v1/auth/login", &huge)
            .assert_problem(413);

        // 422: validation lists the fields.
        let admin = fx.login("admin");
        let invalid = admin.post_json("/api/v1/users", &json!({"username": "A", "full_name": "", "password": "1", "role": "boss", "area_ids": []}));
        let body = invalid.assert_problem(422);
        assert_eq!(body["errors"].as_array().map(Vec::len), Some(5), "{body}");

        // Security headers on every response, errors included.
        for response in [wrong_method, officer.get("/api/v1/me")] {
            assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
            assert_eq!(response.header("x-frame-options"), Some("DENY"));
        }
        // Still serving after all of that.
        assert_eq!(anonymous.get("/healthz").status, 200);
        let ready = anonymous.get("/readyz");
        assert_eq!(ready.status, 200);
        assert_eq!(
            ready.body["database"],
            if backend == crate::harness::Backend::Sqlite {
                "sqlite"
            } else {
                "postgres"
            }
        );
    }
}

per_backend! {
    fn an_import_body_over_the_limit_is_413(backend) {
        let fx = Fixture::with(backend, &[("CAMKET_IMPORT_LIMIT", "1000")]);
        let admin = fx.login("admin");
        let mut file = String::from("village_code,code,head_name,address,member_count\n");
        for i in 0..100 {
            file.push_str(&format!("V1,B{i},Người {i},Số {i},2\n"));
        }
        admin
            .post_raw("/api/v1/households/import", "text/csv", file.as_bytes())
            .assert_problem(413);
        assert_eq!(admin.get("/healthz").status, 200);
    }
}
