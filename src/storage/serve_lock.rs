//! One server per SQLite file. A second `serve` on the same file would run
//! its own writer beside the first one's and answer from its own caches
//! (as Keycloak's embedded H2 database, it is refused: several nodes share
//! PostgreSQL). Commands other than `serve` may still open the file while
//! a server runs; the server notices their changes.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Held for as long as the server runs; the lock goes with the process (or
/// with this value), so a killed server leaves nothing to clean up.
#[derive(Debug)]
pub struct ServeLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeLockError {
    #[error(
        "another realmgate server is running on {database} (it holds {lock}); stop it first — several servers share one PostgreSQL database, not a SQLite file"
    )]
    Held { database: String, lock: String },
    #[error("cannot lock {lock}: {source}")]
    Io { lock: String, source: std::io::Error },
}

/// The lock file beside the database: SQLite's own locks cannot serve
/// (closing any other descriptor of the database file would drop them).
pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".lock");
    database.with_file_name(name)
}

impl ServeLock {
    pub fn acquire(database: &Path) -> Result<Self, ServeLockError> {
        // One lock per file, whatever path names it: a symbolic link to the
        // database (or to its directory) resolves to the same lock. The file
        // is made first (SQLite takes an empty file for a new database), so
        // a link to a database not yet created resolves too.
        let _ = OpenOptions::new().create(true).append(true).open(database);
        let resolved = std::fs::canonicalize(database).unwrap_or_else(|_| {
            let parent = database.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let name = database.file_name().unwrap_or_default();
            std::fs::canonicalize(parent).map_or_else(|_| database.to_path_buf(), |dir| dir.join(name))
        });
        let path = lock_path(&resolved);
        let io = |source| ServeLockError::Io { lock: path.display().to_string(), source };
        let mut file = OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(ServeLockError::Held {
                    database: database.display().to_string(),
                    lock: path.display().to_string(),
                });
            }
            Err(TryLockError::Error(source)) => return Err(io(source)),
        }
        // For whoever wonders which process holds it.
        file.set_len(0).and_then(|()| writeln!(file, "{}", std::process::id())).map_err(io)?;
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_database_is_refused_until_the_first_goes() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("realmgate.db");
        let first = ServeLock::acquire(&database).unwrap();
        let second = ServeLock::acquire(&database).unwrap_err();
        assert!(matches!(second, ServeLockError::Held { .. }), "{second}");
        assert!(second.to_string().contains("realmgate.db.lock"), "{second}");
        drop(first);
        ServeLock::acquire(&database).unwrap();
    }

    #[test]
    fn other_databases_in_the_same_directory_are_free() {
        let dir = tempfile::tempdir().unwrap();
        let _one = ServeLock::acquire(&dir.path().join("one.db")).unwrap();
        ServeLock::acquire(&dir.path().join("two.db")).unwrap();
    }

    #[test]
    fn a_link_to_the_database_shares_its_lock() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("rg.db");
        std::fs::write(&database, b"").unwrap();
        let link = dir.path().join("link.db");
        std::os::unix::fs::symlink(&database, &link).unwrap();
        let _held = ServeLock::acquire(&database).unwrap();
        assert!(matches!(ServeLock::acquire(&link), Err(ServeLockError::Held { .. })));
    }

    #[test]
    fn a_link_to_a_database_not_yet_made_shares_its_lock() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("real.db");
        let link = dir.path().join("link.db");
        std::os::unix::fs::symlink(&database, &link).unwrap();
        let _held = ServeLock::acquire(&link).unwrap();
        assert!(matches!(ServeLock::acquire(&database), Err(ServeLockError::Held { .. })));
    }
}
