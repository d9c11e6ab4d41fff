-- Support Fusion, SQLite schema version 7: tickets that cannot sync, and per-ticket repair.
--
-- 1. attention_items: one row per failure of one ticket (or one of its fields, comments or
--    attachments) in one relationship, kept instead of reporting the same failure every run;
-- 2. sync records can say a ticket was skipped (and why) and carry the original ticket's title;
--    SQLite cannot change a CHECK constraint, so the table is rebuilt with its rows;
-- 3. ticket links carry the original ticket's title, for the Tickets page and its search;
-- 4. runs say who started them, whether they were a repair of one ticket, and how many tickets
--    needed attention when they ended.
-- Timestamps are fixed-width UTC text as everywhere else.

CREATE TABLE attention_items (
    relationship_id  TEXT NOT NULL REFERENCES relationships (id) ON DELETE CASCADE,
    origin           TEXT NOT NULL CHECK (origin IN ('source', 'target')),
    origin_ticket    TEXT NOT NULL,
    subject_kind     TEXT NOT NULL CHECK (subject_kind IN ('ticket', 'fields', 'field', 'comment', 'attachment', 'closure')),
    -- The field name, or the original comment's or attachment's id; '' for the others.
    subject_item     TEXT NOT NULL,
    source_ticket    TEXT NULL,
    source_number    TEXT NULL,
    target_ticket    TEXT NULL,
    target_number    TEXT NULL,
    title            TEXT NOT NULL,
    what             TEXT NOT NULL,
    why              TEXT NOT NULL,
    what_to_do       TEXT NOT NULL,
    class            TEXT NOT NULL CHECK (class IN ('transient', 'permanent')),
    state            TEXT NOT NULL CHECK (state IN ('open', 'skipped', 'resolved')),
    first_seen       TEXT NOT NULL,
    last_seen        TEXT NOT NULL,
    times            BIGINT NOT NULL,
    ticket_activity  TEXT NULL,
    retry_requested  BOOLEAN NOT NULL DEFAULT FALSE,
    skipped_by       TEXT NULL,
    resolved_at      TEXT NULL,
    PRIMARY KEY (relationship_id, origin, origin_ticket, subject_kind, subject_item)
);
CREATE INDEX attention_items_state ON attention_items (relationship_id, state, last_seen);

CREATE TABLE sync_records_v7 (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id              TEXT NOT NULL,
    relationship_id     TEXT NOT NULL,
    origin              TEXT NOT NULL CHECK (origin IN ('source', 'target')),
    source_ticket       TEXT NULL,
    source_number       TEXT NULL,
    target_ticket       TEXT NULL,
    target_number       TEXT NULL,
    outcome             TEXT NOT NULL CHECK (outcome IN ('created', 'updated', 'closed', 'failed', 'held', 'skipped')),
    error               TEXT NULL,
    failed_comments     INTEGER NOT NULL DEFAULT 0,
    failed_attachments  INTEGER NOT NULL DEFAULT 0,
    notes               TEXT NOT NULL,
    recorded_at         TEXT NOT NULL,
    title               TEXT NOT NULL DEFAULT '',
    FOREIGN KEY (run_id, relationship_id) REFERENCES sync_runs (id, relationship_id) ON DELETE CASCADE
);
INSERT INTO sync_records_v7 (id, run_id, relationship_id, origin, source_ticket, source_number,
    target_ticket, target_number, outcome, error, failed_comments, failed_attachments, notes,
    recorded_at)
SELECT id, run_id, relationship_id, origin, source_ticket, source_number, target_ticket,
    target_number, outcome, error, failed_comments, failed_attachments, notes, recorded_at
FROM sync_records;
DROP TABLE sync_records;
ALTER TABLE sync_records_v7 RENAME TO sync_records;
CREATE INDEX sync_records_run ON sync_records (run_id, id);

ALTER TABLE ticket_links ADD COLUMN title TEXT NOT NULL DEFAULT '';

ALTER TABLE sync_runs ADD COLUMN started_by TEXT NULL;
-- 'repair' for a person's repair of one ticket (run_trigger is then 'manual').
ALTER TABLE sync_runs ADD COLUMN trigger_detail TEXT NULL;
ALTER TABLE sync_runs ADD COLUMN attention_count BIGINT NOT NULL DEFAULT 0;
