//! Keycloak's admin representations, with the fields realmgate models (the
//! admin modules' `to_rep` and `to_row`). Keycloak's representations carry
//! more: realmgate keeps any other field of a realm, client or user as an
//! opaque attribute and returns it on GET, hence `additionalProperties`.
//! Every field is optional on input (PUT merges; `null` keeps the value).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A realm (`RealmRepresentation`); lifespans are in seconds.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RealmRepresentation {
    #[schema(read_only)]
    pub id: Option<String>,
    /// The realm's name; required on create, cannot change.
    pub realm: Option<String>,
    pub display_name: Option<String>,
    pub enabled: Option<bool>,
    pub access_token_lifespan: Option<i64>,
    /// The authorization code's lifetime.
    pub access_code_lifespan: Option<i64>,
    pub sso_session_idle_timeout: Option<i64>,
    pub sso_session_max_lifespan: Option<i64>,
    #[serde(rename = "oauth2DeviceCodeLifespan")]
    pub oauth2_device_code_lifespan: Option<i64>,
    #[serde(rename = "oauth2DevicePollingInterval")]
    pub oauth2_device_polling_interval: Option<i64>,
    #[schema(pattern = "^(RS256|PS256|ES256|EdDSA)$")]
    pub default_signature_algorithm: Option<String>,
    /// Refresh token rotation.
    pub revoke_refresh_token: Option<bool>,
    /// Keycloak's attributes; realmgate's own settings travel here as
    /// `realmgate.idTokenLifespan`, `realmgate.refreshTokenLifespan`,
    /// `realmgate.refreshTokenReuseGrace` (seconds, as strings),
    /// `realmgate.queryTokens` and `realmgate.basicAuth` (`"true"`/`"false"`).
    pub attributes: Option<BTreeMap<String, String>>,
    /// Fields realmgate does not model, kept and returned as they were sent.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// A client (`ClientRepresentation`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientRepresentation {
    #[schema(read_only)]
    pub id: Option<String>,
    /// Required on create; unique in the realm.
    pub client_id: Option<String>,
    pub name: Option<String>,
    pub enabled: Option<bool>,
    /// Shown to callers who may view clients; generated when a confidential client is created without one.
    pub secret: Option<String>,
    /// No secret: the client must use PKCE.
    pub public_client: Option<bool>,
    /// Always `client-secret`.
    pub client_authenticator_type: Option<String>,
    /// Always `openid-connect`.
    pub protocol: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    /// The `authorization_code` grant.
    pub standard_flow_enabled: Option<bool>,
    /// The `implicit` grant.
    pub implicit_flow_enabled: Option<bool>,
    /// The `password` grant.
    pub direct_access_grants_enabled: Option<bool>,
    /// The `client_credentials` grant.
    pub service_accounts_enabled: Option<bool>,
    pub consent_required: Option<bool>,
    /// The scopes the client may request (the realm file's `scopes`).
    pub default_client_scopes: Option<Vec<String>>,
    pub optional_client_scopes: Option<Vec<String>>,
    /// Always `false`.
    pub bearer_only: Option<bool>,
    /// `oauth2.device.authorization.grant.enabled` and `use.refresh.tokens`
    /// (`"true"`/`"false"`) and `post.logout.redirect.uris` (`##`-separated)
    /// are modelled; others are kept.
    pub attributes: Option<BTreeMap<String, String>>,
    /// Fields realmgate does not model, kept and returned as they were sent.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// A credential (`CredentialRepresentation`): a password to set, or a
/// client's secret as `client-secret` answers it.
#[derive(Serialize, ToSchema)]
pub struct CredentialRepresentation {
    /// `password` for users (the default), `secret` for clients.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The password or the secret; public clients have none.
    pub value: Option<String>,
    /// A temporary password: the user must choose a new one at the next
    /// sign-in (and the password grant refuses it until then).
    pub temporary: Option<bool>,
}

/// A user (`UserRepresentation`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserRepresentation {
    #[schema(read_only)]
    pub id: Option<String>,
    /// Required on create; stored lower-case; cannot change.
    pub username: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enabled: Option<bool>,
    /// Milliseconds since the epoch.
    #[schema(read_only)]
    pub created_timestamp: Option<i64>,
    /// On create: the password (the last `password` credential counts).
    #[schema(write_only)]
    pub credentials: Option<Vec<CredentialRepresentation>>,
    /// On create: names of realm roles to grant.
    #[schema(write_only)]
    pub realm_roles: Option<Vec<String>>,
    /// For a service-account user: its client's `clientId`.
    #[schema(read_only)]
    pub service_account_client_id: Option<String>,
    #[schema(read_only)]
    pub totp: Option<bool>,
    #[schema(read_only)]
    pub not_before: Option<i64>,
    /// `["UPDATE_PASSWORD"]` while a temporary password must be replaced;
    /// setting it (or `[]`) sets (or lifts) that requirement.
    pub required_actions: Option<Vec<String>>,
    #[schema(read_only)]
    pub disableable_credential_types: Option<Vec<String>>,
    #[schema(read_only)]
    pub access: Option<BTreeMap<String, bool>>,
    /// Fields realmgate does not model, kept and returned as they were sent.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// A user's SSO session (`UserSessionRepresentation`); times in milliseconds.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSessionRepresentation {
    pub id: String,
    pub username: String,
    pub user_id: String,
    pub ip_address: String,
    pub start: i64,
    pub last_access: i64,
    pub remember_me: bool,
    pub clients: BTreeMap<String, String>,
    pub transient_user: bool,
}

/// A realm role, or a role of the `realm-management` client (`RoleRepresentation`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleRepresentation {
    #[schema(read_only)]
    pub id: Option<String>,
    /// Required on create; cannot change.
    pub name: Option<String>,
    pub description: Option<String>,
    #[schema(read_only)]
    pub composite: Option<bool>,
    #[schema(read_only)]
    pub client_role: Option<bool>,
    /// The realm's id, or the client's for a client role.
    #[schema(read_only)]
    pub container_id: Option<String>,
    /// `scopes`: the scopes the role's holders may be granted (a list, or
    /// one space-separated string on input).
    pub attributes: Option<BTreeMap<String, Vec<String>>>,
}

/// The roles a user holds (`MappingsRepresentation`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MappingsRepresentation {
    pub realm_mappings: Vec<RoleRepresentation>,
    /// By `clientId`; only `realm-management`, and only when the user holds some of its roles.
    pub client_mappings: Option<BTreeMap<String, ClientMappingsRepresentation>>,
}

/// One client's roles held by a user (`ClientMappingsRepresentation`).
#[derive(Serialize, ToSchema)]
pub struct ClientMappingsRepresentation {
    /// The client's UUID.
    pub id: String,
    /// The client's `clientId`.
    pub client: String,
    pub mappings: Vec<RoleRepresentation>,
}

/// A client scope (`ClientScopeRepresentation`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientScopeRepresentation {
    #[schema(read_only)]
    pub id: Option<String>,
    /// Required on create; cannot change.
    pub name: Option<String>,
    pub description: Option<String>,
    /// Always `openid-connect`.
    pub protocol: Option<String>,
    /// `realmgate.implies` (space-separated scope names) is modelled;
    /// `realmgate.builtIn`, `include.in.token.scope` and
    /// `display.on.consent.screen` are reported; others are kept as sent.
    pub attributes: Option<BTreeMap<String, String>>,
}

/// A client scope as the default-scope lists name it.
#[derive(Serialize, ToSchema)]
pub struct ClientScopeReference {
    pub id: String,
    pub name: String,
}
