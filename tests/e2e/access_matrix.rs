//! The access matrix, generated from the server's own route table: every
//! `/api/v1` route × every role × a target inside and outside the user's areas.
//! A route added to `camket::app::API_ROUTES` without a row here fails the test.
//!
//! Inside is Thôn Một (V1) of the fixture province; outside is Thôn Khác (QV) of
//! a second province nobody in the fixture is bound to. "admin-all" is an admin
//! of both provinces: the only one who may rule the forms, which serve them all.

use std::cell::Cell;
use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::fixture::{Fixture, PASSWORD};
use crate::harness::field::campaign_yaml;
use crate::harness::field::{local, paper, with_forms, Visit};
use crate::harness::{Client, Part, Response};

const OTHER_PROVINCE: &str = "code,name,level,parent_code\nQ,Tỉnh Khác,province,\nQC,Xã Khác,commune,Q\nQV,Thôn Khác,village,QC\n";
const OTHER_HOUSEHOLDS: &str =
    "village_code,code,head_name,address,member_count\nQV,H1,Người Khác,Số 1,2\nQV,H2,Người Khác Nữa,Số 2,2\nQV,H3,Người Thứ Ba,Số 3,2\n";

/// Who asks. The matrix columns, in this order.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Surveyor,
    Officer,
    Viewer,
    Admin,
    AdminAll,
}

const WHO: [(Who, &str); 5] = [
    (Who::Surveyor, "surveyor"),
    (Who::Officer, "officer"),
    (Who::Viewer, "viewer"),
    (Who::Admin, "admin"),
    (Who::AdminAll, "admin-all"),
];

/// Everything a request may name, in one of the two provinces.
struct World {
    code: &'static str,
    commune_code: &'static str,
    village_code: &'static str,
    village: i64,
    other_village: i64,
    /// Moved back and forth by the move row.
    household: i64,
    /// Visited by the submissions the matrix makes.
    home: i64,
    campaign: i64,
    submission: i64,
    photo: i64,
    spare_user: i64,
}

/// A request to send.
struct Request {
    method: &'static str,
    path: String,
    body: Option<(&'static str, Vec<u8>)>,
}

impl Request {
    fn new(method: &'static str, path: String) -> Request {
        Request {
            method,
            path: format!("/api/v1{path}"),
            body: None,
        }
    }

    fn json(mut self, value: Value) -> Request {
        self.body = Some(("application/json", value.to_string().into_bytes()));
        self
    }

    fn raw(mut self, content_type: &'static str, bytes: Vec<u8>) -> Request {
        self.body = Some((content_type, bytes));
        self
    }

    fn send(&self, client: &Client) -> Response {
        match &self.body {
            None => client.send(self.method, &self.path),
            Some((content_type, bytes)) => {
                client.send_body(self.method, &self.path, content_type, bytes)
            }
        }
    }
}

/// What the test can make fresh for a request: a new name, a new submission.
struct Maker<'a> {
    fx: &'a Fixture,
    counter: Cell<u32>,
}

impl Maker<'_> {
    fn next(&self) -> u32 {
        self.counter.set(self.counter.get() + 1);
        self.counter.get()
    }

    /// A fresh commitment for a household of `village`, as multipart parts.
    fn visit(&self, village: &str, household: i64) -> Vec<u8> {
        let n = self.next();
        let when = local(2, 9);
        let at = Some((19.01, 105.01));
        let visit = Visit::commitment(
            self.fx,
            village,
            Some(household),
            "household_reporting",
            when,
            at,
            paper(1000 + u64::from(n), when, at),
        );
        let mut parts = vec![Part::json(&visit.document)];
        parts.extend(visit.parts.iter().cloned());
        crate::harness::multipart_body(BOUNDARY, &parts)
    }

    /// A fresh phone of `user`, set up by an admin of every province.
    fn device(&self, user: i64) -> i64 {
        let made = self.fx.login("admin-all").post_json(
            &format!("/api/v1/users/{user}/devices"),
            &json!({"label": format!("máy {}", self.next())}),
        );
        assert_eq!(made.status, 201, "{}", made.text);
        made.body["id"].as_i64().expect("device id")
    }

    /// A fresh submission of `village` by `who`, still waiting for review.
    fn received(&self, client: &Client, village: &str, household: i64) -> i64 {
        let sent = client.send_body(
            "POST",
            "/api/v1/submissions",
            MULTIPART,
            &self.visit(village, household),
        );
        assert_eq!(sent.status, 201, "{}", sent.text);
        sent.body["id"].as_i64().expect("id")
    }
}

const BOUNDARY: &str = "camket-test-boundary-7MA4YWxkTrZu0gW";
const MULTIPART: &str = "multipart/form-data; boundary=camket-test-boundary-7MA4YWxkTrZu0gW";

/// Per column (surveyor, officer, viewer, admin, admin-all): the status
/// inside and outside the user's areas. 0 where a cell is not asked (admin-all
/// has no outside).
type Cells = [(u16, u16); 5];

/// Makes a row's request against a world for a user.
type Builder = dyn Fn(&World, &Who, &Maker) -> Request;

/// One row: a route, its expected answers, and how to build the request
/// against a world (inside or outside) for a user.
struct Row {
    method: &'static str,
    path: &'static str,
    cells: Cells,
    build: Box<Builder>,
}

fn row(
    method: &'static str,
    path: &'static str,
    cells: Cells,
    build: impl Fn(&World, &Who, &Maker) -> Request + 'static,
) -> Row {
    Row {
        method,
        path,
        cells,
        build: Box::new(build),
    }
}

const EVERYONE: Cells = [(200, 200); 5];
/// Read anything inside; outside, the id is as good as missing.
const READ_INSIDE: Cells = [(200, 404), (200, 404), (200, 404), (200, 404), (200, 0)];
/// Admins only, each inside their own areas; outside, an id in the body is
/// as good as unknown (422).
const ADMIN_BODY: Cells = [(403, 403), (403, 403), (403, 403), (200, 422), (200, 0)];
/// Admins only; outside, the addressed id is as good as missing (404).
const ADMIN_ID: Cells = [(403, 403), (403, 403), (403, 403), (200, 404), (200, 0)];
/// Only an admin of every province.
const ADMIN_OF_ALL: Cells = [(403, 403), (403, 403), (403, 403), (403, 403), (200, 0)];

fn rows() -> Vec<Row> {
    vec![
        row("get", "/openapi.json", EVERYONE, |_, _, _| {
            Request::new("GET", "/openapi.json".into())
        }),
        row("get", "/docs", EVERYONE, |_, _, _| {
            Request::new("GET", "/docs".into())
        }),
        row("post", "/auth/login", EVERYONE, |_, who, _| {
            Request::new("POST", "/auth/login".into())
                .json(json!({"username": username(who), "password": PASSWORD}))
        }),
        // The next two carry their own credentials: the maker logs in afresh.
        row("post", "/auth/refresh", EVERYONE, |_, _, _| {
            Request::new("POST", "/auth/refresh".into())
        }),
        row("post", "/auth/logout", [(204, 204); 5], |_, _, _| {
            Request::new("POST", "/auth/logout".into())
        }),
        row("get", "/me", EVERYONE, |_, _, _| {
            Request::new("GET", "/me".into())
        }),
        row("get", "/areas", EVERYONE, |_, _, _| {
            Request::new("GET", "/areas".into())
        }),
        row("post", "/areas/import", ADMIN_BODY, |w, _, m| {
            let csv = format!(
                "code,name,level,parent_code\nM{n},Thôn Mới {n},village,{}\n",
                w.commune_code,
                n = m.next()
            );
            Request::new("POST", "/areas/import".into()).raw("text/csv", csv.into_bytes())
        }),
        row("get", "/areas/{id}", READ_INSIDE, |w, _, _| {
            Request::new("GET", format!("/areas/{}", w.village))
        }),
        row(
            "get",
            "/villages/{id}/households",
            READ_INSIDE,
            |w, _, _| Request::new("GET", format!("/villages/{}/households", w.village)),
        ),
        row("post", "/households/import", ADMIN_BODY, |w, _, m| {
            let csv = format!(
                "village_code,code,head_name,address,member_count\n{},N{n},Hộ Mới,Số {n},1\n",
                w.village_code,
                n = m.next()
            );
            Request::new("POST", "/households/import".into()).raw("text/csv", csv.into_bytes())
        }),
        row("get", "/households/{id}", READ_INSIDE, |w, _, _| {
            Request::new("GET", format!("/households/{}", w.household))
        }),
        row("post", "/households/{id}/move", ADMIN_ID, |w, who, _| {
            // Back and forth between the two villages of the world.
            let to = if *who == Who::Admin {
                w.other_village
            } else {
                w.village
            };
            Request::new("POST", format!("/households/{}/move", w.household))
                .json(json!({ "village_id": to }))
        }),
        row("get", "/campaigns", EVERYONE, |_, _, _| {
            Request::new("GET", "/campaigns".into())
        }),
        row(
            "post",
            "/campaigns",
            [(403, 403), (403, 403), (403, 403), (201, 422), (201, 0)],
            |w, _, m| {
                let yaml = campaign_yaml()
                    .replacen(
                        "code: test-campaign",
                        &format!("code: matrix-{}", m.next()),
                        1,
                    )
                    .replacen("scope: P", &format!("scope: {}", w.code), 1);
                Request::new("POST", "/campaigns".into()).raw("application/yaml", yaml.into_bytes())
            },
        ),
        row("get", "/campaigns/{id}", READ_INSIDE, |w, _, _| {
            Request::new("GET", format!("/campaigns/{}", w.campaign))
        }),
        row("get", "/campaigns/{id}/coverage", READ_INSIDE, |w, _, _| {
            Request::new("GET", format!("/campaigns/{}/coverage", w.campaign))
        }),
        row("get", "/campaigns/{id}/gaps", READ_INSIDE, |w, _, _| {
            Request::new("GET", format!("/campaigns/{}/gaps", w.campaign))
        }),
        row(
            "get",
            "/campaigns/{id}/reports/{kind}",
            READ_INSIDE,
            |w, _, _| Request::new("GET", format!("/campaigns/{}/reports/daily", w.campaign)),
        ),
        row(
            "get",
            "/users",
            [(403, 403), (403, 403), (403, 403), (200, 200), (200, 0)],
            |_, _, _| Request::new("GET", "/users".into()),
        ),
        row(
            "post",
            "/users",
            [(403, 403), (403, 403), (403, 403), (201, 422), (201, 0)],
            |w, _, m| {
                Request::new("POST", "/users".into()).json(json!({
                    "username": format!("matrix-{}", m.next()),
                    "full_name": "Người Mới",
                    "password": "long-enough-1",
                    "role": "surveyor",
                    "area_ids": [w.village],
                }))
            },
        ),
        row("put", "/users/{id}/areas", ADMIN_ID, |w, _, _| {
            Request::new("PUT", format!("/users/{}/areas", w.spare_user))
                .json(json!({"area_ids": [w.village]}))
        }),
        row("post", "/users/{id}/deactivate", ADMIN_ID, |w, _, _| {
            Request::new("POST", format!("/users/{}/deactivate", w.spare_user)).json(json!({}))
        }),
        row("post", "/users/{id}/activate", ADMIN_ID, |w, _, _| {
            Request::new("POST", format!("/users/{}/activate", w.spare_user)).json(json!({}))
        }),
        // Phones: an officer sets them up for the surveyors of their commune,
        // an admin for anyone in their areas; a surveyor only for themself.
        row(
            "post",
            "/users/{id}/devices",
            [(403, 403), (201, 404), (403, 403), (201, 404), (201, 0)],
            |w, _, _| {
                Request::new("POST", format!("/users/{}/devices", w.spare_user))
                    .json(json!({"label": "Điện thoại tổ công tác"}))
            },
        ),
        row(
            "get",
            "/users/{id}/devices",
            [(403, 403), (200, 404), (403, 403), (200, 404), (200, 0)],
            |w, _, _| Request::new("GET", format!("/users/{}/devices", w.spare_user)),
        ),
        row(
            "delete",
            "/users/{id}/devices/{device_id}",
            [(403, 403), (204, 404), (403, 403), (204, 404), (204, 0)],
            |w, _, m| {
                let device = m.device(w.spare_user);
                Request::new(
                    "DELETE",
                    format!("/users/{}/devices/{device}", w.spare_user),
                )
            },
        ),
        row(
            "get",
            "/users/{id}/devices/{device_id}/qr.png",
            [(403, 403), (200, 404), (403, 403), (200, 404), (200, 0)],
            |w, _, m| {
                let device = m.device(w.spare_user);
                Request::new(
                    "GET",
                    format!("/users/{}/devices/{device}/qr.png", w.spare_user),
                )
            },
        ),
        row("get", "/forms", EVERYONE, |_, _, _| {
            Request::new("GET", "/forms".into())
        }),
        row("post", "/forms", ADMIN_OF_ALL, |_, _, _| {
            let shipped = std::fs::read(format!(
                "{}/../survey-forms/forms/commitment.yaml",
                env!("CARGO_MANIFEST_DIR")
            ))
            .expect("shipped form");
            Request::new("POST", "/forms".into()).raw("application/yaml", shipped)
        }),
        row("get", "/forms/{form_id}", EVERYONE, |_, _, _| {
            Request::new("GET", "/forms/commitment".into())
        }),
        row("put", "/forms/{form_id}/state", ADMIN_OF_ALL, |_, _, _| {
            Request::new("PUT", "/forms/commitment/state".into()).json(json!({"state": "open"}))
        }),
        row(
            "get",
            "/forms/{form_id}/versions/{version}",
            EVERYONE,
            |_, _, _| Request::new("GET", "/forms/commitment/versions/1".into()),
        ),
        // An authorised admin reaches the lookup: no version 99 (404).
        row(
            "post",
            "/forms/{form_id}/versions/{version}/retire",
            [(403, 403), (403, 403), (403, 403), (403, 403), (404, 0)],
            |_, _, _| {
                Request::new("POST", "/forms/commitment/versions/99/retire".into()).json(json!({}))
            },
        ),
        row(
            "post",
            "/forms/{form_id}/versions/{version}/check",
            [(200, 200), (200, 200), (403, 403), (200, 200), (200, 0)],
            |_, _, _| {
                Request::new("POST", "/forms/commitment/versions/1/check".into()).json(
                    json!({"answers": {
                        "commitment_kind": "household_reporting",
                        "signer_name": "Lê Văn An",
                        "signer_relation": "head",
                        "signed_paper_photo": ["paper.jpg"],
                    }}),
                )
            },
        ),
        // Lists are filtered to one's areas; there is no outside to ask for.
        row(
            "get",
            "/submissions",
            [(200, 200), (200, 200), (200, 200), (200, 200), (200, 0)],
            |_, _, _| Request::new("GET", "/submissions".into()),
        ),
        row(
            "post",
            "/submissions",
            [(201, 403), (201, 403), (403, 403), (403, 403), (403, 0)],
            |w, _, m| {
                Request::new("POST", "/submissions".into())
                    .raw(MULTIPART, m.visit(w.village_code, w.home))
            },
        ),
        row("get", "/submissions/{id}", READ_INSIDE, |w, _, _| {
            Request::new("GET", format!("/submissions/{}", w.submission))
        }),
        row(
            "get",
            "/submissions/{id}/photos/{photo_id}",
            READ_INSIDE,
            |w, _, _| {
                Request::new(
                    "GET",
                    format!(
                        "/submissions/{}/photos/{}?size=original",
                        w.submission, w.photo
                    ),
                )
            },
        ),
        // Officers and admins review, each a fresh submission of the village.
        row(
            "post",
            "/submissions/{id}/review",
            [(403, 404), (200, 404), (403, 404), (200, 404), (200, 0)],
            |w, _, _| {
                Request::new("POST", format!("/submissions/{}/review", w.submission))
                    .json(json!({"decision": "approve"}))
            },
        ),
        row(
            "get",
            "/submissions/{id}/history",
            READ_INSIDE,
            |w, _, _| Request::new("GET", format!("/submissions/{}/history", w.submission)),
        ),
    ]
}

fn username(who: &Who) -> &'static str {
    WHO.iter()
        .find(|(w, _)| w == who)
        .map(|(_, name)| *name)
        .unwrap_or("")
}

fn add_user(fx: &Fixture, username: &str, role: &str, areas: &[&str]) {
    let mut args = vec![
        "users",
        "add",
        "--username",
        username,
        "--full-name",
        "Người Thử",
        "--role",
        role,
    ];
    for area in areas {
        args.extend(["--area", area]);
    }
    let out = fx
        .env
        .camket_env(&args, &[("CAMKET_NEW_USER_PASSWORD", PASSWORD)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn id_of(response: &Response) -> i64 {
    response.body["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id: {}", response.text))
}

per_backend! {
    fn every_route_answers_every_role_inside_and_outside_their_areas(backend) {
        // Hundreds of requests from one address: the login limiter is not under test here.
        let mut fx = with_forms(
            backend,
            &[
                ("CAMKET_LOGIN_PER_USER_PER_MINUTE", "10000"),
                ("CAMKET_LOGIN_PER_ADDRESS_PER_MINUTE", "10000"),
            ],
        );
        let q = fx.env.write_file("q.csv", OTHER_PROVINCE);
        assert!(fx.env.camket(&["import", "areas", &q]).status.success());
        let qh = fx.env.write_file("qh.csv", OTHER_HOUSEHOLDS);
        assert!(fx.env.camket(&["import", "households", &qh]).status.success());
        add_user(&fx, "admin-all", "admin", &["P", "Q"]);
        add_user(&fx, "admin-q", "admin", &["Q"]);
        add_user(&fx, "surveyor-q", "surveyor", &["QV"]);
        add_user(&fx, "spare-p", "surveyor", &["V1"]);
        add_user(&fx, "spare-q", "surveyor", &["QV"]);
        let admin_all = fx.login("admin-all");
        // A second village in Q for the move row.
        let added = admin_all.post_raw(
            "/api/v1/areas/import",
            "text/csv",
            "code,name,level,parent_code\nQV2,Thôn Khác Hai,village,QC\n".as_bytes(),
        );
        assert_eq!(added.status, 200, "{}", added.text);
        for item in admin_all.get("/api/v1/areas?limit=1000").body["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            fx.areas.insert(
                item["code"].as_str().unwrap_or("").to_string(),
                item["id"].as_i64().unwrap_or(0),
            );
        }
        let fx = fx;
        let maker = Maker { fx: &fx, counter: Cell::new(0) };
        let user_id = |name: &str| {
            admin_all.get("/api/v1/users").body["items"]
                .as_array()
                .and_then(|users| users.iter().find(|u| u["username"] == name).cloned())
                .and_then(|u| u["id"].as_i64())
                .unwrap_or_else(|| panic!("no user {name}"))
        };
        let world = |code: &'static str, admin: &str, surveyor: &str, villages: [&'static str; 2], spare: &str| {
            let roster = admin_all.get(&format!("/api/v1/villages/{}/households", fx.area(villages[0])));
            let home = |code: &str| {
                roster.body["items"]
                    .as_array()
                    .and_then(|items| items.iter().find(|h| h["code"] == code).cloned())
                    .and_then(|h| h["id"].as_i64())
                    .unwrap_or_else(|| panic!("no household {code}: {}", roster.text))
            };
            let campaign = campaign_yaml()
                .replacen("code: test-campaign", &format!("code: world-{code}"), 1)
                .replacen("scope: P", &format!("scope: {code}"), 1);
            let campaign = id_of(&fx.login(admin).post_raw("/api/v1/campaigns", "application/yaml", campaign.as_bytes()));
            let surveyor = fx.login(surveyor);
            let submission = maker.received(&surveyor, villages[0], home("H1"));
            let view = surveyor.get(&format!("/api/v1/submissions/{submission}"));
            World {
                code,
                commune_code: if code == "P" { "C1" } else { "QC" },
                village_code: villages[0],
                village: fx.area(villages[0]),
                other_village: fx.area(villages[1]),
                household: home("H3"),
                home: home("H1"),
                campaign,
                submission,
                photo: view.body["photos"][0]["id"].as_i64().expect("photo id"),
                spare_user: user_id(spare),
            }
        };
        let inside = world("P", "admin", "surveyor", ["V1", "V2"], "spare-p");
        let outside = world("Q", "admin-q", "surveyor-q", ["QV", "QV2"], "spare-q");

        let rows = rows();
        let routes: BTreeSet<(String, String)> = camket::app::API_ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        let covered: BTreeSet<(String, String)> = rows
            .iter()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        assert_eq!(
            routes.difference(&covered).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "routes without a row in the access matrix"
        );
        assert_eq!(
            covered.difference(&routes).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "rows for routes that do not exist"
        );

        let clients: Vec<Client> = WHO.iter().map(|(_, name)| fx.login(name)).collect();
        let surveyors = [fx.login("surveyor"), fx.login("surveyor-q")];
        let mut failures = Vec::new();
        for row in &rows {
            for (column, (who, name)) in WHO.iter().enumerate() {
                let (in_status, out_status) = row.cells[column];
                for (world, expected, place) in [(&inside, in_status, "inside"), (&outside, out_status, "outside")] {
                    if expected == 0 {
                        continue;
                    }
                    let mut client = clients[column].with_token(clients[column].token.as_deref().unwrap_or(""));
                    let mut request = (row.build)(world, who, &maker);
                    match row.path {
                        "/auth/refresh" => {
                            let login = client.post_json(
                                "/api/v1/auth/login",
                                &json!({"username": name, "password": PASSWORD}),
                            );
                            request = request.json(json!({"refresh_token": login.body["refresh_token"]}));
                        }
                        "/auth/logout" => client = fx.login(name),
                        "/submissions/{id}/review" => {
                            // A fresh submission each time, so an earlier approval
                            // does not answer 409 here.
                            let surveyor = &surveyors[usize::from(world.code != "P")];
                            let fresh = maker.received(surveyor, world.village_code, world.home);
                            request.path = format!("/api/v1/submissions/{fresh}/review");
                        }
                        _ => {}
                    }
                    let got = request.send(&client);
                    if got.status != expected {
                        failures.push(format!(
                            "{} {} as {name} {place}: expected {expected}, got {} {}",
                            row.method.to_uppercase(),
                            request.path,
                            got.status,
                            got.text.chars().take(200).collect::<String>()
                        ));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{backend:?}:\n{}", failures.join("\n"));
    }
}
