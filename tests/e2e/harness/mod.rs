//! Starts the real `camket` binary against a fresh database of each backend and
//! speaks HTTP to it. PostgreSQL runs as a throwaway cluster on a unix socket,
//! started once per test process (as the `postgres` user when run as root) and
//! stopped by a watchdog when the process ends.

pub mod browser;
pub mod field;
pub mod odk;
pub mod python;
pub mod s3;
pub mod schemathesis;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A database backend under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

fn camket_binary() -> &'static str {
    env!("CARGO_BIN_EXE_camket")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Builds a command that runs as the `postgres` user when we are root
/// (PostgreSQL refuses to run as root).
fn pg_command(program: &str) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--", program]);
        command
    } else {
        Command::new(program)
    }
}

struct PgCluster {
    socket_dir: PathBuf,
    port: u16,
}

fn must(command: &mut Command, what: &str) -> Output {
    let output = command.output().unwrap_or_else(|e| {
        panic!("PostgreSQL could not be started: {what}: {e} (are initdb/postgres on PATH?)")
    });
    assert!(
        output.status.success(),
        "PostgreSQL could not be started: {what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

// The watchdog shell is never waited for on purpose: it outlives this process
// to stop the cluster after the tests have gone.
#[allow(clippy::zombie_processes)]
fn start_cluster() -> PgCluster {
    let base = std::env::temp_dir().join(format!(
        "camket-pg-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    let data = base.join("data");
    let socket_dir = base.join("sock");
    std::fs::create_dir_all(&socket_dir).expect("create pg socket dir");
    set_mode(&base, 0o777);
    set_mode(&socket_dir, 0o777);
    must(
        pg_command("initdb").args([
            "-D",
            path_str(&data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--locale=C",
            "-E",
            "UTF8",
            "--no-sync",
        ]),
        "initdb",
    );
    let port = 20_000 + (std::process::id() % 20_000) as u16;
    // The watchdog stops the cluster and removes it once this test process is gone.
    let script = format!(
        "postgres -D '{data}' -k '{sock}' -p {port} -c listen_addresses='' -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
         -c shared_buffers=64MB > '{base}/log' 2>&1 & PG=$!; \
         while [ -d /proc/{pid} ] && kill -0 $PG 2>/dev/null; do sleep 1; done; \
         kill -INT $PG 2>/dev/null; wait $PG; rm -rf '{data}' '{sock}' '{base}/log'",
        data = path_str(&data),
        sock = path_str(&socket_dir),
        base = path_str(&base),
        pid = std::process::id(),
    );
    pg_command("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("PostgreSQL could not be started: spawning postgres failed");
    let socket = socket_dir.join(format!(".s.PGSQL.{port}"));
    let started = Instant::now();
    while !socket.exists() {
        if started.elapsed() > Duration::from_secs(60) {
            let log = std::fs::read_to_string(base.join("log")).unwrap_or_default();
            panic!("PostgreSQL could not be started: no socket after 60 s. Log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let cluster = PgCluster { socket_dir, port };
    // The socket appears a moment before connections are accepted.
    let started = Instant::now();
    loop {
        let ok = cluster.psql("postgres", "SELECT 1").status.success();
        if ok {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "PostgreSQL did not accept connections"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    cluster
}

impl PgCluster {
    fn psql(&self, database: &str, sql: &str) -> Output {
        Command::new("psql")
            .args([
                "-h",
                path_str(&self.socket_dir),
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                "-c",
                sql,
            ])
            .output()
            .expect("run psql")
    }

    fn url(&self, database: &str) -> String {
        format!(
            "postgresql:///{database}?host={}&port={}&user=postgres",
            path_str(&self.socket_dir),
            self.port
        )
    }
}

fn cluster() -> &'static PgCluster {
    static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
    CLUSTER.get_or_init(start_cluster)
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn rand_suffix() -> u32 {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    nanos ^ COUNTER.fetch_add(1, Ordering::SeqCst).wrapping_mul(7919)
}

/// A fresh database and data dir for one scenario.
pub struct TestEnv {
    pub data_dir: tempfile::TempDir,
    pub database_url: String,
}

impl TestEnv {
    /// An empty, migrated database of `backend`.
    pub fn new(backend: Backend) -> TestEnv {
        let env = TestEnv::unmigrated(backend);
        let out = env.camket(&["migrate"]);
        assert!(
            out.status.success(),
            "migrate failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        env
    }

    /// A database of `backend` with no tables at all (for restoring into).
    pub fn unmigrated(backend: Backend) -> TestEnv {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let database_url = match backend {
            Backend::Sqlite => format!("sqlite://{}", data_dir.path().join("camket.db").display()),
            Backend::Postgres => {
                static N: AtomicU32 = AtomicU32::new(0);
                let name = format!(
                    "camket_t{}_{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::SeqCst)
                );
                let cluster = cluster();
                let out = cluster.psql("postgres", &format!("CREATE DATABASE {name}"));
                assert!(
                    out.status.success(),
                    "create database: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                cluster.url(&name)
            }
        };
        TestEnv {
            data_dir,
            database_url,
        }
    }

    fn command(&self) -> Command {
        let mut command = Command::new(camket_binary());
        command
            .env("DATABASE_URL", &self.database_url)
            .env("CAMKET_DATA_DIR", self.data_dir.path())
            .env("CAMKET_LOG", "warn")
            .env_remove("CAMKET_JWT_SECRET");
        command
    }

    /// Runs a `camket` command line against this environment.
    pub fn camket(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run camket")
    }

    /// Like [`TestEnv::camket`], with extra environment variables.
    pub fn camket_env(&self, args: &[&str], vars: &[(&str, &str)]) -> Output {
        let mut command = self.command();
        for (k, v) in vars {
            command.env(k, v);
        }
        command.args(args).output().expect("run camket")
    }

    /// Writes a file into the data dir and returns its path.
    pub fn write_file(&self, name: &str, contents: &str) -> String {
        let path = self.data_dir.path().join(name);
        std::fs::write(&path, contents).expect("write file");
        path.to_string_lossy().into_owned()
    }

    /// Starts `camket serve` on a free port with extra environment settings.
    pub fn start_with(&self, vars: &[(&str, &str)]) -> Server {
        self.spawn(&["serve", "--bind", "127.0.0.1:0", "--workers", "2"], vars)
    }

    /// Starts `camket demo` on a free port with these extra arguments; what it
    /// printed before listening is in [`Server::banner`].
    pub fn start_demo(&self, args: &[&str]) -> Server {
        let mut all = vec!["demo", "--bind", "127.0.0.1:0", "--workers", "2"];
        all.extend_from_slice(args);
        self.spawn(&all, &[])
    }

    fn spawn(&self, args: &[&str], vars: &[(&str, &str)]) -> Server {
        let mut command = self.command();
        command.args(args);
        for (k, v) in vars {
            command.env(k, v);
        }
        // A server with a data dir of its own (a second instance on the same
        // database, or a dir the server must create) logs beside this one's.
        let own_data_dir = vars.iter().any(|(k, _)| *k == "CAMKET_DATA_DIR");
        let log_path = if own_data_dir {
            self.data_dir
                .path()
                .join(format!("server-{}.log", rand_suffix()))
        } else {
            self.data_dir.path().join("server.log")
        };
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start camket serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let mut banner = String::new();
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                if let Some(url) = line.trim().strip_prefix("camket listening on ") {
                    let _ = tx.send((url.to_string(), std::mem::take(&mut banner)));
                } else {
                    banner.push_str(&line);
                }
                line.clear();
            }
        });
        let (base, banner) = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(started) => started,
            Err(_) => {
                let _ = child.kill();
                let mut text = String::new();
                let _ =
                    std::fs::File::open(&log_path).and_then(|mut f| f.read_to_string(&mut text));
                panic!("camket serve did not start:\n{text}");
            }
        };
        Server {
            child,
            base,
            log_path,
            banner,
        }
    }

    /// Starts the server with default settings.
    pub fn start(&self) -> Server {
        self.start_with(&[])
    }
}

/// A running server, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub log_path: PathBuf,
    /// What the server printed on stdout before it listened.
    pub banner: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// A client without credentials.
    pub fn anonymous(&self) -> Client {
        Client {
            base: self.base.clone(),
            token: None,
        }
    }

    /// Logs in and returns a client carrying the access token.
    pub fn login(&self, username: &str, password: &str) -> Client {
        let response = self.anonymous().post_json(
            "/api/v1/auth/login",
            &serde_json::json!({"username": username, "password": password}),
        );
        assert_eq!(response.status, 200, "login {username}: {}", response.body);
        let token = response.body["access_token"]
            .as_str()
            .expect("access token")
            .to_string();
        Client {
            base: self.base.clone(),
            token: Some(token),
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the process to end.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("wait for server")
    }
}

/// An HTTP response, with the body parsed as JSON where it is JSON.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub text: String,
}

impl Response {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts a problem+json error with this status and returns the body.
    pub fn assert_problem(&self, status: u16) -> &Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(
            self.content_type, "application/problem+json",
            "body: {}",
            self.text
        );
        assert_eq!(self.body["status"].as_u64(), Some(u64::from(status)));
        assert!(self.body["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(self.body["type"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(self.body["detail"].as_str().is_some_and(|t| !t.is_empty()));
        &self.body
    }
}

/// A client of the API.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub token: Option<String>,
}

impl Client {
    /// The same client with another bearer token.
    pub fn with_token(&self, token: &str) -> Client {
        Client {
            base: self.base.clone(),
            token: Some(token.to_string()),
        }
    }

    fn request(&self, method: &str, path: &str) -> ureq::Request {
        let mut request = ureq::request(method, &format!("{}{}", self.base, path))
            .timeout(Duration::from_secs(60));
        if let Some(token) = &self.token {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        request
    }

    fn finish(result: Result<ureq::Response, ureq::Error>) -> Response {
        let response = match result {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(other) => panic!("transport error: {other}"),
        };
        let status = response.status();
        let content_type = response.header("content-type").unwrap_or("").to_string();
        let headers = response
            .headers_names()
            .into_iter()
            .map(|name| {
                let value = response.header(&name).unwrap_or("").to_string();
                (name, value)
            })
            .collect();
        let text = response.into_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Response {
            status,
            content_type,
            headers,
            body,
            text,
        }
    }

    /// Any method without a body.
    pub fn send(&self, method: &str, path: &str) -> Response {
        Client::finish(self.request(method, path).call())
    }

    /// Any method with a body of the given content type.
    pub fn send_body(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> Response {
        Client::finish(
            self.request(method, path)
                .set("Content-Type", content_type)
                .send_bytes(body),
        )
    }

    pub fn get(&self, path: &str) -> Response {
        self.send("GET", path)
    }

    /// GET a body as raw bytes (asserting 200).
    pub fn get_bytes(&self, path: &str) -> Vec<u8> {
        let response = match self.request("GET", path).call() {
            Ok(response) => response,
            Err(error) => panic!("GET {path}: {error}"),
        };
        let mut bytes = Vec::new();
        let _ = std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes);
        bytes
    }

    /// GET with extra headers, the body as raw bytes: (status, headers, bytes).
    pub fn get_raw_with(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let mut request = self.request("GET", path);
        for (name, value) in headers {
            request = request.set(name, value);
        }
        let response = match request.call() {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(other) => panic!("GET {path}: {other}"),
        };
        let status = response.status();
        let names = response
            .headers_names()
            .into_iter()
            .map(|name| {
                let value = response.header(&name).unwrap_or("").to_string();
                (name.to_ascii_lowercase(), value)
            })
            .collect();
        let mut bytes = Vec::new();
        let _ = std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes);
        (status, names, bytes)
    }

    /// GET with extra headers.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut request = self.request("GET", path);
        for (name, value) in headers {
            request = request.set(name, value);
        }
        Client::finish(request.call())
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Response {
        Client::finish(self.request("POST", path).send_json(body.clone()))
    }

    /// POST JSON with extra request headers.
    pub fn post_json_with(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Response {
        let mut request = self.request("POST", path);
        for (name, value) in headers {
            request = request.set(name, value);
        }
        Client::finish(request.send_json(body.clone()))
    }

    pub fn put_json(&self, path: &str, body: &Value) -> Response {
        Client::finish(self.request("PUT", path).send_json(body.clone()))
    }

    /// POST a multipart/form-data body.
    pub fn post_multipart(&self, path: &str, parts: &[Part]) -> Response {
        let boundary = "camket-test-boundary-7MA4YWxkTrZu0gW";
        let body = multipart_body(boundary, parts);
        Client::finish(
            self.request("POST", path)
                .set(
                    "Content-Type",
                    &format!("multipart/form-data; boundary={boundary}"),
                )
                .send_bytes(&body),
        )
    }

    /// POST raw bytes; `None` when the connection fails (the server was killed).
    pub fn try_post_raw(&self, path: &str, content_type: &str, body: &[u8]) -> Option<Response> {
        let result = self
            .request("POST", path)
            .set("Content-Type", content_type)
            .send_bytes(body);
        match result {
            Ok(_) | Err(ureq::Error::Status(..)) => Some(Client::finish(result)),
            Err(ureq::Error::Transport(_)) => None,
        }
    }

    /// POST a multipart body; `None` when the connection fails.
    pub fn try_post_multipart(&self, path: &str, parts: &[Part]) -> Option<Response> {
        let boundary = "camket-test-boundary-7MA4YWxkTrZu0gW";
        self.try_post_raw(
            path,
            &format!("multipart/form-data; boundary={boundary}"),
            &multipart_body(boundary, parts),
        )
    }

    /// POST JSON; `None` when the connection fails.
    pub fn try_post_json(&self, path: &str, body: &Value) -> Option<Response> {
        self.try_post_raw(path, "application/json", body.to_string().as_bytes())
    }

    /// GET; `None` when the connection fails.
    pub fn try_get(&self, path: &str) -> Option<Response> {
        let result = self.request("GET", path).call();
        match result {
            Ok(_) | Err(ureq::Error::Status(..)) => Some(Client::finish(result)),
            Err(ureq::Error::Transport(_)) => None,
        }
    }

    /// POST raw bytes with a content type.
    pub fn post_raw(&self, path: &str, content_type: &str, body: &[u8]) -> Response {
        Client::finish(
            self.request("POST", path)
                .set("Content-Type", content_type)
                .send_bytes(body),
        )
    }
}

/// Opens a raw connection and sends a `POST /api/v1/submissions` whose body
/// stops halfway (a phone losing its signal, or a slow-upload attack).
pub fn half_sent_upload(server: &Server, token: &str, parts: &[Part]) -> std::net::TcpStream {
    use std::io::Write;
    let boundary = "half-sent-boundary";
    let body = multipart_body(boundary, parts);
    let address = server.base.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&address).expect("connect");
    let head = format!(
        "POST /api/v1/submissions HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("headers");
    stream
        .write_all(&body[..body.len() / 2])
        .expect("half the body");
    stream.flush().expect("flush");
    stream
}

/// One part of a multipart body.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Part {
    /// The `submission` JSON part.
    pub fn json(value: &Value) -> Part {
        Part {
            name: "submission".into(),
            filename: None,
            content_type: "application/json".into(),
            bytes: value.to_string().into_bytes(),
        }
    }

    /// A photo part answering `field`.
    pub fn photo(field: &str, filename: &str, bytes: Vec<u8>) -> Part {
        Part {
            name: field.into(),
            filename: Some(filename.into()),
            content_type: "image/jpeg".into(),
            bytes,
        }
    }
}

/// Encodes parts as multipart/form-data.
pub fn multipart_body(boundary: &str, parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match &part.filename {
            Some(filename) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{}\"; filename=\"{filename}\"\r\n",
                    part.name
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{}\"\r\n", part.name).as_bytes(),
            ),
        }
        body.extend_from_slice(format!("Content-Type: {}\r\n\r\n", part.content_type).as_bytes());
        body.extend_from_slice(&part.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

/// Declares one end-to-end scenario as two tests, `name::sqlite` and
/// `name::postgres`, so a failure names its backend and one backend's failure
/// does not hide the other's result.
///
/// ```ignore
/// per_backend! {
///     fn a_surveyor_logs_in(backend) { let fx = Fixture::new(backend); ... }
/// }
/// ```
macro_rules! per_backend {
    ($(#[$meta:meta])* fn $name:ident($backend:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn scenario($backend: $crate::harness::Backend) $body

            $(#[$meta])*
            #[test]
            fn sqlite() {
                scenario($crate::harness::Backend::Sqlite)
            }

            $(#[$meta])*
            #[test]
            fn postgres() {
                scenario($crate::harness::Backend::Postgres)
            }
        }
    };
}

/// Polls `condition` until it holds, failing the test with `what` when it has
/// not held by `timeout`: for waiting on the server, never a fixed sleep.
pub fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
