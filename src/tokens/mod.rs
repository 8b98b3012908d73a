//! Token formats: JWS compact signing and verification, per-realm key rings
//! and JWKS, and the claim sets of access and ID tokens. No HTTP here.

pub mod claims;
pub mod jws;
pub mod keys;
