//! Applies realm files: every check that needs no database first, then all
//! files in one transaction. Idempotent: applying the same file twice leaves
//! the same state; things the file does not name are left alone.

use std::collections::{HashMap, HashSet};

use diesel::Connection;
use toml::Spanned;

use super::FileError;
use super::model::{ClientDef, ParsedFile, RealmDef, RoleDef, ScopeDef, UserDef};
use crate::clock::UnixTime;
use crate::crypto::{SecretKey, constant_time_eq};
use crate::domain::client::{
    GrantType, POST_LOGOUT_AS_REDIRECT, RedirectUri, SERVICE_ACCOUNT_PREFIX, refuse_service_account_name,
    service_account_username, validate_client_id,
};
use crate::domain::role::validate_role_name;
use crate::domain::scope::{is_built_in, validate_scope_name};
use crate::domain::text::validate_name;
use crate::domain::user::{Username, validate_email};
use crate::services::passwords::{PasswordError, Workspace};
use crate::services::realms::{MASTER_REALM, REALM_MANAGEMENT_ROLES, RealmAdminError, create_realm, update_realm};
use crate::storage::repo::{clients, realms, roles, scopes, users};
use crate::storage::{DbConnection, StorageError, new_id, to_json_list};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Admin(#[from] RealmAdminError),
    #[error(transparent)]
    Password(#[from] PasswordError),
}

impl From<StorageError> for ImportError {
    fn from(e: StorageError) -> Self {
        Self::Admin(e.into())
    }
}

impl From<diesel::result::Error> for ImportError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Admin(e.into())
    }
}

/// Applies `files` all-or-nothing; returns the names of the realms touched.
pub fn apply(
    conn: &mut DbConnection,
    secret: &SecretKey,
    files: &[ParsedFile],
    now: UnixTime,
) -> Result<Vec<String>, ImportError> {
    // A realm in two files would be applied twice, the second file's
    // defaults silently undoing the first's settings.
    let mut defined_in: HashMap<&str, &str> = HashMap::new();
    for file in files {
        check(file)?;
        for realm in &file.file.realms {
            let name = realm.get_ref().name.as_str();
            if let Some(first) = defined_in.insert(name, &file.path) {
                let message = format!("realm `{name}` is already defined in {first}");
                return Err(file.error(&realm.span(), "name", message).into());
            }
        }
    }
    // One argon2 workspace for every password of the import.
    let mut passwords = Workspace::default();
    conn.transaction(|conn| {
        crate::storage::repo::meta::lock(conn)?;
        let mut touched = Vec::new();
        for file in files {
            for realm in &file.file.realms {
                apply_realm(conn, secret, &mut passwords, file, realm.get_ref(), now)?;
                touched.push(realm.get_ref().name.to_string());
            }
        }
        Ok(touched)
    })
}

/// Checks that need no database: names, values and duplicates.
pub fn check(file: &ParsedFile) -> Result<(), FileError> {
    let mut realm_names = HashSet::new();
    for realm in &file.file.realms {
        let def = realm.get_ref();
        if !realm_names.insert(def.name.as_str()) {
            return Err(file.error(&realm.span(), "name", format!("realm `{}` appears twice", def.name)));
        }
        if let Some(display_name) = &def.display_name {
            validate_name(display_name.get_ref()).map_err(|e| file.error(&display_name.span(), "display_name", e.0))?;
        }
        for (field, value) in def.positive_lifetimes() {
            if value.get_ref().0 <= 0 {
                return Err(file.error(&value.span(), field, "must be longer than zero"));
            }
        }
        check_unique(file, def.scopes.iter().map(|s| &s.get_ref().name), "name", |n| n.to_owned())?;
        check_unique(file, def.roles.iter().map(|r| &r.get_ref().name), "name", |n| n.to_owned())?;
        check_unique(file, def.users.iter().map(|u| &u.get_ref().username), "username", |n| n.to_lowercase())?;
        check_unique(file, def.clients.iter().map(|c| &c.get_ref().client_id), "client_id", |n| n.to_owned())?;
        check_unique_emails(file, def)?;
        if let Some(enabled) = def.enabled.as_ref().filter(|e| !e.get_ref() && def.name.as_str() == MASTER_REALM) {
            return Err(file.error(&enabled.span(), "enabled", "the master realm cannot be disabled"));
        }
        for scope in &def.scopes {
            check_scope(file, scope.get_ref())?;
        }
        for role in &def.roles {
            let name = &role.get_ref().name;
            validate_role_name(name.get_ref()).map_err(|e| file.error(&name.span(), "name", e.0))?;
        }
        for user in &def.users {
            check_user(file, user.get_ref())?;
        }
        for client in &def.clients {
            check_client(file, client.get_ref())?;
        }
    }
    Ok(())
}

fn check_unique<'a>(
    file: &ParsedFile,
    names: impl Iterator<Item = &'a Spanned<String>>,
    field: &str,
    normalise: impl Fn(&str) -> String,
) -> Result<(), FileError> {
    let mut seen = HashSet::new();
    for name in names {
        if !seen.insert(normalise(name.get_ref())) {
            return Err(file.error(&name.span(), field, format!("`{}` appears twice in this realm", name.get_ref())));
        }
    }
    Ok(())
}

/// No two users of a realm share an e-mail address (case aside), as in Keycloak.
fn check_unique_emails(file: &ParsedFile, def: &RealmDef) -> Result<(), FileError> {
    let mut seen = HashMap::new();
    for user in &def.users {
        let user = user.get_ref();
        let Some(spanned) = &user.email else { continue };
        let email = spanned.get_ref();
        if let Some(other) = seen.insert(email.to_lowercase(), user.username.get_ref()) {
            let message = format!("`{email}` is also the e-mail address of user `{other}`");
            return Err(file.error(&spanned.span(), "email", message));
        }
    }
    Ok(())
}

fn check_scope(file: &ParsedFile, scope: &ScopeDef) -> Result<(), FileError> {
    let name = &scope.name;
    validate_scope_name(name.get_ref()).map_err(|e| file.error(&name.span(), "name", e.0))?;
    if is_built_in(name.get_ref()) {
        return Err(file.error(&name.span(), "name", format!("`{}` is a built-in scope", name.get_ref())));
    }
    for implied in &scope.implies {
        validate_scope_name(implied.get_ref()).map_err(|e| file.error(&implied.span(), "implies", e.0))?;
    }
    Ok(())
}

fn check_user(file: &ParsedFile, user: &UserDef) -> Result<(), FileError> {
    let name = &user.username;
    Username::parse(name.get_ref()).map_err(|e| file.error(&name.span(), "username", e.0))?;
    for (field, value) in [("given_name", &user.given_name), ("family_name", &user.family_name)] {
        if let Some(value) = value {
            validate_name(value.get_ref()).map_err(|e| file.error(&value.span(), field, e.0))?;
        }
    }
    if let Some(email) = &user.email {
        validate_email(email.get_ref()).map_err(|e| file.error(&email.span(), "email", e.0))?;
    }
    if let Some(hash) = &user.password_hash {
        if user.password.is_some() {
            return Err(file.error(&hash.span(), "password_hash", "give either password or password_hash, not both"));
        }
        // One that can never verify would lock the user out without a word.
        crate::admin::credentials::usable_params(hash.get_ref())
            .map_err(|reason| file.error(&hash.span(), "password_hash", reason))?;
        // The file's author chose it (and an earlier version took it, at
        // every start): said, not refused, unlike a hash sent to the admin API.
        if let Err(cost) = crate::admin::credentials::check_hash_cost(hash.get_ref()) {
            tracing::warn!(
                user = %user.username.get_ref(),
                "password_hash {cost}: every sign-in attempt for this user, by anyone, holds a hashing thread that long"
            );
        }
    }
    if let Some(password) = user.password.as_ref().filter(|p| p.get_ref().is_empty()) {
        return Err(file.error(&password.span(), "password", "must not be empty"));
    }
    for role in &user.admin_roles {
        if !REALM_MANAGEMENT_ROLES.contains(&role.get_ref().as_str()) {
            return Err(file.error(
                &role.span(),
                "admin_roles",
                format!("`{}` is not one of {}", role.get_ref(), REALM_MANAGEMENT_ROLES.join(", ")),
            ));
        }
    }
    Ok(())
}

fn check_client(file: &ParsedFile, client: &ClientDef) -> Result<(), FileError> {
    let id = &client.client_id;
    validate_client_id(id.get_ref()).map_err(|e| file.error(&id.span(), "client_id", e.0))?;
    // `""`: no name (pages show the client_id), as an export writes it.
    if let Some(name) = client.name.as_ref().filter(|name| !name.get_ref().is_empty()) {
        validate_name(name.get_ref()).map_err(|e| file.error(&name.span(), "name", e.0))?;
    }
    if let Some(secret) = &client.secret
        && secret.get_ref().is_empty()
    {
        return Err(file.error(&secret.span(), "secret", "must not be empty (leave it out for a public client)"));
    }
    for grant in client.grant_types.iter().flatten() {
        grant.get_ref().parse::<GrantType>().map_err(|e| file.error(&grant.span(), "grant_types", e.0))?;
    }
    for (field, uris) in
        [("redirect_uris", &client.redirect_uris), ("post_logout_redirect_uris", &client.post_logout_redirect_uris)]
    {
        // Keycloak's `+`: the redirect URIs serve after logout too.
        let plus =
            |uri: &Spanned<String>| field == "post_logout_redirect_uris" && uri.get_ref() == POST_LOGOUT_AS_REDIRECT;
        for uri in uris.iter().filter(|uri| !plus(uri)) {
            RedirectUri::parse_exact(uri.get_ref()).map_err(|e| file.error(&uri.span(), field, e.0))?;
        }
    }
    for scope in client.scopes.iter().flatten() {
        validate_scope_name(scope.get_ref()).map_err(|e| file.error(&scope.span(), "scopes", e.0))?;
    }
    Ok(())
}

fn apply_realm(
    conn: &mut DbConnection,
    secret: &SecretKey,
    passwords: &mut Workspace,
    file: &ParsedFile,
    def: &RealmDef,
    now: UnixTime,
) -> Result<(), ImportError> {
    let settings = def.settings();
    let mut realm = match realms::find_by_name(conn, def.name.as_str())? {
        Some(existing) => update_realm(conn, secret, &existing, &settings, now)?,
        None => create_realm(conn, secret, &def.name, &settings, now)?,
    };
    if let Some(enabled) = def.enabled.as_ref().map(|e| *e.get_ref()).filter(|e| *e != realm.enabled) {
        realm.enabled = enabled;
        realms::update(conn, &realm)?;
    }

    let existing_scopes: HashMap<String, scopes::ScopeRow> =
        scopes::list_by_realm(conn, &realm.id)?.into_iter().map(|s| (s.name.clone(), s)).collect();
    let mut known: HashSet<String> = existing_scopes.keys().cloned().collect();
    known.extend(def.scopes.iter().map(|s| s.get_ref().name.get_ref().clone()));
    // A scope only named in an `implies` is defined by it, plainly (SPEC
    // §2's own example implies `roms.read` without a table of its own).
    for implied in def.scopes.iter().flat_map(|s| &s.get_ref().implies) {
        let name = implied.get_ref();
        if is_built_in(name) || known.contains(name) {
            continue;
        }
        let row = scopes::ScopeRow {
            id: new_id(),
            realm_id: realm.id.clone(),
            name: name.clone(),
            description: String::new(),
            implies: to_json_list::<&str>(&[]),
            attributes: "{}".into(),
        };
        scopes::insert(conn, &row)?;
        known.insert(name.clone());
    }
    let check_known = |refs: &[Spanned<String>], field: &str| -> Result<(), FileError> {
        for r in refs {
            if !is_built_in(r.get_ref()) && !known.contains(r.get_ref()) {
                return Err(file.error(
                    &r.span(),
                    field,
                    format!("scope `{}` is not defined in this realm", r.get_ref()),
                ));
            }
        }
        Ok(())
    };
    for scope in &def.scopes {
        let scope = scope.get_ref();
        check_known(&scope.implies, "implies")?;
        let row = scopes::ScopeRow {
            id: existing_scopes.get(scope.name.get_ref()).map_or_else(new_id, |s| s.id.clone()),
            realm_id: realm.id.clone(),
            name: scope.name.get_ref().clone(),
            description: scope.description.clone(),
            implies: to_json_list(&names(&scope.implies)),
            // What the admin API keeps beyond the file's fields stays.
            attributes: existing_scopes.get(scope.name.get_ref()).map_or_else(|| "{}".into(), |s| s.attributes.clone()),
        };
        if existing_scopes.contains_key(&row.name) {
            scopes::update(conn, &row)?;
        } else {
            scopes::insert(conn, &row)?;
        }
    }

    let existing_roles = roles::list_by_realm(conn, &realm.id)?;
    let role_attributes: HashMap<String, String> =
        existing_roles.iter().map(|r| (r.name.clone(), r.attributes.clone())).collect();
    let mut role_ids: HashMap<String, String> = existing_roles.into_iter().map(|r| (r.name, r.id)).collect();
    for role in &def.roles {
        let role: &RoleDef = role.get_ref();
        check_known(&role.scopes, "scopes")?;
        let existing = role_ids.get(role.name.get_ref()).cloned();
        let row = roles::RoleRow {
            id: existing.clone().unwrap_or_else(new_id),
            realm_id: realm.id.clone(),
            name: role.name.get_ref().clone(),
            description: role.description.clone(),
            scopes: to_json_list(&names(&role.scopes)),
            attributes: role_attributes.get(role.name.get_ref()).cloned().unwrap_or_else(|| "{}".into()),
        };
        if existing.is_some() {
            roles::update(conn, &row)?;
        } else {
            roles::insert(conn, &row)?;
            role_ids.insert(row.name.clone(), row.id.clone());
        }
    }

    for client in &def.clients {
        let client = client.get_ref();
        if let Some(scopes) = &client.scopes {
            check_known(scopes, "scopes")?;
        }
        apply_client(conn, secret, file, &realm.id, client, now)?;
    }

    // A user named as a client's service account (`service-account-<client>`,
    // as an export prints it) is that account again, so the client's tokens
    // carry its administration roles.
    let service_accounts: HashMap<String, String> = clients::list_by_realm(conn, &realm.id)?
        .into_iter()
        .map(|c| (service_account_username(&c.client_id), c.id))
        .collect();
    let known = Known { roles: &role_ids, service_accounts: &service_accounts };
    for user in &def.users {
        apply_user(conn, passwords, file, &realm.id, user.get_ref(), &known, now)?;
    }
    // After all of the file's users, so that two of them may swap addresses.
    for user in &def.users {
        let user = user.get_ref();
        let Some(spanned) = &user.email else { continue };
        let email = spanned.get_ref().as_str();
        let username = Username::parse(user.username.get_ref()).expect("checked before the transaction");
        let id = users::find_by_username(conn, &realm.id, username.as_str())?.map(|u| u.id);
        if users::email_taken(conn, &realm.id, email, id.as_deref())? {
            let message = format!("`{email}` is the e-mail address of another user of this realm");
            return Err(file.error(&spanned.span(), "email", message).into());
        }
    }
    Ok(())
}

/// The names a list gives, each once: a name listed twice means it once
/// (stored twice, a role would break its mapping's unique key).
fn names(items: &[Spanned<String>]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::with_capacity(items.len());
    for name in items.iter().map(|s| s.get_ref().as_str()) {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

fn apply_client(
    conn: &mut DbConnection,
    secret: &SecretKey,
    file: &ParsedFile,
    realm_id: &str,
    def: &ClientDef,
    now: UnixTime,
) -> Result<(), ImportError> {
    let client_id = def.client_id.get_ref();
    let existing = clients::find_by_client_id(conn, realm_id, client_id)?;
    // An existing secret is kept when the file leaves it out (an export
    // without secrets re-applied must not turn clients public); a secret
    // that did not change keeps its ciphertext.
    let secret_ciphertext = match (&def.secret, &existing) {
        (Some(new), Some(old)) => match &old.secret_ciphertext {
            Some(sealed)
                if secret.decrypt(sealed).is_ok_and(|plain| constant_time_eq(&plain, new.get_ref().as_bytes())) =>
            {
                Some(sealed.clone())
            }
            _ => Some(secret.encrypt(new.get_ref().as_bytes())),
        },
        (Some(new), None) => Some(secret.encrypt(new.get_ref().as_bytes())),
        (None, Some(old)) => old.secret_ciphertext.clone(),
        (None, None) => None,
    };
    if secret_ciphertext.is_none() {
        let cc = def.grant_types.iter().flatten().find(|g| g.get_ref() == GrantType::ClientCredentials.as_str());
        if let Some(grant) = cc {
            return Err(file
                .error(&grant.span(), "grant_types", "client_credentials needs a client with a secret (a `realm export` leaves secrets out unless given --with-secrets)")
                .into());
        }
    }
    let grant_types: Vec<&str> = match &def.grant_types {
        Some(list) => names(list),
        None => vec![GrantType::AuthorizationCode.as_str(), GrantType::RefreshToken.as_str()],
    };
    let scopes: Vec<&str> = match &def.scopes {
        Some(list) => names(list),
        None => vec!["openid"],
    };
    let row = clients::ClientRow {
        id: existing.as_ref().map_or_else(new_id, |c| c.id.clone()),
        realm_id: realm_id.to_owned(),
        client_id: client_id.clone(),
        name: def.name.as_ref().map_or_else(|| client_id.clone(), |name| name.get_ref().clone()),
        secret_ciphertext,
        redirect_uris: to_json_list(&names(&def.redirect_uris)),
        post_logout_redirect_uris: to_json_list(&names(&def.post_logout_redirect_uris)),
        grant_types: to_json_list(&grant_types),
        scopes: to_json_list(&scopes),
        consent_required: def.consent_required.unwrap_or(false),
        enabled: def.enabled.unwrap_or(existing.as_ref().is_none_or(|c| c.enabled)),
        attributes: existing.as_ref().map_or_else(|| "{}".into(), |c| c.attributes.clone()),
        created_at: existing.as_ref().map_or(now, |c| c.created_at),
    };
    if existing.is_some() {
        clients::update(conn, &row)?;
    } else {
        clients::insert(conn, &row)?;
    }
    Ok(())
}

/// What a realm's users refer to: role ids by name, and client ids by the
/// name of their service-account user.
struct Known<'a> {
    roles: &'a HashMap<String, String>,
    service_accounts: &'a HashMap<String, String>,
}

/// A user's stored attributes: what the admin API kept stays, and a user
/// named as a client's service account without a link gets one.
fn user_attributes(existing: Option<&users::UserRow>, service_account_of: Option<&String>) -> String {
    let current = existing.map_or("{}", |u| u.attributes.as_str());
    let unlinked = existing.is_none_or(|u| u.service_account_link().is_none());
    let Some(client) = service_account_of.filter(|_| unlinked) else {
        return current.to_owned();
    };
    let mut attributes: serde_json::Map<String, serde_json::Value> = serde_json::from_str(current).unwrap_or_default();
    attributes.insert("serviceAccountClientId".into(), client.clone().into());
    serde_json::Value::Object(attributes).to_string()
}

fn apply_user(
    conn: &mut DbConnection,
    passwords: &mut Workspace,
    file: &ParsedFile,
    realm_id: &str,
    def: &UserDef,
    known: &Known<'_>,
    now: UnixTime,
) -> Result<(), ImportError> {
    let username = Username::parse(def.username.get_ref()).expect("checked before the transaction");
    let mut roles = Vec::new();
    for role in &def.roles {
        let id = known.roles.get(role.get_ref()).ok_or_else(|| {
            file.error(&role.span(), "roles", format!("role `{}` is not defined in this realm", role.get_ref()))
        })?;
        if !roles.contains(id) {
            roles.push(id.clone());
        }
    }
    let account_of = known.service_accounts.get(username.as_str());
    // A client's account is found by its link first: made before the client
    // was renamed, it keeps the name it had then (exports print the current one).
    let linked = match account_of {
        Some(client_row_id) => {
            let client_id = &username.as_str()[SERVICE_ACCOUNT_PREFIX.len()..];
            users::find_service_account(conn, realm_id, client_row_id, client_id)?
        }
        None => None,
    };
    let existing = match linked {
        Some(user) => Some(user),
        None => users::find_by_username(conn, realm_id, username.as_str())?,
    };
    // A user stored already keeps its name (one made before such names
    // were kept for service accounts).
    if existing.is_none() && account_of.is_none() {
        refuse_service_account_name(username.as_str()).map_err(|e| {
            file.error(&def.username.span(), "username", format!("{}: no client of this realm has it", e.0))
        })?;
    }
    let old_hash = existing.as_ref().and_then(|u| u.password_hash.clone());
    let password_hash = match (&def.password, &def.password_hash) {
        (Some(password), _) => match old_hash {
            Some(hash) if passwords.verify(&hash, password.get_ref()) => Some(hash),
            _ => Some(passwords.hash(password.get_ref())?),
        },
        (None, Some(hash)) => Some(hash.get_ref().clone()),
        (None, None) => old_hash,
    };
    let admin_roles: Vec<&str> = names(&def.admin_roles);
    // Unless the file says, a temporary password stays temporary only
    // while it is the same password.
    let password_temporary = def
        .password_temporary
        .unwrap_or_else(|| existing.as_ref().is_some_and(|u| u.password_temporary && u.password_hash == password_hash));
    let row = users::UserRow {
        id: existing.as_ref().map_or_else(new_id, |u| u.id.clone()),
        realm_id: realm_id.to_owned(),
        username: existing.as_ref().map_or_else(|| username.as_str().to_owned(), |u| u.username.clone()),
        email: def.email.as_ref().map(|e| e.get_ref().to_lowercase()),
        email_verified: def.email_verified.unwrap_or(false),
        given_name: def.given_name.as_ref().map(|name| name.get_ref().clone()),
        family_name: def.family_name.as_ref().map(|name| name.get_ref().clone()),
        password_hash,
        enabled: def.enabled.unwrap_or(existing.as_ref().is_none_or(|u| u.enabled)),
        admin_roles: to_json_list(&admin_roles),
        attributes: user_attributes(existing.as_ref(), account_of),
        created_at: existing.as_ref().map_or(now, |u| u.created_at),
        password_temporary,
    };
    if existing.is_some() {
        users::update(conn, &row)?;
    } else {
        users::insert(conn, &row)?;
    }
    roles::set_user_roles(conn, &row.id, &roles)?;
    Ok(())
}
