//! What introspection (RFC 7662) says about a token: active JWT access
//! tokens and refresh tokens of this realm; everything else is exactly
//! `{"active": false}`.

use serde_json::{Value, json};

use super::ServiceError;
use super::access;
use super::realm_cache::RealmEntry;
use crate::crypto::token_hash;
use crate::state::AppState;
use crate::storage::repo::{refresh, users};

fn inactive() -> Value {
    json!({ "active": false })
}

pub async fn introspect(state: &AppState, entry: &RealmEntry, token: &str) -> Result<Value, ServiceError> {
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
