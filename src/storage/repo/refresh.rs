//! Refresh-token families: one row per grant, whose current token is a
//! numbered generation; and the tokens of families from before generations,
//! one row each (stored under a key derived from the token: its SHA-256,
//! after its non-secret time-ordered part).

use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Binary, HasSqlType, Nullable, Text};

use crate::clock::UnixTime;
use crate::storage::schema::{refresh_families, refresh_tokens};
use crate::storage::{DbConnection, StorageError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_families)]
// None binds NULL (no column here has a default): the statement's SQL is
// then the same for every row, so diesel prepares it once and keeps it.
#[diesel(treat_none_as_default_value = false)]
pub struct FamilyRow {
    pub id: String,
    pub realm_id: String,
    /// The client's internal id (`clients.id`).
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub offline: bool,
    pub auth_time: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    /// The SSO session the grant came from; logout revokes its families
    /// unless they are offline.
    pub session_id: Option<String>,
    /// The current token's generation; `None` for a family whose tokens are
    /// rows of `refresh_tokens` (from before generations).
    pub generation: Option<i64>,
    pub token_issued_at: Option<i64>,
    pub token_expires_at: Option<i64>,
    /// The sealed answer that replaced the previous generation, while a
    /// replay within the reuse grace may ask for it.
    pub successor: Option<Vec<u8>>,
    /// Where the grant was made from (the session's own address for a
    /// grant made without a browser).
    pub ip_address: Option<String>,
}

#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct TokenRow {
    pub token_hash: String,
    pub family_id: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub spent_at: Option<i64>,
    pub successor: Option<Vec<u8>>,
}

pub fn insert_family(conn: &mut DbConnection, row: &FamilyRow) -> Result<(), StorageError> {
    native!(conn, |c| diesel::insert_into(refresh_families::table).values(row).execute(c))?;
    Ok(())
}

/// Spends a token if it is unspent, its family unrevoked and its user
/// enabled, all in one statement: 1 if this call spent it, 0 otherwise
/// (then nothing changed). Concurrent refreshes of one token cannot both win.
pub fn spend_live_token(
    conn: &mut DbConnection,
    token_hash: &str,
    family_id: &str,
    user_id: &str,
    now: UnixTime,
) -> Result<usize, StorageError> {
    let spend = SpendLiveToken { token_hash, family_id, user_id, now };
    Ok(native!(conn, |c| spend.execute(c))?)
}

/// `spend_live_token`'s statement, written out so that it is prepared once
/// per connection: diesel compiles every UPDATE of its query builder anew,
/// and compiling this one (two subqueries) was a third of SQLite's writer
/// time under refresh load.
struct SpendLiveToken<'a> {
    token_hash: &'a str,
    family_id: &'a str,
    user_id: &'a str,
    now: UnixTime,
}

impl QueryId for SpendLiveToken<'_> {
    type QueryId = SpendLiveToken<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB> QueryFragment<DB> for SpendLiveToken<'_>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<BigInt>,
    str: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE refresh_tokens SET spent_at = ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(" WHERE token_hash = ");
        out.push_bind_param::<Text, _>(self.token_hash)?;
        out.push_sql(" AND spent_at IS NULL AND EXISTS (SELECT 1 FROM refresh_families WHERE id = ");
        out.push_bind_param::<Text, _>(self.family_id)?;
        out.push_sql(" AND revoked_at IS NULL) AND EXISTS (SELECT 1 FROM users WHERE id = ");
        out.push_bind_param::<Text, _>(self.user_id)?;
        out.push_sql(" AND enabled)");
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for SpendLiveToken<'_> {}

/// The rotation of a family: moves it from generation `from` to `to` if it
/// is still at `from`, unrevoked and its user enabled, all in one
/// statement; 1 if this call moved it, 0 otherwise (then nothing changed).
/// With `from` `None` it converts a family from before generations, once
/// its stored token is spent.
pub fn advance_generation(conn: &mut DbConnection, advance: &Advance<'_>) -> Result<usize, StorageError> {
    Ok(native!(conn, |c| advance.execute(c))?)
}

/// The new state of a family that `advance_generation` writes.
#[derive(Clone, Copy)]
pub struct Advance<'a> {
    pub family_id: &'a str,
    pub user_id: &'a str,
    /// The generation presented; `None` converts a family from before generations.
    pub from: Option<i64>,
    pub to: i64,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    pub successor: Option<&'a [u8]>,
}

// Two statements (with and without a generation to match), so no static
// id: diesel then caches the prepared statement under its SQL.
impl QueryId for Advance<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB> QueryFragment<DB> for Advance<'_>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<BigInt> + HasSqlType<Nullable<Binary>>,
    str: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
    for<'x> Option<&'x [u8]>: ToSql<Nullable<Binary>, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE refresh_families SET generation = ");
        out.push_bind_param::<BigInt, _>(&self.to)?;
        out.push_sql(", token_issued_at = ");
        out.push_bind_param::<BigInt, _>(&self.issued_at)?;
        out.push_sql(", token_expires_at = ");
        out.push_bind_param::<BigInt, _>(&self.expires_at)?;
        out.push_sql(", successor = ");
        out.push_bind_param::<Nullable<Binary>, _>(&self.successor)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<Text, _>(self.family_id)?;
        match &self.from {
            Some(from) => {
                out.push_sql(" AND generation = ");
                out.push_bind_param::<BigInt, _>(from)?;
            }
            None => out.push_sql(" AND generation IS NULL"),
        }
        out.push_sql(" AND revoked_at IS NULL AND EXISTS (SELECT 1 FROM users WHERE id = ");
        out.push_bind_param::<Text, _>(self.user_id)?;
        out.push_sql(" AND enabled)");
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for Advance<'_> {}

/// Takes the family's row lock on PostgreSQL. Every transaction that
/// rotates or revokes a family locks the family first (revoking starts by
/// updating its row), so transactions on one family queue in one order
/// instead of deadlocking over its token rows. SQLite has a single writer.
pub fn lock_family(conn: &mut DbConnection, family_id: &str) -> Result<(), StorageError> {
    if let DbConnection::Postgres(c) = conn {
        refresh_families::table
            .filter(refresh_families::id.eq(family_id))
            .select(refresh_families::id)
            .for_update()
            .first::<String>(c)
            .optional()?;
    }
    Ok(())
}

pub fn find_family(conn: &mut DbConnection, family_id: &str) -> Result<Option<FamilyRow>, StorageError> {
    Ok(native!(conn, |c| refresh_families::table.find(family_id).select(FamilyRow::as_select()).first(c).optional())?)
}

pub fn find_token(conn: &mut DbConnection, token_hash: &str) -> Result<Option<(TokenRow, FamilyRow)>, StorageError> {
    Ok(native!(conn, |c| refresh_tokens::table
        .inner_join(refresh_families::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((TokenRow::as_select(), FamilyRow::as_select()))
        .first(c)
        .optional())?)
}

pub fn set_successor(conn: &mut DbConnection, token_hash: &str, sealed: &[u8]) -> Result<(), StorageError> {
    diesel::update(refresh_tokens::table.find(token_hash)).set(refresh_tokens::successor.eq(sealed)).execute(conn)?;
    Ok(())
}

/// Revokes a whole family; returns whether it was live before.
pub fn revoke_family(conn: &mut DbConnection, family_id: &str, now: UnixTime) -> Result<bool, StorageError> {
    let changed = diesel::update(
        refresh_families::table
            .filter(refresh_families::id.eq(family_id))
            .filter(refresh_families::revoked_at.is_null()),
    )
    .set((refresh_families::revoked_at.eq(now), refresh_families::successor.eq(None::<Vec<u8>>)))
    .execute(conn)?;
    diesel::update(refresh_tokens::table.filter(refresh_tokens::family_id.eq(family_id)))
        .set(refresh_tokens::successor.eq(None::<Vec<u8>>))
        .execute(conn)?;
    Ok(changed > 0)
}

/// A user's families that are neither revoked nor offline.
pub fn live_online_families_of_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<FamilyRow>, StorageError> {
    Ok(refresh_families::table
        .filter(refresh_families::user_id.eq(user_id))
        .filter(refresh_families::revoked_at.is_null())
        .filter(refresh_families::offline.eq(false))
        .select(FamilyRow::as_select())
        .load(conn)?)
}

/// The ids of a user's unrevoked families, offline ones included.
pub fn live_families_of_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<String>, StorageError> {
    Ok(refresh_families::table
        .filter(refresh_families::user_id.eq(user_id))
        .filter(refresh_families::revoked_at.is_null())
        .select(refresh_families::id)
        .load(conn)?)
}

/// Revokes every live family of a realm (unrevoked, unexpired), offline
/// ones included, and drops their kept answers; returns their ids.
pub fn revoke_all_in_realm(
    conn: &mut DbConnection,
    realm_id: &str,
    now: UnixTime,
) -> Result<Vec<String>, StorageError> {
    let live = refresh_families::table
        .filter(refresh_families::realm_id.eq(realm_id))
        .filter(refresh_families::revoked_at.is_null())
        .filter(refresh_families::expires_at.ge(now));
    let ids: Vec<String> = live.select(refresh_families::id).load(conn)?;
    diesel::update(refresh_tokens::table.filter(refresh_tokens::family_id.eq_any(live.select(refresh_families::id))))
        .set(refresh_tokens::successor.eq(None::<Vec<u8>>))
        .execute(conn)?;
    diesel::update(live)
        .set((refresh_families::revoked_at.eq(now), refresh_families::successor.eq(None::<Vec<u8>>)))
        .execute(conn)?;
    Ok(ids)
}

/// A user's unrevoked offline families unexpired at `now`.
pub fn live_offline_families_of_user(
    conn: &mut DbConnection,
    user_id: &str,
    now: UnixTime,
) -> Result<Vec<FamilyRow>, StorageError> {
    Ok(refresh_families::table
        .filter(refresh_families::user_id.eq(user_id))
        .filter(refresh_families::revoked_at.is_null())
        .filter(refresh_families::offline.eq(true))
        .filter(refresh_families::expires_at.ge(now))
        .select(FamilyRow::as_select())
        .load(conn)?)
}

/// Whether the user holds an unrevoked offline family at one client.
pub fn has_live_offline_family_at_client(
    conn: &mut DbConnection,
    user_id: &str,
    client_row_id: &str,
    now: UnixTime,
) -> Result<bool, StorageError> {
    Ok(diesel::select(diesel::dsl::exists(
        refresh_families::table
            .filter(refresh_families::user_id.eq(user_id))
            .filter(refresh_families::client_id.eq(client_row_id))
            .filter(refresh_families::revoked_at.is_null())
            .filter(refresh_families::offline.eq(true))
            .filter(refresh_families::expires_at.ge(now)),
    ))
    .get_result(conn)?)
}

/// The ids of a user's unrevoked families at one client (by its row id),
/// offline ones included.
pub fn live_families_of_user_at_client(
    conn: &mut DbConnection,
    user_id: &str,
    client_row_id: &str,
) -> Result<Vec<String>, StorageError> {
    Ok(refresh_families::table
        .filter(refresh_families::user_id.eq(user_id))
        .filter(refresh_families::client_id.eq(client_row_id))
        .filter(refresh_families::revoked_at.is_null())
        .select(refresh_families::id)
        .load(conn)?)
}

/// Deletes families that expired or were revoked before `before`.
pub fn prune(conn: &mut DbConnection, before: UnixTime) -> Result<usize, StorageError> {
    Ok(diesel::delete(
        refresh_families::table
            .filter(refresh_families::expires_at.lt(before).or(refresh_families::revoked_at.lt(before))),
    )
    .execute(conn)?)
}

/// Moves the expiry of a family's current token later (never earlier),
/// while it is still generation `generation`: a refresh with rotation off
/// keeps the token and renews its lifetime.
pub fn extend_current_token(
    conn: &mut DbConnection,
    family_id: &str,
    generation: i64,
    expires_at: UnixTime,
) -> Result<(), StorageError> {
    diesel::update(
        refresh_families::table
            .filter(refresh_families::id.eq(family_id))
            .filter(refresh_families::generation.eq(generation))
            .filter(refresh_families::token_expires_at.lt(expires_at)),
    )
    .set(refresh_families::token_expires_at.eq(expires_at))
    .execute(conn)?;
    Ok(())
}

/// Moves a family's expiry later (never earlier: rotations may race).
pub fn extend_family(conn: &mut DbConnection, family_id: &str, expires_at: UnixTime) -> Result<(), StorageError> {
    diesel::update(
        refresh_families::table
            .filter(refresh_families::id.eq(family_id))
            .filter(refresh_families::expires_at.lt(expires_at)),
    )
    .set(refresh_families::expires_at.eq(expires_at))
    .execute(conn)?;
    Ok(())
}

/// Revokes the families of a session that are not offline; returns their ids.
pub fn revoke_session_families(
    conn: &mut DbConnection,
    session_id: &str,
    now: UnixTime,
) -> Result<Vec<String>, StorageError> {
    let ids: Vec<String> = refresh_families::table
        .filter(refresh_families::session_id.eq(session_id))
        .filter(refresh_families::offline.eq(false))
        .filter(refresh_families::revoked_at.is_null())
        .select(refresh_families::id)
        .load(conn)?;
    for id in &ids {
        revoke_family(conn, id, now)?;
    }
    Ok(ids)
}
