//! The HTTP application: shared state, middleware and the route table.

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
use crate::photo_store::PhotoStore;
use crate::{
    areas, auth, campaigns, coverage, forms, health, households, reports, submissions, users,
};

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
    pub backlog: submissions::verification::Backlog,
}

/// The `/api/v1` routes. Each resource lists its methods, so a wrong method is a 405.
pub fn api_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/login").route(web::post().to(auth::login)))
        .service(web::resource("/auth/refresh").route(web::post().to(auth::refresh)))
        .service(web::resource("/auth/logout").route(web::post().to(auth::logout)))
        .service(web::resource("/me").route(web::get().to(auth::me)))
        .service(web::resource("/areas").route(web::get().to(areas::list)))
        .service(web::resource("/areas/import").route(web::post().to(areas::import_file)))
        .service(web::resource("/areas/{id}").route(web::get().to(areas::get)))
        .service(web::resource("/villages/{id}/households").route(web::get().to(households::sync)))
        .service(web::resource("/households/import").route(web::post().to(households::import_file)))
        .service(web::resource("/households/{id}").route(web::get().to(households::get)))
        .service(
            web::resource("/households/{id}/move")
                .route(web::post().to(households::move_household)),
        )
        .service(
            web::resource("/campaigns")
                .route(web::get().to(campaigns::list))
                .route(web::post().to(campaigns::create_campaign)),
        )
        .service(web::resource("/campaigns/{id}").route(web::get().to(campaigns::get_one)))
        .service(
            web::resource("/campaigns/{id}/coverage")
                .route(web::get().to(coverage::coverage_route)),
        )
        .service(web::resource("/campaigns/{id}/gaps").route(web::get().to(coverage::gaps_route)))
        .service(
            web::resource("/campaigns/{id}/reports/{kind}")
                .route(web::get().to(reports::report_route)),
        )
        .service(
            web::resource("/users")
                .route(web::get().to(users::list_users))
                .route(web::post().to(users::create_user)),
        )
        .service(web::resource("/users/{id}/areas").route(web::put().to(users::set_areas)))
        .service(web::resource("/users/{id}/deactivate").route(web::post().to(users::deactivate)))
        .service(web::resource("/users/{id}/activate").route(web::post().to(users::activate)))
        .service(
            web::resource("/forms")
                .route(web::get().to(forms::list))
                .route(web::post().to(forms::publish)),
        )
        .service(web::resource("/forms/{form_id}").route(web::get().to(forms::get)))
        .service(web::resource("/forms/{form_id}/state").route(web::put().to(forms::set_state)))
        .service(
            web::resource("/forms/{form_id}/versions/{version}")
                .route(web::get().to(forms::get_version)),
        )
        .service(
            web::resource("/forms/{form_id}/versions/{version}/retire")
                .route(web::post().to(forms::retire)),
        )
        .service(
            web::resource("/forms/{form_id}/versions/{version}/check")
                .route(web::post().to(forms::check)),
        )
        .service(
            web::resource("/submissions")
                .route(web::get().to(submissions::list))
                .route(web::post().to(submissions::create)),
        )
        .service(web::resource("/submissions/{id}").route(web::get().to(submissions::get)))
        .service(
            web::resource("/submissions/{id}/photos/{photo_id}")
                .route(web::get().to(submissions::photo)),
        )
        .service(
            web::resource("/submissions/{id}/review").route(web::post().to(submissions::review)),
        )
        .service(
            web::resource("/submissions/{id}/history").route(web::get().to(submissions::history)),
        );
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
            http.target = %request.uri().path_and_query().map_or("", |p| p.as_str()),
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
    let photos = PhotoStore::open(&config.storage.data_dir)?;
    if !crate::recovery::last_stop_was_clean(&config.storage.data_dir) {
        match crate::recovery::remove_orphan_photos(&db, &photos) {
            Ok(0) => {}
            Ok(removed) => tracing::warn!(removed, "removed photos left by a crash"),
            Err(error) => tracing::error!(%error, "cannot check the photo store after a crash"),
        }
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
        backlog: Default::default(),
    });
    actix_web::rt::spawn(submissions::verification::run(state.clone()));
    let import_limit = config.import_limit;
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::QueryConfig::default().error_handler(query_error))
            .app_data(web::PathConfig::default().error_handler(path_error))
            .app_data(web::PayloadConfig::new(import_limit))
            .wrap(ErrorHandlers::new().default_handler(problem_for_plain_errors))
            .wrap(
                DefaultHeaders::new()
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("X-Frame-Options", "DENY"))
                    .add(("Referrer-Policy", "no-referrer"))
                    .add(("Cache-Control", "no-store")),
            )
            .wrap(TracingLogger::<RequestLog>::new())
            .route("/healthz", web::get().to(health::healthz))
            .route("/readyz", web::get().to(health::readyz))
            .service(web::scope("/api/v1").configure(api_routes))
            .default_service(web::to(unknown_route))
    })
    .client_request_timeout(std::time::Duration::from_secs(
        config.header_timeout_secs.max(1),
    ))
    .shutdown_timeout(10);
    if let Some(workers) = config.workers {
        server = server.workers(workers);
    }
    let server = server.bind(&config.bind)?;
    for addr in server.addrs() {
        // Tests and scripts read this line to learn the port.
        println!("camket listening on http://{addr}");
    }
    server.run().await?;
    crate::recovery::record_clean_stop(&config.storage.data_dir);
    Ok(())
}
