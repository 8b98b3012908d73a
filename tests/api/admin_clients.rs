//! Keycloak's own admin clients, unchanged, against realmgate (SPEC §6):
//! python-keycloak and `@keycloak/keycloak-admin-client` run the scenarios
//! in `tests/admin_clients/` and must pass every step.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::helpers::{Backend, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_keycloak_runs_unchanged() {
    let dir = clients_dir();
    let python = dir.join(".venv/bin/python");
    if !installed(&python, "the venv (python3 -m venv .venv && .venv/bin/pip install -r requirements.txt)") {
        return;
    }
    run_scenario(&python, &dir.join("py_scenario.py")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keycloak_admin_client_runs_unchanged() {
    let dir = clients_dir();
    if !installed(&dir.join("node_modules/@keycloak/keycloak-admin-client"), "node_modules (npm ci)") {
        return;
    }
    run_scenario(Path::new("node"), &dir.join("npm_scenario.mjs")).await;
}

pub fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/admin_clients")
}

/// Whether `path` exists; if not, the test skips, or fails where CI requires it.
pub fn installed(path: &Path, what: &str) -> bool {
    if path.exists() {
        return true;
    }
    if std::env::var("REALMGATE_REQUIRE_ADMIN_CLIENTS").is_ok_and(|v| v == "1") {
        panic!("REALMGATE_REQUIRE_ADMIN_CLIENTS=1 but tests/admin_clients has no {what}");
    }
    eprintln!("skipping: tests/admin_clients has no {what}");
    false
}

/// Runs one scenario against a fresh server as its bootstrap administrator.
async fn run_scenario(program: &Path, script: &Path) {
    let Some(app) = spawn_app(Backend::Sqlite).await else { return };
    let run = tokio::process::Command::new(program)
        .arg(script)
        .current_dir(clients_dir())
        .env("KC_URL", &app.base)
        .env("KC_ADMIN_USER", "admin")
        .env("KC_ADMIN_PASSWORD", "admin-pw")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .unwrap_or_else(|_| panic!("{} took more than 5 minutes", script.display()))
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} failed ({}):\n{}\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
