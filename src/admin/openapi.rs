//! The admin API's operations for the OpenAPI document (`crate::openapi`):
//! each handler carries its `#[utoipa::path]`; this module, beside the
//! resource modules, lists them.

use utoipa::OpenApi;

use super::{
    client_scopes, clients, events, management_roles, realms, role_mappings, roles, scopes, user_lists, user_sessions,
    users,
};

/// Every operation under `/admin`.
#[derive(OpenApi)]
#[openapi(paths(
    realms::server_info,
    realms::list,
    realms::create,
    realms::get,
    realms::update,
    realms::delete,
    realms::list_keys,
    clients::list,
    clients::create,
    clients::get,
    clients::update,
    clients::delete,
    clients::get_secret,
    clients::new_secret,
    clients::service_account,
    client_scopes::list_defaults,
    client_scopes::add_default,
    client_scopes::remove_default,
    client_scopes::list_optional,
    client_scopes::add_optional,
    client_scopes::remove_optional,
    users::list,
    users::create,
    users::count,
    users::get,
    users::update,
    users::delete,
    users::reset_password,
    users::logout,
    user_sessions::list_sessions,
    user_sessions::delete_session,
    user_sessions::logout_all,
    user_lists::groups,
    user_lists::group_count,
    user_lists::federated_identities,
    user_lists::credentials,
    roles::list,
    roles::create,
    roles::get_by_name,
    roles::update_by_name,
    roles::delete_by_name,
    roles::holders,
    roles::composites_by_name,
    roles::composites_by_id,
    roles::realm_composites_by_name,
    roles::realm_composites_by_id,
    roles::get_by_id,
    roles::update_by_id,
    roles::delete_by_id,
    management_roles::client_roles,
    management_roles::client_role,
    management_roles::client_role_holders,
    management_roles::client_role_composites,
    role_mappings::all_mappings,
    role_mappings::realm_mappings,
    role_mappings::add_realm,
    role_mappings::remove_realm,
    role_mappings::realm_available,
    realm_composite,
    role_mappings::client_mappings,
    role_mappings::add_client,
    role_mappings::remove_client,
    role_mappings::client_available,
    role_mappings::client_composite,
    scopes::list,
    scopes::create,
    scopes::get,
    scopes::update,
    scopes::delete,
    scopes::list_defaults,
    scopes::add_default,
    scopes::remove_default,
    scopes::list_optional,
    scopes::add_optional,
    scopes::remove_optional,
    events::list_events,
    events::clear_events,
    events::list_admin_events,
    events::get_config,
    events::put_config,
))]
pub struct AdminApi;

// Two routes share a handler with another route (realmgate's roles are not
// composite, so the composite view is the direct one); a handler carries
// one `#[utoipa::path]`, so these stand-ins describe the second route.

#[utoipa::path(get, path = "/admin/realms/{realm}/users/{id}/role-mappings/realm/composite",
    operation_id = "list_composite_realm_role_mappings", tag = "role-mappings",
    summary = "The realm roles the user holds, composites expanded (as `…/role-mappings/realm`)",
    params(crate::openapi::UserPath),
    responses((status = 200, description = "The roles", body = [crate::openapi::RoleRepresentation]),
        crate::openapi::AdminErrors))]
#[expect(dead_code, reason = "documents a route served by `role_mappings::realm_mappings`")]
fn realm_composite() {}
