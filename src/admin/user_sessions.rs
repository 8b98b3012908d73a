//! A user's sessions as Keycloak lists them (`/users/{id}/sessions`): each
//! live browser session with the clients holding refresh tokens from it,
//! and each grant made without a browser (password, device) as a session
//! of its own, as Keycloak makes one for it. Offline grants are not
//! sessions. Also the realm's "sign out everyone" (`/logout-all`).

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::realms::{cached_realm, find_realm};
use super::rep::{self, Query};
use super::users::find_user;
use super::{Admin, AdminError, Need, both};
use crate::services::account;
use crate::services::families::sessionless_is_current;
use crate::state::AppState;
use crate::storage::repo::refresh::FamilyRow;
use crate::storage::repo::users::UserRow;
use crate::storage::repo::{clients, refresh, sessions};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(both("/realms/{realm}/users/{id}/sessions")).get(list_sessions))
        .service(web::resource(both("/realms/{realm}/sessions/{session}")).delete(delete_session))
        .service(web::resource(both("/realms/{realm}/logout-all")).post(logout_all));
}

/// When and where a session started, and when it was last used.
struct Seen<'a> {
    start: i64,
    last_access: i64,
    ip_address: Option<&'a str>,
}

/// One session as `UserSessionRepresentation`; times in milliseconds.
fn session_rep(user: &UserRow, id: &str, seen: Seen<'_>, clients: Map<String, Value>) -> Value {
    let Seen { start, last_access, ip_address } = seen;
    json!({
        "id": id,
        "username": user.username,
        "userId": user.id,
        "ipAddress": ip_address.unwrap_or_default(),
        "start": start * 1000,
        "lastAccess": last_access * 1000,
        "rememberMe": false,
        "clients": clients,
        "transientUser": false,
    })
}

/// Keycloak's `clients` of a session: client UUID to `clientId`.
fn clients_of<'a>(
    families: impl Iterator<Item = &'a FamilyRow>,
    client_ids: &HashMap<&str, &str>,
) -> Map<String, Value> {
    families.filter_map(|f| Some((f.client_id.clone(), Value::from(*client_ids.get(f.client_id.as_str())?)))).collect()
}

#[utoipa::path(get, path = "/admin/realms/{realm}/users/{id}/sessions", operation_id = "list_user_sessions",
    tag = "users", summary = "The user's live sessions: browser sessions and grants made without one",
    params(crate::openapi::UserPath, crate::openapi::Paging),
    responses((status = 200, description = "The sessions", body = [crate::openapi::UserSessionRepresentation]),
        crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn list_sessions(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id) = path.into_inner();
    admin.require(&realm_name, Need::ViewUsers)?;
    let page = Query::from(&req)?.page(None)?;
    let realm = find_realm(&state, &realm_name).await?;
    let user = find_user(&state, &realm, &id).await?;
    let now = state.clock.now();
    let (idle, max) = (realm.sso_session_idle, realm.sso_session_max);
    let (user_id, realm_id) = (user.id.clone(), realm.id.clone());
    let (open, grants, client_rows) = state
        .db
        .run(move |conn| {
            Ok((
                sessions::list_open_by_user(conn, &user_id)?,
                refresh::live_online_families_of_user(conn, &user_id)?,
                clients::list_by_realm(conn, &realm_id)?,
            ))
        })
        .await?;
    let client_ids: HashMap<&str, &str> = client_rows.iter().map(|c| (c.id.as_str(), c.client_id.as_str())).collect();
    let current: Vec<&FamilyRow> = grants
        .iter()
        .filter(|f| match f.session_id {
            Some(_) => f.token_expires_at.unwrap_or(f.expires_at) >= now,
            None => sessionless_is_current(f, max, now),
        })
        .collect();
    let mut listed: Vec<Value> = open
        .iter()
        .filter(|s| s.within(idle, max, now))
        .map(|s| {
            let in_session = current.iter().copied().filter(|f| f.session_id.as_deref() == Some(s.id.as_str()));
            let seen = Seen { start: s.created_at, last_access: s.last_seen_at, ip_address: s.ip_address.as_deref() };
            session_rep(&user, &s.id, seen, clients_of(in_session, &client_ids))
        })
        .collect();
    listed.extend(current.iter().filter(|f| f.session_id.is_none()).map(|f| {
        let last_access = f.token_issued_at.unwrap_or(f.created_at);
        let seen = Seen { start: f.created_at, last_access, ip_address: f.ip_address.as_deref() };
        session_rep(&user, &f.id, seen, clients_of(std::iter::once(*f), &client_ids))
    }));
    Ok(rep::ok_json(page.apply(listed)))
}

#[utoipa::path(delete, path = "/admin/realms/{realm}/sessions/{session}", operation_id = "delete_session",
    tag = "users", summary = "Ends one session of a user: a browser session (its refresh tokens too) or a grant made without one",
    params(crate::openapi::SessionPath),
    responses((status = 204, description = "The session ended"), crate::openapi::AdminErrors))]
pub(super) async fn delete_session(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, session_id) = path.into_inner();
    admin.require(&realm_name, Need::ManageUsers)?;
    let entry = cached_realm(&state, &realm_name).await?;
    let owner = account::session_owner(&state, &entry, &session_id).await?;
    let user_id = owner.ok_or_else(|| AdminError::not_found("Session"))?;
    super::users::may_sign_out(&state, &admin, &realm_name, &user_id).await?;
    if !account::end_session(&state, &entry, &user_id, &session_id).await? {
        return Err(AdminError::not_found("Session"));
    }
    Ok(rep::no_content())
}

#[utoipa::path(post, path = "/admin/realms/{realm}/logout-all", operation_id = "logout_all", tag = "realms",
    summary = "Ends every session of the realm and revokes every grant, offline ones too",
    description = "An action, so 204 (SPEC §6), where Keycloak answers 200 with a `GlobalRequestResult` \
        of the clients it notified. Needs `manage-users` and every right a user of the realm can hold: \
        `realm-admin`, or a `master` administrator.",
    params(crate::openapi::RealmPath),
    responses((status = 204, description = "Every session ended"), crate::openapi::AdminErrors))]
pub(super) async fn logout_all(
    state: web::Data<AppState>,
    admin: Admin,
    realm: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    sign_out_everyone(&state, &admin, &realm).await?;
    Ok(rep::no_content())
}

/// Whether `admin` may sign everyone out of the realm: `manage-users`, and
/// outranking every user (as one who may sign out each of them), so that a
/// user manager cannot sign the realm's administrators out.
pub(crate) fn may_sign_out_everyone(admin: &Admin, realm_name: &str) -> bool {
    use crate::services::realms::{MASTER_REALM, REALM_MANAGEMENT_ROLES};
    if !admin.may(realm_name, Need::ManageUsers) {
        return false;
    }
    if realm_name == MASTER_REALM {
        return admin.outranks(&[], true);
    }
    REALM_MANAGEMENT_ROLES.iter().all(|role| admin.may_grant(role))
}

/// Ends every session and grant of the realm; how many sessions ended.
pub(crate) async fn sign_out_everyone(state: &AppState, admin: &Admin, realm_name: &str) -> Result<usize, AdminError> {
    if !may_sign_out_everyone(admin, realm_name) {
        return Err(AdminError::Forbidden);
    }
    let entry = cached_realm(state, realm_name).await?;
    let now = state.clock.now();
    Ok(state.db.write(move |conn| crate::services::sessions::end_all_in_realm(conn, &entry, now)).await?)
}
