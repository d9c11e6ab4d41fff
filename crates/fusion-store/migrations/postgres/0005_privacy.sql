-- Support Fusion, PostgreSQL schema version 5: the privacy rule between relationships.
--
-- A relationship carries only tickets of its own company on each side: the company that represents
-- the partner in that side's tenant (`receive.company` of the side's configuration). There is no
-- "every company" setting any more, so:
-- 1. sync records can say a ticket was held back ('held': it moved to another company after it was
--    linked);
-- 2. configuration changes made on people's behalf are kept in an audit log;
-- 3. stored company filters that allowed other companies (reverse sync with no company, which meant
--    every company, or a filter naming another company) are set to the partner's company, with an
--    audit entry saying what changed.

ALTER TABLE sync_records DROP CONSTRAINT sync_records_outcome_check;
ALTER TABLE sync_records ADD CONSTRAINT sync_records_outcome_check
    CHECK (outcome IN ('created', 'updated', 'closed', 'failed', 'held'));

CREATE TABLE configuration_audit (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    relationship_id  UUID NOT NULL REFERENCES relationships (id) ON DELETE CASCADE,
    org_id           UUID NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    person_id        UUID NULL REFERENCES people (id) ON DELETE SET NULL,
    change           TEXT NOT NULL,
    changed_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX configuration_audit_scope ON configuration_audit (relationship_id, org_id, changed_at);

INSERT INTO configuration_audit (relationship_id, org_id, person_id, change, changed_at)
SELECT relationship_id, org_id, NULL,
       'Reverse sync now sends only tickets of the partner''s company'
       || CASE WHEN config::jsonb -> 'receive' ->> 'company' IS NULL THEN ' (none is chosen yet, so it sends nothing until one is)' ELSE ' (company ' || (config::jsonb -> 'receive' ->> 'company') || ')' END
       || '; it was set to '
       || CASE WHEN config::jsonb -> 'reverse_sync' ->> 'company' IS NULL THEN 'every company' ELSE 'company ' || (config::jsonb -> 'reverse_sync' ->> 'company') END
       || '. A relationship carries only its own company''s tickets.',
       now()
FROM integration_configs
WHERE (config::jsonb -> 'reverse_sync' ->> 'enabled') = 'true'
  AND (config::jsonb -> 'reverse_sync' ->> 'company') IS DISTINCT FROM (config::jsonb -> 'receive' ->> 'company');

INSERT INTO configuration_audit (relationship_id, org_id, person_id, change, changed_at)
SELECT relationship_id, org_id, NULL,
       'The send filter''s company was company ' || (config::jsonb -> 'send' ->> 'partner_company')
       || '; tickets are now sent only for the partner''s company'
       || CASE WHEN config::jsonb -> 'receive' ->> 'company' IS NULL THEN ' (none is chosen yet)' ELSE ' (company ' || (config::jsonb -> 'receive' ->> 'company') || ')' END
       || '. A relationship carries only its own company''s tickets.',
       now()
FROM integration_configs
WHERE (config::jsonb -> 'send' ->> 'partner_company') IS NOT NULL
  AND (config::jsonb -> 'send' ->> 'partner_company') IS DISTINCT FROM (config::jsonb -> 'receive' ->> 'company');

UPDATE integration_configs
SET config = (
        jsonb_set(
            jsonb_set(
                jsonb_set(config::jsonb, '{reverse_sync}', COALESCE(config::jsonb -> 'reverse_sync', '{}'::jsonb)),
                '{reverse_sync,company}', COALESCE(config::jsonb -> 'receive' -> 'company', 'null'::jsonb)),
            '{send}', COALESCE(config::jsonb -> 'send', '{}'::jsonb) || jsonb_build_object('partner_company', COALESCE(config::jsonb -> 'receive' -> 'company', 'null'::jsonb)))
    )::text
WHERE (config::jsonb -> 'reverse_sync' ->> 'company') IS DISTINCT FROM (config::jsonb -> 'receive' ->> 'company')
   OR (config::jsonb -> 'send' ->> 'partner_company') IS DISTINCT FROM (config::jsonb -> 'receive' ->> 'company');
