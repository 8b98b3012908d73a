//! realmgate: a multi-realm OpenID Connect / OAuth 2.0 identity provider.

pub mod admin;
pub mod cli;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod console;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod health;
pub mod import;
pub mod metrics;
pub mod oidc;
pub mod openapi;
pub mod realm_path;
pub mod services;
pub mod startup;
pub mod state;
pub mod storage;
pub mod tokens;
pub mod web;
