//! A Keycloak realm export posted to `POST /admin/realms`, as Keycloak
//! imports one: the realm, then its client scopes, realm roles, clients and
//! users, each through the same code as its own admin endpoint.
//!
//! What every Keycloak realm has (its own clients such as `account`, roles
//! such as `offline_access`, scopes such as `web-origins`, authentication
//! flows and key providers) is left out: realmgate has its own or does
//! without, and generates the realm's keys. What realmgate cannot honour
//! (groups, identity providers, user federation, other clients' roles,
//! password hashes it cannot verify) is refused with a 400 that names it,
//! before anything is created. A failure halfway deletes the new realm
//! again, so the import happens whole or not at all.

use serde_json::{Map, Value};

use super::credentials::password_of;
use super::realms::{find_realm, update_realm_from};
use super::scopes::{self as scope_admin, DEFAULT_DEFAULTS, DEFAULT_OPTIONALS, ScopeEntry};
use super::{Admin, AdminError, change_cached};
use crate::domain::scope::is_built_in;
use crate::services::realms::{REALM_MANAGEMENT_CLIENT, REALM_MANAGEMENT_ROLES};
use crate::state::AppState;
use crate::storage::repo::{clients, realms, users};

/// Parts of a realm representation that are contents, not settings.
pub const CONTENTS: [&str; 14] = [
    "users",
    "clients",
    "roles",
    "groups",
    "clientScopes",
    "identityProviders",
    "identityProviderMappers",
    "components",
    "federatedUsers",
    "userFederationProviders",
    "scopeMappings",
    "clientScopeMappings",
    "authenticationFlows",
    "organizations",
];

/// Contents realmgate has no counterpart for: refused when not empty.
const UNSUPPORTED: [(&str, &str); 6] = [
    ("groups", "groups are not supported"),
    ("identityProviders", "identity providers are not supported"),
    ("identityProviderMappers", "identity providers are not supported"),
    ("federatedUsers", "user federation is not supported"),
    ("userFederationProviders", "user federation is not supported"),
    ("organizations", "organizations are not supported"),
];

/// Keycloak's own clients in every realm (realmgate has `admin-cli` and
/// `realm-management` itself).
const KEYCLOAK_CLIENTS: [&str; 6] =
    ["account", "account-console", "admin-cli", "broker", REALM_MANAGEMENT_CLIENT, "security-admin-console"];
/// Keycloak's own realm roles (besides `default-roles-<realm>`).
const KEYCLOAK_ROLES: [&str; 2] = ["offline_access", "uma_authorization"];
/// Keycloak's own client scopes that realmgate does without; `profile`,
/// `email`, `address`, `phone` and `offline_access` it has built in.
const KEYCLOAK_SCOPES: [&str; 9] = [
    "acr",
    "basic",
    "roles",
    "web-origins",
    "microprofile-jwt",
    "role_list",
    "organization",
    "saml_organization",
    "service_account",
];
/// Whether `name` is one of Keycloak's own client scopes that realmgate does without.
pub fn is_keycloak_scope(name: &str) -> bool {
    KEYCLOAK_SCOPES.contains(&name)
}

/// The component type of user federation (LDAP, Kerberos).
const USER_STORAGE: &str = "org.keycloak.storage.UserStorageProvider";

/// The contents of a realm export, minus what every Keycloak realm has.
#[derive(Default)]
pub struct Contents {
    scopes: Vec<Map<String, Value>>,
    roles: Vec<Map<String, Value>>,
    clients: Vec<Map<String, Value>>,
    users: Vec<Map<String, Value>>,
}

fn objects(value: Option<Value>, field: &str) -> Result<Vec<Map<String, Value>>, AdminError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(map) => Ok(map),
                _ => Err(AdminError::bad_request(format!("`{field}` must list objects"))),
            })
            .collect(),
        Some(_) => Err(AdminError::bad_request(format!("`{field}` must be a list"))),
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => fields.values().all(is_empty),
        _ => false,
    }
}

fn name_of<'a>(map: &'a Map<String, Value>, field: &str) -> &'a str {
    map.get(field).and_then(Value::as_str).unwrap_or_default()
}

/// Takes the contents out of `map` (the realm's settings stay); `None`
/// when it carries none. Refuses what cannot be imported.
pub fn take_contents(map: &mut Map<String, Value>, realm: &str) -> Result<Option<Contents>, AdminError> {
    let mut taken: Map<String, Value> = Map::new();
    for key in CONTENTS {
        if let Some(value) = map.remove(key) {
            taken.insert(key.to_owned(), value);
        }
    }
    if taken.values().all(is_empty) {
        return Ok(None);
    }
    for (key, refusal) in UNSUPPORTED {
        if taken.get(key).is_some_and(|v| !is_empty(v)) {
            return Err(AdminError::bad_request(format!("`{key}`: {refusal}")));
        }
    }
    if taken.get("components").and_then(|c| c.get(USER_STORAGE)).is_some_and(|v| !is_empty(v)) {
        return Err(AdminError::bad_request("`components`: user federation is not supported"));
    }
    let roles = taken.remove("roles").unwrap_or(Value::Null);
    if !matches!(roles, Value::Null | Value::Object(_)) {
        return Err(AdminError::bad_request("`roles` must be an object with `realm` and `client`"));
    }
    if let Some(Value::Object(by_client)) = roles.get("client") {
        for (client, list) in by_client {
            if !KEYCLOAK_CLIENTS.contains(&client.as_str()) && !is_empty(list) {
                return Err(AdminError::bad_request(format!(
                    "`roles.client`: roles of client `{client}` are not supported"
                )));
            }
        }
    }
    let own_default_roles = format!("default-roles-{realm}");
    let mut contents = Contents {
        scopes: objects(taken.remove("clientScopes"), "clientScopes")?,
        roles: objects(roles.get("realm").cloned(), "roles.realm")?,
        clients: objects(taken.remove("clients"), "clients")?,
        users: objects(taken.remove("users"), "users")?,
    };
    contents.scopes.retain(|s| {
        let name = name_of(s, "name");
        !is_built_in(name)
            && !KEYCLOAK_SCOPES.contains(&name)
            && s.get("protocol").and_then(Value::as_str) != Some("saml")
    });
    contents.roles.retain(|r| {
        let name = name_of(r, "name");
        !KEYCLOAK_ROLES.contains(&name) && name != own_default_roles
    });
    contents.clients.retain(|c| !KEYCLOAK_CLIENTS.contains(&name_of(c, "clientId")));
    for user in &mut contents.users {
        check_user(user, &own_default_roles)?;
    }
    Ok(Some(contents))
}

/// Refuses what a user carries that cannot be imported, and leaves out
/// Keycloak's own roles.
fn check_user(user: &mut Map<String, Value>, own_default_roles: &str) -> Result<(), AdminError> {
    let what = format!("users (`{}`)", name_of(user, "username"));
    if user.get("groups").is_some_and(|g| !is_empty(g)) {
        return Err(AdminError::bad_request(format!("{what}: groups are not supported")));
    }
    if user.get("federationLink").is_some_and(|l| !l.is_null()) {
        return Err(AdminError::bad_request(format!("{what}: user federation is not supported")));
    }
    if let Some(Value::Array(credentials)) = user.get("credentials") {
        for credential in credentials {
            password_of(credential).map_err(|e| within(&what, e))?;
        }
    }
    if let Some(Value::Array(roles)) = user.get_mut("realmRoles") {
        roles.retain(|r| r.as_str().is_some_and(|n| !KEYCLOAK_ROLES.contains(&n) && n != own_default_roles));
        if user.contains_key("serviceAccountClientId") && user.get("realmRoles").is_some_and(|r| !is_empty(r)) {
            return Err(AdminError::bad_request(format!(
                "{what}: a service account holds realm-management roles only, not realm roles"
            )));
        }
    }
    if let Some(Value::Object(by_client)) = user.get("clientRoles") {
        for (client, list) in by_client {
            if client == REALM_MANAGEMENT_CLIENT {
                for role in list.as_array().into_iter().flatten() {
                    if !role.as_str().is_some_and(|r| REALM_MANAGEMENT_ROLES.contains(&r)) {
                        return Err(AdminError::bad_request(format!(
                            "{what}: the realm-management role {role} is not supported"
                        )));
                    }
                }
            } else if !KEYCLOAK_CLIENTS.contains(&client.as_str()) && !is_empty(list) {
                return Err(AdminError::bad_request(format!("{what}: roles of client `{client}` are not supported")));
            }
        }
    }
    Ok(())
}

/// An item's error, saying which item it is.
fn within(what: &str, error: AdminError) -> AdminError {
    match error {
        AdminError::BadRequest(m) | AdminError::Conflict(m) => AdminError::bad_request(format!("{what}: {m}")),
        AdminError::NotFound(m) => AdminError::bad_request(format!("{what}: {m} not found")),
        other => other,
    }
}

/// Creates the contents in the new realm `realm`; on failure deletes the realm.
pub async fn import(
    state: &AppState,
    admin: &Admin,
    realm: &str,
    contents: Contents,
    defaults: Map<String, Value>,
) -> Result<(), AdminError> {
    let result = import_contents(state, admin, realm, contents, defaults).await;
    if result.is_err() {
        remove_realm(state, realm).await;
    }
    result
}

/// Deletes a realm whose import failed; the import's error is the one to report.
pub async fn remove_realm(state: &AppState, realm: &str) {
    let removed = match find_realm(state, realm).await {
        Ok(created) => change_cached(state, realm, None, move |conn| realms::delete(conn, &created.id)).await.map(drop),
        Err(AdminError::NotFound(_)) => Ok(()),
        Err(error) => Err(error),
    };
    if let Err(error) = removed {
        tracing::error!(realm, %error, "a realm whose import failed could not be deleted again");
    }
}

async fn import_contents(
    state: &AppState,
    admin: &Admin,
    realm: &str,
    contents: Contents,
    defaults: Map<String, Value>,
) -> Result<(), AdminError> {
    for scope in contents.scopes {
        let what = format!("clientScopes (`{}`)", name_of(&scope, "name"));
        scope_admin::create_scope(state, admin, realm, scope).await.map_err(|e| within(&what, e))?;
    }
    for role in contents.roles {
        let what = format!("roles.realm (`{}`)", name_of(&role, "name"));
        super::roles::create_role(state, admin, realm, role).await.map_err(|e| within(&what, e))?;
    }
    let row = find_realm(state, realm).await?;
    let known = scope_admin::catalog(state, &row.id).await?;
    set_default_lists(state, admin, realm, defaults, &known).await?;
    for mut client in contents.clients {
        let what = format!("clients (`{}`)", name_of(&client, "clientId"));
        for field in ["defaultClientScopes", "optionalClientScopes"] {
            keep_known(&mut client, field, &known);
        }
        super::clients::create_client(state, admin, realm, client).await.map_err(|e| within(&what, e))?;
    }
    for mut user in contents.users {
        let what = format!("users (`{}`)", name_of(&user, "username"));
        let management = management_roles(&user);
        if let Some(client_id) = user.get("serviceAccountClientId").and_then(Value::as_str) {
            // realmgate makes a client's service account itself; what it keeps is its roles.
            let client_id = client_id.to_owned();
            let found = state.db.run({
                let realm_id = row.id.clone();
                move |conn| clients::find_by_client_id(conn, &realm_id, &client_id)
            });
            let Some(client) = found.await? else {
                return Err(AdminError::bad_request(format!("{what}: the service account of an unknown client")));
            };
            let account = super::clients::service_account_user(state, &client).await.map_err(|e| within(&what, e))?;
            grant_management_roles(state, realm, &row.id, &account.id, management).await?;
            continue;
        }
        user.remove("clientRoles");
        let id = super::users::create_user(state, admin, realm, user).await.map_err(|e| within(&what, e))?;
        grant_management_roles(state, realm, &row.id, &id, management).await?;
    }
    Ok(())
}

/// The realm's default scope lists, without the names it does not have
/// (Keycloak's own scopes), as Keycloak ignores a scope it cannot find.
async fn set_default_lists(
    state: &AppState,
    admin: &Admin,
    realm: &str,
    mut defaults: Map<String, Value>,
    known: &[ScopeEntry],
) -> Result<(), AdminError> {
    if defaults.is_empty() {
        return Ok(());
    }
    for field in [DEFAULT_DEFAULTS, DEFAULT_OPTIONALS] {
        keep_known(&mut defaults, field, known);
    }
    update_realm_from(state, admin, realm, defaults).await
}

/// For a change to a realm: its default-scope lists must name its scopes;
/// Keycloak's own names (which Keycloak-shaped tools send) are left out.
pub fn check_default_lists(map: &mut Map<String, Value>, known: &[ScopeEntry]) -> Result<(), AdminError> {
    for field in [DEFAULT_DEFAULTS, DEFAULT_OPTIONALS] {
        match map.get_mut(field) {
            None | Some(Value::Null) => {}
            Some(Value::Array(names)) => {
                if names.iter().any(|n| !n.is_string()) {
                    return Err(AdminError::bad_request(format!("`{field}` must list scope names")));
                }
                let is_known = |n: &Value| n.as_str().is_some_and(|n| scope_admin::known(known, n));
                names.retain(|n| is_known(n) || n.as_str().is_some_and(|n| !is_keycloak_scope(n)));
                if let Some(unknown) = names.iter().find(|n| !is_known(n)) {
                    return Err(AdminError::bad_request(format!("`{field}`: {unknown} is not a scope of this realm")));
                }
            }
            Some(_) => return Err(AdminError::bad_request(format!("`{field}` must be a list"))),
        }
    }
    if let (Some(Value::Array(defaults)), Some(Value::Array(optionals))) =
        (map.get(DEFAULT_DEFAULTS), map.get(DEFAULT_OPTIONALS))
        && let Some(both) = defaults.iter().find(|n| optionals.contains(n))
    {
        return Err(AdminError::bad_request(format!("{both} cannot be a default and an optional scope at once")));
    }
    Ok(())
}

/// Leaves out of the list `field` the names that are no scope of the realm
/// (an export's lists name Keycloak's scopes and SAML ones).
pub fn keep_known(map: &mut Map<String, Value>, field: &str, known: &[ScopeEntry]) {
    if let Some(Value::Array(names)) = map.get_mut(field) {
        names.retain(|n| n.as_str().is_some_and(|n| scope_admin::known(known, n)));
    }
}

fn management_roles(user: &Map<String, Value>) -> Vec<String> {
    user.get("clientRoles")
        .and_then(|c| c.get(REALM_MANAGEMENT_CLIENT))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect()
}

async fn grant_management_roles(
    state: &AppState,
    realm: &str,
    realm_id: &str,
    user_id: &str,
    roles: Vec<String>,
) -> Result<(), AdminError> {
    if roles.is_empty() {
        return Ok(());
    }
    let (realm_id, user_id) = (realm_id.to_owned(), user_id.to_owned());
    // Cached: a service account's roles go into its tokens.
    change_cached(state, realm, None, move |conn| {
        users::change_admin_roles(conn, &realm_id, &user_id, |held| held.extend(roles))
    })
    .await?;
    Ok(())
}

/// The default scope lists of a realm representation, taken out of it.
pub fn take_default_lists(map: &mut Map<String, Value>) -> Map<String, Value> {
    [DEFAULT_DEFAULTS, DEFAULT_OPTIONALS].iter().filter_map(|f| map.remove(*f).map(|v| ((*f).to_owned(), v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keycloaks_own_contents_are_left_out_and_the_unsupported_refused() {
        let mut map = json!({
            "realm": "shop",
            "roles": {"realm": [{"name": "offline_access"}, {"name": "default-roles-shop"}, {"name": "buyer"}],
                      "client": {"account": [{"name": "view-profile"}], "realm-management": [{"name": "realm-admin"}]}},
            "clients": [{"clientId": "account"}, {"clientId": "shop-web"}],
            "clientScopes": [{"name": "web-origins"}, {"name": "profile"}, {"name": "orders"}],
            "groups": [],
            "components": {"org.keycloak.keys.KeyProvider": [{"name": "rsa-generated"}]},
        })
        .as_object()
        .cloned()
        .unwrap();
        let contents = take_contents(&mut map, "shop").unwrap().unwrap();
        assert_eq!(contents.roles.len(), 1);
        assert_eq!(contents.clients.len(), 1);
        assert_eq!(contents.scopes.len(), 1);
        assert!(!map.contains_key("components") && !map.contains_key("roles"), "contents are not settings");

        for refused in [
            json!({"groups": [{"name": "staff"}]}),
            json!({"identityProviders": [{"alias": "github"}]}),
            json!({"components": {"org.keycloak.storage.UserStorageProvider": [{"name": "ldap"}]}}),
            json!({"roles": {"client": {"shop-web": [{"name": "admin"}]}}}),
            json!({"users": [{"username": "u", "groups": ["/staff"]}]}),
            json!({"users": [{"username": "u", "clientRoles": {"shop-web": ["admin"]}}]}),
            json!({"users": [{"username": "u", "clientRoles": {"realm-management": ["manage-events"]}}]}),
            json!({"users": [{"username": "u", "credentials": [{"type": "otp", "value": "x"}]}]}),
            json!({"users": [{"username": "service-account-s", "serviceAccountClientId": "s", "realmRoles": ["buyer"]}]}),
            json!({"roles": "buyer"}),
        ] {
            let mut map = refused.as_object().cloned().unwrap();
            assert!(take_contents(&mut map, "shop").is_err(), "{refused}");
        }
        let mut plain = json!({"realm": "shop", "groups": [], "users": []}).as_object().cloned().unwrap();
        assert!(take_contents(&mut plain, "shop").unwrap().is_none());
    }
}
