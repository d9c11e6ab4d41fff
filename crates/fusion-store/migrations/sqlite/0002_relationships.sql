-- Support Fusion, SQLite schema version 2: relationships (organisation connections) with their
-- verification codes (SHA-256 digest only), each side's integration configuration, field
-- mappings, the description composition, and per-relationship override credentials (secret as
-- AEAD ciphertext only) with their audit trail.
--
-- Conventions as in version 1. Configuration, value mappings and composed fields are JSON text
-- written by the store's private row types.

CREATE TABLE relationships (
    id                TEXT PRIMARY KEY NOT NULL,
    contract_name     TEXT NOT NULL,
    initiator_org_id  TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    initiator_role    TEXT NOT NULL CHECK (initiator_role IN ('source', 'target')),
    -- NULL while pending.
    partner_org_id    TEXT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    state             TEXT NOT NULL CHECK (state IN ('pending', 'active', 'paused', 'ended', 'revoked')),
    readiness         TEXT NOT NULL CHECK (readiness IN ('initial_sync_required', 'ready_for_automatic_sync')),
    -- SHA-256 of the code's canonical text (e.g. 7KQ4-MX2P-9HTD); kept after use so a second
    -- attempt is told "already used" rather than "unknown".
    code_digest       BLOB NOT NULL,
    code_expires_at   TEXT NOT NULL,
    code_used_at      TEXT NULL,
    created_at        TEXT NOT NULL,
    activated_at      TEXT NULL,
    updated_at        TEXT NOT NULL,
    CHECK (partner_org_id IS NULL OR partner_org_id <> initiator_org_id)
);
CREATE UNIQUE INDEX relationships_pending_code ON relationships (code_digest) WHERE state = 'pending';
CREATE INDEX relationships_code_digest ON relationships (code_digest);
CREATE INDEX relationships_initiator ON relationships (initiator_org_id, created_at);
CREATE INDEX relationships_partner ON relationships (partner_org_id, created_at);
-- At most one connected (active or paused) relationship per pair of organisations and contract
-- name, whichever side initiated it; the accept step checks this too, the index settles races.
CREATE UNIQUE INDEX relationships_connected_pair ON relationships (
    min(initiator_org_id, partner_org_id), max(initiator_org_id, partner_org_id), lower(contract_name)
) WHERE state IN ('active', 'paused');

CREATE TABLE integration_configs (
    relationship_id  TEXT NOT NULL REFERENCES relationships (id) ON DELETE CASCADE,
    org_id           TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    config           TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (relationship_id, org_id)
);

CREATE TABLE field_mappings (
    id               TEXT PRIMARY KEY NOT NULL,
    relationship_id  TEXT NOT NULL REFERENCES relationships (id) ON DELETE CASCADE,
    -- Creation order within the relationship.
    position         INTEGER NOT NULL,
    ticket_type      TEXT NOT NULL,
    source_field     TEXT NOT NULL,
    target_field     TEXT NOT NULL,
    direction        TEXT NOT NULL CHECK (direction IN ('source_to_target', 'target_to_source', 'both')),
    value_mappings   TEXT NOT NULL
);
CREATE INDEX field_mappings_relationship ON field_mappings (relationship_id, position);

CREATE TABLE description_compositions (
    relationship_id  TEXT PRIMARY KEY NOT NULL REFERENCES relationships (id) ON DELETE CASCADE,
    fields           TEXT NOT NULL,
    separator        TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);

CREATE TABLE relationship_credentials (
    relationship_id            TEXT NOT NULL REFERENCES relationships (id) ON DELETE CASCADE,
    org_id                     TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    platform                   TEXT NOT NULL,
    api_url                    TEXT NOT NULL,
    username                   TEXT NOT NULL,
    -- Sealed with the associated data relationship_credentials/api_secret/<relationship>/<org>.
    secret_ciphertext          BLOB NULL,
    secret_changed_at          TEXT NULL,
    integration_code_override  TEXT NULL,
    updated_at                 TEXT NOT NULL,
    PRIMARY KEY (relationship_id, org_id)
);

CREATE TABLE relationship_credentials_audit (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    relationship_id  TEXT NOT NULL REFERENCES relationships (id) ON DELETE CASCADE,
    org_id           TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    person_id        TEXT NULL REFERENCES people (id) ON DELETE SET NULL,
    -- The name of the field that changed; the value is never recorded.
    field            TEXT NOT NULL,
    changed_at       TEXT NOT NULL
);
CREATE INDEX relationship_credentials_audit_scope ON relationship_credentials_audit (relationship_id, org_id, changed_at);
