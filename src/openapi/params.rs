//! Path and query parameters, named exactly as the router names them.

use utoipa::IntoParams;

/// `{realm}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RealmPath {
    /// The realm's name.
    pub realm: String,
}

/// `{realm}` and a client's `{id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ClientPath {
    /// The realm's name.
    pub realm: String,
    /// The client's UUID (`id`, not `clientId`).
    pub id: String,
}

/// `{realm}`, a client's `{id}` and a client scope's id as `{scope}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ClientScopeLinkPath {
    /// The realm's name.
    pub realm: String,
    /// The client's UUID.
    pub id: String,
    /// The client scope's id.
    pub scope: String,
}

/// `{realm}`, a client's `{id}` and a role's `{name}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ClientRolePath {
    /// The realm's name.
    pub realm: String,
    /// The client's UUID (roles exist for `realm-management` only).
    pub id: String,
    /// The role's name.
    pub name: String,
}

/// `{realm}` and a user's `{id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// The realm's name.
    pub realm: String,
    /// The user's UUID.
    pub id: String,
}

/// `{realm}`, a user's `{id}` and a client's UUID as `{client}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserClientPath {
    /// The realm's name.
    pub realm: String,
    /// The user's UUID.
    pub id: String,
    /// The client's UUID (mappings exist for `realm-management` only).
    pub client: String,
}

/// `{realm}` and a realm role's `{name}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RoleNamePath {
    /// The realm's name.
    pub realm: String,
    /// The role's name.
    pub name: String,
}

/// `{realm}` and a realm role's `{id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RoleIdPath {
    /// The realm's name.
    pub realm: String,
    /// The role's UUID.
    pub id: String,
}

/// `{realm}` and a client scope's `{id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ScopePath {
    /// The realm's name.
    pub realm: String,
    /// The client scope's id (built-in scopes have a stable id derived from the realm).
    pub id: String,
}

/// `{realm}` and a user's `{session}` (a browser session, or a grant made without one).
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SessionPath {
    /// The realm's name.
    pub realm: String,
    /// The session's id, as a user's session list gives it.
    pub session: String,
}

/// `{realm}` and the `{id}` of a personal access token or a session of the caller.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AccountItemPath {
    /// The realm's name.
    pub realm: String,
    /// The token's or session's id.
    pub id: String,
}

/// `{realm}` and the `{client_id}` whose consent to revoke.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AccountConsentPath {
    /// The realm's name.
    pub realm: String,
    /// The client's `client_id`.
    pub client_id: String,
}

/// `first` and `max`: every admin list honours them.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Items to skip.
    pub first: Option<i64>,
    /// Items to return at most; negative for no limit.
    pub max: Option<i64>,
}

/// Filters of the client list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct ClientQuery {
    /// A `clientId`, matched exactly unless `search=true`.
    pub client_id: Option<String>,
    /// Match `clientId` as a case-insensitive substring (`true`/`false`, any case).
    pub search: Option<bool>,
    pub first: Option<i64>,
    pub max: Option<i64>,
}

/// Filters of the user search (usernames and e-mail addresses are compared case-insensitively).
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct UserQuery {
    pub username: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Whitespace-separated terms, each matching the start of the username,
    /// e-mail, first or last name (`ali`, `ali*`); `*lic*` matches anywhere,
    /// `"alice"` only the whole field.
    pub search: Option<String>,
    /// Field filters match exactly instead of as substrings.
    pub exact: Option<bool>,
    pub enabled: Option<bool>,
    pub email_verified: Option<bool>,
    pub first: Option<i64>,
    /// Defaults to 100.
    pub max: Option<i64>,
    /// Keycloak's brief representation: no attributes, required actions or credentials.
    pub brief_representation: Option<bool>,
}

/// Filters of the user count.
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct UserCountQuery {
    pub username: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub search: Option<String>,
    pub exact: Option<bool>,
    pub enabled: Option<bool>,
    pub email_verified: Option<bool>,
}

/// Filters of the realm role list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoleQuery {
    /// A case-insensitive substring of the role's name.
    pub search: Option<String>,
    pub first: Option<i64>,
    pub max: Option<i64>,
}

/// Filters of the user event list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct EventQuery {
    /// Event types (`LOGIN`, `LOGIN_ERROR`, `CODE_TO_TOKEN`, …); repeatable or comma-separated.
    #[param(rename = "type")]
    pub kind: Option<Vec<String>>,
    /// A `clientId`.
    pub client: Option<String>,
    /// A user's id.
    pub user: Option<String>,
    /// The client's address, as recorded.
    pub ip_address: Option<String>,
    /// `yyyy-MM-dd` or milliseconds since the epoch.
    pub date_from: Option<String>,
    /// `yyyy-MM-dd` (the whole day) or milliseconds since the epoch.
    pub date_to: Option<String>,
    pub first: Option<i64>,
    /// Defaults to 100.
    pub max: Option<i64>,
    /// `desc` (newest first, the default) or `asc`.
    pub direction: Option<String>,
}

/// Filters of the admin event list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct AdminEventQuery {
    /// `CREATE`, `UPDATE`, `DELETE`, `ACTION`; repeatable or comma-separated.
    pub operation_types: Option<Vec<String>>,
    /// `REALM`, `CLIENT`, `USER`, `REALM_ROLE`, …; repeatable or comma-separated.
    pub resource_types: Option<Vec<String>>,
    pub resource_path: Option<String>,
    /// The acting user's (or client's) id.
    pub auth_user: Option<String>,
    /// The id of the realm the acting token came from.
    pub auth_realm: Option<String>,
    /// The id of the client the acting token was issued to.
    pub auth_client: Option<String>,
    /// The acting client's address.
    pub auth_ip_address: Option<String>,
    /// `yyyy-MM-dd` or milliseconds since the epoch.
    pub date_from: Option<String>,
    /// `yyyy-MM-dd` (the whole day) or milliseconds since the epoch.
    pub date_to: Option<String>,
    pub first: Option<i64>,
    /// Defaults to 100.
    pub max: Option<i64>,
    /// `desc` (newest first, the default) or `asc`.
    pub direction: Option<String>,
}
