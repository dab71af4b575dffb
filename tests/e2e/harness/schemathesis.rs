//! Schemathesis (PyPI), the property-based API tester that checks the OpenAPI
//! document against the running server. The first test that needs it installs
//! it with pip into a virtual environment under `target/schemathesis/`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The pinned version, so that every machine runs the same checks.
const VERSION: &str = "4.32.5";

fn install() -> Result<PathBuf, String> {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/schemathesis");
    let program = venv.join("bin/schemathesis");
    let marker = venv.join(format!("installed-{VERSION}"));
    if program.exists() && marker.exists() {
        return Ok(program);
    }
    let run = |command: &mut Command, what: &str| -> Result<(), String> {
        let output = command
            .output()
            .map_err(|e| format!("{what}: cannot run: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{what} failed:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    };
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "making a virtual environment for schemathesis",
    )?;
    run(
        Command::new(venv.join("bin/python")).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            &format!("schemathesis=={VERSION}"),
        ]),
        "installing schemathesis from PyPI",
    )?;
    std::fs::write(&marker, VERSION).map_err(|e| e.to_string())?;
    Ok(program)
}

/// The `schemathesis` program, installed once per test run.
pub fn schemathesis() -> &'static PathBuf {
    static PROGRAM: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match PROGRAM.get_or_init(install) {
        Ok(program) => program,
        Err(why) => panic!("schemathesis is not available: {why}"),
    }
}
