//! Findings 5, 6 and 7 of the black-box probe (issue 12), each reproduced and
//! held: a username cannot be locked out by guessing, forwarding headers are
//! believed only from trusted proxies (in the limiter and in the log), the data
//! dir is private, and a login has an absolute lifetime.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::fixture::{Fixture, PASSWORD};
use crate::harness::{Client, Response};

/// A login attempt that says it was forwarded for `address`.
fn login_from(client: &Client, address: &str, username: &str, password: &str) -> Response {
    client.post_json_with(
        "/api/v1/auth/login",
        &json!({"username": username, "password": password}),
        &[("X-Forwarded-For", address)],
    )
}

fn assert_rate_limited(response: &Response) {
    response.assert_problem(429);
    let wait: u64 = response
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!((1..=60).contains(&wait), "retry-after {wait}");
}

per_backend! {
    fn guessing_a_username_does_not_lock_its_owner_out(backend) {
        let fx = Fixture::with(backend, &[("CAMKET_TRUSTED_PROXIES", "127.0.0.1")]);
        let anonymous = fx.server.anonymous();
        let attacker = "203.0.113.66";
        // The default limit: 10 wrong passwords a minute for a username.
        for i in 0..10 {
            let guess = login_from(&anonymous, attacker, "officer2", &format!("guess-{i}-x"));
            guess.assert_problem(401);
        }
        // More guesses, from the same address or another: 429, never 401 or 200.
        let again = login_from(&anonymous, attacker, "officer2", "guess-10-x");
        assert_rate_limited(&again);
        let elsewhere = login_from(&anonymous, "203.0.113.67", "officer2", "guess-11-x");
        assert_rate_limited(&elsewhere);
        // The same answer but for the seconds left, which a slow machine may
        // see tick between two requests.
        let without_seconds = |response: &Response| -> String {
            response.body["detail"]
                .as_str()
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_ascii_digit())
                .collect()
        };
        assert_eq!(without_seconds(&again), without_seconds(&elsewhere));
        assert!(!without_seconds(&again).is_empty(), "{}", again.text);
        // The guessing address learns nothing even when it guesses right.
        let right_guess = login_from(&anonymous, attacker, "officer2", PASSWORD);
        assert_rate_limited(&right_guess);
        assert_eq!(without_seconds(&right_guess), without_seconds(&again));

        // The owner, from their own address, logs in with the right password.
        let owner = login_from(&anonymous, "198.51.100.7", "officer2", PASSWORD);
        assert_eq!(owner.status, 200, "{backend:?}: {}", owner.text);
        let officer2 = anonymous.with_token(owner.body["access_token"].as_str().unwrap_or(""));
        assert_eq!(officer2.get("/api/v1/me").body["username"], "officer2");
        // ... and a wrong password from that address is still held back.
        assert_rate_limited(&login_from(&anonymous, "198.51.100.7", "officer2", "guess-12-x"));
    }
}

/// Uses up the login quota of the address 203.0.113.10 (five a minute), then
/// logs in with the right password as if from 198.51.100.20; returns that answer.
fn exhaust_one_address_then_log_in_from_another(fx: &Fixture) -> Response {
    let anonymous = fx.server.anonymous();
    for name in ["x1", "x2", "x3", "x4", "x5", "x6"] {
        let status = login_from(&anonymous, "203.0.113.10", name, "wrong-wrong").status;
        assert!(status == 401 || status == 429, "{status}");
    }
    // The exhausted address is refused even with the right password: the password
    // is not looked at.
    assert_rate_limited(&login_from(&anonymous, "203.0.113.10", "officer", PASSWORD));
    login_from(&anonymous, "198.51.100.20", "officer", PASSWORD)
}

/// The log without its colour codes (`ESC [ ... m`).
fn plain(log: &str) -> String {
    let mut out = String::with_capacity(log.len());
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for skipped in chars.by_ref() {
                if skipped == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The client address of every log line about a login.
fn client_ips_in(log: &str) -> Vec<String> {
    plain(log)
        .lines()
        .filter(|line| line.contains("login"))
        .filter_map(|line| {
            let at = line.find("http.client_ip=")? + "http.client_ip=".len();
            line[at..].split([' ', '}']).next().map(str::to_string)
        })
        .collect()
}

per_backend! {
    fn forwarded_addresses_are_believed_only_from_a_trusted_proxy(backend) {
        let settings = [
            ("CAMKET_LOGIN_PER_ADDRESS_PER_MINUTE", "5"),
            ("CAMKET_LOG", "info"),
        ];
        // Behind a trusted proxy each forwarded address has its own quota, and the
        // log names the forwarded address.
        let mut trusted = settings.to_vec();
        trusted.push(("CAMKET_TRUSTED_PROXIES", "10.9.9.9, 127.0.0.1"));
        let fx = Fixture::with(backend, &trusted);
        let other = exhaust_one_address_then_log_in_from_another(&fx);
        assert_eq!(other.status, 200, "{backend:?}: {}", other.text);
        let ips = client_ips_in(&fx.server.log());
        assert!(ips.iter().any(|ip| ip == "203.0.113.10"), "{ips:?}");
        assert!(ips.iter().any(|ip| ip == "198.51.100.20"), "{ips:?}");
        drop(fx);

        // Without the setting, X-Forwarded-For is anyone's forgery: one address
        // (the real peer) for the limiter and for the log.
        let fx = Fixture::with(backend, &settings);
        let other = exhaust_one_address_then_log_in_from_another(&fx);
        assert_rate_limited(&other);
        let log = fx.server.log();
        let ips = client_ips_in(&log);
        assert!(!ips.is_empty(), "no login lines in the log:\n{log}");
        assert!(ips.iter().all(|ip| ip == "127.0.0.1"), "{ips:?}");
        assert!(!log.contains("203.0.113.10") && !log.contains("198.51.100.20"), "{log}");
    }
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// Every directory and file under `dir` (itself included), with its mode.
fn walk(dir: &Path, found: &mut Vec<(std::path::PathBuf, bool, u32)>) {
    found.push((dir.to_path_buf(), true, mode(dir)));
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, found);
        } else {
            found.push((path.clone(), false, mode(&path)));
        }
    }
}

per_backend! {
    fn the_data_dir_database_and_photos_are_private(backend) {
        // The usual umask, so that a file the server leaves to it would come out
        // 0644 (the child processes inherit it).
        // SAFETY: umask only sets this process's file-creation mask.
        unsafe {
            libc::umask(0o022);
        }
        let outside = tempfile::tempdir().expect("temp dir");
        let data_dir = outside.path().join("camket-data");
        let data_dir_text = data_dir.to_string_lossy().into_owned();
        let mut fx = crate::harness::field::with_forms(
            backend,
            &[("CAMKET_DATA_DIR", data_dir_text.as_str())],
        );
        let surveyor = fx.login("surveyor");
        let homes = crate::harness::field::households(&fx, "V1");
        let visit = crate::harness::field::clean_visit(
            &fx,
            homes["H1"],
            "relative_abroad",
            crate::harness::field::local(1, 9),
            700,
        );
        let sent = visit.send(&surveyor);
        assert_eq!(sent.status, 201, "{backend:?}: {}", sent.text);
        let id = sent.body["id"].as_i64().expect("id");
        // The background checks have written the derivatives too.
        crate::harness::field::settled(&surveyor, id);
        assert!(fx.server.terminate().success(), "{}", fx.server.log());

        let mut found = Vec::new();
        walk(&data_dir, &mut found);
        let names: Vec<String> = found
            .iter()
            .map(|(path, _, _)| path.to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().any(|n| n.ends_with(".orig")), "{names:?}");
        assert!(names.iter().any(|n| n.ends_with(".thumb.jpg")), "{names:?}");
        assert!(names.iter().any(|n| n.ends_with("clean-stop")), "{names:?}");
        for (path, is_dir, mode) in &found {
            let want = if *is_dir { 0o700 } else { 0o600 };
            assert_eq!(*mode, want, "{} is {mode:o}", path.display());
        }
        if backend == crate::harness::Backend::Sqlite {
            // The database lives in the harness's data dir, made by `camket migrate`.
            let db = fx.env.data_dir.path().join("camket.db");
            let mut checked = 0;
            for suffix in ["", "-wal", "-shm"] {
                let path = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
                if path.exists() {
                    assert_eq!(mode(&path), 0o600, "{} is {:o}", path.display(), mode(&path));
                    checked += 1;
                }
            }
            assert!(checked >= 1, "no database file at {}", db.display());
        }
    }
}

per_backend! {
    fn refresh_is_refused_after_the_absolute_login_lifetime(backend) {
        let fx = Fixture::with(backend, &[("CAMKET_LOGIN_MAX_SECS", "3")]);
        let anonymous = fx.server.anonymous();
        let started = Instant::now();
        let login = anonymous.post_json(
            "/api/v1/auth/login",
            &json!({"username": "surveyor", "password": PASSWORD}),
        );
        assert_eq!(login.status, 200, "{}", login.text);
        // Within the lifetime refreshing works and rotates, as always.
        let first = anonymous.post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": login.body["refresh_token"]}),
        );
        assert_eq!(first.status, 200, "{backend:?}: {}", first.text);
        let mut current = first.body["refresh_token"].clone();
        let mut last = None;
        crate::harness::wait_until("refresh is refused", Duration::from_secs(30), || {
            let answer = anonymous.post_json(
                "/api/v1/auth/refresh",
                &json!({"refresh_token": current}),
            );
            if answer.status == 200 {
                current = answer.body["refresh_token"].clone();
                return false;
            }
            last = Some(answer);
            true
        });
        let refused = last.expect("a refusal");
        let body = refused.assert_problem(401);
        assert!(
            body["detail"].as_str().unwrap_or("").contains("log in again"),
            "{body}"
        );
        assert!(
            started.elapsed() >= Duration::from_secs(3),
            "refused before the lifetime: {:?}",
            started.elapsed()
        );
        // The ended login stays ended; logging in again starts a new lifetime.
        anonymous
            .post_json("/api/v1/auth/refresh", &json!({"refresh_token": current}))
            .assert_problem(401);
        let again = anonymous.post_json(
            "/api/v1/auth/login",
            &json!({"username": "surveyor", "password": PASSWORD}),
        );
        assert_eq!(again.status, 200, "{}", again.text);
        let renewed = anonymous.post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": again.body["refresh_token"]}),
        );
        assert_eq!(renewed.status, 200, "{}", renewed.text);
    }
}
