//! camket's storage layer: the diesel schema shared by SQLite and PostgreSQL,
//! the row models, the connection pools, and the domain types the rest of the
//! system speaks (`AreaId`, `Role`, `AreaLevel`, ...).

pub mod db;
pub mod domain;
pub mod models;
pub mod tables;

pub use db::{Db, DbError};
