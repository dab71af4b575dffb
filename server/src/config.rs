//! Server configuration: flags with environment fallbacks (see README's table).

use std::path::PathBuf;

use chrono::Offset;
use clap::Args;

/// Settings shared by `camket serve` and `camket demo`.
#[derive(Debug, Clone, Args)]
pub struct ServerConfig {
    #[command(flatten)]
    pub storage: StorageConfig,
    /// The server's address as phones and browsers reach it (`https://camket.example.vn`):
    /// the base of the ODK Collect server URLs and of absolute links. Default: the
    /// request's own `Host`, over http.
    #[arg(long = "public-url", env = "CAMKET_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Map tiles drawn under the console's maps, as a URL template with `{z}`,
    /// `{x}` and `{y}` (`https://tiles.example.vn/{z}/{x}/{y}.png`). Without it
    /// the maps are drawn from the stored geometry alone, with no tile server.
    #[arg(long = "map-tiles", env = "CAMKET_MAP_TILES")]
    pub map_tiles: Option<String>,
    /// The bearer token a Prometheus scraper presents to `GET /metrics`; without
    /// it the route is off (404).
    #[arg(
        long = "metrics-token",
        env = "CAMKET_METRICS_TOKEN",
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,
    /// With a bucket as the photo store: answer a photo request (after the
    /// same authorisation) with a redirect to a presigned URL valid this many
    /// seconds, so that large originals do not pass through camket. 0 (the
    /// default): camket sends the bytes itself.
    #[arg(long, env = "CAMKET_PHOTO_REDIRECT_SECS", default_value_t = 0)]
    pub photo_redirect_secs: u64,
    /// A stored photo that no submission names (its upload was cut off between
    /// the store and the database) is removed once it is this many seconds
    /// old; younger ones may belong to an upload still committing elsewhere.
    #[arg(long, env = "CAMKET_ORPHAN_GRACE_SECS", default_value_t = 3600)]
    pub orphan_grace_secs: u64,
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
    /// Absolute lifetime of a login, in days: refreshing is refused after it and
    /// the user must log in again.
    #[arg(long, env = "CAMKET_LOGIN_MAX_DAYS", default_value_t = 90)]
    pub login_max_days: u64,
    /// The same in seconds; overrides `CAMKET_LOGIN_MAX_DAYS` when set.
    #[arg(long, env = "CAMKET_LOGIN_MAX_SECS")]
    pub login_max_secs: Option<u64>,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` are believed
    /// (comma-separated IP addresses; default none: the TCP peer is the client).
    #[arg(
        long,
        env = "CAMKET_TRUSTED_PROXIES",
        default_value = "",
        value_parser = crate::client_address::parse_proxies
    )]
    pub trusted_proxies: crate::client_address::TrustedProxies,
    /// Largest JSON body accepted, in bytes.
    #[arg(long, env = "CAMKET_JSON_LIMIT", default_value_t = 1024 * 1024)]
    pub json_limit: usize,
    /// Largest import file accepted over HTTP, in bytes.
    #[arg(long, env = "CAMKET_IMPORT_LIMIT", default_value_t = 64 * 1024 * 1024)]
    pub import_limit: usize,
    /// Seconds an upload may stall (no bytes arriving) before it is dropped with a 408.
    #[arg(long, env = "CAMKET_UPLOAD_IDLE_SECS", default_value_t = 60)]
    pub upload_idle_secs: u64,
    /// Seconds a client has to send its request headers.
    #[arg(long, env = "CAMKET_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,
    #[command(flatten)]
    pub evidence: EvidenceConfig,
    /// Log format: `text` or `json`.
    #[arg(long, env = "CAMKET_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}

impl ServerConfig {
    /// The absolute lifetime of a login, in seconds.
    pub fn login_max_age_secs(&self) -> u64 {
        self.login_max_secs
            .unwrap_or_else(|| self.login_max_days.saturating_mul(86_400))
    }
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
    /// Where photos are kept: `file:///path` or `s3://bucket/prefix` (endpoint,
    /// region and credentials from the AWS_* variables); default: the
    /// `photos` directory in the data dir.
    #[arg(long, env = "CAMKET_PHOTO_STORE")]
    pub photo_store: Option<String>,
}

impl StorageConfig {
    /// The photo store in force.
    pub fn photo_location(&self) -> Result<crate::photo_store::StoreLocation, String> {
        match &self.photo_store {
            Some(text) => crate::photo_store::StoreLocation::parse(text),
            None => Ok(crate::photo_store::StoreLocation::default_for(
                &self.data_dir,
            )),
        }
    }

    /// Opens the photo store in force.
    pub fn open_photos(&self) -> Result<crate::photo_store::PhotoStore, String> {
        let location = self.photo_location()?;
        crate::photo_store::PhotoStore::open_at(&self.data_dir, &location)
            .map_err(|e| format!("cannot open the photo store {location}: {e}"))
    }

    /// The database URL in force.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("camket.db").display()),
        }
    }
}

/// Upload limits and evidence-check limits.
#[derive(Debug, Clone, Args)]
pub struct EvidenceConfig {
    /// Largest photo part, in bytes.
    #[arg(long, env = "CAMKET_MAX_PHOTO_BYTES", default_value_t = 15 * 1024 * 1024)]
    pub max_photo_bytes: u64,
    /// Largest whole submission, in bytes.
    #[arg(long, env = "CAMKET_MAX_SUBMISSION_BYTES", default_value_t = 60 * 1024 * 1024)]
    pub max_submission_bytes: u64,
    /// Most parts in one submission.
    #[arg(long, env = "CAMKET_MAX_PARTS", default_value_t = 16)]
    pub max_parts: usize,
    /// Largest photo side in pixels.
    #[arg(long, env = "CAMKET_MAX_PHOTO_DIMENSION", default_value_t = 12_000)]
    pub max_photo_dimension: u32,
    /// Largest photo in pixels (width × height).
    #[arg(long, env = "CAMKET_MAX_PHOTO_PIXELS", default_value_t = 50_000_000)]
    pub max_photo_pixels: u64,
    /// Photos decoded at once (each 12-MP decode holds ≈ 36 MB).
    #[arg(long, env = "CAMKET_PHOTO_DECODERS", default_value_t = 2)]
    pub photo_decoders: usize,
    /// How long an instance holds a submission it is checking, in seconds: if
    /// the instance dies, another takes the check over after this.
    #[arg(long, env = "CAMKET_EVIDENCE_LEASE_SECS", default_value_t = 120)]
    pub evidence_lease_secs: u64,
    /// A geotag less accurate than this is flagged, in metres.
    #[arg(long, env = "CAMKET_MAX_ACCURACY_M", default_value_t = 50.0)]
    pub max_accuracy_m: f64,
    /// Without a village boundary: farther than this from its centre is flagged, in metres.
    #[arg(long, env = "CAMKET_VILLAGE_RADIUS_M", default_value_t = 1500.0)]
    pub village_radius_m: f64,
    /// Farther than this from the household's known location is flagged, in metres.
    #[arg(long, env = "CAMKET_HOUSEHOLD_RADIUS_M", default_value_t = 300.0)]
    pub household_radius_m: f64,
    /// EXIF time farther than this from `collected_at` is flagged, in minutes.
    #[arg(
        long,
        env = "CAMKET_PHOTO_TIME_TOLERANCE_MINUTES",
        default_value_t = 180
    )]
    pub photo_time_tolerance_minutes: i64,
    /// EXIF position farther than this from the geotag is flagged, in metres.
    #[arg(long, env = "CAMKET_PHOTO_DISTANCE_M", default_value_t = 500.0)]
    pub photo_distance_m: f64,
    /// Faster travel between one surveyor's submissions is flagged, in km/h.
    #[arg(long, env = "CAMKET_MAX_SPEED_KMH", default_value_t = 120.0)]
    pub max_speed_kmh: f64,
    /// The phones' time zone, for EXIF times that carry none, in minutes east of UTC.
    #[arg(long, env = "CAMKET_LOCAL_UTC_OFFSET_MINUTES", default_value_t = 420)]
    pub local_utc_offset_minutes: i32,
}

impl EvidenceConfig {
    /// The limits of the evidence checks.
    pub fn limits(&self) -> crate::evidence::EvidenceLimits {
        crate::evidence::EvidenceLimits {
            max_accuracy_m: self.max_accuracy_m,
            village_radius_m: self.village_radius_m,
            household_radius_m: self.household_radius_m,
            photo_time_tolerance: chrono::Duration::minutes(self.photo_time_tolerance_minutes),
            photo_distance_m: self.photo_distance_m,
            max_speed_kmh: self.max_speed_kmh,
            ..Default::default()
        }
    }

    /// The decoder limits for photos.
    pub fn photo_limits(&self) -> crate::evidence::photo::PhotoLimits {
        crate::evidence::photo::PhotoLimits {
            max_dimension: self.max_photo_dimension,
            max_pixels: self.max_photo_pixels,
            ..Default::default()
        }
    }

    /// The phones' time zone.
    pub fn local_offset(&self) -> chrono::FixedOffset {
        chrono::FixedOffset::east_opt(self.local_utc_offset_minutes * 60)
            .unwrap_or_else(|| chrono::FixedOffset::east_opt(7 * 3600).unwrap_or(chrono::Utc.fix()))
    }
}
