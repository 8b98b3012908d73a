//! Clients: list, create, edit (grants, redirect URIs, scopes, consent),
//! the secret shown on demand and regenerated after a confirmation.

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::pages::{Ask, ClientLine, ClientPage, ClientsPage, Frame, confirm, send, status_of};
use super::session::{signed_in, submitted};
use super::{ConsoleError, Ctx, Form, Pager, Problems, audit, notice, realm_url, see_other};
use crate::admin::Need;
use crate::admin::clients::{
    DEVICE_ATTRIBUTE, POST_LOGOUT_ATTRIBUTE, REFRESH_ATTRIBUTE, client_secret, create_client, delete_client,
    find_client, regenerate_secret, service_account_user, to_rep, update_client,
};
use crate::admin::realms::find_realm;
use crate::admin::scopes::catalog;
use crate::services::realms::BUILT_IN_CLIENTS;
use crate::state::AppState;
use crate::storage::repo::clients;

const PAGE_SIZE: usize = 20;

/// The grant checkboxes: form field, representation flag (or attribute), label.
pub const GRANTS: [(&str, &str, &str); 6] = [
    ("grant_authorization_code", "standardFlowEnabled", "Authorization code"),
    ("grant_implicit", "implicitFlowEnabled", "Implicit"),
    ("grant_password", "directAccessGrantsEnabled", "Password"),
    ("grant_client_credentials", "serviceAccountsEnabled", "Client credentials"),
    ("grant_device_code", DEVICE_ATTRIBUTE, "Device authorization"),
    ("grant_refresh_token", REFRESH_ATTRIBUTE, "Refresh tokens"),
];

async fn list_page(
    state: &AppState,
    ctx: &Ctx,
    realm: &str,
    query: &Form,
    form: Form,
    problems: Problems,
) -> Result<HttpResponse, ConsoleError> {
    ctx.admin.require(realm, Need::QueryClients)?;
    let found = find_realm(state, realm).await?;
    let rows = state.db.run(move |conn| clients::list_by_realm(conn, &found.id)).await?;
    let search = query.text("search").to_lowercase();
    let matching: Vec<_> = rows
        .into_iter()
        .filter(|r| r.client_id.to_lowercase().contains(&search) || r.name.to_lowercase().contains(&search))
        .collect();
    let base = format!("{}?search={}&", realm_url(&ctx.base, realm, "clients"), urlencode(&search));
    let mut pager = Pager::new(query, PAGE_SIZE, base);
    let clients: Vec<ClientLine> = pager
        .take(matching)
        .into_iter()
        .map(|r| ClientLine {
            public: r.secret_ciphertext.is_none(),
            id: r.id,
            client_id: r.client_id,
            name: r.name,
            enabled: r.enabled,
        })
        .collect();
    let status = status_of(&problems);
    let done = notice(Some(query.get("done")));
    let page =
        ClientsPage { frame: Frame::new(ctx, Some(realm), "clients", done), clients, search, pager, form, problems };
    Ok(send(status, &page))
}

pub fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let ctx = signed_in(&req, &state).await?;
    let mut form = Form::default();
    form.set("kind", "confidential");
    list_page(&state, &ctx, &path, &Form::query(&req), form, Problems::none()).await
}

pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    let (ctx, form) = submitted(&req, &state, payload).await?;
    let realm = path.as_str();
    let redirect: Vec<&str> = Some(form.text("redirect_uri")).into_iter().filter(|u| !u.is_empty()).collect();
    let rep = json!({
        "clientId": form.text("client_id"),
        "publicClient": form.get("kind") == "public",
        "redirectUris": redirect,
        "standardFlowEnabled": true,
    });
    match create_client(&state, &ctx.admin, realm, rep.as_object().cloned().unwrap_or_default()).await {
        Ok(id) => {
            audit(&state, &ctx, realm, Method::POST, &format!("clients/{id}")).await;
            Ok(see_other(&format!("{}?done=created", realm_url(&ctx.base, realm, &format!("clients/{id}")))))
        }
        Err(e) => {
            let needles = [("redirectUris", "redirect_uri"), ("clientId", "client_id"), ("Client ", "client_id")];
            let problems = Problems::from_refusal(e, &needles, "client_id")?;
            list_page(&state, &ctx, realm, &Form::default(), form, problems).await
        }
    }
}

/// The edit form as stored.
fn client_form(rep: &Map<String, Value>) -> Form {
    let mut form = Form::default();
    let text = |key: &str| rep.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let list = |key: &str| -> Vec<String> {
        rep.get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    let attributes = rep.get("attributes").and_then(Value::as_object).cloned().unwrap_or_default();
    form.set("client_id", text("clientId"));
    form.set("name", text("name"));
    form.tick("enabled", rep.get("enabled").and_then(Value::as_bool).unwrap_or(true));
    let public = rep.get("publicClient").and_then(Value::as_bool).unwrap_or(false);
    form.set("kind", if public { "public" } else { "confidential" });
    form.set("redirect_uris", list("redirectUris").join("\n"));
    let post_logout = attributes.get(POST_LOGOUT_ATTRIBUTE).and_then(Value::as_str).unwrap_or_default();
    form.set("post_logout_redirect_uris", post_logout.split("##").collect::<Vec<_>>().join("\n"));
    for (field, flag, _) in GRANTS {
        let on = rep.get(flag).or_else(|| attributes.get(flag));
        form.tick(field, matches!(on, Some(Value::Bool(true))) || on.and_then(Value::as_str) == Some("true"));
    }
    form.tick("consent_required", rep.get("consentRequired").and_then(Value::as_bool).unwrap_or(false));
    form.set("scopes", list("defaultClientScopes").join(" "));
    form.set("optional_scopes", list("optionalClientScopes").join(" "));
    form
}

/// The edit form as changes to the client's representation.
fn client_changes(form: &Form, current: &Map<String, Value>) -> Map<String, Value> {
    let mut attributes = current.get("attributes").and_then(Value::as_object).cloned().unwrap_or_default();
    attributes.insert(POST_LOGOUT_ATTRIBUTE.into(), form.lines("post_logout_redirect_uris").join("##").into());
    let mut changes = Map::new();
    for (field, flag, _) in GRANTS {
        if flag.contains('.') {
            attributes.insert(flag.into(), form.checked(field).to_string().into());
        } else {
            changes.insert(flag.into(), form.checked(field).into());
        }
    }
    changes.insert("clientId".into(), form.text("client_id").into());
    changes.insert("name".into(), form.text("name").into());
    changes.insert("enabled".into(), form.checked("enabled").into());
    changes.insert("publicClient".into(), (form.get("kind") == "public").into());
    changes.insert("redirectUris".into(), form.lines("redirect_uris").into());
    changes.insert("consentRequired".into(), form.checked("consent_required").into());
    changes.insert("defaultClientScopes".into(), form.words("scopes").into());
    changes.insert("optionalClientScopes".into(), form.words("optional_scopes").into());
    changes.insert("attributes".into(), Value::Object(attributes));
    changes
}

struct Shown {
    form: Option<Form>,
    problems: Problems,
    secret: Option<String>,
    done: Option<&'static str>,
}

async fn client_page(
    state: &AppState,
    ctx: &Ctx,
    realm: &str,
    id: &str,
    shown: Shown,
) -> Result<HttpResponse, ConsoleError> {
    ctx.admin.require(realm, Need::ViewClients)?;
    let found = find_realm(state, realm).await?;
    let row = find_client(state, &found, id).await?;
    let scope_names = catalog(state, &found.id).await?.into_iter().map(|s| s.name).collect::<Vec<_>>().join(" ");
    let form = match shown.form {
        Some(form) => form,
        None => client_form(&to_rep(&row, None)?),
    };
    let status = status_of(&shown.problems);
    let service_account = ctx.admin.may(realm, Need::ManageClients)
        && ctx.admin.may(realm, Need::ViewUsers)
        && row.has_service_account()?;
    let page = ClientPage {
        frame: Frame::new(ctx, Some(realm), "clients", shown.done),
        id: row.id.clone(),
        built_in: BUILT_IN_CLIENTS.contains(&row.client_id.as_str()),
        client_id: row.client_id,
        form,
        problems: shown.problems,
        confidential: row.secret_ciphertext.is_some(),
        service_account,
        secret: shown.secret,
        scope_names,
    };
    Ok(send(status, &page))
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ConsoleError> {
    let ctx = signed_in(&req, &state).await?;
    let (realm, id) = path.into_inner();
    let done = notice(Some(Form::query(&req).get("done")));
    let shown = Shown { form: None, problems: Problems::none(), secret: None, done };
    client_page(&state, &ctx, &realm, &id, shown).await
}

fn ask<'a>(client_id: &str, action: &'a str) -> Ask<'a> {
    if action == "delete" {
        Ask {
            action,
            id: None,
            title: format!("Delete the client {client_id}?"),
            message: "Its tokens stop working and applications using it can no longer sign users in.",
            button: "Delete client",
        }
    } else {
        Ask {
            action,
            id: None,
            title: format!("Regenerate the secret of {client_id}?"),
            message: "The current secret stops working at once: every application using it must be given the new one.",
            button: "Regenerate secret",
        }
    }
}

/// `POST .../clients/{id}`: save, reveal or regenerate the secret, delete.
pub async fn action(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    let (ctx, form) = submitted(&req, &state, payload).await?;
    let (realm, id) = path.into_inner();
    let here = realm_url(&ctx.base, &realm, &format!("clients/{id}"));
    let rest = format!("clients/{id}");
    let confirmed = form.get("confirm") == "yes";
    match form.get("action") {
        "save" => {
            ctx.admin.require(&realm, Need::ManageClients)?;
            let found = find_realm(&state, &realm).await?;
            let current = to_rep(&find_client(&state, &found, &id).await?, None)?;
            match update_client(&state, &ctx.admin, &realm, &id, client_changes(&form, &current)).await {
                Ok(()) => {
                    audit(&state, &ctx, &realm, Method::PUT, &rest).await;
                    Ok(see_other(&format!("{here}?done=saved")))
                }
                Err(e) => {
                    // The first that the message holds (case aside) names the field.
                    let needles = [
                        ("service account", "grants"),
                        ("redirectUris", "redirect_uris"),
                        ("post.logout", "post_logout_redirect_uris"),
                        ("defaultClientScopes", "scopes"),
                        ("optionalClientScopes", "optional_scopes"),
                        ("clientId", "client_id"),
                        ("client_id", "client_id"),
                        ("already exists", "client_id"),
                        ("renamed", "client_id"),
                        ("Built-in", "name"),
                    ];
                    let problems = Problems::from_refusal(e, &needles, "name")?;
                    let shown = Shown { form: Some(form), problems, secret: None, done: None };
                    client_page(&state, &ctx, &realm, &id, shown).await
                }
            }
        }
        "set-secret" => {
            ctx.admin.require(&realm, Need::ManageClients)?;
            let found = find_realm(&state, &realm).await?;
            let public = find_client(&state, &found, &id).await?.secret_ciphertext.is_none();
            let secret = form.text("secret");
            // The API takes Keycloak's mask of a secret as "unchanged": here
            // it would be reported set while nothing changed.
            let refusal = if public {
                Some("A public client has no secret.")
            } else if secret.is_empty() {
                Some("Enter the secret to set.")
            } else if secret.chars().all(|c| c == '*') {
                Some("Enter the secret itself, not a mask.")
            } else {
                None
            };
            if let Some(refusal) = refusal {
                let mut problems = Problems::none();
                problems.add("secret", refusal);
                let shown = Shown { form: None, problems, secret: None, done: None };
                return client_page(&state, &ctx, &realm, &id, shown).await;
            }
            let mut changes = Map::new();
            changes.insert("secret".into(), secret.into());
            match update_client(&state, &ctx.admin, &realm, &id, changes).await {
                Ok(()) => {
                    audit(&state, &ctx, &realm, Method::PUT, &rest).await;
                    Ok(see_other(&format!("{here}?done=secret-set")))
                }
                Err(e) => {
                    let problems = Problems::from_refusal(e, &[("secret", "secret")], "secret")?;
                    let shown = Shown { form: None, problems, secret: None, done: None };
                    client_page(&state, &ctx, &realm, &id, shown).await
                }
            }
        }
        "service-account" => {
            // Its user (made if the client has none yet, as the admin API's
            // `service-account-user` does), where its roles are granted.
            // It may make the user: for one who manages clients, and who may
            // open the user's page it leads to.
            ctx.admin.require(&realm, Need::ManageClients)?;
            ctx.admin.require(&realm, Need::ViewUsers)?;
            let found = find_realm(&state, &realm).await?;
            let user = service_account_user(&state, &find_client(&state, &found, &id).await?).await?;
            Ok(see_other(&realm_url(&ctx.base, &realm, &format!("users/{}", user.id))))
        }
        "reveal-secret" => {
            let secret = client_secret(&state, &ctx.admin, &realm, &id).await?;
            let shown = Shown { form: None, problems: Problems::none(), secret, done: None };
            client_page(&state, &ctx, &realm, &id, shown).await
        }
        action @ ("regenerate-secret" | "delete") if !confirmed => {
            ctx.admin.require(&realm, Need::ManageClients)?;
            let found = find_realm(&state, &realm).await?;
            let row = find_client(&state, &found, &id).await?;
            Ok(confirm(&ctx, &realm, "clients", here, ask(&row.client_id, action)))
        }
        "regenerate-secret" => {
            let secret = regenerate_secret(&state, &ctx.admin, &realm, &id).await?;
            audit(&state, &ctx, &realm, Method::POST, &format!("{rest}/client-secret")).await;
            let done = Some("A new secret was generated. Give it to every application that uses this client.");
            let shown = Shown { form: None, problems: Problems::none(), secret, done };
            client_page(&state, &ctx, &realm, &id, shown).await
        }
        "delete" => {
            delete_client(&state, &ctx.admin, &realm, &id).await?;
            audit(&state, &ctx, &realm, Method::DELETE, &rest).await;
            Ok(see_other(&format!("{}?done=deleted", realm_url(&ctx.base, &realm, "clients"))))
        }
        _ => Err(ConsoleError::BadRequest("Unknown action.".into())),
    }
}
