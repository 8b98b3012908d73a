//! Realm roles: what makes a role name usable in paths, tokens and files.

use super::Invalid;
use super::text::is_invisible;

/// The longest role name (Keycloak's column).
pub const MAX_ROLE_NAME: usize = 255;

/// A role name is 1 to 255 characters without control characters, and
/// neither `.` nor `..`: it is addressed in admin paths (`/roles/{name}`)
/// and carried in tokens.
pub fn validate_role_name(name: &str) -> Result<(), Invalid> {
    if name.is_empty() {
        return Err(Invalid::new("must not be empty"));
    }
    if name.chars().count() > MAX_ROLE_NAME {
        return Err(Invalid::new(format!("must be at most {MAX_ROLE_NAME} characters")));
    }
    if name.chars().any(|c| c.is_control() || is_invisible(c)) {
        return Err(Invalid::new("must not contain control characters or invisible ones"));
    }
    if name.trim().is_empty() {
        return Err(Invalid::new("must not be blank"));
    }
    // HTTP clients resolve them as path segments: `DELETE .../roles/..`
    // would reach the realm itself.
    if name == "." || name == ".." {
        return Err(Invalid::new("must not be `.` or `..`"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_short_printable_and_not_empty() {
        assert!(validate_role_name("editor").is_ok());
        assert!(validate_role_name("Über Admin").is_ok());
        assert!(validate_role_name(&"r".repeat(255)).is_ok());
        for bad in ["", " ", "\u{200B}", "a\u{202E}b", "a\nb", "tab\there", ".", "..", &"r".repeat(256)] {
            assert!(validate_role_name(bad).is_err(), "{bad:?}");
        }
    }
}
