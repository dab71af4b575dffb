//! `camket backup DIR` and `camket restore DIR`: a consistent snapshot of the
//! database and the photo store, taken while the server runs.
//!
//! The database is snapshotted first (`VACUUM INTO` on SQLite, `pg_dump` on
//! PostgreSQL), then the photo store is copied (a local directory or a bucket,
//! whichever is in force) into `DIR/photos`. Photos are content-addressed and
//! never rewritten, and only photos that no row names are ever removed, so
//! every photo the snapshot refers to is already stored when the copy starts:
//! the pair is consistent without stopping writes. A restore copies
//! `DIR/photos` into the store in force, which may be of the other kind.

use std::path::Path;
use std::process::Command;

use diesel::connection::SimpleConnection;
use serde::{Deserialize, Serialize};

use camket_schema::db::Backend;
use camket_schema::Db;

use crate::photo_store::PhotoStore;

/// What a backup holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub backend: String,
    pub database_file: String,
    pub photo_files: u64,
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("{what} could not start: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Writes a snapshot of the database at `url` and of the photo store `photos`
/// into `dir` (which must be empty or absent).
pub fn backup(db: &Db, url: &str, photos: &PhotoStore, dir: &Path) -> Result<Manifest, String> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(format!(
            "{} is not empty: back up into a new directory",
            dir.display()
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let (backend, database_file) = match db {
        Db::Sqlite(pool) => {
            let target = dir.join("camket.db");
            let quoted = target.display().to_string().replace('\'', "''");
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            conn.batch_execute(&format!("VACUUM INTO '{quoted}'"))
                .map_err(|e| format!("snapshot failed: {e}"))?;
            ("sqlite", "camket.db")
        }
        Db::Pg(_) => {
            let target = dir.join("camket.pgdump");
            run(
                Command::new("pg_dump")
                    .args(["--format=custom", "--no-owner", "--file"])
                    .arg(&target)
                    .arg(url),
                "pg_dump",
            )?;
            ("postgres", "camket.pgdump")
        }
    };
    let photo_files = photos
        .copy_all_to(&PhotoStore::directory(&dir.join("photos")), |_, _| {})
        .map_err(|e| format!("copying photos: {e}"))?
        .1 as u64;
    let manifest = Manifest {
        created_at: chrono::Utc::now(),
        backend: backend.into(),
        database_file: database_file.into(),
        photo_files,
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("manifest.json"), text).map_err(|e| e.to_string())?;
    Ok(manifest)
}

/// Restores a backup into the database at `url` (which must be empty) and the
/// photo store `photos`. Run it with the server stopped.
pub fn restore(url: &str, photos: &PhotoStore, dir: &Path) -> Result<Manifest, String> {
    let manifest: Manifest = std::fs::read_to_string(dir.join("manifest.json"))
        .map_err(|e| format!("{} is not a camket backup: {e}", dir.display()))
        .and_then(|text| {
            serde_json::from_str(&text).map_err(|e| format!("unreadable manifest: {e}"))
        })?;
    let backend = Backend::of_url(url).map_err(|e| e.to_string())?;
    match (backend, manifest.backend.as_str()) {
        (Backend::Sqlite, "sqlite") => {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            if Path::new(path).exists() {
                return Err(format!("{path} exists: restore into a new database"));
            }
            if let Some(parent) = Path::new(path).parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            std::fs::copy(dir.join(&manifest.database_file), path)
                .map_err(|e| format!("restoring the database: {e}"))?;
        }
        (Backend::Postgres, "postgres") => {
            run(
                Command::new("pg_restore")
                    .args(["--no-owner", "--exit-on-error", "--dbname"])
                    .arg(url)
                    .arg(dir.join(&manifest.database_file)),
                "pg_restore",
            )?;
        }
        (_, other) => {
            return Err(format!(
                "this backup is of a {other} database; restore it into the same kind"
            ))
        }
    }
    PhotoStore::directory(&dir.join("photos"))
        .copy_all_to(photos, |_, _| {})
        .map_err(|e| format!("restoring photos: {e}"))?;
    Ok(manifest)
}
