//! The audit log: user events (`events`) and admin events (`admin_events`).

use diesel::prelude::*;

use crate::storage::schema::{admin_events, events};
use crate::storage::{DbConnection, StorageError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = events)]
// None binds NULL (no column here has a default): the statement's SQL is
// then the same for every row, so diesel prepares it once and keeps it.
#[diesel(treat_none_as_default_value = false)]
pub struct EventRow {
    pub id: String,
    pub realm_id: String,
    /// Milliseconds since the epoch.
    pub time: i64,
    pub event_type: String,
    /// The client's `client_id`.
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub ip_address: Option<String>,
    pub error: Option<String>,
    /// A JSON object of strings; never a secret.
    pub details: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = admin_events)]
pub struct AdminEventRow {
    pub id: String,
    pub realm_id: String,
    pub time: i64,
    pub operation_type: String,
    pub resource_type: String,
    pub resource_path: String,
    pub auth_realm_id: String,
    pub auth_client_id: String,
    pub auth_user_id: String,
    pub ip_address: Option<String>,
}

/// Rows per multi-row INSERT on PostgreSQL: 10 columns each, well inside
/// its bound-parameter limit.
const ROWS_PER_INSERT: usize = 256;

/// Stores a batch of events (MultiConnection has no batch insert: this goes
/// to the backend's own connection). On PostgreSQL one statement per few
/// hundred rows saves round trips. On SQLite, in-process, one prepared
/// single-row INSERT run per row costs what a multi-row one does for a big
/// batch, and a multi-row statement of a new length is compiled anew: most
/// batches are a lone event when the load is light.
pub fn insert_events(conn: &mut DbConnection, rows: &[EventRow]) -> Result<(), StorageError> {
    match conn {
        DbConnection::Sqlite(conn) => {
            for row in rows {
                diesel::insert_into(events::table).values(row).execute(conn)?;
            }
        }
        DbConnection::Postgres(conn) => {
            for chunk in rows.chunks(ROWS_PER_INSERT) {
                diesel::insert_into(events::table).values(chunk).execute(conn)?;
            }
        }
    }
    Ok(())
}

pub fn insert_admin_event(conn: &mut DbConnection, row: &AdminEventRow) -> Result<(), StorageError> {
    diesel::insert_into(admin_events::table).values(row).execute(conn)?;
    Ok(())
}

/// Filters of `GET .../events`.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub types: Vec<String>,
    pub client: Option<String>,
    pub user: Option<String>,
    pub ip_address: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub first: i64,
    pub max: i64,
    /// Oldest first (`direction=asc`); newest first otherwise.
    pub oldest_first: bool,
}

pub fn list_events(conn: &mut DbConnection, realm_id: &str, q: &EventQuery) -> Result<Vec<EventRow>, StorageError> {
    let mut query = events::table.filter(events::realm_id.eq(realm_id)).into_boxed();
    if !q.types.is_empty() {
        query = query.filter(events::event_type.eq_any(q.types.clone()));
    }
    if let Some(client) = &q.client {
        query = query.filter(events::client_id.eq(client.clone()));
    }
    if let Some(user) = &q.user {
        query = query.filter(events::user_id.eq(user.clone()));
    }
    if let Some(ip) = &q.ip_address {
        query = query.filter(events::ip_address.eq(ip.clone()));
    }
    if let Some(from) = q.from_ms {
        query = query.filter(events::time.ge(from));
    }
    if let Some(to) = q.to_ms {
        query = query.filter(events::time.le(to));
    }
    query = if q.oldest_first {
        query.order((events::time.asc(), events::id.asc()))
    } else {
        query.order((events::time.desc(), events::id.desc()))
    };
    Ok(query.offset(q.first).limit(q.max).select(EventRow::as_select()).load(conn)?)
}

/// Filters of `GET .../admin-events`.
#[derive(Debug, Clone, Default)]
pub struct AdminEventQuery {
    pub operation_types: Vec<String>,
    pub resource_types: Vec<String>,
    pub resource_path: Option<String>,
    pub auth_user: Option<String>,
    pub auth_realm: Option<String>,
    pub auth_client: Option<String>,
    pub auth_ip_address: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub first: i64,
    pub max: i64,
    /// Oldest first (`direction=asc`); newest first otherwise.
    pub oldest_first: bool,
}

pub fn list_admin_events(
    conn: &mut DbConnection,
    realm_id: &str,
    q: &AdminEventQuery,
) -> Result<Vec<AdminEventRow>, StorageError> {
    let mut query = admin_events::table.filter(admin_events::realm_id.eq(realm_id)).into_boxed();
    if !q.operation_types.is_empty() {
        query = query.filter(admin_events::operation_type.eq_any(q.operation_types.clone()));
    }
    if !q.resource_types.is_empty() {
        query = query.filter(admin_events::resource_type.eq_any(q.resource_types.clone()));
    }
    if let Some(path) = &q.resource_path {
        query = query.filter(admin_events::resource_path.like(path.replace('*', "%")));
    }
    if let Some(user) = &q.auth_user {
        query = query.filter(admin_events::auth_user_id.eq(user.clone()));
    }
    if let Some(realm) = &q.auth_realm {
        query = query.filter(admin_events::auth_realm_id.eq(realm.clone()));
    }
    if let Some(client) = &q.auth_client {
        query = query.filter(admin_events::auth_client_id.eq(client.clone()));
    }
    if let Some(ip) = &q.auth_ip_address {
        query = query.filter(admin_events::ip_address.eq(ip.clone()));
    }
    if let Some(from) = q.from_ms {
        query = query.filter(admin_events::time.ge(from));
    }
    if let Some(to) = q.to_ms {
        query = query.filter(admin_events::time.le(to));
    }
    query = if q.oldest_first {
        query.order((admin_events::time.asc(), admin_events::id.asc()))
    } else {
        query.order((admin_events::time.desc(), admin_events::id.desc()))
    };
    Ok(query.offset(q.first).limit(q.max).select(AdminEventRow::as_select()).load(conn)?)
}

/// Deletes one realm's user events older than `before_ms` (its own, shorter retention).
pub fn prune_realm(conn: &mut DbConnection, realm_id: &str, before_ms: i64) -> Result<usize, StorageError> {
    Ok(diesel::delete(events::table.filter(events::realm_id.eq(realm_id)).filter(events::time.lt(before_ms)))
        .execute(conn)?)
}

/// Deletes events of both kinds older than `before_ms`.
pub fn prune(conn: &mut DbConnection, before_ms: i64) -> Result<usize, StorageError> {
    let users = diesel::delete(events::table.filter(events::time.lt(before_ms))).execute(conn)?;
    let admins = diesel::delete(admin_events::table.filter(admin_events::time.lt(before_ms))).execute(conn)?;
    Ok(users + admins)
}
