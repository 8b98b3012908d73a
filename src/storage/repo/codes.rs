//! Authorization codes (`auth_codes`), single-use and stored hashed.

use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType, Text};

use crate::clock::UnixTime;
use crate::storage::schema::auth_codes;
use crate::storage::{DbConnection, StorageError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_codes)]
// None binds NULL (no column here has a default): the statement's SQL is
// then the same for every row, so diesel prepares it once and keeps it.
#[diesel(treat_none_as_default_value = false)]
pub struct CodeRow {
    pub code_hash: String,
    pub realm_id: String,
    pub client_id: String,
    pub user_id: String,
    pub session_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub auth_time: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub grant_id: String,
}

pub fn insert(conn: &mut DbConnection, row: &CodeRow) -> Result<(), StorageError> {
    native!(conn, |c| diesel::insert_into(auth_codes::table).values(row).execute(c))?;
    Ok(())
}

/// Marks an unused code used, atomically: 1 if this call used it.
pub fn use_code(conn: &mut DbConnection, code_hash: &str, now: UnixTime) -> Result<usize, StorageError> {
    Ok(native!(conn, |c| UseCode { code_hash, now }.execute(c))?)
}

/// `use_code`'s UPDATE, written out with a static id so that each
/// connection prepares it once: diesel compiles its own UPDATE statements
/// anew on every call (SQLite's parser was a tenth of the writer's time in
/// a code flow).
struct UseCode<'a> {
    code_hash: &'a str,
    now: UnixTime,
}

/// `UseCode`'s id in the statement caches.
struct UseCodeStatement;

impl QueryId for UseCode<'_> {
    type QueryId = UseCodeStatement;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB> QueryFragment<DB> for UseCode<'_>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<BigInt>,
    str: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE auth_codes SET used_at = ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(" WHERE code_hash = ");
        out.push_bind_param::<Text, _>(self.code_hash)?;
        out.push_sql(" AND used_at IS NULL");
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for UseCode<'_> {}

pub fn find(conn: &mut DbConnection, code_hash: &str) -> Result<Option<CodeRow>, StorageError> {
    Ok(auth_codes::table.find(code_hash).select(CodeRow::as_select()).first(conn).optional()?)
}

/// Deletes codes expired before `before` (a used code is kept until then,
/// so its reuse is still recognised).
pub fn prune(conn: &mut DbConnection, before: UnixTime) -> Result<usize, StorageError> {
    Ok(diesel::delete(auth_codes::table.filter(auth_codes::expires_at.lt(before))).execute(conn)?)
}
