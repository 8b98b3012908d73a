//! Realm roles (`roles` table) and the user ↔ role mapping.

use diesel::prelude::*;

use crate::storage::schema::{roles, user_roles};
use crate::storage::{DbConnection, StorageError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = roles)]
pub struct RoleRow {
    pub id: String,
    pub realm_id: String,
    pub name: String,
    pub description: String,
    /// JSON list of the scopes a holder may be granted.
    pub scopes: String,
    /// The unmodelled part of its admin representation (a JSON object).
    pub attributes: String,
}

pub fn list_by_realm(conn: &mut DbConnection, realm_id: &str) -> Result<Vec<RoleRow>, StorageError> {
    Ok(roles::table
        .filter(roles::realm_id.eq(realm_id))
        .order(roles::name.asc())
        .select(RoleRow::as_select())
        .load(conn)?)
}

pub fn find_by_id(conn: &mut DbConnection, realm_id: &str, id: &str) -> Result<Option<RoleRow>, StorageError> {
    Ok(roles::table
        .filter(roles::realm_id.eq(realm_id))
        .filter(roles::id.eq(id))
        .select(RoleRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert(conn: &mut DbConnection, row: &RoleRow) -> Result<(), StorageError> {
    diesel::insert_into(roles::table).values(row).execute(conn)?;
    Ok(())
}

pub fn update(conn: &mut DbConnection, row: &RoleRow) -> Result<(), StorageError> {
    diesel::update(roles::table.find(&row.id)).set(row).execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id: &str) -> Result<bool, StorageError> {
    Ok(diesel::delete(roles::table.find(id)).execute(conn)? > 0)
}

/// The names of the roles a user holds.
pub fn role_names_of_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<String>, StorageError> {
    Ok(user_roles::table
        .inner_join(roles::table)
        .filter(user_roles::user_id.eq(user_id))
        .select(roles::name)
        .load(conn)?)
}

/// The ids of the roles a user holds.
pub fn list_role_ids_of_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<String>, StorageError> {
    let query = user_roles::table.filter(user_roles::user_id.eq(user_id)).select(user_roles::role_id);
    Ok(native!(conn, |c| query.load(c))?)
}

/// Grants a user roles; those already held stay as they are (a concurrent
/// grant of the same role is no conflict).
pub fn grant_user_roles(conn: &mut DbConnection, user_id: &str, role_ids: &[String]) -> Result<(), StorageError> {
    for role_id in role_ids {
        let row = (user_roles::user_id.eq(user_id), user_roles::role_id.eq(role_id));
        native!(conn, |c| diesel::insert_into(user_roles::table).values(row).on_conflict_do_nothing().execute(c))?;
    }
    Ok(())
}

/// Takes roles away from a user.
pub fn revoke_user_roles(conn: &mut DbConnection, user_id: &str, role_ids: &[String]) -> Result<(), StorageError> {
    diesel::delete(
        user_roles::table.filter(user_roles::user_id.eq(user_id)).filter(user_roles::role_id.eq_any(role_ids)),
    )
    .execute(conn)?;
    Ok(())
}

/// Replaces a user's roles with exactly `role_ids`.
pub fn set_user_roles(conn: &mut DbConnection, user_id: &str, role_ids: &[String]) -> Result<(), StorageError> {
    diesel::delete(user_roles::table.filter(user_roles::user_id.eq(user_id))).execute(conn)?;
    for role_id in role_ids {
        diesel::insert_into(user_roles::table)
            .values((user_roles::user_id.eq(user_id), user_roles::role_id.eq(role_id)))
            .execute(conn)?;
    }
    Ok(())
}
