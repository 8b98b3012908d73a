//! Realm roles (the `realm-management` client's roles are in
//! `management_roles`; `roles-by-id` serves both, as Keycloak's does). A
//! realm role's `attributes.scopes` are the scopes its holders may be
//! granted (the realm file's `roles.scopes`); who holds which is in
//! `role_mappings`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::management_roles::ManagementRole;
use super::realms::find_realm;
use super::rep::{self, Body, Query};
use super::scopes as scope_admin;
use super::users::{AccessOf, to_rep as user_rep};
use super::{Admin, AdminError, Need, both, change_cached};
use crate::domain::role::validate_role_name;
use crate::services::realms::{MASTER_ADMIN_ROLE, MASTER_REALM};
use crate::state::AppState;
use crate::storage::repo::{realms, roles, users};
use crate::storage::{json_list, new_id, to_json_list};

pub fn routes(cfg: &mut web::ServiceConfig) {
    let r = "/realms/{realm}";
    cfg.service(web::resource(both(&format!("{r}/roles"))).get(list).post(create))
        .service(
            web::resource(both(&format!("{r}/roles/{{name}}")))
                .get(get_by_name)
                .put(update_by_name)
                .delete(delete_by_name),
        )
        .service(web::resource(both(&format!("{r}/roles/{{name}}/users"))).get(holders))
        .service(web::resource(both(&format!("{r}/roles/{{name}}/composites"))).get(composites_by_name))
        .service(web::resource(both(&format!("{r}/roles-by-id/{{id}}/composites"))).get(composites_by_id))
        .service(web::resource(both(&format!("{r}/roles/{{name}}/composites/realm"))).get(realm_composites_by_name))
        .service(web::resource(both(&format!("{r}/roles-by-id/{{id}}/composites/realm"))).get(realm_composites_by_id))
        .service(
            web::resource(both(&format!("{r}/roles-by-id/{{id}}")))
                .get(get_by_id)
                .put(update_by_id)
                .delete(delete_by_id),
        );
}

pub(super) fn to_rep(row: &roles::RoleRow) -> Result<Value, AdminError> {
    let mut attributes = rep::stored_object(&row.attributes);
    // Left out when empty: Keycloak shows a role without attributes as `{}`,
    // and Terraform would see an added `scopes` on every plan.
    let scopes = json_list(&row.scopes)?;
    if !scopes.is_empty() {
        attributes.insert("scopes".into(), json!(scopes));
    }
    Ok(json!({
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "composite": false,
        "clientRole": false,
        "containerId": row.realm_id,
        "attributes": attributes,
    }))
}

/// A role's attributes other than its scopes, to store (Keycloak's role
/// attributes: each a list of strings).
fn foreign_attributes(map: &Map<String, Value>) -> Result<String, AdminError> {
    let mut kept = rep::attributes(map)?;
    kept.remove("scopes");
    for (key, value) in &kept {
        let strings = value.as_array().is_some_and(|items| items.iter().all(Value::is_string));
        if !strings {
            return Err(AdminError::bad_request(format!("attributes.{key} must be a list of strings")));
        }
    }
    Ok(Value::Object(kept).to_string())
}

/// Composite realm roles are not modelled: refused rather than dropped.
fn refuse_composites(map: &Map<String, Value>) -> Result<(), AdminError> {
    let composite = rep::bool_field(map, "composite")? == Some(true);
    let composites = map
        .get("composites")
        .is_some_and(|c| c.as_object().is_some_and(|o| o.values().any(|v| !v.is_null() && v != &json!([]))));
    if composite || composites {
        return Err(AdminError::bad_request("Composite roles are not supported"));
    }
    Ok(())
}

pub(super) async fn realm_roles(state: &AppState, realm: &realms::RealmRow) -> Result<Vec<roles::RoleRow>, AdminError> {
    let id = realm.id.clone();
    Ok(state.db.run(move |conn| roles::list_by_realm(conn, &id)).await?)
}

/// Which role a path names: by name or by id.
pub(crate) enum RoleKey {
    Name(String),
    Id(String),
}

async fn find_role(state: &AppState, realm: &realms::RealmRow, key: &RoleKey) -> Result<roles::RoleRow, AdminError> {
    realm_roles(state, realm)
        .await?
        .into_iter()
        .find(|r| match key {
            RoleKey::Name(n) => &r.name == n,
            RoleKey::Id(i) => &r.id == i,
        })
        .ok_or_else(|| AdminError::not_found("Role"))
}

#[utoipa::path(get, path = "/admin/realms/{realm}/roles", operation_id = "list_realm_roles", tag = "roles",
    summary = "The realm's roles",
    params(crate::openapi::RealmPath, crate::openapi::RoleQuery),
    responses((status = 200, description = "The roles", body = [crate::openapi::RoleRepresentation]),
        crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    admin.require(&path, Need::AnyRole)?;
    let query = Query::from(&req)?;
    let page = query.page(None)?;
    let search = query.get("search").map(str::to_lowercase);
    let realm = find_realm(&state, &path).await?;
    let all = realm_roles(&state, &realm).await?;
    let reps = all
        .iter()
        .filter(|r| search.as_ref().is_none_or(|s| r.name.to_lowercase().contains(s)))
        .map(to_rep)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rep::ok_json(page.apply(reps)))
}

/// Description and scopes from a representation; scopes must exist.
async fn fields(
    state: &AppState,
    realm: &realms::RealmRow,
    map: &Map<String, Value>,
) -> Result<(String, Vec<String>), AdminError> {
    let catalog = scope_admin::catalog(state, &realm.id).await?;
    fields_in(&catalog, map)
}

/// Description and scopes from a representation, the scopes checked against `catalog`.
fn fields_in(
    catalog: &[scope_admin::ScopeEntry],
    map: &Map<String, Value>,
) -> Result<(String, Vec<String>), AdminError> {
    let description = rep::str_field(map, "description")?.unwrap_or_default().to_owned();
    let scopes: Vec<String> = match rep::attributes(map)?.get("scopes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| AdminError::bad_request("attributes.scopes must be scope names"))?,
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(_) => return Err(AdminError::bad_request("attributes.scopes must be scope names")),
    };
    if let Some(unknown) = scopes.iter().find(|s| !scope_admin::known(catalog, s)) {
        return Err(AdminError::bad_request(format!("attributes.scopes: `{unknown}` is not a scope of this realm")));
    }
    Ok((description, scopes))
}

async fn insert(state: &AppState, realm: &realms::RealmRow, row: roles::RoleRow) -> Result<(), AdminError> {
    let conflict = format!("Role with name {}", row.name);
    change_cached(state, &realm.name, Some(conflict), move |conn| roles::insert(conn, &row)).await
}

#[utoipa::path(post, path = "/admin/realms/{realm}/roles", operation_id = "create_realm_role", tag = "roles",
    summary = "Creates a realm role",
    params(crate::openapi::RealmPath), request_body = crate::openapi::RoleRepresentation,
    responses(crate::openapi::Created, crate::openapi::Invalid, crate::openapi::Exists, crate::openapi::AdminErrors))]
async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AdminError> {
    let map = Body::read(payload).await?.object()?;
    let name = create_role(&state, &admin, &path, map).await?;
    Ok(rep::created(&state.public_url, &req, &name))
}

/// Creates a realm role; returns its name.
pub(crate) async fn create_role(
    state: &AppState,
    admin: &Admin,
    realm_name: &str,
    mut map: Map<String, Value>,
) -> Result<String, AdminError> {
    rep::keycloak_attributes(&mut map, false);
    rep::drop_empty_attributes(&mut map);
    admin.require(realm_name, Need::ManageRealm)?;
    let name = rep::str_field(&map, "name")?
        .filter(|n| !n.is_empty())
        .ok_or_else(|| AdminError::bad_request("`name` is required"))?;
    validate_role_name(name).map_err(|e| AdminError::bad_request(format!("`name` {e}")))?;
    let realm = find_realm(state, realm_name).await?;
    refuse_composites(&map)?;
    let (description, scopes) = fields(state, &realm, &map).await?;
    let row = roles::RoleRow {
        id: new_id(),
        realm_id: realm.id.clone(),
        name: name.to_owned(),
        description,
        scopes: to_json_list(&scopes),
        attributes: foreign_attributes(&map)?,
    };
    let name = row.name.clone();
    insert(state, &realm, row).await?;
    Ok(name)
}

async fn get_role(state: &AppState, admin: &Admin, realm_name: &str, key: RoleKey) -> Result<HttpResponse, AdminError> {
    admin.require(realm_name, Need::AnyRole)?;
    let realm = find_realm(state, realm_name).await?;
    Ok(rep::ok_json(to_rep(&find_role(state, &realm, &key).await?)?))
}

async fn update_role(
    state: &AppState,
    admin: &Admin,
    realm_name: &str,
    key: RoleKey,
    payload: web::Payload,
) -> Result<HttpResponse, AdminError> {
    let mut changes = Body::read(payload).await?.object()?;
    rep::keycloak_attributes(&mut changes, false);
    change_role(state, admin, realm_name, key, changes, SentAttributes::Replace).await?;
    Ok(rep::no_content())
}

/// What a change's `attributes` do to the role's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SentAttributes {
    /// Replace them (Keycloak's PUT), `scopes` kept unless sent.
    Replace,
    /// Set only the keys sent (the console, whose form shows only `scopes`).
    Merge,
}

/// Merges `changes` into a realm role (its description and scopes).
pub(crate) async fn change_role(
    state: &AppState,
    admin: &Admin,
    realm_name: &str,
    key: RoleKey,
    changes: Map<String, Value>,
    attributes: SentAttributes,
) -> Result<(), AdminError> {
    admin.require(realm_name, Need::ManageRealm)?;
    let realm = find_realm(state, realm_name).await?;
    let row = find_role(state, &realm, &key).await?;
    let catalog = scope_admin::catalog(state, &realm.id).await?;
    // Checked here first (a bad body is 400 before any write), then merged
    // again into the role as stored once the configuration transaction runs
    // (its first write puts such changes one after the other), so that
    // changes made at once add up.
    // The master realm's `admin` keeps its name: administration depends on it.
    let fixed_name = realm.name == MASTER_REALM && row.name == MASTER_ADMIN_ROLE;
    merged_role(&row, changes.clone(), &catalog, fixed_name, attributes)?;
    change_cached(state, &realm.name, None, move |conn| {
        let Some(stored) = roles::find_by_id(conn, &row.realm_id, &row.id)? else {
            return Ok(Err(AdminError::not_found("Role")));
        };
        let updated = match merged_role(&stored, changes, &catalog, fixed_name, attributes) {
            Ok(updated) => updated,
            Err(error) => return Ok(Err(error)),
        };
        if updated.name != stored.name
            && roles::list_by_realm(conn, &stored.realm_id)?.iter().any(|r| r.name == updated.name)
        {
            return Ok(Err(AdminError::Conflict(format!("Role with name {} already exists", updated.name))));
        }
        roles::update(conn, &updated).map(Ok)
    })
    .await?
}

/// A role with `changes` merged into its representation.
/// Sent attributes replace the role's (Keycloak), but for realmgate's own
/// `scopes`, which stay unless sent; a new `name` renames it.
fn merged_role(
    row: &roles::RoleRow,
    changes: Map<String, Value>,
    catalog: &[scope_admin::ScopeEntry],
    fixed_name: bool,
    attributes: SentAttributes,
) -> Result<roles::RoleRow, AdminError> {
    let Value::Object(current) = to_rep(row)? else { unreachable!("a role representation is an object") };
    let sent_attributes = match changes.get("attributes") {
        Some(Value::Object(sent)) if attributes == SentAttributes::Replace => Some(sent.clone()),
        _ => None,
    };
    let mut merged = rep::merge_with_attributes(current, changes)?;
    if let Some(sent) = sent_attributes {
        let kept_scopes = rep::attributes(&merged)?.remove("scopes").filter(|_| !sent.contains_key("scopes"));
        let mut replaced: Map<String, Value> =
            sent.into_iter().filter(|(_, v)| !v.is_null() && v.as_str() != Some("")).collect();
        if let Some(scopes) = kept_scopes {
            replaced.insert("scopes".into(), scopes);
        }
        merged.insert("attributes".into(), Value::Object(replaced));
    }
    let name = rep::str_field(&merged, "name")?.filter(|n| !n.is_empty()).unwrap_or(&row.name).to_owned();
    if name != row.name {
        if fixed_name {
            return Err(AdminError::bad_request("The master realm's admin role cannot be renamed"));
        }
        validate_role_name(&name).map_err(|e| AdminError::bad_request(format!("`name` {e}")))?;
    }
    refuse_composites(&merged)?;
    let (description, scopes) = fields_in(catalog, &merged)?;
    let mut updated = row.clone();
    updated.name = name;
    updated.description = description;
    updated.scopes = to_json_list(&scopes);
    updated.attributes = foreign_attributes(&merged)?;
    Ok(updated)
}

pub(crate) async fn delete_role(
    state: &AppState,
    admin: &Admin,
    realm_name: &str,
    key: RoleKey,
) -> Result<(), AdminError> {
    admin.require(realm_name, Need::ManageRealm)?;
    let realm = find_realm(state, realm_name).await?;
    let row = find_role(state, &realm, &key).await?;
    // Without it no token could ever administer every realm again.
    if realm.name == MASTER_REALM && row.name == MASTER_ADMIN_ROLE {
        return Err(AdminError::bad_request("The master realm's admin role cannot be deleted"));
    }
    change_cached(state, &realm.name, None, move |conn| roles::delete(conn, &row.id)).await?;
    Ok(())
}

#[utoipa::path(get, path = "/admin/realms/{realm}/roles/{name}", operation_id = "get_realm_role", tag = "roles",
    summary = "A realm role, by name",
    params(crate::openapi::RoleNamePath),
    responses((status = 200, description = "The role", body = crate::openapi::RoleRepresentation),
        crate::openapi::AdminErrors))]
async fn get_by_name(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (realm, name) = path.into_inner();
    get_role(&state, &admin, &realm, RoleKey::Name(name)).await
}

#[utoipa::path(get, path = "/admin/realms/{realm}/roles-by-id/{id}", operation_id = "get_realm_role_by_id",
    tag = "roles", summary = "A role, by id: a realm role or one of the `realm-management` client's",
    params(crate::openapi::RoleIdPath),
    responses((status = 200, description = "The role", body = crate::openapi::RoleRepresentation),
        crate::openapi::AdminErrors))]
async fn get_by_id(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id) = path.into_inner();
    Ok(rep::ok_json(match role_by_id(&state, &admin, &realm_name, &id).await? {
        (realm, ById::Management(role)) => role.rep(&realm),
        (_, ById::Realm(row)) => to_rep(&row)?,
    }))
}

/// A role a `roles-by-id` path names: Keycloak serves client roles there too.
enum ById {
    Realm(roles::RoleRow),
    Management(ManagementRole),
}

/// The role `id` names in the realm, for any of its administrators.
async fn role_by_id(
    state: &AppState,
    admin: &Admin,
    realm_name: &str,
    id: &str,
) -> Result<(realms::RealmRow, ById), AdminError> {
    admin.require(realm_name, Need::AnyRole)?;
    let realm = find_realm(state, realm_name).await?;
    let role = match ManagementRole::by_id(state, &realm, id).await? {
        Some(role) => ById::Management(role),
        None => ById::Realm(find_role(state, &realm, &RoleKey::Id(id.to_owned())).await?),
    };
    Ok((realm, role))
}

/// A role's composites: none, as composite roles are not modelled (Terraform
/// reads them after every change to a role).
async fn no_composites(
    state: &AppState,
    admin: &Admin,
    realm_name: &str,
    key: RoleKey,
    req: &HttpRequest,
) -> Result<HttpResponse, AdminError> {
    admin.require(realm_name, Need::AnyRole)?;
    let realm = find_realm(state, realm_name).await?;
    find_role(state, &realm, &key).await?;
    Ok(rep::ok_json(rep::paged(req, Vec::<Value>::new())?))
}

#[utoipa::path(get, path = "/admin/realms/{realm}/roles/{name}/composites", operation_id = "list_realm_role_composites",
    tag = "roles", summary = "A realm role's composites, by name: always none",
    params(crate::openapi::RoleNamePath, crate::openapi::Paging),
    responses((status = 200, description = "An empty list", body = Vec<serde_json::Value>),
        crate::openapi::AdminErrors))]
async fn composites_by_name(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    let (realm, name) = path.into_inner();
    no_composites(&state, &admin, &realm, RoleKey::Name(name), &req).await
}

#[utoipa::path(get, path = "/admin/realms/{realm}/roles-by-id/{id}/composites",
    operation_id = "list_realm_role_composites_by_id", tag = "roles",
    summary = "A realm role's composites, by id: always none",
    params(crate::openapi::RoleIdPath, crate::openapi::Paging),
    responses((status = 200, description = "An empty list", body = Vec<serde_json::Value>),
        crate::openapi::AdminErrors))]
async fn composites_by_id(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id) = path.into_inner();
    let composites = match role_by_id(&state, &admin, &realm_name, &id).await? {
        (realm, ById::Management(role)) => role.composites(&realm),
        (_, ById::Realm(_)) => Vec::new(),
    };
    Ok(rep::ok_json(rep::paged(&req, composites)?))
}

#[utoipa::path(get, path = "/admin/realms/{realm}/roles/{name}/composites/realm",
    operation_id = "list_realm_role_realm_composites", tag = "roles",
    summary = "A realm role's realm-role composites, by name: always none",
    params(crate::openapi::RoleNamePath, crate::openapi::Paging),
    responses((status = 200, description = "An empty list", body = Vec<serde_json::Value>),
        crate::openapi::AdminErrors))]
async fn realm_composites_by_name(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    composites_by_name(state, admin, path, req).await
}

#[utoipa::path(get, path = "/admin/realms/{realm}/roles-by-id/{id}/composites/realm",
    operation_id = "list_realm_role_realm_composites_by_id", tag = "roles",
    summary = "A realm role's realm-role composites, by id: always none (keycloak-admin-client reads them)",
    params(crate::openapi::RoleIdPath, crate::openapi::Paging),
    responses((status = 200, description = "An empty list", body = Vec<serde_json::Value>),
        crate::openapi::AdminErrors))]
async fn realm_composites_by_id(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id) = path.into_inner();
    // Neither kind has realm roles among its composites.
    role_by_id(&state, &admin, &realm_name, &id).await?;
    Ok(rep::ok_json(rep::paged(&req, Vec::<Value>::new())?))
}

#[utoipa::path(put, path = "/admin/realms/{realm}/roles/{name}", operation_id = "update_realm_role", tag = "roles",
    summary = "Changes a realm role, by name (not its name)",
    params(crate::openapi::RoleNamePath), request_body = Option<crate::openapi::RoleRepresentation>,
    responses((status = 204, description = "Done"), crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn update_by_name(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, AdminError> {
    let (realm, name) = path.into_inner();
    update_role(&state, &admin, &realm, RoleKey::Name(name), payload).await
}

#[utoipa::path(put, path = "/admin/realms/{realm}/roles-by-id/{id}", operation_id = "update_realm_role_by_id",
    tag = "roles", summary = "Changes a realm role, by id (not its name)",
    params(crate::openapi::RoleIdPath), request_body = Option<crate::openapi::RoleRepresentation>,
    responses((status = 204, description = "Done"), crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn update_by_id(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, AdminError> {
    let (realm, id) = path.into_inner();
    refuse_management_role(&state, &admin, &realm, &id).await?;
    update_role(&state, &admin, &realm, RoleKey::Id(id), payload).await
}

#[utoipa::path(delete, path = "/admin/realms/{realm}/roles/{name}", operation_id = "delete_realm_role", tag = "roles",
    summary = "Deletes a realm role, by name",
    params(crate::openapi::RoleNamePath),
    responses((status = 204, description = "Done"), crate::openapi::AdminErrors))]
async fn delete_by_name(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (realm, name) = path.into_inner();
    delete_role(&state, &admin, &realm, RoleKey::Name(name)).await?;
    Ok(rep::no_content())
}

#[utoipa::path(delete, path = "/admin/realms/{realm}/roles-by-id/{id}", operation_id = "delete_realm_role_by_id",
    tag = "roles", summary = "Deletes a realm role, by id",
    params(crate::openapi::RoleIdPath),
    responses((status = 204, description = "Done"), crate::openapi::AdminErrors))]
async fn delete_by_id(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (realm, id) = path.into_inner();
    refuse_management_role(&state, &admin, &realm, &id).await?;
    delete_role(&state, &admin, &realm, RoleKey::Id(id)).await?;
    Ok(rep::no_content())
}

/// The `realm-management` roles are fixed: a change by id is refused (400)
/// rather than answered "not found".
async fn refuse_management_role(state: &AppState, admin: &Admin, realm_name: &str, id: &str) -> Result<(), AdminError> {
    admin.require(realm_name, Need::ManageRealm)?;
    let realm = find_realm(state, realm_name).await?;
    match ManagementRole::by_id(state, &realm, id).await? {
        Some(role) => {
            Err(AdminError::bad_request(format!("The realm-management role {} cannot be changed", role.name)))
        }
        None => Ok(()),
    }
}

#[utoipa::path(get, path = "/admin/realms/{realm}/roles/{name}/users", operation_id = "list_realm_role_users",
    tag = "roles", summary = "The users who hold a realm role",
    params(crate::openapi::RoleNamePath, crate::openapi::Paging),
    responses((status = 200, description = "The users", body = [crate::openapi::UserRepresentation]),
        crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn holders(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, name) = path.into_inner();
    admin.require(&realm_name, Need::QueryUsers)?;
    let page = Query::from(&req)?.page(None)?;
    let realm = find_realm(&state, &realm_name).await?;
    let role = find_role(&state, &realm, &RoleKey::Name(name)).await?;
    // Only users the caller may view, as the user search (`users::list`).
    if !admin.may(&realm_name, Need::ViewUsers) {
        return Ok(rep::ok_json(Vec::<serde_json::Value>::new()));
    }
    let (first, max) = (page.first as i64, page.max.map(|m| m as i64));
    let rows = state.db.run(move |conn| users::list_by_role(conn, &role.id, first, max)).await?;
    let access = AccessOf::load(&state, &admin, &realm).await?;
    Ok(rep::ok_json(rows.iter().map(|row| user_rep(row, access.toward(row))).collect::<Vec<_>>()))
}
