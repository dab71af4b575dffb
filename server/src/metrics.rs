//! Operational metrics in the Prometheus text format at `GET /metrics`: requests
//! by route and status, latency by route, the evidence backlog and the photos
//! checked (whose rate is the checks per second) and how long a submission
//! waited for them (its 201 to its checks settled), the database pool, and
//! photo-store errors. Off unless `CAMKET_METRICS_TOKEN` is set, and then only
//! for a scraper presenting that token: route names and volumes are not public.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// Upper bounds of the evidence-wait buckets, in seconds: fine below a
/// minute (a check normally settles within seconds), and every ten seconds
/// up to a minute (a backlog after a burst drains in tens of seconds: with
/// only 30 and 60 the p99 read off them was always near 60), coarse up to
/// an hour.
const EVIDENCE_WAIT_BUCKETS: [f64; 22] = [
    0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0, 90.0,
    120.0, 180.0, 300.0, 600.0, 3600.0,
];

/// The server's counters and histograms (gauges are read when scraped).
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    /// Photos the background checks finished (decoded, or found unreadable).
    pub photos_checked: IntCounter,
    /// Photos flagged as repeating a paper by the check of the earlier photo
    /// of that paper, because their own check ran first or beside it.
    pub late_repeat_flags: IntCounter,
    /// Seconds from a submission's receipt (its `201`) to its evidence checks
    /// settled: how long `evidence: pending` may hide a flag.
    pub evidence_wait: Histogram,
    /// Reads and writes of the photo store that failed.
    pub photo_store_errors: IntCounter,
    /// Photos decoded again by a check run again after a stop, to be drawn
    /// larger and smaller (see `verification::WorkImage`).
    pub photos_decoded_again: IntCounter,
}

fn registered<T: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    metric: prometheus::Result<T>,
) -> prometheus::Result<T> {
    let metric = metric?;
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

impl Metrics {
    /// A fresh set of metrics.
    pub fn new() -> prometheus::Result<Metrics> {
        let registry = Registry::new_custom(Some("camket".into()), None)?;
        Ok(Metrics {
            requests: registered(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "http_requests_total",
                        "HTTP requests by route, method and status",
                    ),
                    &["route", "method", "status"],
                ),
            )?,
            latency: registered(
                &registry,
                HistogramVec::new(
                    HistogramOpts::new("http_request_duration_seconds", "Time to answer, by route")
                        .buckets(vec![
                            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                        ]),
                    &["route"],
                ),
            )?,
            photos_checked: registered(
                &registry,
                IntCounter::new(
                    "evidence_photos_checked_total",
                    "Photos the background checks finished",
                ),
            )?,
            late_repeat_flags: registered(
                &registry,
                IntCounter::new(
                    "evidence_late_repeat_flags_total",
                    "Photos flagged as a repeat by the check of the earlier photo of their paper",
                ),
            )?,
            evidence_wait: registered(
                &registry,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "evidence_wait_seconds",
                        "From a submission's receipt to its evidence checks settled",
                    )
                    .buckets(EVIDENCE_WAIT_BUCKETS.to_vec()),
                ),
            )?,
            photo_store_errors: registered(
                &registry,
                IntCounter::new(
                    "photo_store_errors_total",
                    "Failed photo-store reads and writes",
                ),
            )?,
            photos_decoded_again: registered(
                &registry,
                IntCounter::new(
                    "evidence_photos_decoded_again_total",
                    "Photos decoded again by a check run again after a stop, to be drawn larger and smaller",
                ),
            )?,
            registry,
        })
    }

    /// Counts one answered request. `route` is the matched pattern
    /// (`/api/v1/areas/{id}`), never the raw path, so ids make no new series.
    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.latency.with_label_values(&[route]).observe(seconds);
    }

    /// The text exposition, with the gauges read now.
    fn render(
        &self,
        backlog: i64,
        villages_pending: i64,
        pool: (u32, u32, u32),
        turns_timed_out: u64,
    ) -> Result<String, ApiError> {
        let mut out = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .map_err(|e| ApiError::Internal(format!("cannot write the metrics: {e}")))?;
        let mut text = String::from_utf8_lossy(&out).into_owned();
        let (open, idle, max) = pool;
        text.push_str(&format!(
            "# HELP camket_evidence_backlog Submissions whose photos wait for the background checks\n\
             # TYPE camket_evidence_backlog gauge\ncamket_evidence_backlog {backlog}\n\
             # HELP camket_coverage_villages_pending Villages whose kept coverage waits for its recount after an upload\n\
             # TYPE camket_coverage_villages_pending gauge\ncamket_coverage_villages_pending {villages_pending}\n\
             # HELP camket_db_pool_connections Database connections open in the pool\n\
             # TYPE camket_db_pool_connections gauge\ncamket_db_pool_connections {open}\n\
             # HELP camket_db_pool_idle Database connections open and idle\n\
             # TYPE camket_db_pool_idle gauge\ncamket_db_pool_idle {idle}\n\
             # HELP camket_db_pool_max The most connections the pool may open\n\
             # TYPE camket_db_pool_max gauge\ncamket_db_pool_max {max}\n\
             # HELP camket_db_write_turns_timed_out_total SQLite writers that waited the whole busy timeout for their turn\n\
             # TYPE camket_db_write_turns_timed_out_total counter\n\
             camket_db_write_turns_timed_out_total {turns_timed_out}\n"
        ));
        Ok(text)
    }
}

/// A request method as a label: the known verbs, else `OTHER` (a client may
/// invent methods, and each would make new series).
pub fn method_label(method: &actix_web::http::Method) -> String {
    use actix_web::http::Method;
    let known = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::HEAD,
        Method::PATCH,
        Method::OPTIONS,
    ];
    if known.contains(method) {
        method.as_str().to_string()
    } else {
        "OTHER".to_string()
    }
}

/// Whether the request presents the configured token (compared by hash, so
/// in constant time).
fn presents(req: &HttpRequest, token: &str) -> bool {
    let sent = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    Sha256::digest(sent.as_bytes()) == Sha256::digest(token.as_bytes())
}

/// Handles the `GET /metrics` route.
pub async fn metrics(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    // Authorisation: only the scraper holding CAMKET_METRICS_TOKEN; without
    // the setting the route does not exist.
    let token = state
        .config
        .metrics_token
        .as_deref()
        .filter(|token| !token.trim().is_empty())
        .ok_or_else(|| ApiError::NotFound("no such route".into()))?;
    if !presents(&req, token) {
        return Err(ApiError::Unauthorized(
            "send the metrics token (CAMKET_METRICS_TOKEN) as a bearer token".into(),
        ));
    }
    let db = state.db.clone();
    let (backlog, villages_pending) = web::block(move || {
        Ok::<_, camket_schema::DbError>((
            crate::submissions::store::evidence_backlog_size(&db)?,
            crate::coverage::pending::waiting(&db)?,
        ))
    })
    .await??;
    let text = state.metrics.render(
        backlog,
        villages_pending,
        state.db.pool_state(),
        state.db.write_turns_timed_out(),
    )?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_pattern_and_the_text_format_holds() {
        let metrics = Metrics::new().expect("metrics");
        metrics.observe("/api/v1/areas/{id}", "GET", 200, 0.004);
        metrics.observe("/api/v1/areas/{id}", "GET", 200, 0.2);
        metrics.observe("/api/v1/areas/{id}", "GET", 404, 0.001);
        metrics.photos_checked.inc();
        metrics.evidence_wait.observe(2.5);
        let text = metrics.render(7, 4, (3, 1, 8), 2).expect("text");
        assert!(text.contains(
            "camket_http_requests_total{method=\"GET\",route=\"/api/v1/areas/{id}\",status=\"200\"} 2"
        ), "{text}");
        assert!(text.contains("camket_http_request_duration_seconds_bucket{route=\"/api/v1/areas/{id}\",le=\"0.005\"} 2"), "{text}");
        assert!(text.contains("camket_evidence_photos_checked_total 1"));
        assert!(text.contains("camket_evidence_backlog 7"));
        assert!(text.contains("camket_coverage_villages_pending 4"));
        assert!(
            text.contains("camket_evidence_wait_seconds_bucket{le=\"2\"} 0")
                && text.contains("camket_evidence_wait_seconds_bucket{le=\"3\"} 1"),
            "{text}"
        );
        assert!(text.contains("camket_db_pool_connections 3"));
        assert!(text.contains("camket_db_pool_max 8"));
        assert!(text.contains("camket_db_write_turns_timed_out_total 2"));
    }
}
