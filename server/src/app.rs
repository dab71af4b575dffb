//! The HTTP application: middleware, the route table and the server loop.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{DefaultHeaders, ErrorHandlers};
use actix_web::{web, App, HttpMessage, HttpResponse, HttpServer};
use camket_schema::Db;
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder, TracingLogger};

use crate::auth::rate_limit::LoginLimiter;
use crate::auth::tokens::JwtKeys;
use crate::config::ServerConfig;
use crate::error::{path_error, problem_for_plain_errors, query_error, ApiError};
use crate::state::AppState;
use crate::{
    areas, auth, campaigns, collect, coverage, forms, health, households, reports, submissions,
    users,
};

/// Writes the route table once and derives from it both the actix services
/// and [`API_ROUTES`], which the access-matrix test walks so that a route
/// without a row in the matrix fails the suite.
macro_rules! route_table {
    ($( $path:literal => { $( $method:ident => $handler:path ),+ $(,)? } ),* $(,)?) => {
        /// Every `/api/v1` route as (method, path pattern), in matching order.
        pub const API_ROUTES: &[(&str, &str)] = &[ $( $( (stringify!($method), $path) ),+ ),* ];

        /// The `/api/v1` routes. Each resource lists its methods, so a wrong method is a 405.
        pub fn api_routes(cfg: &mut web::ServiceConfig) {
            $( cfg.service(web::resource($path) $( .route(web::$method().to($handler)) )+ ); )*
        }
    };
}

route_table! {
    "/openapi.json" => { get => crate::openapi::openapi_json },
    "/docs" => { get => crate::openapi::docs_page },
    "/auth/login" => { post => auth::login },
    "/auth/refresh" => { post => auth::refresh },
    "/auth/logout" => { post => auth::logout },
    "/me" => { get => auth::me },
    "/areas" => { get => areas::list },
    "/areas/import" => { post => areas::import_file },
    "/areas/{id}" => { get => areas::get },
    "/villages/{id}/households" => { get => households::sync },
    "/households/import" => { post => households::import_file },
    "/households/{id}" => { get => households::get },
    "/households/{id}/move" => { post => households::move_household },
    "/campaigns" => { get => campaigns::list, post => campaigns::create_campaign },
    "/campaigns/{id}" => { get => campaigns::get_one },
    "/campaigns/{id}/coverage" => { get => coverage::coverage_route },
    "/campaigns/{id}/gaps" => { get => coverage::gaps_route },
    "/campaigns/{id}/reports/{kind}" => { get => reports::report_route },
    "/users" => { get => users::list_users, post => users::create_user },
    "/users/{id}/areas" => { put => users::set_areas },
    "/users/{id}/deactivate" => { post => users::deactivate },
    "/users/{id}/activate" => { post => users::activate },
    "/users/{id}/devices" => { get => collect::devices::list, post => collect::devices::create },
    "/users/{id}/devices/{device_id}" => { delete => collect::devices::revoke },
    "/users/{id}/devices/{device_id}/qr.png" => { get => collect::devices::qr_code },
    "/forms" => { get => forms::list, post => forms::publish },
    "/forms/{form_id}" => { get => forms::get },
    "/forms/{form_id}/state" => { put => forms::set_state },
    "/forms/{form_id}/versions/{version}" => { get => forms::get_version },
    "/forms/{form_id}/versions/{version}/retire" => { post => forms::retire },
    "/forms/{form_id}/versions/{version}/check" => { post => forms::check },
    "/submissions" => { get => submissions::list, post => submissions::create },
    "/submissions/{id}" => { get => submissions::get },
    "/submissions/{id}/photos/{photo_id}" => { get => submissions::photo },
    "/submissions/{id}/review" => { post => submissions::review },
    "/submissions/{id}/history" => { get => submissions::history },
}

/// The request log's span: tracing-actix-web's default fields, except that the
/// client address follows [`crate::client_address`] (forwarding headers only from
/// trusted proxies) and the host is the `Host` header, never `X-Forwarded-Host`.
pub struct RequestLog;

impl RootSpanBuilder for RequestLog {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let trusted: &[std::net::IpAddr] = request
            .app_data::<web::Data<AppState>>()
            .map_or(&[], |state| state.config.trusted_proxies.as_slice());
        let client_ip = crate::client_address::of_request(request.request(), trusted);
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let route = request.match_pattern().unwrap_or_else(|| "default".into());
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.flavor = ?request.version(),
            http.host = %header("host"),
            http.client_ip = %client_ip,
            http.user_agent = %header("user-agent"),
            http.target = %crate::collect::redacted_target(
                request.uri().path_and_query().map_or("", |p| p.as_str())
            ),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            request_id = %request_id,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

async fn unknown_route() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such route".into()))
}

/// Serves until SIGTERM / SIGINT, then drains in-flight requests.
pub async fn serve(config: ServerConfig, db: Db, keys: JwtKeys) -> std::io::Result<()> {
    let config = Arc::new(config);
    let photos = config
        .storage
        .open_photos()
        .map_err(std::io::Error::other)?;
    photos.sweep_staging()?;
    photos.check_reachable().map_err(|e| {
        std::io::Error::other(format!(
            "the photo store {} does not answer: {e}",
            config.storage.photo_location().unwrap_or_else(|_| {
                crate::photo_store::StoreLocation::default_for(&config.storage.data_dir)
            })
        ))
    })?;
    let crashed = !crate::recovery::last_stop_was_clean(&config.storage.data_dir);
    // One process owns a local photo directory: after its own crash no upload
    // can be in flight, so every orphan goes now. A bucket shared by several
    // instances is swept with a grace period instead (`recovery::sweep_orphans`).
    if crashed && !photos.is_shared() {
        match crate::recovery::remove_orphan_photos(&db, &photos, None) {
            Ok(0) => {}
            Ok(removed) => tracing::warn!(removed, "removed photos left by a crash"),
            Err(error) => tracing::error!(%error, "cannot check the photo store after a crash"),
        }
    }
    // Leases left by this instance's previous run are void (on SQLite, which
    // is one process's, every lease is).
    let backlog = submissions::verification::Backlog::for_instance(&config.storage.data_dir);
    let cleared = if db.backend() == camket_schema::db::Backend::Sqlite {
        crate::submissions::store::clear_evidence_leases(&db)
    } else {
        crate::submissions::store::clear_leases_of_earlier_runs(
            &db,
            &submissions::verification::Backlog::instance_prefix(&config.storage.data_dir),
        )
    };
    if let Err(error) = cleared {
        tracing::warn!(%error, "cannot clear the evidence leases of the previous run");
    }
    let decoders = Arc::new(tokio::sync::Semaphore::new(
        config.evidence.photo_decoders.max(1),
    ));
    let state = web::Data::new(AppState {
        db,
        keys,
        login_limiter: LoginLimiter::new(
            config.login_per_user_per_minute,
            config.login_per_address_per_minute,
        ),
        config: config.clone(),
        photos,
        decoders,
        backlog,
        basic_auth: Default::default(),
        common_keys: Default::default(),
        metrics: crate::metrics::Metrics::new()
            .map_err(|e| std::io::Error::other(format!("cannot set up the metrics: {e}")))?,
    });
    actix_web::rt::spawn(submissions::verification::run(state.clone()));
    actix_web::rt::spawn(crate::reports::filing::run(state.clone()));
    actix_web::rt::spawn(crate::coverage::pending::run(state.clone()));
    actix_web::rt::spawn(crate::recovery::sweep_orphans(state.clone()));
    let import_limit = config.import_limit;
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::QueryConfig::default().error_handler(query_error))
            .app_data(web::PathConfig::default().error_handler(path_error))
            .app_data(web::PayloadConfig::new(import_limit))
            // The console's forms carry form definitions and campaigns as text.
            .app_data(web::FormConfig::default().limit(import_limit))
            .wrap(ErrorHandlers::new().default_handler(problem_for_plain_errors))
            .wrap(
                DefaultHeaders::new()
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("X-Frame-Options", "DENY"))
                    .add(("Referrer-Policy", "no-referrer"))
                    .add(("Cache-Control", "no-store")),
            )
            // Phones on 3G pay for every byte: JSON, CSV and XML go gzip-compressed
            // to clients that accept it; photos (image/*) are sent as they are.
            .wrap(actix_web::middleware::Compress::default())
            .wrap_fn(|req, service| {
                let started = std::time::Instant::now();
                let method = crate::metrics::method_label(req.method());
                let answered = actix_web::dev::Service::call(service, req);
                async move {
                    let res = answered.await?;
                    if let Some(state) = res.request().app_data::<web::Data<AppState>>() {
                        // The pattern, never the raw path: ids and junk make no new series.
                        let route = res
                            .request()
                            .match_pattern()
                            .unwrap_or_else(|| "unmatched".into());
                        state.metrics.observe(
                            &route,
                            &method,
                            res.status().as_u16(),
                            started.elapsed().as_secs_f64(),
                        );
                    }
                    Ok(res)
                }
            })
            .wrap(TracingLogger::<RequestLog>::new())
            .route("/healthz", web::get().to(health::healthz))
            .route("/readyz", web::get().to(health::readyz))
            .route("/metrics", web::get().to(crate::metrics::metrics))
            .service(web::scope("/api/v1").configure(api_routes))
            .configure(collect::routes)
            .configure(crate::console::routes)
            .default_service(web::to(unknown_route))
    })
    .client_request_timeout(std::time::Duration::from_secs(
        config.header_timeout_secs.max(1),
    ))
    .shutdown_timeout(10);
    if let Some(workers) = config.workers {
        server = server.workers(workers);
    }
    let server = server.bind(&config.bind).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(
                "cannot listen on {} (set by --bind or CAMKET_BIND): {e}",
                config.bind
            ),
        )
    })?;
    for addr in server.addrs() {
        // Tests and scripts read this line to learn the port.
        println!("camket listening on http://{addr}");
    }
    server.run().await?;
    crate::recovery::record_clean_stop(&config.storage.data_dir);
    Ok(())
}
