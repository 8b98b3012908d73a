//! The server's secret key (AES-256-GCM at rest, HMAC-SHA256 for refresh
//! tokens), random tokens, token hashing and constant-time comparison, all
//! on OpenSSL and RustCrypto's crates: no home-made crypto.

use std::fmt;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use openssl::symm::{Cipher, decrypt_aead, encrypt_aead};
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Authenticated data binding every ciphertext to its purpose and format.
const AAD: &[u8] = b"realmgate/v1";

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read the secret key file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("cannot create the secret key file {path}: {source}")]
    Create { path: String, source: std::io::Error },
    #[error("the secret key file {path} must hold 64 hexadecimal characters (a 256-bit key)")]
    Malformed { path: String },
}

#[derive(Debug, thiserror::Error)]
#[error("ciphertext could not be decrypted with this secret key")]
pub struct DecryptError;

/// The 256-bit key that encrypts client secrets and private signing keys,
/// and the key derived from it that authenticates refresh tokens.
#[derive(Clone)]
pub struct SecretKey {
    key: [u8; 32],
    /// HMAC-SHA256 keyed with the refresh-token MAC key (its pads already
    /// hashed): each MAC clones it and hashes only the message.
    refresh_mac: Hmac<Sha256>,
}

/// What the refresh-token MAC key is derived for: a key of its own, so a
/// MAC can never stand in for anything the secret key does.
const REFRESH_MAC_PURPOSE: &[u8] = b"realmgate/refresh-token-mac/v1";

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl SecretKey {
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        fill_random(&mut key);
        Self::from_bytes(key)
    }

    fn from_bytes(key: [u8; 32]) -> Self {
        let refresh_key = hmac_sha256(&key, REFRESH_MAC_PURPOSE);
        let refresh_mac = Hmac::new_from_slice(&refresh_key).expect("HMAC takes keys of any length");
        Self { key, refresh_mac }
    }

    /// HMAC-SHA256 of `message` under the refresh-token MAC key, base64url.
    pub fn refresh_mac(&self, message: &[u8]) -> String {
        let mut mac = self.refresh_mac.clone();
        mac.update(message);
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// HMAC-SHA256 of `message` under a key derived for `purpose` alone,
    /// base64url: a value only this installation can make for that purpose.
    pub fn purpose_mac(&self, purpose: &[u8], message: &[u8]) -> String {
        let key = hmac_sha256(&self.key, purpose);
        URL_SAFE_NO_PAD.encode(hmac_sha256(&key, message))
    }

    /// Reads the key file (64 hex characters, surrounding whitespace allowed).
    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        let bytes =
            std::fs::read(path).map_err(|source| KeyFileError::Read { path: path.display().to_string(), source })?;
        let malformed = || KeyFileError::Malformed { path: path.display().to_string() };
        // Raw key bytes are not text: the same message as any other shape.
        let text = String::from_utf8(bytes).map_err(|_| malformed())?;
        let hex = text.trim();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(malformed());
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| malformed())?;
        }
        Ok(Self::from_bytes(key))
    }

    /// Writes a new key file with mode 0600; fails if the file already exists.
    /// The key is written to a file of its own first and then linked under
    /// `path`, so a node starting at the same moment sees either no file or
    /// the whole key, never an empty one.
    pub fn create(path: &Path) -> Result<Self, KeyFileError> {
        let key = Self::generate();
        let err = |source| KeyFileError::Create { path: path.display().to_string(), source };
        let staging = path.with_file_name(format!(
            ".{}.{}.new",
            path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
            random_token(9)
        ));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let written = options.open(&staging).and_then(|mut file| {
            writeln!(file, "{}", to_hex(&key.key))?;
            file.sync_all()
        });
        let linked = written.and_then(|()| std::fs::hard_link(&staging, path));
        let _ = std::fs::remove_file(&staging);
        linked.map_err(err)?;
        Ok(key)
    }

    /// Encrypts with a fresh random nonce: `nonce ‖ ciphertext ‖ tag`.
    pub fn encrypt(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce);
        let mut tag = [0u8; TAG_LEN];
        let ciphertext = encrypt_aead(Cipher::aes_256_gcm(), &self.key, Some(&nonce), AAD, plaintext, &mut tag)
            .expect("AES-256-GCM encryption with a valid key cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out.extend_from_slice(&tag);
        out
    }

    pub fn decrypt(&self, sealed: &[u8]) -> Result<Vec<u8>, DecryptError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(DecryptError);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        decrypt_aead(Cipher::aes_256_gcm(), &self.key, Some(nonce), AAD, ciphertext, tag).map_err(|_| DecryptError)
    }

    /// Decrypts sealed text (a client secret); invalid UTF-8 counts as tampering.
    pub fn decrypt_text(&self, sealed: &[u8]) -> Result<String, DecryptError> {
        String::from_utf8(self.decrypt(sealed)?).map_err(|_| DecryptError)
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// An opaque token of `bytes` random bytes, base64url without padding (no `.`).
pub fn random_token(bytes: usize) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(bytes))
}

pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    fill_random(&mut buf);
    buf
}

/// Fills `buf` from the kernel's CSPRNG (`getrandom(2)`). OpenSSL 3.0's
/// `RAND_bytes` cost about 5 µs a call here (a fork check, parameter
/// lookups and locks around its DRBG), two of them in every refresh.
fn fill_random(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's CSPRNG failed");
}

/// The at-rest form of an opaque token: SHA-256, base64url. Tokens carry at
/// least 128 random bits, so a fast hash is enough (no password hash needed).
pub fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets in time independent of where they differ and of
/// their lengths (both are hashed to 32 bytes first).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let (ha, hb) = (Sha256::digest(a), Sha256::digest(b));
    openssl::memcmp::eq(&ha, &hb)
}

pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key() {
        let key = SecretKey::generate();
        let sealed = key.encrypt(b"client secret");
        assert_eq!(key.decrypt(&sealed).unwrap(), b"client secret");
        assert!(SecretKey::generate().decrypt(&sealed).is_err());
        let mut tampered = sealed.clone();
        tampered[NONCE_LEN] ^= 1;
        assert!(key.decrypt(&tampered).is_err());
        assert!(key.decrypt(b"short").is_err());
    }

    #[test]
    fn key_files_round_trip_and_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let key = SecretKey::create(&path).unwrap();
        let again = SecretKey::load(&path).unwrap();
        assert_eq!(again.decrypt(&key.encrypt(b"x")).unwrap(), b"x");
        assert!(SecretKey::create(&path).is_err(), "an existing key is never overwritten");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not a key").unwrap();
        assert!(matches!(SecretKey::load(&path), Err(KeyFileError::Malformed { .. })));
    }

    #[test]
    fn nodes_creating_the_key_at_once_all_get_the_one_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("realmgate.key");
        // What a starting node does: create the key, or read the one another
        // node created a moment ago (never a half-written file).
        let open = || match SecretKey::create(&path) {
            Ok(key) => (true, key.key),
            Err(KeyFileError::Create { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
                (false, SecretKey::load(&path).expect("the whole key").key)
            }
            Err(e) => panic!("{e}"),
        };
        let opened: Vec<_> = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..8).map(|_| scope.spawn(open)).collect();
            racers.into_iter().map(|racer| racer.join().unwrap()).collect()
        });
        assert_eq!(opened.iter().filter(|(created, _)| *created).count(), 1, "exactly one writes the file");
        assert!(opened.iter().all(|(_, key)| *key == opened[0].1), "all use one key");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["realmgate.key"], "no staging file is left behind");
    }

    #[test]
    fn hmac_is_rfc_4231s() {
        // RFC 4231, test case 2
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(to_hex(&mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn refresh_macs_depend_on_the_key_and_the_message() {
        let key = SecretKey::generate();
        assert_eq!(key.refresh_mac(b"a"), key.refresh_mac(b"a"));
        assert_ne!(key.refresh_mac(b"a"), key.refresh_mac(b"b"));
        assert_ne!(key.refresh_mac(b"a"), SecretKey::generate().refresh_mac(b"a"));
        assert_eq!(key.refresh_mac(b"a").len(), 43);
    }

    #[test]
    fn tokens_are_long_and_dotless() {
        let t = random_token(32);
        assert_eq!(t.len(), 43);
        assert!(!t.contains('.'));
        assert_ne!(t, random_token(32));
    }

    #[test]
    fn comparison_is_exact() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
