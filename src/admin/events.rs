//! The audit log: every successful admin change is recorded by `audit`
//! (who, when, which realm, which resource, what kind of change — never a
//! body, so never a secret); `events` and `admin-events` read it back.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::realms::{find_realm, update_realm_from};
use super::rep::{self, Body, Query};
use super::{Admin, AdminError, Need, both};
use crate::domain::realm::MAX_LIFETIME_SECS;
use crate::services::events::{
    ADMIN_EVENTS_DETAILS_ENABLED, ADMIN_EVENTS_ENABLED, CONFIG_FIELDS, ENABLED_EVENT_TYPES, EVENTS_ENABLED,
    EVENTS_EXPIRATION, EVENTS_LISTENERS,
};
use crate::services::realm_cache::events_policy;
use crate::state::AppState;
use crate::storage::repo::events::{self, AdminEventQuery, AdminEventRow, EventQuery};
use crate::storage::repo::realms::RealmRow;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(both("/realms/{realm}/events")).get(list_events).delete(clear_events))
        .service(web::resource(both("/realms/{realm}/admin-events")).get(list_admin_events))
        .service(web::resource(both("/realms/{realm}/events/config")).get(get_config).put(put_config));
}

/// Records an admin event after every successful change under `/admin`.
pub async fn audit(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // (No clone of the request is kept across `next`: routing needs it unshared.)
    let method = req.method().clone();
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await;
    };
    let target = realm_and_rest(req.path());
    let peer = state.client_ip(req.request());
    // The realm before the change: a deleted realm has none afterwards.
    let before = match &target {
        Some((realm, _)) if method != Method::GET => find_realm(&state, realm).await.ok(),
        _ => None,
    };
    let response = next.call(req).await?;
    if method == Method::GET || !response.status().is_success() {
        return Ok(response);
    }
    let Some(admin) = response.request().extensions().get::<Admin>().cloned() else {
        return Ok(response);
    };
    let created = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| l.rsplit('/').next())
        .map(str::to_owned);
    let (realm, rest) = match (target, &created) {
        (Some(t), _) => t,
        // POST /admin/realms: the new realm's name is the Location's last segment.
        (None, Some(name)) => (name.clone(), String::new()),
        (None, None) => return Ok(response),
    };
    // Recorded while the realm records admin events before or after the
    // change, so turning the recording off or on is itself on the record.
    let realm_id = match before {
        Some(row) if admin_events_enabled(&row) => row.id,
        Some(row) => match find_realm(&state, &realm).await {
            Ok(now) if admin_events_enabled(&now) => row.id,
            _ => return Ok(response),
        },
        None => match find_realm(&state, &realm).await {
            Ok(now) if admin_events_enabled(&now) => now.id,
            _ => return Ok(response),
        },
    };
    let resource_path = match (&created, rest.is_empty()) {
        (Some(id), false) => format!("{rest}/{id}"),
        _ => rest.clone(),
    };
    write_event(&state, &admin, realm_id, &method, &rest, resource_path, peer).await;
    Ok(response)
}

/// Records a change the console made, as the REST call `method` on
/// `/admin/realms/{realm}/{rest}` would have been recorded: while the realm
/// records admin changes, or did before this one (`recorded_before`, for a
/// change of that very setting).
pub(crate) async fn record_console_change(
    state: &AppState,
    admin: &Admin,
    realm: &str,
    change: (Method, &str),
    ip: Option<String>,
    recorded_before: bool,
) {
    let Ok(found) = find_realm(state, realm).await else { return };
    if !recorded_before && !admin_events_enabled(&found) {
        return;
    }
    record_console_change_in(state, admin, found.id, change.0, change.1, ip).await;
}

/// Like `record_console_change`, for a realm known by id (one just deleted).
pub(crate) async fn record_console_change_in(
    state: &AppState,
    admin: &Admin,
    realm_id: String,
    method: Method,
    rest: &str,
    ip: Option<String>,
) {
    write_event(state, admin, realm_id, &method, rest, rest.to_owned(), ip).await;
}

async fn write_event(
    state: &AppState,
    admin: &Admin,
    realm_id: String,
    method: &Method,
    rest: &str,
    resource_path: String,
    ip: Option<String>,
) {
    let row = AdminEventRow {
        // Time-ordered, so changes made within one millisecond list in order.
        id: uuid::Uuid::now_v7().to_string(),
        realm_id,
        time: state.clock.now_ms(),
        operation_type: operation(method, rest).into(),
        resource_type: resource_type(rest).into(),
        resource_path,
        auth_realm_id: admin.realm_id.clone(),
        auth_client_id: admin.client_id.clone(),
        auth_user_id: admin.subject.clone(),
        ip_address: ip,
    };
    if let Err(error) = state.db.write(move |conn| events::insert_admin_event(conn, &row)).await {
        tracing::warn!(%error, "recording an admin event failed");
    }
}

/// `/admin/realms/{realm}/{rest}` → (realm, rest without trailing slash).
fn realm_and_rest(path: &str) -> Option<(String, String)> {
    let tail = path.strip_prefix("/admin/realms/")?.trim_end_matches('/');
    let (realm, rest) = tail.split_once('/').unwrap_or((tail, ""));
    (!realm.is_empty()).then(|| (realm.to_owned(), rest.to_owned()))
}

fn operation(method: &Method, rest: &str) -> &'static str {
    let action = ["logout", "logout-all", "reset-password", "client-secret"].iter().any(|a| rest.ends_with(a));
    match *method {
        _ if action => "ACTION",
        Method::POST => "CREATE",
        Method::DELETE => "DELETE",
        _ => "UPDATE",
    }
}

fn resource_type(rest: &str) -> &'static str {
    let first = rest.split('/').next().unwrap_or_default();
    match first {
        "" | "events" => "REALM",
        "users" if rest.contains("/role-mappings/clients") => "CLIENT_ROLE_MAPPING",
        "users" if rest.contains("/role-mappings") => "REALM_ROLE_MAPPING",
        "users" => "USER",
        "clients" if rest.contains("-client-scopes") => "CLIENT_SCOPE_MAPPING",
        "clients" => "CLIENT",
        "roles" | "roles-by-id" => "REALM_ROLE",
        "client-scopes" => "CLIENT_SCOPE",
        "default-default-client-scopes" | "default-optional-client-scopes" => "REALM_SCOPE_MAPPING",
        "sessions" => "USER_SESSION",
        _ => "REALM",
    }
}

/// Keycloak's `direction`: `asc` lists the oldest first, `desc` (the
/// default) the newest.
fn oldest_first(query: &Query) -> Result<bool, AdminError> {
    match query.get("direction") {
        None => Ok(false),
        Some(d) if d.eq_ignore_ascii_case("desc") => Ok(false),
        Some(d) if d.eq_ignore_ascii_case("asc") => Ok(true),
        Some(_) => Err(AdminError::bad_request("`direction` must be asc or desc")),
    }
}

/// `dateFrom`/`dateTo`: `yyyy-MM-dd` or milliseconds.
fn date_ms(query: &Query, name: &str, end_of_day: bool) -> Result<Option<i64>, AdminError> {
    let Some(raw) = query.get(name) else { return Ok(None) };
    if let Ok(ms) = raw.parse::<i64>() {
        return Ok(Some(ms));
    }
    let day = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| AdminError::bad_request(format!("`{name}` must be yyyy-MM-dd or milliseconds")))?;
    let time = if end_of_day { day.and_hms_milli_opt(23, 59, 59, 999) } else { day.and_hms_opt(0, 0, 0) };
    Ok(time.map(|t| t.and_utc().timestamp_millis()))
}

/// All values of a repeatable query parameter (`type=LOGIN&type=LOGOUT`).
fn repeated(req: &HttpRequest, name: &str) -> Vec<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, v)| k == name && !v.is_empty())
        .flat_map(|(_, v)| v.split(',').map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

#[utoipa::path(get, path = "/admin/realms/{realm}/events", operation_id = "list_events", tag = "events",
    summary = "User events, newest first",
    params(crate::openapi::RealmPath, crate::openapi::EventQuery),
    responses((status = 200, description = "The events", body = [crate::openapi::EventRepresentation]),
        crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn list_events(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    admin.require(&path, Need::ViewRealm)?;
    let query = Query::from(&req)?;
    let page = query.page(Some(100))?;
    let filter = EventQuery {
        types: repeated(&req, "type"),
        client: query.get("client").map(str::to_owned),
        user: query.get("user").map(str::to_owned),
        ip_address: query.get("ipAddress").map(str::to_owned),
        from_ms: date_ms(&query, "dateFrom", false)?,
        to_ms: date_ms(&query, "dateTo", true)?,
        first: page.first as i64,
        max: page.max.map_or(i64::MAX, |m| m as i64),
        oldest_first: oldest_first(&query)?,
    };
    let realm = find_realm(&state, &path).await?;
    let rows = state.db.run(move |conn| events::list_events(conn, &realm.id, &filter)).await?;
    let out: Vec<Value> = rows
        .into_iter()
        .map(|e| {
            let mut v = json!({
                "id": e.id,
                "time": e.time,
                "type": e.event_type,
                "realmId": e.realm_id,
                "details": serde_json::from_str::<Value>(&e.details).unwrap_or_else(|_| json!({})),
            });
            for (key, value) in [
                ("clientId", e.client_id),
                ("userId", e.user_id),
                ("sessionId", e.session_id),
                ("ipAddress", e.ip_address),
                ("error", e.error),
            ] {
                if let Some(value) = value {
                    v[key] = value.into();
                }
            }
            v
        })
        .collect();
    Ok(rep::ok_json(out))
}

#[utoipa::path(delete, path = "/admin/realms/{realm}/events", operation_id = "clear_events", tag = "events",
    summary = "Refused: events are kept for the configured retention",
    params(crate::openapi::RealmPath),
    responses((status = 400, description = "Always: an audit log its subject can erase is worth little",
            body = crate::openapi::OAuthErrorBody),
        crate::openapi::AdminErrors))]
async fn clear_events(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    admin.require(&path, Need::ManageRealm)?;
    find_realm(&state, &path).await?;
    // Keycloak deletes the realm's events here; an audit log that its subject
    // can erase is worth little, so realmgate only lets the retention do it.
    Err(AdminError::bad_request("Events are kept for the configured retention and cannot be deleted"))
}

#[utoipa::path(get, path = "/admin/realms/{realm}/admin-events", operation_id = "list_admin_events", tag = "events",
    summary = "Admin events (the audit log of changes), newest first",
    params(crate::openapi::RealmPath, crate::openapi::AdminEventQuery),
    responses((status = 200, description = "The events", body = [crate::openapi::AdminEventRepresentation]),
        crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn list_admin_events(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, AdminError> {
    admin.require(&path, Need::ViewRealm)?;
    let query = Query::from(&req)?;
    let page = query.page(Some(100))?;
    let filter = AdminEventQuery {
        operation_types: repeated(&req, "operationTypes"),
        resource_types: repeated(&req, "resourceTypes"),
        resource_path: query.get("resourcePath").map(str::to_owned),
        auth_user: query.get("authUser").map(str::to_owned),
        auth_realm: query.get("authRealm").map(str::to_owned),
        auth_client: query.get("authClient").map(str::to_owned),
        auth_ip_address: query.get("authIpAddress").map(str::to_owned),
        from_ms: date_ms(&query, "dateFrom", false)?,
        to_ms: date_ms(&query, "dateTo", true)?,
        first: page.first as i64,
        max: page.max.map_or(i64::MAX, |m| m as i64),
        oldest_first: oldest_first(&query)?,
    };
    let realm = find_realm(&state, &path).await?;
    let rows = state.db.run(move |conn| events::list_admin_events(conn, &realm.id, &filter)).await?;
    let out: Vec<Value> = rows
        .into_iter()
        .map(|e| {
            json!({
                "id": e.id,
                "time": e.time,
                "realmId": e.realm_id,
                "authDetails": {
                    "realmId": e.auth_realm_id,
                    "clientId": e.auth_client_id,
                    "userId": e.auth_user_id,
                    "ipAddress": e.ip_address,
                },
                "operationType": e.operation_type,
                "resourceType": e.resource_type,
                "resourcePath": e.resource_path,
            })
        })
        .collect();
    Ok(rep::ok_json(out))
}

/// Whether the realm records admin changes now.
pub(crate) fn admin_events_enabled(realm: &RealmRow) -> bool {
    events_policy(&realm.attributes).admin_enabled
}

/// The realm's event settings as Keycloak shows them: what was stored, over the defaults.
fn config(state: &AppState, realm: &RealmRow) -> Value {
    let stored = rep::stored_object(&realm.attributes);
    let defaults = crate::services::events::default_settings().into_iter();
    let mut out: Value = defaults.map(|(field, value)| (field.to_owned(), value)).collect::<Map<_, _>>().into();
    out[EVENTS_EXPIRATION] = state.events.retention.into();
    for field in CONFIG_FIELDS {
        if let Some(value) = stored.get(field).filter(|v| !v.is_null()) {
            out[field] = value.clone();
        }
    }
    out
}

/// Most entries in `eventsListeners` or `enabledEventTypes`, and their longest.
const MAX_CONFIG_ENTRIES: usize = 256;
const MAX_CONFIG_ENTRY_LEN: usize = 255;

/// Checks the event settings in a realm representation and writes its
/// booleans as JSON booleans (they are read back by type).
pub(crate) fn normalise_config_fields(map: &mut Map<String, Value>) -> Result<(), AdminError> {
    for flag in [EVENTS_ENABLED, ADMIN_EVENTS_ENABLED, ADMIN_EVENTS_DETAILS_ENABLED] {
        if let Some(value) = rep::bool_field(map, flag)? {
            map.insert(flag.into(), value.into());
        }
    }
    match map.get(EVENTS_EXPIRATION) {
        None | Some(Value::Null) => {}
        Some(v) if v.as_i64().is_some_and(|n| (0..=MAX_LIFETIME_SECS).contains(&n)) => {}
        Some(_) => {
            return Err(AdminError::bad_request(format!(
                "`{EVENTS_EXPIRATION}` must be a number of seconds, at most 100 years"
            )));
        }
    }
    for list in [EVENTS_LISTENERS, ENABLED_EVENT_TYPES] {
        match map.get(list) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items))
                if items.len() <= MAX_CONFIG_ENTRIES
                    && items
                        .iter()
                        .all(|i| i.as_str().is_some_and(|t| !t.is_empty() && t.len() <= MAX_CONFIG_ENTRY_LEN)) => {}
            Some(_) => return Err(AdminError::bad_request(format!("`{list}` must be a list of names"))),
        }
    }
    Ok(())
}

#[utoipa::path(get, path = "/admin/realms/{realm}/events/config", operation_id = "get_events_config", tag = "events",
    summary = "The event settings",
    params(crate::openapi::RealmPath),
    responses((status = 200, description = "The settings", body = crate::openapi::RealmEventsConfigRepresentation),
        crate::openapi::AdminErrors))]
async fn get_config(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, AdminError> {
    admin.require(&path, Need::ViewRealm)?;
    let realm = find_realm(&state, &path).await?;
    Ok(rep::ok_json(config(&state, &realm)))
}

/// Changes the event settings, kept with the realm's representation (where
/// Keycloak's `RealmRepresentation` has the same fields); fields left out keep
/// their values.
#[utoipa::path(put, path = "/admin/realms/{realm}/events/config", operation_id = "update_events_config", tag = "events",
    summary = "Changes which events the realm stores, and for how long",
    params(crate::openapi::RealmPath), request_body = Option<crate::openapi::RealmEventsConfigRepresentation>,
    responses((status = 204, description = "Done"), crate::openapi::Invalid, crate::openapi::AdminErrors))]
async fn put_config(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, AdminError> {
    admin.require(&path, Need::ManageRealm)?;
    let sent = Body::read(payload).await?.object()?;
    // Only the settings: the rest of a realm representation is not this endpoint's.
    let settings: Map<String, Value> = sent.into_iter().filter(|(k, _)| CONFIG_FIELDS.contains(&k.as_str())).collect();
    update_realm_from(&state, &admin, &path, settings).await?;
    Ok(rep::no_content())
}
