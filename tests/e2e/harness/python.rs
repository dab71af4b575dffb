//! Python tools the tests drive (Schemathesis, Playwright), each installed once
//! with pip into its own virtual environment under `target/`, pinned.

use std::path::PathBuf;
use std::process::Command;

fn run(command: &mut Command, what: &str) -> Result<(), String> {
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
}

/// The virtual environment `target/<name>` with `package==version` installed
/// in it (made on first use; a marker file says the pinned version is there).
pub fn venv_with(name: &str, package: &str, version: &str) -> Result<PathBuf, String> {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target")
        .join(name);
    let marker = venv.join(format!("installed-{version}"));
    if venv.join("bin/python").exists() && marker.exists() {
        return Ok(venv);
    }
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        &format!("making a virtual environment for {package}"),
    )?;
    run(
        Command::new(venv.join("bin/python")).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            &format!("{package}=={version}"),
        ]),
        &format!("installing {package} from PyPI"),
    )?;
    std::fs::write(&marker, version).map_err(|e| e.to_string())?;
    Ok(venv)
}
