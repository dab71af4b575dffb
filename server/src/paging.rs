//! Cursor pagination, shared by every listing.

use serde::Serialize;

use crate::error::ApiError;

/// One page of a listing: `{"items": [...], "next_cursor": ...}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T: Serialize> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A whole listing in one answer: `{"items": [...]}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Items<T: Serialize> {
    pub items: Vec<T>,
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

/// Reads a `cursor` parameter with `decode`: absent is `None`, and anything this
/// endpoint did not hand out is a 400 naming `cursor`.
pub fn cursor_param<T>(
    text: Option<&str>,
    decode: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    text.map(|text| {
        decode(text)
            .ok_or_else(|| ApiError::bad_param("cursor", "not a cursor returned by this endpoint"))
    })
    .transpose()
}

/// The text of an id cursor (listings ordered by id), or `None`.
pub fn decode_id(text: &str) -> Option<i64> {
    text.parse().ok().filter(|id: &i64| *id >= 0)
}

/// A position in a listing ordered by two numbers (a sync stamp and an id, a
/// risk and an id), handed to clients as the text `"A.B"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    pub major: i64,
    pub minor: i64,
}

impl Cursor {
    /// Parses the text handed out by [`Cursor::encode`]; `None` for anything else.
    pub fn decode(text: &str) -> Option<Cursor> {
        let (major, minor) = text.split_once('.')?;
        Some(Cursor {
            major: major.parse().ok().filter(|n: &i64| *n >= 0)?,
            minor: minor.parse().ok().filter(|n: &i64| *n >= 0)?,
        })
    }

    /// The text form handed to clients.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let cursor = Cursor {
            major: 12,
            minor: 3400,
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        for bad in ["", "1", "1.", ".1", "-1.2", "1.-2", "a.b", "1.2.3", "1e3.2"] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}
