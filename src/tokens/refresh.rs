//! The refresh token's wire form.
//!
//! A family's token is `rgf_<family id>_<generation>_<MAC>`: the MAC
//! (HMAC-SHA256 under a key derived from the server's secret key) binds the
//! family and the generation, so the database keeps no token, nor a hash of
//! one: only each family's current generation. A stale generation is then
//! still recognised as genuine, and its replay revokes the family (RFC 9700
//! §4.14), while a forged one is merely invalid.
//!
//! Tokens issued before generations were random strings stored as rows
//! (under their SHA-256, after the time-ordered part of those starting
//! `rgr_`); any string not of the family form is looked up that way.

use crate::crypto::{SecretKey, constant_time_eq, token_hash};

const PREFIX: &str = "rgf_";
const STORED_PREFIX: &str = "rgr_";
const ORDER_LEN: usize = 32;

/// A presented refresh token, once its form is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// A generation of a family, with a MAC that holds.
    Generation { family_id: String, generation: i64 },
    /// A token from before generations, found by the key it is stored under.
    Stored { key: String },
}

/// The token of `generation` of the family `family_id`.
pub fn generation_token(secret: &SecretKey, family_id: &str, generation: i64) -> String {
    let mac = secret.refresh_mac(mac_input(family_id, generation).as_bytes());
    format!("{PREFIX}{family_id}_{generation}_{mac}")
}

fn mac_input(family_id: &str, generation: i64) -> String {
    format!("{PREFIX}{family_id}_{generation}")
}

impl Presented {
    /// What `token` is; `None` for a token of the family form whose MAC
    /// does not hold (or that is malformed).
    pub fn parse(secret: &SecretKey, token: &str) -> Option<Self> {
        let Some(rest) = token.strip_prefix(PREFIX) else {
            return Some(Presented::Stored { key: stored_key(token) });
        };
        // Family ids are UUIDs (hex digits and hyphens): the first two
        // underscores end the id and the generation; the MAC may hold more.
        let (family_id, rest) = rest.split_once('_')?;
        let (generation_digits, mac) = rest.split_once('_')?;
        if family_id.len() != 36 || !family_id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            return None;
        }
        let generation: i64 = generation_digits.parse().ok().filter(|g| *g >= 0)?;
        if generation.to_string() != generation_digits {
            return None;
        }
        let expected = secret.refresh_mac(mac_input(family_id, generation).as_bytes());
        constant_time_eq(mac.as_bytes(), expected.as_bytes())
            .then(|| Presented::Generation { family_id: family_id.to_owned(), generation })
    }
}

/// The key a token from before generations is stored and found under: its
/// hash, after its time-ordered part if it has one. Only the hash of the
/// whole token can match, so the part a client could alter finds nothing
/// by itself.
fn stored_key(token: &str) -> String {
    let hash = token_hash(token);
    match token.strip_prefix(STORED_PREFIX).and_then(|rest| rest.get(..ORDER_LEN)) {
        Some(order) if order.bytes().all(|b| b.is_ascii_hexdigit()) => format!("{order}{hash}"),
        _ => hash,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAMILY: &str = "6f1c2a9e-4b7d-4c1e-9a53-0d2f8e7b6a41";

    #[test]
    fn generation_tokens_parse_back_to_their_family_and_generation() {
        let secret = SecretKey::generate();
        for generation in [0, 1, 41, i64::MAX] {
            let token = generation_token(&secret, FAMILY, generation);
            assert!(!token.contains('.') && token.len() < 120, "{token}");
            assert_eq!(
                Presented::parse(&secret, &token),
                Some(Presented::Generation { family_id: FAMILY.into(), generation })
            );
        }
    }

    #[test]
    fn a_mac_that_does_not_hold_is_refused() {
        let secret = SecretKey::generate();
        let token = generation_token(&secret, FAMILY, 3);
        let other_key = generation_token(&SecretKey::generate(), FAMILY, 3);
        let other_generation = token.replacen("_3_", "_4_", 1);
        let other_family = token.replacen("6f1c", "6f1d", 1);
        let padded = token.replacen("_3_", "_03_", 1);
        let cut = &token[..token.len() - 1];
        let negative = generation_token(&secret, FAMILY, 3).replacen("_3_", "_-3_", 1);
        for forged in
            [other_key.as_str(), &other_generation, &other_family, &padded, cut, &negative, "rgf_", "rgf_x_1_y"]
        {
            assert_eq!(Presented::parse(&secret, forged), None, "{forged}");
        }
    }

    #[test]
    fn older_tokens_are_looked_up_by_their_stored_key() {
        let secret = SecretKey::generate();
        let order = "0192f3a4b5c6d7e8f90a1b2c3d4e5f60";
        let token = format!("rgr_{order}AAAAbbbbCCCCddddEEEEffffGGGGhhhhIIIIjjjjKKK");
        let Some(Presented::Stored { key }) = Presented::parse(&secret, &token) else { panic!("not stored") };
        assert_eq!(key, format!("{order}{}", token_hash(&token)));
        // The order part alone finds nothing: the hash covers the whole token.
        let forged = format!("rgr_{order}zzzz");
        assert_ne!(stored_key(&forged), key);
        for plain in ["plain-random-token", "rgr_short", "rgr_zz345678901234567890123456789012xyz", "rgr_é"] {
            assert_eq!(Presented::parse(&secret, plain), Some(Presented::Stored { key: token_hash(plain) }), "{plain}");
        }
    }
}
