-- Support Fusion, SQLite schema version 5: the privacy rule between relationships.
--
-- A relationship carries only tickets of its own company on each side: the company that represents
-- the partner in that side's tenant (`receive.company` of the side's configuration). There is no
-- "every company" setting any more, so:
-- 1. sync records can say a ticket was held back ('held': it moved to another company after it was
--    linked) — SQLite cannot change a CHECK constraint, so the table is rebuilt with its rows;
-- 2. configuration changes made on people's behalf are kept in an audit log;
-- 3. stored company filters that allowed other companies (reverse sync with no company, which meant
--    every company, or a filter naming another company) are set to the partner's company, with an
--    audit entry saying what changed.

CREATE TABLE sync_records_v5 (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id              TEXT NOT NULL,
    relationship_id     TEXT NOT NULL,
    origin              TEXT NOT NULL CHECK (origin IN ('source', 'target')),
    source_ticket       TEXT NULL,
    source_number       TEXT NULL,
    target_ticket       TEXT NULL,
    target_number       TEXT NULL,
    outcome             TEXT NOT NULL CHECK (outcome IN ('created', 'updated', 'closed', 'failed', 'held')),
    error               TEXT NULL,
    failed_comments     INTEGER NOT NULL DEFAULT 0,
    failed_attachments  INTEGER NOT NULL DEFAULT 0,
    notes               TEXT NOT NULL,
    recorded_at         TEXT NOT NULL,
    FOREIGN KEY (run_id, relationship_id) REFERENCES sync_runs (id, relationship_id) ON DELETE CASCADE
);
INSERT INTO sync_records_v5 SELECT * FROM sync_records;
DROP TABLE sync_records;
ALTER TABLE sync_records_v5 RENAME TO sync_records;
CREATE INDEX sync_records_run ON sync_records (run_id, id);

-- Changes to a relationship's configuration made by Support Fusion itself (person_id NULL) or by a
-- person; `change` is one sentence for people.
CREATE TABLE configuration_audit (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    relationship_id  TEXT NOT NULL REFERENCES relationships (id) ON DELETE CASCADE,
    org_id           TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    person_id        TEXT NULL REFERENCES people (id) ON DELETE SET NULL,
    change           TEXT NOT NULL,
    changed_at       TEXT NOT NULL
);
CREATE INDEX configuration_audit_scope ON configuration_audit (relationship_id, org_id, changed_at);

INSERT INTO configuration_audit (relationship_id, org_id, person_id, change, changed_at)
SELECT relationship_id, org_id, NULL,
       'Reverse sync now sends only tickets of the partner''s company'
       || CASE WHEN json_extract(config, '$.receive.company') IS NULL THEN ' (none is chosen yet, so it sends nothing until one is)' ELSE ' (company ' || json_extract(config, '$.receive.company') || ')' END
       || '; it was set to '
       || CASE WHEN json_extract(config, '$.reverse_sync.company') IS NULL THEN 'every company' ELSE 'company ' || json_extract(config, '$.reverse_sync.company') END
       || '. A relationship carries only its own company''s tickets.',
       strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'
FROM integration_configs
WHERE json_extract(config, '$.reverse_sync.enabled') = 1
  AND json_extract(config, '$.reverse_sync.company') IS NOT json_extract(config, '$.receive.company');

INSERT INTO configuration_audit (relationship_id, org_id, person_id, change, changed_at)
SELECT relationship_id, org_id, NULL,
       'The send filter''s company was company ' || json_extract(config, '$.send.partner_company')
       || '; tickets are now sent only for the partner''s company'
       || CASE WHEN json_extract(config, '$.receive.company') IS NULL THEN ' (none is chosen yet)' ELSE ' (company ' || json_extract(config, '$.receive.company') || ')' END
       || '. A relationship carries only its own company''s tickets.',
       strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z'
FROM integration_configs
WHERE json_extract(config, '$.send.partner_company') IS NOT NULL
  AND json_extract(config, '$.send.partner_company') IS NOT json_extract(config, '$.receive.company');

UPDATE integration_configs
SET config = json_set(
        config,
        '$.reverse_sync.company', json_extract(config, '$.receive.company'),
        '$.send.partner_company', json_extract(config, '$.receive.company'))
WHERE json_extract(config, '$.reverse_sync.company') IS NOT json_extract(config, '$.receive.company')
   OR json_extract(config, '$.send.partner_company') IS NOT json_extract(config, '$.receive.company');
