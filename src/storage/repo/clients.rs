//! The `clients` table.

use diesel::prelude::*;

use crate::storage::schema::clients;
use crate::storage::{DbConnection, StorageError};

#[derive(Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = clients, treat_none_as_null = true)]
pub struct ClientRow {
    pub id: String,
    pub realm_id: String,
    pub client_id: String,
    pub name: String,
    /// The secret sealed with the server's secret key; `None` for public clients.
    pub secret_ciphertext: Option<Vec<u8>>,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub grant_types: String,
    pub scopes: String,
    pub consent_required: bool,
    pub enabled: bool,
    pub attributes: String,
    pub created_at: i64,
}

impl ClientRow {
    /// Whether it has a service account: it may use client credentials.
    pub fn has_service_account(&self) -> Result<bool, StorageError> {
        let grants = crate::storage::json_list(&self.grant_types)?;
        Ok(grants.iter().any(|g| g == crate::domain::client::GrantType::ClientCredentials.as_str()))
    }
}

impl std::fmt::Debug for ClientRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRow").field("id", &self.id).field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

pub fn list_by_realm(conn: &mut DbConnection, realm_id: &str) -> Result<Vec<ClientRow>, StorageError> {
    Ok(clients::table
        .filter(clients::realm_id.eq(realm_id))
        .order(clients::client_id.asc())
        .select(ClientRow::as_select())
        .load(conn)?)
}

pub fn find_by_client_id(
    conn: &mut DbConnection,
    realm_id: &str,
    client_id: &str,
) -> Result<Option<ClientRow>, StorageError> {
    Ok(clients::table
        .filter(clients::realm_id.eq(realm_id))
        .filter(clients::client_id.eq(client_id))
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_id(conn: &mut DbConnection, realm_id: &str, id: &str) -> Result<Option<ClientRow>, StorageError> {
    Ok(clients::table
        .filter(clients::realm_id.eq(realm_id))
        .filter(clients::id.eq(id))
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn delete(conn: &mut DbConnection, id: &str) -> Result<bool, StorageError> {
    Ok(diesel::delete(clients::table.find(id)).execute(conn)? > 0)
}

pub fn insert(conn: &mut DbConnection, row: &ClientRow) -> Result<(), StorageError> {
    diesel::insert_into(clients::table).values(row).execute(conn)?;
    Ok(())
}

pub fn update(conn: &mut DbConnection, row: &ClientRow) -> Result<(), StorageError> {
    diesel::update(clients::table.find(&row.id)).set(row).execute(conn)?;
    Ok(())
}

/// Replaces a client's sealed secret, and nothing else of it.
pub fn set_secret(conn: &mut DbConnection, id: &str, sealed: &[u8]) -> Result<(), StorageError> {
    diesel::update(clients::table.find(id)).set(clients::secret_ciphertext.eq(sealed)).execute(conn)?;
    Ok(())
}
