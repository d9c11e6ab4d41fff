-- Support Fusion, SQLite schema version 10: time entries.
--
-- Attention items can concern one time entry (subject_kind 'time_entry', subject_item the
-- original entry's id): a note for a time entry the partner's Autotask refused. SQLite cannot
-- change a CHECK constraint, so the table is rebuilt with its rows. What a link carried of time
-- entries lives in its JSON document, which needs no change.

CREATE TABLE attention_items_v10 (
    relationship_id  TEXT NOT NULL REFERENCES relationships (id) ON DELETE CASCADE,
    origin           TEXT NOT NULL CHECK (origin IN ('source', 'target')),
    origin_ticket    TEXT NOT NULL,
    subject_kind     TEXT NOT NULL CHECK (subject_kind IN ('ticket', 'fields', 'field', 'comment', 'attachment', 'closure', 'time_entry')),
    -- The field name, or the original comment's, attachment's or time entry's id; '' for the others.
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
INSERT INTO attention_items_v10 SELECT relationship_id, origin, origin_ticket, subject_kind,
    subject_item, source_ticket, source_number, target_ticket, target_number, title, what, why,
    what_to_do, class, state, first_seen, last_seen, times, ticket_activity, retry_requested,
    skipped_by, resolved_at
FROM attention_items;
DROP TABLE attention_items;
ALTER TABLE attention_items_v10 RENAME TO attention_items;
CREATE INDEX attention_items_state ON attention_items (relationship_id, state, last_seen);
