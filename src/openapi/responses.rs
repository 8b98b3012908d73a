//! The responses many operations share: the error bodies of the admin and
//! account APIs, the response components built on them (and the admin API's
//! 201), and the groups of those that the operations list.

use std::collections::BTreeMap;

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, PartialSchema, ToSchema};

/// Keycloak's body for 401, 403 and 404: `{"error": "…"}`.
#[derive(ToSchema)]
#[schema(example = json!({ "error": "Client not found" }))]
pub struct KeycloakError {
    /// `HTTP 401 Unauthorized`, `HTTP 403 Forbidden`, or `<what> not found`.
    pub error: String,
}

/// Keycloak's body for 409: `{"errorMessage": "… already exists"}`.
#[derive(ToSchema)]
#[schema(example = json!({ "errorMessage": "Client web already exists" }))]
pub struct KeycloakConflict {
    #[schema(rename = "errorMessage")]
    pub error_message: String,
}

/// The OAuth error shape (RFC 6749 §5.2, RFC 6750 §3): the admin API's 400
/// and 503, and every error of the account API.
#[derive(ToSchema)]
#[schema(example = json!({ "error": "invalid_request", "error_description": "Expected a JSON object" }))]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_token`, `insufficient_scope`, `invalid_scope`, `not_found`, …
    pub error: String,
    pub error_description: String,
}

/// One shared response: its component name, description, body schema (if
/// it has a body), and the header it carries, if any.
struct Shared {
    name: &'static str,
    description: &'static str,
    schema: &'static str,
    header: Option<(&'static str, &'static str)>,
}

/// No body.
const EMPTY: &str = "";

const BEARER: Option<(&str, &str)> = Some(("WWW-Authenticate", "The Bearer challenge (RFC 6750 §3)"));

/// Every shared response, registered under `components.responses`.
const SHARED: [Shared; 11] = [
    Shared {
        name: "Created",
        description: "Created, with an empty body",
        schema: EMPTY,
        header: Some(("Location", "The new resource's URL: ends in its id (a realm's and a role's: its name)")),
    },
    Shared { name: "Unauthorized", description: "No valid access token", schema: "KeycloakError", header: BEARER },
    Shared { name: "Forbidden", description: "The token lacks the role", schema: "KeycloakError", header: None },
    Shared {
        name: "NotFound",
        description: "The realm, or the resource named in the path, does not exist",
        schema: "KeycloakError",
        header: None,
    },
    Shared {
        name: "Conflict",
        description: "Something of that name already exists",
        schema: "KeycloakConflict",
        header: None,
    },
    Shared {
        name: "BadRequest",
        description: "A malformed body or query, or a value realmgate refuses",
        schema: "OAuthErrorBody",
        header: None,
    },
    Shared {
        name: "Busy",
        description: "Too many passwords are being hashed; try again shortly",
        schema: "OAuthErrorBody",
        header: None,
    },
    Shared {
        name: "AccountBadRequest",
        description: "A credential presented in more than one way, a malformed body, or an unknown scope",
        schema: "OAuthErrorBody",
        header: None,
    },
    Shared {
        name: "AccountUnauthorized",
        description: "No valid credential (`invalid_token`)",
        schema: "OAuthErrorBody",
        header: BEARER,
    },
    Shared {
        name: "AccountForbidden",
        description: "The credential lacks `account.read` (to read) or `account.write` (to change)",
        schema: "OAuthErrorBody",
        header: BEARER,
    },
    Shared {
        name: "AccountNotFound",
        description: "The realm, or the item to remove, does not exist",
        schema: "OAuthErrorBody",
        header: None,
    },
];

/// The shared responses as components.
pub fn components() -> impl Iterator<Item = (String, RefOr<Response>)> {
    SHARED.iter().map(|shared| {
        let mut response = ResponseBuilder::new().description(shared.description);
        if shared.schema != EMPTY {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name(shared.schema))).build();
            response = response.content("application/json", content);
        }
        if let Some((name, about)) = shared.header {
            let header = HeaderBuilder::new().schema(String::schema()).description(Some(about)).build();
            response = response.header(name, header);
        }
        (shared.name.to_owned(), RefOr::T(response.build()))
    })
}

/// References to shared responses, keyed by status.
fn refs(entries: &[(&str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    entries.iter().map(|(status, name)| ((*status).to_owned(), RefOr::Ref(Ref::from_response_name(*name)))).collect()
}

/// 201 with `Location` and no body: what an admin create answers.
pub struct Created;

impl IntoResponses for Created {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[("201", "Created")])
    }
}

/// What every realm-scoped admin operation may answer besides its own
/// outcomes: 401 without a valid token, 403 without the role, 404 for a
/// realm (or a resource in the path) that does not exist.
pub struct AdminErrors;

impl IntoResponses for AdminErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[("401", "Unauthorized"), ("403", "Forbidden"), ("404", "NotFound")])
    }
}

/// 401 alone: the operations any valid admin token may call.
pub struct Unauthenticated;

impl IntoResponses for Unauthenticated {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[("401", "Unauthorized")])
    }
}

/// 403 alone (where there is no realm in the path to miss).
pub struct Denied;

impl IntoResponses for Denied {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[("403", "Forbidden")])
    }
}

/// 400: a malformed body or query, or a value realmgate refuses.
pub struct Invalid;

impl IntoResponses for Invalid {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[("400", "BadRequest")])
    }
}

/// 409: something of that name already exists.
pub struct Exists;

impl IntoResponses for Exists {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[("409", "Conflict")])
    }
}

/// 503: the password hasher is saturated.
pub struct Busy;

impl IntoResponses for Busy {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[("503", "Busy")])
    }
}

/// What every account API operation may answer besides its own outcomes.
pub struct AccountErrors;

impl IntoResponses for AccountErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[
            ("400", "AccountBadRequest"),
            ("401", "AccountUnauthorized"),
            ("403", "AccountForbidden"),
            ("404", "AccountNotFound"),
        ])
    }
}
