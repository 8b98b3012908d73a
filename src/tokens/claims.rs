//! Claim sets: RFC 9068 access tokens and OpenID Connect ID tokens.

use serde::{Deserialize, Serialize};

/// The `typ` header of JWT access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
pub const ID_TOKEN_TYP: &str = "JWT";

/// Claims of a JWT access token (RFC 9068 §2.2).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    /// A token id; for tokens of a refresh family, `<family id>:<random>`,
    /// so revoking the family revokes them too (a front-channel token names
    /// its SSO session, and the code's grant issued beside it:
    /// `<session id>:<grant id>:<random>`).
    pub jti: String,
    pub client_id: String,
    /// The authorized party, as in Keycloak's access tokens: the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// The SSO session the token was granted in, as in Keycloak's access
    /// tokens (and the ID token's `sid`); none for grants without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Client roles by client, as Keycloak carries them:
    /// `{"realm-management": {"roles": [...]}}` for a service account or a
    /// user holding such roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_access: Option<serde_json::Value>,
    /// The user's realm roles, as Keycloak carries them: `{"roles": [...]}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm_access: Option<serde_json::Value>,
    /// The client's internal id (its admin API `id`): `client_id` names a
    /// client, and a client deleted and registered again under that name is
    /// another client, whose tokens these are not. Absent from tokens
    /// issued before it was added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uuid: Option<String>,
}

impl AccessClaims {
    /// The `realm-management` roles the token carries.
    pub fn realm_management_roles(&self) -> Vec<String> {
        self.resource_access
            .as_ref()
            .and_then(|r| r.get("realm-management")?.get("roles")?.as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    }

    /// The realm roles the token carries (`realm_access.roles`).
    pub fn realm_roles(&self) -> Vec<String> {
        self.realm_access
            .as_ref()
            .and_then(|r| r.get("roles")?.as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    }

    /// What the token's jti names before its random part: the refresh
    /// family (or SSO session) it came from, and for a front-channel token
    /// issued beside a code, that code's grant too. Revoking any of them
    /// revokes the token.
    pub fn grant_ids(&self) -> impl Iterator<Item = &str> {
        let named = self.jti.rsplit_once(':').map_or("", |(named, _)| named);
        named.split(':').filter(|id| !id.is_empty())
    }
}

/// Claims of an ID token (OpenID Connect Core §2), plus the scope-governed
/// profile claims.
#[derive(Debug, Clone, Serialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    pub azp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub c_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s_hash: Option<String>,
    #[serde(flatten)]
    pub profile: serde_json::Map<String, serde_json::Value>,
}

/// `at_hash` / `c_hash` (Core §3.1.3.6): the left half of the hash of the
/// value, with the hash of the signing algorithm (SHA-512 for Ed25519).
pub fn half_hash(algorithm: crate::domain::realm::SigningAlgorithm, value: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest: Vec<u8> = match algorithm {
        crate::domain::realm::SigningAlgorithm::EdDsa => sha2::Sha512::digest(value.as_bytes()).to_vec(),
        _ => sha2::Sha256::digest(value.as_bytes()).to_vec(),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::AccessClaims;

    fn with_jti(jti: &str) -> AccessClaims {
        serde_json::from_value(serde_json::json!({
            "iss": "i", "sub": "s", "aud": "a", "exp": 0, "iat": 0, "jti": jti, "client_id": "c", "scope": "",
        }))
        .unwrap()
    }

    #[test]
    fn a_jti_names_the_grants_before_its_random_part() {
        let ids = |jti| with_jti(jti).grant_ids().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(ids("session:grant:random"), ["session", "grant"]);
        assert_eq!(ids("family:random"), ["family"]);
        assert!(ids("random").is_empty());
        assert!(ids(":random").is_empty());
    }
}
