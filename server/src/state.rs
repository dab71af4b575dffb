//! What every handler can reach: the database, the settings, the keys, the
//! photo store and the background checks' queue. Kept apart from `app` so that
//! features depend on the state, not on the route table that depends on them.

use std::sync::Arc;

use camket_schema::Db;

use crate::auth::rate_limit::LoginLimiter;
use crate::auth::tokens::JwtKeys;
use crate::config::ServerConfig;
use crate::photo_store::PhotoStore;

/// What every handler can reach.
pub struct AppState {
    pub db: Db,
    pub config: Arc<ServerConfig>,
    pub keys: JwtKeys,
    pub login_limiter: LoginLimiter,
    pub photos: PhotoStore,
    /// Bounds how many photos are decoded at once.
    pub decoders: Arc<tokio::sync::Semaphore>,
    /// The background evidence checks' wake-up (see `submissions::verification`).
    pub backlog: crate::submissions::verification::Backlog,
    /// ODK Collect's recently verified passwords (see `collect::BasicCache`).
    pub basic_auth: crate::collect::BasicCache,
    /// What `GET /metrics` shows.
    pub metrics: crate::metrics::Metrics,
    /// The keypoint index's common keys as this server last read them.
    pub common_keys: crate::submissions::store::CommonKeys,
}
