//! The `users` table.

use diesel::prelude::*;

use crate::domain::user::User;
use crate::storage::schema::users;
use crate::storage::{DbConnection, StorageError};

#[derive(Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
pub struct UserRow {
    pub id: String,
    pub realm_id: String,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub password_hash: Option<String>,
    pub enabled: bool,
    /// JSON list of `realm-management` roles (SPEC §6).
    pub admin_roles: String,
    pub attributes: String,
    pub created_at: i64,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow").field("id", &self.id).field("username", &self.username).finish_non_exhaustive()
    }
}

impl UserRow {
    pub fn to_domain(&self) -> User {
        User {
            id: self.id.clone(),
            username: self.username.clone(),
            email: self.email.clone(),
            email_verified: self.email_verified,
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            enabled: self.enabled,
            password_hash: self.password_hash.clone(),
        }
    }
}

pub fn find_by_username(
    conn: &mut DbConnection,
    realm_id: &str,
    username: &str,
) -> Result<Option<UserRow>, StorageError> {
    Ok(users::table
        .filter(users::realm_id.eq(realm_id))
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// A user by email, only when exactly one user of the realm has it.
pub fn find_by_unique_email(
    conn: &mut DbConnection,
    realm_id: &str,
    email: &str,
) -> Result<Option<UserRow>, StorageError> {
    let mut rows: Vec<UserRow> = users::table
        .filter(users::realm_id.eq(realm_id))
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .limit(2)
        .load(conn)?;
    Ok(if rows.len() == 1 { rows.pop() } else { None })
}

pub fn find_by_id(conn: &mut DbConnection, realm_id: &str, id: &str) -> Result<Option<UserRow>, StorageError> {
    Ok(users::table
        .filter(users::realm_id.eq(realm_id))
        .filter(users::id.eq(id))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn list_by_realm(conn: &mut DbConnection, realm_id: &str) -> Result<Vec<UserRow>, StorageError> {
    Ok(users::table
        .filter(users::realm_id.eq(realm_id))
        .order(users::username.asc())
        .select(UserRow::as_select())
        .load(conn)?)
}

pub fn insert(conn: &mut DbConnection, row: &UserRow) -> Result<(), StorageError> {
    diesel::insert_into(users::table).values(row).execute(conn)?;
    Ok(())
}

pub fn update(conn: &mut DbConnection, row: &UserRow) -> Result<(), StorageError> {
    diesel::update(users::table.find(&row.id)).set(row).execute(conn)?;
    Ok(())
}
