-- The API's login role: a member of register_app (migration 0003), so it may read and append to the
-- audit trail but never change or delete a row of it; the migrations keep running as the owner.
-- Run after `register db upgrade` (which creates register_app), as the owner, with the password in
-- the psql variable pw:  psql -v ON_ERROR_STOP=1 -v pw="$REGISTER_API_DB_PASSWORD" -f api-role.sql
-- Idempotent: every `docker compose up` runs it, so the password follows the environment.
SELECT 'CREATE ROLE register_api LOGIN'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'register_api') \gexec
ALTER ROLE register_api WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'pw';
GRANT register_app TO register_api;
-- Every session of the login role runs with register_app's privileges, not its own.
ALTER ROLE register_api SET role = 'register_app';
