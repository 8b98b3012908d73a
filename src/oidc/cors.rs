//! CORS for the endpoints a browser application calls with `fetch`: token,
//! revocation, introspection, device authorization and userinfo (Keycloak's
//! web origins). A
//! preflight is answered for any origin, as Keycloak does; the actual
//! answer is readable only by an origin the client allows, so a page of
//! another origin cannot read it.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use crate::domain::client::Client;
use crate::error::OAuthError;

/// Headers a browser may send on these endpoints.
const ALLOWED_HEADERS: &str = "Origin, Accept, X-Requested-With, Content-Type, Authorization, X-Auth-Token";
/// How long a browser may reuse a preflight's answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "3600";

/// The answer to an `OPTIONS` preflight of an endpoint serving `methods`.
pub fn preflight(req: &HttpRequest, methods: &'static str) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    // HEAD is served wherever GET is (`startup`).
    let allow = methods.replace("GET", "GET, HEAD");
    response.insert_header((header::ALLOW, format!("{allow}, OPTIONS")));
    if let Some(origin) = origin(req) {
        response
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, methods))
            .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS))
            .insert_header((header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true"))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE))
            .insert_header((header::VARY, "Origin"));
    }
    response.finish()
}

/// Lets the request's origin read `response` if `client` allows that
/// origin. Without a client (the request failed before one was known) the
/// answer is an error, which any origin may read, as with Keycloak: an
/// application should see "invalid_client" or "invalid_token", not a
/// network error.
pub fn expose(req: &HttpRequest, client: Option<&Client>, response: &mut HttpResponse) {
    let Some(origin) = origin(req) else { return };
    let readable = match client {
        Some(client) => client.allows_origin(origin.to_str().unwrap_or_default()),
        None => !response.status().is_success(),
    };
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if readable {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("WWW-Authenticate"));
    }
}

/// An endpoint's outcome as a response `client`'s origins (see `expose`) may read.
pub fn answer(req: &HttpRequest, outcome: Result<HttpResponse, OAuthError>, client: Option<&Client>) -> HttpResponse {
    let mut response = outcome.unwrap_or_else(|e| e.error_response());
    expose(req, client, &mut response);
    response
}

fn origin(req: &HttpRequest) -> Option<HeaderValue> {
    req.headers().get(header::ORIGIN).filter(|o| o.to_str().is_ok_and(|s| s != "null")).cloned()
}
