-- Support Fusion, PostgreSQL schema version 3: ticket synchronisation — ticket links, pending
-- creates, per-side cursors, sync runs with their per-ticket records, pending retries, and leases.
--
-- Conventions as in version 1. Fingerprints, copied comments and attachments are JSON text
-- written by the store's row types (TEXT, not JSONB: nothing queries inside the documents).

-- Source ticket <-> target ticket. A ticket is linked at most once per relationship on each side.
CREATE TABLE ticket_links (
    relationship_id  UUID NOT NULL REFERENCES relationships (id) ON DELETE CASCADE,
    source_ticket    TEXT NOT NULL,
    target_ticket    TEXT NOT NULL,
    source_number    TEXT NOT NULL,
    target_number    TEXT NOT NULL,
    origin           TEXT NOT NULL CHECK (origin IN ('source', 'target')),
    -- Field fingerprints of both sides, copied comments and attachments, closed flags.
    document         TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (relationship_id, source_ticket),
    UNIQUE (relationship_id, target_ticket)
);

-- Creates sent (or about to be sent) whose link is not saved yet.
CREATE TABLE pending_creates (
    relationship_id  UUID NOT NULL REFERENCES relationships (id) ON DELETE CASCADE,
    origin           TEXT NOT NULL CHECK (origin IN ('source', 'target')),
    origin_ticket    TEXT NOT NULL,
    marker           TEXT NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (relationship_id, origin, origin_ticket)
);

CREATE TABLE sync_cursors (
    relationship_id   UUID NOT NULL REFERENCES relationships (id) ON DELETE CASCADE,
    side              TEXT NOT NULL CHECK (side IN ('source', 'target')),
    last_activity_at  TIMESTAMPTZ NOT NULL,
    last_id           TEXT NULL,
    PRIMARY KEY (relationship_id, side)
);

CREATE TABLE sync_runs (
    id               UUID PRIMARY KEY,
    relationship_id  UUID NOT NULL REFERENCES relationships (id) ON DELETE CASCADE,
    run_trigger      TEXT NOT NULL CHECK (run_trigger IN ('manual', 'automatic')),
    since            TIMESTAMPTZ NULL,
    status           TEXT NOT NULL CHECK (status IN ('running', 'success', 'partial', 'failed', 'no_tickets_found')),
    created_count    BIGINT NOT NULL DEFAULT 0,
    updated_count    BIGINT NOT NULL DEFAULT 0,
    closed_count     BIGINT NOT NULL DEFAULT 0,
    failed_count     BIGINT NOT NULL DEFAULT 0,
    skipped_count    BIGINT NOT NULL DEFAULT 0,
    conflict_count   BIGINT NOT NULL DEFAULT 0,
    started_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ NULL,
    calls_used       BIGINT NOT NULL DEFAULT 0,
    error            TEXT NULL,
    -- Lets a record name its run and relationship together (sync_records' foreign key).
    UNIQUE (id, relationship_id)
);
CREATE INDEX sync_runs_relationship_started ON sync_runs (relationship_id, started_at);
CREATE INDEX sync_runs_status_started ON sync_runs (status, started_at);
CREATE INDEX sync_runs_started ON sync_runs (started_at);
-- Retention deletes by finish time.
CREATE INDEX sync_runs_finished ON sync_runs (finished_at);

CREATE TABLE sync_records (
    -- Insertion order, which is the order a run's records are shown in.
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id              UUID NOT NULL,
    relationship_id     UUID NOT NULL,
    origin              TEXT NOT NULL CHECK (origin IN ('source', 'target')),
    source_ticket       TEXT NULL,
    source_number       TEXT NULL,
    target_ticket       TEXT NULL,
    target_number       TEXT NULL,
    outcome             TEXT NOT NULL CHECK (outcome IN ('created', 'updated', 'closed', 'failed')),
    error               TEXT NULL,
    failed_comments     BIGINT NOT NULL DEFAULT 0,
    failed_attachments  BIGINT NOT NULL DEFAULT 0,
    -- JSON array of sentences (conflicts, field failures).
    notes               TEXT NOT NULL,
    recorded_at         TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (run_id, relationship_id) REFERENCES sync_runs (id, relationship_id) ON DELETE CASCADE
);
CREATE INDEX sync_records_run ON sync_records (run_id, id);

-- Tickets whose latest record is Failed, kept up to date as records are added (so retention,
-- which deletes old runs and their records, never forgets a ticket still to retry).
-- ticket_key is 's:' || source ticket when the record named one, else 't:' || target ticket.
CREATE TABLE sync_retries (
    relationship_id  UUID NOT NULL REFERENCES relationships (id) ON DELETE CASCADE,
    ticket_key       TEXT NOT NULL,
    source_ticket    TEXT NULL,
    target_ticket    TEXT NULL,
    attempts         BIGINT NOT NULL,
    -- The run of the latest failure (for people reading the database; history links to it).
    last_run_id      UUID NOT NULL,
    last_error       TEXT NULL,
    last_failed_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (relationship_id, ticket_key)
);
CREATE INDEX sync_retries_order ON sync_retries (relationship_id, last_failed_at);

-- One holder per key at a time: 'relationship:<uuid>' or 'database:<platform database key>'.
CREATE TABLE leases (
    lease_key   TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    -- Random per claim; renew and release must present it.
    token       TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
