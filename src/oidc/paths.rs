//! Endpoint paths under `/realms/{realm}` (Keycloak's layout, SPEC §3). The
//! router and discovery both use these, so they cannot drift apart.

pub const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";
pub const OAUTH_METADATA: &str = "/.well-known/oauth-authorization-server";
pub const AUTHORIZATION: &str = "/protocol/openid-connect/auth";
pub const TOKEN: &str = "/protocol/openid-connect/token";
pub const CERTS: &str = "/protocol/openid-connect/certs";
pub const USERINFO: &str = "/protocol/openid-connect/userinfo";
pub const INTROSPECTION: &str = "/protocol/openid-connect/token/introspect";
pub const REVOCATION: &str = "/protocol/openid-connect/revoke";
/// keycloak-js's third-party-cookie check (see `third_party_cookies`).
pub const THIRD_PARTY_COOKIES_STEP1: &str = "/protocol/openid-connect/3p-cookies/step1.html";
pub const THIRD_PARTY_COOKIES_STEP2: &str = "/protocol/openid-connect/3p-cookies/step2.html";

/// `<issuer><path>` for an endpoint of the realm.
pub fn endpoint(issuer: &str, path: &str) -> String {
    format!("{issuer}{path}")
}
pub const END_SESSION: &str = "/protocol/openid-connect/logout";
pub const END_SESSION_CONFIRM: &str = "/protocol/openid-connect/logout/confirm";
pub const LOGIN_ACTION: &str = "/login-actions/authenticate";
pub const CONSENT_ACTION: &str = "/login-actions/consent";
/// Keycloak's required actions: here, choosing a new password after a temporary one.
pub const REQUIRED_ACTION: &str = "/login-actions/required-action";
/// The admin console's sign-in through the `master` realm (SSO session).
pub const CONSOLE_LOGIN: &str = "/login-actions/console";
pub const DEVICE_AUTHORIZATION: &str = "/protocol/openid-connect/auth/device";
/// The page where a user types the user code.
pub const DEVICE_PAGE: &str = "/device";
/// The signed-in user's own page.
pub const ACCOUNT_PAGE: &str = "/account";
