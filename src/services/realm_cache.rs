//! The in-memory view of realms that every request reads: settings, scopes,
//! roles, clients (secrets unsealed) and the parsed key ring. Loaded lazily
//! in one database trip, invalidated through the change epoch (see
//! `change_watcher`) and bounded in size.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use super::events::EventsPolicy;
use crate::clock::{Clock, UnixTime};
use crate::crypto::SecretKey;
use crate::domain::authorization::ChallengeMethod;
use crate::domain::client::{
    Client, GrantType, PKCE_METHOD_ATTRIBUTE, POST_LOGOUT_AS_REDIRECT, RedirectUri, web_origins,
};
use crate::domain::realm::{Realm, RealmName};
use crate::domain::scope::{ClientScopes, ScopeCatalog, ScopeSet};
use crate::storage::repo::{clients, keys, realms, roles, scopes, users};
use crate::storage::{Db, DbConnection, StorageError, json_list};
use crate::tokens::keys::{KeyError, KeyRing};

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("client {client_id}: {reason}")]
    Client { client_id: String, reason: String },
}

/// A custom scope with its description.
#[derive(Debug, Clone)]
pub struct ScopeInfo {
    pub name: String,
    pub description: String,
}

/// Everything the protocol endpoints need to know about one realm.
pub struct RealmEntry {
    pub realm: Realm,
    pub issuer: String,
    pub scopes: ScopeCatalog,
    pub custom_scopes: Vec<ScopeInfo>,
    /// Role id → the scopes a holder of the role may be granted.
    pub role_scopes: HashMap<String, Vec<String>>,
    /// Role id → the role's name.
    pub role_names: HashMap<String, String>,
    pub clients: HashMap<String, Arc<Client>>,
    pub keys: KeyRing,
    /// Which events the realm stores.
    pub events: EventsPolicy,
    /// Keycloak's `loginWithEmailAllowed` (default true): users may sign in
    /// with their e-mail address.
    pub login_with_email: bool,
    /// Rendered discovery documents, filled on first use.
    pub documents: OnceLock<Documents>,
    /// Unique to this load of the realm: what was verified against this
    /// entry's keys is remembered under it (see `access::verify`).
    pub load_id: u64,
}

/// Pre-rendered JSON bodies that depend only on the entry.
#[derive(Debug, Clone)]
pub struct Documents {
    pub openid_configuration: Vec<u8>,
    pub oauth_metadata: Vec<u8>,
}

impl RealmEntry {
    pub fn client(&self, client_id: &str) -> Option<&Arc<Client>> {
        self.clients.get(client_id).filter(|c| c.enabled)
    }

    /// What a user holding `role_ids` may be granted.
    pub fn scopes_allowed_by_roles(&self, role_ids: &[String]) -> ScopeSet {
        let role_scopes = role_ids
            .iter()
            .filter_map(|id| self.role_scopes.get(id))
            .flat_map(|scopes| scopes.iter().map(String::as_str));
        self.scopes.allowed_by_roles(role_scopes)
    }

    /// The names of the realm roles among `role_ids`, sorted.
    pub fn role_names_of(&self, role_ids: &[String]) -> Vec<&str> {
        let mut names: Vec<&str> =
            role_ids.iter().filter_map(|id| self.role_names.get(id)).map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

/// The rows an entry is built from, read in one trip.
struct Snapshot {
    realm: realms::RealmRow,
    scopes: Vec<scopes::ScopeRow>,
    roles: Vec<roles::RoleRow>,
    clients: Vec<clients::ClientRow>,
    keys: Vec<keys::KeyRow>,
    service_accounts: Vec<users::UserRow>,
}

fn read_snapshot(conn: &mut DbConnection, name: &str, now: UnixTime) -> Result<Option<Snapshot>, StorageError> {
    let Some(realm) = realms::find_by_name(conn, name)? else {
        return Ok(None);
    };
    Ok(Some(Snapshot {
        scopes: scopes::list_by_realm(conn, &realm.id)?,
        roles: roles::list_by_realm(conn, &realm.id)?,
        clients: clients::list_by_realm(conn, &realm.id)?,
        keys: keys::list_published(conn, &realm.id, now)?,
        service_accounts: users::list_service_accounts(conn, &realm.id)?,
        realm,
    }))
}

/// A service-account user with its parsed link to a client.
type LinkedAccount<'a> = (String, &'a users::UserRow);

fn build_client(
    row: &clients::ClientRow,
    secret: &SecretKey,
    service_accounts: &[LinkedAccount<'_>],
) -> Result<Client, CacheError> {
    let fail = |reason: String| CacheError::Client { client_id: row.client_id.clone(), reason };
    let unsealed = match &row.secret_ciphertext {
        Some(sealed) => Some(secret.decrypt_text(sealed).map_err(|e| fail(e.to_string()))?),
        None => None,
    };
    let grant_types = json_list(&row.grant_types)?
        .iter()
        .map(|g| g.parse::<GrantType>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.0))?;
    // Keycloak's relative forms (`/*`, `*`) the admin API keeps as sent can
    // never match: only absolute URIs are redirected to.
    let registered = json_list(&row.redirect_uris)?;
    let registered_count = registered.len();
    let redirect_uris: Vec<String> = registered.into_iter().filter(|u| !RedirectUri::is_keycloak_relative(u)).collect();
    // Fields the admin API keeps among the client's representation fields.
    let attributes = serde_json::from_str::<serde_json::Value>(&row.attributes).unwrap_or_default();
    let listed = |field: &str| -> Option<Vec<String>> { serde_json::from_value(attributes.get(field)?.clone()).ok() };
    let configured_origins = listed("webOrigins");
    let account =
        service_accounts.iter().find(|(link, user)| user.links(link, &row.id, &row.client_id)).map(|(_, user)| user);
    Ok(Client {
        web_origins: web_origins(configured_origins.as_deref(), &redirect_uris),
        id: row.id.clone(),
        client_id: row.client_id.clone(),
        // Pages name a client without a name by its id.
        name: if row.name.is_empty() { row.client_id.clone() } else { row.name.clone() },
        secret: unsealed,
        relative_redirect_uris: redirect_uris.len() < registered_count,
        redirect_uris,
        post_logout_redirect_uris: json_list(&row.post_logout_redirect_uris)?
            .into_iter()
            .filter(|u| u == POST_LOGOUT_AS_REDIRECT || !RedirectUri::is_keycloak_relative(u))
            .collect(),
        grant_types,
        scopes: ClientScopes {
            default: ScopeSet::from_names(json_list(&row.scopes)?),
            optional: ScopeSet::from_names(listed("optionalClientScopes").unwrap_or_default()),
        },
        consent_required: row.consent_required,
        enabled: row.enabled,
        service_account_roles: account.map(|user| json_list(&user.admin_roles)).transpose()?.unwrap_or_default(),
        service_account_enabled: account.is_none_or(|user| user.enabled),
        created_at: row.created_at,
        pkce_method: attributes
            .get("attributes")
            .and_then(|a| a.get(PKCE_METHOD_ATTRIBUTE))
            .and_then(serde_json::Value::as_str)
            .and_then(ChallengeMethod::parse),
    })
}

fn next_load_id() -> u64 {
    static LOADS: AtomicU64 = AtomicU64::new(1);
    LOADS.fetch_add(1, Ordering::Relaxed)
}

fn build_entry(s: Snapshot, secret: &SecretKey, public_url: &str) -> Result<RealmEntry, CacheError> {
    let realm = s.realm.to_domain()?;
    let implies: Vec<(String, Vec<String>)> = s
        .scopes
        .iter()
        .map(|row| Ok((row.name.clone(), json_list(&row.implies)?)))
        .collect::<Result<_, StorageError>>()?;
    let catalog = ScopeCatalog::new(implies.iter().map(|(n, i)| (n.as_str(), i.as_slice())));
    let role_scopes =
        s.roles.iter().map(|row| Ok((row.id.clone(), json_list(&row.scopes)?))).collect::<Result<_, StorageError>>()?;
    let role_names = s.roles.iter().map(|row| (row.id.clone(), row.name.clone())).collect();
    // Each account's link parsed once, not once per client.
    let accounts: Vec<LinkedAccount<'_>> =
        s.service_accounts.iter().filter_map(|user| Some((user.service_account_link()?, user))).collect();
    let clients = s
        .clients
        .iter()
        .map(|row| Ok((row.client_id.clone(), Arc::new(build_client(row, secret, &accounts)?))))
        .collect::<Result<_, CacheError>>()?;
    let fields = stored_fields(&s.realm.attributes);
    Ok(RealmEntry {
        issuer: format!("{public_url}/realms/{}", realm.name),
        scopes: catalog,
        custom_scopes: s
            .scopes
            .iter()
            .map(|r| ScopeInfo { name: r.name.clone(), description: r.description.clone() })
            .collect(),
        role_scopes,
        role_names,
        clients,
        keys: KeyRing::from_rows(&s.keys, secret)?,
        events: EventsPolicy::from_representation(&fields),
        login_with_email: fields.get("loginWithEmailAllowed").and_then(serde_json::Value::as_bool).unwrap_or(true),
        documents: OnceLock::new(),
        load_id: next_load_id(),
        realm,
    })
}

/// The realm's event settings, from its stored representation fields.
pub fn events_policy(attributes: &str) -> EventsPolicy {
    EventsPolicy::from_representation(&stored_fields(attributes))
}

/// A realm's stored representation fields (checked when stored; anything unreadable reads as none).
fn stored_fields(attributes: &str) -> serde_json::Map<String, serde_json::Value> {
    serde_json::from_str(attributes).unwrap_or_default()
}

/// A cached lookup: a realm, or the knowledge that none has that name.
type Slot = Option<Arc<RealmEntry>>;

/// A slot with the tick of its last use, for least-recently-used eviction.
struct Cached {
    slot: Slot,
    last_used: AtomicU64,
    /// When its read began (milliseconds after the cache's start).
    loaded_ms: u64,
}

/// Changes made elsewhere show up within this (README: within a second):
/// past it without a read of the change log, a cached entry is used only
/// if it was itself read from the database within it.
pub const TRUSTED_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// The realm cache shared by all workers.
pub struct RealmCache {
    db: Db,
    secret: SecretKey,
    public_url: String,
    clock: Arc<dyn Clock>,
    entries: RwLock<HashMap<String, Cached>>,
    /// A use counter: the order of uses, without reading the clock.
    ticks: AtomicU64,
    /// Bumped on every invalidation, so a load that raced one is not kept.
    generation: AtomicU64,
    max_entries: usize,
    /// Until when (milliseconds after `started`) cached entries may be
    /// answered from; `u64::MAX` where nothing watches for changes made
    /// elsewhere (the CLI's own short-lived cache).
    trusted_until_ms: AtomicU64,
    started: std::time::Instant,
}

impl RealmCache {
    pub fn new(db: Db, secret: SecretKey, public_url: String, clock: Arc<dyn Clock>, max_entries: usize) -> Self {
        Self {
            db,
            secret,
            public_url,
            clock,
            entries: RwLock::new(HashMap::new()),
            ticks: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            max_entries: max_entries.max(1),
            trusted_until_ms: AtomicU64::new(u64::MAX),
            started: std::time::Instant::now(),
        }
    }

    /// The change watcher just read the change log: the cache may be
    /// trusted for `period` more. Past that, requests read their realm
    /// from the database, whatever the watcher's task is doing (paused
    /// with the process, waiting on an unreachable database).
    pub fn trust_for(&self, period: std::time::Duration) {
        let until = self.started.elapsed().saturating_add(period).as_millis();
        self.trusted_until_ms.store(u64::try_from(until).unwrap_or(u64::MAX), Ordering::Release);
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether `cached` may be answered from: the change log was read
    /// lately, or the entry itself was.
    fn may_use(&self, cached: &Cached) -> bool {
        let until = self.trusted_until_ms.load(Ordering::Acquire);
        if until == u64::MAX {
            return true;
        }
        let now = self.elapsed_ms();
        now <= until || now.saturating_sub(cached.loaded_ms) <= TRUSTED_FOR.as_millis() as u64
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The realm named `name`, loading it on a miss; `None` if there is none.
    pub async fn get(&self, name: &str) -> Result<Option<Arc<RealmEntry>>, CacheError> {
        let Ok(name) = RealmName::parse(name) else {
            return Ok(None);
        };
        let now = self.clock.now();
        if let Some(cached) = self.entries.read().expect("cache lock poisoned").get(name.as_str())
            && self.may_use(cached)
        {
            cached.last_used.store(self.ticks.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
            match &cached.slot {
                Some(entry) if entry.keys.valid_until.is_none_or(|until| now <= until) => {
                    return Ok(Some(Arc::clone(entry)));
                }
                None => return Ok(None),
                Some(_) => {} // a retired key just left the JWKS: rebuild
            }
        }
        self.load(name.as_str().to_owned(), now).await
    }

    async fn load(&self, name: String, now: UnixTime) -> Result<Option<Arc<RealmEntry>>, CacheError> {
        let generation = self.generation.load(Ordering::SeqCst);
        let loaded_ms = self.elapsed_ms();
        let key = name.clone();
        let snapshot = self.db.run(move |conn| read_snapshot(conn, &name, now)).await?;
        let slot: Slot = match snapshot {
            Some(s) => Some(Arc::new(build_entry(s, &self.secret, &self.public_url)?)),
            None => None,
        };
        let mut entries = self.entries.write().expect("cache lock poisoned");
        if self.generation.load(Ordering::SeqCst) == generation {
            let full = entries.len() >= self.max_entries && !entries.contains_key(&key);
            if full && slot.is_some() {
                // Bounded: drop a cached miss if there is one, else the least
                // recently used realm; it reloads on its next use.
                let victim = entries
                    .iter()
                    .find(|(_, cached)| cached.slot.is_none())
                    .or_else(|| entries.iter().min_by_key(|(_, cached)| cached.last_used.load(Ordering::Relaxed)))
                    .map(|(name, _)| name.clone());
                if let Some(victim) = victim {
                    entries.remove(&victim);
                }
            }
            // A miss never pushes out a real realm.
            if !full || slot.is_some() {
                let last_used = AtomicU64::new(self.ticks.fetch_add(1, Ordering::Relaxed));
                entries.insert(key, Cached { slot: slot.clone(), last_used, loaded_ms });
            }
        }
        Ok(slot)
    }

    /// Forgets the named realms (changed in the database).
    pub fn invalidate<S: AsRef<str>>(&self, names: &[S]) {
        if names.is_empty() {
            return;
        }
        let mut entries = self.entries.write().expect("cache lock poisoned");
        self.generation.fetch_add(1, Ordering::SeqCst);
        for name in names {
            entries.remove(name.as_ref());
        }
    }

    pub fn invalidate_all(&self) {
        let mut entries = self.entries.write().expect("cache lock poisoned");
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.read().expect("cache lock poisoned").len()
    }

    /// Whether `name` is cached now (a realm or a known miss).
    pub fn contains(&self, name: &str) -> bool {
        self.entries.read().expect("cache lock poisoned").contains_key(name)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::domain::realm::RealmSettings;
    use crate::storage::DatabaseUrl;

    /// A new SQLite database holding the realms `names` (ES256: quick keys).
    async fn db_with_realms(names: &'static [&'static str]) -> (tempfile::TempDir, Db, SecretKey) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(DatabaseUrl::Sqlite(dir.path().join("rg.db")), 2).unwrap();
        db.migrate().await.unwrap();
        let secret = SecretKey::generate();
        let sealing = secret.clone();
        db.run(move |conn| {
            for name in names {
                let name = RealmName::parse(name).unwrap();
                let mut settings = RealmSettings::defaults(&name);
                settings.signing_algorithm = crate::domain::realm::SigningAlgorithm::Es256;
                crate::services::realms::create_realm(conn, &sealing, &name, &settings, 0)
                    .map_err(|e| StorageError::Corrupt(e.to_string()))?;
            }
            Ok(())
        })
        .await
        .unwrap();
        (dir, db, secret)
    }

    #[tokio::test]
    async fn the_least_recently_used_realm_goes_first_and_misses_never_push_out_realms() {
        let (_dir, db, secret) = db_with_realms(&["a", "b", "c"]).await;
        let cache = RealmCache::new(db, secret, "http://x".into(), Arc::new(SystemClock), 2);
        assert!(cache.get("a").await.unwrap().is_some());
        assert!(cache.get("b").await.unwrap().is_some());
        assert!(cache.get("a").await.unwrap().is_some());
        assert!(cache.get("nope").await.unwrap().is_none());
        assert!(cache.contains("a") && cache.contains("b") && !cache.contains("nope"), "a miss evicts nothing");
        assert!(cache.get("c").await.unwrap().is_some());
        assert!(cache.contains("a") && cache.contains("c") && !cache.contains("b"), "b was least recently used");
        assert_eq!(cache.len(), 2);
    }

    /// Untrusted (the change log unread for a second), a cached realm is
    /// answered only while its own read is under a second old.
    #[tokio::test]
    async fn an_untrusted_cache_answers_only_from_fresh_reads() {
        use diesel::RunQueryDsl;
        let (_dir, db, secret) = db_with_realms(&["a"]).await;
        let cache = RealmCache::new(db.clone(), secret, "http://x".into(), Arc::new(SystemClock), 2);
        let shown = |entry: Option<Arc<RealmEntry>>| entry.unwrap().realm.settings.display_name.clone();
        cache.trust_for(TRUSTED_FOR);
        assert_eq!(shown(cache.get("a").await.unwrap()), "a");
        // Changed behind the cache's back (by another node, say).
        db.run(|conn| {
            diesel::sql_query("UPDATE realms SET display_name = 'changed' WHERE name = 'a'").execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(shown(cache.get("a").await.unwrap()), "a", "trusted: the cached entry");
        cache.trust_for(std::time::Duration::ZERO);
        tokio::time::sleep(TRUSTED_FOR + std::time::Duration::from_millis(50)).await;
        assert_eq!(shown(cache.get("a").await.unwrap()), "changed", "untrusted and stale: read again");
    }
}
