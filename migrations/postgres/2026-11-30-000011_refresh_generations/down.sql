ALTER TABLE refresh_families DROP COLUMN successor;
ALTER TABLE refresh_families DROP COLUMN token_expires_at;
ALTER TABLE refresh_families DROP COLUMN token_issued_at;
ALTER TABLE refresh_families DROP COLUMN generation;
