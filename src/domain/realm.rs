//! Realms: their names and the settings every protocol endpoint reads.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Invalid;

/// A realm name as used in URLs: `[a-z0-9-]{1,64}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RealmName(String);

impl RealmName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let valid_chars = raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if raw.is_empty() || raw.len() > 64 || !valid_chars {
            return Err(Invalid::new(format!("realm name `{raw}` must be 1 to 64 characters of a-z, 0-9 and -")));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RealmName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RealmName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The JWS algorithm a realm signs its tokens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    Rs256,
    Ps256,
    Es256,
    EdDsa,
}

impl SigningAlgorithm {
    pub const ALL: [SigningAlgorithm; 4] = [Self::Rs256, Self::Ps256, Self::Es256, Self::EdDsa];

    /// The `alg` header value (RFC 7518, RFC 8037).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }
}

impl FromStr for SigningAlgorithm {
    type Err = Invalid;

    fn from_str(s: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str() == s)
            .ok_or_else(|| Invalid::new(format!("signing algorithm `{s}` is not one of RS256, PS256, ES256, EdDSA")))
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SigningAlgorithm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for SigningAlgorithm {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The longest lifetime or interval a realm may set (100 years), so that
/// arithmetic on timestamps cannot overflow. Years of 365.25 days, as
/// humantime counts them: `100years` itself is within the limit.
pub const MAX_LIFETIME_SECS: i64 = 100 * 31_557_600;

/// Lifetimes and switches of one realm, in whole seconds (SPEC §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealmSettings {
    pub display_name: String,
    pub access_token_lifetime: i64,
    pub id_token_lifetime: i64,
    pub refresh_token_lifetime: i64,
    pub auth_code_lifetime: i64,
    pub device_code_lifetime: i64,
    pub device_poll_interval: i64,
    pub sso_session_idle: i64,
    pub sso_session_max: i64,
    pub signing_algorithm: SigningAlgorithm,
    pub refresh_token_rotation: bool,
    pub refresh_token_reuse_grace: i64,
    pub query_tokens: bool,
    pub basic_auth: bool,
}

impl RealmSettings {
    /// The defaults of SPEC §2, with `display_name` equal to the name.
    pub fn defaults(name: &RealmName) -> Self {
        Self {
            display_name: name.as_str().to_owned(),
            access_token_lifetime: 5 * 60,
            id_token_lifetime: 5 * 60,
            refresh_token_lifetime: 30 * 24 * 3600,
            auth_code_lifetime: 60,
            device_code_lifetime: 10 * 60,
            device_poll_interval: 5,
            sso_session_idle: 30 * 60,
            sso_session_max: 10 * 3600,
            signing_algorithm: SigningAlgorithm::Rs256,
            refresh_token_rotation: true,
            refresh_token_reuse_grace: 0,
            query_tokens: false,
            basic_auth: false,
        }
    }

    /// How long a retired signing key must stay published: the longest a
    /// token it signed can live.
    pub fn longest_signed_token_lifetime(&self) -> i64 {
        self.access_token_lifetime.max(self.id_token_lifetime)
    }
}

/// A realm as the rest of the system sees it.
#[derive(Debug, Clone)]
pub struct Realm {
    pub id: String,
    pub name: RealmName,
    pub settings: RealmSettings,
    /// A disabled realm still publishes discovery and keys, and can be
    /// administered, but signs nobody in and issues nothing (Keycloak).
    pub enabled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realm_names_follow_the_url_alphabet() {
        assert!(RealmName::parse("acme-2").is_ok());
        for bad in ["", "Acme", "a b", "a/b", "é", &"x".repeat(65)] {
            assert!(RealmName::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn algorithms_round_trip() {
        for alg in SigningAlgorithm::ALL {
            assert_eq!(alg.as_str().parse::<SigningAlgorithm>().unwrap(), alg);
        }
        assert!("none".parse::<SigningAlgorithm>().is_err());
        assert!("HS256".parse::<SigningAlgorithm>().is_err());
    }
}
