//! Recording the audit log without slowing requests down: user events go
//! through a bounded channel to one writer task that stores them in
//! batches; admin events (rare, and worth waiting for) are written at once.
//!
//! Under load the writer lingers between batches, so each commit carries
//! hundreds of events instead of a handful: every commit writes the pages it
//! touched (the table and three indexes) to the WAL, and with small batches
//! that cost 15 µs of the SQLite writer per token request (perf, client
//! credentials at 20,000/s). A lone event is stored at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};

use crate::storage::repo::events::{self, EventRow};
use crate::storage::{Db, StorageError};

/// Events waiting for the writer; beyond this they are dropped (and counted).
const QUEUE: usize = 16 * 1024;
/// Most events stored in one transaction.
const BATCH: usize = 512;
/// How long the writer waits for more events after storing a batch of
/// several (a sign of load) that was not full (a sign of falling behind).
const LINGER: Duration = Duration::from_millis(10);
/// How long events that could not be stored wait for another try when no
/// new ones come.
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// The least time between two tries after a failure.
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// How many such events are kept at most (the oldest go first).
const MAX_CARRIED: usize = 50_000;

/// A user event: a login, a token, a logout.
#[derive(Debug, Clone, Default)]
pub struct Event {
    pub realm_id: String,
    pub event_type: &'static str,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub ip_address: Option<String>,
    pub error: Option<String>,
    pub details: Map<String, Value>,
}

/// What a realm's event settings (Keycloak's `RealmEventsConfigRepresentation`,
/// kept with the realm's representation) let through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsPolicy {
    /// `eventsEnabled`: user events are stored.
    pub enabled: bool,
    /// `enabledEventTypes`: only these are stored; empty means every type
    /// Keycloak stores by default (all but `NOT_SAVED_BY_DEFAULT`).
    pub types: Vec<String>,
    /// `adminEventsEnabled`: changes through the admin API are stored.
    pub admin_enabled: bool,
    /// `eventsExpiration`: seconds user events are kept, when shorter than the server's retention.
    pub expiration: Option<i64>,
}

impl Default for EventsPolicy {
    fn default() -> Self {
        Self { enabled: true, types: Vec::new(), admin_enabled: true, expiration: None }
    }
}

impl EventsPolicy {
    /// Reads the settings from a realm's stored representation fields
    /// (checked when they were stored; anything unreadable keeps the default).
    pub fn from_representation(fields: &Map<String, Value>) -> Self {
        let flag = |key: &str| fields.get(key).and_then(Value::as_bool).unwrap_or(true);
        Self {
            enabled: flag(EVENTS_ENABLED),
            types: fields
                .get(ENABLED_EVENT_TYPES)
                .and_then(Value::as_array)
                .map(|types| types.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default(),
            admin_enabled: flag(ADMIN_EVENTS_ENABLED),
            expiration: fields.get(EVENTS_EXPIRATION).and_then(Value::as_i64).filter(|s| *s > 0),
        }
    }

    pub fn records(&self, event_type: &str) -> bool {
        self.enabled
            && if self.types.is_empty() {
                !NOT_SAVED_BY_DEFAULT.contains(&event_type)
            } else {
                self.types.iter().any(|t| t == event_type)
            }
    }
}

/// The types realmgate records that Keycloak does not store unless a realm
/// lists them in `enabledEventTypes` (its `saveByDefault = false`): one per
/// refresh is noise, and its cost is the SQLite writer's on every refresh.
pub const NOT_SAVED_BY_DEFAULT: [&str; 2] = ["REFRESH_TOKEN", "REFRESH_TOKEN_ERROR"];

/// The realm representation's event fields (Keycloak's names).
pub const EVENTS_ENABLED: &str = "eventsEnabled";
pub const EVENTS_EXPIRATION: &str = "eventsExpiration";
pub const EVENTS_LISTENERS: &str = "eventsListeners";
pub const ENABLED_EVENT_TYPES: &str = "enabledEventTypes";
pub const ADMIN_EVENTS_ENABLED: &str = "adminEventsEnabled";
pub const ADMIN_EVENTS_DETAILS_ENABLED: &str = "adminEventsDetailsEnabled";
pub const CONFIG_FIELDS: [&str; 6] = [
    EVENTS_ENABLED,
    EVENTS_EXPIRATION,
    EVENTS_LISTENERS,
    ENABLED_EVENT_TYPES,
    ADMIN_EVENTS_ENABLED,
    ADMIN_EVENTS_DETAILS_ENABLED,
];

/// The event settings of a realm that has not set them (as Keycloak names
/// them; the retention, `eventsExpiration`, is the server's).
pub fn default_settings() -> [(&'static str, serde_json::Value); 5] {
    use serde_json::json;
    [
        (EVENTS_ENABLED, json!(true)),
        (EVENTS_LISTENERS, json!(["jboss-logging"])),
        (ENABLED_EVENT_TYPES, json!([])),
        (ADMIN_EVENTS_ENABLED, json!(true)),
        (ADMIN_EVENTS_DETAILS_ENABLED, json!(false)),
    ]
}

/// What the writer task receives.
#[expect(clippy::large_enum_variant, reason = "nearly every message is an event: boxing would allocate for each")]
enum Queued {
    Event(EventRow),
    /// Answered once everything queued before it is stored.
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct EventSink {
    queue: mpsc::Sender<Queued>,
    dropped: Arc<AtomicU64>,
    /// Seconds events are kept (the pruning job deletes older ones).
    pub retention: i64,
}

impl EventSink {
    /// Starts the writer on the current runtime.
    pub fn start(db: Db, retention: i64) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(db, receiver));
        Self { queue, dropped: Arc::new(AtomicU64::new(0)), retention }
    }

    /// Queues `event` for storage, unless the realm's settings leave it out.
    pub fn record(&self, policy: &EventsPolicy, event: Event, now_ms: i64) {
        if !policy.records(event.event_type) {
            return;
        }
        let row = EventRow {
            // Time-ordered: stored in batches under load, new ids then append
            // to the primary-key index instead of landing on random pages.
            id: uuid::Uuid::now_v7().to_string(),
            realm_id: event.realm_id,
            time: now_ms,
            event_type: event.event_type.to_owned(),
            client_id: event.client_id.map(storable),
            user_id: event.user_id.map(storable),
            session_id: event.session_id.map(storable),
            ip_address: event.ip_address.map(storable),
            error: event.error.map(storable),
            // JSON text escapes a NUL (`\u0000`).
            details: Value::Object(event.details).to_string(),
        };
        if self.queue.try_send(Queued::Event(row)).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "event queue full: events dropped");
            }
        }
    }

    /// Waits until every event queued so far is stored (at shutdown: the
    /// queue would otherwise die with the process).
    pub async fn flush(&self) {
        let (done, stored) = oneshot::channel();
        if self.queue.send(Queued::Flush(done)).await.is_ok() {
            let _ = stored.await;
        }
    }
}

/// `text` without NUL characters, which PostgreSQL cannot store: a caller's
/// text (a client id sent in HTTP Basic) that held one would otherwise fail
/// its whole batch, and every batch after it that carries the row again.
fn storable(text: String) -> String {
    match text.contains('\0') {
        true => text.replace('\0', "\u{fffd}"),
        false => text,
    }
}

/// Stores a batch; on a connection found lost (the database restarted),
/// once more on a fresh one at once. Given back when it could not be stored.
async fn store(db: &Db, rows: Vec<EventRow>) -> Result<(), (StorageError, Vec<EventRow>)> {
    let rows = Arc::new(rows);
    let attempt = || {
        let rows = Arc::clone(&rows);
        db.transaction(move |conn| events::insert_events(conn, &rows))
    };
    let result = match attempt().await {
        Err(error) if error.is_connection_lost() => attempt().await,
        result => result,
    };
    result.map_err(|error| (error, Arc::try_unwrap(rows).unwrap_or_else(|rows| rows.as_ref().clone())))
}

/// An error no later try can mend: a row the database refuses (an event of
/// a realm deleted meanwhile breaks its foreign key; a batch stored once
/// already, its commit's answer lost, breaks the primary key). Kept, such a
/// row would hold back every later batch.
fn is_refused_for_good(error: &StorageError) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        error,
        StorageError::Query(Error::DatabaseError(
            DatabaseErrorKind::ForeignKeyViolation
                | DatabaseErrorKind::UniqueViolation
                | DatabaseErrorKind::NotNullViolation
                | DatabaseErrorKind::CheckViolation,
            _
        ))
    )
}

/// An answer of the database itself (not a lost connection, nor an empty pool).
fn is_database_error(error: &StorageError) -> bool {
    matches!(error, StorageError::Query(diesel::result::Error::DatabaseError(..))) && !error.is_connection_lost()
}

/// Stores a batch the database refused row by row: rows refused for good
/// are dropped (with a warning), and on any other failure the rest is
/// given back to be tried again.
async fn store_each(db: &Db, rows: Vec<EventRow>) -> Result<(), (StorageError, Vec<EventRow>)> {
    let mut rows = rows.into_iter();
    let mut dropped = 0usize;
    while let Some(row) = rows.next() {
        match store(db, vec![row]).await {
            Ok(()) => {}
            Err((error, _)) if is_refused_for_good(&error) => {
                dropped += 1;
                tracing::warn!(%error, "an event the database refuses was dropped");
            }
            // A refusal diesel does not name (PostgreSQL's data exceptions,
            // or a full disk): the row was at fault if the next one stores.
            Err((error, mut unstored)) if is_database_error(&error) => {
                let Some(next) = rows.next() else {
                    return Err((error, unstored));
                };
                match store(db, vec![next]).await {
                    Ok(()) => {
                        dropped += 1;
                        tracing::warn!(%error, "an event the database refuses was dropped");
                    }
                    Err((error, next)) => {
                        unstored.extend(next);
                        unstored.extend(rows);
                        return Err((error, unstored));
                    }
                }
            }
            Err((error, mut unstored)) => {
                unstored.extend(rows);
                return Err((error, unstored));
            }
        }
    }
    if dropped > 0 {
        tracing::warn!(dropped, "events the database refuses were dropped");
    }
    Ok(())
}

async fn write_batches(db: Db, mut receiver: mpsc::Receiver<Queued>) {
    let mut batch = Vec::with_capacity(BATCH);
    // Events whose batch could not be stored (a full disk, the database
    // away): kept, up to a bound, and tried again with the next batch or
    // after a pause, rather than lost.
    let mut carried: Vec<EventRow> = Vec::new();
    loop {
        let received = if carried.is_empty() {
            receiver.recv_many(&mut batch, BATCH).await
        } else {
            tokio::time::timeout(RETRY_AFTER, receiver.recv_many(&mut batch, BATCH)).await.unwrap_or(usize::MAX)
        };
        if received == 0 && carried.is_empty() {
            return;
        }
        let mut rows = std::mem::take(&mut carried);
        let mut flushes = Vec::new();
        for queued in batch.drain(..) {
            match queued {
                Queued::Event(row) => rows.push(row),
                Queued::Flush(done) => flushes.push(done),
            }
        }
        let stored = rows.len();
        let result = match rows.is_empty() {
            true => Ok(()),
            false => match store(&db, rows).await {
                Err((error, unstored)) if is_database_error(&error) => store_each(&db, unstored).await,
                result => result,
            },
        };
        if let Err((error, mut unstored)) = result {
            if unstored.len() > MAX_CARRIED {
                let dropped = unstored.len() - MAX_CARRIED;
                unstored.drain(..dropped);
                tracing::warn!(%error, dropped, kept = MAX_CARRIED, "storing events failed; the oldest were dropped");
            } else {
                tracing::warn!(%error, kept = unstored.len(), "storing events failed; they will be tried again");
            }
            carried = unstored;
            // Not at once again: what failed (a full disk) takes a while to mend.
            tokio::time::sleep(RETRY_PAUSE).await;
        }
        for done in flushes {
            let _ = done.send(());
        }
        if received == 0 {
            // The queue is closed (shutting down): this was the last try.
            return;
        }
        if (2..BATCH).contains(&stored) && carried.is_empty() {
            tokio::time::sleep(LINGER).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::storable;

    #[test]
    fn stored_text_holds_no_nul() {
        assert_eq!(storable("svc\0".to_owned()), "svc\u{fffd}");
        assert_eq!(storable("plain".to_owned()), "plain");
    }
}
