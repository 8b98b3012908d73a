-- The address a session was started from (Keycloak's `ipAddress` of a
-- user session), for browser sessions and for the sessions of grants made
-- without a browser. NULL for those started before this migration.
ALTER TABLE sso_sessions ADD COLUMN ip_address TEXT;
ALTER TABLE refresh_families ADD COLUMN ip_address TEXT;
