//! Users (`/realms/{realm}/users`): search, count, create, merge-PUT,
//! passwords, sessions and logout.

use std::collections::HashSet;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::credentials::{NewPassword, password_of};
use super::kinds;
use super::realms::find_realm;
use super::rep::{self, Body, Query};
use super::{Admin, AdminError, Need, both, change_cached};
use crate::domain::Invalid;
use crate::domain::client::refuse_service_account_name;
use crate::domain::text::validate_name;
use crate::domain::user::{Username, validate_email};
use crate::services::realms::{MASTER_ADMIN_ROLE, MASTER_REALM, new_user_row};
use crate::services::sessions;
use crate::state::AppState;
use crate::storage::repo::users::{self, UserFilter, UserRow};
use crate::storage::repo::{meta, realms, roles};
use crate::storage::{json_list, new_id};

pub fn routes(cfg: &mut web::ServiceConfig) {
    let r = "/realms/{realm}/users";
    cfg.service(web::resource(both(r)).get(list).post(create))
        .service(web::resource(both(&format!("{r}/count"))).get(count))
        .service(web::resource(both(&format!("{r}/{{id}}"))).get(get).put(update).delete(delete))
        .service(web::resource(both(&format!("{r}/{{id}}/reset-password"))).put(reset_password))
        .service(web::resource(both(&format!("{r}/{{id}}/logout"))).post(logout));
}

const MODELLED: [&str; 13] = [
    "id",
    "username",
    "email",
    "emailVerified",
    "firstName",
    "lastName",
    "enabled",
    "createdTimestamp",
    "credentials",
    "realmRoles",
    "access",
    "totp",
    "notBefore",
];

/// What the caller may do with one user, as a representation's `access`
/// says (admin UIs read it to offer changes).
#[derive(Clone, Copy)]
pub struct UserAccess {
    view: bool,
    /// Change the user's profile, password, sessions, existence.
    manage: bool,
    /// Grant and take away roles (as far as the caller may grant them).
    map_roles: bool,
}

impl UserAccess {
    pub const FULL: Self = Self { view: true, manage: true, map_roles: true };
}

/// One caller's `access` toward each user of a realm.
pub struct AccessOf<'a> {
    admin: &'a Admin,
    realm: &'a str,
    /// `master`'s administrators, when the caller is not one: only they can
    /// outrank a `master` user's every right.
    master_admins: HashSet<String>,
}

impl<'a> AccessOf<'a> {
    pub async fn load(state: &AppState, admin: &'a Admin, realm: &'a realms::RealmRow) -> Result<Self, AdminError> {
        let master_admins = if realm.name == MASTER_REALM && !admin.master_admin {
            let realm_id = realm.id.clone();
            state
                .db
                .run(move |conn| {
                    let role = roles::list_by_realm(conn, &realm_id)?.into_iter().find(|r| r.name == MASTER_ADMIN_ROLE);
                    role.map_or(Ok(Vec::new()), |role| users::list_by_role(conn, &role.id, 0, None))
                })
                .await?
                .into_iter()
                .map(|user| user.id)
                .collect()
        } else {
            HashSet::new()
        };
        Ok(Self { admin, realm: &realm.name, master_admins })
    }

    /// `manage` only toward a user the caller outranks: every such change
    /// to anyone else is refused (see `guard_target`).
    pub fn toward(&self, user: &users::UserRow) -> UserAccess {
        let manage_users = self.admin.may(self.realm, Need::ManageUsers);
        let admin_roles = json_list(&user.admin_roles).unwrap_or_default();
        let outranked = self.admin.outranks(&admin_roles, self.master_admins.contains(&user.id));
        UserAccess {
            view: self.admin.may(self.realm, Need::ViewUsers),
            manage: manage_users && outranked,
            map_roles: manage_users,
        }
    }
}

/// Keycloak's brief representation of a user (`briefRepresentation=true`):
/// no attributes, required actions or credentials.
fn brief_rep(full: Value) -> Value {
    const BRIEF: [&str; 9] =
        ["id", "username", "firstName", "lastName", "email", "emailVerified", "enabled", "createdTimestamp", "access"];
    match full {
        Value::Object(mut fields) => {
            fields.retain(|name, _| BRIEF.contains(&name.as_str()));
            Value::Object(fields)
        }
        other => other,
    }
}

/// A user as Keycloak shows one.
pub fn to_rep(row: &users::UserRow, access: UserAccess) -> Value {
    let UserAccess { view, manage, map_roles } = access;
    let mut out = rep::stored_object(&row.attributes);
    // Values an earlier version stored as sent come back as lists of text too.
    rep::keycloak_attributes(&mut out, true);
    let fields = json!({
        "id": row.id,
        "username": row.username,
        "enabled": row.enabled,
        "emailVerified": row.email_verified,
        "createdTimestamp": row.created_at * 1000,
        "totp": false,
        "notBefore": 0,
        "requiredActions": if row.password_temporary { vec![UPDATE_PASSWORD] } else { Vec::new() },
        "disableableCredentialTypes": [],
        "access": { "manageGroupMembership": map_roles, "view": view, "mapRoles": map_roles, "impersonate": false, "manage": manage },
    });
    if let Value::Object(fields) = fields {
        out.extend(fields);
    }
    for (key, value) in [("email", &row.email), ("firstName", &row.given_name), ("lastName", &row.family_name)] {
        if let Some(value) = value {
            out.insert(key.into(), value.clone().into());
        }
    }
    Value::Object(out)
}

/// A text field; a name is checked when it differs from `current` (an
/// earlier version stored any text, which must come back unchanged).
fn optional_text(
    map: &Map<String, Value>,
    key: &str,
    current: Option<&str>,
    check: fn(&str) -> Result<(), Invalid>,
) -> Result<Option<String>, AdminError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) if s.len() <= 255 => match check(s) {
            Err(e) if Some(s.as_str()) != current => Err(AdminError::bad_request(format!("`{key}` {e}"))),
            _ => Ok(Some(s.clone())),
        },
        Some(_) => Err(AdminError::bad_request(format!("`{key}` must be a string of at most 255 characters"))),
    }
}

/// Applies a full representation to `row` (not the username, not credentials).
fn apply(row: &mut users::UserRow, map: &Map<String, Value>) -> Result<(), AdminError> {
    // Stored lower-case, as Keycloak stores addresses.
    let email_check = |email: &str| validate_email(&email.to_lowercase());
    row.email = optional_text(map, "email", row.email.as_deref(), email_check)?.map(|email| email.to_lowercase());
    row.given_name = optional_text(map, "firstName", row.given_name.as_deref(), validate_name)?;
    row.family_name = optional_text(map, "lastName", row.family_name.as_deref(), validate_name)?;
    row.email_verified = rep::bool_field(map, "emailVerified")?.unwrap_or(false);
    row.enabled = rep::bool_field(map, "enabled")?.unwrap_or(false);
    match map.get("requiredActions") {
        None | Some(Value::Null) => {}
        Some(Value::Array(actions)) => {
            // What realmgate cannot ask of a user at sign-in is refused, not dropped.
            if let Some(other) = actions.iter().find(|a| a.as_str() != Some(UPDATE_PASSWORD)) {
                return Err(AdminError::bad_request(format!(
                    "Required action {other} is not supported (only {UPDATE_PASSWORD})"
                )));
            }
            row.password_temporary = !actions.is_empty();
        }
        Some(_) => return Err(AdminError::bad_request("`requiredActions` must be a list")),
    }
    let stored = rep::stored_object(&row.attributes);
    let stored_attributes = stored.get("attributes").and_then(Value::as_object);
    rep::check_new_attributes(&rep::attributes(map)?, stored_attributes)?;
    let mut opaque = rep::opaque(map, &MODELLED);
    // `clientRoles` are given through the role mappings (Keycloak's user
    // API ignores them too): kept, they would read back as held.
    for computed in ["requiredActions", "disableableCredentialTypes", "serviceAccountClientId", "clientRoles", "groups"]
    {
        opaque.remove(computed);
    }
    if let Some(client) = rep::stored_object(&row.attributes).get("serviceAccountClientId") {
        opaque.insert("serviceAccountClientId".into(), client.clone());
    }
    row.attributes = Value::Object(opaque).to_string();
    Ok(())
}

/// Groups named in a request (realmgate has none); checked on what is sent,
/// not on what an earlier version stored.
fn refuse_groups(map: &Map<String, Value>) -> Result<(), AdminError> {
    match map.get("groups") {
        Some(Value::Array(groups)) if !groups.is_empty() => Err(AdminError::bad_request("Groups are not supported")),
        _ => Ok(()),
    }
}

/// The password a representation's `credentials` list sets (its last one).
fn password_in(credentials: Option<&Value>) -> Result<Option<NewPassword>, AdminError> {
    match credentials {
        Some(Value::Array(list)) => {
            Ok(list.iter().map(password_of).collect::<Result<Vec<_>, _>>()?.into_iter().flatten().last())
        }
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(AdminError::bad_request("`credentials` must be a list")),
    }
}

/// Keycloak's name for "choose a new password at the next sign-in".
const UPDATE_PASSWORD: &str = "UPDATE_PASSWORD";

/// Refuses changes to a user who holds rights the caller could not grant
/// (see `Admin::outranks`).
pub(crate) async fn guard_target(
    state: &AppState,
    admin: &Admin,
    realm: &realms::RealmRow,
    user: &users::UserRow,
) -> Result<(), AdminError> {
    let admin_roles = json_list(&user.admin_roles)?;
    let is_master_admin = if realm.name == MASTER_REALM {
        let id = user.id.clone();
        state.db.run(move |conn| roles::role_names_of_user(conn, &id)).await?.iter().any(|r| r == MASTER_ADMIN_ROLE)
    } else {
        false
    };
    if admin.outranks(&admin_roles, is_master_admin) { Ok(()) } else { Err(AdminError::Forbidden) }
}

pub async fn find_user(state: &AppState, realm: &realms::RealmRow, id: &str) -> Result<users::UserRow, AdminError> {
    let (realm_id, id) = (realm.id.clone(), id.to_owned());
    state
        .db
        .run(move |conn| users::find_by_id(conn, &realm_id, &id))
        .await?
        .ok_or_else(|| AdminError::not_found("User"))
}

fn filter_of(query: &Query) -> Result<UserFilter, AdminError> {
    // Filters realmgate cannot apply are refused: ignoring one would answer
    // every user, and a script acting on "the users matching q" would act on all.
    for unsupported in ["q", "idpAlias", "idpUserId"] {
        if query.get(unsupported).is_some() {
            return Err(AdminError::bad_request(format!("The `{unsupported}` filter is not supported")));
        }
    }
    // As typed: the search folds case (`users::search`).
    let text = |k: &str| query.get(k).map(str::to_owned);
    let search = text("search").filter(|s| !s.trim().is_empty());
    let filter = UserFilter {
        username: text("username"),
        email: text("email"),
        first_name: text("firstName"),
        last_name: text("lastName"),
        search,
        exact: query.flag("exact")?.unwrap_or(false),
        enabled: query.flag("enabled")?,
        email_verified: query.flag("emailVerified")?,
        include_service_accounts: false,
    };
    let fields = filter.username.is_some()
        || filter.email.is_some()
        || filter.first_name.is_some()
        || filter.last_name.is_some();
    Ok(UserFilter { include_service_accounts: fields, ..filter })
}

#[utoipa::path(get, path = "/admin/realms/{realm}/users", operation_id = "list_users", tag = "users",
    summary = "Searches the realm's users (service accounts only when a field is filtered)",
    params(crate::openapi::RealmPath, crate::openapi::UserQuery),
    responses((status = 200, description = "The users", body = [crate::openapi::UserRepresentation]),
        crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    admin.require(&path, Need::QueryUsers)?;
    let query = Query::from(&req)?;
    let page = query.page(Some(100))?;
    let filter = filter_of(&query)?;
    let realm = find_realm(&state, &path).await?;
    // As Keycloak's search keeps only users the caller may view: with
    // `query-users` alone (no per-group permissions here), none. It listed
    // every user in full, attributes and all, beside a 403 for each by id.
    if !admin.may(&path, Need::ViewUsers) {
        return Ok(rep::ok_json(Vec::<serde_json::Value>::new()));
    }
    let realm_id = realm.id.clone();
    let rows = state
        .db
        .run(move |conn| users::search(conn, &realm_id, &filter, page.first as i64, page.max.map(|m| m as i64)))
        .await?;
    let access = AccessOf::load(&state, &admin, &realm).await?;
    let brief = query.flag("briefRepresentation")?.unwrap_or(false);
    let shown = rows.iter().map(|row| {
        let full = to_rep(row, access.toward(row));
        if brief { brief_rep(full) } else { full }
    });
    Ok(rep::ok_json(shown.collect::<Vec<_>>()))
}

#[utoipa::path(get, path = "/admin/realms/{realm}/users/count", operation_id = "count_users", tag = "users",
    summary = "How many users match",
    params(crate::openapi::RealmPath, crate::openapi::UserCountQuery),
    responses((status = 200, description = "The count", body = i64, content_type = "application/json"),
        crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn count(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    admin.require(&path, Need::QueryUsers)?;
    let filter = filter_of(&Query::from(&req)?)?;
    let realm = find_realm(&state, &path).await?;
    // Counts what the search would list (see `list`).
    if !admin.may(&path, Need::ViewUsers) {
        return Ok(rep::ok_json(0));
    }
    let n = state.db.run(move |conn| users::count(conn, &realm.id, &filter)).await?;
    Ok(rep::ok_json(n))
}

#[utoipa::path(get, path = "/admin/realms/{realm}/users/{id}", operation_id = "get_user", tag = "users",
    summary = "A user",
    params(crate::openapi::UserPath),
    responses((status = 200, description = "The user", body = crate::openapi::UserRepresentation),
        crate::openapi::AdminErrors))]
async fn get(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id) = path.into_inner();
    admin.require(&realm_name, Need::ViewUsers)?;
    let realm = find_realm(&state, &realm_name).await?;
    let user = find_user(&state, &realm, &id).await?;
    Ok(rep::ok_json(to_rep(&user, AccessOf::load(&state, &admin, &realm).await?.toward(&user))))
}

#[utoipa::path(post, path = "/admin/realms/{realm}/users", operation_id = "create_user", tag = "users",
    summary = "Creates a user, with a password and realm roles if given",
    params(crate::openapi::RealmPath), request_body = crate::openapi::UserRepresentation,
    responses(crate::openapi::Created, crate::openapi::Invalid, crate::openapi::Exists, crate::openapi::Busy,
        crate::openapi::AdminErrors))]
async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AdminError> {
    let map = Body::read(payload).await?.object()?;
    let id = create_user(&state, &admin, &path, map).await?;
    Ok(rep::created(&state.public_url, &req, &id))
}

/// Creates a user (with `credentials` and `realmRoles`); returns its id.
pub(crate) async fn create_user(
    state: &AppState,
    admin: &Admin,
    realm_name: &str,
    mut map: Map<String, Value>,
) -> Result<String, AdminError> {
    rep::keycloak_attributes(&mut map, true);
    admin.require(realm_name, Need::ManageUsers)?;
    kinds::coerce(&mut map, kinds::USER)?;
    refuse_groups(&map)?;
    let raw = rep::str_field(&map, "username")?.ok_or_else(|| AdminError::bad_request("`username` is required"))?;
    let username = Username::parse(raw).map_err(|e| AdminError::bad_request(e.0))?;
    refuse_service_account_name(username.as_str()).map_err(|e| AdminError::bad_request(e.0))?;
    let password = password_in(map.get("credentials"))?;
    let role_names = match map.get("realmRoles") {
        Some(Value::Array(list)) => list.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    };
    let realm = find_realm(state, realm_name).await?;
    // As with role mappings: only holders of the master `admin` role (every
    // right in every realm) hand it out, to a new user too.
    if realm.name == MASTER_REALM && role_names.iter().any(|r| r == MASTER_ADMIN_ROLE) && !admin.master_admin {
        return Err(AdminError::Forbidden);
    }
    let id = new_id();
    let mut row = new_user_row(&id, &realm.id, &username, None, state.clock.now());
    apply(&mut row, &map)?;
    if let Some(password) = password {
        // `requiredActions: ["UPDATE_PASSWORD"]` (applied above) or a temporary credential.
        row.password_temporary |= password.temporary;
        row.password_hash = Some(password.into_hash(state).await?);
    }
    state
        .db
        .transaction(move |conn| {
            if users::find_by_username(conn, &row.realm_id, &row.username)?.is_some() {
                return Ok(Err(username_conflict()));
            }
            if let Some(email) = &row.email
                && users::email_taken(conn, &row.realm_id, email, None)?
            {
                return Ok(Err(email_conflict()));
            }
            let all = roles::list_by_realm(conn, &row.realm_id)?;
            let mut ids = Vec::new();
            for name in &role_names {
                match all.iter().find(|r| &r.name == name) {
                    Some(role) => ids.push(role.id.clone()),
                    None => return Ok(Err(AdminError::not_found(format!("Role {name}")))),
                }
            }
            users::insert(conn, &row)?;
            roles::set_user_roles(conn, &row.id, &ids)?;
            Ok(Ok(()))
        })
        .await
        // The same username created at the same moment elsewhere (PostgreSQL).
        .map_err(|e| if e.is_unique_violation() { username_conflict() } else { e.into() })??;
    Ok(id)
}

#[utoipa::path(put, path = "/admin/realms/{realm}/users/{id}", operation_id = "update_user", tag = "users",
    summary = "Changes a user (merged into what is stored; not the username)",
    params(crate::openapi::UserPath), request_body = Option<crate::openapi::UserRepresentation>,
    responses((status = 204, description = "Done"), crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn update(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id) = path.into_inner();
    let changes = Body::read(payload).await?.object()?;
    update_user(&state, &admin, &realm_name, &id, changes).await?;
    Ok(rep::no_content())
}

/// Merges `changes` into a user (merge-on-PUT).
pub(crate) async fn update_user(
    state: &AppState,
    admin: &Admin,
    realm_name: &str,
    id: &str,
    changes: Map<String, Value>,
) -> Result<(), AdminError> {
    admin.require(realm_name, Need::ManageUsers)?;
    // A password in the representation is set with the other changes, in
    // one write, as Keycloak's updateUser does (it was accepted and ignored).
    let mut changes = changes;
    rep::keycloak_attributes(&mut changes, true);
    kinds::coerce(&mut changes, kinds::USER)?;
    refuse_groups(&changes)?;
    let password = password_in(changes.remove("credentials").as_ref())?;
    let realm = find_realm(state, realm_name).await?;
    let row = find_user(state, &realm, id).await?;
    guard_target(state, admin, &realm, &row).await?;
    if let Some(name) = rep::str_field(&changes, "username")?
        && !name.eq_ignore_ascii_case(&row.username)
    {
        return Err(AdminError::bad_request("Changing a username is not supported"));
    }
    // Checked here first (a bad body is 400 before any write), then merged
    // again into the user as stored, with its row held: changes made at once
    // (roles granted, a password reset) are not undone by this write.
    merged(&row, changes.clone())?;
    // Hashed before the write, which must not wait for the hasher.
    let password = match password {
        Some(password) => Some((password.temporary, password.into_hash(state).await?)),
        None => None,
    };
    let (cached_realm, now) = (realm.name.clone(), state.clock.now());
    let is_service_account = row.service_account_link().is_some();
    state
        .db
        .transaction(move |conn| {
            // The change log's lock before the user's row, in the order a
            // service account's role change takes them (else each waits for
            // the other: a deadlock on PostgreSQL).
            if is_service_account {
                meta::lock(conn)?;
            }
            let Some(stored) = users::find_for_update(conn, &row.realm_id, &row.id)? else {
                return Ok(Err(AdminError::not_found("User")));
            };
            let mut updated = match merged(&stored, changes) {
                Ok(updated) => updated,
                Err(error) => return Ok(Err(error)),
            };
            if let Some((temporary, hash)) = password {
                updated.password_hash = Some(hash);
                // Keycloak adds the required action for a temporary
                // password; it never takes one away for a permanent one.
                updated.password_temporary |= temporary;
            }
            if let Some(email) = updated.email.as_ref().filter(|email| Some(*email) != stored.email.as_ref())
                && users::email_taken(conn, &updated.realm_id, email, Some(&updated.id))?
            {
                return Ok(Err(email_conflict()));
            }
            // A service account's enabled flag is cached with its client
            // (client_credentials asks it): every node reloads the realm.
            if updated.enabled != stored.enabled && stored.service_account_link().is_some() {
                meta::bump_epoch(conn, &cached_realm, now)?;
            }
            users::update(conn, &updated).map(Ok)
        })
        .await??;
    if is_service_account {
        state.cache.invalidate(&[realm_name]);
    }
    Ok(())
}

/// A user with `changes` merged into its representation.
fn merged(row: &UserRow, changes: Map<String, Value>) -> Result<UserRow, AdminError> {
    let Value::Object(current) = to_rep(row, UserAccess::FULL) else {
        unreachable!("a user representation is an object")
    };
    let mut updated = row.clone();
    apply(&mut updated, &rep::merge(current, changes))?;
    Ok(updated)
}

fn username_conflict() -> AdminError {
    AdminError::Conflict("User exists with same username".into())
}

/// Keycloak refuses a second user with an address (its realms do not allow
/// duplicate e-mail addresses by default), as signing in by e-mail needs.
fn email_conflict() -> AdminError {
    AdminError::Conflict("User exists with same email".into())
}

#[utoipa::path(delete, path = "/admin/realms/{realm}/users/{id}", operation_id = "delete_user", tag = "users",
    summary = "Deletes a user",
    params(crate::openapi::UserPath),
    responses((status = 204, description = "Done"), crate::openapi::AdminErrors))]
async fn delete(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id) = path.into_inner();
    delete_user(&state, &admin, &realm_name, &id).await?;
    Ok(rep::no_content())
}

pub(crate) async fn delete_user(state: &AppState, admin: &Admin, realm_name: &str, id: &str) -> Result<(), AdminError> {
    admin.require(realm_name, Need::ManageUsers)?;
    let realm = find_realm(state, realm_name).await?;
    let row = find_user(state, &realm, id).await?;
    guard_target(state, admin, &realm, &row).await?;
    // Through the change epoch: a service account's roles are in every
    // node's cached realm, which must forget them too.
    change_cached(state, realm_name, None, move |conn| users::delete(conn, &row.id)).await?;
    Ok(())
}

#[utoipa::path(put, path = "/admin/realms/{realm}/users/{id}/reset-password", operation_id = "reset_user_password",
    tag = "users", summary = "Sets a user's password",
    params(crate::openapi::UserPath), request_body = crate::openapi::CredentialRepresentation,
    responses((status = 204, description = "Done"), crate::openapi::Invalid, crate::openapi::Busy,
        crate::openapi::AdminErrors))]
async fn reset_password(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id) = path.into_inner();
    let body = Body::read(payload).await?.0;
    let password = password_of(&body)?.ok_or_else(|| AdminError::bad_request("A password is required"))?;
    set_password(&state, &admin, &realm_name, &id, password).await?;
    Ok(rep::no_content())
}

pub(crate) async fn set_password(
    state: &AppState,
    admin: &Admin,
    realm_name: &str,
    id: &str,
    password: NewPassword,
) -> Result<(), AdminError> {
    admin.require(realm_name, Need::ManageUsers)?;
    let realm = find_realm(state, realm_name).await?;
    let row = find_user(state, &realm, id).await?;
    guard_target(state, admin, &realm, &row).await?;
    let temporary = password.temporary;
    let hash = password.into_hash(state).await?;
    // Set on the user as stored, with its row held (see `update_user`).
    let found = state
        .db
        .transaction(move |conn| {
            let Some(mut stored) = users::find_for_update(conn, &row.realm_id, &row.id)? else {
                return Ok(false);
            };
            stored.password_hash = Some(hash);
            stored.password_temporary = temporary;
            users::update(conn, &stored).map(|()| true)
        })
        .await?;
    if !found {
        return Err(AdminError::not_found("User"));
    }
    Ok(())
}

#[utoipa::path(post, path = "/admin/realms/{realm}/users/{id}/logout", operation_id = "logout_user", tag = "users",
    summary = "Ends the user's sessions and revokes their grants (not offline ones)",
    params(crate::openapi::UserPath),
    responses((status = 204, description = "Done"), crate::openapi::AdminErrors))]
async fn logout(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id) = path.into_inner();
    logout_user(&state, &admin, &realm_name, &id).await?;
    Ok(rep::no_content())
}

/// Whether `admin` may end `id`'s sessions: `manage-users`, and not over a
/// user who outranks the caller (as for every change to a user), so a user
/// manager cannot keep signing the realm's administrators out.
pub(crate) async fn may_sign_out(
    state: &AppState,
    admin: &Admin,
    realm_name: &str,
    id: &str,
) -> Result<users::UserRow, AdminError> {
    admin.require(realm_name, Need::ManageUsers)?;
    let realm = find_realm(state, realm_name).await?;
    let row = find_user(state, &realm, id).await?;
    guard_target(state, admin, &realm, &row).await?;
    Ok(row)
}

/// Ends every SSO session of the user and revokes every grant, offline ones
/// too (Keycloak's not-before: an administrator can cut off a stolen
/// offline token this way).
pub(crate) async fn logout_user(state: &AppState, admin: &Admin, realm_name: &str, id: &str) -> Result<(), AdminError> {
    let row = may_sign_out(state, admin, realm_name, id).await?;
    let entry = super::realms::cached_realm(state, realm_name).await?;
    let now = state.clock.now();
    state.db.write(move |conn| sessions::end_all_of_user(conn, &entry, &row.id, true, now)).await?;
    Ok(())
}
