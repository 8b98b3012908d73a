//! Text that people type and others read: names shown on pages, in the
//! console and in tokens.

use super::Invalid;

/// Characters that show nothing: zero-width ones, fillers, line and
/// paragraph separators, tags and bidirectional controls. A name made of them looks empty; one hiding them can read as
/// another (`U+202E` turns the rest of the line around).
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// A one-line name (a person's first or last name, a display name, a token
/// name): no control or invisible characters, and not blank unless empty.
pub fn validate_name(value: &str) -> Result<(), Invalid> {
    // Shown on every page of a realm: a realm file could set megabytes.
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(Invalid::new(format!("must be at most {MAX_NAME_CHARS} characters")));
    }
    if value.chars().any(|c| c.is_control() || is_invisible(c)) {
        return Err(Invalid::new("must not contain control characters or invisible ones"));
    }
    if !value.is_empty() && value.trim().is_empty() {
        return Err(Invalid::new("must not be blank"));
    }
    Ok(())
}

/// The longest name a person reads (display names, client and token names).
const MAX_NAME_CHARS: usize = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_printable_and_visible() {
        for good in ["", "Alice", "Ünal Çelik", "李小龙", "O'Brien-Smith", "Photos (beta)"] {
            assert!(validate_name(good).is_ok(), "{good:?}");
        }
        assert!(validate_name(&"x".repeat(MAX_NAME_CHARS)).is_ok());
        assert!(validate_name(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
        for bad in [
            "a\0b",
            "\u{1b}[2J",
            "a\nb",
            "tab\t",
            " ",
            "\u{200B}",
            "a\u{202E}b",
            "\u{FEFF}x",
            "a\u{7f}",
            "\u{3164}",
            "a\u{61C}b",
            "a\u{2028}b",
            "u\u{E0041}",
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }
}
