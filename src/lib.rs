//! realmgate: a multi-realm OpenID Connect / OAuth 2.0 identity provider.

pub mod clock;
pub mod crypto;
pub mod domain;
pub mod import;
pub mod services;
pub mod storage;
pub mod tokens;
