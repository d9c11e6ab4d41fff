-- Support Fusion, PostgreSQL schema version 6: one stored form per kind of value, so that each
-- query is written once for both backends.
--
-- The automatic-sync interval becomes BIGINT like every other number the store keeps, so both
-- backends read it as a 64-bit integer. (SQLite's version 6 makes its timestamp text fixed-width;
-- TIMESTAMPTZ needs nothing.)

ALTER TABLE sync_schedules ALTER COLUMN interval_seconds TYPE BIGINT;
