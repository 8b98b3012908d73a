//! SQLite's single writer: one thread that owns a connection and runs the
//! process's write jobs back to back, several to a transaction (group
//! commit). Each job runs in its own savepoint, so a job that fails rolls
//! back alone; every caller learns its result only once the commit's fate is
//! known.
//!
//! Why not a mutex around pooled connections: under load the lock was handed
//! from one blocking thread to the next, and each hand-over waited for the
//! woken thread to be scheduled while the database sat idle; and every job
//! paid its own commit. Here the next job starts as soon as the last ends.
//!
//! Checkpoints run mostly on a thread of their own (see `checkpointer`);
//! the writer only finishes them, between two transactions.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use diesel::connection::SimpleConnection;

use diesel::Connection;
use diesel::connection::TransactionManager;
use diesel::r2d2::ManageConnection;

use super::checkpointer::Checkpoints;
use super::{DbConnection, FileIdentity, Manager, REPLACED_FILE, StorageError};

/// At most this many jobs share one commit, so none waits long behind others.
const MAX_BATCH: usize = 64;
/// The writer's own settings: savepoint journals in memory (not temporary
/// files opened and unlinked per batch), a WAL file grown by a burst cut
/// back to 64 MiB when it restarts, and SQLite's automatic checkpoint only
/// as a backstop (at 40 MiB of WAL) should the checkpoint thread fall behind.
const WRITER_PRAGMAS: &str =
    "PRAGMA temp_store = MEMORY; PRAGMA journal_size_limit = 67108864; PRAGMA wal_autocheckpoint = 10000;";

/// Hands a job's result to its caller; given the commit's error, if any.
type Deliver = Box<dyn FnOnce(Option<&str>) + Send>;

/// A job that has run, waiting for its transaction's commit.
struct Ran {
    failed: bool,
    deliver: Deliver,
}

type Job = Box<dyn FnOnce(&mut DbConnection) -> Ran + Send>;

pub(super) struct Writer {
    jobs: Sender<Job>,
    shared: Arc<Shared>,
}

/// What the writer thread and callers writing in place share.
struct Shared {
    manager: Manager,
    /// The write connection: `None` until first opened, and again after a
    /// batch left it in a state nobody can trust. Held while a batch runs.
    connection: Mutex<Option<DbConnection>>,
    /// Jobs sent to the writer thread that it has not taken yet.
    queued: AtomicUsize,
    checkpoints: Arc<Checkpoints>,
    opened: Option<(PathBuf, FileIdentity)>,
}

impl Writer {
    /// Starts the writer thread; it opens its connection at the first job
    /// and ends when the last `Db` holding it is dropped.
    pub(super) fn start(manager: Manager, opened: Option<(PathBuf, FileIdentity)>) -> Result<Self, StorageError> {
        let (jobs, queue) = channel();
        let checkpoints = Checkpoints::start(manager.clone())?;
        let shared = Arc::new(Shared {
            manager,
            connection: Mutex::new(None),
            queued: AtomicUsize::new(0),
            checkpoints,
            opened,
        });
        let thread_shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                serve(&thread_shared, &queue);
                thread_shared.checkpoints.stop();
            })
            .map_err(|e| StorageError::Writer(format!("cannot start the SQLite writer thread: {e}")))?;
        Ok(Self { jobs, shared })
    }

    /// Queues `f` for the writer thread, committed with the jobs queued beside it.
    pub(super) async fn run<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StorageError> + Send + 'static,
        T: Send + 'static,
    {
        let (job, answer) = job(f);
        self.send(job)?;
        answer.await
    }

    /// Runs `f` on the calling thread, in a transaction of its own, when the
    /// writer is idle (nothing queued, its connection free and open, no
    /// checkpoint to finish); otherwise queues it like `run`. For short
    /// writes on hot paths: handing a job to the writer thread and its
    /// answer back costs two thread wake-ups, and under refresh load the
    /// writer slept after nearly every job (0.66 sleeps per refresh; in
    /// place 0.05, and 1 % more RS256 refreshes/s in alternating runs, the
    /// cores idle 3 µs a refresh instead of 10).
    pub(super) async fn run_here<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StorageError> + Send + 'static,
        T: Send + 'static,
    {
        let (job, answer) = job(f);
        let shared = &self.shared;
        let idle = shared.queued.load(Ordering::Acquire) == 0
            && !shared.checkpoints.restart_pending()
            && !shared.checkpoints.wal_long();
        let left = match idle.then(|| shared.connection.try_lock()) {
            Some(Ok(mut connection)) if connection.is_some() => {
                shared.run_jobs(&mut connection, &mut VecDeque::from([job]), false);
                None
            }
            Some(Err(TryLockError::Poisoned(poisoned))) => {
                drop(trusted(&shared.connection, poisoned));
                Some(job)
            }
            _ => Some(job),
        };
        if let Some(job) = left {
            self.send(job)?;
        }
        answer.await
    }

    fn send(&self, job: Job) -> Result<(), StorageError> {
        self.shared.queued.fetch_add(1, Ordering::AcqRel);
        self.jobs.send(job).map_err(|_| {
            self.shared.queued.fetch_sub(1, Ordering::AcqRel);
            StorageError::Writer("the SQLite writer has stopped".into())
        })
    }
}

/// `f` as a job, and the future of its result once its commit's fate is known.
fn job<T, F>(f: F) -> (Job, impl Future<Output = Result<T, StorageError>>)
where
    F: FnOnce(&mut DbConnection) -> Result<T, StorageError> + Send + 'static,
    T: Send + 'static,
{
    let (reply, answer) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move |conn| {
        let result = f(conn);
        Ran {
            failed: result.is_err(),
            deliver: Box::new(move |commit_error| {
                let result = match (result, commit_error) {
                    (Ok(_), Some(error)) => Err(StorageError::Writer(format!("commit failed: {error}"))),
                    (result, _) => result,
                };
                let _ = reply.send(result);
            }),
        }
    });
    // Dropped unanswered: the job panicked, or no connection could be opened (both logged).
    let answer = async { answer.await.map_err(|_| StorageError::Writer("the write did not complete".into()))? };
    (job, answer)
}

fn serve(shared: &Shared, queue: &Receiver<Job>) {
    let mut pending: VecDeque<Job> = VecDeque::new();
    loop {
        if pending.is_empty() {
            match queue.recv() {
                Ok(job) => pending.push_back(job),
                Err(_) => return,
            }
        }
        pending.extend(queue.try_iter().take(MAX_BATCH.saturating_sub(pending.len())));
        let mut connection = shared.connection.lock().unwrap_or_else(|poisoned| trusted(&shared.connection, poisoned));
        // Taken: callers may write in place again once these are done.
        shared.queued.fetch_sub(pending.len(), Ordering::AcqRel);
        shared.run_jobs(&mut connection, &mut pending, true);
    }
}

/// The connection after a panic while it was held: perhaps mid-transaction,
/// so it is dropped (closing it rolls back what is open) and a fresh one is
/// opened for the next job.
fn trusted<'a>(
    mutex: &Mutex<Option<DbConnection>>,
    poisoned: PoisonError<MutexGuard<'a, Option<DbConnection>>>,
) -> MutexGuard<'a, Option<DbConnection>> {
    let mut guard = poisoned.into_inner();
    *guard = None;
    mutex.clear_poison();
    guard
}

impl Shared {
    /// Runs `pending` in batches on the connection (opened if need be) until
    /// none is left; each job's caller gets its result. The checkpoint a
    /// restart needs (and its syncs) is left to the writer thread.
    fn run_jobs(&self, connection: &mut Option<DbConnection>, pending: &mut VecDeque<Job>, writer_thread: bool) {
        while !pending.is_empty() {
            // A write to a file deleted or replaced since would be lost: refused
            // (its callers learn that the write did not complete). One `stat`
            // per batch, against a commit's several system calls.
            if let Some((path, identity)) = &self.opened
                && FileIdentity::of(path) != Some(*identity)
            {
                tracing::error!(jobs = pending.len(), path = %path.display(), "{REPLACED_FILE}");
                pending.clear();
                return;
            }
            let conn = match connection {
                Some(conn) => conn,
                None => match self.manager.connect().and_then(|mut conn| {
                    conn.batch_execute(WRITER_PRAGMAS).map_err(diesel::r2d2::Error::QueryError)?;
                    Ok(conn)
                }) {
                    Ok(conn) => connection.insert(conn),
                    Err(error) => {
                        tracing::error!(%error, jobs = pending.len(), "the SQLite writer cannot open its connection");
                        pending.clear();
                        return;
                    }
                },
            };
            if !run_batch(conn, pending) {
                // Mid-transaction or untrusted: closing the connection rolls back what is open.
                *connection = None;
            } else {
                self.checkpoints.committed();
                if writer_thread && !self.checkpoints.finish_restart(conn) {
                    *connection = None;
                }
            }
        }
    }
}

type Transactions = <DbConnection as Connection>::TransactionManager;

/// How many transactions and savepoints diesel believes are open.
fn depth(conn: &mut DbConnection) -> Option<u32> {
    Transactions::transaction_manager_status_mut(conn).transaction_depth().ok().flatten().map(|d| d.get())
}

/// Runs jobs from the front of `pending` in one transaction and commits;
/// returns whether the connection can be kept.
///
/// The batch ends early after a failed job: some errors make SQLite roll
/// back the whole transaction, which the commit then reports to the jobs
/// before it, and the jobs after it start in a clean transaction. A job that
/// panics, or returns with diesel's transaction depth not where it was (a
/// panic inside the job's own `transaction` leaves it one too deep), leaves
/// the connection in a state nobody can trust: nothing of the batch is
/// committed, every job of it gets an error, and the connection is dropped
/// (closing it rolls the transaction back).
fn run_batch(conn: &mut DbConnection, pending: &mut VecDeque<Job>) -> bool {
    if let Err(error) = Transactions::begin_transaction(conn) {
        tracing::error!(%error, jobs = pending.len(), "the SQLite writer cannot begin a transaction");
        pending.clear();
        return false;
    }
    let mut ran: Vec<Ran> = Vec::new();
    let mut trusted = true;
    let mut rolled_back = false;
    while ran.len() < MAX_BATCH
        && let Some(job) = pending.pop_front()
    {
        // The batch's first job runs in the transaction itself: if it fails,
        // rolling the transaction back undoes it alone. Writes arriving one
        // at a time make most batches a single job, and a savepoint costs two
        // statements and a copy of every page the job changes.
        let own_savepoint = !ran.is_empty();
        if own_savepoint && Transactions::begin_transaction(conn).is_err() {
            trusted = false;
            break;
        }
        let before = depth(conn);
        let outcome = catch_unwind(AssertUnwindSafe(|| job(conn)));
        if depth(conn) != before {
            trusted = false;
            ran.extend(outcome.ok());
            break;
        }
        // A panicked job is not delivered: its caller's reply was dropped with
        // it, so it learns the write did not complete.
        let failed = !matches!(&outcome, Ok(done) if !done.failed);
        trusted = match (failed, own_savepoint) {
            (false, true) => Transactions::commit_transaction(conn).is_ok(),
            (false, false) => true,
            (true, _) => Transactions::rollback_transaction(conn).is_ok(),
        };
        rolled_back = failed && !own_savepoint;
        ran.extend(outcome.ok());
        if failed || !trusted {
            break;
        }
    }
    let error = if !trusted {
        Some("a write left the connection in an unknown state; its batch was rolled back".to_owned())
    } else if rolled_back {
        None
    } else {
        Transactions::commit_transaction(conn).err().map(|e| e.to_string())
    };
    if let Some(error) = &error {
        tracing::error!(%error, jobs = ran.len(), "a batch of writes could not be committed");
    }
    for job in ran {
        (job.deliver)(error.as_deref());
    }
    error.is_none()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    use crate::storage::{DatabaseUrl, Db, StorageError};

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    fn insert(x: i64) -> impl FnOnce(&mut crate::storage::DbConnection) -> Result<(), StorageError> {
        move |conn| {
            diesel::sql_query(format!("INSERT INTO t (x) VALUES ({x})")).execute(conn)?;
            Ok(())
        }
    }

    /// A fresh SQLite database (in a directory kept while the handle lives) with an empty table `t`.
    async fn table_t() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(DatabaseUrl::Sqlite(dir.path().join("w.db")), 2).unwrap();
        db.write(|conn| Ok(conn.batch_execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")?)).await.unwrap();
        (dir, db)
    }

    async fn count(db: &Db) -> i64 {
        db.run(|conn| Ok(diesel::sql_query("SELECT COUNT(*) AS n FROM t").get_result::<Count>(conn)?.n)).await.unwrap()
    }

    /// Concurrent writes share commits, yet each succeeds or fails alone:
    /// a failed or panicking job leaves no trace and takes no other job down.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_in_one_batch_succeed_and_fail_alone() {
        let (_dir, db) = table_t().await;

        let mut tasks = Vec::new();
        for i in 0..200_i64 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                match i % 10 {
                    // a job that writes, then fails: its own write is rolled back
                    3 => {
                        db.write(move |conn| {
                            insert(1000 + i)(conn)?;
                            insert(1000 + i)(conn)
                        })
                        .await
                    }
                    7 => {
                        db.write(move |conn| -> Result<(), StorageError> {
                            insert(2000 + i)(conn)?;
                            panic!("a job that panics")
                        })
                        .await
                    }
                    _ => db.write(insert(i)).await,
                }
            }));
        }
        let mut ok = 0;
        for (i, task) in tasks.into_iter().enumerate() {
            let result = task.await.unwrap();
            match i % 10 {
                3 => assert!(result.as_ref().is_err_and(StorageError::is_unique_violation), "{result:?}"),
                7 => assert!(matches!(result, Err(StorageError::Writer(_))), "{result:?}"),
                _ => {
                    result.unwrap();
                    ok += 1;
                }
            }
        }
        assert_eq!(ok, 160);
        assert_eq!(count(&db).await, 160, "exactly the successful jobs' rows");
        // The writer keeps working after failures.
        db.write(insert(5000)).await.unwrap();
        assert_eq!(count(&db).await, 161);
    }

    /// A batch's first job runs without a savepoint of its own: when it
    /// fails or panics alone, the rolled-back transaction takes its write
    /// with it, and the writer goes on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lone_job_that_fails_leaves_no_trace() {
        let (_dir, db) = table_t().await;
        let failed = db
            .write(|conn| {
                insert(1)(conn)?;
                insert(1)(conn)
            })
            .await;
        assert!(failed.is_err());
        assert_eq!(count(&db).await, 0, "the failed job's first insert was rolled back");
        let panicked = db
            .write(|conn| -> Result<(), StorageError> {
                insert(2)(conn)?;
                panic!("a lone job that panics")
            })
            .await;
        assert!(matches!(panicked, Err(StorageError::Writer(_))), "{panicked:?}");
        assert_eq!(count(&db).await, 0, "the panicked job's insert was rolled back");
        db.write(insert(3)).await.unwrap();
        assert_eq!(count(&db).await, 1);
    }

    /// Sustained writes with readers alongside keep the WAL bounded: the
    /// checkpoint thread copies most of it and the writer the rest, so it
    /// restarts (a checkpoint thread alone could not, and the WAL grew
    /// without end; the writer's own backstop waits for 40 MiB). 96 MiB are
    /// written, so that a stall of the disk for part of the run cannot pass
    /// for a WAL that never restarts. The file's size is the WAL's peak:
    /// a few MiB as a rule, but 20 and 25 MiB were seen in CI runs whose
    /// other tests kept the disk busy; the bound sits below the 40 MiB that
    /// the backstop alone must reach first. A reader preempted inside its
    /// read transaction, pass after pass, kept the WAL from restarting on
    /// a loaded machine (40-53 MiB in 3 of 6 runs beside the other unit
    /// tests) until the writer waited for readers once the WAL is long.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_stays_bounded_under_sustained_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let db = Db::connect(DatabaseUrl::Sqlite(path.clone()), 4).unwrap();
        db.write(|conn| Ok(conn.batch_execute("CREATE TABLE t (x INTEGER PRIMARY KEY, pad BLOB)")?)).await.unwrap();
        // Short indexed reads alongside, as on the hot paths, until the writes end.
        let writing = Arc::new(AtomicBool::new(true));
        let reader = {
            let (db, writing) = (db.clone(), Arc::clone(&writing));
            tokio::spawn(async move {
                for i in 0_i64.. {
                    if !writing.load(Ordering::Relaxed) {
                        break;
                    }
                    db.read_hot(move |conn| {
                        Ok(diesel::sql_query(format!("SELECT COUNT(*) AS n FROM t WHERE x = {i}"))
                            .get_result::<Count>(conn)?
                            .n)
                    })
                    .await
                    .unwrap();
                }
            })
        };
        let mut writers = Vec::new();
        for task in 0..4_i64 {
            let db = db.clone();
            writers.push(tokio::spawn(async move {
                for i in 0..6_000_i64 {
                    let x = task * 1_000_000 + i;
                    // one page of new data per write
                    let insert = move |conn: &mut crate::storage::DbConnection| {
                        diesel::sql_query(format!("INSERT INTO t (x, pad) VALUES ({x}, zeroblob(4000))"))
                            .execute(conn)?;
                        Ok(())
                    };
                    // queued for the writer, or (half the tasks) in place when it is idle
                    if task % 2 == 0 { db.write(insert).await } else { db.transaction_hot(insert).await }.unwrap();
                }
            }));
        }
        for writer in writers {
            writer.await.unwrap();
        }
        writing.store(false, Ordering::Relaxed);
        reader.await.unwrap();
        assert_eq!(count(&db).await, 24_000);
        let wal = std::fs::metadata(dir.path().join("w.db-wal")).map(|m| m.len()).unwrap_or(0);
        // 24,000 pages were written (96 MiB); restarts every few tens of
        // milliseconds keep it at a few MiB, the backstop alone at 40 MiB.
        assert!(wal < 36 * 1024 * 1024, "the WAL grew to {wal} bytes");
    }

    /// A hot transaction runs on the caller's thread when the writer is
    /// idle, and like any job there: a failure or a panic rolls back only
    /// its own write. Mixed with queued writes under concurrency, exactly
    /// the successful ones are committed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hot_transactions_run_in_place_and_fail_alone() {
        let (_dir, db) = table_t().await;
        // The writer may still hold its connection for a moment after
        // answering the table's creation (its checkpoint bookkeeping).
        let mut in_place = false;
        for _ in 0..50 {
            let thread = db.transaction_hot(|_conn| Ok(std::thread::current().name().map(str::to_owned))).await;
            in_place = thread.unwrap().as_deref() != Some("sqlite-writer");
            if in_place {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(in_place, "an idle writer's job runs in place");
        db.transaction_hot(insert(1)).await.unwrap();
        let failed = db.transaction_hot(|conn| {
            insert(2)(conn)?;
            insert(2)(conn)
        });
        assert!(failed.await.is_err_and(|e| e.is_unique_violation()));
        let panicked = db.transaction_hot(|conn| -> Result<(), StorageError> {
            insert(3)(conn)?;
            panic!("a hot job that panics")
        });
        assert!(matches!(panicked.await, Err(StorageError::Writer(_))));
        assert_eq!(count(&db).await, 1, "only the first hot write is committed");

        let mut tasks = Vec::new();
        for i in 10..210_i64 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                match i % 4 {
                    0 => db.write(insert(i)).await,
                    1 => db.transaction_hot(insert(i)).await,
                    // a hot job whose second insert fails: its first is rolled back
                    2 => {
                        db.transaction_hot(move |conn| {
                            insert(i)(conn)?;
                            insert(i)(conn)
                        })
                        .await
                    }
                    _ => db.transaction_hot(move |conn| insert(i)(conn).and_then(|()| insert(1)(conn))).await,
                }
            }));
        }
        let mut ok = 0;
        for task in tasks {
            ok += i64::from(task.await.unwrap().is_ok());
        }
        assert_eq!(ok, 100);
        assert_eq!(count(&db).await, 101, "exactly the successful jobs' rows");
    }

    /// A panic inside a job's own transaction leaves diesel's depth one too
    /// deep; the writer must notice, roll back and start afresh, or every
    /// later write would be reported done and never committed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_inside_a_jobs_own_transaction_is_contained() {
        let (_dir, db) = table_t().await;
        let panicked = db
            .write(|conn| {
                conn.transaction::<(), StorageError, _>(|conn| {
                    insert(1)(conn)?;
                    panic!("a job that panics inside its own transaction")
                })
            })
            .await;
        assert!(matches!(panicked, Err(StorageError::Writer(_))), "{panicked:?}");
        db.write(insert(2)).await.unwrap();
        db.transaction(insert(3)).await.unwrap();
        assert_eq!(count(&db).await, 2, "later writes are committed and seen by other connections");
    }
}
