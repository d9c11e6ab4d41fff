-- Support Fusion, PostgreSQL schema version 1: organisations, people, sign-in sessions, API
-- tokens, platform credentials (secret as AEAD ciphertext only), their audit trail, and the last
-- connection test per organisation.
--
-- Conventions: ids are UUID, timestamps TIMESTAMPTZ (microsecond precision), token columns hold
-- SHA-256 digests (never the token). Tables are created unqualified, so they land in the first
-- schema of the connection's search_path.

CREATE TABLE organisations (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    platform    TEXT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE people (
    id             UUID PRIMARY KEY,
    org_id         UUID NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    -- Stored trimmed and lower-cased, so this UNIQUE makes sign-in names case-insensitively unique.
    email          TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX people_org_id ON people (org_id);

CREATE TABLE sessions (
    token_digest  BYTEA PRIMARY KEY,
    person_id     UUID NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_person_id ON sessions (person_id);

CREATE TABLE api_tokens (
    token_digest  BYTEA PRIMARY KEY,
    person_id     UUID NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    label         TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX api_tokens_person_id ON api_tokens (person_id);

CREATE TABLE platform_credentials (
    org_id                     UUID PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    platform                   TEXT NOT NULL,
    api_url                    TEXT NOT NULL,
    username                   TEXT NOT NULL,
    -- key-id byte || 24-byte nonce || XChaCha20-Poly1305 ciphertext and tag; NULL until a secret is saved.
    secret_ciphertext          BYTEA NULL,
    secret_changed_at          TIMESTAMPTZ NULL,
    integration_code_override  TEXT NULL,
    updated_at                 TIMESTAMPTZ NOT NULL
);

CREATE TABLE credentials_audit (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      UUID NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    person_id   UUID NULL REFERENCES people (id) ON DELETE SET NULL,
    -- The name of the field that changed; the value is never recorded.
    field       TEXT NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX credentials_audit_org_id ON credentials_audit (org_id, changed_at);

CREATE TABLE connection_tests (
    org_id                 UUID PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    outcome                TEXT NOT NULL,
    failure_kind           TEXT NULL,
    reason                 TEXT NOT NULL,
    fix                    TEXT NULL,
    zone                   TEXT NULL,
    api_requests_used      BIGINT NULL,
    api_request_limit      BIGINT NULL,
    api_timeframe_minutes  BIGINT NULL,
    notes                  JSONB NOT NULL,
    tested_at              TIMESTAMPTZ NOT NULL
);
