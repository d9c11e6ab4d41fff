-- Support Fusion, PostgreSQL schema version 7: tickets that cannot sync, and per-ticket repair.
--
-- 1. attention_items: one row per failure of one ticket (or one of its fields, comments or
--    attachments) in one relationship, kept instead of reporting the same failure every run;
-- 2. sync records can say a ticket was skipped (and why) and carry the original ticket's title;
-- 3. ticket links carry the original ticket's title, for the Tickets page and its search;
-- 4. runs say who started them, whether they were a repair of one ticket, and how many tickets
--    needed attention when they ended.

CREATE TABLE attention_items (
    relationship_id  UUID NOT NULL REFERENCES relationships (id) ON DELETE CASCADE,
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
    first_seen       TIMESTAMPTZ NOT NULL,
    last_seen        TIMESTAMPTZ NOT NULL,
    times            BIGINT NOT NULL,
    ticket_activity  TIMESTAMPTZ NULL,
    retry_requested  BOOLEAN NOT NULL DEFAULT FALSE,
    skipped_by       TEXT NULL,
    resolved_at      TIMESTAMPTZ NULL,
    PRIMARY KEY (relationship_id, origin, origin_ticket, subject_kind, subject_item)
);
CREATE INDEX attention_items_state ON attention_items (relationship_id, state, last_seen);

ALTER TABLE sync_records DROP CONSTRAINT sync_records_outcome_check;
ALTER TABLE sync_records ADD CONSTRAINT sync_records_outcome_check
    CHECK (outcome IN ('created', 'updated', 'closed', 'failed', 'held', 'skipped'));
ALTER TABLE sync_records ADD COLUMN title TEXT NOT NULL DEFAULT '';

ALTER TABLE ticket_links ADD COLUMN title TEXT NOT NULL DEFAULT '';

ALTER TABLE sync_runs ADD COLUMN started_by TEXT NULL;
-- 'repair' for a person's repair of one ticket (run_trigger is then 'manual').
ALTER TABLE sync_runs ADD COLUMN trigger_detail TEXT NULL;
ALTER TABLE sync_runs ADD COLUMN attention_count BIGINT NOT NULL DEFAULT 0;
