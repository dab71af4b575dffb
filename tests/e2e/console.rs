//! The web console: an officer's day in a real browser (Chromium, driven by
//! Playwright: `tests/console/officer_day.py`), and over plain HTTP, that
//! every page wants a login and every form its anti-forgery token.

use std::process::Command;

use serde_json::{json, Value};

use crate::fixture::{Fixture, PASSWORD};
use crate::harness::browser::{playwright_python, screenshot_dir, CHROMIUM};
use crate::harness::field::{households, local, open_campaign, paper, settled, with_forms, Visit};

const H1: (f64, f64) = (19.01, 105.01);

/// Submits three commitments in V1 and waits for their photo checks: the
/// first and third clean, the second reusing the first's photo for H2.
fn three_submissions(fx: &Fixture) -> (Vec<i64>, i64) {
    let homes = households(fx, "V1");
    let surveyor = fx.login("surveyor");
    let photo = paper(1, local(1, 9), Some(H1));
    let visits = [
        Visit::commitment(
            fx,
            "V1",
            Some(homes["H1"]),
            "household_reporting",
            local(1, 9),
            Some(H1),
            photo.clone(),
        ),
        Visit::commitment(
            fx,
            "V1",
            Some(homes["H2"]),
            "household_reporting",
            local(1, 10),
            Some(H1),
            photo,
        ),
        Visit::commitment(
            fx,
            "V1",
            Some(homes["H3"]),
            "household_reporting",
            local(1, 11),
            Some((19.011, 105.012)),
            paper(3, local(1, 11), Some((19.011, 105.012))),
        ),
    ];
    let ids: Vec<i64> = visits
        .iter()
        .map(|visit| {
            let sent = visit.send(&surveyor);
            assert_eq!(sent.status, 201, "{}", sent.text);
            let id = sent.body["id"].as_i64().expect("id");
            settled(&surveyor, id);
            id
        })
        .collect();
    (vec![ids[0], ids[2]], ids[1])
}

fn user_id(fx: &Fixture, username: &str) -> i64 {
    let users = fx.login("admin").get("/api/v1/users");
    users.body["items"]
        .as_array()
        .and_then(|items| items.iter().find(|u| u["username"] == username))
        .and_then(|u| u["id"].as_i64())
        .unwrap_or_else(|| panic!("no user {username}: {}", users.text))
}

per_backend! {
    fn an_officer_works_through_the_queue_in_a_real_browser(backend) {
        let fx = with_forms(backend, &[]);
        let campaign = open_campaign(&fx);
        let (clean, reused) = three_submissions(&fx);
        let facts = json!({
            "chromium": CHROMIUM,
            "campaign": campaign,
            "village": fx.area("V1"),
            "clean": clean,
            "reused": reused,
            "surveyor": user_id(&fx, "surveyor"),
            "viewer": user_id(&fx, "viewer"),
        });
        let shots = screenshot_dir(&format!("{backend:?}").to_lowercase());
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/console/officer_day.py");
        let output = Command::new(playwright_python())
            .arg(script)
            .arg(&fx.server.base)
            .arg(PASSWORD)
            .arg(&shots)
            .arg(facts.to_string())
            .output()
            .expect("run the browser scenario");
        let said = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{backend:?}: the browser scenario failed (screenshots in {}):\n{said}\n{}\nserver log:\n{}",
            shots.display(),
            String::from_utf8_lossy(&output.stderr),
            fx.server.log()
        );
        let outcome: Value = serde_json::from_str(said.lines().last().unwrap_or("")).expect("the scenario's outcome");
        let pages = std::fs::read_dir(&shots).map(|d| d.count()).unwrap_or(0);
        assert!(pages >= 15, "a screenshot of each page: {pages} in {}", shots.display());

        // The surveyor reads the officer's decisions, and the reason, over the API.
        let surveyor = fx.login("surveyor");
        let rejected = surveyor.get(&format!("/api/v1/submissions/{}", outcome["rejected"]));
        assert_eq!(rejected.body["status"], "rejected", "{}", rejected.text);
        assert_eq!(rejected.body["review_comment"], outcome["reason"]);
        let approved = surveyor.get(&format!("/api/v1/submissions/{}", outcome["approved"]));
        assert_eq!(approved.body["status"], "approved");
        // The forged and the viewer's POSTs changed nothing.
        let untouched = surveyor.get(&format!("/api/v1/submissions/{}", outcome["untouched"]));
        assert_eq!(untouched.body["status"], "received", "{}", untouched.text);
        let history = surveyor.get(&format!("/api/v1/submissions/{}/history", outcome["untouched"]));
        assert_eq!(history.body["items"].as_array().map(Vec::len), Some(1), "{}", history.text);
    }
}

/// A browser without JavaScript: cookies kept by hand, forms, no redirects
/// followed.
pub(crate) struct Browser {
    agent: ureq::Agent,
    base: String,
    cookies: Vec<(String, String)>,
}

pub(crate) struct Page {
    status: u16,
    location: String,
    content_type: String,
    headers: Vec<(String, String)>,
    pub(crate) text: String,
}

impl Browser {
    pub(crate) fn new(base: &str) -> Browser {
        Browser {
            agent: ureq::AgentBuilder::new().redirects(0).build(),
            base: base.to_string(),
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn finish(&mut self, result: Result<ureq::Response, ureq::Error>) -> Page {
        let response = match result {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(other) => panic!("transport error: {other}"),
        };
        let set: Vec<String> = response
            .all("set-cookie")
            .into_iter()
            .map(str::to_string)
            .collect();
        for line in &set {
            let pair = line.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.retain(|(n, _)| n != name);
                if !value.is_empty() {
                    self.cookies.push((name.to_string(), value.to_string()));
                }
            }
        }
        let headers = response
            .headers_names()
            .into_iter()
            .map(|name| (name.clone(), response.all(&name).join("\n")))
            .collect();
        Page {
            status: response.status(),
            location: response.header("location").unwrap_or("").to_string(),
            content_type: response.header("content-type").unwrap_or("").to_string(),
            headers,
            text: response.into_string().unwrap_or_default(),
        }
    }

    pub(crate) fn get(&mut self, path: &str) -> Page {
        let request = self
            .agent
            .get(&format!("{}{path}", self.base))
            .set("Cookie", &self.cookie_header());
        let result = request.call();
        self.finish(result)
    }

    fn post(&mut self, path: &str, content_type: &str, body: &[u8]) -> Page {
        let request = self
            .agent
            .post(&format!("{}{path}", self.base))
            .set("Cookie", &self.cookie_header())
            .set("Origin", &self.base)
            .set("Content-Type", content_type);
        let result = request.send_bytes(body);
        self.finish(result)
    }

    fn hidden_token(text: &str) -> String {
        text.split("name=\"_csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .to_string()
    }

    pub(crate) fn log_in(&mut self, username: &str) -> String {
        let form = self.get("/login");
        let token = Browser::hidden_token(&form.text);
        let body =
            format!("_csrf={token}&username={username}&password={PASSWORD}&next=%2Fcoverage");
        let done = self.post(
            "/login",
            "application/x-www-form-urlencoded",
            body.as_bytes(),
        );
        assert_eq!(done.status, 303, "{}", done.text);
        assert_eq!(done.location, "/coverage");
        let page = self.get("/coverage");
        assert_eq!(page.status, 200, "{}", page.text);
        Browser::hidden_token(&page.text)
    }
}

fn concrete(path: &str) -> String {
    path.replace("{id}", "1")
        .replace("{device_id}", "1")
        .replace("{photo_id}", "1")
        .replace("{form_id}", "commitment")
        .replace("{version}", "1")
        .replace("{kind}", "households")
}

per_backend! {
    fn every_console_page_wants_a_login_and_every_form_its_token(backend) {
        let fx = with_forms(backend, &[]);
        open_campaign(&fx);
        let public = ["/login", "/lang", "/assets/console.css", "/assets/console.js"];
        let mut stranger = Browser::new(&fx.server.base);
        for (method, path) in camket::console::CONSOLE_ROUTES {
            if *method != "get" || public.contains(path) {
                continue;
            }
            let page = stranger.get(&concrete(path));
            assert_eq!(page.status, 303, "GET {path} without a login: {}", page.text);
            assert!(page.location.starts_with("/login?next="), "GET {path} → {}", page.location);
        }

        let mut admin = Browser::new(&fx.server.base);
        let token = admin.log_in("admin");
        let session = admin.cookies.iter().find(|(n, _)| n == "camket_console").cloned();
        assert!(session.is_some(), "a session cookie");
        let page = admin.get("/admin/users");
        let policy = page.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("content-security-policy")).map(|(_, v)| v.clone()).unwrap_or_default();
        assert!(policy.contains("script-src 'self'"), "{policy}");
        assert!(page.text.contains("<html lang=\"vi\">") && page.text.contains("Tài khoản"));

        // Far-off dates are refused in words, never a crash.
        for path in ["/queue?to=%2B262142-12-31", "/reports?date=-262143-01-01"] {
            let page = admin.get(path);
            assert_eq!(page.status, 400, "{path}: {}", page.text);
            assert!(page.content_type.starts_with("text/html"), "{path}");
            assert!(page.text.contains("Dữ liệu chưa hợp lệ"), "{path}: {}", page.text);
        }

        for (method, path) in camket::console::CONSOLE_ROUTES {
            if *method != "post" {
                continue;
            }
            let path = concrete(path);
            let page = if path.starts_with("/admin/imports/") {
                let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"h.csv\"\r\nContent-Type: text/csv\r\n\r\nvillage_code,code,head_name,address,member_count,lat,lon,categories\r\nV1,H9,X,Y,1,,,\r\n--XyZ--\r\n";
                admin.post(&path, "multipart/form-data; boundary=XyZ", body)
            } else {
                admin.post(&path, "application/x-www-form-urlencoded", b"decision=approve&state=closed&active=false&label=x&area_codes=V1&definition=x&spec=x&username=admin&password=x")
            };
            assert_eq!(page.status, 403, "POST {path} without its token: {}", page.text);
            assert!(page.content_type.starts_with("text/html"), "POST {path}: {}", page.content_type);
        }
        // Nothing was written by those refused posts.
        let roster = fx.login("admin").get(&format!("/api/v1/villages/{}/households", fx.area("V1")));
        assert!(!roster.text.contains("\"H9\""), "the refused import wrote nothing");
        let forms = fx.login("admin").get("/api/v1/forms");
        assert!(forms.text.contains("\"commitment\""), "the refused state change closed nothing");

        // With its token, a form works; from another site it does not.
        let import = format!("--XyZ\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{token}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"h.csv\"\r\nContent-Type: text/csv\r\n\r\nvillage_code,code,head_name,address,member_count,lat,lon,categories\r\nV1,H9,Nguyễn Văn Chín,Số 9,2,,,\r\nV9,H1,Nobody,Nowhere,1,,,\r\n--XyZ--\r\n");
        let refused = admin.post("/admin/imports/households", "multipart/form-data; boundary=XyZ", import.as_bytes());
        assert_eq!(refused.status, 422, "{}", refused.text);
        assert!(refused.text.contains("V9"), "the bad line is named: {}", refused.text);
        let roster = fx.login("admin").get(&format!("/api/v1/villages/{}/households", fx.area("V1")));
        assert!(!roster.text.contains("\"H9\""), "an import with a bad line writes nothing");
        let good = import.replace("V9,H1,Nobody,Nowhere,1,,,\r\n", "");
        let imported = admin.post("/admin/imports/households", "multipart/form-data; boundary=XyZ", good.as_bytes());
        assert_eq!(imported.status, 200, "{}", imported.text);
        assert!(imported.text.contains("import-summary"), "{}", imported.text);

        // A deactivated officer is out at once, console and all.
        let mut officer = Browser::new(&fx.server.base);
        officer.log_in("officer");
        assert_eq!(officer.get("/queue").status, 200);
        let officer_id = user_id(&fx, "officer");
        let off = fx.login("admin").send("POST", &format!("/api/v1/users/{officer_id}/deactivate"));
        assert_eq!(off.status, 200, "{}", off.text);
        let after = officer.get("/queue");
        assert_eq!(after.status, 303);
        assert!(after.location.starts_with("/login"), "{}", after.location);

        // Logging out ends the session; the old cookie no longer opens anything.
        let out = admin.post("/logout", "application/x-www-form-urlencoded", format!("_csrf={token}").as_bytes());
        assert_eq!(out.status, 303);
        if let Some((name, value)) = session {
            admin.cookies = vec![(name, value)];
        }
        assert_eq!(admin.get("/admin/users").status, 303, "the cookie of an ended login");
    }
}
