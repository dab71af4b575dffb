//! The one error type of the HTTP API and its mapping to `application/problem+json`
//! (RFC 9457). Every failure a client can see goes through here.

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use camket_schema::DbError;
use serde::Serialize;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One problem with one input field (or one line of an imported file).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field, as a path (`password`, `relatives[2].country`) or a column name.
    pub field: String,
    /// What is wrong with it, for a person to read.
    pub message: String,
    /// The 1-based line of an imported file, where the problem came from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

impl FieldError {
    /// A problem with a request field.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
            line: None,
        }
    }

    /// A problem with a field on a line of an imported file.
    pub fn at_line(line: u64, field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
            line: Some(line),
        }
    }
}

/// Why an import stored nothing: every problem found in the file, or storage.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} problem(s) in the file; nothing was imported", .0.len())]
    Rejected(Vec<FieldError>),
    #[error(transparent)]
    Storage(#[from] DbError),
}

camket_schema::storage_errors_into!(ImportError);

impl From<ImportError> for ApiError {
    fn from(error: ImportError) -> ApiError {
        let detail = error.to_string();
        match error {
            ImportError::Rejected(errors) => ApiError::invalid_many(detail, errors),
            ImportError::Storage(storage) => ApiError::from(storage),
        }
    }
}

/// Everything an API request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (bad JSON, a bad query parameter).
    #[error("{0}")]
    BadRequest(String),
    /// A query or path parameter is invalid.
    #[error("{}: {}", .0.field, .0.message)]
    BadParam(FieldError),
    /// The request is well-formed but its content is invalid; every problem is listed.
    #[error("{detail}")]
    Validation {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// No valid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but not allowed to do this here.
    #[error("{0}")]
    Forbidden(String),
    /// No such resource.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; retry after the given number of seconds.
    #[error("too many attempts; try again in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// The body exceeds a configured limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The database is busy or unreachable; the client should retry.
    #[error("the database is busy; please retry")]
    Unavailable,
    /// The client stopped sending the body.
    #[error("{0}")]
    Timeout(String),
    /// Accepted work not finished yet (a photo's derivatives); retry shortly.
    #[error("{0}")]
    NotReady(String),
    /// A bug or an environment failure; details go to the log, not the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A validation failure with a single field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        let error = FieldError::new(field, message);
        ApiError::Validation {
            detail: format!("{}: {}", error.field, error.message),
            errors: vec![error],
        }
    }

    /// An invalid query or path parameter (400).
    pub fn bad_param(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::BadParam(FieldError::new(field, message))
    }

    /// A validation failure listing several problems.
    pub fn invalid_many(detail: impl Into<String>, errors: Vec<FieldError>) -> ApiError {
        ApiError::Validation {
            detail: detail.into(),
            errors,
        }
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest(_) => ("bad-request", "Bad request"),
            ApiError::BadParam(_) => ("bad-parameter", "Invalid parameter"),
            ApiError::Validation { .. } => ("validation", "The request has invalid fields"),
            ApiError::Unauthorized(_) => ("unauthorized", "Authentication required"),
            ApiError::Forbidden(_) => ("forbidden", "Not allowed"),
            ApiError::NotFound(_) => ("not-found", "Not found"),
            ApiError::Conflict(_) => ("conflict", "Conflict"),
            ApiError::TooManyRequests { .. } => ("rate-limited", "Too many attempts"),
            ApiError::PayloadTooLarge(_) => ("too-large", "Request body too large"),
            ApiError::Unavailable => ("unavailable", "Service busy"),
            ApiError::NotReady(_) => ("not-ready", "Not ready yet"),
            ApiError::Timeout(_) => ("timeout", "Request timeout"),
            ApiError::Internal(_) => ("internal", "Internal server error"),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> ApiError {
        match error {
            DbError::Pool(_) => {
                tracing::warn!(%error, "database pool exhausted");
                ApiError::Unavailable
            }
            DbError::Query(e) => ApiError::from(e),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> ApiError {
        use diesel::result::{DatabaseErrorKind, Error};
        match &error {
            Error::NotFound => ApiError::NotFound("no such record".into()),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                ApiError::Conflict("a record with the same key already exists".into())
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                ApiError::Unavailable
            }
            Error::DatabaseError(_, info)
                if info.message().contains("database is locked")
                    || info.message().contains("database is busy") =>
            {
                ApiError::Unavailable
            }
            _ => ApiError::Internal(error.to_string()),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(error: actix_web::error::BlockingError) -> ApiError {
        ApiError::Internal(error.to_string())
    }
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

/// Builds a problem+json response.
pub fn problem_response(
    status: StatusCode,
    slug: &str,
    title: &str,
    detail: String,
    errors: &[FieldError],
) -> HttpResponse {
    let body = ProblemBody {
        kind: format!("urn:camket:problem:{slug}"),
        title,
        status: status.as_u16(),
        detail,
        errors,
    };
    let json = serde_json::to_string(&body).unwrap_or_else(|_| "{}".to_string());
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
        .body(json)
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::BadParam(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable | ApiError::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (slug, title) = self.slug_and_title();
        let detail = match self {
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                "the server failed to handle this request; it has been logged".to_string()
            }
            other => other.to_string(),
        };
        let errors = match self {
            ApiError::Validation { errors, .. } => errors.as_slice(),
            ApiError::BadParam(error) => std::slice::from_ref(error),
            _ => &[],
        };
        let mut response = problem_response(self.status_code(), slug, title, detail, errors);
        match self {
            ApiError::TooManyRequests { retry_after_secs } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            ApiError::Unavailable => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::NotReady(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            ApiError::Unauthorized(_) => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

/// Middleware hook: turns any error response not already in problem+json
/// (the router's 404 and 405, the framework's 413, ...) into problem+json,
/// keeping its status and the headers a client needs (`Allow`, `Retry-After`).
pub fn problem_for_plain_errors<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // OpenRosa errors (ODK Collect's routes) are XML envelopes the phone reads.
    let already_answered = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| {
            value.as_bytes().starts_with(PROBLEM_JSON.as_bytes())
                || value.as_bytes().starts_with(b"text/xml")
                || value.as_bytes().starts_with(b"text/html")
        });
    if already_answered {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let detail = match res.response().error() {
        Some(error) => error.to_string(),
        None => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_string(),
    };
    let slug = match status {
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too-large",
        StatusCode::BAD_REQUEST => "bad-request",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
        _ => "error",
    };
    let title = status.canonical_reason().unwrap_or("Error");
    let kept: Vec<_> = [header::ALLOW, header::RETRY_AFTER]
        .into_iter()
        .filter_map(|name| res.headers().get(&name).cloned().map(|v| (name, v)))
        .collect();
    let (req, _) = res.into_parts();
    let mut response = problem_response(status, slug, title, detail, &[]);
    for (name, value) in kept {
        response.headers_mut().insert(name, value);
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body(),
    ))
}

/// Maps query-string errors to 400 naming the problem.
pub fn query_error(
    error: actix_web::error::QueryPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::BadRequest(format!("invalid query parameters: {error}")).into()
}

/// Maps path-segment errors (`/areas/abc`) to 404.
pub fn path_error(
    error: actix_web::error::PathError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::NotFound(format!("no such resource: {error}")).into()
}
