//! Realms (`/admin/realms[/{realm}]`), their keys, and `/admin/serverinfo`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use serde_json::{Map, Value, json};

use super::kinds;
use super::realm_import;
use super::rep::{self, Body, Query};
use super::scopes::{self as scope_admin, DEFAULT_DEFAULTS, DEFAULT_OPTIONALS};
use super::{Admin, AdminError, Need, both, change_cached};
use crate::domain::realm::{MAX_LIFETIME_SECS, RealmName, RealmSettings, SigningAlgorithm};
use crate::domain::text::validate_name;
use crate::services::realm_cache::RealmEntry;
use crate::services::realms::{MASTER_REALM, create_realm, rotate_realm_key, update_realm};
use crate::state::AppState;
use crate::storage::StorageError;
use crate::storage::repo::{keys, meta, realms};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(both("/realms")).get(list).post(create))
        .service(web::resource(both("/realms/{realm}")).get(get).put(update).delete(delete))
        .service(web::resource(both("/realms/{realm}/keys")).get(list_keys));
}

#[utoipa::path(get, path = "/admin/serverinfo", operation_id = "get_server_info", tag = "serverinfo",
    summary = "Server information: the Keycloak version realmgate answers as",
    responses((status = 200, description = "Server information", body = crate::openapi::ServerInfoRepresentation),
        crate::openapi::Unauthenticated, crate::openapi::Denied))]
pub async fn server_info(admin: Admin) -> Result<HttpResponse, AdminError> {
    // As Keycloak: for administrators of some realm, not for every token.
    admin.require(&admin.realm, Need::AnyRole)?;
    Ok(rep::ok_json(json!({
        "systemInfo": { "version": "26.0.0", "serverTime": chrono::Utc::now().to_rfc3339(), "realmgateVersion": env!("CARGO_PKG_VERSION") },
        "features": [],
        "profileInfo": { "name": "community", "disabledFeatures": [], "previewFeatures": [], "experimentalFeatures": [] },
        "themes": {},
        "providers": {},
        "protocolMapperTypes": {},
        "builtinProtocolMappers": {},
        "clientInstallations": {},
        "componentTypes": {},
        "passwordPolicies": [],
        "enums": {},
    })))
}

/// Fields of a realm representation that map onto realmgate's model; the
/// rest are kept opaque in the realm's `attributes` column.
const MODELLED: [&str; 13] = [
    "id",
    "realm",
    "displayName",
    "enabled",
    "accessTokenLifespan",
    "accessCodeLifespan",
    "ssoSessionIdleTimeout",
    "ssoSessionMaxLifespan",
    "oauth2DeviceCodeLifespan",
    "oauth2DevicePollingInterval",
    "defaultSignatureAlgorithm",
    "revokeRefreshToken",
    "attributes",
];

/// realmgate settings with no Keycloak field travel in `attributes`.
pub const ID_TOKEN: &str = "realmgate.idTokenLifespan";
pub const REFRESH_TOKEN: &str = "realmgate.refreshTokenLifespan";
pub const REUSE_GRACE: &str = "realmgate.refreshTokenReuseGrace";
pub const QUERY_TOKENS: &str = "realmgate.queryTokens";
pub const BASIC_AUTH: &str = "realmgate.basicAuth";

pub fn to_rep(row: &realms::RealmRow) -> Map<String, Value> {
    let mut out = rep::stored_object(&row.attributes);
    let mut attributes = match out.remove("attributes") {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    attributes.insert(ID_TOKEN.into(), row.id_token_lifetime.to_string().into());
    attributes.insert(REFRESH_TOKEN.into(), row.refresh_token_lifetime.to_string().into());
    attributes.insert(REUSE_GRACE.into(), row.refresh_token_reuse_grace.to_string().into());
    attributes.insert(QUERY_TOKENS.into(), row.query_tokens.to_string().into());
    attributes.insert(BASIC_AUTH.into(), row.basic_auth.to_string().into());
    // Keycloak's representation holds these as Java ints: longer (up to
    // 100 years) reads as 2³¹−1 s, 68 years, so its typed clients can read it.
    let int = |seconds: i64| seconds.min(i64::from(i32::MAX));
    let modelled = json!({
        "id": row.id,
        "realm": row.name,
        "displayName": row.display_name,
        "enabled": row.enabled,
        "accessTokenLifespan": int(row.access_token_lifetime),
        "accessCodeLifespan": int(row.auth_code_lifetime),
        "ssoSessionIdleTimeout": int(row.sso_session_idle),
        "ssoSessionMaxLifespan": int(row.sso_session_max),
        "oauth2DeviceCodeLifespan": int(row.device_code_lifetime),
        "oauth2DevicePollingInterval": int(row.device_poll_interval),
        "defaultSignatureAlgorithm": row.signing_algorithm,
        "revokeRefreshToken": row.refresh_token_rotation,
        "attributes": attributes,
    });
    if let Value::Object(fields) = modelled {
        out.extend(fields);
    }
    out
}

/// Settings (and `enabled`) from a full representation, over `base`.
fn settings_from(map: &Map<String, Value>, base: RealmSettings) -> Result<(RealmSettings, Option<bool>), AdminError> {
    if rep::str_field(map, "passwordPolicy")?.is_some_and(|policy| !policy.is_empty()) {
        return Err(AdminError::bad_request("Password policies (`passwordPolicy`) are not supported"));
    }
    let mut s = base;
    let seconds = |key: &str, current: i64| -> Result<i64, AdminError> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(current),
            Some(v) => v.as_i64().filter(|n| (1..=MAX_LIFETIME_SECS).contains(n)).ok_or_else(|| {
                AdminError::bad_request(format!("`{key}` must be a positive number of seconds, at most 100 years"))
            }),
        }
    };
    s.access_token_lifetime = seconds("accessTokenLifespan", s.access_token_lifetime)?;
    s.auth_code_lifetime = seconds("accessCodeLifespan", s.auth_code_lifetime)?;
    s.sso_session_idle = seconds("ssoSessionIdleTimeout", s.sso_session_idle)?;
    s.sso_session_max = seconds("ssoSessionMaxLifespan", s.sso_session_max)?;
    s.device_code_lifetime = seconds("oauth2DeviceCodeLifespan", s.device_code_lifetime)?;
    s.device_poll_interval = seconds("oauth2DevicePollingInterval", s.device_poll_interval)?;
    // Checked when it changes: an earlier version stored any text.
    if let Some(name) = rep::str_field(map, "displayName")?.filter(|name| *name != s.display_name) {
        validate_name(name).map_err(|e| AdminError::bad_request(format!("`displayName` {e}")))?;
        s.display_name = name.to_owned();
    }
    // Terraform sends "" for "not set".
    if let Some(alg) = rep::str_field(map, "defaultSignatureAlgorithm")?.filter(|a| !a.is_empty()) {
        s.signing_algorithm = alg.parse::<SigningAlgorithm>().map_err(|e| AdminError::bad_request(e.0))?;
    }
    if let Some(rotate) = rep::bool_field(map, "revokeRefreshToken")? {
        s.refresh_token_rotation = rotate;
    }
    let attrs = &rep::attributes(map)?;
    let number = |key: &str, current: i64, least: i64| -> Result<i64, AdminError> {
        match attrs.get(key) {
            None | Some(Value::Null) => Ok(current),
            Some(v) => v
                .as_str()
                .and_then(|t| t.parse().ok())
                .or_else(|| v.as_i64())
                .filter(|n| (least..=MAX_LIFETIME_SECS).contains(n))
                .ok_or_else(|| {
                    AdminError::bad_request(format!("attribute `{key}` must be a number of seconds, at most 100 years"))
                }),
        }
    };
    let flag = |key: &str, current: bool| Ok::<_, AdminError>(rep::bool_field(attrs, key)?.unwrap_or(current));
    s.id_token_lifetime = number(ID_TOKEN, s.id_token_lifetime, 1)?;
    s.refresh_token_lifetime = number(REFRESH_TOKEN, s.refresh_token_lifetime, 1)?;
    s.refresh_token_reuse_grace = number(REUSE_GRACE, s.refresh_token_reuse_grace, 0)?;
    s.query_tokens = flag(QUERY_TOKENS, s.query_tokens)?;
    s.basic_auth = flag(BASIC_AUTH, s.basic_auth)?;
    let enabled = rep::bool_field(map, "enabled")?;
    Ok((s, enabled))
}

/// Refuses contents in a change to a realm: only `POST /admin/realms`
/// imports them (keeping them opaque would store, and show to every
/// reader, the passwords and secrets inside).
fn check_contents(map: &Map<String, Value>) -> Result<(), AdminError> {
    let carried: Vec<&str> = realm_import::CONTENTS
        .iter()
        .copied()
        .filter(|key| match map.get(*key) {
            None | Some(Value::Null) => false,
            Some(Value::Array(items)) => !items.is_empty(),
            Some(Value::Object(fields)) => !fields.is_empty(),
            Some(_) => true,
        })
        .collect();
    if carried.is_empty() {
        return Ok(());
    }
    Err(AdminError::bad_request(format!(
        "A change to a realm does not import {}; create them through their own endpoints",
        carried.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
    )))
}

/// What is stored opaquely: unmodelled fields, and `attributes` minus realmgate's own.
fn opaque_of(map: &Map<String, Value>) -> String {
    let mut kept = rep::opaque(map, &MODELLED);
    // Empty content lists (a GET sent back): not the realm's contents, so
    // never stored to be read back as if the realm had none.
    for key in realm_import::CONTENTS {
        kept.remove(key);
    }
    if let Some(Value::Object(smtp)) = kept.get_mut("smtpServer")
        && smtp.get("password").is_some_and(|p| p.as_str().is_some_and(|p| !p.is_empty()))
    {
        // The password itself is not kept (realmgate sends no mail).
        smtp.insert("password".into(), rep::MASKED_SECRET.into());
    }
    if let Some(Value::Object(attrs)) = map.get("attributes") {
        let foreign: Map<String, Value> =
            attrs.iter().filter(|(k, _)| !k.starts_with("realmgate.")).map(|(k, v)| (k.clone(), v.clone())).collect();
        kept.insert("attributes".into(), Value::Object(foreign));
    }
    Value::Object(kept).to_string()
}

pub async fn find_realm(state: &AppState, name: &str) -> Result<realms::RealmRow, AdminError> {
    let lookup = name.to_owned();
    state.db.run(move |conn| realms::find_by_name(conn, &lookup)).await?.ok_or_else(|| AdminError::not_found("Realm"))
}

/// The realm as the protocol endpoints see it (keys, clients, settings).
pub async fn cached_realm(state: &AppState, name: &str) -> Result<Arc<RealmEntry>, AdminError> {
    state.cache.get(name).await?.ok_or_else(|| AdminError::not_found("Realm"))
}

#[utoipa::path(get, path = "/admin/realms", operation_id = "list_realms", tag = "realms",
    summary = "The realms the caller may manage",
    params(crate::openapi::Paging),
    responses((status = 200, description = "The realms", body = [crate::openapi::RealmRepresentation]),
        crate::openapi::Invalid, crate::openapi::Unauthenticated))]
async fn list(state: web::Data<AppState>, admin: Admin, req: HttpRequest) -> Result<HttpResponse, AdminError> {
    let page = Query::from(&req)?.page(None)?;
    let all = state.db.run(realms::list).await?;
    let visible: Vec<_> =
        all.iter().filter(|r| admin.may(&r.name, Need::AnyRole)).map(|r| shown_to(&admin, r)).collect();
    // Keycloak's answer to a caller who may see no realm at all.
    if visible.is_empty() {
        return Err(AdminError::Forbidden);
    }
    Ok(rep::ok_json(page.apply(visible)))
}

#[utoipa::path(get, path = "/admin/realms/{realm}", operation_id = "get_realm", tag = "realms", summary = "A realm",
    params(crate::openapi::RealmPath),
    responses((status = 200, description = "The realm", body = crate::openapi::RealmRepresentation),
        crate::openapi::AdminErrors))]
async fn get(state: web::Data<AppState>, admin: Admin, path: web::Path<String>) -> Result<HttpResponse, AdminError> {
    admin.require(&path, Need::AnyRole)?;
    Ok(rep::ok_json(shown_to(&admin, &find_realm(&state, &path).await?)))
}

/// The realm as this caller may see it: all of it with `view-realm`;
/// otherwise, as Keycloak answers one who may only list realms, its name
/// (a user administrator need not read the realm's settings).
fn shown_to(admin: &Admin, realm: &realms::RealmRow) -> Map<String, Value> {
    let mut full = to_rep(realm);
    if admin.may(&realm.name, Need::ViewRealm) {
        // The event settings in force, stored or not (typed clients read an
        // absent flag as off, while realmgate's default is on); shown, not
        // stored, so a realm never set keeps following the defaults.
        for (field, default) in crate::services::events::default_settings() {
            if full.get(field).is_none_or(Value::is_null) {
                full.insert(field.into(), default);
            }
        }
        return full;
    }
    ["id", "realm", "displayName"]
        .into_iter()
        .filter_map(|field| Some((field.to_owned(), full.get(field)?.clone())))
        .collect()
}

#[utoipa::path(post, path = "/admin/realms", operation_id = "create_realm", tag = "realms",
    summary = "Creates a realm, importing the contents of a Keycloak realm export (administrators of `master` only)",
    request_body = crate::openapi::RealmRepresentation,
    responses(crate::openapi::Created, crate::openapi::Invalid, crate::openapi::Unauthenticated, crate::openapi::Denied,
        crate::openapi::Exists))]
async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AdminError> {
    let map = Body::read(payload).await?.object()?;
    let created_name = create_realm_from(&state, &admin, map).await?;
    Ok(rep::created(&state.public_url, &req, &created_name))
}

/// Creates a realm from its representation; returns its name.
pub(crate) async fn create_realm_from(
    state: &AppState,
    admin: &Admin,
    mut map: Map<String, Value>,
) -> Result<String, AdminError> {
    rep::keycloak_attributes(&mut map, false);
    rep::drop_empty_attributes(&mut map);
    admin.require_master()?;
    kinds::coerce(&mut map, kinds::REALM)?;
    super::events::normalise_config_fields(&mut map)?;
    let raw = rep::str_field(&map, "realm")?.ok_or_else(|| AdminError::bad_request("`realm` is required"))?;
    let name = RealmName::parse(raw).map_err(|e| AdminError::bad_request(e.0))?;
    let contents = realm_import::take_contents(&mut map, name.as_str())?;
    let defaults = realm_import::take_default_lists(&mut map);
    rep::check_new_attributes(&rep::attributes(&map)?, None)?;
    let (settings, enabled) = settings_from(&map, RealmSettings::defaults(&name))?;
    let opaque = opaque_of(&map);
    // The realm and its contents are created by a task of their own, so a
    // caller hanging up cannot stop it between two steps and leave half a realm.
    let (task_state, admin, realm) = (state.clone(), admin.clone(), name.to_string());
    let created = Arc::new(AtomicBool::new(false));
    let created_here = Arc::clone(&created);
    let task = tokio::spawn(async move {
        let contents = contents.unwrap_or_default();
        let created_name = create_settings(&task_state, name, settings, enabled, opaque).await?;
        created_here.store(true, Ordering::SeqCst);
        realm_import::import(&task_state, &admin, &created_name, contents, defaults).await?;
        Ok(created_name)
    });
    match task.await {
        Ok(outcome) => outcome,
        Err(panicked) => {
            // The realm this task created (and only that) goes again.
            if created.load(Ordering::SeqCst) {
                realm_import::remove_realm(state, &realm).await;
            }
            Err(AdminError::Internal(Box::new(panicked)))
        }
    }
}

/// Creates the realm itself (its settings and keys); returns its name.
async fn create_settings(
    state: &AppState,
    name: RealmName,
    settings: RealmSettings,
    enabled: Option<bool>,
    opaque: String,
) -> Result<String, AdminError> {
    let (secret, now) = (state.secret.clone(), state.clock.now());
    let created_name = name.to_string();
    state
        .db
        .transaction(move |conn| {
            meta::lock(conn)?;
            if realms::find_by_name(conn, name.as_str())?.is_some() {
                // python-keycloak's `skip_exists` recognises exactly this wording.
                return Ok(Err(AdminError::Conflict("Conflict detected. See logs for details".into())));
            }
            let mut row = create_realm(conn, &secret, &name, &settings, now)?;
            row.enabled = enabled.unwrap_or(true);
            row.attributes = opaque;
            realms::update(conn, &row)?;
            Ok(Ok(()))
        })
        .await??;
    state.cache.invalidate(&[created_name.as_str()]);
    Ok(created_name)
}

#[utoipa::path(put, path = "/admin/realms/{realm}", operation_id = "update_realm", tag = "realms",
    summary = "Changes a realm (merged into what is stored)",
    params(crate::openapi::RealmPath), request_body = Option<crate::openapi::RealmRepresentation>,
    responses((status = 204, description = "Done"), crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn update(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AdminError> {
    let changes = Body::read(payload).await?.object()?;
    update_realm_from(&state, &admin, &path, changes).await?;
    Ok(rep::no_content())
}

/// Merges `changes` into a realm's representation (merge-on-PUT).
pub(crate) async fn update_realm_from(
    state: &AppState,
    admin: &Admin,
    name: &str,
    mut changes: Map<String, Value>,
) -> Result<(), AdminError> {
    rep::keycloak_attributes(&mut changes, false);
    admin.require(name, Need::ManageRealm)?;
    kinds::coerce(&mut changes, kinds::REALM)?;
    super::events::normalise_config_fields(&mut changes)?;
    let existing = find_realm(state, name).await?;
    if rep::str_field(&changes, "realm")?.is_some_and(|n| n != existing.name) {
        return Err(AdminError::bad_request("Renaming a realm is not supported"));
    }
    check_contents(&changes)?;
    if changes.contains_key(DEFAULT_DEFAULTS) || changes.contains_key(DEFAULT_OPTIONALS) {
        let known = scope_admin::catalog(state, &existing.id).await?;
        realm_import::check_default_lists(&mut changes, &known)?;
    }
    // Checked here first (a bad body is 400 before any write), then merged
    // again into the realm as stored, after the lock every configuration
    // change takes: a default scope added at the same moment is not undone.
    merged_realm(&existing, changes.clone())?;
    let (secret, now) = (state.secret.clone(), state.clock.now());
    state
        .db
        .transaction(move |conn| {
            meta::lock(conn)?;
            let Some(stored) = realms::find_by_name(conn, &existing.name)? else {
                return Ok(Err(AdminError::not_found("Realm")));
            };
            let (settings, enabled, opaque) = match merged_realm(&stored, changes) {
                Ok(merged) => merged,
                Err(error) => return Ok(Err(error)),
            };
            let mut row = update_realm(conn, &secret, &stored, &settings, now)?;
            row.enabled = enabled.unwrap_or(row.enabled);
            row.attributes = opaque;
            realms::update(conn, &row)?;
            Ok(Ok(()))
        })
        .await??;
    state.cache.invalidate(&[name]);
    Ok(())
}

/// A realm's settings, `enabled` and stored attributes with `changes` merged in.
fn merged_realm(
    existing: &realms::RealmRow,
    changes: Map<String, Value>,
) -> Result<(RealmSettings, Option<bool>, String), AdminError> {
    let merged = rep::merge_with_attributes(to_rep(existing), changes)?;
    let base = existing.to_domain()?.settings;
    let (settings, enabled) = settings_from(&merged, base)?;
    if enabled == Some(false) && existing.name == MASTER_REALM {
        // Every administrator signs in through it.
        return Err(AdminError::bad_request("The master realm cannot be disabled"));
    }
    Ok((settings, enabled, opaque_of(&merged)))
}

#[utoipa::path(delete, path = "/admin/realms/{realm}", operation_id = "delete_realm", tag = "realms",
    summary = "Deletes a realm and everything in it (not `master`)",
    params(crate::openapi::RealmPath),
    responses((status = 204, description = "Done"), crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn delete(state: web::Data<AppState>, admin: Admin, path: web::Path<String>) -> Result<HttpResponse, AdminError> {
    delete_realm_named(&state, &admin, &path).await?;
    Ok(rep::no_content())
}

pub(crate) async fn delete_realm_named(state: &AppState, admin: &Admin, name: &str) -> Result<(), AdminError> {
    admin.require(name, Need::ManageRealm)?;
    if name == MASTER_REALM {
        return Err(AdminError::bad_request("The master realm cannot be deleted"));
    }
    let existing = find_realm(state, name).await?;
    change_cached(state, &existing.name, None, move |conn| realms::delete(conn, &existing.id)).await?;
    Ok(())
}

#[utoipa::path(get, path = "/admin/realms/{realm}/keys", operation_id = "list_realm_keys", tag = "realms",
    summary = "The realm's published signing keys",
    params(crate::openapi::RealmPath),
    responses((status = 200, description = "The keys", body = crate::openapi::KeysMetadataRepresentation),
        crate::openapi::AdminErrors))]
async fn list_keys(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    Ok(rep::ok_json(keys_of(&state, &admin, &path).await?))
}

/// The realm's published keys as Keycloak's KeysMetadataRepresentation.
pub(crate) async fn keys_of(state: &AppState, admin: &Admin, realm_name: &str) -> Result<Value, AdminError> {
    admin.require(realm_name, Need::ViewRealm)?;
    let realm = find_realm(state, realm_name).await?;
    let now = state.clock.now();
    let rows = state.db.run(move |conn| keys::list_published(conn, &realm.id, now)).await?;
    let mut active = Map::new();
    let mut out = Vec::new();
    for row in &rows {
        let is_active = row.retired_at.is_none();
        if is_active {
            active.entry(row.algorithm.clone()).or_insert_with(|| Value::from(row.kid.clone()));
        }
        let public_der = crate::tokens::keys::public_key_der(&row.public_jwk).unwrap_or_default();
        let mut key = json!({
            "kid": row.kid,
            "type": key_type(&row.algorithm),
            "providerId": row.kid,
            "providerPriority": if is_active { 100 } else { 0 },
            "algorithm": row.algorithm,
            "status": if is_active { "ACTIVE" } else { "PASSIVE" },
            "publicKey": base64::engine::general_purpose::STANDARD.encode(public_der),
            "use": "SIG",
        });
        // Left out while the key has no end (JSON leaves out null fields).
        if let (Some(until), false) = (row.publish_until, is_active) {
            key["validTo"] = (until * 1000).into();
        }
        out.push(key);
    }
    Ok(json!({ "active": active, "keys": out }))
}

/// Rotates the realm's signing key (same algorithm); returns the new kid.
/// The old key stays published until every token it signed has expired.
pub(crate) async fn rotate_keys(state: &AppState, admin: &Admin, realm_name: &str) -> Result<String, AdminError> {
    admin.require(realm_name, Need::ManageRealm)?;
    find_realm(state, realm_name).await?;
    let (secret, now, name) = (state.secret.clone(), state.clock.now(), realm_name.to_owned());
    let kid = state
        .db
        .transaction(move |conn| rotate_realm_key(conn, &secret, &name, now).map_err(StorageError::from))
        .await?;
    state.cache.invalidate(&[realm_name]);
    Ok(kid)
}

fn key_type(algorithm: &str) -> &'static str {
    match algorithm {
        "ES256" => "EC",
        "EdDSA" => "OKP",
        _ => "RSA",
    }
}
