//! Reading OAuth request parameters: form or JSON bodies with a size limit,
//! each parameter at most once (RFC 6749 §3.1), empty values ignored (as
//! Keycloak's clients send `code=`), and the client's credentials.

use std::collections::{HashMap, HashSet};

use actix_web::http::header;
use actix_web::{HttpRequest, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt;

use crate::error::OAuthError;
use crate::services::client_auth::ClientCredentials;

/// The largest request body accepted at the OAuth endpoints.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request's parameters.
#[derive(Default)]
pub struct Params(HashMap<String, String>);

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values hold secrets (passwords, tokens): names only.
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| OAuthError::invalid_request(format!("Missing parameter: {name}")))
    }

    /// Each parameter's value if its first copy is not empty (an empty one
    /// counts as absent), and the names given more than once, empty or not
    /// (RFC 6749 §3.1; Keycloak refuses any repeated parameter too).
    fn collect(pairs: impl IntoIterator<Item = (String, String)>) -> (Self, Vec<String>) {
        // Names given only empty so far, and those seen repeated: sets, so
        // that a body of thousands of distinct names costs linear time (with
        // lists it took a worker a tenth of a second, before any client
        // authentication). No copy of any name on the way (this runs on
        // every token request), and sets that stay empty allocate nothing.
        let (mut map, mut empty, mut repeated) = (HashMap::new(), HashSet::new(), Vec::new());
        let mut seen_repeated = HashSet::new();
        for (name, value) in pairs {
            if map.contains_key(&name) || empty.contains(&name) {
                if seen_repeated.insert(name.clone()) {
                    repeated.push(name);
                }
            } else if value.is_empty() {
                empty.insert(name);
            } else {
                map.insert(name, value);
            }
        }
        (Self(map), repeated)
    }

    fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Result<Self, OAuthError> {
        match Self::collect(pairs) {
            (params, repeated) if repeated.is_empty() => Ok(params),
            (_, repeated) => {
                Err(OAuthError::invalid_request(format!("Parameter `{}` was given more than once", repeated[0])))
            }
        }
    }

    fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|_| OAuthError::invalid_request("The request body is not valid form encoding"))?;
        refuse_nul(&pairs)?;
        // A `state` echoed changed would break RFC 6749 §4.1.2 (exact).
        if !decoded_faithfully(body, &pairs) {
            return Err(OAuthError::invalid_request("Parameters must be UTF-8 text"));
        }
        Ok(pairs)
    }

    /// Parses form encoding keeping each parameter's first value, and names
    /// the parameters given more than once: the authorization endpoint must
    /// tell a repeated `client_id` or `redirect_uri` (its error page) from
    /// any other (an error sent back to the client, RFC 6749 §4.1.2.1).
    pub fn from_form_noting_repeats(body: &[u8]) -> Result<(Self, Vec<String>), OAuthError> {
        Ok(Self::collect(Self::form_pairs(body)?))
    }

    /// Parses an `application/x-www-form-urlencoded` body.
    pub fn from_form(body: &[u8]) -> Result<Self, OAuthError> {
        Self::from_pairs(Self::form_pairs(body)?)
    }

    /// Parses a JSON object whose values are strings (or null, meaning
    /// absent), each member at most once as in a form.
    pub fn from_json(body: &[u8]) -> Result<Self, OAuthError> {
        let JsonMembers(members) = serde_json::from_slice(body)
            .map_err(|_| OAuthError::invalid_request("The request body is not a JSON object"))?;
        let mut pairs = Vec::with_capacity(members.len());
        for (name, value) in members {
            match value {
                serde_json::Value::String(s) => pairs.push((name, s)),
                serde_json::Value::Null => pairs.push((name, String::new())),
                _ if JSON_PARAMETERS.contains(&name.as_str()) => {
                    return Err(OAuthError::invalid_request(format!("Parameter `{name}` must be a string")));
                }
                // Unrecognised parameters are ignored (RFC 6749 §3.2), whatever their type.
                _ => {}
            }
        }
        refuse_nul(&pairs)?;
        Self::from_pairs(pairs)
    }
}

/// The parameters of the endpoints that take JSON bodies (token,
/// introspection, revocation, device authorization, and the pages' forms
/// sent as JSON): each must be a string.
const JSON_PARAMETERS: [&str; 21] = [
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "username",
    "password",
    "device_code",
    "token",
    "token_type_hint",
    "state",
    "csrf",
    "id_token_hint",
    "post_logout_redirect_uri",
    "user_code",
    "decision",
];

/// No parameter holds a NUL character: no protocol value has one, and
/// PostgreSQL cannot store one in text (SQLite would).
fn refuse_nul(pairs: &[(String, String)]) -> Result<(), OAuthError> {
    match pairs.iter().find(|(name, value)| name.contains('\0') || value.contains('\0')) {
        Some((name, _)) => {
            Err(OAuthError::invalid_request(format!("Parameter `{}` contains a NUL character", name.escape_debug())))
        }
        None => Ok(()),
    }
}

/// A JSON object's members in order, repeated names kept (serde_json's
/// `Map` keeps only the last, which would hide a repeated parameter).
struct JsonMembers(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for JsonMembers {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = JsonMembers;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<JsonMembers, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(JsonMembers(members))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

/// Why a request body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    Unreadable,
    TooLarge,
    /// The client stopped sending it (or sends it too slowly).
    TimedOut,
}

impl From<BodyError> for OAuthError {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::Unreadable => Self::invalid_request("The request body could not be read"),
            BodyError::TooLarge => Self::payload_too_large(),
            BodyError::TimedOut => Self::request_timeout(),
        }
    }
}

/// The longest a body may pause between two pieces: as long as actix
/// waits for a request's headers.
const BODY_PAUSE: std::time::Duration = std::time::Duration::from_secs(5);
/// The longest a whole body of at most `limit` bytes may take: half a
/// minute, and a second more for each 16 KiB it may hold (a slow link's
/// pace: a 1 MiB realm import gets 94 s).
fn body_deadline(limit: usize) -> std::time::Duration {
    std::time::Duration::from_secs(30 + (limit / (16 * 1024)) as u64)
}

/// Reads a whole body (a handler's `web::Payload` or an extractor's
/// `dev::Payload`), refusing it as soon as it passes `limit` bytes, or
/// when it stalls: actix bounds only the headers' arrival, and a client
/// that declared a body and never sent it held its connection (and a file
/// descriptor) for good.
pub async fn read_body<E>(
    mut payload: impl futures_util::Stream<Item = Result<web::Bytes, E>> + Unpin,
    limit: usize,
) -> Result<web::BytesMut, BodyError> {
    let read = async move {
        let mut body = web::BytesMut::new();
        loop {
            let next = tokio::time::timeout(BODY_PAUSE, payload.next()).await.map_err(|_| BodyError::TimedOut)?;
            let Some(chunk) = next else { return Ok(body) };
            let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
            if body.len() + chunk.len() > limit {
                return Err(BodyError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
    };
    tokio::time::timeout(body_deadline(limit), read).await.map_err(|_| BodyError::TimedOut)?
}

/// The body's declared length, when the request says it.
pub fn declared_length(req: &HttpRequest) -> Option<u64> {
    req.headers().get(header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// Reads the body (form or JSON) with the size limit.
pub async fn read(req: &HttpRequest, payload: web::Payload) -> Result<Params, OAuthError> {
    // A body declared too large is refused at once, not waited for.
    if declared_length(req).is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(OAuthError::payload_too_large());
    }
    let body = read_body(payload, MAX_BODY_BYTES).await.map_err(OAuthError::from)?;
    match media_type(req).as_deref() {
        Some("application/x-www-form-urlencoded") => Params::from_form(&body),
        Some("application/json") => Params::from_json(&body),
        None if body.is_empty() => Ok(Params::default()),
        _ => Err(OAuthError::invalid_request(
            "Content-Type must be application/x-www-form-urlencoded or application/json",
        )),
    }
}

/// The request's media type (`Content-Type` without parameters), lower-cased.
pub(crate) fn media_type(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

/// Whether the body is a form (RFC 6750 §2.2: the only body that may carry
/// an access token).
pub fn is_form(req: &HttpRequest) -> bool {
    media_type(req).as_deref() == Some("application/x-www-form-urlencoded")
}

/// HTTP Basic client credentials (RFC 6749 §2.3.1: form-encoded id and secret).
fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, ()> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ())?;
    // `Basic` alone is an attempt without credentials, not no attempt.
    let (scheme, encoded) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    if encoded.trim().is_empty() {
        return Err(());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| ())?;
    let decoded = String::from_utf8(decoded).map_err(|_| ())?;
    let (id, secret) = decoded.split_once(':').ok_or(())?;
    Ok(Some((form_decode(id)?, form_decode(secret)?)))
}

/// Whether `pairs` are `body`'s text: decoding replaces bytes that are no
/// UTF-8 with U+FFFD, looked into only when one shows up.
pub fn decoded_faithfully(body: &[u8], pairs: &[(String, String)]) -> bool {
    let replaced = |s: &String| s.contains(char::REPLACEMENT_CHARACTER);
    !pairs.iter().any(|(k, v)| replaced(k) || replaced(v)) || is_utf8_form(body)
}

/// Whether every name and value of a form decodes to UTF-8.
fn is_utf8_form(body: &[u8]) -> bool {
    body.split(|&b| b == b'&').all(|part| {
        let decoded: Vec<u8> = percent_encoding::percent_decode(part).collect();
        std::str::from_utf8(&decoded).is_ok()
    })
}

fn form_decode(raw: &str) -> Result<String, ()> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8().map(|s| s.into_owned()).map_err(|_| ())
}

/// The client's credentials from the Basic header or the body.
pub fn client_credentials(req: &HttpRequest, params: &Params, realm: &str) -> Result<ClientCredentials, OAuthError> {
    let basic = basic_credentials(req)
        .map_err(|()| OAuthError::invalid_client("Malformed HTTP Basic credentials").with_basic_challenge(realm))?;
    let body_id = params.get("client_id");
    let other_scheme = basic.is_none() && req.headers().contains_key(header::AUTHORIZATION);
    let missing = |description| {
        let error = OAuthError::invalid_client(description);
        if other_scheme { error.with_basic_challenge(realm) } else { error }
    };
    match (basic, params.get("client_secret")) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request("Use only one client authentication method")),
        (Some((client_id, secret)), None) => {
            if client_id.contains('\0') || secret.contains('\0') {
                return Err(OAuthError::invalid_request("HTTP Basic credentials contain a NUL character"));
            }
            if body_id.is_some_and(|id| id != client_id) {
                return Err(OAuthError::invalid_request("client_id does not match the authenticated client"));
            }
            Ok(ClientCredentials::Basic { client_id, secret })
        }
        (None, Some(secret)) => match body_id {
            Some(id) => {
                Ok(ClientCredentials::Post { client_id: id.to_owned(), secret: secret.to_owned(), other_scheme })
            }
            None => Err(missing("Missing parameter: client_id")),
        },
        (None, None) => match body_id {
            Some(id) => Ok(ClientCredentials::None { client_id: id.to_owned(), other_scheme }),
            None => Err(missing("Client authentication is required")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_is_no_utf8_is_refused_not_replaced() {
        assert!(Params::from_form(b"state=%FF%FE").is_err());
        assert!(Params::from_form(b"state=\xff").is_err());
        assert!(Params::from_form(b"%E2%82=%AC").is_err());
        let p = Params::from_form(b"state=%EF%BF%BD%E2%82%AC").unwrap();
        assert_eq!(p.get("state"), Some("\u{FFFD}\u{20AC}"), "a replacement character sent as one is kept");
    }

    #[test]
    fn thousands_of_empty_names_are_absent_and_a_repeat_among_them_is_named() {
        let names: Vec<String> = (0..10_000).map(|i| format!("{i:x}")).collect();
        let body = format!("{}&grant_type=x", names.join("&"));
        let p = Params::from_form(body.as_bytes()).unwrap();
        assert_eq!((p.get("grant_type"), p.get("ff")), (Some("x"), None));
        let (_, repeated) = Params::from_form_noting_repeats(format!("{body}&ff&ff=&zz").as_bytes()).unwrap();
        assert_eq!(repeated, ["ff"], "named once, however often repeated");
    }

    #[test]
    fn duplicates_are_refused_and_empties_ignored() {
        assert!(Params::from_form(b"a=1&a=2").is_err());
        assert!(Params::from_form(b"a=1&a=").is_err(), "an empty copy is a copy (RFC 6749 §3.1)");
        assert!(Params::from_form(b"code=&code=").is_err());
        let p = Params::from_form(b"a=1&code=&b=x+y%21").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("code"), None);
        assert_eq!(p.get("b"), Some("x y!"));
    }

    #[test]
    fn json_values_must_be_strings() {
        assert_eq!(Params::from_json(br#"{"a":"1","b":null}"#).unwrap().get("a"), Some("1"));
        assert!(Params::from_json(br#"{"scope":1}"#).is_err(), "a known parameter must be a string");
        assert!(Params::from_json(br#"{"extra":{"a":1},"n":1}"#).is_ok(), "unknown ones are ignored (RFC 6749 §3.2)");
        assert!(Params::from_json(br#"[1]"#).is_err());
        assert!(Params::from_json(b"{").is_err());
        assert!(Params::from_json(br#"{"a":"1","a":"2"}"#).is_err(), "a repeated member");
        assert!(Params::from_json(br#"{"a":"1","a":null}"#).is_err(), "a repeated member, even null");
        assert_eq!(
            Params::from_json(br#"{"a":null}"#).unwrap().get("a"),
            None,
            "null is absent, as an empty form value"
        );
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(form_decode("a%3Ab+c").unwrap(), "a:b c");
        assert!(form_decode("%ff").is_err());
    }
}
