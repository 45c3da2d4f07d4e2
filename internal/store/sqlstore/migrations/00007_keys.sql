-- Certificates and signing keys (Authentik's CertificateKeyPair). The private
-- key is stored sealed by the secret box (key_enc), bound to this row by AEAD
-- additional data; the database never holds it in plain text. Keys rotate in
-- sets (set_id = the first key's id): active_from and retired_at say when a
-- key signs, see docs/keys.md.

-- +goose Up
CREATE TABLE certificate_key_pairs (
    tenant_id    {{uuid}} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           {{uuid}} PRIMARY KEY,
    name         TEXT NOT NULL,
    certificate  TEXT NOT NULL,
    key_enc      TEXT NOT NULL DEFAULT '',
    key_type     TEXT NOT NULL,
    kid          TEXT NOT NULL,
    set_id       {{uuid}} NOT NULL,
    active_from  BIGINT NOT NULL DEFAULT 0,
    retired_at   BIGINT NOT NULL DEFAULT 0,
    -- NULL unless managed, so unmanaged keys do not collide on the index.
    managed      TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    version      BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, id)
);
-- Index names are <short table>_<field>: a unique violation reports the
-- field through the index name (see conflictField).
CREATE UNIQUE INDEX keypairs_name ON certificate_key_pairs (tenant_id, name);
-- JWKS consumers pick a key by kid: two keys with one kid would be ambiguous.
CREATE UNIQUE INDEX keypairs_kid ON certificate_key_pairs (tenant_id, kid);
CREATE UNIQUE INDEX keypairs_managed ON certificate_key_pairs (tenant_id, managed);
CREATE INDEX keypairs_set ON certificate_key_pairs (tenant_id, set_id);

-- +goose Down
DROP TABLE certificate_key_pairs;
