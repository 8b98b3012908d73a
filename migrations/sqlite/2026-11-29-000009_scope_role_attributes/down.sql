ALTER TABLE roles DROP COLUMN attributes;
ALTER TABLE scopes DROP COLUMN attributes;
