//! Clients (`/realms/{realm}/clients`): the representation ↔ realmgate's
//! model (SPEC §6 mapping), secrets and service accounts; their client
//! scopes are in `client_scopes`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::kinds;
use super::realms::find_realm;
use super::rep::{self, Body, Query};
use super::scopes::{self as scope_admin, DEFAULT_DEFAULTS, DEFAULT_OPTIONALS};
use super::users::{self as user_admin};
use super::{Admin, AdminError, Need, both, change_cached};
use crate::clock::UnixTime;
use crate::crypto::{SecretKey, random_token};
use crate::domain::authorization::ChallengeMethod;
use crate::domain::client::{
    GrantType, PKCE_METHOD_ATTRIBUTE, POST_LOGOUT_AS_REDIRECT, RedirectUri, service_account_username,
    validate_client_id,
};
use crate::domain::text::validate_name;
use crate::domain::user::Username;
use crate::services::realms::{BUILT_IN_CLIENTS, MASTER_ADMIN_ROLE, MASTER_REALM, new_user_row};
use crate::state::AppState;
use crate::storage::repo::clients::ClientRow;
use crate::storage::repo::users::UserRow;
use crate::storage::repo::{clients, realms, roles, users};
use crate::storage::{DbConnection, StorageError, json_list, new_id, to_json_list};

pub fn routes(cfg: &mut web::ServiceConfig) {
    let r = "/realms/{realm}/clients";
    cfg.service(web::resource(both(r)).get(list).post(create))
        .service(web::resource(both(&format!("{r}/{{id}}"))).get(get).put(update).delete(delete))
        .service(web::resource(both(&format!("{r}/{{id}}/client-secret"))).get(get_secret).post(new_secret))
        .service(web::resource(both(&format!("{r}/{{id}}/service-account-user"))).get(service_account));
}

const MODELLED: [&str; 16] = [
    "id",
    "clientId",
    "name",
    "enabled",
    "secret",
    "publicClient",
    "redirectUris",
    "standardFlowEnabled",
    "implicitFlowEnabled",
    "directAccessGrantsEnabled",
    "serviceAccountsEnabled",
    "consentRequired",
    "defaultClientScopes",
    "attributes",
    "protocol",
    "clientAuthenticatorType",
];
pub const DEVICE_ATTRIBUTE: &str = "oauth2.device.authorization.grant.enabled";
pub const REFRESH_ATTRIBUTE: &str = "use.refresh.tokens";
pub const POST_LOGOUT_ATTRIBUTE: &str = "post.logout.redirect.uris";

/// A client row as Keycloak represents it; the secret only for `with_secret`.
pub fn to_rep(row: &clients::ClientRow, secret: Option<String>) -> Result<Map<String, Value>, AdminError> {
    let grants = json_list(&row.grant_types)?;
    let has = |g: GrantType| grants.iter().any(|x| x == g.as_str());
    let mut out = rep::stored_object(&row.attributes);
    let mut attributes = match out.remove("attributes") {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    attributes.insert(DEVICE_ATTRIBUTE.into(), has(GrantType::DeviceCode).to_string().into());
    attributes.insert(REFRESH_ATTRIBUTE.into(), has(GrantType::RefreshToken).to_string().into());
    attributes.insert(POST_LOGOUT_ATTRIBUTE.into(), json_list(&row.post_logout_redirect_uris)?.join("##").into());
    let modelled = json!({
        "id": row.id,
        "clientId": row.client_id,
        "enabled": row.enabled,
        "publicClient": row.secret_ciphertext.is_none(),
        "clientAuthenticatorType": "client-secret",
        "protocol": "openid-connect",
        "redirectUris": json_list(&row.redirect_uris)?,
        "standardFlowEnabled": has(GrantType::AuthorizationCode),
        "implicitFlowEnabled": has(GrantType::Implicit),
        "directAccessGrantsEnabled": has(GrantType::Password),
        "serviceAccountsEnabled": has(GrantType::ClientCredentials),
        "consentRequired": row.consent_required,
        "defaultClientScopes": super::client_scopes::shown_scope_names(row, false)?,
        "optionalClientScopes": super::client_scopes::shown_scope_names(row, true)?,
        "bearerOnly": false,
        "attributes": attributes,
    });
    if let Value::Object(fields) = modelled {
        out.extend(fields);
    }
    // Absent until given, and `""` clears it, as Keycloak keeps it
    // (Terraform sends `""` for no name, and read a default as a change).
    if !row.name.is_empty() {
        out.insert("name".into(), row.name.clone().into());
    }
    if let Some(secret) = secret {
        out.insert("secret".into(), secret.into());
    }
    Ok(out)
}

/// The client's display name, if one is given (checked when it changes).
fn client_name<'a>(map: &'a Map<String, Value>, current: Option<&str>) -> Result<Option<&'a str>, AdminError> {
    let name = rep::str_field(map, "name")?;
    if let Some(name) = name.filter(|name| !name.is_empty() && Some(*name) != current) {
        validate_name(name).map_err(|e| AdminError::bad_request(format!("`name` {e}")))?;
    }
    Ok(name)
}

/// Keycloak's `rootUrl` and `baseUrl` (kept for the tools that send them,
/// and links to the application): a web address or a path, never a
/// `javascript:` one (Keycloak refuses them since CVE-2020-10748).
fn check_application_urls(map: &Map<String, Value>, stored: Option<&Map<String, Value>>) -> Result<(), AdminError> {
    for field in ["rootUrl", "baseUrl", "adminUrl"] {
        let Some(value) = rep::str_field(map, field)?.filter(|v| !v.is_empty()) else { continue };
        if stored.and_then(|s| s.get(field)).and_then(Value::as_str) == Some(value) {
            continue;
        }
        let refused = || AdminError::bad_request(format!("`{field}` must be an http(s) URL or a path"));
        if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(refused());
        }
        match url::Url::parse(value) {
            Ok(url) if !matches!(url.scheme(), "http" | "https") => return Err(refused()),
            Ok(_) => {}
            // Relative: Keycloak resolves a base URL against the root URL.
            Err(url::ParseError::RelativeUrlWithoutBase) => {}
            Err(_) => return Err(refused()),
        }
    }
    Ok(())
}

fn string_list(value: Option<&Value>, field: &str) -> Result<Vec<String>, AdminError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| AdminError::bad_request(format!("`{field}` must list strings")))
            })
            .collect(),
        Some(_) => Err(AdminError::bad_request(format!("`{field}` must be a list"))),
    }
}

/// The row a full representation describes (over `existing`, if any).
fn to_row(
    secret: &SecretKey,
    realm: &realms::RealmRow,
    map: &Map<String, Value>,
    existing: Option<&clients::ClientRow>,
    known_scopes: &[scope_admin::ScopeEntry],
    now: i64,
) -> Result<clients::ClientRow, AdminError> {
    let client_id =
        rep::str_field(map, "clientId")?.ok_or_else(|| AdminError::bad_request("`clientId` is required"))?;
    // What an earlier version stored is taken back unchanged; new values are checked.
    if existing.is_none_or(|e| e.client_id != client_id) {
        validate_client_id(client_id).map_err(|e| AdminError::bad_request(e.0))?;
    }
    let stored = existing.map(|e| rep::stored_object(&e.attributes));
    check_application_urls(map, stored.as_ref())?;
    if map.get("secret").is_some_and(|s| !s.is_string() && !s.is_null()) {
        return Err(AdminError::bad_request("`secret` must be a string"));
    }
    // Kinds of client realmgate does not have are refused, not turned into
    // an OpenID Connect client with a secret that nobody asked for.
    for (field, supported) in [("protocol", "openid-connect"), ("clientAuthenticatorType", "client-secret")] {
        if let Some(value) = map.get(field).filter(|v| !v.is_null())
            && value.as_str() != Some(supported)
        {
            return Err(AdminError::bad_request(format!("`{field}` {value} is not supported (only \"{supported}\")")));
        }
    }
    if rep::bool_field(map, "bearerOnly")? == Some(true) {
        return Err(AdminError::bad_request("Bearer-only clients are not supported"));
    }
    if rep::bool_field(map, "authorizationServicesEnabled")? == Some(true) {
        return Err(AdminError::bad_request(
            "Authorization services (`authorizationServicesEnabled`) are not supported",
        ));
    }
    let attrs = rep::attributes(map)?;
    if existing.is_none() {
        rep::check_new_attributes(&attrs, None)?;
    }
    check_security_attributes(&attrs)?;
    let mut grants = Vec::new();
    let wanted = [
        (rep::bool_field(map, "standardFlowEnabled")?.unwrap_or(true), GrantType::AuthorizationCode),
        (rep::bool_field(map, "implicitFlowEnabled")?.unwrap_or(false), GrantType::Implicit),
        (rep::bool_field(map, "directAccessGrantsEnabled")?.unwrap_or(false), GrantType::Password),
        (rep::bool_field(map, "serviceAccountsEnabled")?.unwrap_or(false), GrantType::ClientCredentials),
        (rep::bool_field(&attrs, DEVICE_ATTRIBUTE)?.unwrap_or(false), GrantType::DeviceCode),
        (rep::bool_field(&attrs, REFRESH_ATTRIBUTE)?.unwrap_or(true), GrantType::RefreshToken),
    ];
    for (on, grant) in wanted {
        if on {
            grants.push(grant.as_str());
        }
    }
    let public = rep::bool_field(map, "publicClient")?.unwrap_or(false);
    let secret_ciphertext = if public {
        if grants.contains(&GrantType::ClientCredentials.as_str()) {
            return Err(AdminError::bad_request("A public client cannot have a service account"));
        }
        None
    } else {
        match (
            rep::str_field(map, "secret")?.filter(|s| !s.is_empty()),
            existing.and_then(|e| e.secret_ciphertext.clone()),
        ) {
            (Some(given), _) => Some(secret.encrypt(given.as_bytes())),
            (None, Some(kept)) => Some(kept),
            (None, None) => Some(secret.encrypt(random_token(32).as_bytes())),
        }
    };
    let redirect_uris = string_list(map.get("redirectUris"), "redirectUris")?;
    for uri in &redirect_uris {
        RedirectUri::check_keycloak(uri).map_err(|e| AdminError::bad_request(format!("redirectUris: {}", e.0)))?;
    }
    let post_logout: Vec<String> = attrs
        .get(POST_LOGOUT_ATTRIBUTE)
        .and_then(Value::as_str)
        .map(|s| s.split("##").filter(|u| !u.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    for uri in post_logout.iter().filter(|u| *u != POST_LOGOUT_AS_REDIRECT) {
        RedirectUri::check_keycloak(uri)
            .map_err(|e| AdminError::bad_request(format!("{POST_LOGOUT_ATTRIBUTE}: {}", e.0)))?;
    }
    let scopes = match map.get("defaultClientScopes") {
        None | Some(Value::Null) => {
            let mut names = vec!["openid".to_owned()];
            names.extend(scope_admin::realm_defaults(realm, DEFAULT_DEFAULTS));
            names
        }
        value => {
            let mut names = string_list(value, "defaultClientScopes")?;
            // Keycloak's own scopes (`web-origins`, `acr`, `roles`, …), which
            // Keycloak-shaped tools list: left out unless the realm made one
            // of that name, as Keycloak ignores a scope it cannot find.
            names.retain(|n| scope_admin::known(known_scopes, n) || !super::realm_import::is_keycloak_scope(n));
            // Keycloak's OIDC clients may always ask for `openid`; it is no scope they list.
            if !names.iter().any(|n| n == "openid") {
                names.insert(0, "openid".to_owned());
            }
            names
        }
    };
    for name in &scopes {
        if !scope_admin::known(known_scopes, name) {
            return Err(AdminError::bad_request(format!("defaultClientScopes: `{name}` is not a scope of this realm")));
        }
    }
    let mut opaque = rep::opaque(map, &MODELLED);
    let foreign: Map<String, Value> = attrs
        .into_iter()
        .filter(|(k, _)| ![DEVICE_ATTRIBUTE, REFRESH_ATTRIBUTE, POST_LOGOUT_ATTRIBUTE].contains(&k.as_str()))
        .collect();
    opaque.insert("attributes".into(), Value::Object(foreign));
    let mut optionals = match opaque.get("optionalClientScopes") {
        None if existing.is_none() => scope_admin::realm_defaults(realm, DEFAULT_OPTIONALS),
        value => {
            let mut names = string_list(value, "optionalClientScopes")?;
            // What an earlier version stored unchecked does not block a change.
            let stored = match existing {
                Some(row) => super::client_scopes::shown_scope_names(row, true)?,
                None => Vec::new(),
            };
            names.retain(|n| {
                scope_admin::known(known_scopes, n)
                    || !(super::realm_import::is_keycloak_scope(n) || stored.contains(n))
            });
            // Stored, an unknown name would grant a scope made later under it.
            if let Some(name) = names.iter().find(|n| !scope_admin::known(known_scopes, n)) {
                return Err(AdminError::bad_request(format!(
                    "optionalClientScopes: `{name}` is not a scope of this realm"
                )));
            }
            names
        }
    };
    // A scope is a client's default or optional one, never both; the
    // default wins, as Keycloak attaches defaults first.
    optionals.retain(|n| !scopes.contains(n) && n != "openid");
    opaque.insert("optionalClientScopes".into(), json!(optionals));
    opaque.remove("bearerOnly");
    Ok(clients::ClientRow {
        id: existing.map_or_else(new_id, |e| e.id.clone()),
        realm_id: realm.id.clone(),
        client_id: client_id.to_owned(),
        name: client_name(map, existing.map(|e| e.name.as_str()))?.unwrap_or_default().to_owned(),
        secret_ciphertext,
        redirect_uris: to_json_list(&redirect_uris),
        post_logout_redirect_uris: to_json_list(&post_logout),
        grant_types: to_json_list(&grants),
        scopes: to_json_list(&scopes),
        consent_required: rep::bool_field(map, "consentRequired")?.unwrap_or(false),
        enabled: rep::bool_field(map, "enabled")?.unwrap_or(true),
        attributes: Value::Object(opaque).to_string(),
        created_at: existing.map_or(now, |e| e.created_at),
    })
}

/// Whether `admin` may see or set a client's secret: whoever holds it acts
/// as the client's service account, so only a caller who outranks that
/// account (the rule for a user's password), or the client has none.
async fn may_hold_secret(
    state: &AppState,
    admin: &Admin,
    realm: &realms::RealmRow,
    row: &clients::ClientRow,
) -> Result<bool, AdminError> {
    let in_master = realm.name == MASTER_REALM;
    let (realm_id, row_id, client_id) = (realm.id.clone(), row.id.clone(), row.client_id.clone());
    let account = state
        .db
        .run(move |conn| {
            let Some(account) = users::find_service_account(conn, &realm_id, &row_id, &client_id)? else {
                return Ok(None);
            };
            let master_admin =
                in_master && roles::role_names_of_user(conn, &account.id)?.iter().any(|r| r == MASTER_ADMIN_ROLE);
            Ok(Some((json_list(&account.admin_roles)?, master_admin)))
        })
        .await?;
    Ok(account.is_none_or(|(roles, master_admin)| admin.outranks(&roles, master_admin)))
}

/// The secret, for a caller who may hold it (see `may_hold_secret`).
async fn secret_for(
    state: &AppState,
    admin: &Admin,
    realm: &realms::RealmRow,
    row: &clients::ClientRow,
) -> Result<Option<String>, AdminError> {
    if may_hold_secret(state, admin, realm, row).await? { plain_secret(state, row) } else { Ok(None) }
}

fn plain_secret(state: &AppState, row: &clients::ClientRow) -> Result<Option<String>, AdminError> {
    row.secret_ciphertext
        .as_ref()
        .map(|sealed| state.secret.decrypt_text(sealed).map_err(|e| AdminError::Internal(Box::new(e))))
        .transpose()
}

pub async fn find_client(
    state: &AppState,
    realm: &realms::RealmRow,
    id: &str,
) -> Result<clients::ClientRow, AdminError> {
    let (realm_id, id) = (realm.id.clone(), id.to_owned());
    state
        .db
        .run(move |conn| clients::find_by_id(conn, &realm_id, &id))
        .await?
        .ok_or_else(|| AdminError::not_found("Client"))
}

#[utoipa::path(get, path = "/admin/realms/{realm}/clients", operation_id = "list_clients", tag = "clients",
    summary = "The realm's clients (secrets only for callers who may view clients)",
    params(crate::openapi::RealmPath, crate::openapi::ClientQuery),
    responses((status = 200, description = "The clients", body = [crate::openapi::ClientRepresentation]),
        crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    admin.require(&path, Need::QueryClients)?;
    let query = Query::from(&req)?;
    // An attribute query realmgate cannot apply is refused, not ignored
    // (every client would match it), as for users.
    if query.get("q").is_some() {
        return Err(AdminError::bad_request("The `q` filter is not supported"));
    }
    let page = query.page(None)?;
    let search = query.flag("search")?.unwrap_or(false);
    let wanted = query.get("clientId").map(str::to_owned);
    let realm = find_realm(&state, &path).await?;
    let realm_id = realm.id.clone();
    let rows = state.db.run(move |conn| clients::list_by_realm(conn, &realm_id)).await?;
    let with_secret = admin.may(&path, Need::ViewClients);
    let mut out = Vec::new();
    for row in rows.iter().filter(|row| match &wanted {
        None => true,
        Some(w) if search => row.client_id.to_lowercase().contains(&w.to_lowercase()),
        Some(w) => &row.client_id == w,
    }) {
        let secret = if with_secret { secret_for(&state, &admin, &realm, row).await? } else { None };
        out.push(to_rep(row, secret)?);
    }
    Ok(rep::ok_json(page.apply(out)))
}

#[utoipa::path(get, path = "/admin/realms/{realm}/clients/{id}", operation_id = "get_client", tag = "clients",
    summary = "A client",
    params(crate::openapi::ClientPath),
    responses((status = 200, description = "The client", body = crate::openapi::ClientRepresentation),
        crate::openapi::AdminErrors))]
async fn get(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id) = path.into_inner();
    admin.require(&realm_name, Need::ViewClients)?;
    let realm = find_realm(&state, &realm_name).await?;
    let row = find_client(&state, &realm, &id).await?;
    Ok(rep::ok_json(to_rep(&row, secret_for(&state, &admin, &realm, &row).await?)?))
}

#[utoipa::path(post, path = "/admin/realms/{realm}/clients", operation_id = "create_client", tag = "clients",
    summary = "Creates a client",
    params(crate::openapi::RealmPath), request_body = crate::openapi::ClientRepresentation,
    responses(crate::openapi::Created, crate::openapi::Invalid, crate::openapi::Exists, crate::openapi::AdminErrors))]
async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AdminError> {
    let map = Body::read(payload).await?.object()?;
    let id = create_client(&state, &admin, &path, map).await?;
    Ok(rep::created(&state.public_url, &req, &id))
}

/// Creates a client from its representation; returns its id.
pub(crate) async fn create_client(
    state: &AppState,
    admin: &Admin,
    realm_name: &str,
    mut map: Map<String, Value>,
) -> Result<String, AdminError> {
    rep::keycloak_attributes(&mut map, false);
    rep::drop_empty_attributes(&mut map);
    admin.require(realm_name, Need::ManageClients)?;
    kinds::coerce(&mut map, kinds::CLIENT)?;
    rep::drop_masked_secret(&mut map);
    let realm = find_realm(state, realm_name).await?;
    let known = scope_admin::catalog(state, &realm.id).await?;
    let row = to_row(&state.secret, &realm, &map, None, &known, state.clock.now())?;
    let (id, conflict) = (row.id.clone(), format!("Client {}", row.client_id));
    change_cached(state, &realm.name, Some(conflict), move |conn| clients::insert(conn, &row)).await?;
    Ok(id)
}

#[utoipa::path(put, path = "/admin/realms/{realm}/clients/{id}", operation_id = "update_client", tag = "clients",
    summary = "Changes a client (merged into what is stored)",
    params(crate::openapi::ClientPath), request_body = Option<crate::openapi::ClientRepresentation>,
    responses((status = 204, description = "Done"), crate::openapi::Invalid, crate::openapi::Exists,
        crate::openapi::AdminErrors))]
async fn update(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id) = path.into_inner();
    let changes = Body::read(payload).await?.object()?;
    update_client(&state, &admin, &realm_name, &id, changes).await?;
    Ok(rep::no_content())
}

/// Merges `changes` into a client (merge-on-PUT).
pub(crate) async fn update_client(
    state: &AppState,
    admin: &Admin,
    realm_name: &str,
    id: &str,
    mut changes: Map<String, Value>,
) -> Result<(), AdminError> {
    rep::keycloak_attributes(&mut changes, false);
    admin.require(realm_name, Need::ManageClients)?;
    kinds::coerce(&mut changes, kinds::CLIENT)?;
    rep::drop_masked_secret(&mut changes);
    let realm = find_realm(state, realm_name).await?;
    let existing = find_client(state, &realm, id).await?;
    if changes.get("secret").is_some_and(|s| !s.is_null()) && !may_hold_secret(state, admin, &realm, &existing).await? {
        return Err(AdminError::Forbidden);
    }
    let known = scope_admin::catalog(state, &realm.id).await?;
    let (secret, now) = (state.secret.clone(), state.clock.now());
    // Checked here first (a bad body is 400 before any write), then merged
    // again into the client as stored once the configuration transaction
    // runs (its first write puts such changes one after the other): a new
    // secret or scope list written at the same moment is not undone.
    let row = merged_client(&secret, &realm, &existing, changes.clone(), &known, now)?;
    let conflict = format!("Client {}", row.client_id);
    let realm_name = realm.name.clone();
    change_cached(state, &realm_name, Some(conflict), move |conn| {
        let Some(stored) = clients::find_by_id(conn, &realm.id, &existing.id)? else {
            return Ok(Err(AdminError::not_found("Client")));
        };
        let row = match merged_client(&secret, &realm, &stored, changes, &known, now) {
            Ok(row) => row,
            Err(error) => return Ok(Err(error)),
        };
        if row.client_id != stored.client_id {
            link_service_account(conn, &row, &stored.client_id)?;
        }
        clients::update(conn, &row).map(Ok)
    })
    .await?
}

/// A client with `changes` merged into its representation.
fn merged_client(
    secret: &SecretKey,
    realm: &realms::RealmRow,
    existing: &clients::ClientRow,
    changes: Map<String, Value>,
    known: &[scope_admin::ScopeEntry],
    now: UnixTime,
) -> Result<clients::ClientRow, AdminError> {
    let merged = rep::merge_with_attributes(to_rep(existing, None)?, changes)?;
    if rep::str_field(&merged, "clientId")? != Some(existing.client_id.as_str())
        && BUILT_IN_CLIENTS.contains(&existing.client_id.as_str())
    {
        return Err(AdminError::bad_request("Built-in clients cannot be renamed"));
    }
    to_row(secret, realm, &merged, Some(existing), known, now)
}

/// Points the client's service-account user (if any) at the client's
/// internal id, so that it stays the client's under a new `clientId`.
fn link_service_account(
    conn: &mut crate::storage::DbConnection,
    row: &clients::ClientRow,
    client_id: &str,
) -> Result<(), crate::storage::StorageError> {
    let Some(mut user) = users::find_service_account(conn, &row.realm_id, &row.id, client_id)? else {
        return Ok(());
    };
    let mut attributes = rep::stored_object(&user.attributes);
    attributes.insert("serviceAccountClientId".into(), row.id.clone().into());
    user.attributes = Value::Object(attributes).to_string();
    users::update(conn, &user)
}

#[utoipa::path(delete, path = "/admin/realms/{realm}/clients/{id}", operation_id = "delete_client", tag = "clients",
    summary = "Deletes a client (not a built-in one) and its service-account user",
    params(crate::openapi::ClientPath),
    responses((status = 204, description = "Done"), crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn delete(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id) = path.into_inner();
    delete_client(&state, &admin, &realm_name, &id).await?;
    Ok(rep::no_content())
}

pub(crate) async fn delete_client(
    state: &AppState,
    admin: &Admin,
    realm_name: &str,
    id: &str,
) -> Result<(), AdminError> {
    admin.require(realm_name, Need::ManageClients)?;
    let realm = find_realm(state, realm_name).await?;
    let row = find_client(state, &realm, id).await?;
    if BUILT_IN_CLIENTS.contains(&row.client_id.as_str()) {
        return Err(AdminError::bad_request("Built-in clients cannot be deleted"));
    }
    change_cached(state, &realm.name, None, move |conn| {
        if let Some(user) = users::find_service_account(conn, &row.realm_id, &row.id, &row.client_id)? {
            users::delete(conn, &user.id)?;
        }
        clients::delete(conn, &row.id)
    })
    .await?;
    Ok(())
}

fn secret_rep(secret: Option<String>) -> Value {
    match secret {
        Some(value) => json!({ "type": "secret", "value": value }),
        None => json!({ "type": "secret" }),
    }
}

#[utoipa::path(get, path = "/admin/realms/{realm}/clients/{id}/client-secret", operation_id = "get_client_secret",
    tag = "clients", summary = "The client's secret (no `value` for a public client)",
    params(crate::openapi::ClientPath),
    responses((status = 200, description = "The secret", body = crate::openapi::CredentialRepresentation),
        crate::openapi::AdminErrors))]
async fn get_secret(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id) = path.into_inner();
    Ok(rep::ok_json(secret_rep(client_secret(&state, &admin, &realm_name, &id).await?)))
}

/// A confidential client's secret (none for a public client).
pub(crate) async fn client_secret(
    state: &AppState,
    admin: &Admin,
    realm_name: &str,
    id: &str,
) -> Result<Option<String>, AdminError> {
    admin.require(realm_name, Need::ViewClients)?;
    let realm = find_realm(state, realm_name).await?;
    let row = find_client(state, &realm, id).await?;
    if !may_hold_secret(state, admin, &realm, &row).await? {
        return Err(AdminError::Forbidden);
    }
    plain_secret(state, &row)
}

#[utoipa::path(post, path = "/admin/realms/{realm}/clients/{id}/client-secret",
    operation_id = "regenerate_client_secret", tag = "clients",
    summary = "Generates a new secret (a public client keeps none)",
    params(crate::openapi::ClientPath),
    responses((status = 200, description = "The new secret", body = crate::openapi::CredentialRepresentation),
        crate::openapi::AdminErrors))]
async fn new_secret(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id) = path.into_inner();
    Ok(rep::ok_json(secret_rep(regenerate_secret(&state, &admin, &realm_name, &id).await?)))
}

/// Gives a confidential client a new random secret and returns it.
pub(crate) async fn regenerate_secret(
    state: &AppState,
    admin: &Admin,
    realm_name: &str,
    id: &str,
) -> Result<Option<String>, AdminError> {
    admin.require(realm_name, Need::ManageClients)?;
    let realm = find_realm(state, realm_name).await?;
    let row = find_client(state, &realm, id).await?;
    if !may_hold_secret(state, admin, &realm, &row).await? {
        return Err(AdminError::Forbidden);
    }
    if row.secret_ciphertext.is_none() {
        return Ok(None);
    }
    let fresh = random_token(32);
    let sealed = state.secret.encrypt(fresh.as_bytes());
    // Only the secret: a change to the client made at the same moment stays.
    change_cached(state, &realm.name, None, move |conn| clients::set_secret(conn, &row.id, &sealed)).await?;
    Ok(Some(fresh))
}

/// The client's service-account user, created on first use.
#[utoipa::path(get, path = "/admin/realms/{realm}/clients/{id}/service-account-user",
    operation_id = "get_service_account_user", tag = "clients",
    summary = "The client's service-account user, created on first use",
    params(crate::openapi::ClientPath),
    responses((status = 200, description = "The user", body = crate::openapi::UserRepresentation),
        crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn service_account(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id) = path.into_inner();
    admin.require(&realm_name, Need::ViewClients)?;
    let realm = find_realm(&state, &realm_name).await?;
    let row = find_client(&state, &realm, &id).await?;
    let user = service_account_user(&state, &row).await?;
    let access = user_admin::AccessOf::load(&state, &admin, &realm).await?.toward(&user);
    Ok(rep::ok_json(user_admin::to_rep(&user, access)))
}

/// The client's service-account user, created if it has none yet.
pub(crate) async fn service_account_user(state: &AppState, row: &ClientRow) -> Result<UserRow, AdminError> {
    if !row.has_service_account()? {
        return Err(AdminError::bad_request("Service account not enabled for the client"));
    }
    let username =
        Username::parse(&service_account_username(&row.client_id)).map_err(|e| AdminError::bad_request(e.0))?;
    let now = state.clock.now();
    let attempt = || {
        let (row, username) = (row.clone(), username.clone());
        state.db.transaction(move |conn| find_or_create_service_account(conn, &row, &username, now))
    };
    match attempt().await {
        // Created at the same moment by another request (PostgreSQL): there now.
        Err(e) if e.is_unique_violation() => attempt().await,
        other => other,
    }?
}

fn find_or_create_service_account(
    conn: &mut DbConnection,
    client: &ClientRow,
    username: &Username,
    now: UnixTime,
) -> Result<Result<UserRow, AdminError>, StorageError> {
    if let Some(user) = users::find_service_account(conn, &client.realm_id, &client.id, &client.client_id)? {
        return Ok(Ok(user));
    }
    if let Some(holder) = users::find_by_username(conn, &client.realm_id, username.as_str())? {
        // Committed by a concurrent request since the lookup above (PostgreSQL).
        if holder.is_service_account_of(&client.id, &client.client_id) {
            return Ok(Ok(holder));
        }
        // Another user has the name (an ordinary user, or the service
        // account of a client that had this clientId before a rename).
        return Ok(Err(AdminError::Conflict("User exists with same username".into())));
    }
    let mut user = new_user_row(&new_id(), &client.realm_id, username, None, now);
    user.attributes = json!({ "serviceAccountClientId": client.id }).to_string();
    users::insert(conn, &user)?;
    Ok(Ok(user))
}

/// Keycloak's client attributes that promise protection: honoured (a
/// required PKCE method) or refused, never stored and silently ignored.
fn check_security_attributes(attrs: &Map<String, Value>) -> Result<(), AdminError> {
    match attrs.get(PKCE_METHOD_ATTRIBUTE) {
        None | Some(Value::Null) => {}
        Some(Value::String(m)) if m.is_empty() || ChallengeMethod::parse(m).is_some() => {}
        Some(other) => {
            return Err(AdminError::bad_request(format!(
                "attribute `{PKCE_METHOD_ATTRIBUTE}` must be \"S256\", \"plain\" or empty, not {other}"
            )));
        }
    }
    for unsupported in [
        "dpop.bound.access.tokens",
        "tls.client.certificate.bound.access.tokens",
        "require.pushed.authorization.requests",
    ] {
        if rep::bool_field(attrs, unsupported)? == Some(true) {
            return Err(AdminError::bad_request(format!("attribute `{unsupported}` is not supported")));
        }
    }
    // Lifetimes of one client: the realm's apply to every client.
    for lifetime in [
        "access.token.lifespan",
        "client.session.idle.timeout",
        "client.session.max.lifespan",
        "client.offline.session.idle.timeout",
        "client.offline.session.max.lifespan",
    ] {
        if attrs.get(lifetime).is_some_and(|v| !v.is_null() && v.as_str() != Some("")) {
            return Err(AdminError::bad_request(format!(
                "attribute `{lifetime}` is not supported: the realm's lifetimes apply to every client"
            )));
        }
    }
    Ok(())
}
