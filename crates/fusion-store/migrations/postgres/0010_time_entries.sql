-- Support Fusion, PostgreSQL schema version 10: time entries.
--
-- Attention items can concern one time entry (subject_kind 'time_entry', subject_item the
-- original entry's id): a note for a time entry the partner's Autotask refused. What a link
-- carried of time entries lives in its JSON document, which needs no change.

ALTER TABLE attention_items DROP CONSTRAINT attention_items_subject_kind_check;
ALTER TABLE attention_items ADD CONSTRAINT attention_items_subject_kind_check
    CHECK (subject_kind IN ('ticket', 'fields', 'field', 'comment', 'attachment', 'closure', 'time_entry'));
