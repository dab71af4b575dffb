//! HTTP caching of content that never changes under its tag (a form version,
//! a photo): one `If-None-Match` rule for every route that serves such content.

use actix_web::http::header;
use actix_web::HttpRequest;

/// Whether the client's `If-None-Match` names `etag` (weak or strong) or `*`.
pub fn etag_matches(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn a_listed_weak_or_wildcard_tag_matches() {
        let tag = "\"abc-thumb\"";
        let with = |value: &str| {
            TestRequest::default()
                .insert_header((header::IF_NONE_MATCH, value))
                .to_http_request()
        };
        assert!(etag_matches(&with("\"abc-thumb\""), tag));
        assert!(etag_matches(&with("\"x\", W/\"abc-thumb\""), tag));
        assert!(etag_matches(&with("*"), tag));
        assert!(!etag_matches(&with("\"abc-review\""), tag));
        assert!(!etag_matches(
            &TestRequest::default().to_http_request(),
            tag
        ));
    }
}
