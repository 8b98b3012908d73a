//! The realm list (the console's home) and a realm's settings and keys.

use std::time::Duration;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::clients::urlencode;
use super::pages::{Ask, Frame, HomePage, KeyLine, RealmLine, RealmPage, confirm, realm_entry, send, status_of};
use super::session::{signed_in, submitted, submitted_up_to};
use super::{ConsoleError, Ctx, Form, Pager, Problems, audit, notice, realm_url, see_other, when};
use crate::admin::events::{admin_events_enabled, record_console_change};
use crate::admin::realms::{
    BASIC_AUTH, ID_TOKEN, QUERY_TOKENS, REFRESH_TOKEN, REUSE_GRACE, create_realm_from, delete_realm_named, find_realm,
    keys_of, rotate_keys, to_rep, update_realm_from,
};
use crate::admin::scopes::{DEFAULT_DEFAULTS, DEFAULT_OPTIONALS, realm_defaults};
use crate::admin::user_sessions::{may_sign_out_everyone, sign_out_everyone};
use crate::admin::{AdminError, Need};
use crate::domain::realm::SigningAlgorithm;
use crate::services::events::{ADMIN_EVENTS_ENABLED, ENABLED_EVENT_TYPES, EVENTS_ENABLED, EVENTS_EXPIRATION};
use crate::services::realms::MASTER_REALM;
use crate::state::AppState;
use crate::storage::repo::realms;

const PAGE_SIZE: usize = 50;

async fn home_page(
    state: &AppState,
    ctx: &Ctx,
    query: &Form,
    form: Form,
    problems: Problems,
) -> Result<HttpResponse, ConsoleError> {
    let all = state.db.run(realms::list).await?;
    let search = query.text("search").to_lowercase();
    let visible: Vec<RealmLine> = all
        .into_iter()
        .filter(|r| ctx.admin.may(&r.name, Need::AnyRole))
        .filter(|r| r.name.to_lowercase().contains(&search) || r.display_name.to_lowercase().contains(&search))
        .map(|r| RealmLine {
            entry: realm_entry(&ctx.admin, &r.name),
            name: r.name,
            display: r.display_name,
            enabled: r.enabled,
        })
        .collect();
    let mut pager = Pager::new(query, PAGE_SIZE, format!("{}/?search={}&", ctx.base, urlencode(&search)));
    let realms = pager.take(visible);
    let done = notice(Some(query.get("done")));
    let status = status_of(&problems);
    let page = HomePage { frame: Frame::new(ctx, None, "realms", done), realms, search, pager, form, problems };
    Ok(send(status, &page))
}

pub async fn home(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    let ctx = signed_in(&req, &state).await?;
    home_page(&state, &ctx, &Form::query(&req), Form::default(), Problems::none()).await
}

/// The largest form the realms page takes: an export pasted there arrives
/// URL-encoded, so the largest export is smaller than the admin API's.
const MAX_EXPORT_BYTES: usize = 1024 * 1024;

/// `POST /admin/console/`: create a realm, or import a Keycloak export.
pub async fn home_action(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    let (ctx, form) = submitted_up_to(&req, &state, payload, MAX_EXPORT_BYTES).await?;
    if form.get("action") == "import" {
        return import_action(&state, &ctx, form).await;
    }
    let mut rep = Map::new();
    rep.insert("realm".into(), form.text("name").into());
    if !form.text("display_name").is_empty() {
        rep.insert("displayName".into(), form.text("display_name").into());
    }
    match create_realm_from(&state, &ctx.admin, rep).await {
        Ok(name) => {
            audit(&state, &ctx, &name, Method::POST, "").await;
            Ok(see_other(&format!("{}?done=created", realm_url(&ctx.base, &name, ""))))
        }
        // The REST API's answer is Keycloak's wording, which tools match.
        Err(AdminError::Conflict(_)) => {
            let problems = Problems::one("name", format!("A realm named {} already exists.", form.text("name").trim()));
            home_page(&state, &ctx, &Form::default(), form, problems).await
        }
        Err(e) => {
            let problems = Problems::from_refusal(e, &[], "name")?;
            home_page(&state, &ctx, &Form::default(), form, problems).await
        }
    }
}

/// A realm export pasted into the import form, imported as `POST /admin/realms` would.
async fn import_action(state: &AppState, ctx: &Ctx, form: Form) -> Result<HttpResponse, ConsoleError> {
    let refused = |message: &str| Problems::one("export", message.to_owned());
    let rep = match serde_json::from_str::<Value>(form.text("export")) {
        Ok(Value::Object(rep)) => rep,
        _ => {
            let problems = refused("Paste a realm export: a JSON object such as Keycloak's realm-export.json.");
            return home_page(state, ctx, &Form::default(), form, problems).await;
        }
    };
    let rep_name = rep.get("realm").and_then(Value::as_str).map(str::to_owned);
    match create_realm_from(state, &ctx.admin, rep).await {
        Ok(name) => {
            audit(state, ctx, &name, Method::POST, "").await;
            Ok(see_other(&format!("{}?done=imported", realm_url(&ctx.base, &name, ""))))
        }
        Err(AdminError::Conflict(_)) => {
            let name = rep_name.unwrap_or_default();
            let problems = Problems::one("export", format!("A realm named {name} already exists."));
            home_page(state, ctx, &Form::default(), form, problems).await
        }
        Err(e) => {
            let problems = Problems::from_refusal(e, &[], "export")?;
            home_page(state, ctx, &Form::default(), form, problems).await
        }
    }
}

fn lifetime(seconds: Option<i64>) -> String {
    seconds.map_or_else(String::new, |s| humantime::format_duration(Duration::from_secs(s.max(0) as u64)).to_string())
}

/// The settings form as stored.
fn settings_form(rep: &Map<String, Value>) -> Form {
    let mut form = Form::default();
    let number = |key: &str| rep.get(key).and_then(Value::as_i64);
    let attribute = |key: &str| {
        rep.get("attributes").and_then(|a| a.get(key)).and_then(Value::as_str).and_then(|v| v.parse::<i64>().ok())
    };
    form.set("display_name", rep.get("displayName").and_then(Value::as_str).unwrap_or_default());
    form.tick("enabled", rep.get("enabled").and_then(Value::as_bool).unwrap_or(true));
    form.set("access_token_lifetime", lifetime(number("accessTokenLifespan")));
    form.set("id_token_lifetime", lifetime(attribute(ID_TOKEN)));
    form.set("refresh_token_lifetime", lifetime(attribute(REFRESH_TOKEN)));
    form.set("auth_code_lifetime", lifetime(number("accessCodeLifespan")));
    form.set("sso_session_idle", lifetime(number("ssoSessionIdleTimeout")));
    form.set("sso_session_max", lifetime(number("ssoSessionMaxLifespan")));
    form.set("device_code_lifetime", lifetime(number("oauth2DeviceCodeLifespan")));
    form.set("device_poll_interval", lifetime(number("oauth2DevicePollingInterval")));
    form.set("refresh_token_reuse_grace", lifetime(attribute(REUSE_GRACE)));
    let attribute_flag =
        |key: &str| rep.get("attributes").and_then(|a| a.get(key)).and_then(Value::as_str) == Some("true");
    form.tick("query_tokens", attribute_flag(QUERY_TOKENS));
    form.tick("basic_auth", attribute_flag(BASIC_AUTH));
    form.set("signing_algorithm", rep.get("defaultSignatureAlgorithm").and_then(Value::as_str).unwrap_or("RS256"));
    form.tick("refresh_token_rotation", rep.get("revokeRefreshToken").and_then(Value::as_bool).unwrap_or(true));
    let flag = |key: &str| rep.get(key).and_then(Value::as_bool).unwrap_or(true);
    form.tick("events_enabled", flag(EVENTS_ENABLED));
    form.tick("admin_events_enabled", flag(ADMIN_EVENTS_ENABLED));
    let types: Vec<&str> = rep
        .get(ENABLED_EVENT_TYPES)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    form.set("event_types", types.join(" "));
    form.set("events_expiration", lifetime(number(EVENTS_EXPIRATION).filter(|s| *s > 0)));
    form
}

async fn settings_page(
    state: &AppState,
    ctx: &Ctx,
    realm: &str,
    form: Option<Form>,
    problems: Problems,
    done: Option<&'static str>,
) -> Result<HttpResponse, ConsoleError> {
    ctx.admin.require(realm, Need::ViewRealm)?;
    let row = find_realm(state, realm).await?;
    let form = form.unwrap_or_else(|| {
        let mut form = settings_form(&to_rep(&row));
        // As in force: a realm that never set them has the initial defaults.
        form.set("default_scopes", realm_defaults(&row, DEFAULT_DEFAULTS).join(" "));
        form.set("optional_scopes", realm_defaults(&row, DEFAULT_OPTIONALS).join(" "));
        form
    });
    let keys = keys_of(state, &ctx.admin, realm).await?;
    let keys = keys["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|k| KeyLine {
            kid: k["kid"].as_str().unwrap_or_default().to_owned(),
            algorithm: k["algorithm"].as_str().unwrap_or_default().to_owned(),
            status: k["status"].as_str().unwrap_or_default().to_owned(),
            valid_to: k["validTo"].as_i64().map(|ms| when(ms / 1000)),
        })
        .collect();
    let status = status_of(&problems);
    let page = RealmPage {
        frame: Frame::new(ctx, Some(realm), "settings", done),
        form,
        problems,
        keys,
        algorithms: SigningAlgorithm::ALL.iter().map(|a| a.as_str()).collect(),
        deletable: realm != MASTER_REALM && ctx.admin.may(realm, Need::ManageRealm),
        sign_out_everyone: may_sign_out_everyone(&ctx.admin, realm),
    };
    Ok(send(status, &page))
}

pub async fn settings(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let ctx = signed_in(&req, &state).await?;
    let done = notice(Some(Form::query(&req).get("done")));
    settings_page(&state, &ctx, &path, None, Problems::none(), done).await
}

/// A lifetime field: a humantime duration (`5m`, `1h 30m`) or seconds.
fn seconds(form: &Form, field: &'static str, problems: &mut Problems) -> Option<i64> {
    let raw = form.text(field);
    let parsed = raw
        .parse::<i64>()
        .ok()
        .or_else(|| humantime::parse_duration(raw).ok().and_then(|d| i64::try_from(d.as_secs()).ok()))
        .filter(|s| *s > 0);
    if parsed.is_none() {
        problems.add(field, "Enter a duration such as 5m, 1h or 30d, or a number of seconds.");
    }
    parsed
}

/// The settings form as changes to the realm's representation.
fn settings_changes(form: &Form, current: &Map<String, Value>) -> Result<Map<String, Value>, Problems> {
    let mut problems = Problems::none();
    let access = seconds(form, "access_token_lifetime", &mut problems);
    let id_token = seconds(form, "id_token_lifetime", &mut problems);
    let refresh = seconds(form, "refresh_token_lifetime", &mut problems);
    let code = seconds(form, "auth_code_lifetime", &mut problems);
    let idle = seconds(form, "sso_session_idle", &mut problems);
    let max = seconds(form, "sso_session_max", &mut problems);
    let device_code = seconds(form, "device_code_lifetime", &mut problems);
    let device_poll = seconds(form, "device_poll_interval", &mut problems);
    // No grace (0, the default) is a value of its own; empty means it too.
    let reuse_grace = match form.text("refresh_token_reuse_grace") {
        "" | "0" | "0s" => Some(0),
        _ => seconds(form, "refresh_token_reuse_grace", &mut problems),
    };
    if form.text("display_name").is_empty() {
        problems.add("display_name", "Enter a display name.");
    }
    // Empty: the server's retention.
    let expiration = if form.text("events_expiration").is_empty() {
        None
    } else {
        seconds(form, "events_expiration", &mut problems)
    };
    let event_types: Vec<&str> =
        form.text("event_types").split(|c: char| c == ',' || c.is_whitespace()).filter(|t| !t.is_empty()).collect();
    if !event_types.iter().all(|t| t.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')) {
        problems.add("event_types", "Enter event types such as LOGIN CODE_TO_TOKEN, separated by spaces.");
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    // `attributes` is replaced as a whole on merge: start from the stored ones.
    let mut attributes = current.get("attributes").and_then(Value::as_object).cloned().unwrap_or_default();
    attributes.insert(ID_TOKEN.into(), id_token.unwrap_or_default().to_string().into());
    attributes.insert(REFRESH_TOKEN.into(), refresh.unwrap_or_default().to_string().into());
    attributes.insert(REUSE_GRACE.into(), reuse_grace.unwrap_or_default().to_string().into());
    attributes.insert(QUERY_TOKENS.into(), form.checked("query_tokens").to_string().into());
    attributes.insert(BASIC_AUTH.into(), form.checked("basic_auth").to_string().into());
    let changes = json!({
        "displayName": form.text("display_name"),
        "enabled": form.checked("enabled"),
        "accessTokenLifespan": access,
        "accessCodeLifespan": code,
        "ssoSessionIdleTimeout": idle,
        "ssoSessionMaxLifespan": max,
        "oauth2DeviceCodeLifespan": device_code,
        "oauth2DevicePollingInterval": device_poll,
        "defaultSignatureAlgorithm": form.text("signing_algorithm"),
        "revokeRefreshToken": form.checked("refresh_token_rotation"),
        "attributes": attributes,
        EVENTS_ENABLED: form.checked("events_enabled"),
        ADMIN_EVENTS_ENABLED: form.checked("admin_events_enabled"),
        ENABLED_EVENT_TYPES: event_types,
        DEFAULT_DEFAULTS: form.words("default_scopes"),
        DEFAULT_OPTIONALS: form.words("optional_scopes"),
    });
    let mut changes = changes.as_object().cloned().unwrap_or_default();
    // Emptied: no retention of the realm's own (0, as Keycloak says "never";
    // the server's retention still applies). Left empty: not touched.
    let had_own = current.get(EVENTS_EXPIRATION).and_then(Value::as_i64).is_some_and(|s| s > 0);
    if expiration.is_some() || had_own {
        changes.insert(EVENTS_EXPIRATION.into(), expiration.unwrap_or(0).into());
    }
    Ok(changes)
}

const SETTINGS_FIELDS: [(&str, &str); 14] = [
    (DEFAULT_DEFAULTS, "default_scopes"),
    (DEFAULT_OPTIONALS, "optional_scopes"),
    ("accessTokenLifespan", "access_token_lifetime"),
    ("oauth2DeviceCodeLifespan", "device_code_lifetime"),
    ("oauth2DevicePollingInterval", "device_poll_interval"),
    ("refreshTokenReuseGrace", "refresh_token_reuse_grace"),
    ("accessCodeLifespan", "auth_code_lifetime"),
    ("ssoSessionIdle", "sso_session_idle"),
    ("ssoSessionMax", "sso_session_max"),
    ("idTokenLifespan", "id_token_lifetime"),
    ("refreshTokenLifespan", "refresh_token_lifetime"),
    ("algorithm", "signing_algorithm"),
    (EVENTS_EXPIRATION, "events_expiration"),
    (ENABLED_EVENT_TYPES, "event_types"),
];

/// `POST .../realms/{realm}/`: save settings, rotate the key, delete.
pub async fn settings_action(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    let (ctx, form) = submitted(&req, &state, payload).await?;
    let realm = path.as_str();
    let here = realm_url(&ctx.base, realm, "");
    match form.get("action") {
        "save" => {
            ctx.admin.require(realm, Need::ManageRealm)?;
            let stored = find_realm(&state, realm).await?;
            // Switching admin changes off is itself recorded.
            let recorded_before = admin_events_enabled(&stored);
            let current = to_rep(&stored);
            let changes = match settings_changes(&form, &current) {
                Ok(changes) => changes,
                Err(problems) => return settings_page(&state, &ctx, realm, Some(form), problems, None).await,
            };
            match update_realm_from(&state, &ctx.admin, realm, changes).await {
                Ok(()) => {
                    let (ip, change) = (ctx.ip.clone(), (Method::PUT, ""));
                    record_console_change(&state, &ctx.admin, realm, change, ip, recorded_before).await;
                    Ok(see_other(&format!("{here}?done=saved")))
                }
                Err(e) => {
                    let problems = Problems::from_refusal(e, &SETTINGS_FIELDS, "display_name")?;
                    settings_page(&state, &ctx, realm, Some(form), problems, None).await
                }
            }
        }
        "rotate-key" => {
            rotate_keys(&state, &ctx.admin, realm).await?;
            audit(&state, &ctx, realm, Method::POST, "keys").await;
            Ok(see_other(&format!("{here}?done=rotated")))
        }
        "logout-all" if form.get("confirm") != "yes" => {
            if !may_sign_out_everyone(&ctx.admin, realm) {
                return Err(ConsoleError::Forbidden);
            }
            find_realm(&state, realm).await?;
            let ask = Ask {
                action: "logout-all",
                id: None,
                title: format!("Sign everyone out of {realm}?"),
                message: "Every browser session of this realm ends, and every refresh token, offline ones too, \
                    stops working. Personal access tokens stay.",
                button: "Sign out everyone",
            };
            Ok(confirm(&ctx, realm, "settings", here, ask))
        }
        "logout-all" => {
            let ended = sign_out_everyone(&state, &ctx.admin, realm).await?;
            audit(&state, &ctx, realm, Method::POST, "logout-all").await;
            tracing::info!(realm, ended, "signed everyone out");
            Ok(see_other(&format!("{here}?done=signed-out-all")))
        }
        "delete-realm" if form.get("confirm") != "yes" => {
            ctx.admin.require(realm, Need::ManageRealm)?;
            find_realm(&state, realm).await?;
            let ask = Ask {
                action: "delete-realm",
                id: None,
                title: format!("Delete the realm {realm}?"),
                message: "Every client, user, session and key of this realm is deleted. This cannot be undone.",
                button: "Delete realm",
            };
            Ok(confirm(&ctx, realm, "settings", here, ask))
        }
        "delete-realm" => {
            let id = find_realm(&state, realm).await?.id;
            delete_realm_named(&state, &ctx.admin, realm).await?;
            crate::admin::events::record_console_change_in(&state, &ctx.admin, id, Method::DELETE, "", ctx.ip.clone())
                .await;
            Ok(see_other(&format!("{}/?done=deleted", ctx.base)))
        }
        _ => Err(ConsoleError::BadRequest("Unknown action.".into())),
    }
}
