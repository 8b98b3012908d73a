//! Who is signing in: username (or a unique email) and password, checked with
//! argon2id; unknown users take as long as known ones.

use super::ServiceError;
use super::realm_cache::RealmEntry;
use crate::domain::user::{User, Username};
use crate::state::AppState;
use crate::storage::repo::{roles, users};

/// A user whose password was right, with the roles that govern their scopes.
#[derive(Debug, Clone)]
pub struct SignedInUser {
    pub user: User,
    pub role_ids: Vec<String>,
}

/// Checks a username and password; `None` for any wrong combination.
pub async fn password(
    state: &AppState,
    entry: &RealmEntry,
    login: &str,
    password: String,
) -> Result<Option<SignedInUser>, ServiceError> {
    let realm_id = entry.realm.id.clone();
    let login = login.to_owned();
    let found = state
        .db
        .run(move |conn| {
            let row = match Username::parse(&login) {
                Ok(username) => users::find_by_username(conn, &realm_id, username.as_str())?,
                Err(_) => None,
            };
            let row = match row {
                Some(row) => Some(row),
                None if login.contains('@') => users::find_by_unique_email(conn, &realm_id, login.trim())?,
                None => None,
            };
            match row {
                Some(row) => {
                    let role_ids = roles::list_role_ids_of_user(conn, &row.id)?;
                    Ok(Some(SignedInUser { user: row.to_domain(), role_ids }))
                }
                None => Ok(None),
            }
        })
        .await?;
    let hash = found.as_ref().and_then(|f| f.user.password_hash.clone());
    let matches = state.hasher.verify(hash, password).await?;
    Ok(found.filter(|f| matches && f.user.enabled))
}
