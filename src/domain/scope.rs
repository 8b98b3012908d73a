//! Scopes: the built-in OIDC ones, a realm's custom ones with `implies`, and
//! the grant rule of SPEC §2 (asked ∩ client ∩ roles).

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use super::Invalid;

/// The scopes every realm has; they need no role (the client's list alone
/// governs them): the OIDC ones, device pairing and the account API.
pub const BUILT_IN_SCOPES: [(&str, &str); 10] = [
    ("openid", "Sign you in with your account"),
    ("profile", "Your name and username"),
    ("email", "Your email address"),
    ("address", "Your postal address"),
    ("phone", "Your phone number"),
    ("offline_access", "Stay connected while you are away"),
    (PERSONAL_TOKEN_SCOPE, "Receive a personal access token for this device"),
    ("account.read", "See your account: tokens, sessions and consents"),
    ("account.write", "Change your account: tokens, sessions and consents"),
    (ADMIN_API_SCOPE, "Administer with your administration rights"),
];

/// What a personal access token needs to reach the admin API: one minted
/// for a narrower purpose (a paired device, a script with `--scope`) does
/// not act with its user's administration rights.
pub const ADMIN_API_SCOPE: &str = "admin.api";

/// Asked by a device to be paired: it receives a personal access token.
pub const PERSONAL_TOKEN_SCOPE: &str = "personal_token";

pub fn is_built_in(name: &str) -> bool {
    BUILT_IN_SCOPES.iter().any(|(n, _)| *n == name)
}

/// Checks a scope token against RFC 6749 §3.3 (`%x21 / %x23-5B / %x5D-7E`).
pub fn validate_scope_name(name: &str) -> Result<(), Invalid> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
    if ok { Ok(()) } else { Err(Invalid::new(format!("scope name `{name}` is not a valid scope token"))) }
}

/// A client's scopes, as Keycloak's clients have them: its default ones
/// (the realm file's `scopes`: what a request without `scope` gets) and its
/// optional ones (set through the admin API: granted only when asked for).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientScopes {
    pub default: ScopeSet,
    pub optional: ScopeSet,
}

impl ClientScopes {
    /// Every scope the client may be granted, before what they imply.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        self.default.iter().chain(self.optional.iter())
    }
}

/// The scope asking for a refresh token that outlives the session.
pub const OFFLINE_ACCESS: &str = "offline_access";

/// A set of scope names, kept sorted so its string form is stable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<String>);

impl ScopeSet {
    /// Parses a space-delimited `scope` parameter.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let mut set = BTreeSet::new();
        for name in raw.split(' ').filter(|s| !s.is_empty()) {
            validate_scope_name(name)?;
            set.insert(name.to_owned());
        }
        Ok(Self(set))
    }

    pub fn from_names<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self(names.into_iter().map(Into::into).collect())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains(name)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        Self(self.0.intersection(&other.0).cloned().collect())
    }

    /// The set without `name`.
    pub fn without(mut self, name: &str) -> ScopeSet {
        self.0.remove(name);
        self
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for name in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(name)?;
            first = false;
        }
        Ok(())
    }
}

/// Why a scope request was refused (`invalid_scope`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("scope `{0}` is not known in this realm")]
    Unknown(String),
    #[error("scope `{0}` is not allowed for this client")]
    NotAllowed(String),
}

/// The realm's scopes with their `implies` edges.
#[derive(Debug, Clone, Default)]
pub struct ScopeCatalog {
    implies: HashMap<String, Vec<String>>,
}

impl ScopeCatalog {
    /// Builds the catalog from the realm's custom scopes; built-ins are always there.
    pub fn new<'a>(custom: impl IntoIterator<Item = (&'a str, &'a [String])>) -> Self {
        let mut implies: HashMap<String, Vec<String>> =
            BUILT_IN_SCOPES.iter().map(|(name, _)| ((*name).to_owned(), Vec::new())).collect();
        for (name, implied) in custom {
            implies.insert(name.to_owned(), implied.to_vec());
        }
        Self { implies }
    }

    pub fn is_known(&self, name: &str) -> bool {
        self.implies.contains_key(name)
    }

    /// Every scope in `names` plus everything they imply, transitively.
    pub fn closure<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> ScopeSet {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&str> = names.into_iter().collect();
        while let Some(name) = stack.pop() {
            if seen.insert(name.to_owned())
                && let Some(implied) = self.implies.get(name)
            {
                stack.extend(implied.iter().map(String::as_str));
            }
        }
        ScopeSet(seen)
    }

    /// What a user holding roles that allow `role_scopes` may be granted:
    /// the built-ins plus the closure of the roles' scopes.
    pub fn allowed_by_roles<'a>(&self, role_scopes: impl IntoIterator<Item = &'a str>) -> ScopeSet {
        let mut allowed = self.closure(role_scopes);
        for (name, _) in BUILT_IN_SCOPES {
            allowed.0.insert(name.to_owned());
        }
        allowed
    }

    /// SPEC §2: granted = asked ∩ what the client may get ∩ (for a user)
    /// what the user's roles allow. An empty request asks for all of the
    /// client's default scopes but `personal_token`: a device is paired only
    /// when it asks to be.
    pub fn grant(
        &self,
        requested: &ScopeSet,
        client_scopes: &ClientScopes,
        user_allowed: Option<&ScopeSet>,
    ) -> Result<ScopeSet, ScopeError> {
        let client_allowed = self.closure(client_scopes.all());
        for name in requested.iter() {
            if !self.is_known(name) {
                return Err(ScopeError::Unknown(name.to_owned()));
            }
            if !client_allowed.contains(name) {
                return Err(ScopeError::NotAllowed(name.to_owned()));
            }
        }
        let asked = if requested.is_empty() {
            let mut defaults = self.closure(client_scopes.default.iter());
            defaults.0.retain(|name| name != PERSONAL_TOKEN_SCOPE);
            defaults
        } else {
            self.closure(requested.iter())
        };
        let mut granted = asked.intersection(&client_allowed);
        if let Some(allowed) = user_allowed {
            granted = granted.intersection(allowed);
        }
        // A client may list a scope the realm no longer defines; never grant it.
        granted.0.retain(|name| self.is_known(name));
        Ok(granted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> ScopeCatalog {
        let write = vec!["roms.read".to_owned()];
        let read: Vec<String> = vec![];
        ScopeCatalog::new([("roms.write", write.as_slice()), ("roms.read", read.as_slice())])
    }

    /// A client with these default scopes and no optional ones.
    fn defaults(names: &str) -> ClientScopes {
        ClientScopes { default: set(names), optional: ScopeSet::default() }
    }

    fn set(raw: &str) -> ScopeSet {
        ScopeSet::parse(raw).unwrap()
    }

    #[test]
    fn implies_is_transitive_and_cycle_safe() {
        let a = vec!["b".to_owned()];
        let b = vec!["c".to_owned()];
        let c = vec!["a".to_owned()];
        let cat = ScopeCatalog::new([("a", a.as_slice()), ("b", b.as_slice()), ("c", c.as_slice())]);
        assert_eq!(cat.closure(["a"]).to_string(), "a b c");
    }

    #[test]
    fn a_viewer_asking_for_write_gets_read() {
        let cat = catalog();
        let client = defaults("openid roms.write");
        let viewer = cat.allowed_by_roles(["roms.read"]);
        let granted = cat.grant(&set("openid roms.write"), &client, Some(&viewer)).unwrap();
        assert_eq!(granted.to_string(), "openid roms.read");
    }

    #[test]
    fn unknown_or_foreign_scopes_are_refused() {
        let cat = catalog();
        let client = defaults("openid roms.read");
        assert_eq!(cat.grant(&set("nope"), &client, None), Err(ScopeError::Unknown("nope".into())));
        assert_eq!(cat.grant(&set("roms.write"), &client, None), Err(ScopeError::NotAllowed("roms.write".into())));
        assert_eq!(cat.grant(&set("email"), &client, None), Err(ScopeError::NotAllowed("email".into())));
    }

    #[test]
    fn an_empty_request_gets_what_the_client_and_user_may_have() {
        let cat = catalog();
        let client = defaults("openid profile roms.write");
        let nobody = cat.allowed_by_roles([]);
        assert_eq!(cat.grant(&set(""), &client, Some(&nobody)).unwrap().to_string(), "openid profile");
        assert_eq!(cat.grant(&set(""), &client, None).unwrap().to_string(), "openid profile roms.read roms.write");
        let pairing = defaults("openid personal_token");
        assert_eq!(cat.grant(&set(""), &pairing, None).unwrap().to_string(), "openid", "pairing only when asked");
        assert_eq!(cat.grant(&set("personal_token"), &pairing, None).unwrap().to_string(), "personal_token");
    }

    #[test]
    fn optional_scopes_are_granted_only_when_asked_for() {
        let cat = catalog();
        let client = ClientScopes { default: set("openid"), optional: set("roms.write email") };
        assert_eq!(cat.grant(&set(""), &client, None).unwrap().to_string(), "openid");
        assert_eq!(cat.grant(&set("openid email"), &client, None).unwrap().to_string(), "email openid");
        assert_eq!(cat.grant(&set("roms.write"), &client, None).unwrap().to_string(), "roms.read roms.write");
        assert_eq!(cat.grant(&set("phone"), &client, None), Err(ScopeError::NotAllowed("phone".into())));
    }

    #[test]
    fn scope_tokens_are_checked() {
        assert!(ScopeSet::parse("a\"b").is_err());
        assert!(ScopeSet::parse("a\\b").is_err());
        assert_eq!(ScopeSet::parse("  b a  a ").unwrap().to_string(), "a b");
    }
}
