//! The JSON request body extractor: enforces the size limit while streaming and,
//! when the body does not fit the request type, names the field at fault
//! (`answers.relatives[2].country`) rather than a line and column.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};
use crate::state::AppState;

/// A JSON request body of type `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T> JsonBody<T> {
    /// The parsed body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// Parses JSON bytes into `T`, naming the failing field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(value) => deserializer.end().map(|()| value).map_err(|e| {
            ApiError::BadParam(FieldError::new(
                "body",
                format!("unexpected data after the JSON value: {e}"),
            ))
        }),
        Err(error) => {
            let path = error.path().to_string();
            let inner = error.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                Err(ApiError::BadParam(FieldError::new(
                    "body",
                    format!("not valid JSON: {inner}"),
                )))
            } else {
                let field = if path == "." {
                    "body".to_string()
                } else {
                    path
                };
                Err(ApiError::BadParam(FieldError::new(
                    field,
                    inner.to_string(),
                )))
            }
        }
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<JsonBody<T>, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|state| state.config.json_limit)
            .unwrap_or(1024 * 1024);
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::bad_param(
                    "Content-Type",
                    "send the body as application/json",
                ));
            }
            let too_large = || {
                ApiError::PayloadTooLarge(format!(
                    "the JSON body exceeds the limit of {limit} bytes"
                ))
            };
            if declared.is_some_and(|n| n > limit) {
                return Err(too_large());
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk
                    .map_err(|e| ApiError::BadRequest(format!("could not read the body: {e}")))?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(JsonBody)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Login {
        #[allow(dead_code)]
        username: String,
    }

    #[test]
    fn a_wrong_type_names_its_field() {
        match parse_json::<Login>(br#"{"username": 5}"#) {
            Err(ApiError::BadParam(error)) => {
                assert_eq!(error.field, "username");
                assert!(
                    error.message.contains("expected a string"),
                    "{}",
                    error.message
                );
            }
            other => panic!("{other:?}"),
        }
        match parse_json::<Login>(br#"{"username": "#) {
            Err(ApiError::BadParam(error)) => assert_eq!(error.field, "body"),
            other => panic!("{other:?}"),
        }
        match parse_json::<Login>(br#"{}"#) {
            Err(ApiError::BadParam(error)) => {
                assert!(error.message.contains("missing field `username`"))
            }
            other => panic!("{other:?}"),
        }
    }
}
