//! The OpenAPI document, checked against the running demo server: Schemathesis
//! sends generated requests to every operation with each role's token, and any
//! 5xx or any answer that does not match the document fails the test.

use std::process::Command;

use crate::harness::schemathesis::schemathesis;
use crate::harness::TestEnv;

const PASSWORD: &str = "openapi-pass-1";

per_backend! {
    fn the_openapi_document_holds_for_every_role_against_the_running_server(backend) {
        let env = TestEnv::new(backend);
        let server = env.start_demo(&["--demo-password", PASSWORD]);
        let anonymous = server.anonymous();
        let document = anonymous.get("/api/v1/openapi.json");
        assert_eq!(document.status, 200, "{}", document.text);
        assert_eq!(document.body["openapi"], "3.1.0");
        for (method, path) in camket::app::API_ROUTES {
            assert!(
                document.body["paths"][format!("/api/v1{path}")][*method].is_object(),
                "{method} {path} is routed but not documented"
            );
        }
        let page = anonymous.get("/api/v1/docs");
        assert_eq!(page.status, 200);
        assert!(page.text.contains("fetch(\"openapi.json\")"), "the page reads the document");
        assert!(!page.text.contains("https://"), "the page loads nothing from elsewhere");

        let url = format!("{}/api/v1/openapi.json", server.base);
        // The admin last: its generated requests deactivate accounts and close forms.
        for who in ["surveyor", "officer", "viewer", "admin"] {
            let token = server.login(who, PASSWORD).token.unwrap_or_default();
            let run = || {
                Command::new(schemathesis())
                    // Its cache goes beside it under target/, not into the source tree.
                    .current_dir(schemathesis().parent().and_then(|bin| bin.parent()).unwrap_or(std::path::Path::new("/tmp")))
                    .args(["run", &url])
                    .args(["--header", &format!("Authorization: Bearer {token}")])
                    .args(["--checks", "not_a_server_error,response_schema_conformance"])
                    // Logging out would end the token mid-run.
                    .args(["--exclude-path", "/api/v1/auth/logout"])
                    .args(["--phases", "examples,coverage,fuzzing"])
                    .args(["--max-examples", "10", "--seed", "20261127"])
                    .args(["--workers", "1"])
                    .arg("--no-color")
                    .output()
                    .expect("run schemathesis")
            };
            let mut output = run();
            // Schemathesis itself has failed once here with an internal error and
            // no finding: that one case is run again. A finding always fails.
            let found = |out: &std::process::Output| {
                String::from_utf8_lossy(&out.stdout).contains("FAILURES")
            };
            if !output.status.success() && !found(&output) {
                output = run();
            }
            let said = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "{backend:?}, as {who}: the server and its OpenAPI document disagree:\n{said}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(said.contains("passed"), "{said}");
        }
        let log = server.log();
        assert!(!log.contains("panicked"), "{log}");
    }
}
