//! Schemathesis (PyPI), the property-based API tester that checks the OpenAPI
//! document against the running server. The first test that needs it installs
//! it with pip into a virtual environment under `target/schemathesis/`.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The pinned version, so that every machine runs the same checks.
const VERSION: &str = "4.32.5";

fn install() -> Result<PathBuf, String> {
    super::python::venv_with("schemathesis", "schemathesis", VERSION)
        .map(|venv| venv.join("bin/schemathesis"))
}

/// The `schemathesis` program, installed once per test run.
pub fn schemathesis() -> &'static PathBuf {
    static PROGRAM: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match PROGRAM.get_or_init(install) {
        Ok(program) => program,
        Err(why) => panic!("schemathesis is not available: {why}"),
    }
}
