-- Support Fusion, SQLite schema version 6: one stored form per kind of value, so that each query is
-- written once for both backends.
--
-- Every timestamp is now fixed-width UTC text, 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (always six
-- fractional digits), as the sync tables (version 3) already had it: comparing and ordering the
-- text is comparing and ordering the times, with no date function in the SQL. The tables of
-- versions 1 and 2 held RFC 3339 text with as many fractional digits as needed ('…:57Z',
-- '…:57.1Z'); their values are rewritten here. Every time written before was UTC ('Z'); anything
-- else is converted through SQLite's date functions (to the millisecond). Applied to a value that
-- is already fixed-width, the rewrite gives the value back.
--
-- The partial index on switched-on automatic syncs is redefined with the condition the shared query
-- states (`WHERE automatic`, which PostgreSQL's BOOLEAN needs too), so SQLite can still match it.

DROP INDEX sync_schedules_automatic;
CREATE INDEX sync_schedules_automatic ON sync_schedules (automatic) WHERE automatic;

UPDATE organisations SET
    created_at = CASE WHEN created_at GLOB '*Z' THEN substr(created_at, 1, 19) || '.' || substr(replace(substr(created_at, 21), 'Z', '') || '000000', 1, 6) || 'Z'
         ELSE strftime('%Y-%m-%dT%H:%M:%f', created_at) || '000Z' END;

UPDATE people SET
    created_at = CASE WHEN created_at GLOB '*Z' THEN substr(created_at, 1, 19) || '.' || substr(replace(substr(created_at, 21), 'Z', '') || '000000', 1, 6) || 'Z'
         ELSE strftime('%Y-%m-%dT%H:%M:%f', created_at) || '000Z' END;

UPDATE sessions SET
    created_at = CASE WHEN created_at GLOB '*Z' THEN substr(created_at, 1, 19) || '.' || substr(replace(substr(created_at, 21), 'Z', '') || '000000', 1, 6) || 'Z'
         ELSE strftime('%Y-%m-%dT%H:%M:%f', created_at) || '000Z' END,
    expires_at = CASE WHEN expires_at GLOB '*Z' THEN substr(expires_at, 1, 19) || '.' || substr(replace(substr(expires_at, 21), 'Z', '') || '000000', 1, 6) || 'Z'
         ELSE strftime('%Y-%m-%dT%H:%M:%f', expires_at) || '000Z' END;

UPDATE api_tokens SET
    created_at = CASE WHEN created_at GLOB '*Z' THEN substr(created_at, 1, 19) || '.' || substr(replace(substr(created_at, 21), 'Z', '') || '000000', 1, 6) || 'Z'
         ELSE strftime('%Y-%m-%dT%H:%M:%f', created_at) || '000Z' END;

UPDATE platform_credentials SET
    secret_changed_at = CASE WHEN secret_changed_at GLOB '*Z' THEN substr(secret_changed_at, 1, 19) || '.' || substr(replace(substr(secret_changed_at, 21), 'Z', '') || '000000', 1, 6) || 'Z'
         ELSE strftime('%Y-%m-%dT%H:%M:%f', secret_changed_at) || '000Z' END,
    updated_at = CASE WHEN updated_at GLOB '*Z' THEN substr(updated_at, 1, 19) || '.' || substr(replace(substr(updated_at, 21), 'Z', '') || '000000', 1, 6) || 'Z'
         ELSE strftime('%Y-%m-%dT%H:%M:%f', updated_at) || '000Z' END;

UPDATE credentials_audit SET
    changed_at = CASE WHEN changed_at GLOB '*Z' THEN substr(changed_at, 1, 19) || '.' || substr(replace(substr(changed_at, 21), 'Z', '') || '000000', 1, 6) || 'Z'
         ELSE strftime('%Y-%m-%dT%H:%M:%f', changed_at) || '000Z' END;

UPDATE connection_tests SET
    tested_at = CASE WHEN tested_at GLOB '*Z' THEN substr(tested_at, 1, 19) || '.' || substr(replace(substr(tested_at, 21), 'Z', '') || '000000', 1, 6) || 'Z'
         ELSE strftime('%Y-%m-%dT%H:%M:%f', tested_at) || '000Z' END;

UPDATE relationships SET
    code_expires_at = CASE WHEN code_expires_at GLOB '*Z' THEN substr(code_expires_at, 1, 19) || '.' || substr(replace(substr(code_expires_at, 21), 'Z', '') || '000000', 1, 6) || 'Z'
         ELSE strftime('%Y-%m-%dT%H:%M:%f', code_expires_at) || '000Z' END,
    code_used_at = CASE WHEN code_used_at GLOB '*Z' THEN substr(code_used_at, 1, 19) || '.' || substr(replace(substr(code_used_at, 21), 'Z', '') || '000000', 1, 6) || 'Z'
         ELSE strftime('%Y-%m-%dT%H:%M:%f', code_used_at) || '000Z' END,
    created_at = CASE WHEN created_at GLOB '*Z' THEN substr(created_at, 1, 19) || '.' || substr(replace(substr(created_at, 21), 'Z', '') || '000000', 1, 6) || 'Z'
         ELSE strftime('%Y-%m-%dT%H:%M:%f', created_at) || '000Z' END,
    activated_at = CASE WHEN activated_at GLOB '*Z' THEN substr(activated_at, 1, 19) || '.' || substr(replace(substr(activated_at, 21), 'Z', '') || '000000', 1, 6) || 'Z'
         ELSE strftime('%Y-%m-%dT%H:%M:%f', activated_at) || '000Z' END,
    updated_at = CASE WHEN updated_at GLOB '*Z' THEN substr(updated_at, 1, 19) || '.' || substr(replace(substr(updated_at, 21), 'Z', '') || '000000', 1, 6) || 'Z'
         ELSE strftime('%Y-%m-%dT%H:%M:%f', updated_at) || '000Z' END;

UPDATE integration_configs SET
    updated_at = CASE WHEN updated_at GLOB '*Z' THEN substr(updated_at, 1, 19) || '.' || substr(replace(substr(updated_at, 21), 'Z', '') || '000000', 1, 6) || 'Z'
         ELSE strftime('%Y-%m-%dT%H:%M:%f', updated_at) || '000Z' END;

UPDATE description_compositions SET
    updated_at = CASE WHEN updated_at GLOB '*Z' THEN substr(updated_at, 1, 19) || '.' || substr(replace(substr(updated_at, 21), 'Z', '') || '000000', 1, 6) || 'Z'
         ELSE strftime('%Y-%m-%dT%H:%M:%f', updated_at) || '000Z' END;

UPDATE relationship_credentials SET
    secret_changed_at = CASE WHEN secret_changed_at GLOB '*Z' THEN substr(secret_changed_at, 1, 19) || '.' || substr(replace(substr(secret_changed_at, 21), 'Z', '') || '000000', 1, 6) || 'Z'
         ELSE strftime('%Y-%m-%dT%H:%M:%f', secret_changed_at) || '000Z' END,
    updated_at = CASE WHEN updated_at GLOB '*Z' THEN substr(updated_at, 1, 19) || '.' || substr(replace(substr(updated_at, 21), 'Z', '') || '000000', 1, 6) || 'Z'
         ELSE strftime('%Y-%m-%dT%H:%M:%f', updated_at) || '000Z' END;

UPDATE relationship_credentials_audit SET
    changed_at = CASE WHEN changed_at GLOB '*Z' THEN substr(changed_at, 1, 19) || '.' || substr(replace(substr(changed_at, 21), 'Z', '') || '000000', 1, 6) || 'Z'
         ELSE strftime('%Y-%m-%dT%H:%M:%f', changed_at) || '000Z' END;
