//! Realm lifecycle shared by the realm file, the CLI and start-up: creating
//! a realm with its first key, rotating keys, the `master` realm and the
//! bootstrap administrator. Every function runs inside the caller's
//! transaction; those that change cached realm data record the change epoch
//! first (users are never cached, so user writes do not).

use crate::clock::UnixTime;
use crate::crypto::SecretKey;
use crate::domain::client::GrantType;
use crate::domain::realm::{RealmName, RealmSettings, SigningAlgorithm};
use crate::storage::repo::{clients, keys, meta, realms, roles, users};
use crate::storage::{DbConnection, StorageError, new_id, to_json_list};
use crate::tokens::keys::{KeyError, NewKey};

pub const MASTER_REALM: &str = "master";
pub const ADMIN_CLI_CLIENT: &str = "admin-cli";
pub const MASTER_ADMIN_ROLE: &str = "admin";
/// The client whose roles delegate the administration of one realm (SPEC §6).
pub const REALM_MANAGEMENT_CLIENT: &str = "realm-management";
/// Clients every realm has, as in Keycloak; realm files neither list nor export them.
pub const BUILT_IN_CLIENTS: [&str; 2] = [ADMIN_CLI_CLIENT, REALM_MANAGEMENT_CLIENT];
/// The roles of the built-in `realm-management` client (SPEC §6).
pub const REALM_MANAGEMENT_ROLES: [&str; 9] = [
    "realm-admin",
    "manage-realm",
    "view-realm",
    "manage-users",
    "view-users",
    "query-users",
    "manage-clients",
    "view-clients",
    "query-clients",
];
/// Whether holding `composite` holds `role` too, as Keycloak's composite
/// `realm-management` roles do (`realm-admin` all of them, `view-users`
/// `query-users`, `view-clients` `query-clients`).
pub fn management_role_includes(composite: &str, role: &str) -> bool {
    composite == role
        || match composite {
            "realm-admin" => REALM_MANAGEMENT_ROLES.contains(&role),
            "view-users" => role == "query-users",
            "view-clients" => role == "query-clients",
            _ => false,
        }
}

/// Extra time a retired key stays published, for clock skew between nodes
/// and for a node that signs with it until it notices the rotation.
const RETIRED_KEY_MARGIN_SECS: i64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum RealmAdminError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("realm `{0}` does not exist")]
    NoSuchRealm(String),
    #[error("user `{0}` already exists")]
    UserExists(String),
}

/// Inside a storage transaction every realm-service failure is a storage
/// failure (key generation and lookups cannot fail for the caller's input there).
impl From<RealmAdminError> for StorageError {
    fn from(e: RealmAdminError) -> Self {
        match e {
            RealmAdminError::Storage(s) => s,
            other => StorageError::Corrupt(other.to_string()),
        }
    }
}

impl From<diesel::result::Error> for RealmAdminError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Storage(e.into())
    }
}

/// Creates a realm and its first signing key.
pub fn create_realm(
    conn: &mut DbConnection,
    secret: &SecretKey,
    name: &RealmName,
    settings: &RealmSettings,
    now: UnixTime,
) -> Result<realms::RealmRow, RealmAdminError> {
    meta::bump_epoch(conn, name.as_str(), now)?;
    let row = realms::RealmRow::new(new_id(), name, settings, now);
    realms::insert(conn, &row)?;
    let key = NewKey::generate(settings.signing_algorithm)?;
    keys::insert(conn, &key.into_row(secret, &row.id, now))?;
    insert_built_in_clients(conn, &row.id, now)?;
    Ok(row)
}

/// `admin-cli` (public, password grant: how admin tools sign in) and
/// `realm-management` (no grants: it only holds the administration roles).
fn insert_built_in_clients(conn: &mut DbConnection, realm_id: &str, now: UnixTime) -> Result<(), StorageError> {
    let existing = clients::list_by_realm(conn, realm_id)?;
    for client_id in BUILT_IN_CLIENTS {
        if existing.iter().any(|c| c.client_id == client_id) {
            continue;
        }
        let (name, grants, scopes): (&str, Vec<&str>, Vec<&str>) = if client_id == ADMIN_CLI_CLIENT {
            (
                "Admin CLI",
                vec![GrantType::Password.as_str(), GrantType::RefreshToken.as_str()],
                vec!["openid", "profile", "email"],
            )
        } else {
            ("Realm management", vec![], vec![])
        };
        clients::insert(
            conn,
            &clients::ClientRow {
                id: new_id(),
                realm_id: realm_id.to_owned(),
                client_id: client_id.into(),
                name: name.into(),
                secret_ciphertext: None,
                redirect_uris: "[]".into(),
                post_logout_redirect_uris: "[]".into(),
                grant_types: to_json_list(&grants),
                scopes: to_json_list(&scopes),
                consent_required: false,
                enabled: true,
                attributes: "{}".into(),
                created_at: now,
            },
        )?;
    }
    Ok(())
}

/// Updates a realm's settings; a new signing algorithm rotates in a key of it.
pub fn update_realm(
    conn: &mut DbConnection,
    secret: &SecretKey,
    existing: &realms::RealmRow,
    settings: &RealmSettings,
    now: UnixTime,
) -> Result<realms::RealmRow, RealmAdminError> {
    meta::bump_epoch(conn, &existing.name, now)?;
    let name = RealmName::parse(&existing.name).map_err(|e| StorageError::Corrupt(e.0))?;
    let mut row = realms::RealmRow::new(existing.id.clone(), &name, settings, existing.created_at);
    row.enabled = existing.enabled;
    row.attributes = existing.attributes.clone();
    realms::update(conn, &row)?;
    let (was, will) = (longest_token_lifetime(existing), longest_token_lifetime(&row));
    // Also when only access tokens get shorter: revocations last as long as
    // this floor says tokens signed before may live.
    if will < was || row.access_token_lifetime < existing.access_token_lifetime {
        keys::raise_publish_floor(conn, &existing.id, now + was + RETIRED_KEY_MARGIN_SECS)?;
    }
    if existing.signing_algorithm != settings.signing_algorithm.as_str() {
        rotate_key(conn, secret, &row, settings.signing_algorithm, now)?;
    }
    Ok(row)
}

/// Adds a new active key; the old one stays published until every token it
/// signed has expired.
pub fn rotate_key(
    conn: &mut DbConnection,
    secret: &SecretKey,
    realm: &realms::RealmRow,
    algorithm: SigningAlgorithm,
    now: UnixTime,
) -> Result<String, RealmAdminError> {
    meta::bump_epoch(conn, &realm.name, now)?;
    let longest = longest_token_lifetime(realm);
    keys::retire_active(conn, &realm.id, now, now + longest + RETIRED_KEY_MARGIN_SECS)?;
    let key = NewKey::generate(algorithm)?;
    let kid = key.kid.clone();
    keys::insert(conn, &key.into_row(secret, &realm.id, now))?;
    Ok(kid)
}

/// How long the longest-lived token a realm's key signs may live.
fn longest_token_lifetime(realm: &realms::RealmRow) -> i64 {
    realm.access_token_lifetime.max(realm.id_token_lifetime)
}

/// Rotates the named realm's key, keeping its algorithm.
pub fn rotate_realm_key(
    conn: &mut DbConnection,
    secret: &SecretKey,
    realm_name: &str,
    now: UnixTime,
) -> Result<String, RealmAdminError> {
    let realm =
        realms::find_by_name(conn, realm_name)?.ok_or_else(|| RealmAdminError::NoSuchRealm(realm_name.into()))?;
    let algorithm = realm.signing_algorithm.parse().map_err(|e: crate::domain::Invalid| StorageError::Corrupt(e.0))?;
    rotate_key(conn, secret, &realm, algorithm, now)
}

/// Makes sure the `master` realm exists with its `admin-cli` client and `admin` role.
pub fn ensure_master(conn: &mut DbConnection, secret: &SecretKey, now: UnixTime) -> Result<(), RealmAdminError> {
    meta::lock(conn)?;
    // Realms made before the built-in clients existed get them once.
    for (realm_id, realm_name) in realms::missing_client(conn, REALM_MANAGEMENT_CLIENT)? {
        meta::bump_epoch(conn, &realm_name, now)?;
        insert_built_in_clients(conn, &realm_id, now)?;
    }
    if realms::find_by_name(conn, MASTER_REALM)?.is_some() {
        return Ok(());
    }
    let name = RealmName::parse(MASTER_REALM).expect("constant realm name is valid");
    let mut settings = RealmSettings::defaults(&name);
    settings.display_name = "Master".into();
    let realm = create_realm(conn, secret, &name, &settings, now)?;
    roles::insert(
        conn,
        &roles::RoleRow {
            id: new_id(),
            realm_id: realm.id,
            name: MASTER_ADMIN_ROLE.into(),
            description: "Administers every realm".into(),
            scopes: "[]".into(),
            attributes: "{}".into(),
        },
    )?;
    Ok(())
}

/// Creates the bootstrap administrator in `master` while `master` has no users.
/// Runs inside the caller's transaction.
pub fn ensure_bootstrap_admin(
    conn: &mut DbConnection,
    username: &crate::domain::user::Username,
    password_hash: &str,
    now: UnixTime,
) -> Result<bool, RealmAdminError> {
    meta::lock(conn)?;
    let master =
        realms::find_by_name(conn, MASTER_REALM)?.ok_or_else(|| RealmAdminError::NoSuchRealm(MASTER_REALM.into()))?;
    // Keycloak's rule: a bootstrap administrator only for a master realm
    // without users, so a later start with another name adds no one.
    if users::count_by_realm(conn, &master.id)? > 0 {
        return Ok(false);
    }
    let user_id = new_id();
    users::insert(conn, &new_user_row(&user_id, &master.id, username, Some(password_hash.to_owned()), now))?;
    let admin_role = roles::list_by_realm(conn, &master.id)?
        .into_iter()
        .find(|r| r.name == MASTER_ADMIN_ROLE)
        .ok_or_else(|| StorageError::Corrupt("the master realm has no admin role".into()))?;
    roles::set_user_roles(conn, &user_id, &[admin_role.id])?;
    Ok(true)
}

/// Creates a user (the CLI's `user add`).
pub fn add_user(
    conn: &mut DbConnection,
    realm_name: &str,
    username: &crate::domain::user::Username,
    password_hash: Option<String>,
    now: UnixTime,
) -> Result<String, RealmAdminError> {
    let realm =
        realms::find_by_name(conn, realm_name)?.ok_or_else(|| RealmAdminError::NoSuchRealm(realm_name.into()))?;
    if users::find_by_username(conn, &realm.id, username.as_str())?.is_some() {
        return Err(RealmAdminError::UserExists(username.to_string()));
    }
    let id = new_id();
    users::insert(conn, &new_user_row(&id, &realm.id, username, password_hash, now))?;
    Ok(id)
}

pub fn new_user_row(
    id: &str,
    realm_id: &str,
    username: &crate::domain::user::Username,
    password_hash: Option<String>,
    now: UnixTime,
) -> users::UserRow {
    users::UserRow {
        id: id.to_owned(),
        realm_id: realm_id.to_owned(),
        username: username.as_str().to_owned(),
        email: None,
        email_verified: false,
        given_name: None,
        family_name: None,
        password_hash,
        enabled: true,
        admin_roles: "[]".into(),
        attributes: "{}".into(),
        created_at: now,
        password_temporary: false,
    }
}
