//! The audit log: sign-in and token events, and admin changes, newest first.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::clients::urlencode;
use super::pages::{AdminEventLine, AuditPage, EventLine, Frame, send};
use super::session::signed_in;
use super::{ConsoleError, Form, Pager, realm_url, when};
use crate::admin::Need;
use crate::admin::realms::find_realm;
use crate::state::AppState;
use crate::storage::repo::events::{self, AdminEventQuery, EventQuery};
use crate::storage::repo::users;

const PAGE_SIZE: usize = 50;

pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let ctx = signed_in(&req, &state).await?;
    let realm = path.as_str();
    ctx.admin.require(realm, Need::ViewRealm)?;
    let found = find_realm(&state, realm).await?;
    let query = Form::query(&req);
    let admin_log = query.get("log") == "admin";
    let filter = Filter::read(&query, admin_log)?;
    let base = format!(
        "{}?log={}&{}",
        realm_url(&ctx.base, realm, "audit"),
        if admin_log { "admin" } else { "user" },
        filter.query_string()
    );
    let mut pager = Pager::new(&query, PAGE_SIZE, base);
    let (first, max) = (pager.first as i64, PAGE_SIZE as i64);
    let (mut user_lines, mut admin_lines) = (Vec::new(), Vec::new());
    if admin_log {
        let q = AdminEventQuery {
            first,
            max,
            operation_types: filter.words("operation"),
            resource_types: filter.words("resource"),
            from_ms: filter.from_ms,
            to_ms: filter.to_ms,
            ..AdminEventQuery::default()
        };
        let (rows, names) = state
            .db
            .run(move |conn| {
                let rows = events::list_admin_events(conn, &found.id, &q)?;
                // Who, by name where the subject is (still) a user.
                let mut names = HashMap::new();
                for e in &rows {
                    let key = (e.auth_realm_id.clone(), e.auth_user_id.clone());
                    if let Entry::Vacant(slot) = names.entry(key) {
                        let (realm_id, user_id) = slot.key();
                        let name = users::find_by_id(conn, realm_id, user_id)?.map(|u| u.username);
                        slot.insert(name);
                    }
                }
                Ok((rows, names))
            })
            .await?;
        admin_lines = rows
            .into_iter()
            .map(|e| {
                let who = names.get(&(e.auth_realm_id.clone(), e.auth_user_id.clone())).cloned().flatten();
                AdminEventLine {
                    time: when(e.time / 1000),
                    operation: e.operation_type,
                    resource_type: e.resource_type,
                    path: e.resource_path,
                    by: format!("{} via {}", who.unwrap_or(e.auth_user_id), e.auth_client_id),
                    ip: e.ip_address.unwrap_or_default(),
                }
            })
            .collect();
        pager.shown = admin_lines.len();
    } else {
        let mut q = EventQuery {
            first,
            max,
            types: filter.words("type"),
            client: filter.text("client"),
            from_ms: filter.from_ms,
            to_ms: filter.to_ms,
            ..EventQuery::default()
        };
        let username = filter.text("user").map(|u| u.to_lowercase());
        let (rows, names) = state
            .db
            .run(move |conn| {
                // Events name users by id; the form, by username (none such: no events).
                if let Some(username) = username {
                    let user = users::find_by_username(conn, &found.id, &username)?;
                    q.user = Some(user.map_or_else(|| "-".to_owned(), |u| u.id));
                }
                let rows = events::list_events(conn, &found.id, &q)?;
                let mut names: HashMap<String, Option<String>> = HashMap::new();
                for id in rows.iter().filter_map(|e| e.user_id.clone()) {
                    if let Entry::Vacant(slot) = names.entry(id) {
                        let name = users::find_by_id(conn, &found.id, slot.key())?.map(|u| u.username);
                        slot.insert(name);
                    }
                }
                Ok((rows, names))
            })
            .await?;
        user_lines = rows
            .into_iter()
            .map(|e| {
                let user = e.user_id.map(|id| names.get(&id).cloned().flatten().unwrap_or(id));
                EventLine {
                    time: when(e.time / 1000),
                    kind: e.event_type,
                    client: e.client_id.unwrap_or_default(),
                    user: user.unwrap_or_default(),
                    ip: e.ip_address.unwrap_or_default(),
                    error: e.error.unwrap_or_default(),
                }
            })
            .collect();
        pager.shown = user_lines.len();
    }
    let page = AuditPage {
        frame: Frame::new(&ctx, Some(realm), "audit", None),
        admin_log,
        filter: filter.shown,
        events: user_lines,
        admin_events: admin_lines,
        pager,
    };
    Ok(send(StatusCode::OK, &page))
}

/// The log's filter form: for sign-ins, event types, client and username;
/// for admin changes, operation and resource types; for both, a day range.
struct Filter {
    /// The fields of the log shown.
    names: &'static [&'static str],
    /// The form as sent (shown back, and carried by the pager's links).
    shown: Form,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
}

const USER_FILTERS: [&str; 5] = ["type", "client", "user", "from", "to"];
const ADMIN_FILTERS: [&str; 4] = ["operation", "resource", "from", "to"];

impl Filter {
    fn read(query: &Form, admin_log: bool) -> Result<Self, ConsoleError> {
        let names: &'static [&'static str] = if admin_log { &ADMIN_FILTERS } else { &USER_FILTERS };
        let mut shown = Form::default();
        for name in names {
            shown.set(name, query.text(name));
        }
        let day = |name: &str, end: bool| -> Result<Option<i64>, ConsoleError> {
            let text = shown.text(name);
            if text.is_empty() {
                return Ok(None);
            }
            let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| ConsoleError::BadRequest(format!("`{name}` must be a day such as 2026-01-31.")))?;
            let time = if end { day.and_hms_milli_opt(23, 59, 59, 999) } else { day.and_hms_opt(0, 0, 0) };
            Ok(time.map(|t| t.and_utc().timestamp_millis()))
        };
        let (from_ms, to_ms) = (day("from", false)?, day("to", true)?);
        Ok(Self { names, shown, from_ms, to_ms })
    }

    fn text(&self, name: &str) -> Option<String> {
        Some(self.shown.text(name)).filter(|t| !t.is_empty()).map(str::to_owned)
    }

    /// Upper-cased words (event, operation and resource types).
    fn words(&self, name: &str) -> Vec<String> {
        self.shown
            .get(name)
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .map(str::to_uppercase)
            .collect()
    }

    /// The filters as query parameters, each ending in `&`.
    fn query_string(&self) -> String {
        self.names
            .iter()
            .filter_map(|name| self.text(name).map(|value| format!("{name}={}&", urlencode(&value))))
            .collect()
    }
}
