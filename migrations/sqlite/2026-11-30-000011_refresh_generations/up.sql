-- A family's refresh tokens as numbered generations instead of a row per
-- token: the token names its family and generation and carries an HMAC of
-- both (the MAC key is derived from the server's secret key), so a rotation
-- rewrites this one row instead of adding one, and the table no longer
-- grows with every rotation of a family that stays in use. A NULL
-- generation marks a family from before, whose tokens are rows of
-- refresh_tokens; its next rotation moves it to generations.
ALTER TABLE refresh_families ADD COLUMN generation BIGINT;
-- When the current generation was issued (the previous one spent) and until when it is valid.
ALTER TABLE refresh_families ADD COLUMN token_issued_at BIGINT;
ALTER TABLE refresh_families ADD COLUMN token_expires_at BIGINT;
-- The answer that replaced the previous generation, sealed with the secret
-- key, kept only while a replay within the realm's reuse grace may ask for it.
ALTER TABLE refresh_families ADD COLUMN successor BLOB;
