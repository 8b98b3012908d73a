//! Building and running the application: storage, secret key, master realm,
//! realm files, caches, background jobs, and the HTTP server on a listener
//! (port 0 works, so tests start the real thing).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::Server;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{DefaultHeaders, Next, from_fn};
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer, web};

use crate::clock::Clock;
use crate::config::{ServeConfig, public_url, secret_key_path};
use crate::crypto::SecretKey;
use crate::domain::user::Username;
use crate::import::FileError;
use crate::import::apply::{ImportError, apply};
use crate::import::model::ParsedFile;
use crate::metrics::Metrics;
use crate::realm_path;
use crate::services::events::EventSink;
use crate::services::passwords::{PasswordHasher, hash_blocking};
use crate::services::realm_cache::RealmCache;
use crate::services::realms::{RealmAdminError, ensure_bootstrap_admin, ensure_master};
use crate::services::secret_key::{self, SecretKeyError};
use crate::services::{change_watcher, maintenance};
use crate::state::AppState;
use crate::storage::{DatabaseUrl, Db, ServeLock, ServeLockError, StorageError};

/// Seconds a stop waits for requests in flight.
const SHUTDOWN_GRACE_SECS: u64 = 10;
/// Realms kept in memory at once; others load on their next request.
const REALM_CACHE_CAPACITY: usize = 4096;
const PRUNE_INTERVAL: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Config(String),
    #[error("cannot open the database: {0}")]
    Storage(#[from] StorageError),
    #[error(transparent)]
    SecretKey(#[from] SecretKeyError),
    #[error(transparent)]
    RealmFile(#[from] FileError),
    #[error("cannot apply realm files: {0}")]
    Import(#[from] ImportError),
    #[error(transparent)]
    Admin(#[from] RealmAdminError),
    #[error("cannot read {path}: {source}")]
    ReadFile { path: String, source: std::io::Error },
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
    #[error(transparent)]
    Locked(#[from] ServeLockError),
}

/// An open database with migrations applied, the secret key proven, and
/// the `master` realm present: what every command starts from.
pub struct Environment {
    pub db: Db,
    pub secret: SecretKey,
}

pub async fn open_environment(
    database_url: &str,
    secret_key_file: Option<&PathBuf>,
    clock: &dyn Clock,
    max_connections: u32,
) -> Result<Environment, StartupError> {
    let url = DatabaseUrl::parse(database_url).map_err(StartupError::Config)?;
    let key_path = secret_key_path(secret_key_file, &url);
    if let DatabaseUrl::Sqlite(path) = &url {
        ensure_database_dir(path)?;
    }
    // The key file's directory too, as the database's, and before the
    // database is migrated.
    ensure_parent_dir(&key_path).map_err(|e| {
        StartupError::Config(format!("cannot create the secret key file's directory for {}: {e}", key_path.display()))
    })?;
    let db = Db::connect(url, max_connections)?;
    db.migrate().await?;
    let secret = secret_key::open(&db, &key_path).await?;
    let now = clock.now();
    let sealing = secret.clone();
    db.run(move |conn| {
        use diesel::Connection;
        conn.transaction(|conn| ensure_master(conn, &sealing, now)).map_err(StorageError::from)
    })
    .await?;
    Ok(Environment { db, secret })
}

/// Reads and parses realm files; the first bad one stops everything.
pub fn read_realm_files(paths: &[PathBuf]) -> Result<Vec<ParsedFile>, StartupError> {
    paths
        .iter()
        .map(|path| {
            let shown = path.display().to_string();
            let source = std::fs::read_to_string(path)
                .map_err(|source| StartupError::ReadFile { path: shown.clone(), source })?;
            Ok(ParsedFile::parse(&shown, source)?)
        })
        .collect()
}

/// Applies parsed realm files in one transaction; returns the realms touched.
pub async fn apply_realm_files(
    env: &Environment,
    files: Vec<ParsedFile>,
    clock: &dyn Clock,
) -> Result<Vec<String>, StartupError> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let secret = env.secret.clone();
    let now = clock.now();
    let result = env.db.run(move |conn| Ok(apply(conn, &secret, &files, now))).await?;
    Ok(result?)
}

/// Creates the bootstrap administrator of `master` if configured and absent.
pub async fn bootstrap_admin(
    env: &Environment,
    admin: Option<&(String, String)>,
    clock: &dyn Clock,
) -> Result<(), StartupError> {
    let Some((username, password)) = admin else {
        return Ok(());
    };
    let username = Username::parse(username).map_err(|e| StartupError::Config(format!("REALMGATE_ADMIN_USER: {e}")))?;
    crate::domain::client::refuse_service_account_name(username.as_str())
        .map_err(|e| StartupError::Config(format!("REALMGATE_ADMIN_USER: {e}")))?;
    let password = password.clone();
    if password.is_empty() {
        return Err(StartupError::Config("REALMGATE_ADMIN_PASSWORD must not be empty".into()));
    }
    let now = clock.now();
    let created = env
        .db
        .run(move |conn| {
            let hash = hash_blocking(&password).map_err(|e| StorageError::Corrupt(e.to_string()))?;
            use diesel::Connection;
            conn.transaction(|conn| ensure_bootstrap_admin(conn, &username, &hash, now)).map_err(StorageError::from)
        })
        .await?;
    if created {
        tracing::info!("created the bootstrap administrator of the master realm");
    } else {
        tracing::info!("the master realm has users already: no bootstrap administrator created");
    }
    Ok(())
}

/// How long a stopping server waits for its queued audit events to be stored.
const EVENTS_FLUSH_AT_EXIT: Duration = Duration::from_secs(5);

/// A built application, bound and ready to run.
pub struct Application {
    server: Server,
    port: u16,
    state: web::Data<AppState>,
    /// Held for the life of the process (released by the kernel at exit).
    serve_lock: Option<ServeLock>,
}

impl Application {
    pub async fn build(config: ServeConfig, clock: Arc<dyn Clock>) -> Result<Self, StartupError> {
        let files = read_realm_files(&config.realm_files)?;
        // Before the database is opened (a second server touches nothing)
        // and before the port is bound (which a second server may share).
        let serve_lock = match DatabaseUrl::parse(&config.database_url) {
            Ok(DatabaseUrl::Sqlite(path)) => {
                ensure_database_dir(&path)?;
                Some(ServeLock::acquire(&path)?)
            }
            // (a bad URL is reported by `open_environment`)
            _ => None,
        };
        let listener = TcpListener::bind(&config.bind)?;
        let address = listener.local_addr()?;
        let public_url = public_url(config.public_url.as_deref(), &config.bind, &address);
        let is_sqlite = config.database_url.starts_with("sqlite:");
        let connections = if is_sqlite { 8 } else { 16 };
        let env = open_environment(&config.database_url, config.secret_key_file.as_ref(), clock.as_ref(), connections)
            .await?;
        bootstrap_admin(&env, config.bootstrap_admin.as_ref(), clock.as_ref()).await?;
        let touched = apply_realm_files(&env, files, clock.as_ref()).await?;
        if !touched.is_empty() {
            tracing::info!(realms = ?touched, "applied realm files");
        }

        let epoch = change_watcher::current_epoch(&env.db).await?;
        let cache = Arc::new(RealmCache::new(
            env.db.clone(),
            env.secret.clone(),
            public_url.clone(),
            Arc::clone(&clock),
            REALM_CACHE_CAPACITY,
        ));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let state = web::Data::new(AppState {
            db: env.db.clone(),
            cache: Arc::clone(&cache),
            clock: Arc::clone(&clock),
            secret: env.secret.clone(),
            hasher: PasswordHasher::new(cores),
            metrics: Arc::new(Metrics::new()),
            public_url,
            events: EventSink::start(env.db.clone(), config.events_retention),
            proxies: crate::client_ip::TrustedProxies::new(config.trusted_proxies.clone()),
        });
        tokio::spawn(change_watcher::watch(env.db.clone(), cache, Arc::clone(&clock), epoch));
        tokio::spawn(prune_expired(env.db.clone(), Arc::clone(&clock), config.events_retention));

        let app_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .wrap(from_fn(realm_path::cut_realm_prefix))
                .wrap(from_fn(refuse_unreadable))
                .wrap(from_fn(crate::metrics::track))
                .wrap(security_headers())
                .configure(routes)
        })
        .workers(config.workers.max(1))
        // A stop waits this long for requests in flight (actix's default of
        // 30 s let one client trickling a body use up Kubernetes' whole
        // grace period, so the process was killed before storing its events).
        .shutdown_timeout(SHUTDOWN_GRACE_SECS)
        // actix stops at once on SIGINT, dropping requests in flight: Ctrl-C
        // stops gracefully here too, as SIGTERM does.
        .disable_signals()
        .listen(listener)?
        .run();
        tokio::spawn(stop_on_signals(server.handle()));
        tracing::info!(%address, "realmgate listening");
        Ok(Self { server, port: address.port(), state, serve_lock })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until stopped (SIGTERM, SIGINT), then stores the audit events
    /// still queued and leaves the database whole in its file.
    pub async fn run_until_stopped(self) -> Result<(), std::io::Error> {
        let served = self.server.await;
        // Bounded: with the database down, storing them would wait for it.
        if tokio::time::timeout(EVENTS_FLUSH_AT_EXIT, self.state.events.flush()).await.is_err() {
            tracing::warn!("audit events still queued at exit were not stored");
        }
        if let Err(error) = self.state.db.checkpoint_at_exit().await {
            tracing::warn!(%error, "could not checkpoint the SQLite WAL before exiting");
        }
        // Held until the process ends, not just to here: blocking jobs
        // still running (a prune) finish while the runtime shuts down.
        std::mem::forget(self.serve_lock);
        served
    }
}

/// Stops the server gracefully on SIGTERM or SIGINT (requests in flight
/// finish, for at most the shutdown grace), and at once on a second signal.
async fn stop_on_signals(server: actix_web::dev::ServerHandle) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut terminate), Ok(mut interrupt)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        tracing::error!("cannot listen for SIGTERM and SIGINT; stop the server with SIGKILL");
        return;
    };
    let mut next = async move || {
        tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        }
    };
    let first = next().await;
    tracing::info!(signal = first, "stopping: finishing the requests in flight");
    let graceful = server.stop(true);
    tokio::select! {
        () = graceful => {}
        second = next() => {
            // actix reads no second stop while the first waits for its
            // workers: the process ends here, the database as the last
            // commit left it (SQLite replays its WAL at the next start).
            tracing::warn!(signal = second, "stopping at once: requests in flight are dropped");
            std::process::exit(130);
        }
    }
}

/// Every route of the application.
fn routes(cfg: &mut web::ServiceConfig) {
    // First: once a request's realm segment is cut off, no other route may see the rest.
    cfg.service(
        web::scope("")
            .guard(realm_path::entered())
            .configure(crate::oidc::realm_routes)
            .configure(crate::web::realm_routes)
            .default_service(web::to(not_found)),
    )
    .service(web::resource("/health/live").get(crate::health::live))
    .service(web::resource("/health/ready").get(crate::health::ready))
    .service(web::resource("/metrics").get(crate::metrics::metrics))
    .service(web::resource("/favicon.ico").get(no_icon))
    .service(web::resource(crate::openapi::PATH).get(crate::openapi::openapi_json))
    .configure(crate::console::config)
    .configure(crate::admin::config)
    .configure(crate::web::config)
    .configure(crate::oidc::config)
    .default_service(web::to(not_found));
}

/// The largest body any endpoint reads (the admin API's).
const LARGEST_BODY: u64 = 1024 * 1024;

/// Middleware: a request declaring a body larger than any endpoint reads is
/// answered 413 at once, instead of after the client has sent it all (but
/// for the console's, which answers such a form with a page of its own); one
/// whose path or query holds an encoded NUL character is answered 400 (no
/// name, id or parameter has one, and PostgreSQL cannot store one in text),
/// and so is one with two `Authorization` (or `X-Auth-Token`) headers.
/// And HEAD is served as GET on every resource (RFC 9110 §9.3.2; the
/// HTTP/1 codec saw HEAD and sends the headers without the body).
async fn refuse_unreadable(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    // The console answers an oversized form itself, as a page (its reader
    // stops at its own limit).
    let console = req.path().strip_prefix(crate::console::BASE).is_some_and(|rest| rest.starts_with('/'));
    if !console && crate::oidc::params::declared_length(req.request()).is_some_and(|n| n > LARGEST_BODY) {
        let response = HttpResponse::PayloadTooLarge().json(serde_json::json!({
            "error": "invalid_request",
            "error_description": "The request body is too large",
        }));
        return Ok(req.into_response(response).map_into_right_body());
    }
    if has_encoded_nul(req.uri().path_and_query().map_or("", |p| p.as_str())) {
        let response = HttpResponse::BadRequest().json(serde_json::json!({
            "error": "invalid_request",
            "error_description": "The request URI contains a NUL character (%00)",
        }));
        return Ok(req.into_response(response).map_into_right_body());
    }
    if let Some(name) = repeated_credentials(req.headers()) {
        let description = format!("The {name} header was sent more than once");
        let mut response = HttpResponse::BadRequest();
        if bearer_sent(req.headers()) {
            // RFC 6750 §3: a protected resource's 400 carries the challenge.
            response.insert_header((
                header::WWW_AUTHENTICATE,
                format!(r#"Bearer error="invalid_request", error_description="{description}""#),
            ));
        }
        let response =
            response.json(serde_json::json!({ "error": "invalid_request", "error_description": description }));
        return Ok(req.into_response(response).map_into_right_body());
    }
    let method = req.method().clone();
    if method == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    let navigation = req.method() == Method::GET && wants_html(req.headers());
    let mut res = next.call(req).await?;
    if res.status() == StatusCode::METHOD_NOT_ALLOWED {
        with_head_allowed(res.headers_mut());
        if navigation {
            // A form's target opened in the address bar (a restored tab, a
            // reload after the POST's answer): a page that says so, not
            // actix's empty 405 (Keycloak shows "Page has expired").
            let allow = res.headers().get(header::ALLOW).cloned();
            let (req, _) = res.into_parts();
            let mut page = actix_web::ResponseError::error_response(&crate::web::pages::PageError::form_target());
            if let Some(allow) = allow {
                page.headers_mut().insert(header::ALLOW, allow);
            }
            return Ok(ServiceResponse::new(req, page).map_into_right_body());
        }
        // The API's other errors are JSON (as its 404): so is this one, in
        // Keycloak's admin API shape there (as its 401 and 403).
        let allow = res.headers().get(header::ALLOW).cloned();
        let (req, _) = res.into_parts();
        let mut response = HttpResponse::MethodNotAllowed();
        if let Some(allow) = allow {
            response.insert_header((header::ALLOW, allow));
        }
        let body = if req.path().starts_with("/admin/") {
            serde_json::json!({ "error": "HTTP 405 Method Not Allowed" })
        } else {
            serde_json::json!({ "error": "method_not_allowed", "error_description": format!("{method} is not allowed here") })
        };
        let response = response.json(body);
        return Ok(ServiceResponse::new(req, response).map_into_right_body());
    }
    Ok(res.map_into_left_body())
}

/// A credentials header given twice: one request, one credential (RFC 6749
/// §2.3, RFC 6750 §2; `Authorization` is not a list, RFC 9110 §11.6.2).
/// Reading only the first would let a proxy and realmgate see different
/// identities in one request.
fn repeated_credentials(headers: &HeaderMap) -> Option<&'static str> {
    [("Authorization", header::AUTHORIZATION), ("X-Auth-Token", header::HeaderName::from_static("x-auth-token"))]
        .into_iter()
        .find(|(_, name)| headers.get_all(name).nth(1).is_some())
        .map(|(shown, _)| shown)
}

/// Whether the request presents a bearer token (a header of RFC 6750 or
/// Keycloak's `X-Auth-Token`).
fn bearer_sent(headers: &HeaderMap) -> bool {
    headers.contains_key("x-auth-token")
        || headers
            .get_all(header::AUTHORIZATION)
            .any(|value| value.as_bytes().get(..7).is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"bearer ")))
}

/// Whether the client asks for HTML first, as a browser's navigation does.
fn wants_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"))
}

/// A 405's `Allow` (RFC 9110 §10.2.1) names HEAD wherever it names GET.
fn with_head_allowed(headers: &mut HeaderMap) {
    let Some(allow) = headers.get(header::ALLOW).and_then(|v| v.to_str().ok()) else { return };
    let methods: Vec<&str> = allow.split(',').map(str::trim).collect();
    if methods.contains(&"GET") && !methods.contains(&"HEAD") {
        let mut with_head = Vec::with_capacity(methods.len() + 1);
        for method in methods {
            with_head.push(method);
            if method == "GET" {
                with_head.push("HEAD");
            }
        }
        if let Ok(value) = HeaderValue::from_str(&with_head.join(", ")) {
            headers.insert(header::ALLOW, value);
        }
    }
}

fn has_encoded_nul(uri: &str) -> bool {
    uri.as_bytes().windows(3).any(|w| w == b"%00")
}

/// Browsers ask every site for an icon: none, without an error (a JSON 404
/// showed in the console's developer tools on every page), cached a day.
async fn no_icon() -> HttpResponse {
    HttpResponse::NoContent().insert_header((header::CACHE_CONTROL, "public, max-age=86400")).finish()
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    req.extensions_mut().insert(crate::metrics::Unrouted);
    HttpResponse::NotFound().json(serde_json::json!({ "error": "not_found", "error_description": "No such resource" }))
}

/// Strict defaults for every response; pages may set a looser CSP of their own.
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"))
}

/// Runs the pruning job until the process ends.
async fn prune_expired(db: Db, clock: Arc<dyn Clock>, events_retention: i64) {
    loop {
        tokio::time::sleep(PRUNE_INTERVAL).await;
        let now = clock.now();
        match maintenance::prune_and_reclaim(&db, now).await {
            Ok(pruned) => tracing::debug!(?pruned, "pruned expired data"),
            Err(error) => tracing::warn!(%error, "pruning failed"),
        }
        let events = db.write(move |conn| maintenance::prune_events(conn, now, events_retention)).await;
        match events {
            Ok(0) => {}
            Ok(n) => match maintenance::reclaim_space(&db, vec!["events"]).await {
                Ok(()) => tracing::debug!(events = n, "pruned old events"),
                Err(error) => tracing::warn!(%error, "reclaiming the space of old events failed"),
            },
            Err(error) => tracing::warn!(%error, "pruning events failed"),
        }
    }
}

/// SQLite creates the file, not its directory.
fn ensure_database_dir(path: &Path) -> Result<(), StartupError> {
    ensure_parent_dir(path).map_err(|e| {
        StartupError::Config(format!("cannot create the database's directory for {}: {e}", path.display()))
    })
}

fn ensure_parent_dir(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir),
        _ => Ok(()),
    }
}
