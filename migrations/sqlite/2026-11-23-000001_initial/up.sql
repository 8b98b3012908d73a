-- The change epoch: every write that a cache may hold bumps it in the same
-- transaction and logs the realm it touched, so every process can invalidate.
CREATE TABLE meta (
    id INTEGER PRIMARY KEY,
    epoch BIGINT NOT NULL,
    secret_key_check BLOB
);
INSERT INTO meta (id, epoch) VALUES (1, 0);

CREATE TABLE change_log (
    epoch BIGINT PRIMARY KEY,
    realm_name TEXT NOT NULL,
    changed_at BIGINT NOT NULL
);

CREATE TABLE realms (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    access_token_lifetime BIGINT NOT NULL,
    id_token_lifetime BIGINT NOT NULL,
    refresh_token_lifetime BIGINT NOT NULL,
    auth_code_lifetime BIGINT NOT NULL,
    device_code_lifetime BIGINT NOT NULL,
    device_poll_interval BIGINT NOT NULL,
    sso_session_idle BIGINT NOT NULL,
    sso_session_max BIGINT NOT NULL,
    signing_algorithm TEXT NOT NULL,
    refresh_token_rotation BOOLEAN NOT NULL,
    refresh_token_reuse_grace BIGINT NOT NULL,
    query_tokens BOOLEAN NOT NULL,
    basic_auth BOOLEAN NOT NULL,
    attributes TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE scopes (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    implies TEXT NOT NULL,
    UNIQUE (realm_id, name)
);

CREATE TABLE roles (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    scopes TEXT NOT NULL,
    UNIQUE (realm_id, name)
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    email TEXT,
    email_verified BOOLEAN NOT NULL,
    given_name TEXT,
    family_name TEXT,
    password_hash TEXT,
    enabled BOOLEAN NOT NULL,
    admin_roles TEXT NOT NULL,
    attributes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (realm_id, username)
);
CREATE INDEX users_by_email ON users (realm_id, email);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_by_role ON user_roles (role_id);

CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    name TEXT NOT NULL,
    secret_ciphertext BLOB,
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    grant_types TEXT NOT NULL,
    scopes TEXT NOT NULL,
    consent_required BOOLEAN NOT NULL,
    enabled BOOLEAN NOT NULL,
    attributes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (realm_id, client_id)
);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    algorithm TEXT NOT NULL,
    private_key_ciphertext BLOB NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- NULL while active; set when a newer key takes over.
    retired_at BIGINT,
    -- Retired keys stay in the JWKS until every token they signed expired.
    publish_until BIGINT
);
CREATE INDEX signing_keys_by_realm ON signing_keys (realm_id);

-- One family per original grant; every rotated refresh token belongs to it.
CREATE TABLE refresh_families (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    offline BOOLEAN NOT NULL,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX refresh_families_by_user ON refresh_families (user_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    spent_at BIGINT,
    -- The response that replaced this token, sealed with the secret key, kept
    -- only while a replay within the realm's reuse grace may ask for it again.
    successor BLOB
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);

-- Revoked access-token ids (a jti, or a refresh family id that every access
-- token of that family names), kept until the tokens would have expired.
CREATE TABLE revoked_tokens (
    jti TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);
