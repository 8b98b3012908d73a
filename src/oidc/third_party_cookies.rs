//! keycloak-js compatibility: before it opens Keycloak's session-status
//! iframe, keycloak-js loads `3p-cookies/step1.html` in a hidden frame and
//! waits (10 s, then `init()` fails) for it to post `supported` or
//! `unsupported`. realmgate has no session-status iframe, so the page
//! answers `unsupported` at once: keycloak-js then turns its login iframe
//! off and carries on with its tokens.

use actix_web::HttpResponse;
use actix_web::http::header;

const SCRIPT: &str = r#"window.parent.postMessage("unsupported", "*");"#;

static PAGE: std::sync::LazyLock<(String, String)> = std::sync::LazyLock::new(|| {
    let body = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>3p cookies</title></head><body><script>{SCRIPT}</script></body></html>\n"
    );
    // Framed by the application's own pages, of any origin.
    let csp = format!("default-src 'none'; script-src {}; frame-ancestors *", crate::web::pages::csp_hash(SCRIPT));
    (body, csp)
});

/// `GET .../protocol/openid-connect/3p-cookies/step1.html` (and `step2.html`).
pub async fn check_page() -> HttpResponse {
    let (body, csp) = &*PAGE;
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, csp.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body.clone())
}
