//! Receiving a multipart submission: the `submission` JSON part is read into
//! memory (it is small); every other part is streamed to a staging file while
//! its sha-256 is computed, under limits on each part, the whole body and the
//! number of parts. Nothing is ever held whole in memory.

use std::io::Write;
use std::path::PathBuf;

use actix_multipart::Multipart;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::photo_store::PhotoStore;

/// Limits on one upload.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    pub max_photo_bytes: u64,
    pub max_total_bytes: u64,
    pub max_parts: usize,
    pub max_document_bytes: usize,
    /// Longest wait for the next bytes: a stalled phone frees its connection.
    pub idle_timeout: std::time::Duration,
}

impl UploadLimits {
    /// The limits the server is configured with.
    pub fn of(config: &crate::config::ServerConfig) -> UploadLimits {
        UploadLimits {
            max_photo_bytes: config.evidence.max_photo_bytes,
            max_total_bytes: config.evidence.max_submission_bytes,
            max_parts: config.evidence.max_parts,
            max_document_bytes: config.json_limit,
            idle_timeout: std::time::Duration::from_secs(config.upload_idle_secs.max(1)),
        }
    }
}

/// A file part staged on disk.
#[derive(Debug)]
pub struct StagedPart {
    /// The part's name: the field it answers (`signed_paper_photo`).
    pub field: String,
    /// The file name the answers refer to.
    pub filename: String,
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
}

/// A received upload. Staging files still here when it is dropped are removed.
#[derive(Debug, Default)]
pub struct Upload {
    pub document: Vec<u8>,
    pub parts: Vec<StagedPart>,
    /// ODK Collect's `*isIncomplete*` = `yes`: more parts follow in another request.
    pub incomplete: bool,
}

impl Drop for Upload {
    fn drop(&mut self) {
        for part in &self.parts {
            let _ = std::fs::remove_file(&part.path);
        }
    }
}

fn multipart_error(error: actix_multipart::MultipartError) -> ApiError {
    ApiError::BadRequest(format!("the multipart body cannot be read: {error}"))
}

/// The next item of a stream, or a 408 when nothing comes for `idle`.
async fn next_within<S: futures_util::Stream + Unpin>(
    stream: &mut S,
    idle: std::time::Duration,
) -> Result<Option<S::Item>, ApiError> {
    tokio::time::timeout(idle, stream.next())
        .await
        .map_err(|_| {
            ApiError::Timeout(format!(
                "the upload stalled: nothing arrived for {} s; send it again (resending is safe)",
                idle.as_secs()
            ))
        })
}

/// The marker part ODK Collect adds when it splits a submission over requests.
const INCOMPLETE_PART: &str = "*isIncomplete*";

/// Reads the whole multipart body; `document_part` names the part holding the
/// submission itself (`submission` for the JSON API, `xml_submission_file` for
/// ODK Collect).
pub async fn receive(
    mut multipart: Multipart,
    store: &PhotoStore,
    limits: UploadLimits,
    document_part: &str,
) -> Result<Upload, ApiError> {
    let mut upload = Upload::default();
    let mut document: Option<Vec<u8>> = None;
    let mut total: u64 = 0;
    let mut count = 0usize;
    while let Some(field) = next_within(&mut multipart, limits.idle_timeout).await? {
        let mut field = field.map_err(multipart_error)?;
        count += 1;
        if count > limits.max_parts {
            return Err(ApiError::PayloadTooLarge(format!(
                "a submission may have at most {} parts (the JSON and {} photos)",
                limits.max_parts,
                limits.max_parts - 1
            )));
        }
        let name = field.name().map(str::to_string).unwrap_or_default();
        if name.chars().any(char::is_control) {
            return Err(ApiError::bad_param(
                "multipart",
                format!("part {count} has control characters in its name"),
            ));
        }
        if name.is_empty() {
            return Err(ApiError::bad_param(
                "multipart",
                format!("part {count} has no name"),
            ));
        }
        if name == INCOMPLETE_PART {
            let mut value = Vec::new();
            while let Some(chunk) = next_within(&mut field, limits.idle_timeout).await? {
                let chunk = chunk.map_err(multipart_error)?;
                if value.len() + chunk.len() > 16 {
                    return Err(ApiError::bad_param(
                        INCOMPLETE_PART,
                        "must be 'yes' or 'no'",
                    ));
                }
                value.extend_from_slice(&chunk);
            }
            upload.incomplete = value.trim_ascii().eq_ignore_ascii_case(b"yes");
            continue;
        }
        if name == document_part {
            if document.is_some() {
                return Err(ApiError::bad_param(document_part, "sent twice"));
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = next_within(&mut field, limits.idle_timeout).await? {
                let chunk = chunk.map_err(multipart_error)?;
                total += chunk.len() as u64;
                if bytes.len() + chunk.len() > limits.max_document_bytes {
                    return Err(ApiError::PayloadTooLarge(format!(
                        "the '{document_part}' part exceeds {} bytes",
                        limits.max_document_bytes
                    )));
                }
                bytes.extend_from_slice(&chunk);
            }
            document = Some(bytes);
            continue;
        }
        let filename = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_string)
            .filter(|f| !f.is_empty() && !f.chars().any(char::is_control))
            .ok_or_else(|| {
                ApiError::bad_param(
                    name.clone(),
                    "a photo part needs a file name (the name the answers refer to), without control characters",
                )
            })?;
        let (path, mut file) = store
            .temp_file()
            .map_err(|e| ApiError::Internal(format!("cannot stage an upload: {e}")))?;
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        // Registered before writing, so that a failure below removes the file.
        upload.parts.push(StagedPart {
            field: name.clone(),
            filename: filename.clone(),
            path,
            sha256: String::new(),
            size: 0,
        });
        while let Some(chunk) = next_within(&mut field, limits.idle_timeout).await? {
            let chunk = chunk.map_err(multipart_error)?;
            size += chunk.len() as u64;
            total += chunk.len() as u64;
            if size > limits.max_photo_bytes {
                return Err(ApiError::PayloadTooLarge(format!(
                    "photo '{filename}' of {name} exceeds {} MB",
                    limits.max_photo_bytes / (1024 * 1024)
                )));
            }
            if total > limits.max_total_bytes {
                return Err(ApiError::PayloadTooLarge(format!(
                    "the submission exceeds {} MB in all",
                    limits.max_total_bytes / (1024 * 1024)
                )));
            }
            hasher.update(&chunk);
            file.write_all(&chunk)
                .map_err(|e| ApiError::Internal(format!("cannot stage an upload: {e}")))?;
        }
        if let Some(part) = upload.parts.last_mut() {
            part.sha256 = hex::encode(hasher.finalize());
            part.size = size;
        }
    }
    upload.document = document.ok_or_else(|| {
        ApiError::bad_param(
            document_part,
            format!("the multipart body has no '{document_part}' part"),
        )
    })?;
    Ok(upload)
}
