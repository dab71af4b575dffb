//! End-to-end tests: each starts the real `camket` binary and speaks HTTP to it,
//! once on SQLite and once on PostgreSQL.

#[macro_use]
mod harness;

mod access_matrix;
mod accounts;
mod backup;
mod benchmarks;
mod collect;
mod concurrency;
mod console;
mod coverage;
mod crashes;
mod errors;
mod fixture;
mod forms;
mod hostile;
mod logs;
mod metrics;
mod openapi;
mod places;
mod probe_access;
mod probe_accounts;
mod scale;
mod submissions;
mod uploads;
