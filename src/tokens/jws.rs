//! JWS compact serialisation (RFC 7515) over josekit's signers and verifiers.
//! Headers always carry `kid`; verification takes the algorithm from the key,
//! never from the token, so `alg: none` and algorithm swaps cannot pass.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::keys::{KeyRing, SigningKey};

#[derive(Debug, thiserror::Error)]
pub enum JwsError {
    #[error("token is not a compact JWS")]
    Malformed,
    #[error("token is signed by an unknown key")]
    UnknownKey,
    #[error("token signature or algorithm is wrong")]
    BadSignature,
    #[error("token claims are malformed")]
    BadClaims,
    #[error("signing failed: {0}")]
    Sign(String),
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

#[derive(serde::Deserialize)]
struct ParsedHeader {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
}

/// Signs `claims` as a compact JWS with header `typ`.
pub fn sign<T: Serialize>(key: &SigningKey, typ: &str, claims: &T) -> Result<String, JwsError> {
    let header = Header { alg: key.algorithm.as_str(), typ, kid: &key.kid };
    let header_json = serde_json::to_vec(&header).map_err(|e| JwsError::Sign(e.to_string()))?;
    let claims_json = serde_json::to_vec(claims).map_err(|e| JwsError::Sign(e.to_string()))?;
    let mut out = String::with_capacity(64 + claims_json.len() * 4 / 3 + 400);
    URL_SAFE_NO_PAD.encode_string(&header_json, &mut out);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&claims_json, &mut out);
    let signature = key.sign(out.as_bytes()).map_err(|e| JwsError::Sign(e.to_string()))?;
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&signature, &mut out);
    Ok(out)
}

/// A verified token: its `typ` header and its claims.
pub struct Verified<T> {
    pub typ: Option<String>,
    pub claims: T,
}

/// Verifies a compact JWS against the ring's published keys and decodes its claims.
pub fn verify<T: DeserializeOwned>(ring: &KeyRing, token: &str) -> Result<Verified<T>, JwsError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwsError::Malformed);
    };
    let header_bytes = URL_SAFE_NO_PAD.decode(h).map_err(|_| JwsError::Malformed)?;
    let header: ParsedHeader = serde_json::from_slice(&header_bytes).map_err(|_| JwsError::Malformed)?;
    let kid = header.kid.ok_or(JwsError::UnknownKey)?;
    let key = ring.verifier(&kid).ok_or(JwsError::UnknownKey)?;
    if header.alg != key.algorithm.as_str() {
        return Err(JwsError::BadSignature);
    }
    let signature = URL_SAFE_NO_PAD.decode(s).map_err(|_| JwsError::Malformed)?;
    let signed_len = h.len() + 1 + p.len();
    if !key.verify(&token.as_bytes()[..signed_len], &signature) {
        return Err(JwsError::BadSignature);
    }
    let payload = URL_SAFE_NO_PAD.decode(p).map_err(|_| JwsError::Malformed)?;
    let claims = serde_json::from_slice(&payload).map_err(|_| JwsError::BadClaims)?;
    Ok(Verified { typ: header.typ, claims })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use crate::domain::realm::SigningAlgorithm;
    use crate::tokens::keys::NewKey;

    fn ring(alg: SigningAlgorithm) -> KeyRing {
        let secret = SecretKey::generate();
        let row = NewKey::generate(alg).unwrap().into_row(&secret, "r", 0);
        KeyRing::from_rows(&[row], &secret).unwrap()
    }

    #[test]
    fn signed_tokens_verify_and_tampering_fails() {
        let ring = ring(SigningAlgorithm::Es256);
        let token = sign(&ring.active, "at+jwt", &serde_json::json!({"sub": "u"})).unwrap();
        let v: Verified<serde_json::Value> = verify(&ring, &token).unwrap();
        assert_eq!(v.claims["sub"], "u");
        assert_eq!(v.typ.as_deref(), Some("at+jwt"));

        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"sub":"admin"}"#);
        parts[1] = &forged;
        assert!(verify::<serde_json::Value>(&ring, &parts.join(".")).is_err());
    }

    #[test]
    fn alg_none_and_foreign_keys_are_refused() {
        let ring = ring(SigningAlgorithm::Rs256);
        let token = sign(&ring.active, "at+jwt", &serde_json::json!({"sub": "u"})).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let none_header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","kid":"{}"}}"#, ring.active.kid));
        assert!(verify::<serde_json::Value>(&ring, &format!("{none_header}.{}.", parts[1])).is_err());
        assert!(verify::<serde_json::Value>(&self::ring(SigningAlgorithm::Rs256), &token).is_err());
        assert!(verify::<serde_json::Value>(&ring, "garbage").is_err());
        assert!(verify::<serde_json::Value>(&ring, "a.b.c.d").is_err());
    }
}
