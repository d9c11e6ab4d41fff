-- Support Fusion, SQLite schema version 8: API tokens people can list, that expire, and that
-- they can revoke (issue 16). `id` names a token in lists and revocations (the token itself is
-- only ever stored as its digest); `expires_at` NULL means "never" — chosen explicitly at
-- creation, or a token made before tokens expired (listed as such, so it can be revoked);
-- `last_used_at` is written at most once a minute per token.

ALTER TABLE api_tokens ADD COLUMN id TEXT NULL;
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT NULL;
ALTER TABLE api_tokens ADD COLUMN last_used_at TEXT NULL;

-- A random version-4 UUID, hyphenated, for each existing token.
UPDATE api_tokens SET id = lower(
    hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-'
    || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-'
    || hex(randomblob(6)));

CREATE UNIQUE INDEX api_tokens_id ON api_tokens (id);
