//! The `realms` table.

use diesel::prelude::*;

use crate::domain::realm::{Realm, RealmName, RealmSettings};
use crate::storage::schema::realms;
use crate::storage::{DbConnection, StorageError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = realms)]
pub struct RealmRow {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub enabled: bool,
    pub access_token_lifetime: i64,
    pub id_token_lifetime: i64,
    pub refresh_token_lifetime: i64,
    pub auth_code_lifetime: i64,
    pub device_code_lifetime: i64,
    pub device_poll_interval: i64,
    pub sso_session_idle: i64,
    pub sso_session_max: i64,
    pub signing_algorithm: String,
    pub refresh_token_rotation: bool,
    pub refresh_token_reuse_grace: i64,
    pub query_tokens: bool,
    pub basic_auth: bool,
    pub attributes: String,
    pub created_at: i64,
}

impl RealmRow {
    pub fn new(id: String, name: &RealmName, s: &RealmSettings, created_at: i64) -> Self {
        Self {
            id,
            name: name.as_str().to_owned(),
            display_name: s.display_name.clone(),
            enabled: true,
            access_token_lifetime: s.access_token_lifetime,
            id_token_lifetime: s.id_token_lifetime,
            refresh_token_lifetime: s.refresh_token_lifetime,
            auth_code_lifetime: s.auth_code_lifetime,
            device_code_lifetime: s.device_code_lifetime,
            device_poll_interval: s.device_poll_interval,
            sso_session_idle: s.sso_session_idle,
            sso_session_max: s.sso_session_max,
            signing_algorithm: s.signing_algorithm.as_str().to_owned(),
            refresh_token_rotation: s.refresh_token_rotation,
            refresh_token_reuse_grace: s.refresh_token_reuse_grace,
            query_tokens: s.query_tokens,
            basic_auth: s.basic_auth,
            attributes: "{}".into(),
            created_at,
        }
    }

    pub fn to_domain(&self) -> Result<Realm, StorageError> {
        let corrupt = |e: crate::domain::Invalid| StorageError::Corrupt(e.0);
        Ok(Realm {
            id: self.id.clone(),
            name: RealmName::parse(&self.name).map_err(corrupt)?,
            enabled: self.enabled,
            settings: RealmSettings {
                display_name: self.display_name.clone(),
                access_token_lifetime: self.access_token_lifetime,
                id_token_lifetime: self.id_token_lifetime,
                refresh_token_lifetime: self.refresh_token_lifetime,
                auth_code_lifetime: self.auth_code_lifetime,
                device_code_lifetime: self.device_code_lifetime,
                device_poll_interval: self.device_poll_interval,
                sso_session_idle: self.sso_session_idle,
                sso_session_max: self.sso_session_max,
                signing_algorithm: self.signing_algorithm.parse().map_err(corrupt)?,
                refresh_token_rotation: self.refresh_token_rotation,
                refresh_token_reuse_grace: self.refresh_token_reuse_grace,
                query_tokens: self.query_tokens,
                basic_auth: self.basic_auth,
            },
        })
    }
}

pub fn find_by_name(conn: &mut DbConnection, name: &str) -> Result<Option<RealmRow>, StorageError> {
    Ok(realms::table.filter(realms::name.eq(name)).select(RealmRow::as_select()).first(conn).optional()?)
}

/// A realm's name by its id.
pub fn name_of(conn: &mut DbConnection, id: &str) -> Result<Option<String>, StorageError> {
    Ok(realms::table.filter(realms::id.eq(id)).select(realms::name).first(conn).optional()?)
}

pub fn list_names(conn: &mut DbConnection) -> Result<Vec<String>, StorageError> {
    Ok(realms::table.select(realms::name).order(realms::name.asc()).load(conn)?)
}

/// Realms without a client of this `client_id`: (id, name). Written as
/// `NOT EXISTS`, an anti-join on the clients' (realm, client_id) index:
/// PostgreSQL ran the `!= ALL (subquery)` form as a scan of every client per
/// realm, 2.2 s of each start at 10,000 realms.
pub fn missing_client(conn: &mut DbConnection, client_id: &str) -> Result<Vec<(String, String)>, StorageError> {
    use crate::storage::schema::clients;
    use diesel::dsl::{exists, not};
    let with_it = clients::table.filter(clients::realm_id.eq(realms::id)).filter(clients::client_id.eq(client_id));
    Ok(realms::table.filter(not(exists(with_it))).select((realms::id, realms::name)).load(conn)?)
}

/// Deletes a realm and, by cascade, everything in it.
pub fn delete(conn: &mut DbConnection, id: &str) -> Result<bool, StorageError> {
    Ok(diesel::delete(realms::table.find(id)).execute(conn)? > 0)
}

/// Rewrites a realm's stored attributes (JSON text) from what they are now,
/// read and written in the caller's transaction. Call it after the
/// configuration lock (`change_cached` takes it first), so that concurrent
/// changes add up instead of the last one winning.
pub fn change_attributes(
    conn: &mut DbConnection,
    id: &str,
    change: impl FnOnce(&str) -> String,
) -> Result<(), StorageError> {
    let current: Option<String> = realms::table.find(id).select(realms::attributes).first(conn).optional()?;
    if let Some(current) = current {
        diesel::update(realms::table.find(id)).set(realms::attributes.eq(change(&current))).execute(conn)?;
    }
    Ok(())
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<RealmRow>, StorageError> {
    Ok(realms::table.order(realms::name.asc()).select(RealmRow::as_select()).load(conn)?)
}

/// Ids and stored representation fields of the realms whose fields name
/// `field` (a cheap first cut; the caller reads the value).
pub fn attributes_naming(conn: &mut DbConnection, field: &str) -> Result<Vec<(String, String)>, StorageError> {
    Ok(realms::table
        .filter(realms::attributes.like(format!("%\"{field}\"%")))
        .select((realms::id, realms::attributes))
        .load(conn)?)
}

pub fn insert(conn: &mut DbConnection, row: &RealmRow) -> Result<(), StorageError> {
    diesel::insert_into(realms::table).values(row).execute(conn)?;
    Ok(())
}

pub fn update(conn: &mut DbConnection, row: &RealmRow) -> Result<(), StorageError> {
    diesel::update(realms::table.find(&row.id)).set(row).execute(conn)?;
    Ok(())
}
