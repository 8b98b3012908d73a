//! `/openapi.json` (SPEC §6): an OpenAPI 3.1 document that
//! openapi-spec-validator accepts, whose every operation the server routes,
//! and that lists every admin route the server registers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::admin_clients::{clients_dir, installed};
use crate::helpers::{Answer, Backend, TestApp, spawn_app};

/// The HTTP methods an operation of these APIs may have.
const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

async fn document(app: &TestApp) -> Value {
    let answer = app.get(&format!("{}/openapi.json", app.base)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert!(answer.json.is_object(), "{}", answer.text);
    answer.json
}

/// Runs `validate_openapi.py` on `doc`: its exit status and what it printed;
/// `None` where the venv is missing and not required.
async fn validate(doc: &Value) -> Option<(bool, String)> {
    let python = clients_dir().join(".venv/bin/python");
    if !installed(&python, "the venv (python3 -m venv .venv && .venv/bin/pip install -r requirements.txt)") {
        return None;
    }
    let mut child = tokio::process::Command::new(&python)
        .arg(clients_dir().join("validate_openapi.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(doc.to_string().as_bytes()).await.expect("write the document");
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the validator finishes within 2 minutes")
        .expect("the validator runs");
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Some((out.status.success(), printed))
}

/// Every operation of the document: (method, path template).
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("`paths` is an object");
    paths
        .iter()
        .flat_map(|(path, item)| {
            let item = item.as_object().expect("a path item is an object");
            METHODS.iter().filter(|m| item.contains_key(**m)).map(move |m| ((*m).to_owned(), path.clone()))
        })
        .collect()
}

/// A path template with plausible values: realm `master`, fresh ids and names.
fn concrete(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').expect("a closing brace") + start;
        out.push_str(&rest[..start]);
        let value = match &rest[start + 1..end] {
            "realm" => "master".to_owned(),
            "name" => format!("role-{}", uuid::Uuid::new_v4().simple()),
            "client_id" => format!("client-{}", uuid::Uuid::new_v4().simple()),
            _ => uuid::Uuid::new_v4().to_string(),
        };
        out.push_str(&value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Calls `path` with `method` and no credential (a JSON `{}` body for writes).
async fn call(app: &TestApp, method: &str, path: &str) -> Answer {
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("an HTTP method");
    let mut request = app.http.request(method.clone(), format!("{}{path}", app.base));
    if method != Method::GET && method != Method::DELETE {
        request = request.header(reqwest::header::CONTENT_TYPE, "application/json").body("{}");
    }
    Answer::from(request.send().await.expect("request")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_openapi_3_1_and_validates() {
    let Some(app) = spawn_app(Backend::Sqlite).await else { return };
    let doc = document(&app).await;
    let version = doc["openapi"].as_str().expect("`openapi` is a string");
    assert!(version.starts_with("3.1."), "openapi = {version}");
    assert_eq!(doc["info"]["title"], "realmgate");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!((&bearer["type"], &bearer["scheme"]), (&json!("http"), &json!("bearer")), "{bearer}");
    assert_eq!(doc["security"], json!([{"bearer": []}]));
    assert_eq!(doc["servers"][0]["url"], app.base, "the public URL is the server");
    let Some((valid, printed)) = validate(&doc).await else { return };
    assert!(valid, "openapi-spec-validator rejects /openapi.json:\n{printed}");
}

/// Behind a proxy serving realmgate below a path, generated clients must
/// call the admin API below that path too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documents_server_is_the_public_url() {
    let app = crate::helpers::spawn_app_configured(Backend::Sqlite, crate::helpers::TEST_REALMS, |config| {
        config.public_url = Some("https://id.example.com/auth".into());
    })
    .await;
    let Some(app) = app else { return };
    assert_eq!(
        document(&app).await["servers"],
        json!([{"url": "https://id.example.com/auth", "description": "This server"}])
    );
}

/// The check above is only worth something if a broken document fails it:
/// a path parameter that is not declared, and a response without its
/// required `description`, each make the validator exit non-zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_validator_rejects_a_broken_document() {
    let Some(app) = spawn_app(Backend::Sqlite).await else { return };
    let doc = document(&app).await;

    let mut undeclared = doc.clone();
    let parameters = undeclared["paths"]["/admin/realms/{realm}"]["get"]["parameters"].as_array_mut().unwrap();
    parameters.retain(|p| p["name"] != "realm");
    let Some((valid, printed)) = validate(&undeclared).await else { return };
    assert!(!valid, "a path parameter left undeclared passed:\n{printed}");
    assert!(printed.contains("Path parameter 'realm'"), "{printed}");

    let mut undescribed = doc;
    undescribed["components"]["responses"]["NotFound"].as_object_mut().unwrap().remove("description");
    let (valid, printed) = validate(&undescribed).await.expect("the venv, as above");
    assert!(!valid, "a response without a description passed:\n{printed}");
    assert!(printed.contains("'description' is a required property"), "{printed}");
}

/// Each documented operation, called without a credential, reaches its
/// handler: the admin API answers 401 with Keycloak's body (also with a
/// trailing slash), the account API 401 `invalid_token` — never the
/// router's 404 nor a 405.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_routed() {
    let Some(app) = spawn_app(Backend::Sqlite).await else { return };
    let doc = document(&app).await;
    let operations = operations(&doc);
    assert!(operations.len() > 70, "only {} operations documented", operations.len());
    for (method, template) in &operations {
        let path = concrete(template);
        if template.starts_with("/admin/") {
            for path in [path.clone(), format!("{path}/")] {
                let answer = call(&app, method, &path).await;
                assert_eq!(answer.status, 401, "{method} {path} (documented as {template}): {}", answer.text);
                assert_eq!(answer.json, json!({"error": "HTTP 401 Unauthorized"}), "{method} {path}");
            }
        } else {
            assert!(template.starts_with("/realms/{realm}/account/api/"), "{template}: neither admin nor account API");
            let answer = call(&app, method, &path).await;
            answer.assert_error(401, "invalid_token");
        }
    }
}

/// The converse: the admin API serves nothing the document leaves out.
/// Derived from the server where it can be: on every documented admin
/// path, each method the document does not list answers 405; and the
/// number of handler registrations in the `routes` functions of
/// `src/admin/` and `src/oidc/account_api.rs` equals the number of
/// documented operations. A list of the endpoints SPEC §6 names guards the
/// other direction by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_documented() {
    let Some(app) = spawn_app(Backend::Sqlite).await else { return };
    let doc = document(&app).await;
    let operations = operations(&doc);

    let mut by_path: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (method, path) in &operations {
        by_path.entry(path).or_default().push(method);
    }
    for (template, documented) in by_path.iter().filter(|(p, _)| p.starts_with("/admin/")) {
        let path = concrete(template);
        for method in METHODS.iter().filter(|m| !documented.contains(m)) {
            let answer = call(&app, method, &path).await;
            let what = format!("{method} {template}, a method the document leaves out");
            assert_eq!(answer.status, 405, "{what}, answers {}: {}", answer.status, answer.text);
            assert_eq!(answer.json, json!({"error": "HTTP 405 Method Not Allowed"}), "{what}: Keycloak's shape");
        }
    }

    let registered = registrations();
    let documented = operations.len();
    assert_eq!(
        registered, documented,
        "handler registrations found in the routes functions (see `registrations`) vs documented operations"
    );

    for &(method, path) in SPEC_ENDPOINTS {
        assert!(operations.contains(&(method.to_owned(), path.to_owned())), "{method} {path} is not documented");
    }
}

/// Handler registrations (`.get(list)`, `web::post().to(create_token)`) in
/// the route-registering functions of the admin API and the account API.
fn registrations() -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let admin = std::fs::read_dir(root.join("src/admin")).expect("src/admin").map(|e| e.expect("an entry").path());
    let files: Vec<_> = admin.chain([root.join("src/oidc/account_api.rs")]).collect();
    let mut count = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a source file");
        for start in ["pub fn routes(cfg: &mut web::ServiceConfig) {", "pub fn config(cfg: &mut web::ServiceConfig) {"]
        {
            let Some(at) = text.find(start) else { continue };
            let body = &text[at..at + text[at..].find("\n}\n").expect("the function's end")];
            for method in METHODS {
                // `.get(handler)` chained on a resource, `web::get().to(handler)` in a route.
                let chained = format!(".{method}(");
                count += body.match_indices(&chained).filter(|(i, _)| body[..*i].trim_end().ends_with(')')).count();
                count += body.matches(&format!("web::{method}().to(")).count();
            }
        }
    }
    count
}

/// The admin endpoints SPEC §6 lists, each with its method.
const SPEC_ENDPOINTS: &[(&str, &str)] = &[
    ("get", "/admin/serverinfo"),
    ("get", "/admin/realms"),
    ("post", "/admin/realms"),
    ("get", "/admin/realms/{realm}"),
    ("put", "/admin/realms/{realm}"),
    ("delete", "/admin/realms/{realm}"),
    ("get", "/admin/realms/{realm}/keys"),
    ("get", "/admin/realms/{realm}/clients"),
    ("post", "/admin/realms/{realm}/clients"),
    ("get", "/admin/realms/{realm}/clients/{id}"),
    ("put", "/admin/realms/{realm}/clients/{id}"),
    ("delete", "/admin/realms/{realm}/clients/{id}"),
    ("get", "/admin/realms/{realm}/clients/{id}/client-secret"),
    ("post", "/admin/realms/{realm}/clients/{id}/client-secret"),
    ("get", "/admin/realms/{realm}/clients/{id}/service-account-user"),
    ("get", "/admin/realms/{realm}/clients/{id}/default-client-scopes"),
    ("put", "/admin/realms/{realm}/clients/{id}/default-client-scopes/{scope}"),
    ("delete", "/admin/realms/{realm}/clients/{id}/default-client-scopes/{scope}"),
    ("get", "/admin/realms/{realm}/clients/{id}/optional-client-scopes"),
    ("put", "/admin/realms/{realm}/clients/{id}/optional-client-scopes/{scope}"),
    ("delete", "/admin/realms/{realm}/clients/{id}/optional-client-scopes/{scope}"),
    ("get", "/admin/realms/{realm}/clients/{id}/roles"),
    ("get", "/admin/realms/{realm}/users"),
    ("post", "/admin/realms/{realm}/users"),
    ("get", "/admin/realms/{realm}/users/count"),
    ("get", "/admin/realms/{realm}/users/{id}"),
    ("put", "/admin/realms/{realm}/users/{id}"),
    ("delete", "/admin/realms/{realm}/users/{id}"),
    ("put", "/admin/realms/{realm}/users/{id}/reset-password"),
    ("post", "/admin/realms/{realm}/users/{id}/logout"),
    ("get", "/admin/realms/{realm}/users/{id}/sessions"),
    ("delete", "/admin/realms/{realm}/sessions/{session}"),
    ("get", "/admin/realms/{realm}/users/{id}/groups"),
    ("get", "/admin/realms/{realm}/users/{id}/role-mappings"),
    ("get", "/admin/realms/{realm}/users/{id}/role-mappings/realm"),
    ("post", "/admin/realms/{realm}/users/{id}/role-mappings/realm"),
    ("delete", "/admin/realms/{realm}/users/{id}/role-mappings/realm"),
    ("get", "/admin/realms/{realm}/users/{id}/role-mappings/realm/available"),
    ("get", "/admin/realms/{realm}/users/{id}/role-mappings/realm/composite"),
    ("get", "/admin/realms/{realm}/users/{id}/role-mappings/clients/{client}"),
    ("post", "/admin/realms/{realm}/users/{id}/role-mappings/clients/{client}"),
    ("delete", "/admin/realms/{realm}/users/{id}/role-mappings/clients/{client}"),
    ("get", "/admin/realms/{realm}/roles"),
    ("post", "/admin/realms/{realm}/roles"),
    ("get", "/admin/realms/{realm}/roles/{name}"),
    ("put", "/admin/realms/{realm}/roles/{name}"),
    ("delete", "/admin/realms/{realm}/roles/{name}"),
    ("get", "/admin/realms/{realm}/roles/{name}/users"),
    ("get", "/admin/realms/{realm}/roles-by-id/{id}"),
    ("put", "/admin/realms/{realm}/roles-by-id/{id}"),
    ("delete", "/admin/realms/{realm}/roles-by-id/{id}"),
    ("get", "/admin/realms/{realm}/client-scopes"),
    ("post", "/admin/realms/{realm}/client-scopes"),
    ("get", "/admin/realms/{realm}/client-scopes/{id}"),
    ("put", "/admin/realms/{realm}/client-scopes/{id}"),
    ("delete", "/admin/realms/{realm}/client-scopes/{id}"),
    ("get", "/admin/realms/{realm}/default-default-client-scopes"),
    ("put", "/admin/realms/{realm}/default-default-client-scopes/{id}"),
    ("delete", "/admin/realms/{realm}/default-default-client-scopes/{id}"),
    ("get", "/admin/realms/{realm}/default-optional-client-scopes"),
    ("put", "/admin/realms/{realm}/default-optional-client-scopes/{id}"),
    ("delete", "/admin/realms/{realm}/default-optional-client-scopes/{id}"),
    ("get", "/admin/realms/{realm}/events"),
    ("get", "/admin/realms/{realm}/admin-events"),
    ("get", "/admin/realms/{realm}/events/config"),
    ("put", "/admin/realms/{realm}/events/config"),
];
