-- Support Fusion, PostgreSQL schema version 4: automatic sync per relationship (on/off and
-- interval). A relationship without a row is switched off with the default interval.
CREATE TABLE sync_schedules (
    relationship_id   UUID PRIMARY KEY REFERENCES relationships (id) ON DELETE CASCADE,
    automatic         BOOLEAN NOT NULL,
    interval_seconds  INTEGER NOT NULL CHECK (interval_seconds BETWEEN 60 AND 86400),
    updated_at        TIMESTAMPTZ NOT NULL
);

CREATE INDEX sync_schedules_automatic ON sync_schedules (automatic) WHERE automatic;
