//! Benchmarks run from the command line (`camket bench ...`), against a running
//! server over HTTP or on the photo pipeline alone; BENCHMARKS.md gives the
//! commands and the results.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::devtools::synthetic::{self, ExifSpec, PaperPhoto, Scene};

/// Latency statistics in milliseconds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Stats {
    pub count: usize,
    pub min_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Statistics of a set of durations.
pub fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let ms = |d: Duration| (d.as_secs_f64() * 100_000.0).round() / 100.0;
    let at = |q: f64| {
        samples
            .get(((samples.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    Stats {
        count: samples.len(),
        min_ms: ms(samples.first().copied().unwrap_or_default()),
        p50_ms: ms(at(0.5)),
        p99_ms: ms(at(0.99)),
        max_ms: ms(samples.last().copied().unwrap_or_default()),
    }
}

fn new_agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(120))
        .build()
}

fn call(request: ureq::Request) -> Result<(u16, Value), String> {
    match request.call() {
        Ok(r) => Ok((r.status(), r.into_json().unwrap_or(Value::Null))),
        Err(ureq::Error::Status(code, r)) => Ok((code, r.into_json().unwrap_or(Value::Null))),
        Err(e) => Err(e.to_string()),
    }
}

/// Logs in and returns the access token.
pub fn login(base: &str, username: &str, password: &str) -> Result<String, String> {
    let response = new_agent()
        .post(&format!("{base}/api/v1/auth/login"))
        .send_json(json!({"username": username, "password": password}))
        .map_err(|e| format!("login {username}: {e}"))?;
    let body: Value = response.into_json().map_err(|e| e.to_string())?;
    body["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| "no token".into())
}

fn get(agent: &ureq::Agent, base: &str, token: &str, path: &str) -> Result<(u16, Value), String> {
    call(
        agent
            .get(&format!("{base}{path}"))
            .set("Authorization", &format!("Bearer {token}")),
    )
}

/// Times the read paths: province and commune roll-up, a village's gap list, a
/// page of the officer queue, a village's roster sync.
pub fn queries(
    base: &str,
    username: &str,
    password: &str,
    campaign: i64,
    iterations: usize,
) -> Result<Value, String> {
    let token = login(base, username, password)?;
    let agent = new_agent();
    let first = |path: &str| first_id(&agent, base, &token, path);
    let commune = first("/api/v1/areas?level=commune&limit=1")?;
    let village = first("/api/v1/areas?level=village&limit=1")?;
    let cases = [
        (
            "coverage, whole province (depth 1)",
            format!("/api/v1/campaigns/{campaign}/coverage?depth=1"),
        ),
        (
            "coverage, one commune (depth 1)",
            format!("/api/v1/campaigns/{campaign}/coverage?area={commune}&depth=1"),
        ),
        (
            "gap list, one village",
            format!("/api/v1/campaigns/{campaign}/gaps?area={village}"),
        ),
        (
            "officer queue, one page of 50",
            "/api/v1/submissions?limit=50".to_string(),
        ),
        (
            "roster delta sync, one village",
            format!("/api/v1/villages/{village}/households?limit=500"),
        ),
    ];
    time_each(&cases, iterations, |path| {
        get(&agent, base, &token, path).map(|(status, _)| status)
    })
}

/// The id of the first item a list route answers.
fn first_id(agent: &ureq::Agent, base: &str, token: &str, path: &str) -> Result<i64, String> {
    let (_, body) = get(agent, base, token, path)?;
    body["items"][0]["id"]
        .as_i64()
        .ok_or_else(|| format!("nothing at {path}"))
}

/// Fetches each (name, path) once (it must answer 200), then `iterations`
/// times, timed; the statistics by name.
fn time_each(
    cases: &[(&str, String)],
    iterations: usize,
    fetch: impl Fn(&str) -> Result<u16, String>,
) -> Result<Value, String> {
    let mut out = serde_json::Map::new();
    for (name, path) in cases {
        // The first request is not in the samples but is reported: it may
        // do once what the others read (a report filed on first request).
        let started = Instant::now();
        let status = fetch(path)?;
        let first = started.elapsed();
        if status != 200 {
            return Err(format!("{name}: {path} answered {status}"));
        }
        let mut samples = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let started = Instant::now();
            fetch(path)?;
            samples.push(started.elapsed());
        }
        let mut entry = json!(stats(samples));
        entry["first_ms"] = json!(first.as_secs_f64() * 1000.0);
        out.insert(name.to_string(), entry);
    }
    Ok(Value::Object(out))
}

/// Logs in to the web console as a browser does; returns the `Cookie` header.
fn console_login(
    agent: &ureq::Agent,
    base: &str,
    username: &str,
    password: &str,
) -> Result<String, String> {
    let cookie_of = |response: &ureq::Response| -> String {
        response
            .all("set-cookie")
            .iter()
            .filter_map(|line| line.split(';').next())
            .filter(|pair| !pair.ends_with('='))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let form = agent
        .get(&format!("{base}/login"))
        .call()
        .map_err(|e| format!("console login page: {e}"))?;
    let cookie = cookie_of(&form);
    let text = form.into_string().map_err(|e| e.to_string())?;
    let token = text
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or("the login page has no form token")?
        .to_string();
    let done = agent
        .post(&format!("{base}/login"))
        .set("Cookie", &cookie)
        .set("Origin", base)
        .send_form(&[
            ("_csrf", &token),
            ("username", username),
            ("password", password),
        ])
        .map_err(|e| format!("console login: {e}"))?;
    let session = cookie_of(&done);
    if session.contains("camket_console=") {
        Ok(session)
    } else {
        Err(format!("console login refused ({})", done.status()))
    }
}

/// Times the web console's pages, as a signed-in admin of the whole area
/// sees them: queue, a submission, coverage at each level, the village's
/// households, the printable gap list, the daily report, the users.
pub fn console_pages(
    base: &str,
    username: &str,
    password: &str,
    campaign: i64,
    iterations: usize,
) -> Result<Value, String> {
    let token = login(base, username, password)?;
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(120))
        .redirects(0)
        .build();
    let first = |path: &str| first_id(&agent, base, &token, path);
    let commune = first("/api/v1/areas?level=commune&limit=1")?;
    let village = first("/api/v1/areas?level=village&limit=1")?;
    let submission = first("/api/v1/submissions?limit=1")?;
    let cookie = console_login(&agent, base, username, password)?;
    let past_day = (chrono::Utc::now() - chrono::Duration::days(2)).date_naive();
    let cases = [
        ("queue, first page, whole area", "/queue".to_string()),
        ("a submission", format!("/submissions/{submission}")),
        (
            "coverage, whole area",
            format!("/coverage?campaign={campaign}"),
        ),
        (
            "coverage, one commune",
            format!("/coverage?campaign={campaign}&area={commune}"),
        ),
        (
            "coverage, one village with its households",
            format!("/coverage?campaign={campaign}&area={village}"),
        ),
        (
            "printable gap list, one village",
            format!("/coverage/gaps?campaign={campaign}&area={village}"),
        ),
        (
            "daily report, one commune",
            format!("/reports?campaign={campaign}&kind=daily&area={commune}"),
        ),
        (
            "daily report, whole area",
            format!("/reports?campaign={campaign}&kind=daily"),
        ),
        (
            "daily report, whole area, a day that has passed (filed)",
            format!("/reports?campaign={campaign}&kind=daily&date={past_day}"),
        ),
        ("users", "/admin/users".to_string()),
    ];
    time_each(&cases, iterations, |path| {
        let response = match agent
            .get(&format!("{base}{path}"))
            .set("Cookie", &cookie)
            .call()
        {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Err(e.to_string()),
        };
        let status = response.status();
        // The whole page, as a browser receives it.
        response.into_string().map_err(|e| e.to_string())?;
        Ok(status)
    })
}

/// The server's resident memory in KiB: all of it (`VmRSS`), and its own
/// (`RssAnon`: without the pages of files it maps, such as the SQLite
/// database, which the kernel may drop and read again).
fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("RssAnon:")?))
}

/// Options of the ingest benchmark.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub base: String,
    pub username: String,
    pub password: String,
    pub clients: usize,
    pub seconds: u64,
    pub width: u32,
    pub height: u32,
    /// Photos with 4:2:0 chroma, as phones write them
    /// ([`synthetic::phone_jpeg`]), instead of the `image` crate's 4:4:4.
    pub phone_chroma: bool,
    pub server_pid: Option<u32>,
    /// Longest wait, in seconds, for the background checks to catch up.
    pub drain_timeout: u64,
    /// The server's `CAMKET_METRICS_TOKEN`, to read how long submissions
    /// waited for their checks (`camket_evidence_wait_seconds`).
    pub metrics_token: Option<String>,
}

/// Photo submissions per second from `clients` concurrent phones, each
/// submission carrying one JPEG of `width × height` (a distinct file every time).
pub fn ingest(options: &IngestOptions) -> Result<Value, String> {
    // Several instances of one deployment (`--url A,B`): the clients are spread
    // over them in turn; they share the signing secret, so one login serves all.
    let servers: Vec<String> = options
        .base
        .split(',')
        .map(|b| b.trim().trim_end_matches('/').to_string())
        .filter(|b| !b.is_empty())
        .collect();
    let Some(first_base) = servers.first().cloned() else {
        return Err("--url names no server".into());
    };
    let options = &IngestOptions {
        base: first_base,
        ..options.clone()
    };
    let token = login(&options.base, &options.username, &options.password)?;
    let agent = new_agent();
    let (_, villages) = get(
        &agent,
        &options.base,
        &token,
        "/api/v1/areas?level=village&limit=20",
    )?;
    let mut targets = Vec::new();
    for village in villages["items"].as_array().into_iter().flatten() {
        let id = village["id"].as_i64().unwrap_or_default();
        let (_, roster) = get(
            &agent,
            &options.base,
            &token,
            &format!("/api/v1/villages/{id}/households?limit=200"),
        )?;
        for h in roster["items"].as_array().into_iter().flatten() {
            targets.push((
                id,
                h["id"].as_i64().unwrap_or_default(),
                h["location"]["lat"].as_f64().unwrap_or(19.0),
                h["location"]["lon"].as_f64().unwrap_or(105.0),
            ));
        }
    }
    if targets.is_empty() {
        return Err("the user sees no households to submit for".into());
    }
    eprintln!(
        "rendering {} base photos of {}x{} ...",
        4, options.width, options.height
    );
    let bases: Vec<image::DynamicImage> = (0..4)
        .map(|n| {
            PaperPhoto::new(
                Scene {
                    seed: 3,
                    paper_shift: (0, 0),
                },
                9000 + n,
            )
            .with_size(options.width, options.height)
            .render()
        })
        .collect();
    // Encoding a 12-MP JPEG costs the client more than the server's checks: encode
    // each base once, and make every upload distinct by its EXIF time.
    let encoded: Vec<Vec<u8>> = bases
        .iter()
        .map(|b| encode_photo(b, options.phone_chroma))
        .collect();
    let photo_bytes = encoded.iter().map(Vec::len).sum::<usize>() / encoded.len();
    let targets = Arc::new(targets);
    let encoded = Arc::new(encoded);
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(AtomicU64::new(0));
    let first_failure: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let peak_rss = Arc::new(AtomicU64::new(0));
    let peak_private = Arc::new(AtomicU64::new(0));
    let sampler = options.server_pid.map(|pid| {
        let (stop, peak, peak_own) = (stop.clone(), peak_rss.clone(), peak_private.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some((rss, own)) = rss_kib(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                    peak_own.fetch_max(own, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    });
    let waits_before = match &options.metrics_token {
        Some(token) => Some(evidence_waits(&agent, &options.base, token)?),
        None => None,
    };
    let started = Instant::now();
    let deadline = started + Duration::from_secs(options.seconds);
    let workers: Vec<_> = (0..options.clients)
        .map(|client| {
            let (targets, encoded, counter, latencies, failures, token, base) =
                (targets.clone(), encoded.clone(), counter.clone(), latencies.clone(), failures.clone(), token.clone(), servers[client % servers.len()].clone());
            let first_failure = first_failure.clone();
            std::thread::spawn(move || {
                let agent = new_agent();
                let mut mine = Vec::new();
                while Instant::now() < deadline {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let (village, household, lat, lon) = targets[(n as usize) % targets.len()];
                    let now = chrono::Utc::now();
                    let taken = now.with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).unwrap_or(chrono::FixedOffset::east_opt(0).expect("utc"))).naive_local() - chrono::Duration::seconds((n % 3000) as i64);
                    let photo = synthetic::splice_exif(&encoded[(n as usize) % encoded.len()], &ExifSpec { taken_local: Some(taken), offset: None, gps: Some((lat, lon)) });
                    let document = json!({
                        "instance_id": uuid::Uuid::new_v4().to_string(), "form_id": "commitment", "form_version": 1,
                        "village_id": village, "household_id": household, "collected_at": now.to_rfc3339(),
                        "geotag": {"lat": lat, "lon": lon, "accuracy_m": 8.0},
                        "answers": {"commitment_kind": "household_reporting", "signer_name": "Chủ hộ", "signer_relation": "head", "signed_paper_photo": ["paper.jpg"]}
                    });
                    let body = multipart(&document, &photo);
                    let sent = Instant::now();
                    let result = agent
                        .post(&format!("{base}/api/v1/submissions"))
                        .set("Authorization", &format!("Bearer {token}"))
                        .set("Content-Type", "multipart/form-data; boundary=camket-bench")
                        .send_bytes(&body);
                    match result {
                        Ok(r) if r.status() == 201 => mine.push(sent.elapsed()),
                        other => {
                            failures.fetch_add(1, Ordering::Relaxed);
                            let why = match other {
                                Err(ureq::Error::Status(code, response)) => {
                                    format!("{code} {}", response.into_string().unwrap_or_default())
                                }
                                Err(error) => error.to_string(),
                                Ok(r) => format!("{}", r.status()),
                            };
                            if let Ok(mut first) = first_failure.lock() {
                                first.get_or_insert(why);
                            }
                        }
                    }
                }
                if let Ok(mut all) = latencies.lock() {
                    all.extend(mine);
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    let elapsed = started.elapsed().as_secs_f64();
    // The photos were accepted after the cheap checks; the background pool then
    // decodes and compares them. Wait for its backlog to drain (RSS still sampled).
    let backlog_at_end = backlog(&agent, &options.base)?;
    let drain_started = Instant::now();
    let mut left = backlog_at_end;
    while left > 0 && drain_started.elapsed() < Duration::from_secs(options.drain_timeout) {
        std::thread::sleep(Duration::from_millis(200));
        left = backlog(&agent, &options.base)?;
    }
    let drain = drain_started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    if let Some(sampler) = sampler {
        let _ = sampler.join();
    }
    let samples = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    let ok = samples.len();
    let evidence_wait = match (&options.metrics_token, waits_before) {
        (Some(token), Some(before)) => {
            let after = evidence_waits(&agent, &options.base, token)?;
            let run: Vec<(f64, f64)> = after
                .iter()
                .zip(&before)
                .map(|((le, total), (_, earlier))| (*le, total - earlier))
                .collect();
            let seconds = |q: f64| bucket_quantile(&run, q).map(|s| (s * 100.0).round() / 100.0);
            json!({"count": run.last().map(|(_, n)| *n), "p50_s": seconds(0.5), "p99_s": seconds(0.99)})
        }
        _ => Value::Null,
    };
    Ok(json!({
        "clients": options.clients,
        "instances": servers.len(),
        "seconds": (elapsed * 10.0).round() / 10.0,
        "photo": format!(
            "{}x{}, {:.1} MB, {}",
            options.width,
            options.height,
            photo_bytes as f64 / 1e6,
            chroma_name(options.phone_chroma)
        ),
        "accepted": ok,
        "failed": failures.load(Ordering::Relaxed),
        "first_failure": first_failure.lock().ok().and_then(|f| f.clone()),
        "submissions_per_second": ((ok as f64 / elapsed) * 10.0).round() / 10.0,
        "evidence_backlog_at_end": backlog_at_end,
        "evidence_drain_seconds": (drain * 10.0).round() / 10.0,
        "evidence_left_after_drain": left,
        "checked_per_second_end_to_end": ((ok as f64 / (elapsed + drain)) * 10.0).round() / 10.0,
        "evidence_wait_after_201": evidence_wait,
        "latency": stats(samples),
        "server_peak_rss_mb": options.server_pid.map(|_| peak_rss.load(Ordering::Relaxed) / 1024),
        "server_peak_private_mb": options
            .server_pid
            .map(|_| peak_private.load(Ordering::Relaxed) / 1024),
    }))
}

/// The server's evidence-wait histogram (`GET /metrics`): each bucket's upper
/// bound in seconds and how many submissions settled within it, so far.
fn evidence_waits(agent: &ureq::Agent, base: &str, token: &str) -> Result<Vec<(f64, f64)>, String> {
    let text = agent
        .get(&format!("{base}/metrics"))
        .set("Authorization", &format!("Bearer {token}"))
        .call()
        .map_err(|e| format!("GET /metrics: {e}"))?
        .into_string()
        .map_err(|e| format!("GET /metrics: {e}"))?;
    let buckets = histogram_buckets(&text, "camket_evidence_wait_seconds");
    if buckets.is_empty() {
        return Err("GET /metrics has no camket_evidence_wait_seconds".into());
    }
    Ok(buckets)
}

/// The buckets of histogram `name` in a Prometheus text exposition, as
/// (upper bound, cumulative count), in order (`+Inf` last).
pub fn histogram_buckets(text: &str, name: &str) -> Vec<(f64, f64)> {
    let prefix = format!("{name}_bucket{{le=\"");
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(&prefix)?;
            let (bound, count) = rest.split_once("\"} ")?;
            let bound = if bound == "+Inf" {
                f64::INFINITY
            } else {
                bound.parse().ok()?
            };
            Some((bound, count.trim().parse().ok()?))
        })
        .collect()
}

/// The `q` quantile of a histogram's cumulative buckets, interpolated
/// linearly within its bucket as Prometheus's `histogram_quantile` does (so
/// no finer than the buckets); `None` if it holds nothing. A quantile in the
/// last (`+Inf`) bucket is reported as the highest finite bound.
pub fn bucket_quantile(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for &(bound, count) in buckets {
        if count >= rank {
            if bound.is_infinite() {
                return Some(lower.0);
            }
            let within = count - lower.1;
            let share = if within > 0.0 {
                (rank - lower.1) / within
            } else {
                1.0
            };
            return Some(lower.0 + (bound - lower.0) * share);
        }
        lower = (bound, count);
    }
    Some(lower.0)
}

/// How many submissions wait for the background photo checks (`/readyz`).
fn backlog(agent: &ureq::Agent, base: &str) -> Result<u64, String> {
    let response = agent
        .get(&format!("{base}/readyz"))
        .call()
        .map_err(|e| format!("GET /readyz: {e}"))?;
    let body: Value = response
        .into_json()
        .map_err(|e| format!("GET /readyz: {e}"))?;
    body["evidence_backlog"]
        .as_u64()
        .ok_or_else(|| format!("GET /readyz gave no evidence_backlog: {body}"))
}

fn multipart(document: &Value, photo: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(photo.len() + 1024);
    body.extend_from_slice(b"--camket-bench\r\nContent-Disposition: form-data; name=\"submission\"\r\nContent-Type: application/json\r\n\r\n");
    body.extend_from_slice(document.to_string().as_bytes());
    body.extend_from_slice(b"\r\n--camket-bench\r\nContent-Disposition: form-data; name=\"signed_paper_photo\"; filename=\"paper.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n");
    body.extend_from_slice(photo);
    body.extend_from_slice(b"\r\n--camket-bench--\r\n");
    body
}

/// A benchmark's photo as JPEG at q90: with 4:2:0 chroma as phones write it
/// ([`synthetic::phone_jpeg`]), or the `image` crate's 4:4:4.
fn encode_photo(image: &image::DynamicImage, phone_chroma: bool) -> Vec<u8> {
    if phone_chroma {
        synthetic::phone_jpeg(image, 90)
    } else {
        synthetic::jpeg(image, 90)
    }
}

/// How [`encode_photo`] kept the chroma, for the report.
fn chroma_name(phone_chroma: bool) -> &'static str {
    if phone_chroma {
        "chroma 4:2:0"
    } else {
        "chroma 4:4:4"
    }
}

/// The photo pipeline alone, step by step, on a `width × height` JPEG.
pub fn photo_pipeline(
    width: u32,
    height: u32,
    iterations: usize,
    phone_chroma: bool,
) -> Result<Value, String> {
    use sha2::Digest;
    let image = PaperPhoto::new(
        Scene {
            seed: 1,
            paper_shift: (0, 0),
        },
        1,
    )
    .with_size(width, height)
    .render();
    let bytes = synthetic::splice_exif(
        &encode_photo(&image, phone_chroma),
        &ExifSpec {
            taken_local: chrono::NaiveDateTime::parse_from_str(
                "2025-04-22 09:00:00",
                "%Y-%m-%d %H:%M:%S",
            )
            .ok(),
            offset: None,
            gps: Some((19.8, 105.7)),
        },
    );
    let mut steps: Vec<(&str, Vec<Duration>)> = [
        "sha-256",
        "decode to >= 480 px (1/8 from the DC coefficients)",
        "EXIF",
        "work image (480 px grey)",
        "thumbnail 320",
        "fingerprint (keypoints + detail)",
        "encode thumbnail JPEG",
        "whole inspect()",
        "compare: align + tiles, another paper of the template",
        "review image on first request (decode 1/2, encode 1280)",
        "decode 1/8 with libjpeg-turbo (before)",
    ]
    .iter()
    .map(|name| (*name, Vec::new()))
    .collect();
    let path = std::env::temp_dir().join(format!("camket-bench-{}.jpg", std::process::id()));
    std::fs::write(&path, &bytes).map_err(|e| e.to_string())?;
    let offset = chrono::FixedOffset::east_opt(7 * 3600).ok_or("offset")?;
    for _ in 0..iterations {
        let mut time = |index: usize, f: &mut dyn FnMut()| {
            let started = Instant::now();
            f();
            steps[index].1.push(started.elapsed());
        };
        time(0, &mut || {
            let _ = sha2::Sha256::digest(&bytes);
        });
        let mut decoded = None;
        time(1, &mut || {
            decoded = crate::evidence::photo::decode_jpeg_scaled(
                &bytes,
                (width, height),
                crate::evidence::keypoints::WORK_LONG_SIDE,
            )
        });
        let decoded = decoded.ok_or("decode failed")?;
        time(2, &mut || {
            let _ = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(&bytes));
        });
        let mut work = None;
        time(3, &mut || {
            work = Some(crate::evidence::keypoints::work_image(&decoded))
        });
        let work = work.ok_or("resize failed")?;
        let mut thumb = None;
        time(4, &mut || {
            thumb = Some(crate::evidence::photo::shrink(&decoded, 320))
        });
        let thumb = thumb.ok_or("thumbnail failed")?;
        time(5, &mut || {
            let _ = crate::evidence::similarity::Fingerprint::of(&work);
        });
        time(6, &mut || {
            let _ = crate::evidence::photo::encode_jpeg(&thumb, 80);
        });
        time(7, &mut || {
            let _ = crate::evidence::photo::inspect(
                &path,
                crate::evidence::photo::PhotoLimits::default(),
                offset,
            );
        });
    }
    let fingerprint = |image: &image::DynamicImage| {
        crate::evidence::similarity::Fingerprint::of(&crate::evidence::keypoints::work_image(image))
    };
    let other = fingerprint(
        &PaperPhoto::new(
            Scene {
                seed: 1,
                paper_shift: (0, 0),
            },
            2,
        )
        .render(),
    );
    let mine = fingerprint(&image);
    for _ in 0..iterations {
        let started = Instant::now();
        let _ = crate::evidence::similarity::compare(&mine, &other);
        steps[8].1.push(started.elapsed());
        let started = Instant::now();
        let _ = crate::evidence::photo::review_image(
            &path,
            crate::evidence::photo::PhotoLimits::default(),
            offset,
        );
        steps[9].1.push(started.elapsed());
        let started = Instant::now();
        let _ = crate::evidence::photo::decode_eighth_with_libjpeg_turbo(&bytes);
        steps[10].1.push(started.elapsed());
    }
    let _ = std::fs::remove_file(&path);
    let mut out = serde_json::Map::new();
    out.insert(
        "photo".into(),
        json!(format!(
            "{width}x{height}, {:.2} MB, {}",
            bytes.len() as f64 / 1e6,
            chroma_name(phone_chroma)
        )),
    );
    for (name, samples) in steps {
        out.insert(name.into(), json!(stats(samples)));
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quantile_is_read_off_the_histogram_buckets() {
        let text = "# TYPE camket_evidence_wait_seconds histogram\n\
            camket_evidence_wait_seconds_bucket{le=\"1\"} 50\n\
            camket_evidence_wait_seconds_bucket{le=\"2\"} 90\n\
            camket_evidence_wait_seconds_bucket{le=\"10\"} 100\n\
            camket_evidence_wait_seconds_bucket{le=\"+Inf\"} 100\n\
            camket_evidence_wait_seconds_sum 120\n\
            camket_other_bucket{le=\"1\"} 7\n";
        let buckets = histogram_buckets(text, "camket_evidence_wait_seconds");
        assert_eq!(
            buckets,
            vec![
                (1.0, 50.0),
                (2.0, 90.0),
                (10.0, 100.0),
                (f64::INFINITY, 100.0)
            ]
        );
        assert_eq!(bucket_quantile(&buckets, 0.5), Some(1.0));
        assert_eq!(bucket_quantile(&buckets, 0.7), Some(1.5));
        // The 99th of 100 lies in the (2, 10] bucket, nine tenths of the way.
        let p99 = bucket_quantile(&buckets, 0.99).expect("p99");
        assert!((p99 - 9.2).abs() < 1e-9, "{p99}");
        assert_eq!(
            bucket_quantile(&[(1.0, 0.0), (f64::INFINITY, 0.0)], 0.5),
            None
        );
        assert_eq!(
            bucket_quantile(&[(1.0, 1.0), (f64::INFINITY, 4.0)], 0.99),
            Some(1.0),
            "beyond the last finite bound, that bound"
        );
    }
}
