//! Tooling for `bench/`: the argon2id floor, seeding realms and users at
//! scale through the normal storage layer, and the token soak that shows
//! pruning keeps the database bounded. Not part of the server's contract.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use diesel::prelude::*;

use realmgate::clock::{Clock, SystemClock};
use realmgate::crypto::{random_token, token_hash};
use realmgate::domain::user::Username;
use realmgate::import::{self, model::ParsedFile};
use realmgate::services::{maintenance, passwords, realms::new_user_row};
use realmgate::startup::open_environment;
use realmgate::storage::repo::{clients, codes, realms, refresh, revocations, sessions, users};
use realmgate::storage::schema::{auth_codes, refresh_families, revoked_tokens, sso_sessions};
use realmgate::storage::{Db, DbConnection, StorageError, new_id};

/// Every seeded user's password; one argon2id hash of it is reused.
const SEED_PASSWORD: &str = "scale-pass";
/// Realms are `scale-00001` …; these and every 100th are RS256, the rest ES256.
const REALM_PREFIX: &str = "scale-";
const SOAK_REALM: &str = "scale-soak";

#[derive(Parser)]
#[command(name = "realmgate-bench", about = "Benchmark tooling for realmgate (see bench/README.md)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// argon2id verifications per second at the server's parameters, on N threads
    HashRate {
        #[arg(long, default_value_t = 3)]
        seconds: u64,
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// JWS signatures per second through realmgate's own signer, on N
    /// threads sharing one key (as the request workers do) or each with its own
    SignRate {
        #[arg(long, default_value_t = 3)]
        seconds: u64,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long, default_value = "RS256")]
        algorithm: String,
        #[arg(long)]
        key_per_thread: bool,
    },
    /// Creates realms scale-00001 … scale-N (those missing), each with keys, clients, a role and users
    Seed {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        realms: usize,
        #[arg(long, default_value_t = 10)]
        users_per_realm: usize,
    },
    /// Fills one realm (created if missing) with `user-1` … `user-N`
    Users {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        realm: String,
        #[arg(long)]
        users: usize,
    },
    /// Writes N tokens' worth of codes, refresh families, sessions and
    /// revocations over a simulated week, pruning as the server does
    Soak {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long, default_value_t = 1_000_000)]
        tokens: usize,
        #[arg(long, default_value = "7d")]
        span: humantime::Duration,
    },
}

#[derive(clap::Args)]
struct DbArgs {
    #[arg(long, env = "REALMGATE_DATABASE_URL")]
    database_url: String,
    #[arg(long, env = "REALMGATE_SECRET_KEY_FILE")]
    secret_key_file: Option<PathBuf>,
}

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[tokio::main]
async fn main() -> BenchResult<()> {
    match Cli::parse().command {
        Command::HashRate { seconds, threads } => hash_rate(seconds, threads),
        Command::SignRate { seconds, threads, algorithm, key_per_thread } => {
            sign_rate(seconds, threads, &algorithm, key_per_thread)
        }
        Command::Seed { db, realms, users_per_realm } => seed(&db, realms, users_per_realm).await,
        Command::Users { db, realm, users } => fill_realm(&db, &realm, users).await,
        Command::Soak { db, tokens, span } => soak(&db, tokens, span.into()).await,
    }
}

fn hash_rate(seconds: u64, threads: usize) -> BenchResult<()> {
    let hash = passwords::hash_blocking(SEED_PASSWORD)?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let hash = hash.clone();
            std::thread::spawn(move || {
                let mut workspace = passwords::Workspace::default();
                let mut done = 0u64;
                while Instant::now() < deadline {
                    assert!(workspace.verify(&hash, SEED_PASSWORD));
                    done += 1;
                }
                done
            })
        })
        .collect();
    let total: u64 = workers.into_iter().map(|w| w.join().expect("verifier thread")).sum();
    println!("RESULT verifies_per_s={:.1} threads={threads}", total as f64 / started.elapsed().as_secs_f64());
    Ok(())
}

fn sign_rate(seconds: u64, threads: usize, algorithm: &str, key_per_thread: bool) -> BenchResult<()> {
    use realmgate::tokens::{jws, keys};
    use std::sync::Arc;
    let algorithm: realmgate::domain::realm::SigningAlgorithm = algorithm.parse()?;
    let secret = realmgate::crypto::SecretKey::generate();
    let ring = || -> BenchResult<Arc<keys::KeyRing>> {
        let row = keys::NewKey::generate(algorithm)?.into_row(&secret, "bench", 0);
        Ok(Arc::new(keys::KeyRing::from_rows(&[row], &secret)?))
    };
    let shared = ring()?;
    let rings: Vec<_> =
        (0..threads).map(|_| if key_per_thread { ring() } else { Ok(shared.clone()) }).collect::<Result<_, _>>()?;
    let claims = serde_json::json!({
        "iss": "http://127.0.0.1:18080/realms/bench-rs", "sub": "4f1c2b7e-0000-4000-8000-000000000000",
        "aud": "bench-cc", "exp": 1_800_000_000, "iat": 1_799_999_700, "jti": random_token(16),
        "client_id": "bench-cc", "azp": "bench-cc", "scope": "api:read",
    });
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = rings
        .into_iter()
        .map(|ring| {
            let claims = claims.clone();
            std::thread::spawn(move || {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    jws::sign(&ring.active, "at+jwt", &claims).expect("sign");
                    done += 1;
                }
                done
            })
        })
        .collect();
    let total: u64 = workers.into_iter().map(|w| w.join().expect("signer thread")).sum();
    println!("RESULT signs_per_s={:.1} threads={threads}", total as f64 / started.elapsed().as_secs_f64());
    Ok(())
}

struct Seeder {
    db: Db,
    secret: realmgate::crypto::SecretKey,
    password_hash: String,
}

impl Seeder {
    async fn open(args: &DbArgs) -> BenchResult<Self> {
        let env = open_environment(&args.database_url, args.secret_key_file.as_ref(), &SystemClock, 4).await?;
        Ok(Self { db: env.db, secret: env.secret, password_hash: passwords::hash_blocking(SEED_PASSWORD)? })
    }

    /// Applies generated realm files, exactly as `realm import` would.
    async fn import(&self, label: &str, toml: String) -> BenchResult<()> {
        let parsed = ParsedFile::parse(label, toml)?;
        let secret = self.secret.clone();
        let now = SystemClock.now();
        self.db
            .run(move |conn| {
                import::apply::apply(conn, &secret, &[parsed], now).map_err(|e| StorageError::Corrupt(e.to_string()))
            })
            .await?;
        Ok(())
    }
}

/// One realm of the scale set, as a realm file.
fn realm_toml(name: &str, algorithm: &str, users: usize, password_hash: &str) -> String {
    let mut out = format!(
        "[[realms]]\nname = \"{name}\"\nsigning_algorithm = \"{algorithm}\"\naccess_token_lifetime = \"1h\"\n\
         [[realms.scopes]]\nname = \"api:read\"\n\
         [[realms.roles]]\nname = \"reader\"\nscopes = [\"api:read\"]\n\
         [[realms.clients]]\nclient_id = \"bench-cc\"\nsecret = \"bench-secret\"\n\
         grant_types = [\"client_credentials\"]\nscopes = [\"api:read\"]\n\
         [[realms.clients]]\nclient_id = \"bench-web\"\nsecret = \"bench-web-secret\"\n\
         grant_types = [\"password\", \"refresh_token\"]\nscopes = [\"openid\", \"api:read\"]\n"
    );
    for i in 1..=users {
        out.push_str(&format!(
            "[[realms.users]]\nusername = \"user-{i}\"\npassword_hash = \"{password_hash}\"\nroles = [\"reader\"]\n"
        ));
    }
    out
}

fn scale_realm_name(index: usize) -> String {
    format!("{REALM_PREFIX}{index:05}")
}

async fn seed(args: &DbArgs, target: usize, users_per_realm: usize) -> BenchResult<()> {
    let seeder = Seeder::open(args).await?;
    let existing = seeder
        .db
        .run(realms::list_names)
        .await?
        .into_iter()
        .filter(|n| n.strip_prefix(REALM_PREFIX).is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_digit())))
        .count();
    let started = Instant::now();
    let mut index = existing + 1;
    while index <= target {
        let batch_end = (index + 99).min(target);
        let mut toml = String::new();
        for i in index..=batch_end {
            let algorithm = if i == 1 || i % 100 == 0 { "RS256" } else { "ES256" };
            toml.push_str(&realm_toml(&scale_realm_name(i), algorithm, users_per_realm, &seeder.password_hash));
        }
        seeder.import(&format!("seed {index}-{batch_end}"), toml).await?;
        index = batch_end + 1;
    }
    let created = target.saturating_sub(existing);
    println!("RESULT realms={} created={created} seconds={:.1}", existing.max(target), started.elapsed().as_secs_f64());
    Ok(())
}

/// Users are inserted in bulk, bypassing the realm file only because a
/// million-entry TOML file would be absurd; the rows are what `user add` writes.
async fn fill_realm(args: &DbArgs, realm: &str, target: usize) -> BenchResult<()> {
    const BATCH: usize = 500;
    const PER_TRANSACTION: usize = 20_000;
    let seeder = Seeder::open(args).await?;
    seeder.import(realm, realm_toml(realm, "RS256", 0, &seeder.password_hash)).await?;
    let name = realm.to_owned();
    let (realm_id, existing) = seeder
        .db
        .run(move |conn| {
            let row = realms::find_by_name(conn, &name)?.ok_or(StorageError::Corrupt("realm vanished".into()))?;
            let count = users::count_by_realm(conn, &row.id)?;
            Ok((row.id, count as usize))
        })
        .await?;
    let started = Instant::now();
    let mut next = existing + 1;
    while next <= target {
        let end = (next + PER_TRANSACTION - 1).min(target);
        let (realm_id, hash, now) = (realm_id.clone(), seeder.password_hash.clone(), SystemClock.now());
        seeder
            .db
            .transaction(move |conn| {
                let mut start = next;
                while start <= end {
                    let stop = (start + BATCH - 1).min(end);
                    let rows: Vec<_> = (start..=stop)
                        .map(|i| {
                            let username =
                                Username::parse(&format!("user-{i}")).expect("generated usernames are valid");
                            new_user_row(&new_id(), &realm_id, &username, Some(hash.clone()), now)
                        })
                        .collect();
                    users::insert_many(conn, &rows)?;
                    start = stop + 1;
                }
                Ok(())
            })
            .await?;
        next = end + 1;
    }
    println!(
        "RESULT realm={realm} users={} created={} seconds={:.1}",
        existing.max(target),
        target.saturating_sub(existing),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The ids a soak writes against.
#[derive(Clone)]
struct SoakTarget {
    realm_id: String,
    client_id: String,
    user_id: String,
}

/// Lifetimes of the soak realm (short, so a simulated week turns over many times).
const SOAK_REFRESH_SECS: i64 = 24 * 3600;
const SOAK_CODE_SECS: i64 = 60;
const SOAK_ACCESS_SECS: i64 = 300;
const SOAK_IDLE_SECS: i64 = 1800;
const SOAK_MAX_SECS: i64 = 10 * 3600;
/// The server's pruning loop runs about this often.
const PRUNE_EVERY_SECS: i64 = 300;

async fn soak(args: &DbArgs, tokens: usize, span: Duration) -> BenchResult<()> {
    let seeder = Seeder::open(args).await?;
    let mut toml = realm_toml(SOAK_REALM, "ES256", 1, &seeder.password_hash);
    toml = toml.replacen(
        "access_token_lifetime = \"1h\"\n",
        "access_token_lifetime = \"5m\"\nrefresh_token_lifetime = \"1d\"\nsso_session_idle = \"30m\"\n\
         sso_session_max = \"10h\"\nauth_code_lifetime = \"60s\"\n",
        1,
    );
    seeder.import(SOAK_REALM, toml).await?;
    let target = seeder
        .db
        .run(|conn| {
            let realm = realms::find_by_name(conn, SOAK_REALM)?.ok_or(StorageError::Corrupt("no soak realm".into()))?;
            let client = clients::find_by_client_id(conn, &realm.id, "bench-web")?
                .ok_or(StorageError::Corrupt("no soak client".into()))?;
            let user = users::find_by_username(conn, &realm.id, "user-1")?
                .ok_or(StorageError::Corrupt("no soak user".into()))?;
            Ok(SoakTarget { realm_id: realm.id, client_id: client.id, user_id: user.id })
        })
        .await?;

    let start = SystemClock.now();
    let step = span.as_secs_f64() / tokens as f64;
    let started = Instant::now();
    let mut written = 0usize;
    let mut next_report = tokens / 4;
    let mut pruned_rows = 0usize;
    while written < tokens {
        // One transaction per simulated prune interval, then the prune itself.
        let window_end = start + ((issued_at(start, written, step) - start) / PRUNE_EVERY_SECS + 1) * PRUNE_EVERY_SECS;
        let mut batch = Vec::new();
        while written < tokens && issued_at(start, written, step) < window_end {
            batch.push((written, issued_at(start, written, step)));
            written += 1;
        }
        let batch_target = target.clone();
        let pruned = seeder
            .db
            .transaction(move |conn| {
                for (i, at) in batch {
                    write_soak_token(conn, &batch_target, i, at)?;
                }
                maintenance::prune(conn, window_end)
            })
            .await?;
        pruned_rows += pruned.refresh_families + pruned.codes + pruned.sessions + pruned.revocations;
        // As the server's pruning job does after each prune.
        maintenance::reclaim_space(&seeder.db, pruned.tables()).await?;
        if written >= next_report {
            let realm = target.realm_id.clone();
            let counts = seeder.db.run(move |conn| table_counts(conn, &realm)).await?;
            println!("PROGRESS tokens={written} rows={counts} pruned={pruned_rows}");
            next_report += tokens / 4;
        }
    }
    let end = issued_at(start, tokens, step);
    let realm = target.realm_id.clone();
    let (counts, live_ok) = seeder
        .db
        .run(move |conn| {
            maintenance::prune(conn, end)?;
            Ok((table_counts(conn, &realm)?, live_rows(conn, &realm, end)?))
        })
        .await?;
    let expected = expected_live(tokens, start, step, end);
    println!(
        "RESULT tokens={tokens} seconds={:.1} rows={counts} pruned={pruned_rows} live_found={live_ok:?} live_expected={expected:?} nothing_live_pruned={}",
        started.elapsed().as_secs_f64(),
        live_ok == expected
    );
    if live_ok != expected {
        return Err("a live row was pruned (or a dead one kept past its time)".into());
    }
    Ok(())
}

fn issued_at(start: i64, i: usize, step: f64) -> i64 {
    start + (i as f64 * step) as i64
}

/// Token `i`, issued at `at`: a code, a refresh family, a session or a
/// revocation, in turn; some of each end early (used, revoked, logged out).
fn write_soak_token(conn: &mut DbConnection, t: &SoakTarget, i: usize, at: i64) -> Result<(), StorageError> {
    match i % 4 {
        0 => codes::insert(
            conn,
            &codes::CodeRow {
                code_hash: token_hash(&random_token(32)),
                realm_id: t.realm_id.clone(),
                client_id: t.client_id.clone(),
                user_id: t.user_id.clone(),
                session_id: new_id(),
                redirect_uri: "http://127.0.0.1:9999/cb".into(),
                scope: "openid".into(),
                nonce: None,
                code_challenge: None,
                code_challenge_method: None,
                auth_time: at,
                expires_at: at + SOAK_CODE_SECS,
                used_at: (!i.is_multiple_of(10)).then_some(at + 1),
                grant_id: new_id(),
            },
        ),
        1 => refresh::insert_family(
            conn,
            &refresh::FamilyRow {
                id: new_id(),
                realm_id: t.realm_id.clone(),
                client_id: t.client_id.clone(),
                user_id: t.user_id.clone(),
                scope: "openid".into(),
                offline: false,
                auth_time: at,
                created_at: at,
                expires_at: at + SOAK_REFRESH_SECS,
                revoked_at: (i % 20 == 1).then_some(at + 10),
                session_id: None,
                generation: Some(0),
                token_issued_at: Some(at),
                token_expires_at: Some(at + SOAK_REFRESH_SECS),
                successor: None,
                ip_address: None,
            },
        ),
        2 => sessions::insert(
            conn,
            &sessions::SessionRow {
                id: new_id(),
                token_hash: token_hash(&random_token(32)),
                realm_id: t.realm_id.clone(),
                user_id: t.user_id.clone(),
                auth_time: at,
                created_at: at,
                last_seen_at: at,
                ended_at: (i % 8 == 2).then_some(at + 60),
                ip_address: None,
            },
        ),
        _ => revocations::insert(conn, &t.realm_id, &new_id(), at + SOAK_ACCESS_SECS),
    }
}

/// Rows a generator of `tokens` tokens leaves usable at `end` (a code not yet
/// expired, a refresh family neither expired nor revoked, a session neither
/// ended nor lapsed, a revocation whose token could still be presented).
fn expected_live(tokens: usize, start: i64, step: f64, end: i64) -> [usize; 4] {
    let mut live = [0usize; 4];
    for i in 0..tokens {
        let at = issued_at(start, i, step);
        let alive = match i % 4 {
            0 => at + SOAK_CODE_SECS >= end,
            1 => at + SOAK_REFRESH_SECS >= end && !(i % 20 == 1 && at + 10 < end),
            2 => i % 8 != 2 && at >= end - SOAK_IDLE_SECS && at >= end - SOAK_MAX_SECS,
            _ => at + SOAK_ACCESS_SECS >= end,
        };
        if alive {
            live[i % 4] += 1;
        }
    }
    live
}

fn live_rows(conn: &mut DbConnection, realm: &str, end: i64) -> Result<[usize; 4], StorageError> {
    let codes: i64 = auth_codes::table
        .filter(auth_codes::realm_id.eq(realm))
        .filter(auth_codes::expires_at.ge(end))
        .count()
        .get_result(conn)?;
    let families: i64 = refresh_families::table
        .filter(refresh_families::realm_id.eq(realm))
        .filter(refresh_families::expires_at.ge(end))
        .filter(refresh_families::revoked_at.is_null().or(refresh_families::revoked_at.ge(end)))
        .count()
        .get_result(conn)?;
    let sessions: i64 = sso_sessions::table
        .filter(sso_sessions::realm_id.eq(realm))
        .filter(sso_sessions::ended_at.is_null())
        .filter(sso_sessions::last_seen_at.ge(end - SOAK_IDLE_SECS))
        .filter(sso_sessions::created_at.ge(end - SOAK_MAX_SECS))
        .count()
        .get_result(conn)?;
    let revoked: i64 = revoked_tokens::table
        .filter(revoked_tokens::realm_id.eq(realm))
        .filter(revoked_tokens::expires_at.ge(end))
        .count()
        .get_result(conn)?;
    Ok([codes as usize, families as usize, sessions as usize, revoked as usize])
}

fn table_counts(conn: &mut DbConnection, realm: &str) -> Result<String, StorageError> {
    let codes: i64 = auth_codes::table.filter(auth_codes::realm_id.eq(realm)).count().get_result(conn)?;
    let families: i64 =
        refresh_families::table.filter(refresh_families::realm_id.eq(realm)).count().get_result(conn)?;
    let sessions: i64 = sso_sessions::table.filter(sso_sessions::realm_id.eq(realm)).count().get_result(conn)?;
    let revoked: i64 = revoked_tokens::table.filter(revoked_tokens::realm_id.eq(realm)).count().get_result(conn)?;
    Ok(format!("codes:{codes},refresh_families:{families},sessions:{sessions},revocations:{revoked}"))
}
