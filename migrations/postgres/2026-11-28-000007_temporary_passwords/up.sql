-- A password an administrator set as temporary: the user must choose a new
-- one at the next sign-in (Keycloak's UPDATE_PASSWORD required action).
ALTER TABLE users ADD COLUMN password_temporary BOOLEAN NOT NULL DEFAULT FALSE;
