//! The application state every handler receives: no globals.

use std::sync::Arc;

use crate::clock::Clock;
use crate::crypto::SecretKey;
use crate::metrics::Metrics;
use crate::services::events::EventSink;
use crate::services::passwords::PasswordHasher;
use crate::services::realm_cache::RealmCache;
use crate::storage::Db;

/// Cheap to clone: handles to shared parts.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub cache: Arc<RealmCache>,
    pub clock: Arc<dyn Clock>,
    pub secret: SecretKey,
    pub hasher: PasswordHasher,
    pub metrics: Arc<Metrics>,
    /// Base of every issuer and link, without a trailing slash.
    pub public_url: String,
    pub events: EventSink,
    pub proxies: crate::client_ip::TrustedProxies,
}

impl AppState {
    /// The client's address (through trusted proxies), for limits and logs.
    pub fn client_ip(&self, req: &actix_web::HttpRequest) -> Option<String> {
        self.proxies.client_ip(req).map(|ip| ip.to_string())
    }

    /// The client as rate limits count it (IPv6 by its /64).
    pub fn client_rate_key(&self, req: &actix_web::HttpRequest) -> String {
        self.proxies.client_ip(req).map(crate::client_ip::rate_limit_key).unwrap_or_default()
    }
}
