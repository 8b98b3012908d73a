//! Token formats: JWS compact signing and verification, per-realm key rings
//! and JWKS, the claim sets of access and ID tokens, and the refresh
//! token's form. No HTTP here.

pub mod claims;
pub mod jws;
pub mod keys;
pub mod refresh;
