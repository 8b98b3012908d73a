//! Server configuration, as `serve` parses it from options and environment.

use std::path::PathBuf;

use crate::storage::DatabaseUrl;

/// Everything `Application::build` needs; tests build one directly.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub bind: String,
    /// Base of every issuer and link, without a trailing slash.
    pub public_url: Option<String>,
    pub database_url: String,
    pub realm_files: Vec<PathBuf>,
    pub workers: usize,
    pub secret_key_file: Option<PathBuf>,
    /// The bootstrap administrator of `master` (`REALMGATE_ADMIN_USER` / `_PASSWORD`).
    pub bootstrap_admin: Option<(String, String)>,
    /// Seconds the audit log is kept.
    pub events_retention: i64,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl ServeConfig {
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            public_url: None,
            database_url: database_url.into(),
            realm_files: Vec::new(),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            secret_key_file: None,
            bootstrap_admin: None,
            events_retention: 30 * 24 * 3600,
            trusted_proxies: Vec::new(),
        }
    }
}

/// The secret key file: as given, or `realmgate.key` beside the SQLite file
/// (in the working directory for PostgreSQL).
pub fn secret_key_path(explicit: Option<&PathBuf>, url: &DatabaseUrl) -> PathBuf {
    if let Some(path) = explicit {
        return path.clone();
    }
    match url {
        DatabaseUrl::Sqlite(db) => db
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("realmgate.key"), |dir| dir.join("realmgate.key")),
        DatabaseUrl::Postgres(_) => PathBuf::from("realmgate.key"),
    }
}

/// Checks `--public-url`: an absolute http(s) URL with a host and no query
/// or fragment (every issuer and link is this plus a path).
pub fn parse_public_url(raw: &str) -> Result<String, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("`{raw}` is not an absolute URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("`{raw}` must be an http or https URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{raw}` must not have a query or a fragment"));
    }
    Ok(raw.to_owned())
}

/// The public URL without a trailing slash; if unset, `http://<bind>`
/// (SPEC §1): a host name given to `--bind` stays (`localhost:8080` is
/// what a relying party was told), an address is the one bound (port 0
/// becomes the port chosen).
pub fn public_url(explicit: Option<&str>, bind: &str, bound: &std::net::SocketAddr) -> String {
    if let Some(url) = explicit {
        return url.trim_end_matches('/').to_owned();
    }
    match bind.rsplit_once(':') {
        Some((host, _)) if !host.is_empty() && host.parse::<std::net::IpAddr>().is_err() && !host.starts_with('[') => {
            format!("http://{host}:{}", bound.port())
        }
        _ => format!("http://{bound}"),
    }
}

/// The public URL's path without a trailing slash (`/id` for
/// `https://example.com/id`, empty at the host's root): a proxy serves
/// realmgate below it.
pub fn public_path(public_url: &str) -> &str {
    let after_scheme = public_url.split_once("://").map_or(public_url, |(_, rest)| rest);
    after_scheme.find('/').map_or("", |at| &after_scheme[at..]).trim_end_matches('/')
}

#[cfg(test)]
mod public_url_tests {
    use super::{parse_public_url, public_url};

    #[test]
    fn the_default_public_url_is_the_bind_address() {
        let bound: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(public_url(None, "localhost:8080", &bound), "http://localhost:8080");
        assert_eq!(public_url(None, "127.0.0.1:8080", &bound), "http://127.0.0.1:8080");
        assert_eq!(public_url(None, "localhost:0", &bound), "http://localhost:8080", "the port chosen");
        let v6: std::net::SocketAddr = "[::1]:8080".parse().unwrap();
        assert_eq!(public_url(None, "[::1]:8080", &v6), "http://[::1]:8080");
        assert_eq!(public_url(Some("https://id.example.com/"), "localhost:8080", &bound), "https://id.example.com");
    }

    #[test]
    fn a_public_url_is_an_http_base_without_query() {
        for good in ["http://127.0.0.1:8080", "https://id.example.com/auth/"] {
            assert!(parse_public_url(good).is_ok(), "{good}");
        }
        for bad in ["", "not a url", "ftp://x/y", "http://h/auth?x=1", "https://h/#f", "mailto:a@b"] {
            assert!(parse_public_url(bad).is_err(), "{bad}");
        }
    }
}
