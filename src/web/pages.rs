//! askama page structs and the one way pages go out: HTML with a strict CSP
//! (no inline script), never cached, never framed.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use askama::Template;

use crate::error::ErrorChain;

/// CSP of every page: no script or style but the stylesheet and the
/// form_post script realmgate inlines (allowed by their hashes) and its own
/// files. Inlined, they need no URL, so pages work below any path prefix
/// of the public URL, and cost no second request.
static PAGE_CSP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "default-src 'none'; style-src 'self' {}; script-src 'self' {}; img-src 'self' data:; \
         base-uri 'none'; frame-ancestors 'none'",
        csp_hash(CSS),
        csp_hash(FORM_POST_JS)
    )
});

/// A CSP source allowing exactly this inline script or style: `'sha256-…'`.
pub fn csp_hash(text: &str) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes())))
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub realm_display: &'a str,
    pub client_name: &'a str,
    pub action: &'a str,
    pub state: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

pub struct ScopeLine {
    pub name: String,
    pub description: String,
}

#[derive(Template)]
#[template(path = "update_password.html")]
pub struct UpdatePasswordPage<'a> {
    pub realm_display: &'a str,
    pub action: &'a str,
    pub state: &'a str,
    pub csrf: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub realm_display: &'a str,
    pub client_name: &'a str,
    pub username: &'a str,
    pub scopes: Vec<ScopeLine>,
    pub action: &'a str,
    pub state: &'a str,
    pub csrf: &'a str,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub realm_display: &'a str,
    pub title: &'a str,
    pub message: &'a str,
}

#[derive(Template)]
#[template(path = "logout_confirm.html")]
pub struct LogoutConfirmPage<'a> {
    pub realm_display: &'a str,
    pub client_name: Option<&'a str>,
    pub action: &'a str,
    pub state: &'a str,
    pub csrf: &'a str,
}

#[derive(Template)]
#[template(path = "device.html")]
pub struct DevicePage<'a> {
    pub realm_display: &'a str,
    pub action: &'a str,
    pub state: &'a str,
    pub csrf: &'a str,
    pub user_code: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "device_done.html")]
pub struct DeviceDonePage<'a> {
    pub realm_display: &'a str,
    pub title: &'a str,
    pub message: &'a str,
}

pub struct TokenLine {
    pub id: String,
    pub name: String,
    pub scope: String,
    pub created: String,
    pub expires: Option<String>,
    pub last_used: Option<String>,
}

pub struct SessionLine {
    pub id: String,
    pub started: String,
    pub last_seen: String,
    pub current: bool,
    /// The application of a grant made without a browser.
    pub via: Option<String>,
    pub ip_address: Option<String>,
}

pub struct ConsentLine {
    pub client_id: String,
    pub client_name: String,
    pub scope: String,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage<'a> {
    pub realm_display: &'a str,
    pub username: &'a str,
    pub new_token: Option<&'a str>,
    pub tokens: Vec<TokenLine>,
    pub sessions: Vec<SessionLine>,
    pub consents: Vec<ConsentLine>,
    pub action: &'a str,
    pub state: &'a str,
    pub csrf: &'a str,
}

#[derive(Template)]
#[template(path = "logged_out.html")]
pub struct LoggedOutPage<'a> {
    pub realm_display: &'a str,
}

#[derive(Template)]
#[template(path = "form_post.html")]
pub struct FormPostPage<'a> {
    pub realm_display: &'a str,
    pub action: &'a str,
    pub fields: Vec<(String, String)>,
}

/// A response builder with the headers every page carries.
pub fn page_builder(status: StatusCode) -> HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    builder
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_CSP.as_str()));
    builder
}

/// Renders a page, or the plain 500 page if the template fails.
pub fn render<T: Template>(builder: &mut HttpResponseBuilder, page: &T) -> HttpResponse {
    match page.render() {
        Ok(body) => builder.body(body),
        Err(error) => {
            tracing::error!(error = %ErrorChain(&error), "page rendering failed");
            page_builder(StatusCode::INTERNAL_SERVER_ERROR).body("An internal error occurred")
        }
    }
}

/// A flow that cannot continue: an HTML error page, never a redirect.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub realm_display: String,
    pub title: &'static str,
    pub message: String,
}

impl PageError {
    pub fn bad_request(realm_display: &str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            realm_display: realm_display.to_owned(),
            title: "We cannot continue",
            message: message.into(),
        }
    }

    /// A GET of a URL that only takes a form's POST.
    pub fn form_target() -> Self {
        Self {
            status: StatusCode::METHOD_NOT_ALLOWED,
            realm_display: "realmgate".into(),
            title: "Page has expired",
            message: "This address only receives a form, so it cannot be opened again.".into(),
        }
    }

    pub fn not_found() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            realm_display: "realmgate".into(),
            title: "Not found",
            message: "This realm does not exist.".into(),
        }
    }

    pub fn internal(error: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %ErrorChain(error), "internal error");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            realm_display: "realmgate".into(),
            title: "Something went wrong",
            message: "An internal error occurred.".into(),
        }
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.title, self.message)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let page = ErrorPage { realm_display: &self.realm_display, title: self.title, message: &self.message };
        render(&mut page_builder(self.status), &page)
    }
}

impl From<crate::services::ServiceError> for PageError {
    fn from(e: crate::services::ServiceError) -> Self {
        if e.is_unavailable() {
            crate::services::log_unavailable(&e);
            return Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                realm_display: "realmgate".into(),
                title: "Temporarily unavailable",
                message: "The service is temporarily unavailable. Try again in a moment.".into(),
            };
        }
        if e.is_busy() {
            return Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                realm_display: "realmgate".into(),
                title: "Too busy",
                message: "Too many people are signing in right now. Try again in a moment.".into(),
            };
        }
        Self::internal(&e)
    }
}

impl From<crate::services::passwords::PasswordError> for PageError {
    fn from(e: crate::services::passwords::PasswordError) -> Self {
        crate::services::ServiceError::from(e).into()
    }
}

impl From<crate::storage::StorageError> for PageError {
    fn from(e: crate::storage::StorageError) -> Self {
        crate::services::ServiceError::from(e).into()
    }
}

/// Inlined in every page (`<style>`) and served at `/static/realmgate.css`.
pub const CSS: &str = include_str!("../../static/realmgate.css");
/// Inlined in the form_post page and served at `/static/form_post.js`.
pub const FORM_POST_JS: &str = include_str!("../../static/form_post.js");

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(CSS)
}

pub async fn form_post_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(FORM_POST_JS)
}
