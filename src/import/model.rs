//! The realm file as written (SPEC §2): unknown keys are errors, every value
//! is parsed into its domain type while the file's positions are still known.

use serde::Deserialize;
use toml::Spanned;

use super::{FileError, field_at, line_of};
use crate::domain::realm::{RealmName, RealmSettings, SigningAlgorithm};

/// A humantime duration in whole seconds (`"90s"`, `"15m"`, `"14d"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seconds(pub i64);

const MAX_SECONDS: u64 = crate::domain::realm::MAX_LIFETIME_SECS as u64;

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        let duration = humantime::parse_duration(&raw)
            .map_err(|e| serde::de::Error::custom(format!("`{raw}` is not a duration like \"90s\" or \"14d\": {e}")))?;
        if duration.as_secs() > MAX_SECONDS || duration.subsec_nanos() != 0 {
            return Err(serde::de::Error::custom(format!("`{raw}` must be whole seconds and at most 100 years")));
        }
        Ok(Self(duration.as_secs() as i64))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealmFile {
    #[serde(default)]
    pub realms: Vec<Spanned<RealmDef>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealmDef {
    pub name: RealmName,
    pub display_name: Option<Spanned<String>>,
    /// Absent: a new realm is enabled and an existing one stays as it is
    /// (likewise for clients and users).
    pub enabled: Option<Spanned<bool>>,
    pub access_token_lifetime: Option<Spanned<Seconds>>,
    pub id_token_lifetime: Option<Spanned<Seconds>>,
    pub refresh_token_lifetime: Option<Spanned<Seconds>>,
    pub auth_code_lifetime: Option<Spanned<Seconds>>,
    pub device_code_lifetime: Option<Spanned<Seconds>>,
    pub device_poll_interval: Option<Spanned<Seconds>>,
    pub sso_session_idle: Option<Spanned<Seconds>>,
    pub sso_session_max: Option<Spanned<Seconds>>,
    pub signing_algorithm: Option<SigningAlgorithm>,
    pub refresh_token_rotation: Option<bool>,
    pub refresh_token_reuse_grace: Option<Seconds>,
    pub query_tokens: Option<bool>,
    pub basic_auth: Option<bool>,
    #[serde(default)]
    pub scopes: Vec<Spanned<ScopeDef>>,
    #[serde(default)]
    pub roles: Vec<Spanned<RoleDef>>,
    #[serde(default)]
    pub users: Vec<Spanned<UserDef>>,
    #[serde(default)]
    pub clients: Vec<Spanned<ClientDef>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeDef {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub implies: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDef {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub scopes: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserDef {
    pub username: Spanned<String>,
    pub enabled: Option<bool>,
    pub password: Option<Spanned<String>>,
    /// An argon2id PHC string, as `realm export --with-secrets` prints it.
    pub password_hash: Option<Spanned<String>>,
    /// The password is temporary: a new one is due at the next sign-in
    /// (Keycloak's `UPDATE_PASSWORD`). Absent: an existing user's stays
    /// temporary while the password stays the same.
    pub password_temporary: Option<bool>,
    pub email: Option<Spanned<String>>,
    pub email_verified: Option<bool>,
    pub given_name: Option<Spanned<String>>,
    pub family_name: Option<Spanned<String>>,
    #[serde(default)]
    pub roles: Vec<Spanned<String>>,
    #[serde(default)]
    pub admin_roles: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientDef {
    pub client_id: Spanned<String>,
    pub name: Option<Spanned<String>>,
    pub enabled: Option<bool>,
    pub secret: Option<Spanned<String>>,
    #[serde(default)]
    pub redirect_uris: Vec<Spanned<String>>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<Spanned<String>>,
    pub grant_types: Option<Vec<Spanned<String>>>,
    pub scopes: Option<Vec<Spanned<String>>>,
    pub consent_required: Option<bool>,
}

/// The path (`realms[0].roles[1].description`) of the first string, or
/// key, of `value` that holds a NUL character: TOML's escapes (`\u0000`,
/// `\x00`, …) can put one there, and no field may hold one (PostgreSQL
/// cannot store one in text).
fn nul_at(value: &toml::Value, path: &str) -> Option<String> {
    match value {
        toml::Value::String(text) => text.contains('\0').then(|| path.to_owned()),
        toml::Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, item)| nul_at(item, &format!("{path}[{i}]")))
        }
        toml::Value::Table(table) => table.iter().find_map(|(key, item)| {
            let here = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            if key.contains('\0') { Some(here) } else { nul_at(item, &here) }
        }),
        _ => None,
    }
}

/// serde's type errors quote the value found ("invalid type: integer
/// `1234`, expected a string"): it is left out of the message, as it may be
/// a password or a secret typed without quotes (the line is named anyway).
fn without_found_value(message: &str) -> String {
    if !(message.starts_with("invalid type: ") || message.starts_with("invalid value: ")) {
        return message.to_owned();
    }
    let (found, expected) = message.split_once(", expected").unwrap_or((message, ""));
    let kind = found.split(['`', '"']).next().unwrap_or(found).trim_end();
    if expected.is_empty() { kind.to_owned() } else { format!("{kind}, expected{expected}") }
}

/// A parsed file with its text, so later checks can point at lines.
pub struct ParsedFile {
    pub path: String,
    pub source: String,
    pub file: RealmFile,
}

impl ParsedFile {
    /// Parses `source`; syntax, type and unknown-key errors name file, line and field.
    pub fn parse(path: &str, source: String) -> Result<Self, FileError> {
        match toml::from_str::<RealmFile>(&source) {
            Ok(file) => {
                let parsed = Self { path: path.to_owned(), source, file };
                parsed.refuse_nul()?;
                Ok(parsed)
            }
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                Err(FileError {
                    file: path.to_owned(),
                    line: line_of(&source, &span),
                    field: field_at(&source, &span),
                    message: without_found_value(e.message().trim()),
                })
            }
        }
    }

    /// A NUL character anywhere, named by its path and by the line of the
    /// realm it is in.
    fn refuse_nul(&self) -> Result<(), FileError> {
        // Only an escape can put a NUL in a TOML string: a file without one
        // (every file, almost) is not read a second time (a realm of a
        // million users is a large file).
        if !["\\u0000", "\\U00000000", "\\x00"].iter().any(|escape| self.source.contains(escape)) {
            return Ok(());
        }
        let Ok(value) = toml::from_str::<toml::Value>(&self.source) else { return Ok(()) };
        let Some(found) = nul_at(&value, "") else { return Ok(()) };
        let realm = found
            .strip_prefix("realms[")
            .and_then(|rest| rest.split(']').next()?.parse::<usize>().ok())
            .and_then(|i| self.file.realms.get(i));
        let span = realm.map_or(0..0, |realm| realm.span());
        let field = found.rsplit('.').next().unwrap_or(&found).split('[').next().unwrap_or_default().to_owned();
        Err(FileError {
            file: self.path.clone(),
            line: line_of(&self.source, &span),
            field,
            message: format!("`{found}` holds a NUL character (no text may)"),
        })
    }

    /// An error at `span` of this file.
    pub fn error(&self, span: &std::ops::Range<usize>, field: &str, message: impl Into<String>) -> FileError {
        FileError {
            file: self.path.clone(),
            line: line_of(&self.source, span),
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

impl RealmDef {
    /// The realm's settings: the file's values over SPEC §2's defaults.
    pub fn settings(&self) -> RealmSettings {
        let d = RealmSettings::defaults(&self.name);
        let secs = |v: &Option<Spanned<Seconds>>, default: i64| v.as_ref().map_or(default, |s| s.get_ref().0);
        RealmSettings {
            display_name: self.display_name.as_ref().map_or(d.display_name, |name| name.get_ref().clone()),
            access_token_lifetime: secs(&self.access_token_lifetime, d.access_token_lifetime),
            id_token_lifetime: secs(&self.id_token_lifetime, d.id_token_lifetime),
            refresh_token_lifetime: secs(&self.refresh_token_lifetime, d.refresh_token_lifetime),
            auth_code_lifetime: secs(&self.auth_code_lifetime, d.auth_code_lifetime),
            device_code_lifetime: secs(&self.device_code_lifetime, d.device_code_lifetime),
            device_poll_interval: secs(&self.device_poll_interval, d.device_poll_interval),
            sso_session_idle: secs(&self.sso_session_idle, d.sso_session_idle),
            sso_session_max: secs(&self.sso_session_max, d.sso_session_max),
            signing_algorithm: self.signing_algorithm.unwrap_or(d.signing_algorithm),
            refresh_token_rotation: self.refresh_token_rotation.unwrap_or(d.refresh_token_rotation),
            refresh_token_reuse_grace: self.refresh_token_reuse_grace.map_or(d.refresh_token_reuse_grace, |s| s.0),
            query_tokens: self.query_tokens.unwrap_or(d.query_tokens),
            basic_auth: self.basic_auth.unwrap_or(d.basic_auth),
        }
    }

    /// Lifetimes that must be positive, with their spans.
    pub fn positive_lifetimes(&self) -> Vec<(&'static str, &Spanned<Seconds>)> {
        [
            ("access_token_lifetime", &self.access_token_lifetime),
            ("id_token_lifetime", &self.id_token_lifetime),
            ("refresh_token_lifetime", &self.refresh_token_lifetime),
            ("auth_code_lifetime", &self.auth_code_lifetime),
            ("device_code_lifetime", &self.device_code_lifetime),
            ("device_poll_interval", &self.device_poll_interval),
            ("sso_session_idle", &self.sso_session_idle),
            ("sso_session_max", &self.sso_session_max),
        ]
        .into_iter()
        .filter_map(|(name, v)| v.as_ref().map(|v| (name, v)))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<ParsedFile, FileError> {
        ParsedFile::parse("test.toml", src.to_owned())
    }

    #[test]
    fn unknown_keys_name_file_line_and_field() {
        let err = parse("[[realms]]\nname = \"a\"\n\n  [[realms.users]]\n  username = \"x\"\n  pasword = \"y\"\n")
            .err()
            .unwrap();
        assert_eq!(err.file, "test.toml");
        assert_eq!(err.line, 6, "{err}");
        assert_eq!(err.field, "pasword", "{err}");
        assert!(err.message.contains("unknown field"), "{err}");
    }

    #[test]
    fn a_line_that_is_no_key_value_pair_is_not_quoted() {
        let typo = "[[realms]]\nname = \"a\"\n  [[realms.users]]\n  username = \"u\"\n  password: \"TypoSecretPw2\"\n";
        let err = parse(typo).err().unwrap();
        assert_eq!(err.line, 5, "{err}");
        assert!(!err.to_string().contains("TypoSecret"), "{err}");
        let err = parse("root:*:20228:0:99999:7:::\n").err().unwrap();
        assert!(!err.to_string().contains("20228"), "{err}");
        // A key file given as a realm file: 64 characters any key may have.
        let key = "dce2d35d".repeat(8);
        let err = parse(&format!("{key}\n")).err().unwrap();
        assert!(!err.to_string().contains(&key[..16]), "{err}");
        // Nothing of a line that only starts like a header.
        let err = parse("[{\"username\": \"u\", \"password\": \"TopSecretPw99\"}]\n").err().unwrap();
        assert!(!err.to_string().contains("TopSecret"), "{err}");
        let err = parse("[password = \"TopSecretPw98\"]\n").err().unwrap();
        assert!(!err.to_string().contains("TopSecret"), "{err}");
        // Headers with spaces inside the brackets are named.
        let err = parse("[[ realms ]]\nname = \"a\"\n[[ realms.users ]]\npassword = \"x\"\n").err().unwrap();
        assert_eq!(err.field, "realms.users", "{err}");
    }

    #[test]
    fn bad_values_name_their_line() {
        let err = parse("[[realms]]\nname = \"a\"\naccess_token_lifetime = \"soon\"\n").err().unwrap();
        assert_eq!((err.line, err.field.as_str()), (3, "access_token_lifetime"), "{err}");
        let err = parse("[[realms]]\nname = \"Bad Name\"\n").err().unwrap();
        assert_eq!((err.line, err.field.as_str()), (2, "name"), "{err}");
        let err = parse("[[realms]]\nname = \"a\"\nsigning_algorithm = \"HS256\"\n").err().unwrap();
        assert_eq!(err.line, 3, "{err}");
        let err = parse("[[realms]]\nname = \"a\"\nquery_tokens = \"yes\"\n").err().unwrap();
        assert_eq!(err.field, "query_tokens", "{err}");
    }

    #[test]
    fn nul_characters_are_refused_where_they_are() {
        let err =
            parse("[[realms]]\nname = \"a\"\n\n  [[realms.roles]]\n  name = \"r\"\n  description = \"a\\u0000b\"\n")
                .err()
                .unwrap();
        assert_eq!((err.line, err.field.as_str()), (1, "description"), "{err}");
        assert!(err.message.contains("realms[0].roles[0].description"), "{err}");
        assert!(parse("[[realms]]\nname = \"a\"\ndisplay_name = \"\\U00000000\"\n").is_err());
        assert!(parse("[[realms]]\nname = \"a\"\ndisplay_name = \"\\x00\"\n").is_err());
        // An escaped backslash before the letters is no escape of NUL, nor
        // are a literal string's or a comment's letters.
        let file = parse("[[realms]]\nname = \"a\"\ndisplay_name = \"C:\\\\u0000\"\n").unwrap();
        assert_eq!(file.file.realms[0].get_ref().display_name.as_ref().unwrap().get_ref(), "C:\\u0000");
        assert!(parse("# C:\\u0000\n[[realms]]\nname = \"a\"\ndisplay_name = 'C:\\u0000'\n").is_ok());
    }

    #[test]
    fn type_errors_do_not_repeat_the_value() {
        for value in ["90817263", "3.14159", "true"] {
            let src =
                format!("[[realms]]\nname = \"a\"\n\n  [[realms.users]]\n  username = \"x\"\n  password = {value}\n");
            let err = parse(&src).err().unwrap();
            assert_eq!((err.line, err.field.as_str()), (6, "password"), "{err}");
            assert!(!err.message.contains(value) && err.message.contains("expected a string"), "{err}");
        }
    }

    #[test]
    fn defaults_follow_the_spec() {
        let file = parse("[[realms]]\nname = \"acme\"\nsso_session_max = \"1h\"\n").unwrap();
        let s = file.file.realms[0].get_ref().settings();
        assert_eq!(s.display_name, "acme");
        assert_eq!(s.access_token_lifetime, 300);
        assert_eq!(s.refresh_token_lifetime, 30 * 86400);
        assert_eq!(s.sso_session_max, 3600);
        assert_eq!(s.signing_algorithm, SigningAlgorithm::Rs256);
        assert!(s.refresh_token_rotation && !s.query_tokens && !s.basic_auth);
    }
}

#[cfg(test)]
mod checks {
    use super::ParsedFile;
    use crate::import::apply::check;

    /// A name refused by the checks after parsing points at its own line.
    #[test]
    fn refused_names_name_their_own_line() {
        let cases = [
            ("[[realms]]\nname = \"a\"\ndisplay_name = \"x\\u001b\"\n", 3, "display_name"),
            (
                "[[realms]]\nname = \"a\"\n\n  [[realms.users]]\n  username = \"u\"\n\n  given_name = \"\\u200b\"\n",
                7,
                "given_name",
            ),
            ("[[realms]]\nname = \"a\"\n\n  [[realms.clients]]\n  client_id = \"c\"\n  name = \" \"\n", 6, "name"),
        ];
        for (source, line, field) in cases {
            let file = ParsedFile::parse("t.toml", source.to_owned()).expect("parses");
            let err = check(&file).expect_err(source);
            assert_eq!((err.line, err.field.as_str()), (line, field), "{err}");
        }
    }
}
