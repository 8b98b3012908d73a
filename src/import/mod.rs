//! Realm files (SPEC §2): the strict TOML model, its idempotent and
//! all-or-nothing application, and export back to the same format.

pub mod apply;
pub mod export;
pub mod model;

use std::fmt;
use std::ops::Range;

/// A realm-file error pointing at the file, line and field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub file: String,
    pub line: usize,
    pub field: String,
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            return write!(f, "{}:{}: {}", self.file, self.line, self.message);
        }
        write!(f, "{}:{}: field `{}`: {}", self.file, self.line, self.field, self.message)
    }
}

impl std::error::Error for FileError {}

/// Where a span starts, as a 1-based line number.
pub fn line_of(source: &str, span: &Range<usize>) -> usize {
    let end = span.start.min(source.len());
    source.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The key on the line a span points into (`key = value`), or the table
/// header (`[[realms.users]]`) when the span covers a whole table.
pub fn field_at(source: &str, span: &Range<usize>) -> String {
    let start = span.start.min(source.len());
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[start..].find('\n').map_or(source.len(), |i| start + i);
    let line = source[line_start..line_end].trim();
    let is_key_char = |c: char| c.is_ascii_alphanumeric() || "_-.\" ".contains(c);
    if let Some(header) = line.strip_prefix('[') {
        // Only a real `[table]` header is named (a JSON list given as a
        // realm file starts with `[` too).
        let header = header.trim_matches(|c| c == '[' || c == ']');
        return if header.chars().all(is_key_char) { header.trim().to_owned() } else { String::new() };
    }
    // Nothing of a line that is no `key = value`: it may be a secret (a
    // typo such as `password: "…"`, a key file given as a realm file), and
    // errors are logged.
    let Some((key, _)) = line.split_once('=') else { return String::new() };
    let key = key.trim();
    let end = key.find(|c: char| !(c.is_ascii_alphanumeric() || "_-.\"".contains(c))).unwrap_or(key.len());
    key[..end].trim_matches('"').to_owned()
}
