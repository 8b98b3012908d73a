//! Per-realm signing keys: generation, sealing at rest, and the parsed key
//! ring (signers and verifiers built once per load, never per request).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use josekit::jwk::alg::ed::EdCurve;
use josekit::jwk::{Jwk, KeyPair};
use josekit::jws::{ES256, EdDSA, JwsSigner, JwsVerifier, PS256, RS256};
use openssl::md::Md;
use openssl::pkey::{PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use serde_json::{Map, Value};

use crate::clock::UnixTime;
use crate::crypto::{self, SecretKey};
use crate::domain::realm::SigningAlgorithm;
use crate::storage::repo::keys::KeyRow;

const RSA_BITS: u32 = 2048;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed: {0}")]
    Generate(String),
    #[error("stored key {kid} is unusable: {reason}")]
    Unusable { kid: String, reason: String },
    #[error("realm has no active signing key")]
    NoActiveKey,
}

/// A freshly generated key, ready to be stored.
pub struct NewKey {
    pub kid: String,
    pub algorithm: SigningAlgorithm,
    pub private_der: Vec<u8>,
    pub public_jwk: Jwk,
}

impl fmt::Debug for NewKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl NewKey {
    /// Generates a key pair for `algorithm` (RSA 2048, P-256 or Ed25519).
    pub fn generate(algorithm: SigningAlgorithm) -> Result<Self, KeyError> {
        let err = |e: josekit::JoseError| KeyError::Generate(e.to_string());
        let pair: Box<dyn KeyPair> = match algorithm {
            SigningAlgorithm::Rs256 => Box::new(RS256.generate_key_pair(RSA_BITS).map_err(err)?),
            SigningAlgorithm::Ps256 => Box::new(PS256.generate_key_pair(RSA_BITS).map_err(err)?),
            SigningAlgorithm::Es256 => Box::new(ES256.generate_key_pair().map_err(err)?),
            SigningAlgorithm::EdDsa => Box::new(EdDSA.generate_key_pair(EdCurve::Ed25519).map_err(err)?),
        };
        let kid = crypto::random_token(16);
        let mut public_jwk = pair.to_jwk_public_key();
        public_jwk.set_key_id(&kid);
        public_jwk.set_key_use("sig");
        public_jwk.set_algorithm(algorithm.as_str());
        Ok(Self { kid, algorithm, private_der: pair.to_der_private_key(), public_jwk })
    }

    /// The row to store, with the private key sealed by the secret key.
    pub fn into_row(self, secret: &SecretKey, realm_id: &str, now: UnixTime) -> KeyRow {
        KeyRow {
            kid: self.kid,
            realm_id: realm_id.to_owned(),
            algorithm: self.algorithm.as_str().to_owned(),
            private_key_ciphertext: secret.encrypt(&self.private_der),
            public_jwk: self.public_jwk.to_string(),
            created_at: now,
            retired_at: None,
            publish_until: None,
        }
    }
}

/// The key that signs new tokens.
pub struct SigningKey {
    pub kid: String,
    pub algorithm: SigningAlgorithm,
    signer: Box<dyn JwsSigner>,
    /// RSA only: a signer per worker thread, made on its first signature.
    /// OpenSSL blinds each RSA key's private operation with state that only
    /// the thread that first used the key reads without a lock; every other
    /// thread takes the shared, locked path on every signature.
    per_thread: Option<PerThread>,
}

/// Slots of per-thread RSA signers; threads beyond these share slots.
const THREAD_SLOTS: usize = 4;

struct PerThread {
    der: Vec<u8>,
    slots: [OnceLock<Option<ThreadSigner>>; THREAD_SLOTS],
}

enum ThreadSigner {
    Rs256(Mutex<Rs256Context>),
    Other(Box<dyn JwsSigner>),
}

/// An RS256 signing context set up once (PKCS#1 v1.5 padding, SHA-256) and
/// reused for every signature of its thread: each signature is one
/// `EVP_PKEY_sign` over the SHA-256 digest, as `openssl speed` signs.
/// josekit's signer sets up a digest-and-sign context per signature, and
/// OpenSSL 3 then looks its algorithms up under a lock shared by all
/// threads: two threads signed 2.5 % more often this way (same
/// instructions per signature; the signatures are byte for byte the same).
struct Rs256Context(PkeyCtx<Private>);

impl Rs256Context {
    fn new(der: &[u8]) -> Result<Self, openssl::error::ErrorStack> {
        let key = PKey::private_key_from_der(der)?;
        let mut ctx = PkeyCtx::new(&key)?;
        ctx.sign_init()?;
        ctx.set_rsa_padding(Padding::PKCS1)?;
        ctx.set_signature_md(Md::sha256())?;
        Ok(Self(ctx))
    }

    fn sign(&mut self, message: &[u8]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let digest = openssl::sha::sha256(message);
        let mut signature = Vec::new();
        self.0.sign_to_vec(&digest, &mut signature)?;
        Ok(signature)
    }
}

/// This thread's slot: threads are numbered as they first sign.
fn thread_slot() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: usize = NEXT.fetch_add(1, Ordering::Relaxed) % THREAD_SLOTS;
    }
    SLOT.with(|slot| *slot)
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

impl SigningKey {
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, josekit::JoseError> {
        if let Some(per_thread) = &self.per_thread {
            let own = per_thread.slots[thread_slot()].get_or_init(|| match self.algorithm {
                SigningAlgorithm::Rs256 => {
                    Rs256Context::new(&per_thread.der).ok().map(|c| ThreadSigner::Rs256(Mutex::new(c)))
                }
                algorithm => signer_from_der(algorithm, &per_thread.der).ok().map(ThreadSigner::Other),
            });
            match own {
                Some(ThreadSigner::Rs256(context)) => {
                    let mut context = context.lock().unwrap_or_else(PoisonError::into_inner);
                    return context.sign(message).map_err(|e| josekit::JoseError::InvalidSignature(e.into()));
                }
                Some(ThreadSigner::Other(signer)) => return signer.sign(message),
                None => {}
            }
        }
        self.signer.sign(message)
    }
}

/// A published public key.
pub struct VerifyingKey {
    pub algorithm: SigningAlgorithm,
    verifier: Box<dyn JwsVerifier>,
}

impl VerifyingKey {
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verifier.verify(message, signature).is_ok()
    }
}

/// One realm's keys: the active signer, every published verifier, the JWKS.
pub struct KeyRing {
    pub active: SigningKey,
    verifiers: HashMap<String, VerifyingKey>,
    jwks: Vec<u8>,
    algorithms: Vec<SigningAlgorithm>,
    /// When a retired key leaves the JWKS, so the ring must be rebuilt.
    pub valid_until: Option<UnixTime>,
    /// The latest any token signed under earlier, longer lifetimes can
    /// live (the furthest publication floor of a key), if any.
    pub signed_tokens_live_until: Option<UnixTime>,
    /// The active key's public half as DER SubjectPublicKeyInfo.
    pub active_public_der: Vec<u8>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing").field("active", &self.active).finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Builds the ring from the published rows (newest first), unsealing the
    /// active private key.
    pub fn from_rows(rows: &[KeyRow], secret: &SecretKey) -> Result<Self, KeyError> {
        let active_row = rows.iter().find(|r| r.retired_at.is_none()).ok_or(KeyError::NoActiveKey)?;
        let unusable = |kid: &str, reason: String| KeyError::Unusable { kid: kid.to_owned(), reason };
        let active = {
            let algorithm: SigningAlgorithm =
                active_row.algorithm.parse().map_err(|e: crate::domain::Invalid| unusable(&active_row.kid, e.0))?;
            let der = secret
                .decrypt(&active_row.private_key_ciphertext)
                .map_err(|e| unusable(&active_row.kid, e.to_string()))?;
            let signer = signer_from_der(algorithm, &der).map_err(|e| unusable(&active_row.kid, e.to_string()))?;
            let per_thread = matches!(algorithm, SigningAlgorithm::Rs256 | SigningAlgorithm::Ps256)
                .then(|| PerThread { der, slots: Default::default() });
            SigningKey { kid: active_row.kid.clone(), algorithm, signer, per_thread }
        };
        let mut verifiers = HashMap::new();
        let mut jwks_keys = Vec::new();
        let mut algorithms = Vec::new();
        for row in rows {
            let algorithm: SigningAlgorithm =
                row.algorithm.parse().map_err(|e: crate::domain::Invalid| unusable(&row.kid, e.0))?;
            let map: Map<String, Value> =
                serde_json::from_str(&row.public_jwk).map_err(|e| unusable(&row.kid, e.to_string()))?;
            let jwk = Jwk::from_map(map.clone()).map_err(|e| unusable(&row.kid, e.to_string()))?;
            let verifier = verifier_from_jwk(algorithm, &jwk).map_err(|e| unusable(&row.kid, e.to_string()))?;
            verifiers.insert(row.kid.clone(), VerifyingKey { algorithm, verifier });
            jwks_keys.push(Value::Object(map));
            if !algorithms.contains(&algorithm) {
                algorithms.push(algorithm);
            }
        }
        let jwks = serde_json::to_vec(&serde_json::json!({ "keys": jwks_keys })).expect("JSON values serialise");
        let valid_until = rows.iter().filter(|r| r.retired_at.is_some()).filter_map(|r| r.publish_until).min();
        let active_public_der = public_key_der(&active_row.public_jwk).unwrap_or_default();
        let signed_tokens_live_until = rows.iter().filter_map(|r| r.publish_until).max();
        Ok(Self { active, verifiers, jwks, algorithms, valid_until, signed_tokens_live_until, active_public_der })
    }

    pub fn verifier(&self, kid: &str) -> Option<&VerifyingKey> {
        self.verifiers.get(kid)
    }

    /// The JWKS document (RFC 7517): public signing keys only.
    pub fn jwks(&self) -> &[u8] {
        &self.jwks
    }

    /// Every algorithm a published key uses, the active one first.
    pub fn algorithms(&self) -> Vec<&'static str> {
        let mut algs = vec![self.active.algorithm.as_str()];
        for alg in &self.algorithms {
            if !algs.contains(&alg.as_str()) {
                algs.push(alg.as_str());
            }
        }
        algs
    }
}

fn signer_from_der(alg: SigningAlgorithm, der: &[u8]) -> Result<Box<dyn JwsSigner>, josekit::JoseError> {
    Ok(match alg {
        SigningAlgorithm::Rs256 => Box::new(RS256.signer_from_der(der)?),
        SigningAlgorithm::Ps256 => Box::new(PS256.signer_from_der(der)?),
        SigningAlgorithm::Es256 => Box::new(ES256.signer_from_der(der)?),
        SigningAlgorithm::EdDsa => Box::new(EdDSA.signer_from_der(der)?),
    })
}

fn verifier_from_jwk(alg: SigningAlgorithm, jwk: &Jwk) -> Result<Box<dyn JwsVerifier>, josekit::JoseError> {
    Ok(match alg {
        SigningAlgorithm::Rs256 => Box::new(RS256.verifier_from_jwk(jwk)?),
        SigningAlgorithm::Ps256 => Box::new(PS256.verifier_from_jwk(jwk)?),
        SigningAlgorithm::Es256 => Box::new(ES256.verifier_from_jwk(jwk)?),
        SigningAlgorithm::EdDsa => Box::new(EdDSA.verifier_from_jwk(jwk)?),
    })
}

/// The DER SubjectPublicKeyInfo of a public JWK (RSA, P-256 or Ed25519), as
/// Keycloak's admin API shows keys; `None` for anything else.
pub fn public_key_der(jwk: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    use openssl::bn::BigNum;
    let jwk: serde_json::Value = serde_json::from_str(jwk).ok()?;
    let field = |name: &str| -> Option<Vec<u8>> {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(jwk.get(name)?.as_str()?).ok()
    };
    let key = match jwk.get("kty")?.as_str()? {
        "RSA" => {
            let rsa = openssl::rsa::Rsa::from_public_components(
                BigNum::from_slice(&field("n")?).ok()?,
                BigNum::from_slice(&field("e")?).ok()?,
            )
            .ok()?;
            openssl::pkey::PKey::from_rsa(rsa).ok()?
        }
        "EC" => {
            let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).ok()?;
            let x = BigNum::from_slice(&field("x")?).ok()?;
            let y = BigNum::from_slice(&field("y")?).ok()?;
            let ec = openssl::ec::EcKey::from_public_key_affine_coordinates(&group, &x, &y).ok()?;
            openssl::pkey::PKey::from_ec_key(ec).ok()?
        }
        "OKP" => openssl::pkey::PKey::public_key_from_raw_bytes(&field("x")?, openssl::pkey::Id::ED25519).ok()?,
        _ => return None,
    };
    key.public_key_to_der().ok()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn every_algorithm_signs_and_verifies_through_a_stored_row() {
        let secret = SecretKey::generate();
        for alg in SigningAlgorithm::ALL {
            let key = NewKey::generate(alg).unwrap();
            let row = key.into_row(&secret, "r", 0);
            assert!(!row.public_jwk.contains("\"d\""), "{alg}: private part in the JWK");
            let ring = KeyRing::from_rows(std::slice::from_ref(&row), &secret).unwrap();
            let sig = ring.active.sign(b"message").unwrap();
            let verifier = ring.verifier(&row.kid).unwrap();
            assert!(verifier.verify(b"message", &sig), "{alg}");
            assert!(!verifier.verify(b"messagf", &sig), "{alg}");
            let jwks: Value = serde_json::from_slice(ring.jwks()).unwrap();
            assert_eq!(jwks["keys"][0]["kid"], row.kid.as_str());
            assert_eq!(jwks["keys"][0]["use"], "sig");
            assert_eq!(jwks["keys"][0]["alg"], alg.as_str());
        }
    }

    /// PKCS#1 v1.5 signatures are deterministic: the reused RS256 context
    /// must sign exactly as josekit's RS256 signer does, on every thread.
    #[test]
    fn rs256_signs_byte_for_byte_as_josekit() {
        let secret = SecretKey::generate();
        let key = NewKey::generate(SigningAlgorithm::Rs256).unwrap();
        let josekit = RS256.signer_from_der(&key.private_der).unwrap();
        let ring = Arc::new(KeyRing::from_rows(&[key.into_row(&secret, "r", 0)], &secret).unwrap());
        assert!(ring.active.per_thread.is_some());
        let message = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9".repeat(7);
        let expected = josekit.sign(&message).unwrap();
        let threads: Vec<_> = (0..THREAD_SLOTS + 2)
            .map(|_| {
                let (ring, message) = (Arc::clone(&ring), message.clone());
                std::thread::spawn(move || [ring.active.sign(&message).unwrap(), ring.active.sign(&message).unwrap()])
            })
            .collect();
        for thread in threads {
            for signature in thread.join().unwrap() {
                assert_eq!(signature, expected);
            }
        }
    }

    #[test]
    fn a_wrong_secret_key_cannot_unseal() {
        let row = NewKey::generate(SigningAlgorithm::Es256).unwrap().into_row(&SecretKey::generate(), "r", 0);
        assert!(KeyRing::from_rows(&[row], &SecretKey::generate()).is_err());
    }
}
