DROP INDEX rate_limits_by_window;
DROP INDEX device_codes_by_expiry;
DROP INDEX sso_sessions_by_last_seen;
DROP INDEX auth_codes_by_expiry;
DROP INDEX revoked_tokens_by_expiry;
DROP INDEX refresh_families_by_revocation;
DROP INDEX refresh_families_by_expiry;
