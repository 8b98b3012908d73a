//! Wire helpers shared by every admin resource: lenient JSON bodies,
//! query parameters as Keycloak's clients send them, paging, merge-on-PUT,
//! and the 201/204 answers.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value};

use super::AdminError;
use crate::oidc::params::{BodyError, read_body};

/// The largest admin request body accepted.
const MAX_BODY: usize = 1024 * 1024;

/// A request body: empty, `null` and `{}` all mean "nothing given".
pub struct Body(pub Value);

impl Body {
    pub async fn read(payload: web::Payload) -> Result<Self, AdminError> {
        let bytes = read_body(payload, MAX_BODY).await.map_err(|e| match e {
            BodyError::Unreadable => AdminError::bad_request("Could not read the request body"),
            BodyError::TooLarge => AdminError::bad_request("Request body too large"),
            BodyError::TimedOut => AdminError::RequestTimeout,
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(Value::Null));
        }
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| AdminError::bad_request(format!("Invalid JSON: {e}")))?;
        if holds_nul(&value) {
            return Err(AdminError::bad_request("Invalid JSON: text must not contain NUL characters"));
        }
        Ok(Self(value))
    }

    /// The body as an object (`null` → `{}`).
    pub fn object(self) -> Result<Map<String, Value>, AdminError> {
        match self.0 {
            Value::Null => Ok(Map::new()),
            Value::Object(map) => Ok(map),
            _ => Err(AdminError::bad_request("Expected a JSON object")),
        }
    }

    /// The body as a list (no body, `null` or `{}` → `[]`).
    pub fn list(self) -> Result<Vec<Value>, AdminError> {
        match self.0 {
            Value::Null => Ok(Vec::new()),
            Value::Object(map) if map.is_empty() => Ok(Vec::new()),
            Value::Array(items) => Ok(items),
            _ => Err(AdminError::bad_request("Expected a JSON array")),
        }
    }

    /// Whether there is no body at all (none, or `null`): a role mapping's
    /// DELETE then takes every role away, as Keycloak's does. (`{}` is an
    /// empty list to `list`, so it takes nothing.)
    pub fn is_absent(&self) -> bool {
        self.0.is_null()
    }
}

/// Whether any text in `value` (a string or a member name) has a NUL
/// character: no field has a use for one, and PostgreSQL cannot store one
/// in text (SQLite would).
fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(members) => members.iter().any(|(name, value)| name.contains('\0') || holds_nul(value)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Merge-on-PUT: every non-null field of `changes` replaces the current one.
pub fn merge(mut current: Map<String, Value>, changes: Map<String, Value>) -> Map<String, Value> {
    for (key, value) in changes {
        if !value.is_null() {
            current.insert(key, value);
        }
    }
    current
}

/// A boolean field: `true`/`false`, or those words as strings in any case
/// (Keycloak's attributes are strings); absent or `null`: `None`; anything
/// else is refused, so that a typo never turns a setting off.
pub fn bool_field(map: &Map<String, Value>, key: &str) -> Result<Option<bool>, AdminError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => {
            flag(value).map(Some).ok_or_else(|| AdminError::bad_request(format!("`{key}` must be true or false")))
        }
    }
}

/// A boolean as Keycloak reads one: `true`/`false`, or those words as text
/// in any case; an empty text is false (older Terraform providers send one).
pub fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(value) => Some(*value),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Some(true),
        Value::String(text) if text.is_empty() || text.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// What Keycloak shows (and its partial export writes) where a secret was.
pub const MASKED_SECRET: &str = "**********";

/// A client's `secret` sent as Keycloak masks it is not given: a mask read
/// back from an export or a GET is never the secret meant.
pub fn drop_masked_secret(map: &mut Map<String, Value>) {
    if map.get("secret").and_then(Value::as_str) == Some(MASKED_SECRET) {
        map.remove("secret");
    }
}

/// Makes a scalar text, as Jackson reads `5` or `true` into a String;
/// false for what is no scalar (or null).
pub fn scalar_as_text(value: &mut Value) -> bool {
    match value {
        Value::String(_) => true,
        Value::Number(n) => {
            *value = Value::String(n.to_string());
            true
        }
        Value::Bool(b) => {
            *value = Value::String(b.to_string());
            true
        }
        Value::Null | Value::Array(_) | Value::Object(_) => false,
    }
}

/// The `attributes` object of a representation (empty when absent or `null`).
pub fn attributes(map: &Map<String, Value>) -> Result<Map<String, Value>, AdminError> {
    match map.get("attributes") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(attributes)) => Ok(attributes.clone()),
        Some(_) => Err(AdminError::bad_request("`attributes` must be an object")),
    }
}

/// The representation's `attributes` as Keycloak's typed maps hold them:
/// numbers and booleans become their text (Jackson reads `5` into a String
/// alike), and for users (`listed`, `Map<String, List<String>>`) a single
/// value becomes a list of one, so typed admin clients can read them back.
/// Other shapes are left for `check_new_attributes` to judge.
pub fn keycloak_attributes(map: &mut Map<String, Value>, listed: bool) {
    let Some(Value::Object(attributes)) = map.get_mut("attributes") else { return };
    for value in attributes.values_mut() {
        match value {
            Value::Array(items) => items.iter_mut().for_each(|item| {
                scalar_as_text(item);
            }),
            Value::Null | Value::Object(_) => {}
            Value::String(s) if s.is_empty() => {}
            scalar => {
                scalar_as_text(scalar);
                if listed {
                    *scalar = Value::Array(vec![scalar.take()]);
                }
            }
        }
    }
}

/// A new resource's attributes without the empty ones: Keycloak keeps
/// none (an update's `""` removes one), so a representation read and sent
/// back reads the same.
pub fn drop_empty_attributes(map: &mut Map<String, Value>) {
    if let Some(Value::Object(attributes)) = map.get_mut("attributes") {
        attributes.retain(|_, value| value.as_str() != Some(""));
    }
}

/// Keycloak's attributes map names to text (`Map<String, String>`) or, for
/// users and roles, to lists of text: a value set is a scalar or a list of
/// scalars, never an object or a nested list (Keycloak answers 400). Values
/// as `current` holds them pass: an earlier version stored any shape, and
/// a representation read and sent back unchanged must still be taken.
pub fn check_new_attributes(
    attributes: &Map<String, Value>,
    current: Option<&Map<String, Value>>,
) -> Result<(), AdminError> {
    let scalar = |v: &Value| !matches!(v, Value::Object(_) | Value::Array(_));
    let unchanged = |key: &String, value: &Value| current.and_then(|c| c.get(key)) == Some(value);
    for (key, value) in attributes.iter().filter(|(key, value)| !unchanged(key, value)) {
        let fine = match value {
            Value::Array(items) => items.iter().all(scalar),
            value => scalar(value),
        };
        if !fine {
            return Err(AdminError::bad_request(format!("attribute `{key}` must be a string or a list of strings")));
        }
    }
    Ok(())
}

/// Merge-on-PUT for realms, clients, client scopes and roles: as `merge`,
/// and their `attributes` merge key by key, as Keycloak's do for the first
/// three (a role's would be replaced there, but here they carry its
/// scopes, which one unrelated key must not wipe): a key sent sets
/// its value, one sent as `null` or `""` is removed, one left out is kept
/// (it may carry a setting realmgate models, such as a client's
/// post-logout redirect URIs).
pub fn merge_with_attributes(
    current: Map<String, Value>,
    mut changes: Map<String, Value>,
) -> Result<Map<String, Value>, AdminError> {
    let mut attributes = match current.get("attributes") {
        Some(Value::Object(attributes)) => attributes.clone(),
        _ => Map::new(),
    };
    match changes.remove("attributes") {
        None | Some(Value::Null) => {}
        Some(Value::Object(sent)) => {
            check_new_attributes(&sent, Some(&attributes))?;
            for (key, value) in sent {
                match value {
                    Value::Null => attributes.remove(&key),
                    Value::String(text) if text.is_empty() => attributes.remove(&key),
                    value => attributes.insert(key, value),
                };
            }
        }
        Some(_) => return Err(AdminError::bad_request("`attributes` must be an object")),
    }
    let mut merged = merge(current, changes);
    merged.insert("attributes".into(), Value::Object(attributes));
    Ok(merged)
}

/// Query parameters: the last value of each name wins; booleans are
/// case-insensitive (`exact=True`).
pub struct Query(HashMap<String, String>);

impl Query {
    pub fn from(req: &HttpRequest) -> Result<Self, AdminError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
            .map_err(|_| AdminError::bad_request("Malformed query string"))?;
        Ok(Self(pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect()))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn flag(&self, name: &str) -> Result<Option<bool>, AdminError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(AdminError::bad_request(format!("`{name}` must be true or false"))),
        }
    }

    fn number(&self, name: &str) -> Result<Option<i64>, AdminError> {
        self.get(name)
            .map(|v| v.parse::<i64>().map_err(|_| AdminError::bad_request(format!("`{name}` must be a number"))))
            .transpose()
    }

    /// `first` and `max`; `default_max` applies when `max` is absent, and a
    /// negative `max` means no limit.
    pub fn page(&self, default_max: Option<usize>) -> Result<Page, AdminError> {
        let first = self.number("first")?.unwrap_or(0).max(0) as usize;
        let max = match self.number("max")? {
            Some(n) if n < 0 => None,
            Some(n) => Some(n as usize),
            None => default_max,
        };
        Ok(Page { first, max })
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub first: usize,
    pub max: Option<usize>,
}

/// `items` paged by the request's `first` and `max` (no default limit):
/// every list honours them, even one that is always empty.
pub fn paged<T>(req: &HttpRequest, items: Vec<T>) -> Result<Vec<T>, AdminError> {
    Ok(Query::from(req)?.page(None)?.apply(items))
}

impl Page {
    pub fn apply<T>(&self, items: Vec<T>) -> Vec<T> {
        let iter = items.into_iter().skip(self.first);
        match self.max {
            Some(max) => iter.take(max).collect(),
            None => iter.collect(),
        }
    }
}

/// Everything but RFC 3986's unreserved characters is escaped in a path segment.
pub const PATH_SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// 201 with a `Location` (under the public URL) ending in the new id, and no body.
pub fn created(public_url: &str, req: &HttpRequest, id: &str) -> HttpResponse {
    let base = req.uri().path().trim_end_matches('/');
    let encoded = percent_encoding::utf8_percent_encode(id, PATH_SEGMENT).to_string();
    let location = format!("{}{base}/{encoded}", public_url.trim_end_matches('/'));
    HttpResponse::Created().insert_header((header::LOCATION, location)).finish()
}

pub fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

pub fn ok_json(body: impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(body)
}

/// A string field of a representation: absent or `null` is `None`, any
/// other type than a string is refused.
pub fn str_field<'a>(map: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, AdminError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(AdminError::bad_request(format!("`{key}` must be a string"))),
    }
}

/// Opaque fields: everything in `map` except the `modelled` keys and nulls
/// (a null is "not given", and JSON answers leave null fields out).
pub fn opaque(map: &Map<String, Value>, modelled: &[&str]) -> Map<String, Value> {
    map.iter()
        .filter(|(k, v)| !v.is_null() && !modelled.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A stored JSON object (the `attributes` columns); anything else reads as empty.
pub fn stored_object(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}
