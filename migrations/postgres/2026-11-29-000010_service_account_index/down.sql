DROP INDEX users_service_accounts;
