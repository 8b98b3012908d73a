-- Browser sign-in: SSO sessions, authorization codes, remembered consent.

CREATE TABLE sso_sessions (
    id TEXT PRIMARY KEY,
    -- The cookie holds a random token; only its hash is stored.
    token_hash TEXT NOT NULL UNIQUE,
    realm_id TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX sso_sessions_by_user ON sso_sessions (user_id);

CREATE TABLE auth_codes (
    code_hash TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    code_challenge_method TEXT,
    auth_time BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    -- The grant id every token issued from this code names, so a second use
    -- can revoke them all.
    grant_id TEXT NOT NULL
);

CREATE TABLE consents (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    realm_id TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

ALTER TABLE refresh_families ADD COLUMN session_id TEXT;
CREATE INDEX refresh_families_by_session ON refresh_families (session_id);
