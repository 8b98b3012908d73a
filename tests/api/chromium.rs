//! One end-to-end test in real headless Chromium, driven over the DevTools
//! protocol: a user signs in, consents and lands on the client's callback
//! with a code. Screenshots of the pages go to `target/screenshots/`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

use crate::helpers::{Backend, spawn_app_with};

pub(crate) struct Chromium {
    child: Child,
    _profile: tempfile::TempDir,
    socket: WebSocket<TcpStream>,
    next_id: u64,
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromium_binary() -> Option<PathBuf> {
    let candidates = [
        std::env::var("REALMGATE_CHROMIUM").ok(),
        Some("/usr/bin/chromium".into()),
        Some("/usr/bin/chromium-browser".into()),
    ];
    candidates.into_iter().flatten().map(PathBuf::from).find(|p| p.exists())
}

impl Chromium {
    pub(crate) fn launch() -> Option<Self> {
        let Some(binary) = chromium_binary() else {
            if std::env::var("REALMGATE_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1") {
                panic!("REALMGATE_REQUIRE_CHROMIUM=1 but no chromium binary was found");
            }
            eprintln!("skipping: chromium is not installed");
            return None;
        };
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        let port_file = profile.path().join("DevToolsActivePort");
        let started = Instant::now();
        let port: u16 = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file)
                && let Some(port) = text.lines().next().and_then(|l| l.trim().parse().ok())
            {
                break port;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "chromium did not open its DevTools port");
            std::thread::sleep(Duration::from_millis(50));
        };
        let targets: Value = http_get_json(port, "/json/list");
        let ws_url = targets
            .as_array()
            .and_then(|list| list.iter().find(|t| t["type"] == "page"))
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .expect("a page target")
            .to_owned();
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let (socket, _) = tungstenite::client(ws_url.as_str(), stream).expect("DevTools websocket");
        let mut chromium = Self { child, _profile: profile, socket, next_id: 0 };
        chromium.call("Page.enable", json!({}));
        Some(chromium)
    }

    pub(crate) fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let request = json!({"id": id, "method": method, "params": params});
        self.socket.send(Message::text(request.to_string())).unwrap();
        loop {
            let message = self.socket.read().expect("DevTools answer");
            let Message::Text(text) = message else { continue };
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value["id"] == id {
                assert!(value.get("error").is_none(), "{method} failed: {value}");
                return value["result"].clone();
            }
        }
    }

    pub(crate) fn eval(&mut self, expression: &str) -> Value {
        let result = self.call("Runtime.evaluate", json!({"expression": expression, "returnByValue": true}));
        result["result"]["value"].clone()
    }

    pub(crate) fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
    }

    /// Waits until `condition` (JavaScript) is true in the page.
    pub(crate) fn wait_for(&mut self, condition: &str, what: &str) {
        let started = Instant::now();
        loop {
            if self.eval(&format!("document.readyState === 'complete' && !!({condition})")) == json!(true) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}: {}",
                self.eval("location.href")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn screenshot(&mut self, path: &Path) {
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Whether the page fits the viewport's width (no sideways scrolling).
    pub(crate) fn fits_width(&mut self) -> bool {
        // A mobile viewport widens itself to its content, so `screen.width`
        // (the emulated device's) is the measure.
        self.eval("document.documentElement.scrollWidth <= screen.width") == json!(true)
    }

    pub(crate) fn phone_size(&mut self, phone: bool) {
        if phone {
            let metrics = json!({"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true});
            self.call("Emulation.setDeviceMetricsOverride", metrics);
        } else {
            self.call("Emulation.clearDeviceMetricsOverride", json!({}));
        }
    }
}

/// A tiny HTTP GET for DevTools' JSON endpoints (it keeps connections open,
/// so the body is read by its Content-Length).
fn http_get_json(port: u16, path: &str) -> Value {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).expect("DevTools HTTP answer");
        assert!(n > 0, "DevTools closed the connection early");
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap())
                })
                .expect("a Content-Length");
            if body.len() >= length {
                return serde_json::from_str(&body[..length])
                    .unwrap_or_else(|e| panic!("bad DevTools JSON ({e}): {body}"));
            }
        }
    }
}

/// A stand-in for the client's callback: answers every request with a small
/// page and remembers the request lines.
fn callback_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 8192];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).into_owned();
            if let Some(line) = request.lines().next() {
                record.lock().unwrap().push(line.to_owned());
            }
            let body = "<!doctype html><title>Callback</title><h1>Signed in</h1>";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_signs_in_and_consents_in_chromium() {
    let Some(mut chromium) = Chromium::launch() else { return };
    let (callback_port, seen) = callback_server();
    let callback = format!("http://127.0.0.1:{callback_port}/callback");
    // one unbroken word wider than a phone
    let long_name = "W".repeat(80);
    let realms = format!(
        r#"
[[realms]]
name = "shop"
display_name = "Acme Shop"

  [[realms.scopes]]
  name = "orders.read"
  description = "See your orders"

  [[realms.roles]]
  name = "customer"
  scopes = ["orders.read"]

  [[realms.users]]
  username = "alice"
  password = "alice-pw"
  email = "alice@example.com"
  given_name = "Alice"
  roles = ["customer"]

  [[realms.clients]]
  client_id = "storefront"
  name = "Acme Storefront"
  secret = "storefront-secret"
  redirect_uris = ["{callback}"]
  grant_types = ["authorization_code", "refresh_token"]
  scopes = ["openid", "profile", "email", "orders.read"]
  consent_required = true

[[realms]]
name = "long"
display_name = "{long_name}"
"#
    );
    let app = spawn_app_with(Backend::Sqlite, &realms).await.unwrap();
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    let account = app.realm_url("shop", "/account");
    let long_account = app.realm_url("long", "/account");
    let url = crate::browser::auth_url(
        &app,
        "shop",
        &[
            ("client_id", "storefront"),
            ("redirect_uri", &callback),
            ("response_type", "code"),
            ("scope", "openid profile email orders.read"),
            ("state", "st-123"),
            ("code_challenge", crate::browser::CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    );

    let form_post_url = crate::browser::auth_url(
        &app,
        "shop",
        &[
            ("client_id", "storefront"),
            ("redirect_uri", &callback),
            ("response_type", "code"),
            ("response_mode", "form_post"),
            ("scope", "openid orders.read"),
            ("state", "st-456"),
        ],
    );
    let step1 = app.realm_url("shop", "/protocol/openid-connect/3p-cookies/step1.html");
    let (code, shots) = tokio::task::spawn_blocking(move || {
        chromium.navigate(&url);
        chromium.wait_for("document.querySelector('#username')", "the login page");
        assert_eq!(chromium.eval("document.title"), json!("Sign in · Acme Shop"));
        // The inline stylesheet applies: its hash is in the page's CSP.
        let radius = chromium.eval("getComputedStyle(document.querySelector('main')).borderTopLeftRadius");
        assert_ne!(radius, json!("0px"), "the stylesheet was blocked");
        chromium.screenshot(&shots.join("login.png"));
        chromium.phone_size(true);
        chromium.screenshot(&shots.join("login-phone.png"));
        chromium.phone_size(false);

        // A wrong password first: the message, and the username kept.
        chromium.eval("document.querySelector('#username').value = 'alice'; document.querySelector('#password').value = 'nope'; document.querySelector('button[type=submit]').click(); true");
        chromium.wait_for("document.querySelector('#login-error')", "the login error");
        chromium.screenshot(&shots.join("login-error.png"));
        assert_eq!(chromium.eval("document.querySelector('#username').value"), json!("alice"));

        chromium.eval("document.querySelector('#password').value = 'alice-pw'; document.querySelector('button[type=submit]').click(); true");
        chromium.wait_for("document.querySelector('button[value=allow]')", "the consent page");
        let text = chromium.eval("document.body.innerText").as_str().unwrap_or_default().to_owned();
        assert!(text.contains("Acme Storefront") && text.contains("See your orders"), "{text}");
        chromium.screenshot(&shots.join("consent.png"));
        chromium.phone_size(true);
        chromium.screenshot(&shots.join("consent-phone.png"));
        assert!(chromium.fits_width(), "the consent page scrolls sideways on a phone");
        chromium.phone_size(false);

        chromium.eval("document.querySelector('button[value=allow]').click(); true");
        chromium.wait_for(&format!("location.href.startsWith('{callback}')"), "the callback");
        let href = chromium.eval("location.href").as_str().unwrap().to_owned();
        chromium.screenshot(&shots.join("callback.png"));
        let url = url::Url::parse(&href).unwrap();
        let params: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(params["state"], "st-123");

        // The account page, through the same SSO session.
        // keycloak-js's third-party-cookie check, framed by the application's
        // page (another origin): it answers at once, so keycloak-js goes on.
        let check = format!(
            "window.kcCheck = null; window.addEventListener('message', e => window.kcCheck = e.data); \
             const f = document.createElement('iframe'); f.src = '{step1}'; document.body.appendChild(f); true"
        );
        chromium.eval(&check);
        chromium.wait_for("window.kcCheck === 'unsupported'", "the 3p-cookies answer");

        // form_post through the same session: the page posts itself with
        // its inline script, which the CSP allows by its hash.
        chromium.navigate(&form_post_url);
        chromium.wait_for(&format!("location.href.startsWith('{callback}')"), "the form_post callback");

        chromium.navigate(&account);
        chromium.wait_for("document.querySelector('#tokens-title')", "the account page");
        chromium.screenshot(&shots.join("account.png"));
        chromium.phone_size(true);
        chromium.screenshot(&shots.join("account-phone.png"));
        chromium.phone_size(false);

        // A realm's display name as one long word wraps instead of widening the page.
        chromium.phone_size(true);
        chromium.navigate(&long_account);
        chromium.wait_for("document.querySelector('#username')", "the long realm's sign-in page");
        assert!(chromium.fits_width(), "a long realm name makes the sign-in page scroll sideways");
        chromium.phone_size(false);
        (params["code"].clone(), shots)
    })
    .await
    .unwrap();
    assert!(seen.lock().unwrap().iter().any(|line| line.contains("/callback?code=")), "the callback was called");
    assert!(seen.lock().unwrap().iter().any(|line| line == "POST /callback HTTP/1.1"), "form_post posted: {seen:?}");

    let tokens = app
        .token(
            "shop",
            Some(("storefront", "storefront-secret")),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &format!("http://127.0.0.1:{callback_port}/callback")),
                ("code_verifier", crate::browser::VERIFIER),
            ],
        )
        .await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    assert_eq!(tokens.json["scope"], "email openid orders.read profile");
    for name in ["login.png", "login-phone.png", "login-error.png", "consent.png", "consent-phone.png", "account.png"] {
        assert!(std::fs::metadata(shots.join(name)).unwrap().len() > 1000, "{name} is empty");
    }
}
