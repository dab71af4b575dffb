//! A small province every scenario starts from: a province with a district of two
//! communes and, since the 2025 reform, a commune directly under the province.
//!
//! ```text
//! P  Tỉnh Thử
//! ├── D1 Huyện Một
//! │   ├── C1 Xã Một    ── V1 Thôn Một (boundary), V2 Thôn Hai
//! │   └── C2 Xã Hai    ── V3 Thôn Ba
//! └── C3 Phường Ba     ── V4 Tổ Bốn
//! ```

use std::collections::HashMap;

use crate::harness::{Backend, Client, Server, TestEnv};

/// Password of every fixture user.
pub const PASSWORD: &str = "test-password-1";

pub const AREAS_CSV: &str = "code,name,level,parent_code,centroid_lat,centroid_lon,boundary
P,Tỉnh Thử,province,,,,
D1,Huyện Một,district,P,,,
C1,Xã Một,commune,D1,,,
V1,Thôn Một,village,C1,,,\"{\"\"type\"\":\"\"Polygon\"\",\"\"coordinates\"\":[[[105.0,19.0],[105.02,19.0],[105.02,19.02],[105.0,19.02],[105.0,19.0]]]}\"
V2,Thôn Hai,village,C1,19.1,105.1,
C2,Xã Hai,commune,D1,,,
V3,Thôn Ba,village,C2,,,
C3,Phường Ba,commune,P,,,
V4,Tổ Bốn,village,C3,,,
";

pub const HOUSEHOLDS_CSV: &str =
    "village_code,code,head_name,address,member_count,lat,lon,categories
V1,H1,Lê Văn An,Số 1 Thôn Một,4,19.01,105.01,relative_abroad
V1,H2,Trần Thị Bình,Số 2 Thôn Một,3,,,
V1,H3,Phạm Văn Cường,Số 3 Thôn Một,5,19.011,105.012,returnee;relative_abroad_illegal
V2,H1,Ngô Thị Dung,Số 1 Thôn Hai,2,,,
V2,H2,Hoàng Văn Em,Số 2 Thôn Hai,6,,,
V3,H1,Đỗ Văn Phúc,Số 1 Thôn Ba,4,,,
V3,H2,Bùi Thị Giang,Số 2 Thôn Ba,1,,,
V4,H1,Vũ Văn Hải,Số 1 Tổ Bốn,3,,,business_transport
";

/// The fixture users: (username, role, area code).
pub const USERS: &[(&str, &str, &str)] = &[
    ("admin", "admin", "P"),
    ("officer", "officer", "C1"),
    ("surveyor", "surveyor", "V1"),
    ("viewer", "viewer", "D1"),
    ("officer2", "officer", "C2"),
    ("surveyor3", "surveyor", "V3"),
];

/// A loaded environment with a running server.
pub struct Fixture {
    pub env: TestEnv,
    pub server: Server,
    /// Area ids by code.
    pub areas: HashMap<String, i64>,
}

/// Asserts that a command line succeeded; returns what it printed.
pub fn ok(output: std::process::Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Loads areas, households and users through the command line.
pub fn load(env: &TestEnv) {
    let areas = env.write_file("areas.csv", AREAS_CSV);
    let out = ok(env.camket(&["import", "areas", &areas]), "import areas");
    assert!(out.contains("created 9"), "{out}");
    let households = env.write_file("households.csv", HOUSEHOLDS_CSV);
    let out = ok(
        env.camket(&["import", "households", &households]),
        "import households",
    );
    assert!(out.contains("created 8"), "{out}");
    for (username, role, area) in USERS {
        ok(
            env.camket_env(
                &[
                    "users",
                    "add",
                    "--username",
                    username,
                    "--full-name",
                    &format!("Người dùng {username}"),
                    "--role",
                    role,
                    "--area",
                    area,
                ],
                &[("CAMKET_NEW_USER_PASSWORD", PASSWORD)],
            ),
            "users add",
        );
    }
}

impl Fixture {
    /// The fixture on `backend`, with the server started with extra settings.
    pub fn with(backend: Backend, vars: &[(&str, &str)]) -> Fixture {
        let env = TestEnv::new(backend);
        load(&env);
        let server = env.start_with(vars);
        let admin = server.login("admin", PASSWORD);
        let listing = admin.get("/api/v1/areas?limit=1000");
        assert_eq!(listing.status, 200, "{}", listing.text);
        let areas = listing.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|a| {
                (
                    a["code"].as_str().unwrap_or("").to_string(),
                    a["id"].as_i64().unwrap_or(0),
                )
            })
            .collect();
        Fixture { env, server, areas }
    }

    /// The fixture on `backend` with default settings.
    pub fn new(backend: Backend) -> Fixture {
        Fixture::with(backend, &[])
    }

    /// The id of an area by code.
    pub fn area(&self, code: &str) -> i64 {
        *self
            .areas
            .get(code)
            .unwrap_or_else(|| panic!("no area {code}"))
    }

    /// A logged-in client for a fixture user.
    pub fn login(&self, username: &str) -> Client {
        self.server.login(username, PASSWORD)
    }
}
