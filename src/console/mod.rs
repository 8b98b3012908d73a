//! The admin web console (`/admin/console/`): server-rendered pages that
//! make the same changes as the admin REST API, through the same functions
//! (so the same checks, rights and audit log), signed in through the
//! `master` realm's login page. Every form carries a CSRF token; nothing
//! needs JavaScript.

mod audit;
mod clients;
mod form;
mod pages;
mod realms;
mod roles;
mod scopes;
pub mod session;
mod users;

use actix_web::http::header;
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use chrono::{DateTime, Utc};

use crate::admin::AdminError;
use crate::error::ErrorChain;
use crate::state::AppState;
use crate::web::pages::{ErrorPage, page_builder, render};

pub use form::{Form, Problems};
pub use session::Ctx;

/// Where the console lives.
pub const BASE: &str = "/admin/console";
const TITLE: &str = "realmgate admin";

/// Registers `/admin/console/...` (before the admin API's `/admin` scope).
pub fn config(cfg: &mut web::ServiceConfig) {
    let realm = "/realms/{realm}";
    cfg.service(
        web::scope(BASE)
            .service(web::resource("").get(to_home))
            .service(web::resource("/").get(realms::home).post(realms::home_action))
            .service(web::resource("/sign-out").post(session::sign_out))
            .service(web::resource(format!("{realm}/")).get(realms::settings).post(realms::settings_action))
            .service(web::resource(format!("{realm}/clients")).get(clients::list).post(clients::create))
            .service(web::resource(format!("{realm}/clients/{{id}}")).get(clients::show).post(clients::action))
            .service(web::resource(format!("{realm}/users")).get(users::list).post(users::create))
            .service(web::resource(format!("{realm}/users/{{id}}")).get(users::show).post(users::action))
            .service(web::resource(format!("{realm}/roles")).get(roles::list).post(roles::action))
            .service(web::resource(format!("{realm}/scopes")).get(scopes::list).post(scopes::action))
            .service(web::resource(format!("{realm}/audit")).get(audit::page))
            // A realm's page without its slash, a list with one: where meant.
            .service(web::resource(realm).get(toggle_slash))
            .service(web::resource(format!("{realm}/{{page}}/")).get(toggle_slash))
            .default_service(web::to(|| async { ConsoleError::NotFound("page".into()).error_response() })),
    );
}

/// 303 to the same console path with its trailing slash added or removed.
async fn toggle_slash(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let rest = req.path().strip_prefix(BASE).unwrap_or_default();
    let target = match rest.strip_suffix('/') {
        Some(without) => without.to_owned(),
        None => format!("{rest}/"),
    };
    see_other(&format!("{}{target}", console_base(&state)))
}

async fn to_home(state: web::Data<AppState>) -> HttpResponse {
    see_other(&format!("{}/", console_base(&state)))
}

/// Where the console is as the browser sees it: below the public URL's
/// path (`/id/admin/console` for `--public-url https://example.com/id`).
pub fn console_base(state: &AppState) -> String {
    crate::web::cookies::Scope::of(state).path(BASE)
}

/// A console page's URL for a realm (`tail` without a leading slash).
pub fn realm_url(base: &str, realm: &str, tail: &str) -> String {
    let realm = percent_encoding::utf8_percent_encode(realm, crate::admin::PATH_SEGMENT);
    format!("{base}/realms/{realm}/{tail}")
}

/// Post/redirect/get: 303 to a console page.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// A console timestamp.
pub fn when(ts: i64) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .map_or_else(|| ts.to_string(), |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
}

/// The fixed messages a redirect may ask a page to show (`?done=`): only
/// these, so a crafted link cannot put words in the console's mouth.
pub fn notice(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "created" => "Created.",
        "imported" => "Imported.",
        "saved" => "Saved.",
        "deleted" => "Deleted.",
        "rotated" => "A new signing key is active; the old one stays published until its tokens expire.",
        "password" => "Password set.",
        "role-added" => "Role assigned.",
        "role-removed" => "Role removed.",
        "signed-out" => "Signed out.",
        "signed-out-all" => "Every session of this realm has ended.",
        "secret-set" => "The secret was set. Give it to every application that uses this client.",
        _ => return None,
    })
}

/// Records a console change in the audit log as the REST call it mirrors.
pub async fn audit(state: &AppState, ctx: &Ctx, realm: &str, method: Method, rest: &str) {
    crate::admin::events::record_console_change(state, &ctx.admin, realm, (method, rest), ctx.ip.clone(), false).await;
}

/// Why a console request cannot be answered with its page.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// To the `master` realm's sign-in, below the public URL's path (this prefix).
    #[error("sign-in needed")]
    SignIn(String),
    #[error("the form has expired")]
    Expired,
    #[error("not an administrator")]
    NotAdmin,
    #[error("forbidden")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("the server is busy")]
    Busy,
    #[error("internal error")]
    Internal,
}

impl ConsoleError {
    pub fn internal(error: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %ErrorChain(error), "console: internal error");
        Self::Internal
    }
}

impl From<AdminError> for ConsoleError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Unauthorized => Self::SignIn(String::new()),
            AdminError::Forbidden => Self::Forbidden,
            AdminError::NotFound(what) => Self::NotFound(what),
            AdminError::Conflict(message)
            | AdminError::BadRequest(message)
            | AdminError::UnsupportedMediaType(message) => Self::BadRequest(message),
            AdminError::Busy => Self::Busy,
            AdminError::RequestTimeout => Self::BadRequest("The form did not arrive in time.".into()),
            AdminError::Internal(error) => Self::internal(error.as_ref()),
        }
    }
}

impl From<crate::storage::StorageError> for ConsoleError {
    fn from(e: crate::storage::StorageError) -> Self {
        AdminError::from(e).into()
    }
}

impl From<crate::services::realm_cache::CacheError> for ConsoleError {
    fn from(e: crate::services::realm_cache::CacheError) -> Self {
        AdminError::from(e).into()
    }
}

impl From<crate::services::ServiceError> for ConsoleError {
    fn from(e: crate::services::ServiceError) -> Self {
        AdminError::from(e).into()
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn(_) => StatusCode::SEE_OTHER,
            Self::Expired | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotAdmin | Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (title, message) = match self {
            Self::SignIn(below) => return session::to_sign_in(below),
            Self::Expired => ("This form has expired", "Go back, reload the page and try again.".to_owned()),
            Self::NotAdmin => (
                "Not an administrator",
                "Your account may not administer any realm. Sign out from your account page to switch users."
                    .to_owned(),
            ),
            Self::Forbidden => ("Not allowed", "Your administrator roles do not allow this.".to_owned()),
            Self::NotFound(what) => ("Not found", format!("The {} does not exist.", what.to_lowercase())),
            Self::BadRequest(message) => ("That did not work", message.clone()),
            Self::Busy => {
                ("Temporarily unavailable", "The server cannot answer right now. Try again in a moment.".to_owned())
            }
            Self::Internal => ("Something went wrong", "An internal error occurred.".to_owned()),
        };
        let page = ErrorPage { realm_display: TITLE, title, message: &message };
        render(&mut page_builder(self.status_code()), &page)
    }
}

/// Paging of a console list: `first` from the query, a fixed page size.
pub struct Pager {
    pub first: usize,
    pub size: usize,
    pub shown: usize,
    pub total: Option<usize>,
    /// The list's URL with its other query parameters, ending in `&` or `?`.
    pub base: String,
}

impl Pager {
    pub fn new(form: &Form, size: usize, base: String) -> Self {
        // As the REST API's `first`: a count, at most what an i64 offset holds.
        let first = form.get("first").parse::<i64>().unwrap_or(0).clamp(0, i64::from(i32::MAX)) as usize;
        Self { first, size, shown: 0, total: None, base }
    }

    /// One page of a list held in memory (sets `total` and `shown`).
    pub fn take<T>(&mut self, items: Vec<T>) -> Vec<T> {
        self.total = Some(items.len());
        let page: Vec<T> = items.into_iter().skip(self.first).take(self.size).collect();
        self.shown = page.len();
        page
    }

    pub fn prev(&self) -> Option<String> {
        (self.first > 0).then(|| format!("{}first={}", self.base, self.first.saturating_sub(self.size)))
    }

    pub fn next(&self) -> Option<String> {
        let more = match self.total {
            Some(total) => self.first.saturating_add(self.shown) < total,
            None => self.shown == self.size,
        };
        more.then(|| format!("{}first={}", self.base, self.first.saturating_add(self.size)))
    }

    pub fn summary(&self) -> String {
        match (self.shown, self.total) {
            (0, _) => "Nothing to show.".to_owned(),
            (n, Some(total)) => {
                format!("{}–{} of {}", self.first.saturating_add(1), self.first.saturating_add(n), total)
            }
            (n, None) => format!("{}–{}", self.first.saturating_add(1), self.first.saturating_add(n)),
        }
    }
}
