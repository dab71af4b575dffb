//! Server configuration: flags with environment fallbacks (see README's table).

use std::path::PathBuf;

use clap::Args;

/// Settings shared by `camket serve` and `camket demo`.
#[derive(Debug, Clone, Args)]
pub struct ServerConfig {
    #[command(flatten)]
    pub storage: StorageConfig,
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    #[arg(long = "bind", env = "CAMKET_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "CAMKET_WORKERS")]
    pub workers: Option<usize>,
    /// Secret for signing access tokens; generated into the data dir when unset.
    #[arg(long, env = "CAMKET_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "CAMKET_ACCESS_TTL_SECS", default_value_t = 900)]
    pub access_ttl_secs: u64,
    /// Lifetime of a refresh token, in seconds (phones stay offline for days).
    #[arg(long, env = "CAMKET_REFRESH_TTL_SECS", default_value_t = 30 * 24 * 3600)]
    pub refresh_ttl_secs: u64,
    /// Login attempts allowed per username per minute.
    #[arg(long, env = "CAMKET_LOGIN_PER_USER_PER_MINUTE", default_value_t = 10)]
    pub login_per_user_per_minute: u32,
    /// Login attempts allowed per client address per minute.
    #[arg(
        long,
        env = "CAMKET_LOGIN_PER_ADDRESS_PER_MINUTE",
        default_value_t = 60
    )]
    pub login_per_address_per_minute: u32,
    /// Largest JSON body accepted, in bytes.
    #[arg(long, env = "CAMKET_JSON_LIMIT", default_value_t = 1024 * 1024)]
    pub json_limit: usize,
    /// Largest import file accepted over HTTP, in bytes.
    #[arg(long, env = "CAMKET_IMPORT_LIMIT", default_value_t = 64 * 1024 * 1024)]
    pub import_limit: usize,
    /// Log format: `text` or `json`.
    #[arg(long, env = "CAMKET_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}

/// Where data lives.
#[derive(Debug, Clone, Args)]
pub struct StorageConfig {
    /// Directory for the SQLite database, the signing secret and (later) photos.
    #[arg(long, env = "CAMKET_DATA_DIR", default_value = "./camket-data")]
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://...`; default: a SQLite file in the data dir.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Database connections kept in the pool.
    #[arg(long, env = "CAMKET_DB_POOL_SIZE", default_value_t = 8)]
    pub db_pool_size: u32,
}

impl StorageConfig {
    /// The database URL in force.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("camket.db").display()),
        }
    }
}
