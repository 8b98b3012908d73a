//! Prints a realm as a realm file that applies back to the same state.
//! Client secrets and password hashes only with `--with-secrets`.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use crate::crypto::SecretKey;
use crate::domain::client::service_account_username;
use crate::storage::repo::{clients, realms, roles, scopes, users};
use crate::storage::{DbConnection, StorageError, json_list};

#[derive(Serialize)]
struct FileOut {
    realms: Vec<RealmOut>,
}

#[derive(Serialize)]
struct RealmOut {
    name: String,
    display_name: String,
    #[serde(skip_serializing_if = "is_true")]
    enabled: bool,
    access_token_lifetime: String,
    id_token_lifetime: String,
    refresh_token_lifetime: String,
    auth_code_lifetime: String,
    device_code_lifetime: String,
    device_poll_interval: String,
    sso_session_idle: String,
    sso_session_max: String,
    signing_algorithm: String,
    refresh_token_rotation: bool,
    refresh_token_reuse_grace: String,
    query_tokens: bool,
    basic_auth: bool,
    scopes: Vec<ScopeOut>,
    roles: Vec<RoleOut>,
    users: Vec<UserOut>,
    clients: Vec<ClientOut>,
}

#[derive(Serialize)]
struct ScopeOut {
    name: String,
    description: String,
    implies: Vec<String>,
}

#[derive(Serialize)]
struct RoleOut {
    name: String,
    description: String,
    scopes: Vec<String>,
}

#[derive(Serialize)]
struct UserOut {
    username: String,
    #[serde(skip_serializing_if = "is_true")]
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    password_hash: Option<String>,
    /// A password an administrator set as temporary: the user must choose
    /// a new one at the next sign-in, wherever the realm is moved.
    #[serde(skip_serializing_if = "is_false")]
    password_temporary: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    email_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    family_name: Option<String>,
    roles: Vec<String>,
    admin_roles: Vec<String>,
}

#[derive(Serialize)]
struct ClientOut {
    client_id: String,
    /// `""` for a client without a name (one left out would be named by
    /// its `client_id` on import).
    name: String,
    #[serde(skip_serializing_if = "is_true")]
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    grant_types: Vec<String>,
    scopes: Vec<String>,
    consent_required: bool,
}

/// Only a disabled realm, client or user says so: `enabled` defaults to true.
fn is_false(value: &bool) -> bool {
    !*value
}

fn is_true(value: &bool) -> bool {
    *value
}

fn duration(seconds: i64) -> String {
    humantime::format_duration(Duration::from_secs(seconds.max(0) as u64)).to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("realm `{0}` does not exist")]
    NoSuchRealm(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("a client secret could not be decrypted with this secret key")]
    Decrypt,
}

/// The realm named `name` as realm-file TOML.
pub fn export(
    conn: &mut DbConnection,
    secret: &SecretKey,
    name: &str,
    with_secrets: bool,
) -> Result<String, ExportError> {
    let realm = realms::find_by_name(conn, name)?.ok_or_else(|| ExportError::NoSuchRealm(name.to_owned()))?;
    let role_rows = roles::list_by_realm(conn, &realm.id)?;
    let role_names: HashMap<&str, &str> = role_rows.iter().map(|r| (r.id.as_str(), r.name.as_str())).collect();

    let client_rows = clients::list_by_realm(conn, &realm.id)?;
    let mut users_out = Vec::new();
    for user in users::list_by_realm(conn, &realm.id)? {
        // A service account under its client's name now, which is how a
        // realm file names it (the client may have been renamed since).
        let username = match user.service_account_link() {
            Some(link) => client_rows
                .iter()
                .find(|c| user.links(&link, &c.id, &c.client_id))
                .map_or_else(|| user.username.clone(), |c| service_account_username(&c.client_id)),
            None => user.username.clone(),
        };
        let mut roles: Vec<String> = roles::list_role_ids_of_user(conn, &user.id)?
            .iter()
            .filter_map(|id| role_names.get(id.as_str()).map(|n| (*n).to_owned()))
            .collect();
        roles.sort();
        users_out.push(UserOut {
            password_hash: if with_secrets { user.password_hash.clone() } else { None },
            password_temporary: user.password_temporary,
            email_verified: user.email_verified,
            enabled: user.enabled,
            roles,
            admin_roles: json_list(&user.admin_roles)?,
            username,
            email: user.email,
            given_name: user.given_name,
            family_name: user.family_name,
        });
    }

    let mut clients_out = Vec::new();
    for client in client_rows {
        if crate::services::realms::BUILT_IN_CLIENTS.contains(&client.client_id.as_str()) {
            continue;
        }
        let secret_out = match (&client.secret_ciphertext, with_secrets) {
            (Some(sealed), true) => Some(secret.decrypt_text(sealed).map_err(|_| ExportError::Decrypt)?),
            _ => None,
        };
        clients_out.push(ClientOut {
            secret: secret_out,
            redirect_uris: json_list(&client.redirect_uris)?,
            post_logout_redirect_uris: json_list(&client.post_logout_redirect_uris)?,
            grant_types: json_list(&client.grant_types)?,
            scopes: json_list(&client.scopes)?,
            consent_required: client.consent_required,
            enabled: client.enabled,
            client_id: client.client_id,
            name: client.name,
        });
    }

    let scopes_out = scopes::list_by_realm(conn, &realm.id)?
        .into_iter()
        .map(|s| Ok(ScopeOut { implies: json_list(&s.implies)?, name: s.name, description: s.description }))
        .collect::<Result<_, StorageError>>()?;
    let roles_out = role_rows
        .iter()
        .map(|r| {
            Ok(RoleOut { name: r.name.clone(), description: r.description.clone(), scopes: json_list(&r.scopes)? })
        })
        .collect::<Result<_, StorageError>>()?;

    let out = FileOut {
        realms: vec![RealmOut {
            display_name: realm.display_name.clone(),
            enabled: realm.enabled,
            access_token_lifetime: duration(realm.access_token_lifetime),
            id_token_lifetime: duration(realm.id_token_lifetime),
            refresh_token_lifetime: duration(realm.refresh_token_lifetime),
            auth_code_lifetime: duration(realm.auth_code_lifetime),
            device_code_lifetime: duration(realm.device_code_lifetime),
            device_poll_interval: duration(realm.device_poll_interval),
            sso_session_idle: duration(realm.sso_session_idle),
            sso_session_max: duration(realm.sso_session_max),
            signing_algorithm: realm.signing_algorithm.clone(),
            refresh_token_rotation: realm.refresh_token_rotation,
            refresh_token_reuse_grace: duration(realm.refresh_token_reuse_grace),
            query_tokens: realm.query_tokens,
            basic_auth: realm.basic_auth,
            name: realm.name,
            scopes: scopes_out,
            roles: roles_out,
            users: users_out,
            clients: clients_out,
        }],
    };
    Ok(toml::to_string(&out).expect("the export model always serialises"))
}
