//! What introspection (RFC 7662) says about a token: active JWT access
//! tokens and refresh tokens of this realm; everything else is exactly
//! `{"active": false}`.

use serde_json::{Value, json};

use super::ServiceError;
use super::access;
use super::families::Bound;
use super::personal_tokens;
use super::realm_cache::RealmEntry;
use super::refresh::{Presented, find_presented};
use crate::state::AppState;
use crate::storage::repo::users;

fn inactive() -> Value {
    json!({ "active": false })
}

pub async fn introspect(
    state: &AppState,
    entry: &std::sync::Arc<RealmEntry>,
    token: &str,
) -> Result<Value, ServiceError> {
    let now = state.clock.now();
    if token.contains('.') {
        let Ok(claims) = access::verify(entry, token, now) else {
            return Ok(inactive());
        };
        let Some(client) = entry.client(&claims.client_id) else {
            return Ok(inactive());
        };
        // client_credentials tokens are about the client itself; others about a user.
        let user_sub = (claims.sub != client.id).then(|| claims.sub.clone());
        let checked = claims.clone();
        let realm_id = entry.realm.id.clone();
        let live = state
            .db
            .read_hot(move |conn| {
                if access::is_revoked(conn, &checked)? {
                    return Ok(false);
                }
                Ok(match user_sub {
                    Some(sub) => users::find_by_id(conn, &realm_id, &sub)?.is_some_and(|u| u.enabled),
                    None => true,
                })
            })
            .await?;
        if !live {
            return Ok(inactive());
        }
        let mut answer = json!({
            "active": true,
            "scope": claims.scope,
            "client_id": claims.client_id,
            "sub": claims.sub,
            "exp": claims.exp,
            "iat": claims.iat,
            "iss": claims.iss,
            "aud": claims.aud,
            "jti": claims.jti,
            "token_type": "Bearer",
        });
        if let Some(username) = claims.preferred_username {
            answer["username"] = username.into();
        }
        // Keycloak answers with the token's claims: resource servers read roles here too.
        for (name, claim) in [
            ("azp", claims.azp.map(Value::from)),
            ("realm_access", claims.realm_access),
            ("resource_access", claims.resource_access),
        ] {
            if let Some(value) = claim {
                answer[name] = value;
            }
        }
        return Ok(answer);
    }

    if token.len() > 512 {
        return Ok(inactive());
    }
    if personal_tokens::is_personal(token) {
        return personal(state, entry, token).await;
    }
    let Some(presented) = Presented::parse(&state.secret, token) else {
        return Ok(inactive());
    };
    let realm_id = entry.realm.id.clone();
    let bound_entry = std::sync::Arc::clone(entry);
    let found = state
        .db
        .read_hot(move |conn| {
            let Some((row, family)) = find_presented(conn, &presented)? else {
                return Ok(None);
            };
            if family.realm_id != realm_id {
                return Ok(None);
            }
            let Some(user) = users::find_by_id(conn, &realm_id, &family.user_id)?.filter(|u| u.enabled) else {
                return Ok(None);
            };
            // Active means usable (RFC 7662 §2.2): a refresh fails once the
            // family's session is over (idle, maximum, ended).
            if !Bound::of(conn, &bound_entry, &family, now)?.is_live() {
                return Ok(None);
            }
            Ok(Some((row, family, Some(user.username))))
        })
        .await?;
    let Some((row, family, username)) = found else {
        return Ok(inactive());
    };
    // Spent means replaced, even if rotation has been turned off since.
    if family.revoked_at.is_some() || row.spent_at.is_some() || now > row.expires_at {
        return Ok(inactive());
    }
    let client_id = entry.clients.values().find(|c| c.id == family.client_id && c.enabled).map(|c| c.client_id.clone());
    let Some(client_id) = client_id else {
        return Ok(inactive());
    };
    let mut answer = json!({
        "active": true,
        "scope": family.scope,
        "client_id": client_id,
        "sub": family.user_id,
        "exp": row.expires_at,
        "iat": row.issued_at,
        "iss": entry.issuer,
        "token_type": "Refresh",
    });
    if let Some(username) = username {
        answer["username"] = username.into();
    }
    Ok(answer)
}

/// A personal access token: active while neither revoked nor expired. It
/// belongs to no client: its `client_id` is the reserved name the audit log
/// gives personal tokens (SPEC §3 lists `client_id` in every active
/// answer); `exp` is absent for a token without an expiry.
async fn personal(state: &AppState, entry: &std::sync::Arc<RealmEntry>, token: &str) -> Result<Value, ServiceError> {
    let now = state.clock.now();
    let issuer = entry.issuer.clone();
    let entry = std::sync::Arc::clone(entry);
    let token = token.to_owned();
    let found = state.db.run(move |conn| personal_tokens::find_active(conn, &entry, &token, now)).await?;
    if let Some(active) = &found {
        personal_tokens::record_use(state, active, now).await?;
    }
    let Some(active) = found else {
        return Ok(inactive());
    };
    let (row, user) = (active.row, active.user);
    let mut answer = json!({
        "active": true,
        "scope": active.scope.to_string(),
        "client_id": crate::domain::client::PERSONAL_TOKEN_CLIENT,
        "sub": row.user_id,
        "username": user.username,
        "iat": row.created_at,
        "iss": issuer,
        "token_type": "Bearer",
    });
    if let Some(exp) = row.expires_at {
        answer["exp"] = exp.into();
    }
    Ok(answer)
}
