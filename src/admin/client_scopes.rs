//! A client's default and optional client scopes
//! (`/realms/{realm}/clients/{id}/default-client-scopes` and
//! `optional-client-scopes`). A scope is one or the other for a client, as
//! in Keycloak: adding it to one list takes it out of the other.
//!
//! `openid` is on every client and in neither list as shown, as in
//! Keycloak, where it is no client scope: a tool that detaches every scope
//! it does not name (Terraform's `keycloak_openid_client_default_scopes`)
//! must not turn OpenID Connect off for the client.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::clients::find_client;
use super::realms::find_realm;
use super::rep::{self, Query};
use super::scopes as scope_admin;
use super::{Admin, AdminError, Need, both, change_cached};
use crate::state::AppState;
use crate::storage::repo::clients;
use crate::storage::{StorageError, json_list, to_json_list};

pub fn routes(cfg: &mut web::ServiceConfig) {
    let r = "/realms/{realm}/clients/{id}";
    cfg.service(web::resource(both(&format!("{r}/default-client-scopes"))).get(list_defaults))
        .service(
            web::resource(both(&format!("{r}/default-client-scopes/{{scope}}")))
                .put(add_default)
                .delete(remove_default),
        )
        .service(web::resource(both(&format!("{r}/optional-client-scopes"))).get(list_optional))
        .service(
            web::resource(both(&format!("{r}/optional-client-scopes/{{scope}}")))
                .put(add_optional)
                .delete(remove_optional),
        );
}

async fn scope_list(
    state: &AppState,
    admin: &Admin,
    req: &HttpRequest,
    (realm_name, id): (&str, &str),
    optional: bool,
) -> Result<HttpResponse, AdminError> {
    let page = Query::from(req)?.page(None)?;
    admin.require(realm_name, Need::ViewClients)?;
    let realm = find_realm(state, realm_name).await?;
    let row = find_client(state, &realm, id).await?;
    let names = shown_scope_names(&row, optional)?;
    let all = scope_admin::catalog(state, &realm.id).await?;
    Ok(rep::ok_json(page.apply(all.iter().filter(|s| names.contains(&s.name)).map(scope_admin::brief).collect())))
}

/// A client's default (or optional) scopes as the admin API shows them:
/// without `openid`.
pub(crate) fn shown_scope_names(row: &clients::ClientRow, optional: bool) -> Result<Vec<String>, StorageError> {
    let mut names = client_scope_names(row, optional)?;
    names.retain(|n| n != OPENID);
    Ok(names)
}

const OPENID: &str = "openid";

fn client_scope_names(row: &clients::ClientRow, optional: bool) -> Result<Vec<String>, StorageError> {
    if !optional {
        return json_list(&row.scopes);
    }
    Ok(match rep::stored_object(&row.attributes).get("optionalClientScopes") {
        Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    })
}

async fn scope_change(
    state: &AppState,
    admin: &Admin,
    path: (String, String, String),
    optional: bool,
    add: bool,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id, scope_id) = path;
    admin.require(&realm_name, Need::ManageClients)?;
    let realm = find_realm(state, &realm_name).await?;
    let found = find_client(state, &realm, &id).await?;
    let all = scope_admin::catalog(state, &realm.id).await?;
    let scope = all.iter().find(|s| s.id == scope_id).ok_or_else(|| AdminError::not_found("Client scope"))?;
    let (realm_id, name) = (realm.id.clone(), scope.name.clone());
    change_cached(state, &realm.name, None, move |conn| {
        // Changed on what is stored now (change_cached's first write puts
        // configuration changes one after the other), so that scopes added
        // at once add up.
        let Some(mut row) = clients::find_by_id(conn, &realm_id, &found.id)? else {
            return Ok(());
        };
        move_scope(&mut row, &name, optional, add)?;
        clients::update(conn, &row)
    })
    .await?;
    Ok(rep::no_content())
}

/// Puts a scope into one of a client's lists (taking it out of the other),
/// or takes it out.
fn move_scope(row: &mut clients::ClientRow, name: &str, optional: bool, add: bool) -> Result<(), StorageError> {
    if name == OPENID {
        return Ok(());
    }
    let mut names = client_scope_names(row, optional)?;
    names.retain(|n| n != name);
    let mut others = client_scope_names(row, !optional)?;
    if add {
        names.push(name.to_owned());
        others.retain(|n| n != name);
    }
    let (defaults, optionals) = if optional { (others, names) } else { (names, others) };
    row.scopes = to_json_list(&defaults);
    let mut opaque = rep::stored_object(&row.attributes);
    opaque.insert("optionalClientScopes".into(), json!(optionals));
    row.attributes = Value::Object(opaque).to_string();
    Ok(())
}

#[utoipa::path(get, path = "/admin/realms/{realm}/clients/{id}/default-client-scopes",
    operation_id = "list_client_default_scopes", tag = "clients", summary = "The client's default client scopes",
    params(crate::openapi::ClientPath),
    responses((status = 200, description = "The scopes", body = [crate::openapi::ClientScopeReference]),
        crate::openapi::AdminErrors))]
async fn list_defaults(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    scope_list(&state, &admin, &req, (&path.0, &path.1), false).await
}

#[utoipa::path(get, path = "/admin/realms/{realm}/clients/{id}/optional-client-scopes",
    operation_id = "list_client_optional_scopes", tag = "clients", summary = "The client's optional client scopes",
    params(crate::openapi::ClientPath),
    responses((status = 200, description = "The scopes", body = [crate::openapi::ClientScopeReference]),
        crate::openapi::AdminErrors))]
async fn list_optional(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    scope_list(&state, &admin, &req, (&path.0, &path.1), true).await
}

#[utoipa::path(put, path = "/admin/realms/{realm}/clients/{id}/default-client-scopes/{scope}",
    operation_id = "add_client_default_scope", tag = "clients", summary = "Adds a default client scope to the client",
    params(crate::openapi::ClientScopeLinkPath),
    responses((status = 204, description = "Done"), crate::openapi::AdminErrors))]
async fn add_default(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AdminError> {
    scope_change(&state, &admin, path.into_inner(), false, true).await
}

#[utoipa::path(delete, path = "/admin/realms/{realm}/clients/{id}/default-client-scopes/{scope}",
    operation_id = "remove_client_default_scope", tag = "clients",
    summary = "Removes a default client scope from the client",
    params(crate::openapi::ClientScopeLinkPath),
    responses((status = 204, description = "Done"), crate::openapi::AdminErrors))]
async fn remove_default(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AdminError> {
    scope_change(&state, &admin, path.into_inner(), false, false).await
}

#[utoipa::path(put, path = "/admin/realms/{realm}/clients/{id}/optional-client-scopes/{scope}",
    operation_id = "add_client_optional_scope", tag = "clients", summary = "Adds an optional client scope to the client",
    params(crate::openapi::ClientScopeLinkPath),
    responses((status = 204, description = "Done"), crate::openapi::AdminErrors))]
async fn add_optional(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AdminError> {
    scope_change(&state, &admin, path.into_inner(), true, true).await
}

#[utoipa::path(delete, path = "/admin/realms/{realm}/clients/{id}/optional-client-scopes/{scope}",
    operation_id = "remove_client_optional_scope", tag = "clients",
    summary = "Removes an optional client scope from the client",
    params(crate::openapi::ClientScopeLinkPath),
    responses((status = 204, description = "Done"), crate::openapi::AdminErrors))]
async fn remove_optional(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AdminError> {
    scope_change(&state, &admin, path.into_inner(), true, false).await
}
