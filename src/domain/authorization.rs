//! Authorization request vocabulary: response types and modes (OAuth 2.0
//! Multiple Response Type Encoding Practices, Form Post Response Mode),
//! `prompt`, and PKCE (RFC 7636).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::Invalid;

/// One of the seven response types realmgate serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseType {
    pub code: bool,
    pub id_token: bool,
    pub token: bool,
}

impl ResponseType {
    pub const ALL: [&'static str; 7] =
        ["code", "id_token", "id_token token", "token", "code id_token", "code token", "code id_token token"];

    /// Parses a space-separated value in any order; `None` if unsupported.
    pub fn parse(raw: &str) -> Option<Self> {
        let mut rt = Self { code: false, id_token: false, token: false };
        // Names separated by single spaces (RFC 6749 §3.1.1): an empty one is no name.
        for part in raw.split(' ') {
            let slot = match part {
                "code" => &mut rt.code,
                "id_token" => &mut rt.id_token,
                "token" => &mut rt.token,
                _ => return None,
            };
            if *slot {
                return None;
            }
            *slot = true;
        }
        (rt.code || rt.id_token || rt.token).then_some(rt)
    }

    /// Returns tokens from the authorization endpoint (implicit or hybrid).
    pub fn is_front_channel(self) -> bool {
        self.id_token || self.token
    }

    pub fn default_mode(self) -> ResponseMode {
        if self.is_front_channel() { ResponseMode::Fragment } else { ResponseMode::Query }
    }
}

impl fmt::Display for ResponseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<&str> = [(self.code, "code"), (self.id_token, "id_token"), (self.token, "token")]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
        f.write_str(&parts.join(" "))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

impl ResponseMode {
    pub const ALL: [&'static str; 3] = ["query", "fragment", "form_post"];

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "query" => Some(Self::Query),
            "fragment" => Some(Self::Fragment),
            "form_post" => Some(Self::FormPost),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Query => "query",
            Self::Fragment => "fragment",
            Self::FormPost => "form_post",
        }
    }
}

/// `prompt` (Core §3.1.2.1); `select_account` is treated as `login`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

impl Prompt {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let mut prompt = Self::default();
        for part in raw.split(' ').filter(|p| !p.is_empty()) {
            match part {
                "none" => prompt.none = true,
                "login" | "select_account" => prompt.login = true,
                "consent" => prompt.consent = true,
                other => return Err(Invalid::new(format!("Unsupported prompt value: {other}"))),
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err(Invalid::new("prompt=none cannot be combined with other values"));
        }
        Ok(prompt)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeMethod {
    S256,
    Plain,
}

impl ChallengeMethod {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "S256" => Some(Self::S256),
            "plain" => Some(Self::Plain),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::S256 => "S256",
            Self::Plain => "plain",
        }
    }
}

/// A verifier or challenge: 43 to 128 characters of `[A-Za-z0-9-._~]`.
pub fn is_pkce_value(raw: &str) -> bool {
    (43..=128).contains(&raw.len())
        && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether `verifier` answers `challenge` (RFC 7636 §4.6), in constant time.
pub fn verifier_matches(method: ChallengeMethod, challenge: &str, verifier: &str) -> bool {
    if !is_pkce_value(verifier) {
        return false;
    }
    let computed = match method {
        ChallengeMethod::S256 => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
        ChallengeMethod::Plain => verifier.to_owned(),
    };
    crate::crypto::constant_time_eq(computed.as_bytes(), challenge.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_types_parse_in_any_order() {
        for raw in ResponseType::ALL {
            assert_eq!(ResponseType::parse(raw).unwrap().to_string(), raw);
        }
        assert_eq!(ResponseType::parse("token id_token code").unwrap().to_string(), "code id_token token");
        for spaced in ["code  id_token", " code", "code ", ""] {
            assert!(ResponseType::parse(spaced).is_none(), "{spaced:?}");
        }
        for bad in ["", "code code", "none", "code pizza"] {
            assert!(ResponseType::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(ResponseType::parse("code").unwrap().default_mode(), ResponseMode::Query);
        assert_eq!(ResponseType::parse("code token").unwrap().default_mode(), ResponseMode::Fragment);
    }

    #[test]
    fn prompts() {
        assert!(Prompt::parse("none").unwrap().none);
        assert!(Prompt::parse("select_account").unwrap().login);
        assert!(Prompt::parse("none login").is_err());
        assert!(Prompt::parse("dance").is_err());
    }

    #[test]
    fn pkce_follows_rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verifier_matches(ChallengeMethod::S256, challenge, verifier));
        assert!(!verifier_matches(ChallengeMethod::S256, challenge, &verifier.replace('d', "e")));
        assert!(verifier_matches(ChallengeMethod::Plain, verifier, verifier));
        assert!(!verifier_matches(ChallengeMethod::Plain, "short", "short"));
    }
}
