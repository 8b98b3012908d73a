//! Users' role mappings: realm roles, and the `realm-management` client's
//! roles, which are stored per user (`admin_roles`), as the realm file has
//! them. Nobody hands out rights they do not hold (`Admin::may_grant`).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::management_roles::{management_client, management_rep};
use super::realms::find_realm;
use super::rep::{self, Body, Query};
use super::roles::{realm_roles, to_rep};
use super::scopes::derived_id;
use super::users::find_user;
use super::{Admin, AdminError, Need, both, change_cached};
use crate::domain::client::SERVICE_ACCOUNT_PREFIX;
use crate::services::realms::{REALM_MANAGEMENT_CLIENT, REALM_MANAGEMENT_ROLES, management_role_includes};
use crate::state::AppState;
use crate::storage::repo::realms::RealmRow;
use crate::storage::repo::users::UserRow;
use crate::storage::repo::{clients, roles, users};
use crate::storage::{DbConnection, json_list};

pub fn routes(cfg: &mut web::ServiceConfig) {
    let user = "/realms/{realm}/users/{id}/role-mappings";
    cfg.service(web::resource(both(user)).get(all_mappings))
        .service(web::resource(both(&format!("{user}/realm"))).get(realm_mappings).post(add_realm).delete(remove_realm))
        .service(web::resource(both(&format!("{user}/realm/available"))).get(realm_available))
        .service(web::resource(both(&format!("{user}/realm/composite"))).get(realm_mappings))
        .service(
            web::resource(both(&format!("{user}/clients/{{client}}")))
                .get(client_mappings)
                .post(add_client)
                .delete(remove_client),
        )
        .service(web::resource(both(&format!("{user}/clients/{{client}}/available"))).get(client_available))
        .service(web::resource(both(&format!("{user}/clients/{{client}}/composite"))).get(client_composite));
}

async fn user_role_ids(state: &AppState, user_id: &str) -> Result<Vec<String>, AdminError> {
    let id = user_id.to_owned();
    Ok(state.db.run(move |conn| roles::list_role_ids_of_user(conn, &id)).await?)
}

#[utoipa::path(get, path = "/admin/realms/{realm}/users/{id}/role-mappings/realm",
    operation_id = "list_realm_role_mappings", tag = "role-mappings", summary = "The realm roles the user holds",
    params(crate::openapi::UserPath, crate::openapi::Paging),
    responses((status = 200, description = "The roles", body = [crate::openapi::RoleRepresentation]),
        crate::openapi::AdminErrors))]
async fn realm_mappings(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    let page = Query::from(&req)?.page(None)?;
    let (realm_name, id) = path.into_inner();
    admin.require(&realm_name, Need::ViewUsers)?;
    let realm = find_realm(&state, &realm_name).await?;
    let user = find_user(&state, &realm, &id).await?;
    let held = user_role_ids(&state, &user.id).await?;
    let all = realm_roles(&state, &realm).await?;
    let reps = all.iter().filter(|r| held.contains(&r.id)).map(to_rep).collect::<Result<Vec<_>, _>>()?;
    Ok(rep::ok_json(page.apply(reps)))
}

#[utoipa::path(get, path = "/admin/realms/{realm}/users/{id}/role-mappings/realm/available",
    operation_id = "list_available_realm_roles", tag = "role-mappings",
    summary = "The realm roles the user does not hold",
    params(crate::openapi::UserPath, crate::openapi::Paging),
    responses((status = 200, description = "The roles", body = [crate::openapi::RoleRepresentation]),
        crate::openapi::AdminErrors))]
async fn realm_available(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    let page = Query::from(&req)?.page(None)?;
    let (realm_name, id) = path.into_inner();
    admin.require(&realm_name, Need::ViewUsers)?;
    let realm = find_realm(&state, &realm_name).await?;
    let user = find_user(&state, &realm, &id).await?;
    let held = user_role_ids(&state, &user.id).await?;
    let all = realm_roles(&state, &realm).await?;
    let reps = all.iter().filter(|r| !held.contains(&r.id)).map(to_rep).collect::<Result<Vec<_>, _>>()?;
    Ok(rep::ok_json(page.apply(reps)))
}

/// The roles a mapping body names: each by `name` (or by `id` alone), with
/// a given `id` that must match.
fn named<'a, T>(
    items: &[Value],
    candidates: &'a [T],
    key: impl Fn(&T) -> (&str, String),
) -> Result<Vec<&'a T>, AdminError> {
    items
        .iter()
        .map(|item| {
            if !item.is_object() {
                return Err(AdminError::bad_request("Each role is an object with its `id` and/or `name`"));
            }
            let name = item.get("name").and_then(Value::as_str);
            let id = item.get("id").and_then(Value::as_str);
            candidates
                .iter()
                .find(|c| {
                    let (cname, cid) = key(c);
                    name.is_none_or(|n| n == cname) && id.is_none_or(|i| i == cid) && (name.is_some() || id.is_some())
                })
                .ok_or_else(|| AdminError::not_found("Role"))
        })
        .collect()
}

async fn change_realm(
    state: &AppState,
    admin: &Admin,
    path: (String, String),
    payload: web::Payload,
    add: bool,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id) = path;
    let body = Body::read(payload).await?;
    // Keycloak's DELETE without a body takes every realm role away.
    let items = if !add && body.is_absent() {
        user_role_ids(state, &id).await?.into_iter().map(|id| serde_json::json!({ "id": id })).collect()
    } else {
        body.list()?
    };
    map_realm_roles(state, admin, &realm_name, &id, &items, add).await?;
    Ok(rep::no_content())
}

/// Grants (`add`) or takes away the realm roles `items` name (by name or id).
pub(crate) async fn map_realm_roles(
    state: &AppState,
    admin: &Admin,
    realm_name: &str,
    id: &str,
    items: &[Value],
    add: bool,
) -> Result<(), AdminError> {
    admin.require(realm_name, Need::ManageUsers)?;
    let realm = find_realm(state, realm_name).await?;
    let user = find_user(state, &realm, id).await?;
    let all = realm_roles(state, &realm).await?;
    let named_roles = named(items, &all, |r| (r.name.as_str(), r.id.clone()))?;
    if !named_roles.iter().all(|r| admin.may_map_realm_role(&realm.name, &r.name)) {
        return Err(AdminError::Forbidden);
    }
    let chosen: Vec<String> = named_roles.into_iter().map(|r| r.id.clone()).collect();
    // Only what changes is written: concurrent grants to one user add up.
    state
        .db
        .write(move |conn| match add {
            true => roles::grant_user_roles(conn, &user.id, &chosen),
            false => roles::revoke_user_roles(conn, &user.id, &chosen),
        })
        .await?;
    Ok(())
}

#[utoipa::path(post, path = "/admin/realms/{realm}/users/{id}/role-mappings/realm",
    operation_id = "add_realm_role_mappings", tag = "role-mappings",
    summary = "Grants realm roles (each named by `name` and/or a matching `id`)",
    params(crate::openapi::UserPath), request_body = Option<Vec<crate::openapi::RoleRepresentation>>,
    responses((status = 204, description = "Done"), crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn add_realm(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, AdminError> {
    change_realm(&state, &admin, path.into_inner(), payload, true).await
}

#[utoipa::path(delete, path = "/admin/realms/{realm}/users/{id}/role-mappings/realm",
    operation_id = "remove_realm_role_mappings", tag = "role-mappings", summary = "Takes realm roles away",
    params(crate::openapi::UserPath), request_body = Option<Vec<crate::openapi::RoleRepresentation>>,
    responses((status = 204, description = "Done"), crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn remove_realm(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, AdminError> {
    change_realm(&state, &admin, path.into_inner(), payload, false).await
}

#[utoipa::path(get, path = "/admin/realms/{realm}/users/{id}/role-mappings/clients/{client}",
    operation_id = "list_client_role_mappings", tag = "role-mappings",
    summary = "The client's roles the user holds (`realm-management` only; others have none)",
    params(crate::openapi::UserClientPath, crate::openapi::Paging),
    responses((status = 200, description = "The roles", body = [crate::openapi::RoleRepresentation]),
        crate::openapi::AdminErrors))]
async fn client_mappings(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    management_list(&state, &admin, path.into_inner(), &req, Holding::Mapped).await
}

#[utoipa::path(get, path = "/admin/realms/{realm}/users/{id}/role-mappings/clients/{client}/composite",
    operation_id = "list_composite_client_role_mappings", tag = "role-mappings",
    summary = "The client's roles the user holds, composites expanded (`realm-admin` holds them all)",
    params(crate::openapi::UserClientPath, crate::openapi::Paging),
    responses((status = 200, description = "The roles", body = [crate::openapi::RoleRepresentation]),
        crate::openapi::AdminErrors))]
async fn client_composite(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    management_list(&state, &admin, path.into_inner(), &req, Holding::Effective).await
}

/// Which `realm-management` roles of a user to list.
#[derive(Clone, Copy, PartialEq)]
enum Holding {
    /// Mapped to the user directly.
    Mapped,
    /// Held, directly or through a composite.
    Effective,
    /// Not held in any way: what could be granted.
    Available,
}

/// The page of `management_roles` that the request's `first`/`max` ask for.
async fn management_list(
    state: &AppState,
    admin: &Admin,
    path: (String, String, String),
    req: &HttpRequest,
    holding: Holding,
) -> Result<HttpResponse, AdminError> {
    let page = Query::from(req)?.page(None)?;
    Ok(rep::ok_json(page.apply(management_roles(state, admin, path, holding).await?)))
}

/// The `realm-management` roles of a user as `holding` says; none for any
/// other client.
async fn management_roles(
    state: &AppState,
    admin: &Admin,
    (realm_name, id, client): (String, String, String),
    holding: Holding,
) -> Result<Vec<Value>, AdminError> {
    admin.require(&realm_name, Need::ViewUsers)?;
    let realm = find_realm(state, &realm_name).await?;
    let user = find_user(state, &realm, &id).await?;
    let Some(client) = management_client(state, &realm, &client).await? else {
        return Ok(Vec::new());
    };
    let mapped = json_list(&user.admin_roles)?;
    let effective = |role: &str| mapped.iter().any(|h| management_role_includes(h, role));
    Ok(REALM_MANAGEMENT_ROLES
        .iter()
        .filter(|role| match holding {
            Holding::Mapped => mapped.iter().any(|h| h == *role),
            Holding::Effective => effective(role),
            Holding::Available => !effective(role),
        })
        .map(|n| management_rep(&realm, &client.id, n))
        .collect())
}

#[utoipa::path(get, path = "/admin/realms/{realm}/users/{id}/role-mappings/clients/{client}/available",
    operation_id = "list_available_client_roles", tag = "role-mappings",
    summary = "The client's roles the user does not hold",
    params(crate::openapi::UserClientPath, crate::openapi::Paging),
    responses((status = 200, description = "The roles", body = [crate::openapi::RoleRepresentation]),
        crate::openapi::AdminErrors))]
async fn client_available(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    management_list(&state, &admin, path.into_inner(), &req, Holding::Available).await
}

async fn change_client(
    state: &AppState,
    admin: &Admin,
    path: (String, String, String),
    payload: web::Payload,
    add: bool,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id, client) = path;
    admin.require(&realm_name, Need::ManageUsers)?;
    let body = Body::read(payload).await?;
    let realm = find_realm(state, &realm_name).await?;
    let user = find_user(state, &realm, &id).await?;
    if management_client(state, &realm, &client).await?.is_none() {
        // Other clients have no roles: granting or taking none is done.
        return match body.list()?.is_empty() {
            true => Ok(rep::no_content()),
            false => Err(AdminError::not_found("Role")),
        };
    }
    // Keycloak's DELETE without a body takes every role of the client away.
    let items = if !add && body.is_absent() {
        let held: Vec<String> = serde_json::from_str(&user.admin_roles).unwrap_or_default();
        held.into_iter().map(|name| serde_json::json!({ "name": name })).collect()
    } else {
        body.list()?
    };
    let candidates: Vec<&str> = REALM_MANAGEMENT_ROLES.to_vec();
    let chosen: Vec<String> = named(&items, &candidates, |n| (*n, derived_id(&realm.id, "realm-management", n)))?
        .into_iter()
        .map(|n| (*n).to_owned())
        .collect();
    change_admin_roles(state, admin, &realm, user, chosen, add).await?;
    Ok(rep::no_content())
}

/// Grants (`add`) or takes away `realm-management` roles, by name (the
/// admin API's client role mappings and the console's user page).
pub(crate) async fn map_management_roles(
    state: &AppState,
    admin: &Admin,
    realm_name: &str,
    user_id: &str,
    chosen: Vec<String>,
    add: bool,
) -> Result<(), AdminError> {
    admin.require(realm_name, Need::ManageUsers)?;
    let realm = find_realm(state, realm_name).await?;
    let user = find_user(state, &realm, user_id).await?;
    if let Some(unknown) = chosen.iter().find(|r| !REALM_MANAGEMENT_ROLES.contains(&r.as_str())) {
        return Err(AdminError::bad_request(format!("Role {unknown} is not a realm-management role")));
    }
    change_admin_roles(state, admin, &realm, user, chosen, add).await
}

async fn change_admin_roles(
    state: &AppState,
    admin: &Admin,
    realm: &RealmRow,
    user: UserRow,
    chosen: Vec<String>,
    add: bool,
) -> Result<(), AdminError> {
    if !chosen.iter().all(|role| admin.may_grant(role)) {
        return Err(AdminError::Forbidden);
    }
    // Read and written in one transaction: concurrent grants to one user add up.
    let change = move |conn: &mut DbConnection| {
        users::change_admin_roles(conn, &user.realm_id, &user.id, |held| {
            held.retain(|r| !chosen.contains(r));
            if add {
                held.extend(chosen);
            }
        })
    };
    // A service account's roles travel in its tokens, which the realm cache builds.
    let found = match user.username.starts_with(SERVICE_ACCOUNT_PREFIX) {
        true => change_cached(state, &realm.name, None, change).await?,
        false => state.db.transaction(change).await?,
    };
    if !found {
        return Err(AdminError::not_found("User"));
    }
    Ok(())
}

#[utoipa::path(post, path = "/admin/realms/{realm}/users/{id}/role-mappings/clients/{client}",
    operation_id = "add_client_role_mappings", tag = "role-mappings",
    summary = "Grants `realm-management` roles: delegated administration of the realm",
    params(crate::openapi::UserClientPath), request_body = Option<Vec<crate::openapi::RoleRepresentation>>,
    responses((status = 204, description = "Done"), crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn add_client(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, AdminError> {
    change_client(&state, &admin, path.into_inner(), payload, true).await
}

#[utoipa::path(delete, path = "/admin/realms/{realm}/users/{id}/role-mappings/clients/{client}",
    operation_id = "remove_client_role_mappings", tag = "role-mappings",
    summary = "Takes `realm-management` roles away",
    params(crate::openapi::UserClientPath), request_body = Option<Vec<crate::openapi::RoleRepresentation>>,
    responses((status = 204, description = "Done"), crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn remove_client(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, AdminError> {
    change_client(&state, &admin, path.into_inner(), payload, false).await
}

#[utoipa::path(get, path = "/admin/realms/{realm}/users/{id}/role-mappings", operation_id = "list_role_mappings",
    tag = "role-mappings", summary = "Every role the user holds",
    params(crate::openapi::UserPath),
    responses((status = 200, description = "The mappings", body = crate::openapi::MappingsRepresentation),
        crate::openapi::AdminErrors))]
async fn all_mappings(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id) = path.into_inner();
    admin.require(&realm_name, Need::ViewUsers)?;
    let realm = find_realm(&state, &realm_name).await?;
    let user = find_user(&state, &realm, &id).await?;
    let held = user_role_ids(&state, &user.id).await?;
    let all = realm_roles(&state, &realm).await?;
    let realm_reps = all.iter().filter(|r| held.contains(&r.id)).map(to_rep).collect::<Result<Vec<_>, _>>()?;
    let admin_roles = json_list(&user.admin_roles)?;
    let mut out = json!({ "realmMappings": realm_reps });
    if !admin_roles.is_empty() {
        let realm_id = realm.id.clone();
        let client = state
            .db
            .run(move |conn| clients::find_by_client_id(conn, &realm_id, REALM_MANAGEMENT_CLIENT))
            .await?
            .ok_or_else(|| AdminError::not_found("Client"))?;
        out["clientMappings"] = json!({
            REALM_MANAGEMENT_CLIENT: {
                "id": client.id,
                "client": REALM_MANAGEMENT_CLIENT,
                "mappings": admin_roles.iter().map(|n| management_rep(&realm, &client.id, n)).collect::<Vec<_>>(),
            }
        });
    }
    Ok(rep::ok_json(out))
}
