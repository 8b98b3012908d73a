-- E-mail addresses are stored lower-case, as Keycloak stores them, so that
-- the index on (realm_id, email) serves case-insensitive lookups: signing in
-- by e-mail and refusing a second user with the same address.
UPDATE users SET email = lower(email) WHERE email <> lower(email);
