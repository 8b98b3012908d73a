//! The two error families and their one mapping to HTTP each:
//! `OAuthError` (RFC 6749 §5.2 / RFC 6750 §3 JSON) and `AppError` (pages and
//! plain resources). A 500 is opaque to the client and logged once with its
//! whole cause chain.

use std::borrow::Cow;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

/// The `error` codes of RFC 6749, RFC 6750, RFC 7009 and RFC 8628.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    InvalidToken,
    InsufficientScope,
    UnsupportedTokenType,
    AccessDenied,
    UnsupportedResponseType,
    RequestNotSupported,
    RequestUriNotSupported,
    LoginRequired,
    ConsentRequired,
    AuthorizationPending,
    SlowDown,
    ExpiredToken,
    NotFound,
    ServerError,
    TemporarilyUnavailable,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
            Self::NotFound => "not_found",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Self::InvalidClient | Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::InsufficientScope => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// An OAuth error as the wire shows it.
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
    status: StatusCode,
    www_authenticate: Option<String>,
    audit: Option<Box<Audited>>,
}

/// How the audit log records a refusal where Keycloak's event says more
/// than the wire's code (`invalid_user_credentials`, and whose, for an
/// `invalid_grant`).
#[derive(Debug, Clone)]
pub struct Audited {
    pub error: &'static str,
    pub user_id: Option<String>,
}

/// The longest `error_description` sent: a description may quote the
/// request (an unknown scope), which must not come back tens of KiB long.
const MAX_DESCRIPTION_CHARS: usize = 300;

/// `description` in the characters RFC 6749 §5.2 allows (printable ASCII
/// but `"` and `\`: descriptions may echo what a client sent), cut to
/// [`MAX_DESCRIPTION_CHARS`] characters.
pub fn bounded_description(description: Cow<'_, str>) -> Cow<'_, str> {
    let allowed = |c: char| matches!(c, ' '..='~') && c != '"' && c != '\\';
    if description.len() <= MAX_DESCRIPTION_CHARS && description.chars().all(allowed) {
        return description;
    }
    let shown = |c: char| match c {
        '"' => '\'',
        c if allowed(c) => c,
        _ => '?',
    };
    let mut cut: String = description.chars().take(MAX_DESCRIPTION_CHARS).map(shown).collect();
    if description.chars().nth(MAX_DESCRIPTION_CHARS).is_some() {
        cut.push_str("...");
    }
    Cow::Owned(cut)
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        let description = bounded_description(description.into());
        Self { code, description, status: code.status(), www_authenticate: None, audit: None }
    }

    /// The same error, recorded in the audit log as Keycloak records it.
    pub fn audited_as(mut self, error: &'static str, user_id: Option<&str>) -> Self {
        self.audit = Some(Box::new(Audited { error, user_id: user_id.map(str::to_owned) }));
        self
    }

    pub fn audit(&self) -> Option<&Audited> {
        self.audit.as_deref()
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    pub fn unauthorized_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::UnauthorizedClient, description)
    }

    pub fn invalid_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    /// A body that stopped arriving: 408 (actix closes the connection, as
    /// the body was never read to its end).
    pub fn request_timeout() -> Self {
        let mut error = Self::invalid_request("The request body did not arrive in time");
        error.status = StatusCode::REQUEST_TIMEOUT;
        error
    }

    /// A body over the endpoint's limit: 413 in the OAuth error shape.
    pub fn payload_too_large() -> Self {
        let mut error = Self::invalid_request("The request body is too large");
        error.status = StatusCode::PAYLOAD_TOO_LARGE;
        error
    }

    /// Keycloak's answer to a protocol request in a disabled realm.
    pub fn realm_disabled() -> Self {
        let mut error = Self::new(ErrorCode::AccessDenied, "Realm not enabled");
        error.status = StatusCode::FORBIDDEN;
        error
    }

    pub fn realm_not_found() -> Self {
        Self::new(ErrorCode::NotFound, "Realm does not exist")
    }

    /// An unexpected failure: logged here with its cause chain, opaque on the wire.
    pub fn internal(error: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %ErrorChain(error), "internal error");
        Self::new(ErrorCode::ServerError, "An internal error occurred")
    }

    /// `invalid_client` after HTTP Basic: 401 with a Basic challenge (RFC 6749 §5.2).
    pub fn with_basic_challenge(mut self, realm: &str) -> Self {
        self.www_authenticate = Some(format!("Basic realm=\"{realm}\""));
        self
    }

    /// A protected-resource error (RFC 6750 §3): Bearer challenge with the code.
    pub fn bearer(code: ErrorCode, realm: &str, description: impl Into<Cow<'static, str>>) -> Self {
        let description = bounded_description(description.into());
        let challenge = format!(
            "Bearer realm=\"{realm}\", error=\"{}\", error_description=\"{}\"",
            code.as_str(),
            description.replace(['"', '\\'], "")
        );
        Self { code, description, status: code.status(), www_authenticate: Some(challenge), audit: None }
    }

    /// Offers HTTP Basic beside the challenge already set: one header, two
    /// challenges (RFC 9110 §11.6.1), so that a client that negotiates
    /// (curl --anyauth, a browser) learns Basic is accepted.
    pub fn also_basic(mut self, realm: &str) -> Self {
        let basic = format!("Basic realm=\"{realm}\"");
        self.www_authenticate = Some(match self.www_authenticate.take() {
            Some(challenge) => format!("{challenge}, {basic}"),
            None => basic,
        });
        self
    }

    /// A refused HTTP Basic login at a protected endpoint: 401 with a Basic challenge.
    pub fn invalid_token_basic(realm: &str, description: impl Into<Cow<'static, str>>) -> Self {
        let mut error = Self::new(ErrorCode::InvalidToken, description);
        error.www_authenticate = Some(format!("Basic realm=\"{realm}\""));
        error
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for OAuthError {}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response
            .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")));
        if let Some(challenge) = &self.www_authenticate
            && let Ok(value) = HeaderValue::from_str(challenge)
        {
            response.insert_header((header::WWW_AUTHENTICATE, value));
        }
        response.json(serde_json::json!({
            "error": self.code.as_str(),
            "error_description": self.description,
        }))
    }
}

/// Errors outside the OAuth wire format: resources and pages.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl AppError {
    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(error))
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            Self::Internal(error) => {
                tracing::error!(error = %ErrorChain(error.as_ref()), "internal error");
                "An internal error occurred".to_owned()
            }
            other => other.to_string(),
        };
        HttpResponse::build(self.status_code())
            .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .json(serde_json::json!({ "error": message }))
    }
}

/// Displays an error with all its sources: `a: b: c`. A source whose
/// message its error already ends with (`#[error("…: {0}")]` over a
/// `#[from]` field) is not repeated.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.to_string();
        let mut source = self.0.source();
        while let Some(cause) = source {
            let message = cause.to_string();
            if !shown.ends_with(&message) {
                shown = format!("{shown}: {message}");
            }
            source = cause.source();
        }
        f.write_str(&shown)
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorChain;

    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner;

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("outer: {0}")]
        Quoting(#[from] Inner),
        #[error("outer")]
        Plain(#[source] Inner),
    }

    #[test]
    fn descriptions_keep_to_rfc_6749_characters_and_length() {
        use super::{MAX_DESCRIPTION_CHARS, bounded_description};
        let plain = bounded_description("Invalid scope: `roms.read`".into());
        assert!(matches!(plain, std::borrow::Cow::Borrowed(_)), "kept as it is");
        let echoed = bounded_description("scope `x\u{1}\"y\\ü` is unknown".into());
        assert_eq!(echoed, "scope `x?'y??` is unknown");
        let long = bounded_description("a".repeat(MAX_DESCRIPTION_CHARS + 1).into());
        assert_eq!(long, format!("{}...", "a".repeat(MAX_DESCRIPTION_CHARS)));
        assert_eq!(bounded_description("b".repeat(MAX_DESCRIPTION_CHARS).into()).len(), MAX_DESCRIPTION_CHARS);
    }

    #[test]
    fn every_message_once() {
        assert_eq!(ErrorChain(&Outer::Quoting(Inner)).to_string(), "outer: inner");
        assert_eq!(ErrorChain(&Outer::Plain(Inner)).to_string(), "outer: inner");
    }
}
