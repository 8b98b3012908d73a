//! The realm's custom scopes (`scopes` table).

use diesel::prelude::*;

use crate::storage::schema::scopes;
use crate::storage::{DbConnection, StorageError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = scopes)]
pub struct ScopeRow {
    pub id: String,
    pub realm_id: String,
    pub name: String,
    pub description: String,
    /// JSON list of scope names.
    pub implies: String,
    /// The unmodelled part of its admin representation (a JSON object).
    pub attributes: String,
}

pub fn list_by_realm(conn: &mut DbConnection, realm_id: &str) -> Result<Vec<ScopeRow>, StorageError> {
    Ok(scopes::table
        .filter(scopes::realm_id.eq(realm_id))
        .order(scopes::name.asc())
        .select(ScopeRow::as_select())
        .load(conn)?)
}

pub fn find_by_id(conn: &mut DbConnection, realm_id: &str, id: &str) -> Result<Option<ScopeRow>, StorageError> {
    Ok(scopes::table
        .filter(scopes::realm_id.eq(realm_id))
        .filter(scopes::id.eq(id))
        .select(ScopeRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert(conn: &mut DbConnection, row: &ScopeRow) -> Result<(), StorageError> {
    diesel::insert_into(scopes::table).values(row).execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id: &str) -> Result<bool, StorageError> {
    Ok(diesel::delete(scopes::table.find(id)).execute(conn)? > 0)
}

pub fn update(conn: &mut DbConnection, row: &ScopeRow) -> Result<(), StorageError> {
    diesel::update(scopes::table.find(&row.id)).set(row).execute(conn)?;
    Ok(())
}
