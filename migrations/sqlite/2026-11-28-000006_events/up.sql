-- The audit log (SPEC §6 events / admin-events), pruned after a retention.
-- Times are milliseconds, as Keycloak's representations carry them.
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL REFERENCES realms (id) ON DELETE CASCADE,
    time BIGINT NOT NULL,
    type TEXT NOT NULL,
    client_id TEXT,
    user_id TEXT,
    session_id TEXT,
    ip_address TEXT,
    error TEXT,
    details TEXT NOT NULL
);
CREATE INDEX events_by_realm_time ON events (realm_id, time);
CREATE INDEX events_by_time ON events (time);

-- No foreign key: deleting a realm is itself an admin event worth keeping.
CREATE TABLE admin_events (
    id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL,
    time BIGINT NOT NULL,
    operation_type TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_path TEXT NOT NULL,
    auth_realm_id TEXT NOT NULL,
    auth_client_id TEXT NOT NULL,
    auth_user_id TEXT NOT NULL,
    ip_address TEXT
);
CREATE INDEX admin_events_by_realm_time ON admin_events (realm_id, time);
CREATE INDEX admin_events_by_time ON admin_events (time);
