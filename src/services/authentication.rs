//! Who is signing in: username (or a unique email) and password, checked with
//! argon2id; unknown users take as long as known ones, and a user tried
//! with too many wrong passwords is refused unchecked for a while.

use super::ServiceError;
use super::realm_cache::RealmEntry;
use crate::domain::user::{User, Username};
use crate::state::AppState;
use crate::storage::repo::{rate_limits, roles, users};

/// A user whose password was right, with the roles that govern their scopes.
#[derive(Debug, Clone)]
pub struct SignedInUser {
    pub user: User,
    pub role_ids: Vec<String>,
}

/// Wrong passwords a user may be tried with per window before their
/// sign-ins are refused unchecked until the window ends (brute-force
/// protection; the count lives in the database, shared by every node).
pub const MAX_PASSWORD_FAILURES: i64 = 10;
pub const PASSWORD_FAILURE_WINDOW_SECS: i64 = 15 * 60;

fn failures_key(realm_id: &str, user_id: &str) -> String {
    format!("password:{realm_id}:{user_id}")
}

/// What a password check found.
#[derive(Debug)]
pub enum PasswordCheck {
    /// The right password of an enabled user.
    SignedIn(Box<SignedInUser>),
    Refused(Refusal),
}

/// Why a password check failed.
#[derive(Debug)]
pub enum Refusal {
    /// The right password of a disabled user: said only once the password
    /// was right, as Keycloak says "Account is disabled".
    Disabled { user_id: String },
    /// An unknown user (no `user_id`), a wrong password, or a user tried
    /// with too many wrong passwords lately (`locked`): one answer, so a
    /// guesser learns nothing; only the audit log tells them apart.
    Wrong { user_id: Option<String>, locked: bool },
}

impl PasswordCheck {
    /// The signed-in user, for callers that answer every refusal alike.
    pub fn signed_in(self) -> Option<SignedInUser> {
        match self {
            PasswordCheck::SignedIn(user) => Some(*user),
            PasswordCheck::Refused(_) => None,
        }
    }
}

impl Refusal {
    /// As Keycloak's audit log records it: the user, when the login named
    /// one, and the error code.
    pub fn audited(&self) -> (Option<&str>, &'static str) {
        match self {
            Refusal::Disabled { user_id } => (Some(user_id), "user_disabled"),
            Refusal::Wrong { user_id: None, .. } => (None, "user_not_found"),
            Refusal::Wrong { user_id: Some(id), locked: true } => (Some(id), "user_temporarily_disabled"),
            Refusal::Wrong { user_id: Some(id), locked: false } => (Some(id), "invalid_user_credentials"),
        }
    }
}

/// Checks a username and password. A user tried with too many wrong
/// passwords lately is refused whatever the password, after the same
/// hash an unknown user costs (answering at once would tell a guesser
/// that the name exists).
pub async fn password(
    state: &AppState,
    entry: &RealmEntry,
    login: &str,
    password: String,
) -> Result<PasswordCheck, ServiceError> {
    let now = state.clock.now();
    let found = find_login(state, entry, login).await?;
    if let Some((locked, _)) = found.as_ref().filter(|(_, failures)| *failures >= MAX_PASSWORD_FAILURES) {
        let user_id = Some(locked.user.id.clone());
        state.hasher.verify(None, password).await?;
        state.metrics.password_checked();
        return Ok(PasswordCheck::Refused(Refusal::Wrong { user_id, locked: true }));
    }
    let failures = found.as_ref().map_or(0, |(_, failures)| *failures);
    let found = found.map(|(f, _)| f);
    // Failures are counted once checked, as Keycloak counts them: attempts
    // already queued for the hashing threads when the limit is reached are
    // still checked (at most the queue, 32 per thread). Counting every
    // attempt first would refuse a user's right password whenever more
    // than ten of their sign-ins run at once.
    let hash = found.as_ref().and_then(|f| f.user.password_hash.clone());
    let matches = state.hasher.verify(hash, password).await?;
    state.metrics.password_checked();
    let key = found.as_ref().map(|f| failures_key(&entry.realm.id, &f.user.id));
    match (key, matches) {
        (Some(key), false) => {
            state.db.write(move |conn| rate_limits::hit(conn, &key, now, PASSWORD_FAILURE_WINDOW_SECS)).await?;
        }
        (Some(key), true) if failures > 0 => state.db.write(move |conn| rate_limits::clear(conn, &key)).await?,
        _ => {}
    }
    Ok(match found {
        Some(found) if matches && found.user.enabled => PasswordCheck::SignedIn(Box::new(found)),
        Some(found) if matches => PasswordCheck::Refused(Refusal::Disabled { user_id: found.user.id }),
        found => PasswordCheck::Refused(Refusal::Wrong { user_id: found.map(|f| f.user.id), locked: false }),
    })
}

/// The user a login names (username, or a unique e-mail address), with the
/// wrong passwords counted against them in the current window.
async fn find_login(
    state: &AppState,
    entry: &RealmEntry,
    login: &str,
) -> Result<Option<(SignedInUser, i64)>, ServiceError> {
    let now = state.clock.now();
    let realm_id = entry.realm.id.clone();
    let login = login.to_owned();
    let by_email_allowed = entry.login_with_email;
    Ok(state
        .db
        .run(move |conn| {
            // Where the realm allows it, a login with an `@` is an e-mail
            // address first, then a username (Keycloak): a user named as
            // another's address cannot shadow that user's sign-in by address.
            // No address has a control character (nor can PostgreSQL hold a NUL).
            let by_email = match by_email_allowed && login.contains('@') && !login.contains(char::is_control) {
                true => users::find_by_unique_email(conn, &realm_id, login.trim())?,
                false => None,
            };
            let row = match (by_email, Username::lookup(&login)) {
                (Some(row), _) => Some(row),
                (None, Ok(username)) => users::find_by_username(conn, &realm_id, username.as_str())?,
                (None, Err(_)) => None,
            };
            match row {
                // A client's service account never signs in with a password
                // (Keycloak): one planted by a user manager would otherwise
                // lend them whatever roles the account is later given.
                Some(row) if row.service_account_link().is_some() => Ok(None),
                Some(row) => {
                    let role_ids = roles::list_role_ids_of_user(conn, &row.id)?;
                    let key = failures_key(&realm_id, &row.id);
                    let failures = rate_limits::hits(conn, &key, now, PASSWORD_FAILURE_WINDOW_SECS)?;
                    Ok(Some((SignedInUser { user: row.to_domain(), role_ids }, failures)))
                }
                None => Ok(None),
            }
        })
        .await?)
}
