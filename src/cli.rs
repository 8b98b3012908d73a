//! The command line (SPEC §1): options, environment variables, and what
//! each command does.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::clock::{Clock, SystemClock};
use crate::config::ServeConfig;
use crate::domain::client::refuse_service_account_name;
use crate::domain::scope::ScopeSet;
use crate::domain::user::Username;
use crate::import::export::export;
use crate::services::passwords::hash_blocking;
use crate::services::personal_tokens::mint;
use crate::services::realm_cache::RealmCache;
use crate::services::realms::{add_user, rotate_realm_key};
use crate::startup::{Application, StartupError, apply_realm_files, open_environment, read_realm_files};
use crate::storage::repo::personal_tokens;
use crate::storage::{DatabaseUrl, StorageError};

#[derive(Debug, Parser)]
#[command(name = "realmgate", version, about = "A multi-realm OpenID Connect / OAuth 2.0 identity provider")]
pub struct Cli {
    /// sqlite://PATH (embedded default) or postgres://… (shared by several nodes)
    #[arg(long, global = true, env = "REALMGATE_DATABASE_URL", default_value = "sqlite://realmgate.db")]
    pub database_url: String,

    /// The 256-bit key sealing client secrets and private keys (default: realmgate.key beside the SQLite file)
    #[arg(long, global = true, env = "REALMGATE_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run migrations, apply realm files, serve HTTP
    Serve(ServeArgs),
    /// Run pending migrations and exit
    Migrate,
    /// Realm files: import and export
    #[command(subcommand)]
    Realm(RealmCommand),
    /// Users
    #[command(subcommand)]
    User(UserCommand),
    /// Personal access tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// Signing keys
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint a personal access token and print it once
    Add {
        #[arg(long)]
        realm: String,
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: String,
        /// A scope the token carries (repeatable; default: all the user may have)
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Lifetime, e.g. 30d (default: no expiry)
        #[arg(long)]
        expires: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Listen address
    #[arg(long, env = "REALMGATE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Base of every issuer and link (default: http://<bind>)
    #[arg(long, env = "REALMGATE_PUBLIC_URL", value_parser = crate::config::parse_public_url)]
    pub public_url: Option<String>,
    /// Realm files applied at start-up (repeatable) [env: REALMGATE_REALMS, comma-separated]
    // The environment is read by hand: clap's delimiter would split an
    // option's file name at its commas too.
    #[arg(long = "realms", value_parser = realm_file_path)]
    pub realms: Vec<PathBuf>,
    /// HTTP worker threads (default: number of cores)
    #[arg(long, env = "REALMGATE_WORKERS")]
    pub workers: Option<usize>,
    /// How long the audit log (events and admin events) is kept
    #[arg(long, env = "REALMGATE_EVENTS_RETENTION", default_value = "30d")]
    pub events_retention: humantime::Duration,
    /// Reverse proxies (addresses or networks, comma-separated) whose
    /// X-Forwarded-For names the client for rate limits and the audit log
    #[arg(long, env = "REALMGATE_TRUSTED_PROXIES", value_delimiter = ',', value_parser = crate::client_ip::parse_network)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

#[derive(Debug, Subcommand)]
pub enum RealmCommand {
    /// Apply a realm file
    Import { file: PathBuf },
    /// Print a realm as a realm file
    Export {
        name: String,
        /// Include client secrets and password hashes
        #[arg(long)]
        with_secrets: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user
    Add {
        #[arg(long)]
        realm: String,
        #[arg(long)]
        username: String,
        /// Read the password from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new active signing key; old keys stay published until their tokens expire
    Rotate {
        #[arg(long)]
        realm: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Usage(String),
    #[error("cannot read standard input: {0}")]
    Stdin(std::io::Error),
    #[error("cannot write to standard output: {0}")]
    Stdout(std::io::Error),
}

/// Writes a command's output; a closed or full stdout is an error, not a panic.
fn say(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(CliError::Stdout)
}

/// Runs one command to completion.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let key_file = cli.secret_key_file.as_ref();
    match cli.command {
        Command::Serve(args) => {
            let mut config = ServeConfig::new(cli.database_url);
            config.bind = args.bind;
            config.public_url = args.public_url;
            config.realm_files = match args.realms {
                named if named.is_empty() => realm_files_from_env()?,
                named => named,
            };
            if let Some(workers) = args.workers {
                config.workers = workers;
            }
            config.secret_key_file = cli.secret_key_file;
            config.events_retention = args.events_retention.as_secs() as i64;
            config.trusted_proxies = args.trusted_proxies.clone();
            config.bootstrap_admin = bootstrap_admin_from_env();
            let app = Application::build(config, clock).await?;
            app.run_until_stopped().await.map_err(|e| CliError::Startup(e.into()))?;
        }
        Command::Migrate => {
            open_environment(&cli.database_url, key_file, clock.as_ref(), 1).await?;
            say("migrations are up to date\n")?;
        }
        Command::Realm(RealmCommand::Import { file }) => {
            // The file first: one that cannot be read leaves no new database behind.
            let files = read_realm_files(&[file])?;
            let env = open_environment(&cli.database_url, key_file, clock.as_ref(), 1).await?;
            let touched = apply_realm_files(&env, files, clock.as_ref()).await?;
            say(&format!("applied realms: {}\n", touched.join(", ")))?;
        }
        Command::Realm(RealmCommand::Export { name, with_secrets }) => {
            require_existing_database(&cli.database_url, "nothing to export")?;
            let env = open_environment(&cli.database_url, key_file, clock.as_ref(), 1).await?;
            let secret = env.secret.clone();
            let text = env
                .db
                .run(move |conn| Ok(export(conn, &secret, &name, with_secrets)))
                .await?
                .map_err(|e| CliError::Usage(e.to_string()))?;
            say(&text)?;
        }
        Command::User(UserCommand::Add { realm, username, password_stdin }) => {
            let username = Username::parse(&username).map_err(|e| CliError::Usage(e.to_string()))?;
            refuse_service_account_name(username.as_str()).map_err(|e| CliError::Usage(e.to_string()))?;
            // A new database holds only `master`, where a first administrator may be added.
            if realm != crate::services::realms::MASTER_REALM {
                require_existing_database(&cli.database_url, &format!("no realm `{realm}` to add a user to"))?;
            }
            let password = if password_stdin { Some(read_password()?) } else { None };
            let env = open_environment(&cli.database_url, key_file, clock.as_ref(), 1).await?;
            let now = clock.now();
            let shown = username.to_string();
            env.db
                .run(move |conn| {
                    let hash = password
                        .map(|p| hash_blocking(&p))
                        .transpose()
                        .map_err(|e| StorageError::Corrupt(e.to_string()))?;
                    Ok(add_user(conn, &realm, &username, hash, now))
                })
                .await?
                .map_err(|e| CliError::Usage(e.to_string()))?;
            say(&format!("created user {shown}\n"))?;
        }
        Command::Token(TokenCommand::Add { realm, user, name, scopes, expires }) => {
            let lifetime = expires
                .map(|e| match humantime::parse_duration(&e) {
                    Ok(d) if d.as_secs() == 0 => Err(CliError::Usage(format!("--expires {e}: must be at least 1s"))),
                    Ok(d) if d.as_secs() > crate::domain::realm::MAX_LIFETIME_SECS as u64 => {
                        Err(CliError::Usage(format!("--expires {e}: must be at most 100 years")))
                    }
                    Ok(d) => Ok(d),
                    Err(err) => Err(CliError::Usage(format!("--expires {e}: {err}"))),
                })
                .transpose()?;
            let scope = if scopes.is_empty() {
                None
            } else if scopes.iter().any(|s| s.trim().is_empty()) {
                return Err(CliError::Usage("--scope must name a scope".into()));
            } else {
                Some(ScopeSet::parse(&scopes.join(" ")).map_err(|e| CliError::Usage(e.to_string()))?)
            };
            require_existing_database(&cli.database_url, &format!("no user `{user}` to mint a token for"))?;
            let env = open_environment(&cli.database_url, key_file, clock.as_ref(), 1).await?;
            let cache = RealmCache::new(env.db.clone(), env.secret.clone(), String::new(), Arc::clone(&clock), 1);
            let entry = cache
                .get(&realm)
                .await
                .map_err(|e| CliError::Usage(e.to_string()))?
                .ok_or_else(|| CliError::Usage(format!("realm `{realm}` does not exist")))?;
            let now = clock.now();
            let expires_at = lifetime.map(|d| now + d.as_secs() as i64);
            let (token, row) = env
                .db
                .run(move |conn| Ok(mint(conn, &entry, &user, &name, scope.as_ref(), expires_at, now)))
                .await?
                .map_err(|e| CliError::Usage(e.to_string()))?;
            if let Err(error) = say(&format!("{token}\n")) {
                // Nobody saw it: it must not count against the user's 25.
                env.db.write(move |conn| personal_tokens::revoke(conn, &row.user_id, &row.id, now).map(drop)).await?;
                return Err(error);
            }
        }
        Command::Keys(KeysCommand::Rotate { realm }) => {
            require_existing_database(&cli.database_url, &format!("no realm `{realm}` to rotate keys of"))?;
            let env = open_environment(&cli.database_url, key_file, clock.as_ref(), 1).await?;
            let secret = env.secret.clone();
            let now = clock.now();
            let kid = env
                .db
                .run(move |conn| {
                    use diesel::Connection;
                    Ok(conn.transaction(|conn| rotate_realm_key(conn, &secret, &realm, now)))
                })
                .await?
                .map_err(|e| CliError::Usage(e.to_string()))?;
            say(&format!("new active signing key {kid}\n"))?;
        }
    }
    Ok(())
}

/// Refuses a command that only makes sense on an existing database when
/// the SQLite file is missing: a mistyped path must not leave a new
/// database (and key file) behind.
fn require_existing_database(database_url: &str, consequence: &str) -> Result<(), CliError> {
    match DatabaseUrl::parse(database_url) {
        Ok(DatabaseUrl::Sqlite(path)) if !path.exists() => {
            Err(CliError::Usage(format!("no database at {}: {consequence}", path.display())))
        }
        _ => Ok(()),
    }
}

fn bootstrap_admin_from_env() -> Option<(String, String)> {
    let Some(user) = std::env::var("REALMGATE_ADMIN_USER").ok().filter(|u| !u.is_empty()) else {
        if std::env::var_os("REALMGATE_ADMIN_PASSWORD").is_some() {
            tracing::warn!("REALMGATE_ADMIN_PASSWORD is set without REALMGATE_ADMIN_USER: no bootstrap administrator");
        }
        return None;
    };
    let Ok(password) = std::env::var("REALMGATE_ADMIN_PASSWORD") else {
        tracing::warn!("REALMGATE_ADMIN_USER is set without REALMGATE_ADMIN_PASSWORD: no bootstrap administrator");
        return None;
    };
    Some((user, password))
}

fn read_password() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(CliError::Stdin)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err(CliError::Usage("the password read from standard input is empty".into()));
    }
    Ok(password)
}

/// The realm files `REALMGATE_REALMS` names, comma-separated.
fn realm_files_from_env() -> Result<Vec<PathBuf>, CliError> {
    let names = std::env::var("REALMGATE_REALMS").unwrap_or_default();
    if names.trim().is_empty() {
        return Ok(Vec::new());
    }
    names
        .split(',')
        .map(|name| realm_file_path(name).map_err(|e| CliError::Usage(format!("REALMGATE_REALMS: {e}"))))
        .collect()
}

/// A realm file named in `--realms` or `REALMGATE_REALMS` ("a.toml, b.toml"
/// names `b.toml`, not ` b.toml`).
fn realm_file_path(raw: &str) -> Result<PathBuf, String> {
    match raw.trim() {
        "" => Err("an empty realm file name".to_owned()),
        name => Ok(PathBuf::from(name)),
    }
}
