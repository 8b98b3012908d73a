//! The realm-wide read models of the admin API: keys, server info and the
//! audit log.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// The realm's published signing keys (`KeysMetadataRepresentation`).
#[derive(Serialize, ToSchema)]
pub struct KeysMetadataRepresentation {
    /// The active key's `kid` per algorithm.
    pub active: BTreeMap<String, String>,
    pub keys: Vec<KeyMetadataRepresentation>,
}

/// One signing key (`KeyMetadataRepresentation`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyMetadataRepresentation {
    pub kid: String,
    /// `RSA`, `EC` or `OKP`.
    #[serde(rename = "type")]
    pub kind: String,
    pub provider_id: String,
    pub provider_priority: i64,
    pub algorithm: String,
    /// `ACTIVE` signs; `PASSIVE` is retired but still verifies live tokens.
    pub status: String,
    /// The public key, DER, base64.
    pub public_key: String,
    /// Always `SIG`.
    #[serde(rename = "use")]
    pub key_use: String,
    /// Milliseconds since the epoch until which a retired key stays published.
    pub valid_to: Option<i64>,
}

/// What `/admin/serverinfo` answers (`ServerInfoRepresentation`): enough
/// for Keycloak's admin clients; the other members are empty.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfoRepresentation {
    pub system_info: SystemInfo,
    pub features: Vec<Value>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// The server's version, as Keycloak's clients expect it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemInfo {
    /// The Keycloak version realmgate answers as (`26.0.0`).
    pub version: String,
    /// RFC 3339.
    pub server_time: String,
    pub realmgate_version: String,
}

/// A user event (`EventRepresentation`): a token request, login or logout.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventRepresentation {
    pub id: String,
    /// Milliseconds since the epoch.
    pub time: i64,
    /// `LOGIN`, `LOGIN_ERROR`, `CODE_TO_TOKEN`, `REFRESH_TOKEN`, `CLIENT_LOGIN`, `LOGOUT`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub realm_id: String,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub ip_address: Option<String>,
    /// The OAuth error code of a failure.
    pub error: Option<String>,
    pub details: BTreeMap<String, Value>,
}

/// An admin event (`AdminEventRepresentation`): one successful change.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminEventRepresentation {
    pub id: String,
    /// Milliseconds since the epoch.
    pub time: i64,
    pub realm_id: String,
    pub auth_details: AuthDetailsRepresentation,
    /// `CREATE`, `UPDATE`, `DELETE` or `ACTION`.
    pub operation_type: String,
    /// `REALM`, `CLIENT`, `USER`, `REALM_ROLE`, `CLIENT_SCOPE`, …
    pub resource_type: String,
    pub resource_path: String,
}

/// Who made an admin change (`AuthDetailsRepresentation`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthDetailsRepresentation {
    pub realm_id: String,
    pub client_id: String,
    pub user_id: String,
    pub ip_address: Option<String>,
}

/// The event settings (`RealmEventsConfigRepresentation`), kept with the
/// realm (its representation has the same fields): `eventsEnabled` and
/// `enabledEventTypes` (empty: Keycloak's default types, every one but
/// `REFRESH_TOKEN` and `REFRESH_TOKEN_ERROR`) decide which user events are
/// stored, `adminEventsEnabled` whether admin changes are (turning it on or
/// off is recorded either way), `eventsExpiration` how many seconds user
/// events are kept when shorter than the server's `--events-retention` (0:
/// none of the realm's own).
/// `eventsListeners` and `adminEventsDetailsEnabled` are kept as sent.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RealmEventsConfigRepresentation {
    pub events_enabled: Option<bool>,
    /// Seconds.
    pub events_expiration: Option<i64>,
    pub events_listeners: Option<Vec<String>>,
    pub enabled_event_types: Option<Vec<String>>,
    pub admin_events_enabled: Option<bool>,
    pub admin_events_details_enabled: Option<bool>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}
