-- Support Fusion, PostgreSQL schema version 8: API tokens people can list, that expire, and
-- that they can revoke (issue 16). `id` names a token in lists and revocations (the token itself
-- is only ever stored as its digest); `expires_at` NULL means "never" — chosen explicitly at
-- creation, or a token made before tokens expired (listed as such, so it can be revoked);
-- `last_used_at` is written at most once a minute per token.

ALTER TABLE api_tokens ADD COLUMN id UUID NULL;
ALTER TABLE api_tokens ADD COLUMN expires_at TIMESTAMPTZ NULL;
ALTER TABLE api_tokens ADD COLUMN last_used_at TIMESTAMPTZ NULL;

UPDATE api_tokens SET id = md5(random()::text || clock_timestamp()::text || token_digest::text)::uuid;
ALTER TABLE api_tokens ALTER COLUMN id SET NOT NULL;

CREATE UNIQUE INDEX api_tokens_id ON api_tokens (id);
