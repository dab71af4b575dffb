//! Submissions that ODK Collect splits over several requests. When the photos
//! exceed the size the server accepts per request (or pass 100 files), Collect
//! sends the same instance XML with some of the files and `*isIncomplete*` =
//! `yes`, then again with the rest. The parts wait here, on disk beside the
//! photo store, until the last request arrives; then all of them go through
//! intake together. Parts no request completes are removed after a week.

use std::io::Write as _;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::photo_store::{create_private_dir, PhotoStore};
use crate::submissions::upload::{StagedPart, Upload};

const XML: &str = "submission.xml";
const LIST: &str = "parts.jsonl";

/// The XML of a held submission differs from the one now sent under the same instance id.
#[derive(Debug)]
pub struct DifferentXml;

/// The held parts of one user's instance.
pub fn key(user_id: i64, instance_id: &str) -> String {
    hex::encode(Sha256::digest(
        format!("{user_id}\t{instance_id}").as_bytes(),
    ))
}

fn same_xml(dir: &Path, xml: &[u8]) -> std::io::Result<Option<bool>> {
    match std::fs::read(dir.join(XML)) {
        Ok(held) => Ok(Some(held == xml)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// One held part, as listed beside the files.
#[derive(serde::Serialize, serde::Deserialize)]
struct HeldPart {
    field: String,
    filename: String,
    sha256: String,
    size: u64,
    /// The file in the held directory: one per part, even for equal content.
    stored_as: String,
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn listed(dir: &Path) -> Vec<HeldPart> {
    std::fs::read_to_string(dir.join(LIST))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<HeldPart>(line).ok())
        .collect()
}

/// Keeps the parts of `upload` (which is left without parts) until the rest arrive.
pub fn hold(
    store: &PhotoStore,
    key: &str,
    upload: &mut Upload,
) -> std::io::Result<Result<(), DifferentXml>> {
    let dir = store.held_dir(key);
    create_private_dir(&dir)?;
    match same_xml(&dir, &upload.document)? {
        Some(false) => return Ok(Err(DifferentXml)),
        Some(true) => {}
        None => std::fs::write(dir.join(XML), &upload.document)?,
    }
    let first = listed(&dir).len();
    let mut list = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(LIST))?;
    for (number, part) in (first..).zip(std::mem::take(&mut upload.parts)) {
        let stored_as = format!("part-{number}");
        // On failure the part goes back to the upload, whose drop removes it.
        if let Err(error) = std::fs::rename(&part.path, dir.join(&stored_as)) {
            upload.parts.push(part);
            return Err(error);
        }
        let entry = HeldPart {
            field: part.field.clone(),
            filename: part.filename.clone(),
            sha256: part.sha256.clone(),
            size: part.size,
            stored_as,
        };
        writeln!(
            list,
            "{}",
            serde_json::to_string(&entry).unwrap_or_default()
        )?;
    }
    list.sync_all()?;
    Ok(Ok(()))
}

/// Adds the held parts of this instance to `upload`: a part sent again now wins
/// over its held copy, and a part held twice (a batch Collect sent again)
/// counts once. The held files stay where they are: intake moves them into the
/// photo store, and [`release`] removes what is left.
pub fn join(
    store: &PhotoStore,
    key: &str,
    upload: &mut Upload,
) -> std::io::Result<Result<(), DifferentXml>> {
    let dir = store.held_dir(key);
    match same_xml(&dir, &upload.document)? {
        None => return Ok(Ok(())),
        Some(false) => return Ok(Err(DifferentXml)),
        Some(true) => {}
    }
    for part in listed(&dir).into_iter().rev() {
        let well_formed = is_sha256(&part.sha256)
            && part.stored_as.starts_with("part-")
            && part.stored_as[5..].bytes().all(|b| b.is_ascii_digit());
        if !well_formed || upload.parts.iter().any(|p| p.filename == part.filename) {
            continue;
        }
        let path = dir.join(&part.stored_as);
        if !path.exists() {
            continue;
        }
        upload.parts.push(StagedPart {
            field: part.field,
            filename: part.filename,
            path,
            sha256: part.sha256,
            size: part.size,
        });
    }
    Ok(Ok(()))
}

/// Forgets the held parts of an instance once its last request has been answered.
pub fn release(store: &PhotoStore, key: &str) {
    let _ = std::fs::remove_dir_all(store.held_dir(key));
}
