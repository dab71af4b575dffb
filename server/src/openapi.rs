//! The OpenAPI 3.1 document of `/api/v1`, generated from the handlers'
//! `#[utoipa::path]` annotations and the types they take and answer, served at
//! `GET /api/v1/openapi.json` with a page to browse it at `GET /api/v1/docs`
//! (no CDN: the page is in the binary). Every operation also documents the
//! problem+json error every route may answer.

use actix_web::HttpResponse;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use crate::error::ApiError;

/// A file's bytes (a photo, a QR code, a spreadsheet).
pub struct BinaryFile;

impl PartialSchema for BinaryFile {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Binary,
            )))
            .into()
    }
}

impl ToSchema for BinaryFile {}

/// The multipart body of `POST /api/v1/submissions`: the `submission` part
/// holds the JSON document; every other part is a photo, named by the field it
/// answers, with the file name the answers refer to.
#[derive(utoipa::ToSchema)]
pub struct SubmissionUpload {
    /// The submission document (JSON): instance_id, form_id, form_version,
    /// village_id, household_id, collected_at, device_id, geotag, answers, corrects.
    pub submission: crate::submissions::SubmissionDocument,
    /// A photo part (repeat one per photo, named by its field).
    #[schema(value_type = Option<BinaryFile>)]
    pub signed_paper_photo: Option<()>,
}

/// An RFC 9457 problem, as every error is answered.
#[derive(utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    pub r#type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The fields at fault, each with why.
    pub errors: Option<Vec<crate::error::FieldError>>,
}

/// Adds the bearer scheme and, to every operation, the problem+json answer.
struct Conventions;

fn with_problem(operation: &mut Operation) {
    let problem = ResponseBuilder::new()
        .description("an error, as application/problem+json (which field and why)")
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "Problem",
                ))))
                .build(),
        )
        .build();
    operation
        .responses
        .responses
        .entry("default".to_string())
        .or_insert(RefOr::T(problem));
}

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        openapi.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
            ]
            .into_iter()
            .flatten()
            {
                with_problem(operation);
            }
        }
    }
}

/// The document's root.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "camket",
        description = "House-to-house survey server: areas and households, forms, submissions with photographed evidence, review, coverage and reports. Every user is bound to areas and sees only those subtrees. Errors are application/problem+json. Phones use ODK Collect over OpenRosa at /collect (see the README)."
    ),
    paths(
        crate::auth::login,
        crate::auth::refresh,
        crate::auth::logout,
        crate::auth::me,
        crate::areas::list,
        crate::areas::get,
        crate::areas::import_file,
        crate::households::sync,
        crate::households::get,
        crate::households::import_file,
        crate::households::move_household,
        crate::campaigns::list,
        crate::campaigns::get_one,
        crate::campaigns::create_campaign,
        crate::coverage::coverage_route,
        crate::coverage::gaps_route,
        crate::reports::report_route,
        crate::users::create_user,
        crate::users::list_users,
        crate::users::set_areas,
        crate::users::deactivate,
        crate::users::activate,
        crate::collect::devices::create,
        crate::collect::devices::list,
        crate::collect::devices::revoke,
        crate::collect::devices::qr_code,
        crate::forms::list,
        crate::forms::get,
        crate::forms::get_version,
        crate::forms::publish,
        crate::forms::set_state,
        crate::forms::retire,
        crate::forms::check,
        crate::submissions::create,
        crate::submissions::list,
        crate::submissions::get,
        crate::submissions::photo,
        crate::submissions::review,
        crate::submissions::history,
        openapi_json,
        docs_page,
    ),
    components(schemas(Problem, crate::error::FieldError)),
    modifiers(&Conventions)
)]
pub struct ApiDoc;

/// The document as served.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Handles the `GET /api/v1/openapi.json` route: this API's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", security(()), responses((status = 200, description = "the OpenAPI document", body = serde_json::Value)))]
pub async fn openapi_json() -> Result<HttpResponse, ApiError> {
    let json = document()
        .to_json()
        .map_err(|e| ApiError::Internal(format!("cannot write the OpenAPI document: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(json))
}

/// Handles the `GET /api/v1/docs` route: a page that browses the document.
#[utoipa::path(get, path = "/api/v1/docs", tag = "meta", security(()), responses((status = 200, description = "an HTML page", content_type = "text/html", body = String)))]
pub async fn docs_page() -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // The page's own inline script and style, nothing else.
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
        ))
        .body(include_str!("openapi_page.html")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_of_the_router_is_in_the_document() {
        let document = document();
        let mut missing = Vec::new();
        for (method, path) in crate::app::API_ROUTES {
            let full = format!("/api/v1{path}");
            let item = document.paths.paths.get(&full);
            let operation = item.and_then(|item| match *method {
                "get" => item.get.as_ref(),
                "post" => item.post.as_ref(),
                "put" => item.put.as_ref(),
                "delete" => item.delete.as_ref(),
                _ => None,
            });
            match operation {
                Some(op) => assert!(
                    op.responses.responses.contains_key("default"),
                    "{method} {full} documents no error answer"
                ),
                None => missing.push(format!("{method} {full}")),
            }
        }
        assert!(
            missing.is_empty(),
            "routes missing from the OpenAPI document: {missing:?}"
        );
        // And nothing documented that the router does not serve.
        let served: std::collections::BTreeSet<String> = crate::app::API_ROUTES
            .iter()
            .map(|(_, path)| format!("/api/v1{path}"))
            .collect();
        for path in document.paths.paths.keys() {
            assert!(served.contains(path), "documented but not routed: {path}");
        }
        let json = document.to_json().expect("JSON");
        assert!(json.contains("\"openapi\":\"3.1.0\""), "{}", &json[..80]);
    }
}
