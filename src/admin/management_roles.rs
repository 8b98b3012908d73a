//! The `realm-management` client's roles, the way Keycloak delegates the
//! administration of one realm. They are fixed (`REALM_MANAGEMENT_ROLES`),
//! their ids derived from the realm's, and who holds them is stored per
//! user (`admin_roles`). Other clients have no roles.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::clients::find_client;
use super::realms::find_realm;
use super::rep::{self, Query};
use super::scopes::derived_id;
use super::users::{AccessOf, to_rep as user_rep};
use super::{Admin, AdminError, Need, both};
use crate::services::realms::{REALM_MANAGEMENT_CLIENT, REALM_MANAGEMENT_ROLES, management_role_includes};
use crate::state::AppState;
use crate::storage::repo::{clients, realms, users};

pub fn routes(cfg: &mut web::ServiceConfig) {
    let client = "/realms/{realm}/clients/{id}/roles";
    cfg.service(web::resource(both(client)).get(client_roles))
        .service(web::resource(both(&format!("{client}/{{name}}"))).get(client_role))
        .service(web::resource(both(&format!("{client}/{{name}}/users"))).get(client_role_holders))
        .service(web::resource(both(&format!("{client}/{{name}}/composites"))).get(client_role_composites));
}

pub(super) fn management_rep(realm: &realms::RealmRow, client_uuid: &str, name: &str) -> Value {
    json!({
        "id": derived_id(&realm.id, REALM_MANAGEMENT_CLIENT, name),
        "name": name,
        "description": format!("${{role_{name}}}"),
        "composite": !included_roles(name).is_empty(),
        "clientRole": true,
        "containerId": client_uuid,
    })
}

/// The other roles a composite role includes (none for a plain one).
fn included_roles(name: &str) -> Vec<&'static str> {
    REALM_MANAGEMENT_ROLES.iter().copied().filter(|r| *r != name && management_role_includes(name, r)).collect()
}

/// The realm-management client of `realm`, if `id` is its UUID.
pub(super) async fn management_client(
    state: &AppState,
    realm: &realms::RealmRow,
    id: &str,
) -> Result<Option<clients::ClientRow>, AdminError> {
    let client = find_client(state, realm, id).await?;
    Ok((client.client_id == REALM_MANAGEMENT_CLIENT).then_some(client))
}

/// The id of the realm's `realm-management` client (which every realm has).
pub(crate) async fn management_client_id(
    state: &AppState,
    realm: &realms::RealmRow,
) -> Result<Option<String>, AdminError> {
    let realm_id = realm.id.clone();
    let client = state.db.run(move |conn| clients::find_by_client_id(conn, &realm_id, REALM_MANAGEMENT_CLIENT)).await?;
    Ok(client.map(|c| c.id))
}

/// A `realm-management` role found by its id (Keycloak's `roles-by-id`
/// serves client roles as well as realm roles).
pub(super) struct ManagementRole {
    pub name: &'static str,
    pub client_uuid: String,
}

impl ManagementRole {
    pub(super) async fn by_id(
        state: &AppState,
        realm: &realms::RealmRow,
        id: &str,
    ) -> Result<Option<Self>, AdminError> {
        let Some(name) =
            REALM_MANAGEMENT_ROLES.iter().find(|n| derived_id(&realm.id, REALM_MANAGEMENT_CLIENT, n) == id)
        else {
            return Ok(None);
        };
        Ok(management_client_id(state, realm).await?.map(|client_uuid| Self { name, client_uuid }))
    }

    pub(super) fn rep(&self, realm: &realms::RealmRow) -> Value {
        management_rep(realm, &self.client_uuid, self.name)
    }

    /// The roles this one includes, as representations.
    pub(super) fn composites(&self, realm: &realms::RealmRow) -> Vec<Value> {
        included_roles(self.name).into_iter().map(|n| management_rep(realm, &self.client_uuid, n)).collect()
    }
}

/// The `realm-management` role `name` of the client `id`; 404 for another
/// client or an unknown name.
async fn named_role(
    state: &AppState,
    realm: &realms::RealmRow,
    id: &str,
    name: &str,
) -> Result<ManagementRole, AdminError> {
    let client = management_client(state, realm, id).await?;
    let known = REALM_MANAGEMENT_ROLES.iter().find(|n| **n == name);
    match (client, known) {
        (Some(client), Some(name)) => Ok(ManagementRole { name, client_uuid: client.id }),
        _ => Err(AdminError::not_found("Role")),
    }
}

#[utoipa::path(get, path = "/admin/realms/{realm}/clients/{id}/roles", operation_id = "list_client_roles",
    tag = "roles", summary = "A client's roles (only `realm-management` has any)",
    params(crate::openapi::ClientPath, crate::openapi::Paging),
    responses((status = 200, description = "The roles", body = [crate::openapi::RoleRepresentation]),
        crate::openapi::Invalid, crate::openapi::AdminErrors))]
pub(super) async fn client_roles(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id) = path.into_inner();
    // Keycloak lets whoever may list clients list their roles.
    admin.require(&realm_name, Need::QueryClients)?;
    let query = Query::from(&req)?;
    let page = query.page(None)?;
    let search = query.get("search").map(str::to_lowercase);
    let realm = find_realm(&state, &realm_name).await?;
    let reps = match management_client(&state, &realm, &id).await? {
        Some(client) => REALM_MANAGEMENT_ROLES
            .iter()
            .filter(|n| search.as_ref().is_none_or(|s| n.contains(s.as_str())))
            .map(|n| management_rep(&realm, &client.id, n))
            .collect(),
        None => Vec::new(),
    };
    Ok(rep::ok_json(page.apply(reps)))
}

#[utoipa::path(get, path = "/admin/realms/{realm}/clients/{id}/roles/{name}", operation_id = "get_client_role",
    tag = "roles", summary = "One of a client's roles",
    params(crate::openapi::ClientRolePath),
    responses((status = 200, description = "The role", body = crate::openapi::RoleRepresentation),
        crate::openapi::AdminErrors))]
pub(super) async fn client_role(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id, name) = path.into_inner();
    admin.require(&realm_name, Need::ViewClients)?;
    let realm = find_realm(&state, &realm_name).await?;
    Ok(rep::ok_json(named_role(&state, &realm, &id, &name).await?.rep(&realm)))
}

#[utoipa::path(get, path = "/admin/realms/{realm}/clients/{id}/roles/{name}/users",
    operation_id = "list_client_role_users", tag = "roles",
    summary = "The users to whom one of the client's roles is granted directly",
    params(crate::openapi::ClientRolePath, crate::openapi::Paging),
    responses((status = 200, description = "The users", body = [crate::openapi::UserRepresentation]),
        crate::openapi::Invalid, crate::openapi::AdminErrors))]
pub(super) async fn client_role_holders(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id, name) = path.into_inner();
    admin.require(&realm_name, Need::QueryUsers)?;
    let page = Query::from(&req)?.page(None)?;
    let realm = find_realm(&state, &realm_name).await?;
    let role = named_role(&state, &realm, &id, &name).await?;
    let realm_id = realm.id.clone();
    // Only users the caller may view, as the user search (`users::list`).
    if !admin.may(&realm_name, Need::ViewUsers) {
        return Ok(rep::ok_json(Vec::<serde_json::Value>::new()));
    }
    let rows = state.db.run(move |conn| users::list_by_admin_role(conn, &realm_id, role.name)).await?;
    let access = AccessOf::load(&state, &admin, &realm).await?;
    Ok(rep::ok_json(page.apply(rows.iter().map(|row| user_rep(row, access.toward(row))).collect())))
}

#[utoipa::path(get, path = "/admin/realms/{realm}/clients/{id}/roles/{name}/composites",
    operation_id = "list_client_role_composites", tag = "roles",
    summary = "The roles one of the client's roles includes (`realm-admin` includes every other)",
    params(crate::openapi::ClientRolePath, crate::openapi::Paging),
    responses((status = 200, description = "The roles", body = [crate::openapi::RoleRepresentation]),
        crate::openapi::AdminErrors))]
pub(super) async fn client_role_composites(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    let (realm_name, id, name) = path.into_inner();
    admin.require(&realm_name, Need::ViewClients)?;
    let realm = find_realm(&state, &realm_name).await?;
    let composites = named_role(&state, &realm, &id, &name).await?.composites(&realm);
    Ok(rep::ok_json(rep::paged(&req, composites)?))
}
