//! Device authorization (RFC 8628) user codes: 8 characters from an
//! alphabet without vowels or look-alikes, shown as `XXXX-XXXX`, compared
//! case- and dash-insensitively.

pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
pub const USER_CODE_LEN: usize = 8;

/// A user code from random bytes, by rejection sampling (no modulo bias);
/// `None` if the bytes ran out first.
pub fn user_code_from(random: &[u8]) -> Option<String> {
    let limit = 256 - 256 % USER_CODE_ALPHABET.len();
    let code: String = random
        .iter()
        .filter(|&&b| (b as usize) < limit)
        .take(USER_CODE_LEN)
        .map(|&b| USER_CODE_ALPHABET[b as usize % USER_CODE_ALPHABET.len()] as char)
        .collect();
    (code.len() == USER_CODE_LEN).then_some(code)
}

/// The stored form of what a user typed, or `None` if it cannot be a code.
pub fn normalize_user_code(raw: &str) -> Option<String> {
    let code: String = raw.chars().filter(|c| !matches!(c, '-' | ' ' | '\t')).map(|c| c.to_ascii_uppercase()).collect();
    let valid = code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    valid.then_some(code)
}

/// `XXXX-XXXX`.
pub fn display_user_code(code: &str) -> String {
    let (a, b) = code.split_at(code.len().min(4));
    format!("{a}-{b}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_drawn_from_the_alphabet() {
        let bytes: Vec<u8> = (0..=255).collect();
        let code = user_code_from(&bytes).unwrap();
        assert_eq!(code.len(), 8);
        assert!(code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)));
        assert!(user_code_from(&[255, 255, 250]).is_none());
    }

    #[test]
    fn typing_is_forgiving() {
        assert_eq!(normalize_user_code("bcdf-ghjk").as_deref(), Some("BCDFGHJK"));
        assert_eq!(normalize_user_code(" BCDF GHJK ").as_deref(), Some("BCDFGHJK"));
        assert_eq!(normalize_user_code("BCDFGHJA"), None, "vowels are not in the alphabet");
        assert_eq!(normalize_user_code("BCDF"), None);
        assert_eq!(display_user_code("BCDFGHJK"), "BCDF-GHJK");
    }
}
