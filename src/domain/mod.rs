//! Pure types and rules of the identity model: no actix, no diesel.

pub mod authorization;
pub mod client;
pub mod device;
pub mod realm;
pub mod role;
pub mod scope;
pub mod text;
pub mod user;

/// A value that failed to parse, with the reason a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
