//! Cursor pagination, shared by every listing.

use serde::Serialize;

use crate::error::ApiError;

/// One page of a listing: `{"items": [...], "next_cursor": ...}`.
#[derive(Debug, Serialize)]
pub struct Page<T: Serialize> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Checks a `limit` parameter against its bounds.
pub fn parse_limit(limit: Option<i64>, default: i64, max: i64) -> Result<i64, ApiError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::bad_param(
            "limit",
            format!("must be between 1 and {max}"),
        )),
    }
}
