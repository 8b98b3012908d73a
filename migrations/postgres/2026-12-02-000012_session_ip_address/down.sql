ALTER TABLE refresh_families DROP COLUMN ip_address;
ALTER TABLE sso_sessions DROP COLUMN ip_address;
