//! What introspection (RFC 7662) says about a token: active JWT access
//! tokens and refresh tokens of this realm; everything else is exactly
//! `{"active": false}`.

use serde_json::{Value, json};

use super::ServiceError;
use super::access;
use super::personal_tokens;
use super::realm_cache::RealmEntry;
use crate::crypto::token_hash;
use crate::state::AppState;
use crate::storage::repo::{refresh, users};

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
        let checked = claims.clone();
        if state.db.run(move |conn| access::is_revoked(conn, &checked)).await? {
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
        return Ok(answer);
    }

    if token.len() > 512 {
        return Ok(inactive());
    }
    if personal_tokens::is_personal(token) {
        return personal(state, entry, token).await;
    }
    let hash = token_hash(token);
    let realm_id = entry.realm.id.clone();
    let found = state
        .db
        .run(move |conn| {
            let Some((row, family)) = refresh::find_token(conn, &hash)? else {
                return Ok(None);
            };
            if family.realm_id != realm_id {
                return Ok(None);
            }
            let username = users::find_by_id(conn, &realm_id, &family.user_id)?.map(|u| u.username);
            Ok(Some((row, family, username)))
        })
        .await?;
    let Some((row, family, username)) = found else {
        return Ok(inactive());
    };
    let spent = row.spent_at.is_some() && entry.realm.settings.refresh_token_rotation;
    if family.revoked_at.is_some() || spent || now > row.expires_at {
        return Ok(inactive());
    }
    let client_id = entry.clients.values().find(|c| c.id == family.client_id).map(|c| c.client_id.clone());
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
/// belongs to no client, so `client_id` (and `exp`, without an expiry) is absent.
async fn personal(state: &AppState, entry: &std::sync::Arc<RealmEntry>, token: &str) -> Result<Value, ServiceError> {
    let now = state.clock.now();
    let issuer = entry.issuer.clone();
    let entry = std::sync::Arc::clone(entry);
    let token = token.to_owned();
    let found = state.db.run(move |conn| personal_tokens::find_active(conn, &entry, &token, now)).await?;
    let Some((row, user)) = found else {
        return Ok(inactive());
    };
    let mut answer = json!({
        "active": true,
        "scope": row.scope,
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
