//! The admin console in real headless Chromium (issue 6): an administrator
//! signs in through the `master` login page, creates a client, sets its
//! redirect URI, reveals and regenerates its secret, creates a user and
//! assigns a role. Screenshots of each page go to `target/screenshots/console/`.

use std::path::PathBuf;

use reqwest::Method;
use serde_json::{Value, json};

use crate::chromium::Chromium;
use crate::helpers::{Backend, spawn_app_with};

const REALMS: &str = r#"
[[realms]]
name = "shop"
display_name = "Acme Shop"

  [[realms.roles]]
  name = "customer"
"#;

/// Sets a field's value by id (the page's own inputs, like a person typing).
fn fill(id: &str, value: &str) -> String {
    format!("document.getElementById({}).value = {};", json!(id), json!(value))
}

fn click(selector: &str) -> String {
    format!("document.querySelector({}).click(); true", json!(selector))
}

fn notice_is(text: &str) -> String {
    format!(
        "document.querySelector('#notice') && document.querySelector('#notice').innerText.startsWith({})",
        json!(text)
    )
}

struct Seen {
    client_uuid: String,
    first_secret: String,
    second_secret: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_manages_a_realm_in_the_console_in_chromium() {
    let Some(mut chromium) = Chromium::launch() else { return };
    let app = spawn_app_with(Backend::Sqlite, REALMS).await.unwrap();
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots/console");
    let console = format!("{}/admin/console/", app.base);
    let shop = format!("{}/admin/console/realms/shop/", app.base);

    let (seen, shots) = tokio::task::spawn_blocking(move || {
        let shot = |chromium: &mut Chromium, name: &str, phone: bool| {
            chromium.screenshot(&shots.join(format!("{name}.png")));
            if phone {
                chromium.phone_size(true);
                chromium.screenshot(&shots.join(format!("{name}-phone.png")));
                assert!(chromium.fits_width(), "{name} scrolls sideways on a phone");
                chromium.phone_size(false);
            }
        };
        // Sign in through the master realm's login page.
        chromium.navigate(&console);
        chromium.wait_for("document.querySelector('#username')", "the master login page");
        let text = chromium.eval("document.body.innerText").as_str().unwrap_or_default().to_owned();
        assert!(text.contains("the admin console"), "{text}");
        shot(&mut chromium, "login", false);
        chromium.eval(&format!(
            "{} {} {}",
            fill("username", "admin"),
            fill("password", "admin-pw"),
            click("button[type=submit]")
        ));
        chromium.wait_for("document.querySelector('#realms')", "the realm list");
        assert_eq!(chromium.eval("document.title"), json!("Realms · realmgate admin"));
        shot(&mut chromium, "realms", true);

        // Create a client.
        chromium.navigate(&format!("{shop}clients"));
        chromium.wait_for("document.querySelector('#client_id')", "the client list");
        chromium.eval(&format!("{} {}", fill("client_id", "console-app"), click("form.create button[type=submit]")));
        chromium.wait_for(&notice_is("Created."), "the new client's page");
        let client_uuid = chromium.eval("location.pathname.split('/').pop()").as_str().unwrap().to_owned();
        shot(&mut chromium, "client-created", true);

        // A redirect URI that is not absolute: the message next to the field, nothing saved.
        chromium.eval(&format!("{} {}", fill("redirect_uris", "not a uri"), click("#save-client")));
        chromium.wait_for("document.querySelector('#redirect_uris-error')", "the field's message");
        assert_eq!(
            chromium.eval("document.querySelector('#redirect_uris').getAttribute('aria-invalid')"),
            json!("true")
        );
        shot(&mut chromium, "client-invalid", false);

        // Its redirect URI.
        chromium.eval(&format!(
            "{} {}",
            fill("redirect_uris", "https://app.example.com/callback"),
            click("#save-client")
        ));
        chromium.wait_for(&notice_is("Saved."), "the saved client");
        assert_eq!(
            chromium.eval("document.querySelector('#redirect_uris').value"),
            json!("https://app.example.com/callback")
        );
        shot(&mut chromium, "client-saved", false);

        // Reveal the secret.
        chromium.eval(&click("#reveal-secret"));
        chromium.wait_for("document.querySelector('#client-secret')", "the revealed secret");
        let first_secret =
            chromium.eval("document.querySelector('#client-secret').innerText").as_str().unwrap().to_owned();
        shot(&mut chromium, "client-secret", false);

        // Regenerate it, after a confirmation.
        chromium.eval(&click("#regenerate-secret"));
        chromium.wait_for("document.querySelector('#confirm')", "the confirmation");
        shot(&mut chromium, "confirm-regenerate", true);
        chromium.eval(&click("#confirm"));
        chromium.wait_for(&notice_is("A new secret"), "the new secret");
        let second_secret =
            chromium.eval("document.querySelector('#client-secret').innerText").as_str().unwrap().to_owned();
        assert_ne!(first_secret, second_secret);
        shot(&mut chromium, "client-regenerated", false);

        // Create a user with a password, then give them a role.
        chromium.navigate(&format!("{shop}users"));
        chromium.wait_for("document.querySelector('#new-username')", "the user list");
        chromium.eval(&format!(
            "{} {} {} {}",
            fill("new-username", "carol"),
            fill("new-email", "carol@example.com"),
            fill("new-password", "carol-pw-1"),
            click("form.create button[type=submit]")
        ));
        chromium.wait_for(&notice_is("Created."), "the new user's page");
        shot(&mut chromium, "user-created", false);
        chromium.eval(&click("#add-role"));
        chromium.wait_for(&notice_is("Role assigned."), "the assigned role");
        let held = chromium.eval("document.querySelector('#held-roles').innerText").as_str().unwrap().to_owned();
        assert!(held.contains("customer"), "{held}");
        shot(&mut chromium, "user-role", true);

        chromium.navigate(&format!("{shop}users?search=car"));
        chromium.wait_for("document.querySelector('#users')", "the user search");
        let found = chromium.eval("document.querySelector('#users').innerText").as_str().unwrap().to_owned();
        assert!(found.contains("carol"), "{found}");
        shot(&mut chromium, "users", true);

        // What the console did is in the audit log.
        chromium.navigate(&format!("{shop}audit?log=admin"));
        chromium.wait_for("document.querySelector('#admin-events')", "the admin log");
        let log = chromium.eval("document.querySelector('#admin-events').innerText").as_str().unwrap().to_owned();
        assert!(log.contains("CREATE CLIENT") && log.contains("ACTION CLIENT"), "{log}");
        assert!(log.contains("REALM_ROLE_MAPPING"), "{log}");
        shot(&mut chromium, "audit", true);

        // The other pages render too.
        for (tail, ready, name) in [
            ("", "#keys", "settings"),
            ("roles", "#roles", "roles"),
            ("scopes", "#scopes", "scopes"),
            ("clients", "#clients", "clients"),
        ] {
            chromium.navigate(&format!("{shop}{tail}"));
            chromium.wait_for(&format!("document.querySelector('{ready}')"), name);
            shot(&mut chromium, name, name == "settings");
        }
        (Seen { client_uuid, first_secret, second_secret }, shots)
    })
    .await
    .unwrap();

    // The protocol side agrees: the old secret is refused, the new one works.
    let refused = app.client_credentials("shop", "console-app", &seen.first_secret, None).await;
    assert_eq!(refused.status, 401, "{}", refused.json);
    let accepted = app.client_credentials("shop", "console-app", &seen.second_secret, None).await;
    assert_eq!(accepted.status, 400, "authenticated, but no client_credentials grant: {}", accepted.json);
    assert_eq!(accepted.json["error"], "unauthorized_client");

    // And the admin API sees what the console made.
    let token = app.master_token().await;
    let client =
        app.admin(Method::GET, &format!("/realms/shop/clients/{}", seen.client_uuid), Some(&token), None).await;
    assert_eq!(client.status, 200, "{}", client.text);
    assert_eq!(client.json["redirectUris"], json!(["https://app.example.com/callback"]));
    assert_eq!(client.json["secret"], Value::from(seen.second_secret.clone()));
    let users = app.admin(Method::GET, "/realms/shop/users?username=carol&exact=true", Some(&token), None).await;
    let carol = users.json[0]["id"].as_str().expect("carol exists").to_owned();
    let roles =
        app.admin(Method::GET, &format!("/realms/shop/users/{carol}/role-mappings/realm"), Some(&token), None).await;
    assert_eq!(
        roles.json.as_array().map(|r| r.iter().map(|r| r["name"].clone()).collect::<Vec<_>>()),
        Some(vec![json!("customer")])
    );

    for name in [
        "login",
        "realms",
        "realms-phone",
        "client-created",
        "client-saved",
        "client-secret",
        "confirm-regenerate",
        "client-regenerated",
        "user-created",
        "user-role",
        "user-role-phone",
        "audit",
        "settings",
        "settings-phone",
    ] {
        assert!(std::fs::metadata(shots.join(format!("{name}.png"))).unwrap().len() > 1000, "{name}.png is empty");
    }
}
