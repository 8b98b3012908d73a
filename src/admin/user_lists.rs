//! Lists Keycloak's clients read about a user, often right after changing
//! one (Terraform's provider does): groups and federated identities, which
//! realmgate does not have (always empty), and credentials (the password,
//! when the user has one).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::realms::find_realm;
use super::rep;
use super::scopes::derived_id;
use super::users::find_user;
use super::{Admin, AdminError, Need, both};
use crate::state::AppState;
use crate::storage::repo::users::UserRow;

pub fn routes(cfg: &mut web::ServiceConfig) {
    let r = "/realms/{realm}/users/{id}";
    cfg.service(web::resource(both(&format!("{r}/groups"))).get(groups))
        .service(web::resource(both(&format!("{r}/groups/count"))).get(group_count))
        .service(web::resource(both(&format!("{r}/federated-identity"))).get(federated_identities))
        .service(web::resource(both(&format!("{r}/credentials"))).get(credentials));
}

/// The user a path names, once the caller may view the realm's users.
async fn viewed_user(state: &AppState, admin: &Admin, path: (String, String)) -> Result<UserRow, AdminError> {
    let (realm_name, id) = path;
    admin.require(&realm_name, Need::ViewUsers)?;
    let realm = find_realm(state, &realm_name).await?;
    find_user(state, &realm, &id).await
}

#[utoipa::path(get, path = "/admin/realms/{realm}/users/{id}/groups", operation_id = "list_user_groups", tag = "users",
    summary = "The user's groups: always none (realmgate has no groups)",
    params(crate::openapi::UserPath, crate::openapi::Paging),
    responses((status = 200, description = "An empty list", body = Vec<serde_json::Value>),
        crate::openapi::AdminErrors))]
async fn groups(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    viewed_user(&state, &admin, path.into_inner()).await?;
    Ok(rep::ok_json(rep::paged(&req, Vec::<Value>::new())?))
}

#[utoipa::path(get, path = "/admin/realms/{realm}/users/{id}/groups/count", operation_id = "count_user_groups",
    tag = "users", summary = "How many groups the user is in: always none",
    params(crate::openapi::UserPath),
    responses((status = 200, description = "`{\"count\": 0}`", body = serde_json::Value),
        crate::openapi::AdminErrors))]
async fn group_count(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AdminError> {
    viewed_user(&state, &admin, path.into_inner()).await?;
    Ok(rep::ok_json(json!({ "count": 0 })))
}

#[utoipa::path(get, path = "/admin/realms/{realm}/users/{id}/federated-identity",
    operation_id = "list_user_federated_identities", tag = "users",
    summary = "The user's links to upstream identity providers: always none",
    params(crate::openapi::UserPath, crate::openapi::Paging),
    responses((status = 200, description = "An empty list", body = Vec<serde_json::Value>),
        crate::openapi::AdminErrors))]
async fn federated_identities(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    viewed_user(&state, &admin, path.into_inner()).await?;
    Ok(rep::ok_json(rep::paged(&req, Vec::<Value>::new())?))
}

#[utoipa::path(get, path = "/admin/realms/{realm}/users/{id}/credentials", operation_id = "list_user_credentials",
    tag = "users", summary = "The user's credentials: the password, if set (never its hash)",
    params(crate::openapi::UserPath, crate::openapi::Paging),
    responses((status = 200, description = "`[]` or one `password` credential", body = Vec<serde_json::Value>),
        crate::openapi::AdminErrors))]
async fn credentials(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    let user = viewed_user(&state, &admin, path.into_inner()).await?;
    // The id is derived (one password per user), so it is the same on every read.
    let listed: Vec<Value> = match user.password_hash {
        Some(_) => vec![json!({
            "id": derived_id(&user.id, "credential", "password"),
            "type": "password",
            "temporary": user.password_temporary,
        })],
        None => Vec::new(),
    };
    Ok(rep::ok_json(rep::paged(&req, listed)?))
}
