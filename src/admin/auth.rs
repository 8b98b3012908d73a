//! Who calls the admin API and what they may do (SPEC §3, §6): an access
//! token of some realm, or a user of the realm in the path or of `master`
//! by personal access token or (where that realm sets `basic_auth`) HTTP
//! Basic. A `master` user holding the `admin` role manages every realm;
//! otherwise the caller manages only its own realm, with the
//! `realm-management` roles of its user (for `admin-cli` tokens, personal
//! tokens and Basic, read from the database) or, for a token of any other
//! client, those the token's `resource_access` names (a service account's,
//! or a user's as they were when it was issued, as in Keycloak; clients that
//! ask consent get no user's roles in their tokens).

use std::collections::HashSet;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use base64::Engine;
use futures_util::future::LocalBoxFuture;

use super::AdminError;
use crate::domain::scope::ADMIN_API_SCOPE;
use crate::oidc::params::{BodyError, declared_length, is_form, media_type, read_body};
use crate::services::realm_cache::RealmEntry;
use crate::services::realms::{ADMIN_CLI_CLIENT, MASTER_ADMIN_ROLE, MASTER_REALM};
use crate::services::{access, authentication, personal_tokens};
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

    /// Whether this caller may grant or take away the realm role `role` of
    /// `realm`: master's `admin` role is every right in every realm, so only
    /// its holders hand it out.
    pub fn may_map_realm_role(&self, realm: &str, role: &str) -> bool {
        realm != MASTER_REALM || role != MASTER_ADMIN_ROLE || self.master_admin
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

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        // RFC 6750 §2.2: a form body may carry the token. No admin endpoint
        // takes a form otherwise, so the body is the credential's alone.
        let form = is_form(req).then(|| payload.take());
        let path_realm = req.match_info().get("realm").map(str::to_owned);
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or(AdminError::Unauthorized)?;
            let form_token = match form {
                Some(body) => form_token(body).await?,
                None => None,
            };
            let admin = match presented_credential(&req, form_token)?.ok_or(AdminError::Unauthorized)? {
                Presented::Token { token, in_query } if personal_tokens::is_personal(&token) => {
                    let via = if in_query { Via::Query } else { Via::Header };
                    personal_token_admin(&state, &token, via, path_realm).await?
                }
                Presented::Token { token, in_query } => authenticate(&state, token, in_query).await?,
                Presented::Basic { username, password } => basic_admin(&state, &username, password, path_realm).await?,
            };
            // For the audit log, which the admin scope writes after a change.
            req.extensions_mut().insert(admin.clone());
            Ok(admin)
        })
    }
}

/// A credential as presented (SPEC §3): a token as `Authorization: Bearer`,
/// `X-Auth-Token`, the `access_token` field of a form body, or in the query
/// string (`access_token`, `bearer_token`: only where the realm accepts
/// it), or `Authorization: Basic`.
enum Presented {
    Token { token: String, in_query: bool },
    Basic { username: String, password: String },
}

impl Presented {
    fn is_empty(&self) -> bool {
        matches!(self, Self::Token { token, .. } if token.is_empty())
    }
}

const FORM: &str = "application/x-www-form-urlencoded";

const JSON_ONLY: &str = "Representations are JSON: send them with Content-Type: application/json";

/// Representations are JSON (Keycloak's `@Consumes`): a body of any other
/// type, or of none, is 415 before anything reads it; a form may carry
/// only the token. A page of another site can send `text/plain` or an
/// untyped body without a CORS preflight.
pub async fn json_bodies_only(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let request = req.request();
    let has_body = request.headers().contains_key(header::TRANSFER_ENCODING)
        || declared_length(request).is_some_and(|length| length > 0);
    let declared = media_type(request);
    let accepted = declared.is_some_and(|t| t == "application/json" || t.ends_with("+json") || t == FORM);
    if has_body && !accepted {
        let error = AdminError::UnsupportedMediaType(JSON_ONLY.into());
        let response = actix_web::ResponseError::error_response(&error);
        return Ok(req.into_response(response).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// The `access_token` field of a form body, if it has one.
async fn form_token(body: Payload) -> Result<Option<String>, AdminError> {
    let bytes = read_body(body, MAX_FORM_BYTES).await.map_err(|e| match e {
        BodyError::Unreadable => AdminError::bad_request("Could not read the form body"),
        BodyError::TooLarge => AdminError::bad_request("Request body too large"),
        BodyError::TimedOut => AdminError::RequestTimeout,
    })?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
        .map_err(|_| AdminError::bad_request("The body is not valid form encoding"))?;
    // Anything else in a form is a representation sent with the wrong
    // type (curl's `-d` without a header): read as nothing given, it
    // would be answered 204 with nothing changed.
    if fields.iter().any(|(name, _)| name != "access_token") {
        return Err(AdminError::UnsupportedMediaType(JSON_ONLY.into()));
    }
    let mut tokens = fields.into_iter().filter(|(name, _)| name == "access_token").map(|(_, token)| token);
    let first = tokens.next();
    if tokens.next().is_some() {
        return Err(AdminError::bad_request("Present the access token in exactly one way"));
    }
    Ok(first)
}

/// A form carries a token and little else.
const MAX_FORM_BYTES: usize = 64 * 1024;

fn presented_credential(req: &HttpRequest, form_token: Option<String>) -> Result<Option<Presented>, AdminError> {
    let mut found: Vec<Presented> =
        form_token.into_iter().map(|token| Presented::Token { token, in_query: false }).collect();
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    match authorization.and_then(|v| v.split_once(' ')) {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            found.push(Presented::Token { token: token.trim().to_owned(), in_query: false });
        }
        Some((scheme, encoded)) if scheme.eq_ignore_ascii_case("basic") => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or(AdminError::Unauthorized)?;
            let (username, password) = decoded.split_once(':').ok_or(AdminError::Unauthorized)?;
            found.push(Presented::Basic { username: username.to_owned(), password: password.to_owned() });
        }
        _ => {}
    }
    if let Some(token) = req.headers().get("x-auth-token").and_then(|v| v.to_str().ok()) {
        found.push(Presented::Token { token: token.trim().to_owned(), in_query: false });
    }
    let query: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    found.extend(
        query
            .into_iter()
            .filter(|(name, _)| name == "access_token" || name == "bearer_token")
            .map(|(_, token)| Presented::Token { token, in_query: true }),
    );
    found.retain(|p| !p.is_empty());
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

async fn authenticate(state: &AppState, token: String, in_query: bool) -> Result<Admin, AdminError> {
    let realm = claimed_realm(state, &token).ok_or(AdminError::Unauthorized)?;
    let entry: Arc<RealmEntry> = state.cache.get(&realm).await?.ok_or(AdminError::Unauthorized)?;
    if in_query && !entry.realm.settings.query_tokens {
        return Err(AdminError::Unauthorized);
    }
    let claims = access::verify(&entry, &token, state.clock.now()).map_err(|_| AdminError::Unauthorized)?;
    let service_roles = claims.realm_management_roles();
    let realm_id = entry.realm.id.clone();
    let (checked, sub, client_id) = (claims.clone(), claims.sub.clone(), claims.client_id.clone());
    let is_admin_cli = client_id == ADMIN_CLI_CLIENT;
    // A client's own token (client_credentials) is about the client itself.
    let own_client =
        entry.client(&client_id).filter(|c| c.id == claims.sub).map(|c| (c.id.clone(), c.client_id.clone()));
    let is_client_token = own_client.is_some();
    // Its service account's realm roles matter only for master's `admin`.
    let account_of = own_client.filter(|_| realm == MASTER_REALM);
    let (revoked, user, role_names) = state
        .db
        .read_hot(move |conn| {
            let revoked = access::is_revoked(conn, &checked)?;
            let user = users::find_by_id(conn, &realm_id, &sub)?.filter(|u| u.enabled);
            let role_names = match (&user, &account_of) {
                (Some(user), _) => roles::role_names_of_user(conn, &user.id)?,
                // The realm roles of the client's service account, as Keycloak
                // gives them to its tokens (Terraform's master client holding `admin`).
                (None, Some((row_id, client_id))) => {
                    match users::find_service_account(conn, &realm_id, row_id, client_id)? {
                        Some(account) if account.enabled => roles::role_names_of_user(conn, &account.id)?,
                        _ => Vec::new(),
                    }
                }
                (None, None) => Vec::new(),
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
    if !is_user_token && !is_client_token {
        // Neither a live user nor the client itself: a deleted or disabled subject.
        return Err(AdminError::Unauthorized);
    }
    // A master user's `admin` role counts through admin-cli, or through a
    // token of one of master's own applications (not one asking consent)
    // that carries it, and only while the user still holds it: never
    // because a third-party application the user signed in to holds a
    // token naming them. A client's own token counts while its service
    // account holds the role.
    let holds_admin = role_names.iter().any(|r| r == MASTER_ADMIN_ROLE);
    let first_party = entry.client(&client_id).is_some_and(|c| !c.consent_required);
    let carried =
        is_admin_cli || is_client_token || (first_party && claims.realm_roles().iter().any(|r| r == MASTER_ADMIN_ROLE));
    let master_admin = realm == MASTER_REALM && holds_admin && carried;
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

use crate::domain::client::{BASIC_CLIENT, PERSONAL_TOKEN_CLIENT};

/// The realms a user presenting a personal token or a password may belong
/// to: the realm in the path, then `master`.
async fn candidate_realms(state: &AppState, path_realm: Option<String>) -> Result<Vec<Arc<RealmEntry>>, AdminError> {
    let mut names: Vec<String> = path_realm.into_iter().collect();
    if !names.iter().any(|n| n == MASTER_REALM) {
        names.push(MASTER_REALM.to_owned());
    }
    let mut entries = Vec::new();
    for name in names {
        if let Some(entry) = state.cache.get(&name).await? {
            entries.push(entry);
        }
    }
    Ok(entries)
}

/// How a personal access token was presented: what its realm must accept.
enum Via<'a> {
    Header,
    Query,
    /// As the password of HTTP Basic, with this username.
    Basic(&'a str),
}

/// A personal access token acts with its user's administration rights, as
/// that user's `admin-cli` token would.
async fn personal_token_admin(
    state: &AppState,
    token: &str,
    via: Via<'_>,
    path_realm: Option<String>,
) -> Result<Admin, AdminError> {
    let candidates = candidate_realms(state, path_realm).await?;
    for entry in &candidates {
        if let Some(admin) = personal_token_in(state, entry, token, &via).await? {
            return Ok(admin);
        }
    }
    // Last, and only then looked up: a token of another realm is still its
    // holder's, answered as that realm's admin-cli token would be (403
    // where it may not act; a 401 said the token itself was bad).
    if let Some(own) = own_realm(state, token).await?
        && !candidates.iter().any(|entry| entry.realm.id == own.realm.id)
        && let Some(admin) = personal_token_in(state, &own, token, &via).await?
    {
        return Ok(admin);
    }
    Err(AdminError::Unauthorized)
}

/// The personal token's admin in `entry`'s realm; `None` if it is no
/// active token of that realm.
async fn personal_token_in(
    state: &AppState,
    entry: &Arc<RealmEntry>,
    token: &str,
    via: &Via<'_>,
) -> Result<Option<Admin>, AdminError> {
    let now = state.clock.now();
    let (lookup, presented) = (Arc::clone(entry), token.to_owned());
    let Some(active) = state.db.run(move |conn| personal_tokens::find_active(conn, &lookup, &presented, now)).await?
    else {
        return Ok(None);
    };
    let settings = &entry.realm.settings;
    let accepted = match via {
        Via::Header => true,
        Via::Query => settings.query_tokens,
        Via::Basic(username) => settings.basic_auth && username.to_lowercase() == active.user.username,
    };
    if !accepted {
        return Err(AdminError::Unauthorized);
    }
    if !active.scope.contains(ADMIN_API_SCOPE) {
        return Err(AdminError::Forbidden);
    }
    personal_tokens::record_use(state, &active, now).await?;
    user_admin(state, entry, active.user, PERSONAL_TOKEN_CLIENT).await.map(Some)
}

/// The realm a personal token was minted in, if it is one.
async fn own_realm(state: &AppState, token: &str) -> Result<Option<Arc<RealmEntry>>, AdminError> {
    let hash = crate::crypto::token_hash(token);
    let name = state
        .db
        .run(move |conn| {
            let Some(row) = crate::storage::repo::personal_tokens::find_by_hash(conn, &hash)? else { return Ok(None) };
            crate::storage::repo::realms::name_of(conn, &row.realm_id)
        })
        .await?;
    match name {
        Some(name) => Ok(state.cache.get(&name).await?),
        None => Ok(None),
    }
}

/// HTTP Basic with a user's password (or personal token), where the
/// user's realm accepts Basic.
async fn basic_admin(
    state: &AppState,
    username: &str,
    password: String,
    path_realm: Option<String>,
) -> Result<Admin, AdminError> {
    if personal_tokens::is_personal(&password) {
        return personal_token_admin(state, &password, Via::Basic(username), path_realm).await;
    }
    for entry in candidate_realms(state, path_realm).await? {
        if !entry.realm.settings.basic_auth {
            continue;
        }
        let signed_in = authentication::password(state, &entry, username, password.clone()).await?.signed_in();
        // A temporary password is for choosing a new one, nothing else.
        if let Some(signed_in) = signed_in.filter(|s| !s.user.password_temporary) {
            let (realm_id, id) = (entry.realm.id.clone(), signed_in.user.id.clone());
            let user = state.db.read_hot(move |conn| users::find_by_id(conn, &realm_id, &id)).await?;
            let user = user.ok_or(AdminError::Unauthorized)?;
            return user_admin(state, &entry, user, BASIC_CLIENT).await;
        }
    }
    Err(AdminError::Unauthorized)
}

/// The administrator an (enabled) user of `entry` is: the realm's
/// `realm-management` roles it holds, and every realm for `master`'s `admin`.
async fn user_admin(
    state: &AppState,
    entry: &RealmEntry,
    user: users::UserRow,
    client_id: &str,
) -> Result<Admin, AdminError> {
    if !user.enabled {
        return Err(AdminError::Unauthorized);
    }
    let id = user.id.clone();
    let role_names = state.db.read_hot(move |conn| roles::role_names_of_user(conn, &id)).await?;
    let roles = serde_json::from_str::<Vec<String>>(&user.admin_roles).unwrap_or_default().into_iter().collect();
    Ok(Admin {
        realm: entry.realm.name.to_string(),
        realm_id: entry.realm.id.clone(),
        master_admin: entry.realm.name.as_str() == MASTER_REALM && role_names.iter().any(|r| r == MASTER_ADMIN_ROLE),
        roles,
        client_id: client_id.to_owned(),
        subject: user.id,
        username: Some(user.username),
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
