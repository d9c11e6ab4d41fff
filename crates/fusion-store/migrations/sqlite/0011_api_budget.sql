-- Support Fusion, SQLite schema version 11: the API budget. Requests counted per platform
-- database, per connection ('' for the server's own work: connection tests, choices, webhooks)
-- and per minute by every process sharing the database; each database's share of the platform's
-- hourly limit where an organisation set one; and the manual runs waiting for budget.
--
-- Conventions as in version 6: ids are UUID text, timestamps fixed-width UTC text.
CREATE TABLE api_usage (
    database_key      TEXT NOT NULL,
    relationship_id   TEXT NOT NULL,
    minute            TEXT NOT NULL,
    requests          INTEGER NOT NULL CHECK (requests >= 0),
    PRIMARY KEY (database_key, relationship_id, minute)
);
CREATE INDEX api_usage_minute ON api_usage (minute);

CREATE TABLE api_shares (
    database_key   TEXT PRIMARY KEY NOT NULL,
    percent        INTEGER NOT NULL CHECK (percent BETWEEN 1 AND 100)
);

CREATE TABLE deferred_runs (
    relationship_id   TEXT PRIMARY KEY NOT NULL REFERENCES relationships (id) ON DELETE CASCADE,
    since             TEXT NOT NULL,
    started_by        TEXT NULL,
    deferred_at       TEXT NOT NULL,
    resume_at         TEXT NOT NULL
);
