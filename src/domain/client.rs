//! Clients: identifiers, grant types and redirect URIs.

use std::fmt;
use std::str::FromStr;

use super::Invalid;
use super::scope::ScopeSet;

/// The grant types a client may be registered for (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GrantType {
    AuthorizationCode,
    Implicit,
    RefreshToken,
    ClientCredentials,
    Password,
    DeviceCode,
}

impl GrantType {
    pub const ALL: [GrantType; 6] = [
        Self::AuthorizationCode,
        Self::Implicit,
        Self::RefreshToken,
        Self::ClientCredentials,
        Self::Password,
        Self::DeviceCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::Implicit => "implicit",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::Password => "password",
            Self::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }
}

impl FromStr for GrantType {
    type Err = Invalid;

    fn from_str(s: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| Invalid::new(format!("grant type `{s}` is not supported")))
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks a `client_id`: printable ASCII without spaces, 1 to 255 characters.
pub fn validate_client_id(raw: &str) -> Result<(), Invalid> {
    let ok = !raw.is_empty() && raw.len() <= 255 && raw.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(format!("client_id `{raw}` must be 1 to 255 printable ASCII characters without spaces")))
    }
}

/// A registered redirect URI: absolute, without a fragment (RFC 6749 §3.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let url = url::Url::parse(raw)
            .map_err(|e| Invalid::new(format!("redirect URI `{raw}` is not an absolute URI: {e}")))?;
        if url.fragment().is_some() {
            return Err(Invalid::new(format!("redirect URI `{raw}` must not have a fragment")));
        }
        if matches!(url.scheme(), "javascript" | "data" | "vbscript" | "file") {
            return Err(Invalid::new(format!("redirect URI `{raw}` has a forbidden scheme")));
        }
        // Stored exactly as registered: matching is character for character.
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client as the protocol endpoints see it (secret decrypted, in memory only).
#[derive(Clone)]
pub struct Client {
    pub id: String,
    pub client_id: String,
    pub name: String,
    pub secret: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: ScopeSet,
    pub consent_required: bool,
    pub enabled: bool,
    /// `realm-management` roles of the client's service account (SPEC §6),
    /// carried in its client-credentials tokens as `resource_access`.
    pub service_account_roles: Vec<String>,
}

/// Service-account users are named `service-account-<client_id>`, as in Keycloak.
pub const SERVICE_ACCOUNT_PREFIX: &str = "service-account-";

/// The username of a client's service-account user.
pub fn service_account_username(client_id: &str) -> String {
    format!("{SERVICE_ACCOUNT_PREFIX}{}", client_id.to_lowercase())
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.secret.is_none()
    }

    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("client_id", &self.client_id)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("grant_types", &self.grant_types)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_must_be_absolute_without_fragment() {
        assert!(RedirectUri::parse("https://a.example/cb?x=1").is_ok());
        assert!(RedirectUri::parse("com.example.app:/cb").is_ok());
        assert!(RedirectUri::parse("/cb").is_err());
        assert!(RedirectUri::parse("https://a.example/cb#x").is_err());
        assert!(RedirectUri::parse("javascript:alert(1)").is_err());
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let client = Client {
            id: "1".into(),
            client_id: "c".into(),
            name: "C".into(),
            secret: Some("hunter2".into()),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![],
            scopes: ScopeSet::default(),
            consent_required: false,
            enabled: true,
            service_account_roles: vec![],
        };
        assert!(!format!("{client:?}").contains("hunter2"));
    }
}
