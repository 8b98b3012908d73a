-- The device authorization grant (RFC 8628) and brute-force counters.

CREATE TABLE device_codes (
    device_code_hash TEXT PRIMARY KEY,
    -- Normalised: 8 letters of BCDFGHJKLMNPQRSTVWXZ, no dash.
    user_code TEXT NOT NULL UNIQUE,
    realm_id TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    poll_interval BIGINT NOT NULL,
    last_polled_at BIGINT,
    -- pending | approved | denied | consumed
    status TEXT NOT NULL,
    user_id TEXT,
    auth_time BIGINT,
    granted_scope TEXT
);

CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL
);
