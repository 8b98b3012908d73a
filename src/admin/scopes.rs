//! Client scopes (`/client-scopes`) and the realm's default scopes for new
//! clients (`/default-default-client-scopes`, `/default-optional-client-scopes`).
//! Built-in scopes have no row; they get a stable id derived from the realm.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::kinds;
use super::realms::find_realm;
use super::rep::{self, Body, Query};
use super::{Admin, AdminError, Need, both, change_cached};
use crate::domain::scope::{BUILT_IN_SCOPES, validate_scope_name};
use crate::state::AppState;
use crate::storage::repo::{clients, realms, roles, scopes};
use crate::storage::{DbConnection, StorageError, json_list, new_id, to_json_list};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(both("/realms/{realm}/client-scopes")).get(list).post(create))
        .service(web::resource(both("/realms/{realm}/client-scopes/{id}")).get(get).put(update).delete(delete))
        .service(web::resource(both("/realms/{realm}/default-default-client-scopes")).get(list_defaults))
        .service(
            web::resource(both("/realms/{realm}/default-default-client-scopes/{id}"))
                .put(add_default)
                .delete(remove_default),
        )
        .service(web::resource(both("/realms/{realm}/default-optional-client-scopes")).get(list_optional))
        .service(
            web::resource(both("/realms/{realm}/default-optional-client-scopes/{id}"))
                .put(add_optional)
                .delete(remove_optional),
        );
}

/// Realm fields (kept in its opaque attributes) naming the scopes new clients get.
pub const DEFAULT_DEFAULTS: &str = "defaultDefaultClientScopes";
pub const DEFAULT_OPTIONALS: &str = "defaultOptionalClientScopes";
/// Until an admin sets them: what Keycloak gives new clients, in realmgate's terms.
const INITIAL_DEFAULTS: [&str; 2] = ["profile", "email"];

/// One scope of a realm, built-in or custom.
#[derive(Debug, Clone)]
pub struct ScopeEntry {
    pub id: String,
    pub name: String,
    pub description: String,
    pub implies: Vec<String>,
    pub built_in: bool,
    /// The unmodelled part of its representation, as stored.
    pub opaque: Map<String, Value>,
}

/// Representation fields the scope's row models; the rest is kept opaque.
const MODELLED: [&str; 5] = ["id", "name", "description", "protocol", "attributes"];
/// Attributes computed from the model on every read, never stored.
const COMPUTED_ATTRIBUTES: [&str; 2] = ["realmgate.implies", "realmgate.builtIn"];

/// What a representation carries beyond the model, to store.
fn opaque_of(map: &Map<String, Value>) -> String {
    let mut kept = rep::opaque(map, &MODELLED);
    if let Some(Value::Object(attributes)) = map.get("attributes") {
        let foreign: Map<String, Value> = attributes
            .iter()
            .filter(|(k, _)| !COMPUTED_ATTRIBUTES.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        kept.insert("attributes".into(), Value::Object(foreign));
    }
    Value::Object(kept).to_string()
}

/// A stable UUID-shaped id for something without a row, from its realm and name.
pub fn derived_id(realm_id: &str, kind: &str, name: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{realm_id}/{kind}/{name}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

pub async fn catalog(state: &AppState, realm_id: &str) -> Result<Vec<ScopeEntry>, AdminError> {
    let id = realm_id.to_owned();
    let rows = state.db.run(move |conn| scopes::list_by_realm(conn, &id)).await?;
    let mut out: Vec<ScopeEntry> = BUILT_IN_SCOPES
        .iter()
        .map(|(name, description)| ScopeEntry {
            id: derived_id(realm_id, "scope", name),
            name: (*name).to_owned(),
            description: (*description).to_owned(),
            implies: Vec::new(),
            built_in: true,
            opaque: Map::new(),
        })
        .collect();
    for row in rows {
        out.push(entry_of(row)?);
    }
    Ok(out)
}

/// The catalog entry of a stored (not built-in) scope.
fn entry_of(row: scopes::ScopeRow) -> Result<ScopeEntry, StorageError> {
    Ok(ScopeEntry {
        opaque: rep::stored_object(&row.attributes),
        implies: json_list(&row.implies)?,
        id: row.id,
        name: row.name,
        description: row.description,
        built_in: false,
    })
}

pub fn brief(scope: &ScopeEntry) -> Value {
    json!({ "id": scope.id, "name": scope.name })
}

fn to_rep(scope: &ScopeEntry) -> Value {
    let mut out = scope.opaque.clone();
    let mut attributes = match out.remove("attributes") {
        Some(Value::Object(stored)) => stored,
        _ => Map::new(),
    };
    // No default `consent.screen.text`: declarative tools that send "" for
    // it would otherwise read back the description and see a change forever.
    for key in ["include.in.token.scope", "display.on.consent.screen"] {
        attributes.entry(key).or_insert_with(|| "true".into());
    }
    attributes.insert("realmgate.implies".into(), scope.implies.join(" ").into());
    attributes.insert("realmgate.builtIn".into(), scope.built_in.to_string().into());
    out.insert("id".into(), scope.id.clone().into());
    out.insert("name".into(), scope.name.clone().into());
    out.insert("description".into(), scope.description.clone().into());
    out.insert("protocol".into(), "openid-connect".into());
    out.insert("attributes".into(), Value::Object(attributes));
    Value::Object(out)
}

async fn find(state: &AppState, realm_id: &str, id: &str) -> Result<ScopeEntry, AdminError> {
    catalog(state, realm_id)
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| AdminError::not_found("Client scope"))
}

#[utoipa::path(get, path = "/admin/realms/{realm}/client-scopes", operation_id = "list_client_scopes",
    tag = "client-scopes", summary = "The realm's client scopes, built-in ones included",
    params(crate::openapi::RealmPath, crate::openapi::Paging),
    responses((status = 200, description = "The scopes", body = [crate::openapi::ClientScopeRepresentation]),
        crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    admin.require(&path, Need::ViewClients)?;
    let page = Query::from(&req)?.page(None)?;
    let realm = find_realm(&state, &path).await?;
    let all: Vec<Value> = catalog(&state, &realm.id).await?.iter().map(to_rep).collect();
    Ok(rep::ok_json(page.apply(all)))
}

#[utoipa::path(get, path = "/admin/realms/{realm}/client-scopes/{id}", operation_id = "get_client_scope",
    tag = "client-scopes", summary = "A client scope",
    params(crate::openapi::ScopePath),
    responses((status = 200, description = "The scope", body = crate::openapi::ClientScopeRepresentation),
        crate::openapi::AdminErrors))]
async fn get(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (realm, id) = path.into_inner();
    admin.require(&realm, Need::ViewClients)?;
    let realm = find_realm(&state, &realm).await?;
    Ok(rep::ok_json(to_rep(&find(&state, &realm.id, &id).await?)))
}

/// Name, description and `implies` from a representation.
fn fields(map: &Map<String, Value>, known: &[ScopeEntry]) -> Result<(String, String, Vec<String>), AdminError> {
    let name = rep::str_field(map, "name")?.ok_or_else(|| AdminError::bad_request("`name` is required"))?.to_owned();
    validate_scope_name(&name).map_err(|e| AdminError::bad_request(e.0))?;
    let description = rep::str_field(map, "description")?.unwrap_or_default().to_owned();
    let implies: Vec<String> = match rep::attributes(map)?.get("realmgate.implies") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(_) => {
            return Err(AdminError::bad_request("attributes[\"realmgate.implies\"] must be a string of scope names"));
        }
    };
    for implied in &implies {
        if !known.iter().any(|s| &s.name == implied) && implied != &name {
            return Err(AdminError::bad_request(format!("implied scope `{implied}` is not defined in this realm")));
        }
    }
    Ok((name, description, implies))
}

#[utoipa::path(post, path = "/admin/realms/{realm}/client-scopes", operation_id = "create_client_scope",
    tag = "client-scopes", summary = "Creates a client scope",
    params(crate::openapi::RealmPath), request_body = crate::openapi::ClientScopeRepresentation,
    responses(crate::openapi::Created, crate::openapi::Invalid, crate::openapi::Exists, crate::openapi::AdminErrors))]
async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AdminError> {
    let map = Body::read(payload).await?.object()?;
    let id = create_scope(&state, &admin, &path, map).await?;
    Ok(rep::created(&state.public_url, &req, &id))
}

/// Scopes of another protocol (SAML's) are refused, as clients of one are:
/// realmgate speaks OpenID Connect only.
fn check_protocol(map: &Map<String, Value>) -> Result<(), AdminError> {
    match map.get("protocol").filter(|v| !v.is_null()) {
        Some(value) if value.as_str() != Some("openid-connect") => {
            Err(AdminError::bad_request(format!("`protocol` {value} is not supported (only \"openid-connect\")")))
        }
        _ => Ok(()),
    }
}

/// Creates a client scope; returns its id.
pub(crate) async fn create_scope(
    state: &AppState,
    admin: &Admin,
    realm_name: &str,
    mut map: Map<String, Value>,
) -> Result<String, AdminError> {
    rep::keycloak_attributes(&mut map, false);
    rep::drop_empty_attributes(&mut map);
    admin.require(realm_name, Need::ManageClients)?;
    kinds::coerce(&mut map, kinds::CLIENT_SCOPE)?;
    check_protocol(&map)?;
    let realm = find_realm(state, realm_name).await?;
    let known = catalog(state, &realm.id).await?;
    let (name, description, implies) = fields(&map, &known)?;
    rep::check_new_attributes(&rep::attributes(&map)?, None)?;
    if known.iter().any(|s| s.name == name) {
        return Err(AdminError::conflict(format!("Client Scope {name}")));
    }
    let row = scopes::ScopeRow {
        id: new_id(),
        realm_id: realm.id.clone(),
        name,
        description,
        implies: to_json_list(&implies),
        attributes: opaque_of(&map),
    };
    let (id, conflict) = (row.id.clone(), format!("Client Scope {}", row.name));
    change_cached(state, &realm.name, Some(conflict), move |conn| scopes::insert(conn, &row)).await?;
    Ok(id)
}

#[utoipa::path(put, path = "/admin/realms/{realm}/client-scopes/{id}", operation_id = "update_client_scope",
    tag = "client-scopes", summary = "Changes a client scope (not a built-in one; not its name)",
    params(crate::openapi::ScopePath), request_body = Option<crate::openapi::ClientScopeRepresentation>,
    responses((status = 204, description = "Done"), crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn update(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id) = path.into_inner();
    let changes = Body::read(payload).await?.object()?;
    update_scope(&state, &admin, &realm_name, id, changes).await?;
    Ok(rep::no_content())
}

/// Merges `changes` into a client scope (its description and `implies`).
pub(crate) async fn update_scope(
    state: &AppState,
    admin: &Admin,
    realm_name: &str,
    id: String,
    mut changes: Map<String, Value>,
) -> Result<(), AdminError> {
    rep::keycloak_attributes(&mut changes, false);
    admin.require(realm_name, Need::ManageClients)?;
    kinds::coerce(&mut changes, kinds::CLIENT_SCOPE)?;
    check_protocol(&changes)?;
    let realm = find_realm(state, realm_name).await?;
    let known = catalog(state, &realm.id).await?;
    let current = known.iter().find(|s| s.id == id).ok_or_else(|| AdminError::not_found("Client scope"))?;
    if current.built_in {
        // What GET gave, sent back as it is (Terraform, the admin clients
        // and the console do that), changes nothing and is taken.
        let Value::Object(current_rep) = to_rep(current) else { unreachable!("a scope representation is an object") };
        // (Compared as merged, which drops empty attributes either way.)
        let unchanged = rep::merge_with_attributes(current_rep.clone(), current_rep.clone())?;
        if rep::merge_with_attributes(current_rep, changes)? == unchanged {
            return Ok(());
        }
        return Err(AdminError::bad_request("Built-in scopes cannot be changed"));
    }
    // Checked here first (a bad body is 400 before any write), then merged
    // again into the scope as stored once the configuration transaction runs
    // (its first write puts such changes one after the other), so that
    // changes made at once add up.
    merged_scope(current, &realm.id, changes.clone(), &known)?;
    let realm_id = realm.id.clone();
    change_cached(state, &realm.name, None, move |conn| {
        let Some(stored) = scopes::find_by_id(conn, &realm_id, &id)? else {
            return Ok(Err(AdminError::not_found("Client scope")));
        };
        match merged_scope(&entry_of(stored)?, &realm_id, changes, &known) {
            Ok(updated) => scopes::update(conn, &updated).map(Ok),
            Err(error) => Ok(Err(error)),
        }
    })
    .await?
}

/// A stored scope with `changes` merged into its representation.
fn merged_scope(
    current: &ScopeEntry,
    realm_id: &str,
    changes: Map<String, Value>,
    known: &[ScopeEntry],
) -> Result<scopes::ScopeRow, AdminError> {
    let Value::Object(current_rep) = to_rep(current) else { unreachable!("a scope representation is an object") };
    let merged = rep::merge_with_attributes(current_rep, changes)?;
    let (name, description, implies) = fields(&merged, known)?;
    if name != current.name {
        return Err(AdminError::bad_request("Renaming a scope is not supported"));
    }
    Ok(scopes::ScopeRow {
        id: current.id.clone(),
        realm_id: realm_id.to_owned(),
        name,
        description,
        implies: to_json_list(&implies),
        attributes: opaque_of(&merged),
    })
}

#[utoipa::path(delete, path = "/admin/realms/{realm}/client-scopes/{id}", operation_id = "delete_client_scope",
    tag = "client-scopes", summary = "Deletes a client scope (not a built-in one)",
    params(crate::openapi::ScopePath),
    responses((status = 204, description = "Done"), crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn delete(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id) = path.into_inner();
    delete_scope(&state, &admin, &realm_name, &id).await?;
    Ok(rep::no_content())
}

pub(crate) async fn delete_scope(
    state: &AppState,
    admin: &Admin,
    realm_name: &str,
    id: &str,
) -> Result<(), AdminError> {
    admin.require(realm_name, Need::ManageClients)?;
    let realm = find_realm(state, realm_name).await?;
    let scope = find(state, &realm.id, id).await?;
    if scope.built_in {
        return Err(AdminError::bad_request("Built-in scopes cannot be deleted"));
    }
    let realm_name = realm.name.clone();
    change_cached(state, &realm_name, None, move |conn| {
        forget_scope(conn, &realm, &scope.name)?;
        scopes::delete(conn, &scope.id)
    })
    .await?;
    Ok(())
}

/// Takes a deleted scope's name out of every list that names it, as
/// Keycloak removes a client scope's mappings with it: clients' default and
/// optional scopes, other scopes' `implies`, roles' scopes and the realm's
/// default lists. Otherwise a representation read and sent back unchanged,
/// or an export applied again, would name a scope that no longer exists.
fn forget_scope(conn: &mut DbConnection, realm: &realms::RealmRow, name: &str) -> Result<(), StorageError> {
    let without = |list: &str| -> Result<Option<String>, StorageError> {
        let names = json_list(list)?;
        Ok(names
            .iter()
            .any(|n| n == name)
            .then(|| to_json_list(&names.iter().filter(|n| *n != name).collect::<Vec<_>>())))
    };
    let unnamed = |attributes: &str, keys: &[&str]| -> Option<String> {
        let mut map = rep::stored_object(attributes);
        let mut changed = false;
        for key in keys {
            if let Some(Value::Array(items)) = map.get_mut(*key) {
                let before = items.len();
                items.retain(|v| v.as_str() != Some(name));
                changed |= items.len() != before;
            }
        }
        changed.then(|| Value::Object(map).to_string())
    };
    for mut client in clients::list_by_realm(conn, &realm.id)? {
        let scopes = without(&client.scopes)?;
        let attributes = unnamed(&client.attributes, &["optionalClientScopes"]);
        if scopes.is_some() || attributes.is_some() {
            client.scopes = scopes.unwrap_or(client.scopes);
            client.attributes = attributes.unwrap_or(client.attributes);
            clients::update(conn, &client)?;
        }
    }
    for mut other in scopes::list_by_realm(conn, &realm.id)? {
        if let Some(implies) = without(&other.implies)? {
            other.implies = implies;
            scopes::update(conn, &other)?;
        }
    }
    for mut role in roles::list_by_realm(conn, &realm.id)? {
        if let Some(kept) = without(&role.scopes)? {
            role.scopes = kept;
            roles::update(conn, &role)?;
        }
    }
    if let Some(mut current) = realms::find_by_name(conn, &realm.name)?
        && let Some(attributes) = unnamed(&current.attributes, &[DEFAULT_DEFAULTS, DEFAULT_OPTIONALS])
    {
        current.attributes = attributes;
        realms::update(conn, &current)?;
    }
    Ok(())
}

/// The names in one of the realm's default-scope lists.
pub fn realm_defaults(realm: &realms::RealmRow, field: &str) -> Vec<String> {
    defaults_in(&rep::stored_object(&realm.attributes), field)
}

/// A default scope list in a realm's stored attributes.
fn defaults_in(attributes: &Map<String, Value>, field: &str) -> Vec<String> {
    match attributes.get(field) {
        Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ if field == DEFAULT_DEFAULTS => INITIAL_DEFAULTS.iter().map(|s| (*s).to_owned()).collect(),
        _ => Vec::new(),
    }
}

async fn list_field(
    state: &AppState,
    admin: &Admin,
    req: &HttpRequest,
    realm_name: &str,
    field: &str,
) -> Result<HttpResponse, AdminError> {
    let page = Query::from(req)?.page(None)?;
    admin.require(realm_name, Need::ViewClients)?;
    let realm = find_realm(state, realm_name).await?;
    let names = realm_defaults(&realm, field);
    let all = catalog(state, &realm.id).await?;
    Ok(rep::ok_json(page.apply(all.iter().filter(|s| names.contains(&s.name)).map(brief).collect())))
}

async fn change_field(
    state: &AppState,
    admin: &Admin,
    realm_name: &str,
    id: &str,
    field: &'static str,
    add: bool,
) -> Result<HttpResponse, AdminError> {
    admin.require(realm_name, Need::ManageRealm)?;
    let realm = find_realm(state, realm_name).await?;
    let scope = find(state, &realm.id, id).await?;
    let change = move |stored: &str| {
        let mut attributes = rep::stored_object(stored);
        let mut names = defaults_in(&attributes, field);
        names.retain(|n| n != &scope.name);
        if add {
            // A scope is a default or an optional one, never both: adding
            // it to one list moves it out of the other.
            let other = if field == DEFAULT_DEFAULTS { DEFAULT_OPTIONALS } else { DEFAULT_DEFAULTS };
            let mut others = defaults_in(&attributes, other);
            if others.contains(&scope.name) {
                others.retain(|n| n != &scope.name);
                attributes.insert(other.into(), json!(others));
            }
            names.push(scope.name);
        }
        attributes.insert(field.into(), json!(names));
        Value::Object(attributes).to_string()
    };
    // As every configuration change, after the lock change_cached takes first.
    change_cached(state, &realm.name, None, move |conn| realms::change_attributes(conn, &realm.id, change)).await?;
    Ok(rep::no_content())
}

#[utoipa::path(get, path = "/admin/realms/{realm}/default-default-client-scopes",
    operation_id = "list_realm_default_client_scopes", tag = "client-scopes",
    summary = "The default client scopes new clients get",
    params(crate::openapi::RealmPath),
    responses((status = 200, description = "The scopes", body = [crate::openapi::ClientScopeReference]),
        crate::openapi::AdminErrors))]
async fn list_defaults(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    list_field(&state, &admin, &req, &path, DEFAULT_DEFAULTS).await
}

#[utoipa::path(get, path = "/admin/realms/{realm}/default-optional-client-scopes",
    operation_id = "list_realm_optional_client_scopes", tag = "client-scopes",
    summary = "The optional client scopes new clients get",
    params(crate::openapi::RealmPath),
    responses((status = 200, description = "The scopes", body = [crate::openapi::ClientScopeReference]),
        crate::openapi::AdminErrors))]
async fn list_optional(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    list_field(&state, &admin, &req, &path, DEFAULT_OPTIONALS).await
}

#[utoipa::path(put, path = "/admin/realms/{realm}/default-default-client-scopes/{id}",
    operation_id = "add_realm_default_client_scope", tag = "client-scopes",
    summary = "Adds a client scope to those new clients get as default",
    params(crate::openapi::ScopePath),
    responses((status = 204, description = "Done"), crate::openapi::AdminErrors))]
async fn add_default(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    change_field(&state, &admin, &path.0, &path.1, DEFAULT_DEFAULTS, true).await
}

#[utoipa::path(delete, path = "/admin/realms/{realm}/default-default-client-scopes/{id}",
    operation_id = "remove_realm_default_client_scope", tag = "client-scopes",
    summary = "Removes a client scope from those new clients get as default",
    params(crate::openapi::ScopePath),
    responses((status = 204, description = "Done"), crate::openapi::AdminErrors))]
async fn remove_default(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    change_field(&state, &admin, &path.0, &path.1, DEFAULT_DEFAULTS, false).await
}

#[utoipa::path(put, path = "/admin/realms/{realm}/default-optional-client-scopes/{id}",
    operation_id = "add_realm_optional_client_scope", tag = "client-scopes",
    summary = "Adds a client scope to those new clients get as optional",
    params(crate::openapi::ScopePath),
    responses((status = 204, description = "Done"), crate::openapi::AdminErrors))]
async fn add_optional(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    change_field(&state, &admin, &path.0, &path.1, DEFAULT_OPTIONALS, true).await
}

#[utoipa::path(delete, path = "/admin/realms/{realm}/default-optional-client-scopes/{id}",
    operation_id = "remove_realm_optional_client_scope", tag = "client-scopes",
    summary = "Removes a client scope from those new clients get as optional",
    params(crate::openapi::ScopePath),
    responses((status = 204, description = "Done"), crate::openapi::AdminErrors))]
async fn remove_optional(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    change_field(&state, &admin, &path.0, &path.1, DEFAULT_OPTIONALS, false).await
}

/// Whether `name` is a scope of the realm (the catalog holds the built-in ones too).
pub fn known(catalog: &[ScopeEntry], name: &str) -> bool {
    catalog.iter().any(|s| s.name == name)
}
