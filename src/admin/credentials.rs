//! Passwords in a `CredentialRepresentation`: a clear `value` an
//! administrator sets, or a hash Keycloak exported (`secretData` and
//! `credentialData`), which is kept when realmgate can verify it: argon2,
//! Keycloak's default since version 24, becomes the PHC string the
//! argon2 crate verifies. Other algorithms (pbkdf2) are refused, never
//! dropped silently.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use serde_json::{Map, Value};

use super::AdminError;
use crate::domain::user::MAX_PASSWORD_BYTES;
use crate::state::AppState;

/// A password an administrator sets, or one imported as a hash.
pub struct NewPassword {
    pub value: String,
    pub temporary: bool,
    /// `value` is already an argon2 PHC string.
    pub hashed: bool,
}

impl NewPassword {
    pub fn clear(value: String, temporary: bool) -> Self {
        Self { value, temporary, hashed: false }
    }

    /// The hash to store: made now (off the request threads), or as imported.
    pub async fn into_hash(self, state: &AppState) -> Result<String, AdminError> {
        if self.hashed { Ok(self.value) } else { Ok(state.hasher.hash(self.value).await?) }
    }
}

/// Imported hashes costing more than this are refused: each sign-in with
/// one holds a hashing thread (shared by every realm) for that long.
/// Keycloak's default is 7 MiB × 5 passes; realmgate's own 19 MiB × 2.
const MAX_IMPORTED_MEMORY_KIB: u64 = 64 * 1024;
const MAX_IMPORTED_ITERATIONS: u64 = 10;
/// Memory × passes, in KiB: at most about four of realmgate's own hashes.
const MAX_IMPORTED_COST: u64 = 160 * 1024;
const MAX_IMPORTED_PARALLELISM: u64 = 4;

/// Whether an argon2 hash costs no more to verify than realmgate takes in
/// an imported one: each sign-in attempt with it, by anyone, holds a
/// shared hashing thread that long.
pub fn check_hash_cost(phc: &str) -> Result<(), String> {
    let params = usable_params(phc)?;
    let (memory, passes, lanes) = (u64::from(params.m_cost()), u64::from(params.t_cost()), u64::from(params.p_cost()));
    if !within_import_limits(memory, passes, lanes) {
        return Err(format!(
            "costs more than realmgate takes in an imported hash (m={memory} KiB, t={passes}, p={lanes}; at most \
             m={MAX_IMPORTED_MEMORY_KIB}, t={MAX_IMPORTED_ITERATIONS}, p={MAX_IMPORTED_PARALLELISM}, m×t={MAX_IMPORTED_COST})"
        ));
    }
    Ok(())
}

/// The argon2 parameters of a hash realmgate can verify; why not otherwise
/// (another algorithm, such as Keycloak's pbkdf2, or parameters argon2
/// refuses): a user with such a hash could never sign in.
pub fn usable_params(phc: &str) -> Result<argon2::Params, String> {
    let parsed = argon2::PasswordHash::new(phc).map_err(|_| "is not a PHC password hash string".to_owned())?;
    if argon2::Algorithm::try_from(parsed.algorithm.as_str()).is_err() {
        return Err(format!("is a {} hash; realmgate verifies argon2 hashes only", parsed.algorithm));
    }
    argon2::Params::try_from(&parsed).map_err(|_| "has argon2 parameters realmgate cannot use".to_owned())
}

/// Whether argon2 parameters (KiB, passes, lanes) cost no more than an
/// imported hash may.
fn within_import_limits(memory: u64, passes: u64, lanes: u64) -> bool {
    memory <= MAX_IMPORTED_MEMORY_KIB
        && passes <= MAX_IMPORTED_ITERATIONS
        && lanes <= MAX_IMPORTED_PARALLELISM
        && memory * passes <= MAX_IMPORTED_COST
}

/// The password a credential carries, and whether it is `temporary` (the
/// user must choose a new one at the next sign-in).
pub fn password_of(credential: &Value) -> Result<Option<NewPassword>, AdminError> {
    let kind = credential.get("type").and_then(Value::as_str).unwrap_or("password");
    if kind != "password" {
        return Err(AdminError::bad_request(format!("Credential type `{kind}` is not supported")));
    }
    // Jackson's coercions (Keycloak): a boolean, its text, or 0/1; anything
    // else is refused rather than read as false (a permanent password).
    let temporary = match credential.get("temporary") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
        Some(Value::Number(n)) if n.as_u64() == Some(1) => true,
        Some(Value::Number(n)) if n.as_u64() == Some(0) => false,
        Some(other) => return Err(AdminError::bad_request(format!("`temporary` must be a boolean, not {other}"))),
    };
    if let Some(secret_data) = credential.get("secretData").filter(|v| !v.is_null()) {
        let hash = imported_hash(secret_data, credential.get("credentialData").unwrap_or(&Value::Null))?;
        return Ok(Some(NewPassword { value: hash, temporary, hashed: true }));
    }
    match credential.get("value").and_then(Value::as_str) {
        Some(v) if !v.is_empty() && v.len() <= MAX_PASSWORD_BYTES => {
            Ok(Some(NewPassword::clear(v.to_owned(), temporary)))
        }
        Some(v) if v.len() > MAX_PASSWORD_BYTES => {
            Err(AdminError::bad_request(format!("A password can have at most {MAX_PASSWORD_BYTES} bytes")))
        }
        _ => Err(AdminError::bad_request("A password credential needs a non-empty `value`")),
    }
}

/// `secretData` and `credentialData` are JSON objects, or JSON text of one (as exported).
fn object_of(value: &Value, field: &str) -> Result<Map<String, Value>, AdminError> {
    let parsed = match value {
        Value::String(text) => serde_json::from_str::<Value>(text).ok(),
        other => Some(other.clone()),
    };
    match parsed {
        Some(Value::Object(map)) => Ok(map),
        _ => Err(AdminError::bad_request(format!("`{field}` must be a JSON object"))),
    }
}

/// Keycloak's `additionalParameters` hold lists of strings: `{"memory": ["7168"]}`.
fn parameter(params: &Map<String, Value>, name: &str) -> Option<String> {
    match params.get(name)? {
        Value::Array(items) => items.first().and_then(Value::as_str).map(str::to_owned),
        Value::String(text) => Some(text.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn imported_hash(secret_data: &Value, credential_data: &Value) -> Result<String, AdminError> {
    let secret = object_of(secret_data, "secretData")?;
    let data = object_of(credential_data, "credentialData")?;
    let algorithm = data.get("algorithm").and_then(Value::as_str).unwrap_or("unknown");
    if algorithm != "argon2" {
        return Err(AdminError::bad_request(format!(
            "Password hashes made with `{algorithm}` cannot be imported (only Keycloak's argon2); \
             leave out the credential and set a password instead"
        )));
    }
    let bad = |what: &str| AdminError::bad_request(format!("The argon2 credential's {what} is not valid"));
    let decode = |field: &str| {
        secret.get(field).and_then(Value::as_str).and_then(|b64| STANDARD.decode(b64).ok()).filter(|b| !b.is_empty())
    };
    let hash = decode("value").ok_or_else(|| bad("hash"))?;
    let salt = decode("salt").filter(|s| s.len() >= 8).ok_or_else(|| bad("salt"))?;
    let empty = Map::new();
    let params = data.get("additionalParameters").and_then(Value::as_object).unwrap_or(&empty);
    let number = |name: &str| parameter(params, name).and_then(|v| v.parse::<u64>().ok());
    let variant = match parameter(params, "type").as_deref() {
        Some("id") | None => "argon2id",
        Some("i") => "argon2i",
        Some("d") => "argon2d",
        Some(_) => return Err(bad("type")),
    };
    let version = match parameter(params, "version").as_deref() {
        Some("1.3") | None => 19,
        Some("1.0") => 16,
        Some(_) => return Err(bad("version")),
    };
    let memory = number("memory").filter(|m| (8..=MAX_IMPORTED_MEMORY_KIB).contains(m)).ok_or_else(|| bad("memory"))?;
    let iterations = data
        .get("hashIterations")
        .and_then(Value::as_u64)
        .filter(|t| (1..=MAX_IMPORTED_ITERATIONS).contains(t))
        .ok_or_else(|| bad("hashIterations"))?;
    let parallelism = number("parallelism").unwrap_or(1);
    if !(1..=MAX_IMPORTED_PARALLELISM).contains(&parallelism) {
        return Err(bad("parallelism"));
    }
    // (Each parameter is within its own bound here; what is left is their product.)
    if !within_import_limits(memory, iterations, parallelism) {
        return Err(AdminError::bad_request(format!(
            "The argon2 credential costs more than realmgate verifies ({memory} KiB × {iterations} passes)"
        )));
    }
    let phc = format!(
        "${variant}$v={version}$m={memory},t={iterations},p={parallelism}${}${}",
        STANDARD_NO_PAD.encode(&salt),
        STANDARD_NO_PAD.encode(&hash)
    );
    // What the verifier could not use is refused here, not at the user's sign-in.
    let parsed = argon2::PasswordHash::new(&phc).map_err(|_| bad("hash"))?;
    argon2::Params::try_from(&parsed).map_err(|_| bad("parameters"))?;
    argon2::Algorithm::try_from(parsed.algorithm.as_str()).map_err(|_| bad("type"))?;
    Ok(phc)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::services::passwords::verify_blocking;

    /// A Keycloak 26 export of a user whose password is `s3cret`, made
    /// with Keycloak's argon2 defaults (argon2id, 7 MiB, 5 passes).
    fn keycloak_credential(password: &str) -> Value {
        let salt = b"0123456789abcdef";
        let params = argon2::Params::new(7168, 5, 1, Some(32)).unwrap();
        let mut hash = [0u8; 32];
        argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password_into(password.as_bytes(), salt, &mut hash)
            .unwrap();
        json!({
            "type": "password",
            "createdDate": 1_732_000_000_000_i64,
            "secretData": json!({"value": STANDARD.encode(hash), "salt": STANDARD.encode(salt), "additionalParameters": {}}).to_string(),
            "credentialData": json!({"hashIterations": 5, "algorithm": "argon2", "additionalParameters": {
                "hashLength": ["32"], "memory": ["7168"], "type": ["id"], "version": ["1.3"], "parallelism": ["1"]
            }}).to_string(),
        })
    }

    #[test]
    fn an_exported_argon2_hash_verifies_its_password_only() {
        let imported = password_of(&keycloak_credential("s3cret")).unwrap().unwrap();
        assert!(imported.hashed && !imported.temporary);
        assert!(imported.value.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{}", imported.value);
        assert!(verify_blocking(&imported.value, "s3cret"));
        assert!(!verify_blocking(&imported.value, "s3cret!"));
    }

    #[test]
    fn temporary_is_a_boolean_or_refused() {
        let with = |temporary: Value| password_of(&json!({"value": "pw", "temporary": temporary}));
        for (given, expected) in [(json!(true), true), (json!("TRUE"), true), (json!(1), true), (json!(false), false)] {
            assert_eq!(with(given.clone()).unwrap().unwrap().temporary, expected, "{given}");
        }
        assert!(!password_of(&json!({"value": "pw"})).unwrap().unwrap().temporary);
        for bad in [json!("yes"), json!(2), json!([]), json!({})] {
            assert!(with(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn hashes_it_cannot_verify_are_refused() {
        let mut pbkdf2 = keycloak_credential("x");
        pbkdf2["credentialData"] =
            json!({"hashIterations": 27500, "algorithm": "pbkdf2-sha256", "additionalParameters": {}})
                .to_string()
                .into();
        assert!(password_of(&pbkdf2).is_err());
        for (field, value) in
            [("memory", "1048576"), ("memory", "65536"), ("type", "z"), ("version", "2.0"), ("parallelism", "16")]
        {
            let mut credential = keycloak_credential("x");
            let mut data: Value = serde_json::from_str(credential["credentialData"].as_str().unwrap()).unwrap();
            data["additionalParameters"][field] = json!([value]);
            credential["credentialData"] = data.to_string().into();
            assert!(password_of(&credential).is_err(), "{field}={value}");
        }
        let mut no_salt = keycloak_credential("x");
        no_salt["secretData"] = json!({"value": "AAAA"}).to_string().into();
        assert!(password_of(&no_salt).is_err());
        assert!(password_of(&json!({"type": "otp", "value": "123456"})).is_err());
        assert!(password_of(&json!({"type": "password", "value": ""})).is_err());
    }
}
