//! `docker-compose.yml`, `deploy/nginx.conf` and the `Dockerfile` hold
//! together (no container engine runs here): the topology is whole, every
//! setting a node is given is one realmgate knows, and a node started with
//! exactly that environment (addresses and paths moved to this machine)
//! passes the health check the compose file runs.

use std::collections::{BTreeMap, BTreeSet};

use yaml_rust2::{Yaml, YamlLoader};

use crate::helpers::{Backend, TestDatabase};
use crate::serve_process::{ServeProcess, free_addr, realmgate};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn compose() -> Yaml {
    YamlLoader::load_from_str(&read("docker-compose.yml")).expect("docker-compose.yml is YAML").remove(0)
}

/// A service with `<<: *anchor` merged in (YAML merge keys, as Compose reads them).
fn service(compose: &Yaml, name: &str) -> BTreeMap<String, Yaml> {
    let node = compose["services"][name].as_hash().unwrap_or_else(|| panic!("service {name}"));
    let mut merged = BTreeMap::new();
    if let Some(base) = node.get(&Yaml::String("<<".into())).and_then(Yaml::as_hash) {
        merged.extend(base.iter().map(|(k, v)| (k.as_str().unwrap().to_owned(), v.clone())));
    }
    merged.extend(
        node.iter().filter(|(k, _)| k.as_str() != Some("<<")).map(|(k, v)| (k.as_str().unwrap().to_owned(), v.clone())),
    );
    merged
}

fn environment(service: &BTreeMap<String, Yaml>) -> BTreeMap<String, String> {
    let env = service["environment"].as_hash().expect("environment as a map");
    env.iter()
        .map(|(k, v)| {
            let value = match v {
                Yaml::String(s) => s.clone(),
                Yaml::Integer(i) => i.to_string(),
                other => panic!("{k:?}: {other:?}"),
            };
            (k.as_str().unwrap().to_owned(), value)
        })
        .collect()
}

fn healthcheck_path(service: &BTreeMap<String, Yaml>) -> String {
    let test: Vec<&str> = service["healthcheck"]["test"]
        .as_vec()
        .expect("healthcheck.test")
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let url = test.iter().find(|t| t.starts_with("http://")).expect("a URL in the health check");
    let path = url.splitn(4, '/').nth(3).expect("a path");
    format!("/{path}")
}

fn healthy_dependencies(service: &BTreeMap<String, Yaml>) -> BTreeSet<String> {
    let depends = service["depends_on"].as_hash().expect("depends_on as a map");
    depends
        .iter()
        .inspect(|(name, condition)| {
            assert_eq!(condition["condition"].as_str(), Some("service_healthy"), "{name:?} waits for health")
        })
        .map(|(name, _)| name.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_compose_topology_is_whole() {
    let compose = compose();
    let names: BTreeSet<_> =
        compose["services"].as_hash().unwrap().keys().map(|k| k.as_str().unwrap().to_owned()).collect();
    assert_eq!(names, BTreeSet::from(["postgres", "realmgate-a", "realmgate-b", "proxy"].map(String::from)));
    for name in &names {
        assert!(!service(&compose, name)["healthcheck"]["test"].is_badvalue(), "{name} has a health check");
    }
    let (a, b, proxy) =
        (service(&compose, "realmgate-a"), service(&compose, "realmgate-b"), service(&compose, "proxy"));
    assert_eq!(environment(&a), environment(&b), "both nodes are configured alike");
    assert_eq!(healthy_dependencies(&a), BTreeSet::from(["postgres".to_owned()]));
    assert_eq!(healthy_dependencies(&proxy), BTreeSet::from(["realmgate-a", "realmgate-b"].map(String::from)));

    // The nodes use the compose file's database.
    let env = environment(&a);
    let pg = environment(&service(&compose, "postgres"));
    let url =
        format!("postgres://{}:{}@postgres:5432/{}", pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], pg["POSTGRES_DB"]);
    assert_eq!(env["REALMGATE_DATABASE_URL"], url);

    // The proxy: its fixed address is the one the nodes trust, inside the
    // network's subnet; it publishes the port nginx listens on, which is the
    // public URL's; nginx's upstreams are the two nodes at their bind port.
    let proxy_ip = proxy["networks"]["default"]["ipv4_address"].as_str().expect("the proxy's fixed address");
    assert_eq!(env["REALMGATE_TRUSTED_PROXIES"], proxy_ip);
    let subnet: ipnet::Ipv4Net =
        compose["networks"]["default"]["ipam"]["config"][0]["subnet"].as_str().unwrap().parse().unwrap();
    assert!(subnet.contains(&proxy_ip.parse::<std::net::Ipv4Addr>().unwrap()));
    let nginx = read("deploy/nginx.conf");
    let bind_port = env["REALMGATE_BIND"].rsplit(':').next().unwrap();
    for node in ["realmgate-a", "realmgate-b"] {
        assert!(nginx.contains(&format!("server {node}:{bind_port}")), "nginx.conf names {node}:{bind_port}");
    }
    let published = proxy["ports"][0].as_str().expect("the proxy publishes a port");
    let listen = nginx.lines().find_map(|l| l.trim().strip_prefix("listen ")).expect("nginx listens");
    assert_eq!(published.rsplit(':').next(), Some(listen.trim_end_matches(';')));
    assert!(env["REALMGATE_PUBLIC_URL"].ends_with(&format!(":{}", published.split(':').next().unwrap())));
    assert!(nginx.contains("proxy_set_header X-Forwarded-For $remote_addr;"), "nginx sets the client address");
    assert!(nginx.contains("proxy_pass http://realmgate;"), "nginx passes to its upstream of both nodes");

    // The image has what the nodes are pointed at.
    let dockerfile = read("Dockerfile");
    assert!(dockerfile.contains(&format!("COPY realms.example.toml {}", env["REALMGATE_REALMS"])));
    assert!(dockerfile.contains("curl"), "the image has the curl the health checks run");
    let ignored = read(".dockerignore");
    for path in ["target", "realmgate.key", "*.db"] {
        assert!(ignored.lines().any(|l| l.trim_start_matches('/') == path), ".dockerignore leaves out {path}");
    }
}

/// Every variable the nodes get is one `realmgate serve` reads, and a node
/// started with that environment answers the compose health check.
#[tokio::test]
async fn a_node_starts_with_the_compose_environment() {
    let Some(db) = TestDatabase::create(Backend::Postgres) else { return };
    let compose = compose();
    let node_service = service(&compose, "realmgate-a");
    let env = environment(&node_service);

    let help = realmgate().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    // The bootstrap administrator's variables are read outside the option
    // parser (so a password never shows in `--help`): look for them there.
    let cli_source = read("src/cli.rs");
    for name in env.keys() {
        assert!(
            help.contains(&format!("[env: {name}=")) || cli_source.contains(&format!("std::env::var(\"{name}\")")),
            "realmgate serve does not read {name}:\n{help}"
        );
    }

    // Moved to this machine: the database, the listen address, the paths.
    let addr = free_addr();
    let mut local = env.clone();
    local.insert("REALMGATE_DATABASE_URL".into(), db.url.clone());
    local.insert("REALMGATE_BIND".into(), addr.clone());
    local.insert("REALMGATE_REALMS".into(), format!("{ROOT}/realms.example.toml"));
    local.insert("REALMGATE_SECRET_KEY_FILE".into(), db.key_file().display().to_string());
    let mut command = realmgate();
    command.arg("serve").env_clear().envs(&local).env("PATH", std::env::var("PATH").unwrap_or_default());
    let mut node = ServeProcess::start(command, addr, db.dir.path().join("node.log"));
    let ready = node.wait_ready(&healthcheck_path(&node_service)).await.text().await.unwrap();
    assert!(ready.contains("UP"), "{ready}");
    // Issuers name the public URL, and the bootstrap admin can sign in.
    let discovery: serde_json::Value =
        reqwest::get(format!("{}/realms/demo/.well-known/openid-configuration", node.base()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(discovery["issuer"], format!("{}/realms/demo", env["REALMGATE_PUBLIC_URL"]));
    let form = [
        ("grant_type", "password"),
        ("client_id", "admin-cli"),
        ("username", env["REALMGATE_ADMIN_USER"].as_str()),
        ("password", env["REALMGATE_ADMIN_PASSWORD"].as_str()),
    ];
    let token = reqwest::Client::new()
        .post(format!("{}/realms/master/protocol/openid-connect/token", node.base()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
}
