//! An operator's Prometheus scrapes `/metrics` with its token; nobody else sees it.

use crate::harness::TestEnv;

const TOKEN: &str = "scraper-token-for-tests-1";

per_backend! {
    fn metrics_are_served_only_to_the_scraper_and_count_requests_by_route(backend) {
        let env = TestEnv::new(backend);
        {
            let off = env.start();
            off.anonymous().get("/metrics").assert_problem(404);
        }
        let server = env.start_with(&[("CAMKET_METRICS_TOKEN", TOKEN)]);
        let anonymous = server.anonymous();
        anonymous.get("/metrics").assert_problem(401);
        anonymous
            .with_token("not-the-token")
            .get("/metrics")
            .assert_problem(401);
        // Some traffic: ids in paths must not make new series.
        anonymous.get("/api/v1/me").assert_problem(401);
        anonymous.get("/api/v1/areas/1").assert_problem(401);
        anonymous.get("/api/v1/areas/2").assert_problem(401);
        anonymous.get("/no/such/path/12345").assert_problem(404);
        let scrape = anonymous.with_token(TOKEN).get("/metrics");
        assert_eq!(scrape.status, 200, "{}", scrape.text);
        assert!(scrape.content_type.starts_with("text/plain"), "{}", scrape.content_type);
        let text = scrape.text;
        for expected in [
            "camket_http_requests_total{method=\"GET\",route=\"/api/v1/me\",status=\"401\"} 1",
            "camket_http_requests_total{method=\"GET\",route=\"/api/v1/areas/{id}\",status=\"401\"} 2",
            "camket_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1",
            "camket_http_request_duration_seconds_bucket{route=\"/api/v1/me\",le=\"+Inf\"} 1",
            "camket_evidence_backlog 0",
            "camket_coverage_villages_pending 0",
            "camket_evidence_photos_checked_total 0",
            "camket_evidence_photos_decoded_again_total 0",
            "camket_photo_store_errors_total 0",
            "camket_db_pool_max ",
            "camket_db_write_turns_timed_out_total 0",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
        assert!(!text.contains("12345"), "raw paths never become labels");
    }
}
