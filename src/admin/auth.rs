//! Who calls the admin API and what they may do (SPEC §6): a Bearer access
//! token of some realm. A `master` token of a user holding the `admin` role
//! manages every realm; otherwise the caller manages only its own realm,
//! with the `realm-management` roles of its user (for `admin-cli`, read from
//! the database) or of its service account (the token's `resource_access`).

use std::collections::HashSet;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use base64::Engine;
use futures_util::future::LocalBoxFuture;

use super::AdminError;
use crate::services::access;
use crate::services::realm_cache::RealmEntry;
use crate::services::realms::{ADMIN_CLI_CLIENT, MASTER_ADMIN_ROLE, MASTER_REALM};
use crate::state::AppState;
use crate::storage::repo::{roles, users};

/// What an endpoint needs. The `manage-*` roles include their `view-*`
/// and `query-*` roles, and `realm-admin` includes everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Any realm-management role (reading the realm's name and settings).
    AnyRole,
    ViewRealm,
    ManageRealm,
    QueryUsers,
    ViewUsers,
    ManageUsers,
    QueryClients,
    ViewClients,
    ManageClients,
}

impl Need {
    /// The roles that satisfy this need.
    fn satisfied_by(self) -> &'static [&'static str] {
        match self {
            Self::AnyRole => &crate::services::realms::REALM_MANAGEMENT_ROLES,
            Self::ViewRealm => &["realm-admin", "manage-realm", "view-realm"],
            Self::ManageRealm => &["realm-admin", "manage-realm"],
            Self::QueryUsers => &["realm-admin", "manage-users", "view-users", "query-users"],
            Self::ViewUsers => &["realm-admin", "manage-users", "view-users"],
            Self::ManageUsers => &["realm-admin", "manage-users"],
            Self::QueryClients => &["realm-admin", "manage-clients", "view-clients", "query-clients"],
            Self::ViewClients => &["realm-admin", "manage-clients", "view-clients"],
            Self::ManageClients => &["realm-admin", "manage-clients"],
        }
    }
}

/// An authenticated admin caller.
#[derive(Debug, Clone)]
pub struct Admin {
    /// The realm whose token was presented.
    pub realm: String,
    pub realm_id: String,
    /// The `admin` role of `master`: every realm, every action.
    pub master_admin: bool,
    pub roles: HashSet<String>,
    /// The client (its `client_id`) the token was issued to.
    pub client_id: String,
    /// The token's subject: a user, or the client itself.
    pub subject: String,
    pub username: Option<String>,
}

impl Admin {
    pub fn may(&self, realm: &str, need: Need) -> bool {
        if self.master_admin {
            return true;
        }
        self.realm == realm && need.satisfied_by().iter().any(|r| self.roles.contains(*r))
    }

    pub fn require(&self, realm: &str, need: Need) -> Result<(), AdminError> {
        if self.may(realm, need) { Ok(()) } else { Err(AdminError::Forbidden) }
    }

    /// Whether this caller may grant or take away the `realm-management`
    /// role `role`: only a realm admin, or someone who holds it already
    /// (as in Keycloak, `manage-users` alone cannot hand out more rights).
    pub fn may_grant(&self, role: &str) -> bool {
        self.master_admin || self.roles.contains("realm-admin") || self.roles.contains(role)
    }

    /// Whether this caller may change a user's password, profile or
    /// existence: never a user with rights the caller could not grant, so
    /// that nobody gains rights by signing in as someone else.
    pub fn outranks(&self, target_admin_roles: &[String], target_is_master_admin: bool) -> bool {
        if target_is_master_admin {
            return self.master_admin;
        }
        target_admin_roles.iter().all(|r| self.may_grant(r))
    }

    /// Creating realms is for `master` administrators only.
    pub fn require_master(&self) -> Result<(), AdminError> {
        if self.master_admin { Ok(()) } else { Err(AdminError::Forbidden) }
    }
}

impl FromRequest for Admin {
    type Error = AdminError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = presented_token(req);
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or(AdminError::Unauthorized)?;
            let admin = authenticate(&state, token?.ok_or(AdminError::Unauthorized)?).await?;
            // For the audit log, which the admin scope writes after a change.
            req.extensions_mut().insert(admin.clone());
            Ok(admin)
        })
    }
}

/// An access token as presented (SPEC §3): `Authorization: Bearer`,
/// `X-Auth-Token`, or the query string (`access_token`, `bearer_token`),
/// which counts only where the token's realm accepts it.
struct Presented {
    token: String,
    in_query: bool,
}

fn presented_token(req: &HttpRequest) -> Result<Option<Presented>, AdminError> {
    let mut found = Vec::new();
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if let Some((scheme, token)) = authorization.and_then(|v| v.split_once(' '))
        && scheme.eq_ignore_ascii_case("bearer")
    {
        found.push(Presented { token: token.trim().to_owned(), in_query: false });
    }
    if let Some(token) = req.headers().get("x-auth-token").and_then(|v| v.to_str().ok()) {
        found.push(Presented { token: token.trim().to_owned(), in_query: false });
    }
    let query: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    found.extend(
        query
            .into_iter()
            .filter(|(name, _)| name == "access_token" || name == "bearer_token")
            .map(|(_, token)| Presented { token, in_query: true }),
    );
    found.retain(|p| !p.token.is_empty());
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(AdminError::bad_request("Present the access token in exactly one way")),
    }
}

/// The realm named by a JWT's unverified `iss`; the signature check that
/// follows uses that realm's keys, so a forged `iss` gains nothing.
fn claimed_realm(state: &AppState, token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let prefix = format!("{}/realms/", state.public_url.trim_end_matches('/'));
    claims.get("iss")?.as_str()?.strip_prefix(&prefix).map(str::to_owned)
}

async fn authenticate(state: &AppState, presented: Presented) -> Result<Admin, AdminError> {
    let Presented { token, in_query } = presented;
    let realm = claimed_realm(state, &token).ok_or(AdminError::Unauthorized)?;
    let entry: Arc<RealmEntry> = state
        .cache
        .get(&realm)
        .await
        .map_err(|e| AdminError::Internal(Box::new(e)))?
        .ok_or(AdminError::Unauthorized)?;
    if in_query && !entry.realm.settings.query_tokens {
        return Err(AdminError::Unauthorized);
    }
    let claims = access::verify(&entry, &token, state.clock.now()).map_err(|_| AdminError::Unauthorized)?;
    let service_roles = claims.realm_management_roles();
    let realm_id = entry.realm.id.clone();
    let (checked, sub, client_id) = (claims.clone(), claims.sub.clone(), claims.client_id.clone());
    let is_admin_cli = client_id == ADMIN_CLI_CLIENT;
    let (revoked, user, role_names) = state
        .db
        .read_hot(move |conn| {
            let revoked = access::is_revoked(conn, &checked)?;
            let user = users::find_by_id(conn, &realm_id, &sub)?.filter(|u| u.enabled);
            let role_names = match &user {
                Some(user) => roles::role_names_of_user(conn, &user.id)?,
                None => Vec::new(),
            };
            Ok((revoked, user, role_names))
        })
        .await?;
    if revoked {
        return Err(AdminError::Unauthorized);
    }
    let is_user_token = user.is_some();
    let roles: HashSet<String> = match (&user, is_admin_cli) {
        (Some(user), true) => {
            serde_json::from_str::<Vec<String>>(&user.admin_roles).unwrap_or_default().into_iter().collect()
        }
        _ => service_roles.into_iter().collect(),
    };
    if !is_user_token && claims.sub != entry.client(&client_id).map(|c| c.id.clone()).unwrap_or_default() {
        // Neither a live user nor the client itself: a deleted or disabled subject.
        return Err(AdminError::Unauthorized);
    }
    let master_admin = realm == MASTER_REALM && role_names.iter().any(|r| r == MASTER_ADMIN_ROLE);
    Ok(Admin {
        realm,
        realm_id: entry.realm.id.clone(),
        master_admin,
        roles,
        client_id,
        subject: claims.sub,
        username: user.map(|u| u.username),
    })
}

/// The client the audit log names for changes made in the web console.
pub const CONSOLE_CLIENT: &str = "security-admin-console";

/// The administrator a signed-in `master` user is in the web console: the
/// same rights as that user's `admin-cli` token would carry; `None` when the
/// user may administer nothing.
pub async fn console_admin(state: &AppState, master: &RealmEntry, user_id: &str) -> Result<Option<Admin>, AdminError> {
    let (realm_id, id) = (master.realm.id.clone(), user_id.to_owned());
    let found = state
        .db
        .run(move |conn| {
            let Some(user) = users::find_by_id(conn, &realm_id, &id)?.filter(|u| u.enabled) else {
                return Ok(None);
            };
            let role_names = roles::role_names_of_user(conn, &user.id)?;
            Ok(Some((user, role_names)))
        })
        .await?;
    let Some((user, role_names)) = found else { return Ok(None) };
    let roles: HashSet<String> =
        serde_json::from_str::<Vec<String>>(&user.admin_roles).unwrap_or_default().into_iter().collect();
    let master_admin = role_names.iter().any(|r| r == MASTER_ADMIN_ROLE);
    if !master_admin && roles.is_empty() {
        return Ok(None);
    }
    Ok(Some(Admin {
        realm: MASTER_REALM.to_owned(),
        realm_id: master.realm.id.clone(),
        master_admin,
        roles,
        client_id: CONSOLE_CLIENT.to_owned(),
        subject: user.id,
        username: Some(user.username),
    }))
}
