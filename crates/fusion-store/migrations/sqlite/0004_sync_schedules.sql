-- Support Fusion, SQLite schema version 4: automatic sync per relationship (on/off and interval).
-- A relationship without a row is switched off with the default interval.
CREATE TABLE sync_schedules (
    relationship_id   TEXT PRIMARY KEY REFERENCES relationships (id) ON DELETE CASCADE,
    automatic         INTEGER NOT NULL CHECK (automatic IN (0, 1)),
    interval_seconds  INTEGER NOT NULL CHECK (interval_seconds BETWEEN 60 AND 86400),
    -- Fixed-width UTC text, as in version 3.
    updated_at        TEXT NOT NULL
);

CREATE INDEX sync_schedules_automatic ON sync_schedules (automatic) WHERE automatic = 1;
