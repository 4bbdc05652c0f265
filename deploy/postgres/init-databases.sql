-- Runs once, when the postgres container initialises an empty data directory
-- (/docker-entrypoint-initdb.d). One database per service; cvms-migrate creates the tables.
--
-- Before the identity service, the gateway owned a database cvms_gateway (users, organizations,
-- locations, refresh tokens, enrollments, password links, API keys, audit log). Identity's
-- tables and Alembic revisions are the same, so an existing volume keeps its data by renaming
-- it, with the gateway stopped, then the gateway relay stopped once it has drained the outbox
-- (no connection may be open to the database):
--   ALTER DATABASE cvms_gateway RENAME TO cvms_identity;
-- then run `cvms-migrate identity` and start identity, identity-relay and the gateway
-- (deploy/README.md; docs/operations.md, "Upgrading to the identity service").
--
-- A data directory initialised before the notifications service lacks its database, and this
-- script does not run again; create it once, before `cvms-migrate notifications`:
--   CREATE DATABASE cvms_notifications;
-- and likewise, before the marketplace service, `CREATE DATABASE cvms_marketplace;`.
CREATE DATABASE cvms_marketplace;
CREATE DATABASE cvms_inventory;
CREATE DATABASE cvms_administration;
CREATE DATABASE cvms_scheduling;
CREATE DATABASE cvms_identity;
CREATE DATABASE cvms_notifications;
-- The help desk's (issue 15); an older data directory creates it once, before
-- `cvms-migrate helpdesk`.
CREATE DATABASE cvms_helpdesk;
