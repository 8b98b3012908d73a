-- Loading a realm lists its service-account users. Without this the
-- query read every user of the realm (LIKE cannot use the username index
-- in SQLite's default case-insensitive form, nor in PostgreSQL outside
-- the C locale): 1.2 s for a realm of 1,000,000 users. The index holds the
-- service accounts only, and the query repeats its condition word for word
-- (crate::storage::repo::users::SERVICE_ACCOUNT_CONDITION).
CREATE INDEX users_service_accounts ON users (realm_id) WHERE username LIKE 'service-account-%';
