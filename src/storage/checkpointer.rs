//! Checkpoints of SQLite's WAL, mostly off the writer's thread.
//!
//! A checkpoint copies the WAL back into the database file and syncs both
//! files; run by the writer (SQLite's automatic checkpoint), every write of
//! the process waited for those syncs, and the cores idled (measured under
//! refresh load: 5-11 % idle, 1-8 % iowait; with the syncs switched off as
//! an experiment, 16-23 % more refreshes/s).
//! So a second thread, on its own connection, checkpoints while the writer
//! goes on writing (SQLite's PASSIVE mode blocks neither readers nor the
//! writer).
//!
//! That alone let the WAL grow without end under sustained writes (247 MiB
//! within a minute once): SQLite restarts the WAL only when a checkpoint has
//! copied every frame, and new frames arrive while the background pass runs.
//! Hence the split: after a pass over a WAL worth restarting, the writer,
//! between two transactions, checkpoints the few frames written during the
//! pass, and its next transaction starts the WAL afresh.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use diesel::RunQueryDsl;
use diesel::r2d2::ManageConnection;
use diesel::sql_types::Integer;

use super::{BUSY_TIMEOUT_MS, DbConnection, Manager, StorageError};

/// How long writes accumulate before a pass: bounds the passes (and their
/// syncs) to about 50 a second under load, none when nothing is written.
const PASS_DELAY: Duration = Duration::from_millis(20);
/// A WAL of at least this many frames (4 KiB pages) is worth restarting.
/// (Syncing a few pages costs ~0.1 ms here, a few MiB ~1.5 ms: the
/// writer's finishing checkpoints are cheap when they come often.)
const RESTART_FRAMES: i32 = 256;
/// A WAL this long (16 MiB) after a pass has been kept from restarting by readers.
const LONG_WAL_FRAMES: i32 = 4096;
/// How long the writer waits for readers to leave a long WAL.
const READER_WAIT_MS: u32 = 50;

/// What the writer and the checkpoint thread share.
#[derive(Default)]
pub(super) struct Checkpoints {
    /// Something was committed since the last pass began.
    written: Mutex<bool>,
    wake: Condvar,
    /// A pass has copied most of a long WAL: the writer copies the rest.
    restart_due: AtomicBool,
    /// The last pass found the WAL at least LONG_WAL_FRAMES long.
    long: AtomicBool,
    stop: AtomicBool,
}

impl Checkpoints {
    /// Starts the checkpoint thread; it opens its connection at the first
    /// pass and ends when `stop` is called.
    pub(super) fn start(manager: Manager) -> Result<Arc<Self>, StorageError> {
        let shared = Arc::new(Self::default());
        let thread_shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || thread_shared.serve(&manager))
            .map_err(|e| StorageError::Writer(format!("cannot start the SQLite checkpoint thread: {e}")))?;
        Ok(shared)
    }

    /// Called by the writer after each commit.
    pub(super) fn committed(&self) {
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        if !*written {
            *written = true;
            self.wake.notify_one();
        }
    }

    /// A restart is waiting for the writer's next `finish_restart`.
    pub(super) fn restart_pending(&self) -> bool {
        self.restart_due.load(Ordering::Relaxed)
    }

    /// Called by the writer outside any transaction: copies what the last
    /// pass left, so that the next transaction restarts the WAL. (Its syncs
    /// cover only the frames written during that pass.)
    /// Returns whether the connection can be kept (its settings restored).
    pub(super) fn finish_restart(&self, conn: &mut DbConnection) -> bool {
        if !self.restart_due.load(Ordering::Relaxed) {
            return true;
        }
        match checkpoint(conn) {
            // Busy: the checkpoint thread is in a pass; the writer tries again after its next commit.
            Ok(state) if state.busy != 0 => {}
            // Every frame is copied, yet a transaction restarts the WAL only
            // while no reader is still on it: readers that kept it from
            // restarting pass after pass (a reader thread preempted on
            // starved cores) let it grow to the 40 MiB backstop. Past
            // LONG_WAL_FRAMES the writer waits for them, briefly, once; if
            // they stay, the checkpoint thread's next pass asks again.
            Ok(state) if state.log >= LONG_WAL_FRAMES => {
                self.restart_due.store(false, Ordering::Relaxed);
                if let Err(error) = restart_after_readers(conn) {
                    tracing::warn!(%error, "the SQLite writer could not restart the WAL");
                    return false;
                }
            }
            Ok(_) => self.restart_due.store(false, Ordering::Relaxed),
            Err(error) => {
                tracing::warn!(%error, "the SQLite writer could not checkpoint the WAL");
                self.restart_due.store(false, Ordering::Relaxed);
            }
        }
        true
    }

    /// Whether the last pass found the WAL long: writes then stay on the
    /// writer thread, where SQLite's own backstop checkpoint (with its
    /// syncs) may run inside a commit.
    pub(super) fn wal_long(&self) -> bool {
        self.long.load(Ordering::Relaxed)
    }

    pub(super) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        let _written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        self.wake.notify_one();
    }

    fn serve(&self, manager: &Manager) {
        let mut connection: Option<DbConnection> = None;
        loop {
            {
                let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
                while !*written && !self.stop.load(Ordering::Relaxed) {
                    written = self.wake.wait(written).unwrap_or_else(PoisonError::into_inner);
                }
            }
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(PASS_DELAY);
            // Cleared before the pass: what is committed during it asks for the next.
            *self.written.lock().unwrap_or_else(PoisonError::into_inner) = false;
            let conn = match &mut connection {
                Some(conn) => conn,
                None => match manager.connect() {
                    Ok(conn) => connection.insert(conn),
                    Err(error) => {
                        tracing::error!(%error, "the SQLite checkpoint thread cannot open its connection");
                        continue;
                    }
                },
            };
            let passed = checkpoint(conn);
            self.long.store(passed.as_ref().is_ok_and(|state| state.log >= LONG_WAL_FRAMES), Ordering::Relaxed);
            match passed {
                Ok(state) if state.busy == 0 && state.log >= RESTART_FRAMES => {
                    self.restart_due.store(true, Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "the SQLite checkpoint thread could not checkpoint the WAL");
                    connection = None;
                }
            }
        }
    }
}

/// What `PRAGMA wal_checkpoint` answers and is read here: whether another
/// checkpoint held it off, and how many frames the WAL holds.
#[derive(diesel::QueryableByName)]
struct WalState {
    #[diesel(sql_type = Integer)]
    busy: i32,
    #[diesel(sql_type = Integer)]
    log: i32,
}

fn checkpoint(conn: &mut DbConnection) -> Result<WalState, StorageError> {
    Ok(diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result::<WalState>(conn)?)
}

/// Checkpoints the WAL and waits, at most `READER_WAIT_MS`, until no reader
/// is on it, so that the next transaction starts it afresh. An error leaves
/// the connection's busy timeout unknown: it must then be dropped.
fn restart_after_readers(conn: &mut DbConnection) -> Result<(), StorageError> {
    use diesel::connection::SimpleConnection;
    conn.batch_execute(&format!("PRAGMA busy_timeout = {READER_WAIT_MS}"))?;
    let restarted = diesel::sql_query("PRAGMA wal_checkpoint(RESTART)").get_result::<WalState>(conn);
    conn.batch_execute(&format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}"))?;
    restarted.map(|_| ()).map_err(StorageError::from)
}

/// Copies every frame of the WAL into the database file and truncates the
/// WAL to nothing, waiting (in the busy handler) for the writer and readers.
pub(super) fn truncate(conn: &mut DbConnection) -> Result<(), StorageError> {
    let state = diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)").get_result::<WalState>(conn)?;
    if state.busy != 0 {
        return Err(StorageError::Writer("the WAL was still in use".into()));
    }
    Ok(())
}
