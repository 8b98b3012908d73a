//! The admin API's one error type and its Keycloak-shaped bodies (SPEC §6).

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::error::ErrorChain;
use crate::services::ServiceError;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("HTTP 401 Unauthorized")]
    Unauthorized,
    #[error("HTTP 403 Forbidden")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(String),
    /// The whole message, as Keycloak words it.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    /// A body in a format no admin endpoint reads (a form, but for a token).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A body that stopped arriving.
    #[error("The request body did not arrive in time")]
    RequestTimeout,
    #[error("the server is busy")]
    Busy,
    #[error(transparent)]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl AdminError {
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    /// `<what> already exists`.
    pub fn conflict(what: impl std::fmt::Display) -> Self {
        Self::Conflict(format!("{what} already exists"))
    }

    pub fn bad_request(why: impl Into<String>) -> Self {
        Self::BadRequest(why.into())
    }
}

impl From<StorageError> for AdminError {
    fn from(e: StorageError) -> Self {
        ServiceError::from(e).into()
    }
}

impl From<crate::services::realm_cache::CacheError> for AdminError {
    fn from(e: crate::services::realm_cache::CacheError) -> Self {
        ServiceError::from(e).into()
    }
}

impl From<ServiceError> for AdminError {
    fn from(e: ServiceError) -> Self {
        if e.is_unavailable() {
            crate::services::log_unavailable(&e);
            return Self::Busy;
        }
        if e.is_busy() { Self::Busy } else { Self::Internal(Box::new(e)) }
    }
}

impl From<crate::services::passwords::PasswordError> for AdminError {
    fn from(e: crate::services::passwords::PasswordError) -> Self {
        ServiceError::from(e).into()
    }
}

impl From<crate::services::realms::RealmAdminError> for AdminError {
    fn from(e: crate::services::realms::RealmAdminError) -> Self {
        use crate::services::realms::RealmAdminError as E;
        match e {
            E::NoSuchRealm(name) => Self::NotFound(format!("Realm {name}")),
            E::UserExists(_) => Self::Conflict("User exists with same username".into()),
            E::Storage(e) => e.into(),
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            Self::Unauthorized | Self::Forbidden | Self::NotFound(_) => json!({ "error": self.to_string() }),
            Self::Conflict(_) => json!({ "errorMessage": self.to_string() }),
            Self::BadRequest(why) | Self::UnsupportedMediaType(why) => {
                json!({ "error": "invalid_request", "error_description": why })
            }
            Self::RequestTimeout => json!({ "error": "invalid_request", "error_description": self.to_string() }),
            Self::Busy => json!({ "error": "temporarily_unavailable", "error_description": "Try again shortly" }),
            Self::Internal(e) => {
                tracing::error!(error = %ErrorChain(e.as_ref()), "admin API internal error");
                json!({ "error": "unknown_error" })
            }
        };
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        if matches!(self, Self::Unauthorized) {
            // SPEC §5: the same challenge for a missing, expired, revoked or bad credential.
            response.insert_header((header::WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#));
        }
        response.json(body)
    }
}
