//! `camket`: the server and its command line (serve, demo, migrate, import, forms, users).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use camket::config::{ServerConfig, StorageConfig};
use camket::devtools::demo;
use camket::error::{ApiError, FieldError, ImportError};
use camket::{app, areas, auth, campaigns, coverage, forms, households, reports, users};
use camket_schema::Db;

#[derive(Debug, Parser)]
#[command(
    name = "camket",
    version,
    about = "House-to-house survey server for commitment campaigns"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (configuration by flags or environment).
    Serve(ServerConfig),
    /// Run the server with a demo province, built on first start (SQLite by default).
    Demo {
        #[command(flatten)]
        server: ServerConfig,
        /// Password of every demo user; generated (and kept in the data dir) when unset.
        #[arg(long, env = "CAMKET_DEMO_PASSWORD", hide_env_values = true)]
        demo_password: Option<String>,
    },
    /// Apply pending database migrations and exit.
    Migrate(StorageConfig),
    /// Import areas or households from a file, all or nothing.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Check form definitions offline, or publish them.
    Forms {
        #[command(subcommand)]
        what: FormsCommand,
    },
    /// Load campaigns from YAML files.
    Campaigns {
        #[command(subcommand)]
        what: CampaignsCommand,
    },
    /// Check the maintained coverage against a full recomputation.
    Coverage {
        #[command(subcommand)]
        what: CoverageCommand,
    },
    /// Write a daily, monthly or final report.
    Report {
        /// The campaign's code.
        #[arg(long)]
        campaign: String,
        /// daily, monthly or final.
        #[arg(long, default_value = "daily")]
        kind: String,
        /// The area's code (default: the campaign's scope).
        #[arg(long)]
        area: Option<String>,
        /// YYYY-MM-DD (default: today).
        #[arg(long)]
        date: Option<String>,
        /// json, csv or xlsx.
        #[arg(long, default_value = "csv")]
        format: String,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        storage: StorageConfig,
    },
    /// Generate a synthetic province for benchmarks into an empty database.
    GenProvince {
        #[arg(long, default_value_t = 100_000)]
        households: usize,
        #[arg(long, default_value_t = 500)]
        villages: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Distinct photos, reused across submissions.
        #[arg(long, default_value_t = 200)]
        photos: usize,
        #[command(flatten)]
        storage: StorageConfig,
    },
    /// Write a consistent snapshot of the database and photos into DIR (the server may run).
    Backup {
        dir: PathBuf,
        #[command(flatten)]
        storage: StorageConfig,
    },
    /// Restore a snapshot into an empty database and data dir (the server stopped).
    Restore {
        dir: PathBuf,
        #[command(flatten)]
        storage: StorageConfig,
    },
    /// Copy every photo of the store in force into another store (`s3://bucket/prefix`
    /// or `file:///path`); resumable: what the target holds is skipped. It may run
    /// while the server serves; stop the server, run it again (it copies only what
    /// came in meanwhile), then point CAMKET_PHOTO_STORE at the target.
    MigratePhotos {
        /// The target store.
        #[arg(long)]
        to: String,
        #[command(flatten)]
        storage: StorageConfig,
    },
    /// Remove stored photos that no submission names and that are older than the
    /// grace period (the server runs this itself every so often).
    SweepPhotos {
        /// Keep orphans younger than this many seconds (they may belong to an
        /// upload that is still committing).
        #[arg(long, default_value_t = 3600)]
        older_than_secs: u64,
        #[command(flatten)]
        storage: StorageConfig,
    },
    /// Build the index of the photos' keypoints again from their stored
    /// fingerprints: once after an upgrade that changes how the keys are cut
    /// (the release notes say so). The server may keep running.
    ReindexPhotos {
        #[command(flatten)]
        storage: StorageConfig,
    },
    /// Benchmarks (see BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
    /// Manage user accounts from the server's command line.
    Users {
        #[command(subcommand)]
        what: UsersCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ImportWhat {
    /// Areas from CSV (`code,name,level,parent_code[,centroid_lat,centroid_lon][,boundary]`)
    /// or GeoJSON (a FeatureCollection; `.geojson` / `.json`).
    Areas {
        file: PathBuf,
        #[command(flatten)]
        storage: StorageConfig,
    },
    /// Households from CSV (`village_code,code,head_name,address,member_count[,lat,lon][,categories]`).
    Households {
        file: PathBuf,
        #[command(flatten)]
        storage: StorageConfig,
    },
}

#[derive(Debug, Subcommand)]
enum FormsCommand {
    /// Check every `.yaml` definition of a directory; exits non-zero on any problem.
    Check { dir: PathBuf },
    /// Publish every definition of a directory (unchanged versions are skipped).
    Publish {
        dir: PathBuf,
        #[command(flatten)]
        storage: StorageConfig,
    },
}

#[derive(Debug, Subcommand)]
enum CampaignsCommand {
    /// Create a campaign from a YAML file and compute its coverage.
    Load {
        file: PathBuf,
        /// The phones' time zone, in minutes east of UTC.
        #[arg(long, env = "CAMKET_LOCAL_UTC_OFFSET_MINUTES", default_value_t = 420)]
        utc_offset_minutes: i32,
        #[command(flatten)]
        storage: StorageConfig,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Read paths against a running server: roll-ups, gap list, queue page, roster sync.
    Queries {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, default_value = "admin")]
        username: String,
        #[arg(long, env = "CAMKET_BENCH_PASSWORD", default_value = camket::devtools::province::PASSWORD)]
        password: String,
        #[arg(long, default_value_t = 1)]
        campaign: i64,
        #[arg(long, default_value_t = 50)]
        iterations: usize,
    },
    /// The web console's pages against a running server (a signed-in browser).
    Console {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, default_value = "admin")]
        username: String,
        #[arg(long, env = "CAMKET_BENCH_PASSWORD", default_value = camket::devtools::province::PASSWORD)]
        password: String,
        #[arg(long, default_value_t = 1)]
        campaign: i64,
        #[arg(long, default_value_t = 20)]
        iterations: usize,
    },
    /// Photo submissions per second against a running server.
    Ingest {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// A user who may submit (an officer submits for the whole commune).
        #[arg(long, default_value = "officer-p-d00-c00")]
        username: String,
        #[arg(long, env = "CAMKET_BENCH_PASSWORD", default_value = camket::devtools::province::PASSWORD)]
        password: String,
        #[arg(long, default_value_t = 16)]
        clients: usize,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        #[arg(long, default_value_t = 4000)]
        width: u32,
        #[arg(long, default_value_t = 3000)]
        height: u32,
        /// Photos with 4:2:0 chroma, as phone cameras write them (without
        /// it, 4:4:4, as the benchmark's figures before 2026-12-06 were).
        #[arg(long)]
        phone_chroma: bool,
        /// The server's process id, to sample its memory.
        #[arg(long)]
        server_pid: Option<u32>,
        /// Longest wait, in seconds, for the background photo checks to catch up.
        #[arg(long, default_value_t = 900)]
        drain_timeout: u64,
        /// The server's metrics token: with it, the run reports the p50 and
        /// p99 time from a submission's 201 to its checks settled.
        #[arg(long, env = "CAMKET_METRICS_TOKEN")]
        metrics_token: Option<String>,
    },
    /// Reused-paper detection on the precision test set (40 papers on one
    /// template, 70 copies, 20 new photos of reused papers): the confusion
    /// table, recall and false flags. Uses its own empty database.
    Precision {
        /// An empty database to use (e.g. a throwaway PostgreSQL database);
        /// default: a new SQLite file in a temporary directory.
        #[arg(long)]
        database_url: Option<String>,
        /// Distinct papers (half on one table).
        #[arg(long, default_value_t = 40)]
        papers: usize,
        /// Papers reused (each copied seven ways and photographed again).
        #[arg(long, default_value_t = 10)]
        reused: usize,
    },
    /// A reuse check's cost after `earlier` papers of one template were
    /// indexed. Uses its own empty database.
    ReuseScale {
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long, default_value_t = 100)]
        earlier: usize,
        #[arg(long, default_value_t = 50)]
        checks: usize,
        /// Earlier papers sent from each village (the benchmark province's
        /// villages hold about 600); 0: sent from no village, so that every
        /// candidate comes from the whole index's ranking.
        #[arg(long, default_value_t = 600)]
        village_papers: usize,
        /// Send every reuse from another village than its original's (a
        /// surveyor who reuses a paper from elsewhere).
        #[arg(long)]
        reused_elsewhere: bool,
    },
    /// The photo pipeline alone, step by step.
    Photo {
        #[arg(long, default_value_t = 4000)]
        width: u32,
        #[arg(long, default_value_t = 3000)]
        height: u32,
        #[arg(long, default_value_t = 10)]
        iterations: usize,
        /// A photo with 4:2:0 chroma, as phone cameras write it.
        #[arg(long)]
        phone_chroma: bool,
    },
}

#[derive(Debug, Subcommand)]
enum CoverageCommand {
    /// Recompute every village of every campaign and compare; exits non-zero on a difference.
    Verify {
        #[command(flatten)]
        storage: StorageConfig,
    },
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Create an account (the first admin is made this way).
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        full_name: String,
        /// surveyor, officer, viewer or admin.
        #[arg(long)]
        role: String,
        /// Code of an area the user is bound to (repeat for several).
        #[arg(long = "area", required = true)]
        areas: Vec<String>,
        /// The password (prefer the environment variable: flags show in `ps`).
        #[arg(long, env = "CAMKET_NEW_USER_PASSWORD", hide_env_values = true)]
        password: String,
        #[command(flatten)]
        storage: StorageConfig,
    },
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CAMKET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour codes only on a terminal: a log file or a pipe gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Opens the database (creating the data dir, 0700) and applies migrations.
fn open_database(storage: &StorageConfig) -> Result<Db, String> {
    open_and_migrate(storage).map(|(db, _)| db)
}

/// [`open_database`], also saying how many migrations it applied.
fn open_and_migrate(storage: &StorageConfig) -> Result<(Db, usize), String> {
    camket::photo_store::create_private_dir(&storage.data_dir)
        .map_err(|e| format!("cannot create data dir {}: {e}", storage.data_dir.display()))?;
    warn_if_readable_by_others(&storage.data_dir);
    let url = storage.database_url();
    let db = Db::connect(&url, storage.db_pool_size).map_err(|e| e.to_string())?;
    let ran = db.migrate().map_err(|e| e.to_string())?;
    if ran > 0 {
        tracing::info!(migrations = ran, "database migrated");
    }
    Ok((db, ran))
}

/// A data dir made before files were created private may still be open to
/// other users: say so (it is not changed behind the operator's back).
fn warn_if_readable_by_others(data_dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(data_dir) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    mode = format!("{mode:o}"),
                    "the data dir is open to other users; chmod -R go-rwx it"
                );
            }
        }
    }
}

fn jwt_keys(config: &ServerConfig) -> Result<auth::tokens::JwtKeys, String> {
    match &config.jwt_secret {
        Some(secret) if secret.len() >= 32 => {
            Ok(auth::tokens::JwtKeys::from_secret(secret.as_bytes()))
        }
        Some(_) => Err("CAMKET_JWT_SECRET must be at least 32 characters".into()),
        None => auth::tokens::JwtKeys::load_or_create(&config.storage.data_dir.join("jwt-secret"))
            .map_err(|e| format!("cannot read or create the signing secret: {e}")),
    }
}

fn run_server(config: ServerConfig, db: Db) -> Result<(), String> {
    let keys = jwt_keys(&config)?;
    actix_web::rt::System::new()
        .block_on(app::serve(config, db, keys))
        .map_err(|e| format!("server failed: {e}"))
}

fn demo_password(data_dir: &Path, given: Option<String>) -> Result<String, String> {
    let file = data_dir.join("demo-password");
    if let Some(password) = given {
        if let Some(problem) = auth::password::password_problem(&password) {
            return Err(format!("--demo-password {problem}"));
        }
        // Kept so that a restart without the flag prints the password in force.
        auth::tokens::write_private(&file, &password)
            .map_err(|e| format!("cannot store the demo password: {e}"))?;
        return Ok(password);
    }
    if let Ok(stored) = std::fs::read_to_string(&file) {
        return Ok(stored.trim().to_string());
    }
    let generated = auth::tokens::random_hex(6);
    auth::tokens::write_private(&file, &generated)
        .map_err(|e| format!("cannot store the demo password: {e}"))?;
    Ok(generated)
}

fn spinner(message: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

fn run_demo(server: ServerConfig, given_password: Option<String>) -> Result<(), String> {
    let db = open_database(&server.storage)?;
    let built = demo::is_built(&db).map_err(|e| e.to_string())?;
    if let (true, Some(given)) = (built, given_password.as_deref()) {
        if let Some(problem) = auth::password::password_problem(given) {
            return Err(format!("--demo-password {problem}"));
        }
        // The users first: the password is printed and kept only once it works.
        let changed = demo::set_password(&db, given).map_err(|e| e.to_string())?;
        println!("camket demo: the password of the {changed} demo users is now the one given");
    }
    let password = demo_password(&server.storage.data_dir, given_password)?;
    if !built {
        let bar = spinner("building the demo province");
        let started = Instant::now();
        demo::build(&db, &password, &|step| {
            bar.set_message(format!("building the demo: {step}"))
        })
        .map_err(|e| e.to_string())?;
        bar.finish_with_message(format!(
            "demo built in {:.1} s",
            started.elapsed().as_secs_f64()
        ));
    }
    let host = server.bind.clone();
    println!("camket demo: data in {}", server.storage.data_dir.display());
    println!("  open   http://{host}/healthz");
    println!("  users  admin, officer, surveyor, viewer (also officer-tt, surveyor2)");
    println!("  password for every demo user: {password}");
    println!("  try    curl -s -X POST http://{host}/api/v1/auth/login -H 'Content-Type: application/json' -d '{{\"username\":\"officer\",\"password\":\"{password}\"}}'");
    run_server(server, db)
}

fn print_file_errors(errors: &[FieldError]) {
    for error in errors.iter().take(200) {
        match error.line {
            Some(line) => eprintln!("  line {line}, {}: {}", error.field, error.message),
            None => eprintln!("  {}: {}", error.field, error.message),
        }
    }
    if errors.len() > 200 {
        eprintln!("  ... and {} more", errors.len() - 200);
    }
}

fn run_import(what: ImportWhat) -> Result<(), String> {
    let started = Instant::now();
    let (file, storage, is_areas) = match what {
        ImportWhat::Areas { file, storage } => (file, storage, true),
        ImportWhat::Households { file, storage } => (file, storage, false),
    };
    let bytes = std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let db = open_database(&storage)?;
    let is_geojson = file
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("geojson") || e.eq_ignore_ascii_case("json"));
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = |done: usize| bar.set_position(done as u64);
    let outcome = if is_areas {
        let records = if is_geojson {
            areas::import::parse_geojson(&bytes)
        } else {
            areas::import::parse_csv(&bytes)
        };
        match records {
            Ok(records) => {
                bar.set_length(records.len() as u64);
                areas::store::import(&db, &records, None, &progress)
            }
            Err(errors) => Err(ImportError::Rejected(errors)),
        }
    } else {
        let (records, problems) = households::import::read_csv(&bytes);
        bar.set_length(records.len() as u64);
        households::store::import(&db, &records, problems, None, &progress)
    };
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    match outcome {
        Ok(summary) => {
            println!(
                "{}: read {} rows, created {}, updated {}, rejected 0, in {seconds:.2} s",
                file.display(),
                summary.rows_read,
                summary.created,
                summary.updated
            );
            Ok(())
        }
        Err(ImportError::Rejected(errors)) => {
            eprintln!(
                "{}: {} problem(s); nothing was imported:",
                file.display(),
                errors.len()
            );
            print_file_errors(&errors);
            Err(format!("import rejected after {seconds:.2} s"))
        }
        Err(other) => Err(other.to_string()),
    }
}

fn print_definition_errors(errors: &[survey_forms::DefinitionError]) {
    for error in errors {
        eprintln!("  {error}");
    }
}

fn run_forms(command: FormsCommand) -> Result<(), String> {
    match command {
        FormsCommand::Check { dir } => match survey_forms::load_dir(&dir) {
            Ok(forms) => {
                for form in &forms {
                    println!(
                        "ok  {} version {} ({} fields, hash {})",
                        form.id,
                        form.version,
                        form.fields.len(),
                        &form.content_hash()[..12]
                    );
                }
                println!("{} form(s) checked, no problems", forms.len());
                Ok(())
            }
            Err(errors) => {
                eprintln!("{} problem(s):", errors.len());
                print_definition_errors(&errors);
                Err("the form definitions have problems".into())
            }
        },
        FormsCommand::Publish { dir, storage } => {
            let forms = survey_forms::load_dir(&dir).map_err(|errors| {
                eprintln!("{} problem(s):", errors.len());
                print_definition_errors(&errors);
                "nothing was published".to_string()
            })?;
            let db = open_database(&storage)?;
            let mut refused = 0;
            for form in &forms {
                match forms::store::publish(&db, form, None) {
                    Ok(outcome) => println!("{} version {}: {outcome:?}", form.id, form.version),
                    Err(forms::store::PublishRefusal::Refused(why)) => {
                        refused += 1;
                        eprintln!("{} version {}: refused: {why}", form.id, form.version);
                    }
                    Err(other) => return Err(other.to_string()),
                }
            }
            if refused > 0 {
                Err(format!("{refused} form(s) refused"))
            } else {
                Ok(())
            }
        }
    }
}

fn run_campaigns(command: CampaignsCommand) -> Result<(), String> {
    let CampaignsCommand::Load {
        file,
        utc_offset_minutes,
        storage,
    } = command;
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let spec = campaigns::parse(&text).map_err(describe)?;
    let offset =
        chrono::FixedOffset::east_opt(utc_offset_minutes * 60).ok_or("invalid UTC offset")?;
    let db = open_database(&storage)?;
    let started = Instant::now();
    let id = campaigns::create(&db, &spec, offset).map_err(describe)?;
    println!(
        "campaign {} loaded as id {id} with {} targets; coverage computed in {:.2} s",
        spec.code,
        spec.targets.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn run_coverage(command: CoverageCommand) -> Result<(), String> {
    let CoverageCommand::Verify { storage } = command;
    let db = open_database(&storage)?;
    let started = Instant::now();
    let (checked, mismatches) = coverage::verify(&db).map_err(describe)?;
    for m in mismatches.iter().take(50) {
        eprintln!(
            "  campaign {} village {} {}: stored {}, recomputed {}",
            m.campaign_id, m.village_id, m.what, m.stored, m.recomputed
        );
    }
    if mismatches.is_empty() {
        println!(
            "coverage verified: {checked} village(s), no difference, in {:.2} s",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    } else {
        Err(format!(
            "{} difference(s) between maintained and recomputed coverage or report figures",
            mismatches.len()
        ))
    }
}

#[allow(clippy::too_many_arguments)]
fn run_report(
    campaign: String,
    kind: String,
    area: Option<String>,
    date: Option<String>,
    format: String,
    out: PathBuf,
    storage: StorageConfig,
) -> Result<(), String> {
    let db = open_database(&storage)?;
    let row = campaigns::by_code(&db, &campaign)
        .map_err(describe)?
        .ok_or(format!("no campaign with code '{campaign}'"))?;
    let rules = campaigns::get(&db, row.id)
        .map_err(describe)?
        .ok_or("campaign unreadable")?;
    let kind: reports::ReportKind = kind.parse()?;
    let area_id = match area {
        Some(code) => users::area_ids_for_codes(&db, &[code]).map_err(describe)?[0],
        None => rules.row.scope_area_id,
    };
    let area_row = areas::store::get(&db, camket_schema::domain::AreaId(area_id))
        .map_err(|e| e.to_string())?
        .ok_or("no such area")?;
    let date = date
        .map(|text| {
            chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .map_err(|_| "--date must be YYYY-MM-DD".to_string())
        })
        .transpose()?;
    let today = chrono::Utc::now().with_timezone(&rules.offset).date_naive();
    let period = reports::Period::of(kind, &rules.window, rules.offset, date, today);
    let report = reports::build(&db, &rules, &area_row, kind, period).map_err(describe)?;
    let bytes = match format.as_str() {
        "csv" => reports::to_csv(&report, &rules).map_err(describe)?,
        "xlsx" => reports::to_xlsx(&report, &rules).map_err(describe)?,
        "json" => serde_json::to_vec_pretty(&report).map_err(|e| e.to_string())?,
        other => return Err(format!("unknown format '{other}'; use csv, xlsx or json")),
    };
    std::fs::write(&out, bytes).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!(
        "{} report for {} as of {} written to {} ({} villages)",
        format!("{kind:?}").to_lowercase(),
        report.area,
        report.as_of,
        out.display(),
        report.rows.len()
    );
    Ok(())
}

fn run_gen_province(
    households: usize,
    villages: usize,
    seed: u64,
    photos: usize,
    storage: StorageConfig,
) -> Result<(), String> {
    let db = open_database(&storage)?;
    if demo::is_built(&db).map_err(describe)? {
        return Err("the database is not empty: generate into a new one".into());
    }
    let store = storage.open_photos()?;
    let bar = spinner("generating the province");
    let started = Instant::now();
    let spec = camket::devtools::province::ProvinceSpec {
        households,
        villages,
        seed,
        photos,
    };
    let summary = camket::devtools::province::generate(&db, &store, spec, &|step| {
        bar.set_message(format!("generating: {step}"))
    })
    .map_err(describe)?;
    bar.finish_and_clear();
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).unwrap_or_default()
    );
    println!("generated in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn run_migrate_photos(to: &str, storage: StorageConfig) -> Result<(), String> {
    let from = storage.open_photos()?;
    let target = camket::photo_store::StoreLocation::parse(to)?;
    let into = camket::photo_store::PhotoStore::open_at(&storage.data_dir, &target)
        .map_err(|e| format!("cannot open {target}: {e}"))?;
    into.check_reachable()
        .map_err(|e| format!("the photo store {target} does not answer: {e}"))?;
    let bar = spinner("copying photos");
    let (photos, written) = from
        .copy_all_to(&into, |done, all| {
            bar.set_message(format!("copying photos: {done} of {all}"))
        })
        .map_err(|e| format!("{e} (run it again to resume)"))?;
    bar.finish_and_clear();
    println!(
        "{photos} photos are in {target} ({written} files copied now); set CAMKET_PHOTO_STORE={target}"
    );
    Ok(())
}

fn run_sweep_photos(older_than_secs: u64, storage: StorageConfig) -> Result<(), String> {
    let db = open_database(&storage)?;
    let photos = storage.open_photos()?;
    // Clamped: a century is as good as forever here, and chrono panics far beyond.
    let age = chrono::Duration::seconds(older_than_secs.min(100 * 365 * 86_400) as i64);
    let removed =
        camket::recovery::remove_orphan_photos(&db, &photos, Some(chrono::Utc::now() - age))
            .map_err(describe)?;
    println!("removed {removed} photos that no submission names");
    Ok(())
}

fn run_bench(command: BenchCommand) -> Result<(), String> {
    let result = match command {
        BenchCommand::Queries {
            url,
            username,
            password,
            campaign,
            iterations,
        } => camket::devtools::bench::queries(&url, &username, &password, campaign, iterations)?,
        BenchCommand::Console {
            url,
            username,
            password,
            campaign,
            iterations,
        } => camket::devtools::bench::console_pages(
            &url, &username, &password, campaign, iterations,
        )?,
        BenchCommand::Ingest {
            url,
            username,
            password,
            clients,
            seconds,
            width,
            height,
            phone_chroma,
            server_pid,
            drain_timeout,
            metrics_token,
        } => camket::devtools::bench::ingest(&camket::devtools::bench::IngestOptions {
            base: url,
            username,
            password,
            clients,
            seconds,
            width,
            height,
            phone_chroma,
            server_pid,
            drain_timeout,
            metrics_token,
        })?,
        BenchCommand::Photo {
            width,
            height,
            iterations,
            phone_chroma,
        } => camket::devtools::bench::photo_pipeline(width, height, iterations, phone_chroma)?,
        BenchCommand::Precision {
            database_url,
            papers,
            reused,
        } => {
            let (db, _scratch) = bench_database(database_url)?;
            let set = camket::devtools::precision::photos(camket::devtools::precision::SetSize {
                papers,
                reused,
            });
            camket::devtools::precision::run(&db, &set, vietnam_offset()?)?
        }
        BenchCommand::ReuseScale {
            database_url,
            earlier,
            checks,
            village_papers,
            reused_elsewhere,
        } => {
            let (db, _scratch) = bench_database(database_url)?;
            let villages = camket::devtools::precision::Villages {
                papers_each: village_papers,
                reused_elsewhere,
            };
            camket::devtools::precision::scale(&db, earlier, checks, villages, vietnam_offset()?)?
        }
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&result).unwrap_or_default()
    );
    Ok(())
}

/// The database a benchmark writes into: `url`, or a new SQLite file in a
/// temporary directory (removed with the returned guard); migrated.
fn bench_database(url: Option<String>) -> Result<(Db, Option<tempdir::Scratch>), String> {
    let (url, scratch) = match url {
        Some(url) => (url, None),
        None => {
            let scratch = tempdir::Scratch::new()?;
            (
                format!("sqlite://{}", scratch.0.join("bench.db").display()),
                Some(scratch),
            )
        }
    };
    let db = Db::connect(&url, 4).map_err(|e| e.to_string())?;
    db.migrate().map_err(|e| e.to_string())?;
    Ok((db, scratch))
}

/// The phones' time zone in the synthetic sets (Vietnam, UTC+7).
fn vietnam_offset() -> Result<chrono::FixedOffset, String> {
    chrono::FixedOffset::east_opt(7 * 3600).ok_or_else(|| "no such offset".to_string())
}

mod tempdir {
    /// A temporary directory, removed when dropped.
    pub struct Scratch(pub std::path::PathBuf);

    impl Scratch {
        pub fn new() -> Result<Scratch, String> {
            let path = std::env::temp_dir().join(format!(
                "camket-bench-{}-{}",
                std::process::id(),
                camket::auth::tokens::random_hex(4)
            ));
            std::fs::create_dir_all(&path).map_err(|e| e.to_string())?;
            Ok(Scratch(path))
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn describe(error: ApiError) -> String {
    match error {
        ApiError::Validation { detail, errors } => format!(
            "{detail}: {}",
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => other.to_string(),
    }
}

fn run_users(command: UsersCommand) -> Result<(), String> {
    let UsersCommand::Add {
        username,
        full_name,
        role,
        areas,
        password,
        storage,
    } = command;
    let input = users::CreateUser {
        username,
        full_name,
        password,
        role,
        area_ids: vec![0],
    };
    let role = users::validate_new_user(&input).map_err(|e| match e {
        ApiError::Validation { errors, .. } => errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    })?;
    let db = open_database(&storage)?;
    let area_ids = users::area_ids_for_codes(&db, &areas).map_err(|e| e.to_string())?;
    let hash = auth::password::hash_password(&input.password)?;
    let id = users::store::create(
        &db,
        &users::store::NewAccount {
            username: &input.username,
            full_name: input.full_name.trim(),
            password_hash: &hash,
            role,
            area_ids: &area_ids,
        },
    )
    .map_err(|e| e.to_string())?;
    println!("created user {} (id {id}, {role})", input.username);
    Ok(())
}

fn main() -> ExitCode {
    // Everything camket creates (the SQLite database with its WAL, photos,
    // secrets, backups, reports) is for its own user only: 0600 files, 0700 dirs.
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file-creation mask; no memory is touched.
    unsafe {
        libc::umask(0o077);
    }
    let cli = Cli::parse();
    let json_logs = matches!(&cli.command, Command::Serve(c) | Command::Demo { server: c, .. } if c.log_format == "json");
    init_logging(json_logs);
    let outcome = match cli.command {
        Command::Serve(config) => {
            open_database(&config.storage).and_then(|db| run_server(config, db))
        }
        Command::Demo {
            server,
            demo_password,
        } => run_demo(server, demo_password),
        Command::Migrate(storage) => open_and_migrate(&storage).map(|(_, ran)| match ran {
            0 => println!("the database was already up to date"),
            n => println!("applied {n} migration(s); the database is up to date"),
        }),
        Command::Import { what } => run_import(what),
        Command::Forms { what } => run_forms(what),
        Command::Campaigns { what } => run_campaigns(what),
        Command::Coverage { what } => run_coverage(what),
        Command::Report {
            campaign,
            kind,
            area,
            date,
            format,
            out,
            storage,
        } => run_report(campaign, kind, area, date, format, out, storage),
        Command::Users { what } => run_users(what),
        Command::GenProvince {
            households,
            villages,
            seed,
            photos,
            storage,
        } => run_gen_province(households, villages, seed, photos, storage),
        Command::Bench { what } => run_bench(what),
        Command::MigratePhotos { to, storage } => run_migrate_photos(&to, storage),
        Command::SweepPhotos {
            older_than_secs,
            storage,
        } => run_sweep_photos(older_than_secs, storage),
        Command::ReindexPhotos { storage } => open_database(&storage).and_then(|db| {
            let photos = storage.open_photos()?;
            let done =
                camket::submissions::verification::reindex_photos(&db, &photos)
                    .map_err(|e| e.to_string())?;
            println!(
                "{} photos indexed; {} left out as repeats of an earlier paper; {} without a readable fingerprint",
                done.indexed, done.repeats, done.unreadable
            );
            Ok(())
        }),
        Command::Backup { dir, storage } => open_database(&storage).and_then(|db| {
            let photos = storage.open_photos()?;
            let manifest = camket::backup::backup(&db, &storage.database_url(), &photos, &dir)?;
            println!(
                "backup of the {} database and {} photo files written to {}",
                manifest.backend,
                manifest.photo_files,
                dir.display()
            );
            Ok(())
        }),
        Command::Restore { dir, storage } => std::fs::create_dir_all(&storage.data_dir)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                let photos = storage.open_photos()?;
                let manifest = camket::backup::restore(&storage.database_url(), &photos, &dir)?;
                open_database(&storage)?;
                println!(
                    "restored the backup of {} ({} photo files)",
                    manifest.created_at, manifest.photo_files
                );
                Ok(())
            }),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("camket: {message}");
            ExitCode::FAILURE
        }
    }
}
