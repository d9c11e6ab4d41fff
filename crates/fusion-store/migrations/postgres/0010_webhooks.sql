-- Support Fusion, PostgreSQL schema version 10: webhooks. Each organisation's registration of
-- its tenant's webhooks (one per organisation and server; the callout key as AEAD ciphertext
-- only) and the queue of the events they delivered, deduplicated by webhook and sequence number,
-- which every process sharing the database can receive into and claim from.
CREATE TABLE webhook_registrations (
    id                  UUID PRIMARY KEY,
    org_id              UUID NOT NULL UNIQUE REFERENCES organisations (id) ON DELETE CASCADE,
    -- active, inactive, not_permitted, failed
    state               TEXT NOT NULL,
    detail              TEXT NULL,
    callout_url         TEXT NOT NULL,
    tenant              TEXT NOT NULL,
    -- Separated by newlines.
    platform_ids        TEXT NOT NULL,
    guids               TEXT NOT NULL,
    secret_ciphertext   BYTEA NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    checked_at          TIMESTAMPTZ NULL,
    unhealthy_since     TIMESTAMPTZ NULL
);

-- One row per verified callout. A replay (same webhook, Guid and sequence number) is refused by
-- the unique constraint. Waiting while done_at is NULL; claimed until claimed_until (one UPDATE
-- claims, so each event goes to one process).
CREATE TABLE webhook_events (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    registration_id   UUID NOT NULL REFERENCES webhook_registrations (id) ON DELETE CASCADE,
    guid              TEXT NOT NULL,
    sequence_number   BIGINT NOT NULL,
    entity            TEXT NOT NULL,
    action            TEXT NOT NULL,
    ticket_id         TEXT NOT NULL,
    event_time        TIMESTAMPTZ NOT NULL,
    received_at       TIMESTAMPTZ NOT NULL,
    claimed_until     TIMESTAMPTZ NULL,
    done_at           TIMESTAMPTZ NULL,
    delay_ms          BIGINT NULL,
    UNIQUE (registration_id, guid, sequence_number)
);
CREATE INDEX webhook_events_waiting ON webhook_events (done_at, received_at);
CREATE INDEX webhook_events_by_registration ON webhook_events (registration_id, received_at);
