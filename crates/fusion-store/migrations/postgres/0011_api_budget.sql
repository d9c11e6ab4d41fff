-- Support Fusion, PostgreSQL schema version 11: the API budget. Requests counted per platform
-- database, per connection ('' for the server's own work: connection tests, choices, webhooks)
-- and per minute by every process sharing the database (each adds with one upsert); each
-- database's share of the platform's hourly limit where an organisation set one; and the manual
-- runs waiting for budget.
CREATE TABLE api_usage (
    database_key      TEXT NOT NULL,
    relationship_id   TEXT NOT NULL,
    minute            TIMESTAMPTZ NOT NULL,
    requests          BIGINT NOT NULL CHECK (requests >= 0),
    PRIMARY KEY (database_key, relationship_id, minute)
);
CREATE INDEX api_usage_minute ON api_usage (minute);

CREATE TABLE api_shares (
    database_key   TEXT PRIMARY KEY,
    percent        INTEGER NOT NULL CHECK (percent BETWEEN 1 AND 100)
);

CREATE TABLE deferred_runs (
    relationship_id   UUID PRIMARY KEY REFERENCES relationships (id) ON DELETE CASCADE,
    since             TIMESTAMPTZ NOT NULL,
    started_by        TEXT NULL,
    deferred_at       TIMESTAMPTZ NOT NULL,
    resume_at         TIMESTAMPTZ NOT NULL
);
