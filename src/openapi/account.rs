//! The account API's shapes (`services::account`'s views), snake_case as
//! realmgate's own API has them; times are seconds since the epoch.

use serde::Serialize;
use utoipa::ToSchema;

/// A personal access token of the caller (never the token itself).
#[derive(Serialize, ToSchema)]
pub struct PersonalAccessToken {
    pub id: String,
    pub name: String,
    /// Space-separated scopes.
    pub scope: String,
    pub created_at: i64,
    /// Absent for a token that does not expire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<i64>,
}

/// A personal access token to mint (no other fields are accepted).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPersonalAccessToken {
    pub name: String,
    /// Space-separated; never more than the calling credential holds.
    pub scope: Option<String>,
    /// Lifetime in seconds (at most 100 years); absent for a token that does not expire.
    #[schema(minimum = 1)]
    pub expires_in: Option<i64>,
}

/// A freshly minted personal access token: shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedPersonalAccessToken {
    #[serde(flatten)]
    pub view: PersonalAccessToken,
    /// `rgp_` and 40 lowercase hex characters.
    #[schema(pattern = "^rgp_[0-9a-f]{40}$")]
    pub token: String,
}

/// An SSO session of the caller.
#[derive(Serialize, ToSchema)]
pub struct AccountSession {
    pub id: String,
    pub started_at: i64,
    pub last_seen_at: i64,
    /// For a grant made without a browser (password, device grant): its application's `client_id`.
    pub client_id: Option<String>,
    /// The address the session was started from.
    pub ip_address: Option<String>,
}

/// A consent the caller granted a client.
#[derive(Serialize, ToSchema)]
pub struct AccountConsent {
    pub client_id: String,
    pub client_name: String,
    /// Space-separated scopes granted.
    pub scope: String,
    pub granted_at: i64,
}
