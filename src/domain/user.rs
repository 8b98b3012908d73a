//! Users: usernames and the profile claims OIDC hands out.

use std::fmt;

use super::Invalid;
use super::text::is_invisible;

/// The longest clear password accepted wherever one is set, in bytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// What a page says of a longer one.
pub const PASSWORD_TOO_LONG: &str =
    "A password can have at most 1024 bytes (UTF-8: letters beyond ASCII take two to four).";

/// A username, stored lower-case and matched case-insensitively (SPEC §6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// A username for a new user (or a rename).
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match Self::lookup(raw) {
            Ok(name) if !name.0.chars().any(is_invisible) => Ok(name),
            _ => Err(Self::invalid(raw)),
        }
    }

    /// A username typed to sign in: the rules of `parse` but for invisible
    /// characters, which earlier versions accepted in new usernames; their
    /// users must still be able to sign in.
    pub fn lookup(raw: &str) -> Result<Self, Invalid> {
        let trimmed = raw.trim();
        let ok = !trimmed.is_empty()
            && trimmed.chars().count() <= 255
            && !trimmed.chars().any(|c| c.is_control() || c.is_whitespace());
        if !ok {
            return Err(Self::invalid(raw));
        }
        Ok(Self(trimmed.to_lowercase()))
    }

    fn invalid(raw: &str) -> Invalid {
        Invalid::new(format!(
            "username `{}` must be 1 to 255 characters without spaces, control or invisible characters",
            raw.escape_debug()
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks an e-mail address the way Keycloak's user profile does at its
/// simplest: one `@` between a local part and a domain, no whitespace.
pub fn validate_email(email: &str) -> Result<(), Invalid> {
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control() || is_invisible(c))
        }
        None => false,
    };
    if valid { Ok(()) } else { Err(Invalid::new(format!("`{}` is not a valid e-mail address", email.escape_debug()))) }
}

/// A user's profile, as read for tokens and userinfo.
#[derive(Clone)]
pub struct User {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub enabled: bool,
    pub password_hash: Option<String>,
    /// Set by an administrator as temporary: a new one is due at sign-in.
    pub password_temporary: bool,
    /// The `realm-management` roles held (SPEC §6), carried in access tokens.
    pub admin_roles: Vec<String>,
    /// The stored representation fields (JSON text), whose `attributes`
    /// hold Keycloak's user attributes (`phoneNumber`, `street`, …); read
    /// only when a token asks for the `phone` or `address` scope.
    pub representation: String,
}

impl User {
    /// The `name` claim: given and family name joined, when either is known.
    pub fn full_name(&self) -> Option<String> {
        let parts: Vec<&str> = [self.given_name.as_deref(), self.family_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e_mail_addresses_need_a_local_part_and_a_domain() {
        for good in ["alice@example.com", "a.b+c@sub.example", "x@localhost"] {
            assert!(validate_email(good).is_ok(), "{good}");
        }
        for bad in ["not-an-email", "@example.com", "alice@", "a@b@c", "a b@example.com", "a@.example", "a@example."] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usernames_are_lower_cased() {
        assert_eq!(Username::parse(" Alice ").unwrap().as_str(), "alice");
        assert!(Username::parse("").is_err());
        assert!(Username::parse("a b").is_err());
        assert!(Username::parse("zw\u{200b}user").is_err());
        assert_eq!(Username::lookup("ZW\u{200b}user").unwrap().as_str(), "zw\u{200b}user", "stored earlier");
    }
}
