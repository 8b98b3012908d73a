//! Clients: identifiers, grant types and redirect URIs.

use std::fmt;
use std::str::FromStr;

use super::Invalid;
use super::authorization::ChallengeMethod;
use super::scope::ClientScopes;

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

/// What the audit log names as the client of a call made with a personal
/// access token or HTTP Basic (no OAuth client is involved): no client
/// may be called so.
pub const PERSONAL_TOKEN_CLIENT: &str = "personal-access-token";
pub const BASIC_CLIENT: &str = "http-basic";

/// Checks a `client_id`: printable ASCII without spaces, 1 to 255
/// characters, and none of the names the audit log keeps for itself.
pub fn validate_client_id(raw: &str) -> Result<(), Invalid> {
    let ok = !raw.is_empty() && raw.len() <= 255 && raw.bytes().all(|b| b.is_ascii_graphic());
    if !ok {
        return Err(Invalid::new(format!(
            "client_id `{}` must be 1 to 255 printable ASCII characters without spaces",
            raw.escape_debug()
        )));
    }
    if [PERSONAL_TOKEN_CLIENT, BASIC_CLIENT].contains(&raw) {
        return Err(Invalid::new(format!("client_id `{raw}` is reserved: the audit log names other callers so")));
    }
    Ok(())
}

/// A registered redirect URI: absolute, without a fragment (RFC 6749 §3.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let url = url::Url::parse(raw)
            .map_err(|e| Invalid::new(format!("redirect URI `{raw}` is not an absolute URI: {e}")))?;
        // The URL parser drops tabs and line breaks silently; the URI is
        // stored and sent back as written, so they must not be in it.
        if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Invalid::new(format!("redirect URI {raw:?} contains whitespace or control characters")));
        }
        if url.fragment().is_some() {
            return Err(Invalid::new(format!("redirect URI `{raw}` must not have a fragment")));
        }
        if matches!(url.scheme(), "javascript" | "data" | "vbscript" | "file") {
            return Err(Invalid::new(format!("redirect URI `{raw}` has a forbidden scheme")));
        }
        // Stored exactly as registered: matching is character for character.
        Ok(Self(raw.to_owned()))
    }

    /// As `parse`, and without Keycloak's wildcards (`https://app.example/*`,
    /// `https://*.example`), which would be matched literally: for realm
    /// files. (The admin API keeps them as Keycloak's tools send them.)
    pub fn parse_exact(raw: &str) -> Result<Self, Invalid> {
        let uri = Self::parse(raw)?;
        let host_wildcard = url::Url::parse(raw).is_ok_and(|u| u.host_str().is_some_and(|h| h.contains('*')));
        if raw.ends_with('*') || host_wildcard {
            return Err(Invalid::new(format!(
                "redirect URI `{raw}` has a wildcard: redirect URIs are matched exactly, register each one"
            )));
        }
        Ok(uri)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As `parse`, or one of the relative forms Keycloak takes (`*`, or a
    /// path such as `/*` resolved against the client's root URL): kept as
    /// sent, so that tools see what they wrote, but never matched (only
    /// absolute URIs are redirected to).
    pub fn check_keycloak(raw: &str) -> Result<(), Invalid> {
        if Self::is_keycloak_relative(raw) && !raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Ok(());
        }
        Self::parse(raw).map(|_| ())
    }

    /// Whether `raw` is one of Keycloak's relative forms (`*`, `/…`).
    pub fn is_keycloak_relative(raw: &str) -> bool {
        raw == "*" || (raw.starts_with('/') && !raw.starts_with("//"))
    }
}

/// A client as the protocol endpoints see it (secret decrypted, in memory only).
#[derive(Clone)]
pub struct Client {
    pub id: String,
    pub client_id: String,
    pub name: String,
    pub secret: Option<String>,
    /// The absolute redirect URIs: the only ones matched.
    pub redirect_uris: Vec<String>,
    /// Whether Keycloak's relative forms (`/*`, `*`) were registered too:
    /// never matched, but they are registered URIs all the same, so a
    /// request may not leave its `redirect_uri` out.
    pub relative_redirect_uris: bool,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: ClientScopes,
    pub consent_required: bool,
    pub enabled: bool,
    /// `realm-management` roles of the client's service account (SPEC §6),
    /// carried in its client-credentials tokens as `resource_access`.
    pub service_account_roles: Vec<String>,
    /// False while the client's service-account user is disabled (Keycloak
    /// then issues it no client_credentials tokens).
    pub service_account_enabled: bool,
    /// Origins whose pages may read the client's answers (CORS): serialised
    /// origins, or `*` for any; see [`web_origins`].
    pub web_origins: Vec<String>,
    /// When the client was registered: a token issued before then names an
    /// earlier client of the same `client_id`, deleted since.
    pub created_at: i64,
    /// The PKCE method every code-flow request of the client must use
    /// (Keycloak's `pkce.code.challenge.method` attribute).
    pub pkce_method: Option<ChallengeMethod>,
}

/// The client attribute naming a required PKCE method (Keycloak's).
pub const PKCE_METHOD_ATTRIBUTE: &str = "pkce.code.challenge.method";

/// Service-account users are named `service-account-<client_id>`, as in Keycloak.
pub const SERVICE_ACCOUNT_PREFIX: &str = "service-account-";

/// The username of a client's service-account user.
pub fn service_account_username(client_id: &str) -> String {
    format!("{SERVICE_ACCOUNT_PREFIX}{}", client_id.to_lowercase())
}

/// Refuses a service account's name to an ordinary user: such a user is
/// left out of user lists (as service accounts are) and takes the name a
/// client's service account needs.
pub fn refuse_service_account_name(username: &str) -> Result<(), Invalid> {
    match username.starts_with(SERVICE_ACCOUNT_PREFIX) {
        true => Err(Invalid::new(format!(
            "usernames starting with `{SERVICE_ACCOUNT_PREFIX}` are kept for clients' service accounts"
        ))),
        false => Ok(()),
    }
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.secret.is_none()
    }

    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Whether the browser may be sent to `uri` after logout: a registered
    /// post-logout URI, or with Keycloak's `+` among them any redirect URI.
    pub fn allows_post_logout_redirect(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris.iter().any(|r| r == uri)
            || (self.post_logout_redirect_uris.iter().any(|r| r == POST_LOGOUT_AS_REDIRECT)
                && self.redirect_uris.iter().any(|r| r.as_str() == uri))
    }

    /// Whether a page of `origin` (an `Origin` header) may read answers to this client.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.web_origins.iter().any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(origin))
    }
}

/// Keycloak's post-logout redirect URI that stands for every redirect URI.
pub const POST_LOGOUT_AS_REDIRECT: &str = "+";

/// A client's CORS origins, from Keycloak's `webOrigins` where the admin API
/// set it: an origin, `+` for the origins of the redirect URIs, `*` for any.
/// Without it, the redirect URIs' origins (Keycloak's `+`): a browser
/// application may call the token endpoint from the pages it is redirected
/// to, which the realm file (without a `webOrigins` field) could not allow
/// otherwise.
pub fn web_origins(configured: Option<&[String]>, redirect_uris: &[String]) -> Vec<String> {
    let plus = ["+".to_owned()];
    let mut origins = Vec::new();
    for entry in configured.unwrap_or(&plus) {
        match entry.as_str() {
            "+" => origins.extend(redirect_uris.iter().filter_map(|uri| origin_of(uri))),
            "*" => origins.push("*".to_owned()),
            other => origins.extend(origin_of(other)),
        }
    }
    origins.sort();
    origins.dedup();
    origins
}

/// The serialised origin of a URL (`https://app.example:8443`), if it has one.
fn origin_of(uri: &str) -> Option<String> {
    let origin = url::Url::parse(uri).ok()?.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
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
        for bad in ["https://a.example/cb\r\nSet-Cookie: x=1", "https://a.example/c\tb", "https://a.example/c b"] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad:?}");
        }
        assert!(RedirectUri::parse("https://a.example/cb#x").is_err());
        for wildcard in ["https://a.example/*", "https://*.example.com/cb", "http://127.0.0.1:9/cb*"] {
            assert!(RedirectUri::parse_exact(wildcard).is_err(), "{wildcard}");
            assert!(RedirectUri::parse(wildcard).is_ok(), "{wildcard}");
        }
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
            relative_redirect_uris: false,
            post_logout_redirect_uris: vec![],
            grant_types: vec![],
            scopes: ClientScopes::default(),
            consent_required: false,
            enabled: true,
            service_account_roles: vec![],
            service_account_enabled: true,
            web_origins: vec![],
            created_at: 0,
            pkce_method: None,
        };
        assert!(!format!("{client:?}").contains("hunter2"));
    }

    #[test]
    fn web_origins_follow_keycloak() {
        let redirects =
            ["https://App.example/cb".to_owned(), "http://localhost:3000/*".to_owned(), "com.example:/cb".to_owned()];
        let derived = web_origins(None, &redirects);
        assert_eq!(derived, ["http://localhost:3000", "https://app.example"]);
        let configured = ["+".to_owned(), "https://other.example:443/".to_owned()];
        assert_eq!(
            web_origins(Some(&configured), &redirects),
            ["http://localhost:3000", "https://app.example", "https://other.example"]
        );
        assert_eq!(web_origins(Some(&[]), &redirects), Vec::<String>::new(), "an empty list allows none");
        assert_eq!(web_origins(Some(&["*".to_owned()]), &[]), ["*"]);
    }
}
