-- Support Fusion, SQLite schema version 10: webhooks. Each organisation's registration of its
-- tenant's webhooks (one per organisation and server; the callout key as AEAD ciphertext only)
-- and the queue of the events they delivered, deduplicated by webhook and sequence number.
--
-- Conventions as in version 6: ids are UUID text, timestamps fixed-width UTC text.
CREATE TABLE webhook_registrations (
    id                  TEXT PRIMARY KEY NOT NULL,
    org_id              TEXT NOT NULL UNIQUE REFERENCES organisations (id) ON DELETE CASCADE,
    -- active, inactive, not_permitted, failed
    state               TEXT NOT NULL,
    detail              TEXT NULL,
    callout_url         TEXT NOT NULL,
    tenant              TEXT NOT NULL,
    -- Separated by newlines.
    platform_ids        TEXT NOT NULL,
    guids               TEXT NOT NULL,
    secret_ciphertext   BLOB NULL,
    created_at          TEXT NOT NULL,
    checked_at          TEXT NULL,
    unhealthy_since     TEXT NULL
);

-- One row per verified callout. A replay (same webhook, Guid and sequence number) is refused by
-- the unique index. Waiting while done_at is NULL; claimed until claimed_until.
CREATE TABLE webhook_events (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    registration_id   TEXT NOT NULL REFERENCES webhook_registrations (id) ON DELETE CASCADE,
    guid              TEXT NOT NULL,
    sequence_number   INTEGER NOT NULL,
    entity            TEXT NOT NULL,
    action            TEXT NOT NULL,
    ticket_id         TEXT NOT NULL,
    event_time        TEXT NOT NULL,
    received_at       TEXT NOT NULL,
    claimed_until     TEXT NULL,
    done_at           TEXT NULL,
    delay_ms          INTEGER NULL,
    UNIQUE (registration_id, guid, sequence_number)
);
CREATE INDEX webhook_events_waiting ON webhook_events (done_at, received_at);
CREATE INDEX webhook_events_by_registration ON webhook_events (registration_id, received_at);
