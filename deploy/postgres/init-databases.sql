-- Runs once, when the postgres container initialises an empty data directory
-- (/docker-entrypoint-initdb.d). One database per service; cvms-migrate creates the tables.
CREATE DATABASE cvms_inventory;
CREATE DATABASE cvms_administration;
CREATE DATABASE cvms_scheduling;
CREATE DATABASE cvms_gateway;
