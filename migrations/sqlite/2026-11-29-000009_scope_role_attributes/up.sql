-- What a client scope's or a realm role's representation carries beyond
-- realmgate's model (Keycloak attributes such as consent.screen.text or
-- gui.order, protocolMappers), kept and returned so that declarative tools
-- see no endless differences. A JSON object.
ALTER TABLE scopes ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
ALTER TABLE roles ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
