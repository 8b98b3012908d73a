DROP INDEX refresh_families_by_session;
ALTER TABLE refresh_families DROP COLUMN session_id;
DROP TABLE consents;
DROP TABLE auth_codes;
DROP TABLE sso_sessions;
