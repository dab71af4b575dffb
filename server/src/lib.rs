//! camket: the HTTP API, authorisation, evidence checks and command-line
//! operations of the house-to-house survey server. `main.rs` is the CLI.

pub mod access;
pub mod app;
pub mod areas;
pub mod auth;
pub mod backup;
pub mod caching;
pub mod campaigns;
pub mod client_address;
pub mod collect;
pub mod config;
pub mod console;
pub mod coverage;
pub mod devtools;
pub mod error;
pub mod evidence;
pub mod forms;
pub mod health;
pub mod households;
pub mod imports;
pub mod json_body;
pub mod locale;
pub mod metrics;
pub mod openapi;
pub mod paging;
pub mod photo_store;
pub mod recovery;
pub mod reports;
pub mod state;
pub mod submissions;
pub mod users;

/// 09:00 local on `day`, as UTC: when demo field work is dated.
pub fn coverage_day(
    day: chrono::NaiveDate,
    offset: chrono::FixedOffset,
) -> chrono::DateTime<chrono::Utc> {
    crate::coverage::rules::start_of(day, offset) + chrono::Duration::hours(9)
}
