//! The JSON types Keycloak's representations give their fields. realmgate
//! keeps the fields it does not model as sent; sent with another type,
//! Keycloak would answer 400 (Jackson), and typed admin clients (the Java
//! client, Terraform's Go structs) could not read them back. Flags and
//! numbers sent as text, and the values of text maps, are coerced as
//! Jackson coerces them, so what is stored reads back typed; a text field
//! given another type is refused, as realmgate's own fields always were.

use serde_json::{Map, Value};

use super::{AdminError, rep};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `String`.
    Text,
    /// `Boolean`: `true`/`false`, or those words as text.
    Flag,
    /// `Integer`: a whole number within 32 bits, or one as text.
    Number,
    /// `Long`, and the lifetimes realmgate models (checked by their own
    /// rules, up to 100 years; they read back as at most 2³¹−1).
    Long,
    /// `List<String>`.
    Texts,
    /// An object of any members.
    Object,
    /// `Map<String, String>`.
    TextMap,
    /// A list of objects (`protocolMappers`, `credentials`).
    Objects,
}

use Kind::*;

/// Fields of `ClientRepresentation`.
pub const CLIENT: &[(&str, Kind)] = &[
    ("id", Text),
    ("clientId", Text),
    ("name", Text),
    ("description", Text),
    ("rootUrl", Text),
    ("adminUrl", Text),
    ("baseUrl", Text),
    ("surrogateAuthRequired", Flag),
    ("enabled", Flag),
    ("alwaysDisplayInConsole", Flag),
    ("clientAuthenticatorType", Text),
    ("secret", Text),
    ("registrationAccessToken", Text),
    ("redirectUris", Texts),
    ("webOrigins", Texts),
    ("notBefore", Number),
    ("bearerOnly", Flag),
    ("consentRequired", Flag),
    ("standardFlowEnabled", Flag),
    ("implicitFlowEnabled", Flag),
    ("directAccessGrantsEnabled", Flag),
    ("serviceAccountsEnabled", Flag),
    ("authorizationServicesEnabled", Flag),
    ("publicClient", Flag),
    ("frontchannelLogout", Flag),
    ("protocol", Text),
    ("attributes", Object),
    ("authenticationFlowBindingOverrides", TextMap),
    ("fullScopeAllowed", Flag),
    ("nodeReRegistrationTimeout", Number),
    ("protocolMappers", Objects),
    ("defaultClientScopes", Texts),
    ("optionalClientScopes", Texts),
    ("access", Object),
];

/// Fields of `UserRepresentation`.
pub const USER: &[(&str, Kind)] = &[
    ("id", Text),
    ("username", Text),
    ("firstName", Text),
    ("lastName", Text),
    ("email", Text),
    ("emailVerified", Flag),
    ("enabled", Flag),
    ("totp", Flag),
    ("createdTimestamp", Long),
    ("federationLink", Text),
    ("serviceAccountClientId", Text),
    ("attributes", Object),
    ("credentials", Objects),
    ("disableableCredentialTypes", Texts),
    ("requiredActions", Texts),
    ("realmRoles", Texts),
    ("clientRoles", Object),
    ("notBefore", Number),
    ("groups", Texts),
    ("access", Object),
];

/// Fields of `RealmRepresentation` (those not holding other representations).
pub const REALM: &[(&str, Kind)] = &[
    ("id", Text),
    ("realm", Text),
    ("displayName", Text),
    ("displayNameHtml", Text),
    ("notBefore", Number),
    ("defaultSignatureAlgorithm", Text),
    ("revokeRefreshToken", Flag),
    ("refreshTokenMaxReuse", Number),
    ("accessTokenLifespan", Long),
    ("accessTokenLifespanForImplicitFlow", Number),
    ("ssoSessionIdleTimeout", Long),
    ("ssoSessionMaxLifespan", Long),
    ("ssoSessionIdleTimeoutRememberMe", Number),
    ("ssoSessionMaxLifespanRememberMe", Number),
    ("offlineSessionIdleTimeout", Number),
    ("offlineSessionMaxLifespanEnabled", Flag),
    ("offlineSessionMaxLifespan", Number),
    ("clientSessionIdleTimeout", Number),
    ("clientSessionMaxLifespan", Number),
    ("clientOfflineSessionIdleTimeout", Number),
    ("clientOfflineSessionMaxLifespan", Number),
    ("accessCodeLifespan", Long),
    ("accessCodeLifespanUserAction", Number),
    ("accessCodeLifespanLogin", Number),
    ("actionTokenGeneratedByAdminLifespan", Number),
    ("actionTokenGeneratedByUserLifespan", Number),
    ("oauth2DeviceCodeLifespan", Long),
    ("oauth2DevicePollingInterval", Long),
    ("enabled", Flag),
    ("sslRequired", Text),
    ("registrationAllowed", Flag),
    ("registrationEmailAsUsername", Flag),
    ("rememberMe", Flag),
    ("verifyEmail", Flag),
    ("loginWithEmailAllowed", Flag),
    ("duplicateEmailsAllowed", Flag),
    ("resetPasswordAllowed", Flag),
    ("editUsernameAllowed", Flag),
    ("bruteForceProtected", Flag),
    ("permanentLockout", Flag),
    ("maxFailureWaitSeconds", Number),
    ("minimumQuickLoginWaitSeconds", Number),
    ("waitIncrementSeconds", Number),
    ("quickLoginCheckMilliSeconds", Long),
    ("maxDeltaTimeSeconds", Long),
    ("failureFactor", Number),
    ("maxTemporaryLockouts", Number),
    ("bruteForceStrategy", Text),
    ("requiredCredentials", Texts),
    ("passwordPolicy", Text),
    ("otpPolicyType", Text),
    ("otpPolicyAlgorithm", Text),
    ("otpPolicyDigits", Number),
    ("otpPolicyPeriod", Number),
    ("otpPolicyInitialCounter", Number),
    ("otpPolicyLookAheadWindow", Number),
    ("otpPolicyCodeReusable", Flag),
    ("otpSupportedApplications", Texts),
    ("webAuthnPolicyRpEntityName", Text),
    ("webAuthnPolicySignatureAlgorithms", Texts),
    ("webAuthnPolicyRpId", Text),
    ("webAuthnPolicyAttestationConveyancePreference", Text),
    ("webAuthnPolicyAuthenticatorAttachment", Text),
    ("webAuthnPolicyRequireResidentKey", Text),
    ("webAuthnPolicyUserVerificationRequirement", Text),
    ("webAuthnPolicyCreateTimeout", Number),
    ("webAuthnPolicyAvoidSameAuthenticatorRegister", Flag),
    ("webAuthnPolicyAcceptableAaguids", Texts),
    ("webAuthnPolicyExtraOrigins", Texts),
    ("webAuthnPolicyPasswordlessRpEntityName", Text),
    ("webAuthnPolicyPasswordlessSignatureAlgorithms", Texts),
    ("webAuthnPolicyPasswordlessRpId", Text),
    ("webAuthnPolicyPasswordlessAttestationConveyancePreference", Text),
    ("webAuthnPolicyPasswordlessAuthenticatorAttachment", Text),
    ("webAuthnPolicyPasswordlessRequireResidentKey", Text),
    ("webAuthnPolicyPasswordlessUserVerificationRequirement", Text),
    ("webAuthnPolicyPasswordlessCreateTimeout", Number),
    ("webAuthnPolicyPasswordlessAvoidSameAuthenticatorRegister", Flag),
    ("webAuthnPolicyPasswordlessAcceptableAaguids", Texts),
    ("webAuthnPolicyPasswordlessExtraOrigins", Texts),
    ("smtpServer", TextMap),
    ("loginTheme", Text),
    ("accountTheme", Text),
    ("adminTheme", Text),
    ("emailTheme", Text),
    ("eventsEnabled", Flag),
    ("eventsExpiration", Long),
    ("eventsListeners", Texts),
    ("enabledEventTypes", Texts),
    ("adminEventsEnabled", Flag),
    ("adminEventsDetailsEnabled", Flag),
    ("internationalizationEnabled", Flag),
    ("supportedLocales", Texts),
    ("defaultLocale", Text),
    ("browserSecurityHeaders", TextMap),
    ("browserFlow", Text),
    ("registrationFlow", Text),
    ("directGrantFlow", Text),
    ("resetCredentialsFlow", Text),
    ("clientAuthenticationFlow", Text),
    ("dockerAuthenticationFlow", Text),
    ("firstBrokerLoginFlow", Text),
    ("attributes", Object),
    ("userManagedAccessAllowed", Flag),
    ("organizationsEnabled", Flag),
    ("verifiableCredentialsEnabled", Flag),
    ("adminPermissionsEnabled", Flag),
    ("defaultGroups", Texts),
    ("defaultRoles", Texts),
    ("defaultRole", Object),
    ("localizationTexts", Object),
    ("clientPolicies", Object),
    ("clientProfiles", Object),
    ("defaultDefaultClientScopes", Texts),
    ("defaultOptionalClientScopes", Texts),
];

/// Fields of `ClientScopeRepresentation`.
pub const CLIENT_SCOPE: &[(&str, Kind)] = &[
    ("id", Text),
    ("name", Text),
    ("description", Text),
    ("protocol", Text),
    ("attributes", Object),
    ("protocolMappers", Objects),
];

/// Checks the typed fields of `map` against `kinds` and coerces their
/// scalars as Jackson does; `null` is "not given" and passes.
pub fn coerce(map: &mut Map<String, Value>, kinds: &[(&str, Kind)]) -> Result<(), AdminError> {
    for (name, kind) in kinds {
        let Some(value) = map.get_mut(*name).filter(|v| !v.is_null()) else { continue };
        if !coerce_value(value, *kind) {
            return Err(AdminError::bad_request(format!("`{name}` must be {}", described(*kind))));
        }
    }
    Ok(())
}

fn coerce_value(value: &mut Value, kind: Kind) -> bool {
    match kind {
        Text => value.is_string(),
        Flag => match rep::flag(value) {
            Some(flag) => {
                *value = Value::Bool(flag);
                true
            }
            None => false,
        },
        Number | Long => {
            let whole = match value {
                Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
                // Jackson reads an empty text as null: not given.
                Value::String(text) if text.trim().is_empty() => {
                    *value = Value::Null;
                    return true;
                }
                Value::String(text) => text.trim().parse::<i64>().ok(),
                _ => None,
            };
            let fits = |n: &i64| kind == Long || i32::try_from(*n).is_ok();
            match whole.filter(fits) {
                Some(n) => {
                    *value = Value::from(n);
                    true
                }
                None => false,
            }
        }
        Texts => match value {
            Value::Array(items) => items.iter().all(Value::is_string),
            _ => false,
        },
        Object => value.is_object(),
        TextMap => match value {
            Value::Object(members) => members.values_mut().all(|v| v.is_null() || rep::scalar_as_text(v)),
            _ => false,
        },
        Objects => match value {
            Value::Array(items) => items.iter().all(Value::is_object),
            _ => false,
        },
    }
}

fn described(kind: Kind) -> &'static str {
    match kind {
        Text => "text",
        Flag => "true or false",
        Number => "a whole number of at most 2147483647",
        Long => "a whole number",
        Texts => "a list of strings",
        Object => "an object",
        TextMap => "an object of strings",
        Objects => "a list of objects",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn scalars_are_coerced_and_other_shapes_refused() {
        let mut map = json!({
            "fullScopeAllowed": "TRUE", "notBefore": "5", "description": "d",
            "webOrigins": ["+"], "protocolMappers": [], "enabled": null,
        })
        .as_object()
        .unwrap()
        .clone();
        coerce(&mut map, CLIENT).unwrap();
        assert_eq!(
            Value::Object(map),
            json!({
                "fullScopeAllowed": true, "notBefore": 5, "description": "d",
                "webOrigins": ["+"], "protocolMappers": [], "enabled": null,
            })
        );
        for bad in [
            json!({"webOrigins": 5}),
            json!({"webOrigins": [1]}),
            json!({"optionalClientScopes": "address"}),
            json!({"fullScopeAllowed": "x"}),
            json!({"protocolMappers": "x"}),
            json!({"protocolMappers": ["x"]}),
            json!({"notBefore": 1.5}),
            json!({"notBefore": 5_000_000_000i64}),
            json!({"description": 7}),
        ] {
            let mut map = bad.as_object().unwrap().clone();
            assert!(coerce(&mut map, CLIENT).is_err(), "{bad}");
        }
        // As Jackson: a float that is whole, an empty text as not given.
        let mut realm = json!({"offlineSessionIdleTimeout": 2592000.0, "otpPolicyDigits": "", "eventsExpiration": 5_000_000_000i64})
            .as_object()
            .unwrap()
            .clone();
        coerce(&mut realm, REALM).unwrap();
        assert_eq!(
            Value::Object(realm),
            json!({"offlineSessionIdleTimeout": 2592000, "otpPolicyDigits": null, "eventsExpiration": 5_000_000_000i64})
        );
        let mut realm = json!({"smtpServer": "x"}).as_object().unwrap().clone();
        assert!(coerce(&mut realm, REALM).is_err());
        let mut realm = json!({"smtpServer": {"port": 25, "auth": true}}).as_object().unwrap().clone();
        coerce(&mut realm, REALM).unwrap();
        assert_eq!(realm["smtpServer"], json!({"port": "25", "auth": "true"}));
    }
}
