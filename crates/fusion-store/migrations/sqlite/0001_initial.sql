-- Support Fusion, SQLite schema version 1: organisations, people, sign-in sessions, API tokens,
-- platform credentials (secret as AEAD ciphertext only), their audit trail, and the last
-- connection test per organisation.
--
-- Conventions: ids are UUID text (hyphenated), timestamps are RFC 3339 text in UTC with at most
-- microsecond precision, token columns hold SHA-256 digests (never the token).

CREATE TABLE organisations (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    platform    TEXT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE people (
    id             TEXT PRIMARY KEY NOT NULL,
    org_id         TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    -- Stored trimmed and lower-cased, so this UNIQUE makes sign-in names case-insensitively unique.
    email          TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX people_org_id ON people (org_id);

CREATE TABLE sessions (
    token_digest  BLOB PRIMARY KEY NOT NULL,
    person_id     TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
CREATE INDEX sessions_person_id ON sessions (person_id);

CREATE TABLE api_tokens (
    token_digest  BLOB PRIMARY KEY NOT NULL,
    person_id     TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    label         TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX api_tokens_person_id ON api_tokens (person_id);

CREATE TABLE platform_credentials (
    org_id                     TEXT PRIMARY KEY NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    platform                   TEXT NOT NULL,
    api_url                    TEXT NOT NULL,
    username                   TEXT NOT NULL,
    -- key-id byte || 24-byte nonce || XChaCha20-Poly1305 ciphertext and tag; NULL until a secret is saved.
    secret_ciphertext          BLOB NULL,
    secret_changed_at          TEXT NULL,
    integration_code_override  TEXT NULL,
    updated_at                 TEXT NOT NULL
);

CREATE TABLE credentials_audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    person_id   TEXT NULL REFERENCES people (id) ON DELETE SET NULL,
    -- The name of the field that changed; the value is never recorded.
    field       TEXT NOT NULL,
    changed_at  TEXT NOT NULL
);
CREATE INDEX credentials_audit_org_id ON credentials_audit (org_id, changed_at);

CREATE TABLE connection_tests (
    org_id                 TEXT PRIMARY KEY NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    outcome                TEXT NOT NULL,
    failure_kind           TEXT NULL,
    reason                 TEXT NOT NULL,
    fix                    TEXT NULL,
    zone                   TEXT NULL,
    api_requests_used      INTEGER NULL,
    api_request_limit      INTEGER NULL,
    api_timeframe_minutes  INTEGER NULL,
    -- JSON array of strings.
    notes                  TEXT NOT NULL,
    tested_at              TEXT NOT NULL
);
