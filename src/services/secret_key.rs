//! Opening the secret key at start-up: a missing or wrong key stops the
//! process with a clear message, never a silent new key over existing data.

use std::path::Path;

use crate::crypto::{KeyFileError, SecretKey};
use crate::storage::repo::meta;
use crate::storage::{Db, StorageError};

const CHECK_PLAINTEXT: &[u8] = b"realmgate secret key check";

#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    #[error(transparent)]
    File(#[from] KeyFileError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(
        "the secret key file {0} does not exist, but this database already holds data sealed with a secret key; \
         restore that file or point --secret-key-file at it (a new key would make the data unreadable)"
    )]
    Missing(String),
    #[error(
        "the secret key in {0} is not the key this database was sealed with; \
         use the key file this database was created with"
    )]
    Wrong(String),
}

/// Loads (or on a fresh database creates) the key file and proves it fits the data.
pub async fn open(db: &Db, path: &Path) -> Result<SecretKey, SecretKeyError> {
    let shown = path.display().to_string();
    let check = db.run(meta::find_secret_key_check).await?;
    let key = match (path.exists(), &check) {
        (true, _) => SecretKey::load(path)?,
        (false, Some(_)) => return Err(SecretKeyError::Missing(shown)),
        (false, None) => match SecretKey::create(path) {
            Ok(key) => {
                tracing::info!(path = %shown, "created a new secret key file");
                key
            }
            // Another node created it a moment ago: use theirs.
            Err(KeyFileError::Create { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
                SecretKey::load(path)?
            }
            Err(e) => return Err(e.into()),
        },
    };
    match check {
        Some(sealed) => verify(&key, &sealed, &shown)?,
        None => {
            let sealed = key.encrypt(CHECK_PLAINTEXT);
            let stored = db
                .transaction(move |conn| {
                    meta::set_secret_key_check(conn, &sealed)?;
                    Ok(meta::find_secret_key_check(conn)?.unwrap_or(sealed))
                })
                .await?;
            verify(&key, &stored, &shown)?;
        }
    }
    Ok(key)
}

fn verify(key: &SecretKey, sealed: &[u8], shown: &str) -> Result<(), SecretKeyError> {
    match key.decrypt(sealed) {
        Ok(plain) if plain == CHECK_PLAINTEXT => Ok(()),
        _ => Err(SecretKeyError::Wrong(shown.to_owned())),
    }
}
