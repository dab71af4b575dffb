//! ODK's own engine for the tests: ODK Validate (JavaRosa's XForm parser) and
//! `tests/odk/Fill.java`, which fills a form with JavaRosa as ODK Collect does.
//! Both run on the machine's Java 17. The jar ships inside the PyPI package
//! `pyxform` 4.5.0; the first test that needs it downloads the wheel with pip
//! into `target/odk/` and takes the jar out of it (`CAMKET_ODK_VALIDATE_JAR`
//! names another copy).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The jar and the compiled filler.
pub struct Odk {
    jar: PathBuf,
    classes: PathBuf,
}

fn odk_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/odk")
}

fn run(command: &mut Command, what: &str) -> Result<std::process::Output, String> {
    let output = command
        .output()
        .map_err(|e| format!("{what}: cannot run: {e}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "{what} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn fetch_jar(dir: &Path) -> Result<PathBuf, String> {
    if let Ok(path) = std::env::var("CAMKET_ODK_VALIDATE_JAR") {
        return Ok(PathBuf::from(path));
    }
    let jar = dir.join("ODK_Validate.jar");
    if jar.exists() {
        return Ok(jar);
    }
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let wheels = dir.join("wheel");
    run(
        Command::new("python3")
            .args([
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "pyxform==4.5.0",
                "-d",
            ])
            .arg(&wheels),
        "downloading pyxform 4.5.0 (for ODK_Validate.jar)",
    )?;
    let partial = dir.join("ODK_Validate.jar.partial");
    let script = format!(
        "import glob, zipfile\nwheel = glob.glob({:?} + '/pyxform-4.5.0-*.whl')[0]\nwith zipfile.ZipFile(wheel) as z:\n    open({:?}, 'wb').write(z.read('pyxform/validators/odk_validate/bin/ODK_Validate.jar'))\n",
        wheels.display().to_string(),
        partial.display().to_string()
    );
    run(
        Command::new("python3").args(["-c", &script]),
        "unpacking ODK_Validate.jar",
    )?;
    std::fs::rename(&partial, &jar).map_err(|e| e.to_string())?;
    Ok(jar)
}

fn prepare() -> Result<Odk, String> {
    let dir = odk_dir();
    let jar = fetch_jar(&dir)?;
    // One class directory per test process, so that two runs never share one;
    // those of earlier runs are removed.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with("classes-") {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let classes = dir.join(format!("classes-{}", std::process::id()));
    std::fs::create_dir_all(&classes).map_err(|e| e.to_string())?;
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/odk/Fill.java");
    run(
        Command::new("javac")
            .arg("-cp")
            .arg(&jar)
            .arg("-d")
            .arg(&classes)
            .arg(&source),
        "compiling tests/odk/Fill.java",
    )?;
    Ok(Odk { jar, classes })
}

/// ODK's tools, made ready once per test run.
pub fn odk() -> &'static Odk {
    static ODK: OnceLock<Result<Odk, String>> = OnceLock::new();
    match ODK.get_or_init(prepare) {
        Ok(odk) => odk,
        Err(why) => panic!("ODK Validate / JavaRosa are not available: {why}"),
    }
}

impl Odk {
    /// Runs ODK Validate on an XForm: `Ok` when JavaRosa parses it.
    pub fn validate(&self, xform: &str) -> Result<(), String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let form = dir.path().join("form.xml");
        std::fs::write(&form, xform).map_err(|e| e.to_string())?;
        let output = run(
            Command::new("java")
                .arg("-Djava.awt.headless=true")
                .arg("-jar")
                .arg(&self.jar)
                .arg(&form),
            "ODK Validate",
        )?;
        let said = String::from_utf8_lossy(&output.stdout);
        if said.contains("Xform is valid") {
            Ok(())
        } else {
            Err(said.into_owned())
        }
    }

    /// Fills an XForm with JavaRosa from an answers file (see `tests/odk/Fill.java`),
    /// with the roster files the form reads, in Vietnam's time zone as a phone
    /// there would. Returns the instance XML Collect would send.
    pub fn fill(&self, xform: &str, media: &[(&str, Vec<u8>)], answers: &str) -> String {
        let dir = tempfile::tempdir().expect("temp dir");
        let form = dir.path().join("form.xml");
        std::fs::write(&form, xform).expect("write form");
        let media_dir = dir.path().join("media");
        std::fs::create_dir_all(&media_dir).expect("media dir");
        for (name, bytes) in media {
            std::fs::write(media_dir.join(name), bytes).expect("write media");
        }
        let answers_file = dir.path().join("form.answers");
        std::fs::write(&answers_file, answers).expect("write answers");
        let classpath = format!("{}:{}", self.classes.display(), self.jar.display());
        let output = run(
            Command::new("java")
                .arg("-Djava.awt.headless=true")
                .arg("-Duser.timezone=Asia/Ho_Chi_Minh")
                .arg("-cp")
                .arg(&classpath)
                .arg("Fill")
                .arg(&form)
                .arg(&media_dir)
                .arg(&answers_file),
            "JavaRosa filling the form",
        )
        .unwrap_or_else(|why| panic!("{why}"));
        String::from_utf8(output.stdout).expect("UTF-8 instance")
    }
}
