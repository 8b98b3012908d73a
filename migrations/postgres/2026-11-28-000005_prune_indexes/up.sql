-- The pruning job deletes by expiry every minute; without these it scans
-- whole tables, which at millions of issued tokens holds the writer for long.
CREATE INDEX refresh_families_by_expiry ON refresh_families (expires_at);
CREATE INDEX refresh_families_by_revocation ON refresh_families (revoked_at);
CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires_at);
CREATE INDEX auth_codes_by_expiry ON auth_codes (expires_at);
CREATE INDEX sso_sessions_by_last_seen ON sso_sessions (last_seen_at);
CREATE INDEX device_codes_by_expiry ON device_codes (expires_at);
CREATE INDEX rate_limits_by_window ON rate_limits (window_start);
