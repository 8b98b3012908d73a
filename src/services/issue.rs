//! Minting tokens: RFC 9068 access tokens, ID tokens, and the token response.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::realm_cache::RealmEntry;
use crate::clock::UnixTime;
use crate::crypto;
use crate::domain::client::Client;
use crate::domain::scope::ScopeSet;
use crate::domain::user::User;
use crate::error::OAuthError;
use crate::tokens::claims::{ACCESS_TOKEN_TYP, AccessClaims, ID_TOKEN_TYP, IdClaims, half_hash};
use crate::tokens::jws;

/// The token endpoint's success body (RFC 6749 §5.1).
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    /// Absent only for personal access tokens without an expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_expires_in: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
    /// Whom the tokens are about (for the audit log; not on the wire).
    #[serde(skip)]
    pub user_id: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "<redacted>"))
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Who a token is about.
pub enum Subject<'a> {
    User {
        user: &'a User,
        /// The realm roles the user holds, for the `realm_access` claim.
        role_ids: &'a [String],
        auth_time: UnixTime,
        /// The SSO session the grant belongs to, if any.
        sid: Option<&'a str>,
        /// When that session reaches its maximum lifetime: no access token
        /// outlives it (Keycloak caps them alike; offline grants have none).
        session_ends: Option<UnixTime>,
    },
    /// The client acting for itself (`client_credentials`).
    Client,
}

/// A fresh token id; tokens of a refresh family carry the family's id first.
pub fn new_jti(family_id: Option<&str>) -> String {
    let random = crypto::random_token(16);
    match family_id {
        Some(family) => format!("{family}:{random}"),
        None => random,
    }
}

fn sign<T: Serialize>(entry: &RealmEntry, typ: &str, claims: &T) -> Result<String, OAuthError> {
    jws::sign(&entry.keys.active, typ, claims).map_err(|e| OAuthError::internal(&e))
}

/// Mints a JWT access token; returns it with its lifetime in seconds.
pub fn access_token(
    entry: &RealmEntry,
    client: &Client,
    subject: &Subject<'_>,
    scope: &ScopeSet,
    jti: String,
    now: UnixTime,
) -> Result<(String, i64), OAuthError> {
    let full = now + entry.realm.settings.access_token_lifetime;
    let exp = match subject {
        Subject::User { session_ends: Some(ends), .. } => full.min(*ends).max(now),
        _ => full,
    };
    let (sub, auth_time, preferred_username, resource_access, realm_access) = match subject {
        Subject::User { user, role_ids, auth_time, .. } => {
            let roles = entry.role_names_of(role_ids);
            let access = (!roles.is_empty()).then(|| serde_json::json!({ "roles": roles }));
            // As Keycloak carries them, but only to the realm's own
            // applications: a third-party one (asking consent) never gets a
            // token the admin API would take as the user's.
            let management = &user.admin_roles;
            let resource = (!management.is_empty() && !client.consent_required)
                .then(|| serde_json::json!({ "realm-management": { "roles": management } }));
            (user.id.clone(), Some(*auth_time), Some(user.username.clone()), resource, access)
        }
        Subject::Client => {
            let roles = &client.service_account_roles;
            let access = (!roles.is_empty()).then(|| serde_json::json!({ "realm-management": { "roles": roles } }));
            (client.id.clone(), None, None, access, None)
        }
    };
    let claims = AccessClaims {
        iss: entry.issuer.clone(),
        sub,
        aud: client.client_id.clone(),
        exp,
        iat: now,
        jti,
        client_id: client.client_id.clone(),
        azp: Some(client.client_id.clone()),
        scope: scope.to_string(),
        auth_time,
        preferred_username,
        sid: match subject {
            Subject::User { sid, .. } => sid.map(str::to_owned),
            Subject::Client => None,
        },
        resource_access,
        realm_access,
        client_uuid: Some(client.id.clone()),
    };
    Ok((sign(entry, ACCESS_TOKEN_TYP, &claims)?, exp - now))
}

/// The profile and email claims that `scope` allows (Core §5.4).
pub fn profile_claims(user: &User, scope: &ScopeSet) -> Map<String, Value> {
    let mut claims = Map::new();
    if scope.contains("profile") {
        claims.insert("preferred_username".into(), user.username.clone().into());
        if let Some(name) = user.full_name() {
            claims.insert("name".into(), name.into());
        }
        if let Some(given) = &user.given_name {
            claims.insert("given_name".into(), given.clone().into());
        }
        if let Some(family) = &user.family_name {
            claims.insert("family_name".into(), family.clone().into());
        }
    }
    if scope.contains("email")
        && let Some(email) = &user.email
    {
        claims.insert("email".into(), email.clone().into());
        claims.insert("email_verified".into(), user.email_verified.into());
    }
    if scope.contains("phone") || scope.contains("address") {
        attribute_claims(user, scope, &mut claims);
    }
    claims
}

/// The `phone` and `address` claims (Core §5.1, §5.4) from the user's
/// attributes, named as Keycloak's built-in mappers read them.
fn attribute_claims(user: &User, scope: &ScopeSet, claims: &mut Map<String, Value>) {
    let stored: Map<String, Value> = serde_json::from_str(&user.representation).unwrap_or_default();
    let Some(Value::Object(attributes)) = stored.get("attributes") else { return };
    // Keycloak keeps each attribute as a list of values; the first is the claim.
    let first = |name: &str| {
        match attributes.get(name)? {
            Value::Array(values) => values.first()?.as_str().map(str::to_owned),
            Value::String(value) => Some(value.clone()),
            _ => None,
        }
        .filter(|v| !v.is_empty())
    };
    if scope.contains("phone")
        && let Some(number) = first("phoneNumber")
    {
        claims.insert("phone_number".into(), number.into());
        let verified = first("phoneNumberVerified").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        claims.insert("phone_number_verified".into(), verified.into());
    }
    if scope.contains("address") {
        let address: Map<String, Value> = [
            ("formatted", "formatted"),
            ("street_address", "street"),
            ("locality", "locality"),
            ("region", "region"),
            ("postal_code", "postal_code"),
            ("country", "country"),
        ]
        .into_iter()
        .filter_map(|(claim, attribute)| first(attribute).map(|v| (claim.to_owned(), Value::from(v))))
        .collect();
        if !address.is_empty() {
            claims.insert("address".into(), Value::Object(address));
        }
    }
}

/// What goes into an ID token besides the user and scope.
#[derive(Default)]
pub struct IdTokenExtras<'a> {
    pub nonce: Option<&'a str>,
    pub sid: Option<&'a str>,
    pub access_token: Option<&'a str>,
    pub code: Option<&'a str>,
    /// The authorization request's `state`: hashed into `s_hash` (FAPI 1
    /// Advanced §5.2.2.1, which Keycloak sends too; detached-signature
    /// checks of relying-party libraries ask for it).
    pub state: Option<&'a str>,
    /// When the session the token names ends if not used again: the ID
    /// token does not outlive it, as the access token does not (Keycloak's
    /// share one expiry), or a relying party would keep a user signed in
    /// past the session.
    pub session_ends: Option<UnixTime>,
}

/// Mints an ID token (Core §2) for a user who was granted `openid`.
pub fn id_token(
    entry: &RealmEntry,
    client: &Client,
    user: &User,
    scope: &ScopeSet,
    auth_time: UnixTime,
    extras: IdTokenExtras<'_>,
    now: UnixTime,
) -> Result<String, OAuthError> {
    let alg = entry.keys.active.algorithm;
    let full = now + entry.realm.settings.id_token_lifetime;
    let claims = IdClaims {
        iss: entry.issuer.clone(),
        sub: user.id.clone(),
        aud: client.client_id.clone(),
        exp: extras.session_ends.map_or(full, |ends| full.min(ends).max(now)),
        iat: now,
        auth_time,
        azp: client.client_id.clone(),
        nonce: extras.nonce.map(str::to_owned),
        sid: extras.sid.map(str::to_owned),
        at_hash: extras.access_token.map(|t| half_hash(alg, t)),
        c_hash: extras.code.map(|c| half_hash(alg, c)),
        s_hash: extras.state.map(|s| half_hash(alg, s)),
        profile: profile_claims(user, scope),
    };
    sign(entry, ID_TOKEN_TYP, &claims)
}

/// A grant to a user, as the token response needs it.
pub struct UserGrant<'a> {
    pub user: &'a User,
    /// The realm roles the user holds.
    pub role_ids: &'a [String],
    pub scope: &'a ScopeSet,
    pub auth_time: UnixTime,
    /// Named in every access token's jti, so the grant is revoked as one.
    pub grant_id: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub sid: Option<&'a str>,
    /// See [`Subject::User::session_ends`].
    pub session_ends: Option<UnixTime>,
}

/// The token response for a user: an access token, an ID token when
/// `openid` was granted, and `refresh` (token, expiry) when one was issued.
pub fn user_tokens(
    entry: &RealmEntry,
    client: &Client,
    grant: &UserGrant<'_>,
    refresh: Option<(&str, UnixTime)>,
    now: UnixTime,
) -> Result<TokenResponse, OAuthError> {
    let subject = Subject::User {
        user: grant.user,
        role_ids: grant.role_ids,
        auth_time: grant.auth_time,
        sid: grant.sid,
        session_ends: grant.session_ends,
    };
    let (access_token, expires_in) = access_token(entry, client, &subject, grant.scope, new_jti(grant.grant_id), now)?;
    let id_token = if grant.scope.contains("openid") {
        let extras = IdTokenExtras {
            nonce: grant.nonce,
            sid: grant.sid,
            access_token: Some(&access_token),
            session_ends: grant.session_ends,
            ..Default::default()
        };
        Some(id_token(entry, client, grant.user, grant.scope, grant.auth_time, extras, now)?)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: Some(expires_in),
        refresh_token: refresh.map(|(token, _)| token.to_owned()),
        refresh_expires_in: refresh.map(|(_, expires_at)| expires_at - now),
        id_token,
        scope: grant.scope.to_string(),
        user_id: Some(grant.user.id.clone()),
    })
}
