//! A real S3-compatible server for the object-store tests: `s3s-fs` (an S3
//! server over a directory, from the s3s project; `.ci/deps` installs it),
//! started once per test process and stopped by a watchdog when the process
//! ends. Each scenario gets its own bucket. Objects are plain files under
//! `ROOT/BUCKET/KEY`, so a test can see what the store holds.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const ACCESS_KEY: &str = "camket-test";
const SECRET_KEY: &str = "camket-test-secret-key";

/// The running S3 server.
pub struct S3Server {
    endpoint: String,
    root: PathBuf,
}

fn binary() -> String {
    let in_cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .map(|home| home.join("bin").join("s3s-fs"));
    match in_cargo_home {
        Ok(path) if path.exists() => path.to_string_lossy().into_owned(),
        _ => "s3s-fs".to_string(),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port for the S3 server")
}

// The watchdog shell is never waited for on purpose: it outlives this process
// to stop the server after the tests have gone.
#[allow(clippy::zombie_processes)]
fn start() -> S3Server {
    let root = std::env::temp_dir().join(format!("camket-s3-{}", std::process::id()));
    std::fs::create_dir_all(&root).expect("S3 root");
    let port = free_port();
    let script = format!(
        "'{bin}' --host 127.0.0.1 --port {port} --access-key {ACCESS_KEY} --secret-key {SECRET_KEY} \
         '{root}' > '{root}.log' 2>&1 & S=$!; \
         while [ -d /proc/{pid} ] && kill -0 $S 2>/dev/null; do sleep 1; done; \
         kill $S 2>/dev/null; wait $S; rm -rf '{root}' '{root}.log'",
        bin = binary(),
        root = root.display(),
        pid = std::process::id(),
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the S3 server could not be started (is s3s-fs installed? see .ci/deps)");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            let log =
                std::fs::read_to_string(format!("{}.log", root.display())).unwrap_or_default();
            panic!("the S3 server (s3s-fs) did not listen within 30 s:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    S3Server {
        endpoint: format!("http://127.0.0.1:{port}"),
        root,
    }
}

/// The S3 server of this test process.
pub fn s3() -> &'static S3Server {
    static SERVER: OnceLock<S3Server> = OnceLock::new();
    SERVER.get_or_init(start)
}

impl S3Server {
    /// A new, empty bucket.
    pub fn bucket(&self) -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!("photos-{}", N.fetch_add(1, Ordering::SeqCst));
        std::fs::create_dir_all(self.root.join(&name)).expect("create bucket");
        name
    }

    /// The settings that point camket at `store` (`s3://bucket/prefix`).
    pub fn vars(&self, store: &str) -> Vec<(String, String)> {
        vec![
            ("CAMKET_PHOTO_STORE".into(), store.into()),
            ("AWS_ENDPOINT_URL".into(), self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID".into(), ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY".into(), SECRET_KEY.into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_ALLOW_HTTP".into(), "true".into()),
        ]
    }

    /// The keys stored in `bucket` (relative to it), sorted.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let base = self.root.join(bucket);
        let mut found = Vec::new();
        let mut stack = vec![base.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(relative) = path.strip_prefix(&base) {
                    found.push(relative.to_string_lossy().into_owned());
                }
            }
        }
        found.sort();
        found
    }

    /// Writes an object behind the server's back (as a crash between the
    /// store and the database would leave it).
    pub fn plant(&self, bucket: &str, key: &str, bytes: &[u8]) {
        let path = self.root.join(bucket).join(key);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("object dir");
        }
        std::fs::write(path, bytes).expect("plant object");
    }
}

/// `vars` as the `&[(&str, &str)]` the harness takes.
pub fn as_refs(vars: &[(String, String)]) -> Vec<(&str, &str)> {
    vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Whether `dir` holds no file at any depth.
pub fn holds_no_file(dir: &Path) -> bool {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else {
                return false;
            }
        }
    }
    true
}
