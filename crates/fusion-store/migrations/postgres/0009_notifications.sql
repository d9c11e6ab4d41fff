-- Support Fusion, PostgreSQL schema version 9: notifications. Each organisation's notification
-- settings (email recipients, outgoing webhook URL, the events it wants, the webhook signing
-- secret as AEAD ciphertext only), and the problems it was notified about, which make
-- notifications one per problem until it is resolved — across every process sharing the
-- database.
CREATE TABLE notification_settings (
    org_id                     UUID PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    -- Addresses separated by newlines.
    email_recipients           TEXT NOT NULL,
    webhook_url                TEXT NULL,
    -- Event codes separated by commas (run_failed,attention_item,...).
    events                     TEXT NOT NULL,
    signing_secret_ciphertext  BYTEA NULL,
    signing_secret_created_at  TIMESTAMPTZ NULL,
    updated_at                 TIMESTAMPTZ NOT NULL
);

-- One row per organisation and problem key; open while resolved_at is NULL. Opening is one
-- INSERT ... ON CONFLICT statement, resolving one UPDATE, so exactly one caller sends.
CREATE TABLE notification_problems (
    org_id        UUID NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    problem_key   TEXT NOT NULL,
    kind          TEXT NOT NULL,
    summary       TEXT NOT NULL,
    opened_at     TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    resolved_at   TIMESTAMPTZ NULL,
    PRIMARY KEY (org_id, problem_key)
);
