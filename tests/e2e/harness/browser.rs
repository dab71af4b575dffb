//! A real browser for the console tests: Debian's Chromium driven by
//! Playwright for Python. The first test that needs it installs Playwright
//! (pinned) with pip into a virtual environment under `target/playwright/`;
//! Playwright's own browser download is not used.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The pinned version, so that every machine drives the browser the same way.
const VERSION: &str = "1.65.2";

/// Where Debian's `chromium` package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

fn install() -> Result<PathBuf, String> {
    if !std::path::Path::new(CHROMIUM).exists() {
        return Err(format!(
            "{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)"
        ));
    }
    super::python::venv_with("playwright", "playwright", VERSION)
        .map(|venv| venv.join("bin/python"))
}

/// The Python that has Playwright, installed once per test run.
pub fn playwright_python() -> &'static PathBuf {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match PYTHON.get_or_init(install) {
        Ok(python) => python,
        Err(why) => panic!("the browser tests cannot run: {why}"),
    }
}

/// Where a test's screenshots go, for a person to look at.
pub fn screenshot_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/console-screenshots")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}
