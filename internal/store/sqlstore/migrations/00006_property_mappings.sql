-- Property mappings (OAuth2 scope mappings, later SAML and SCIM mappings)
-- share the objects shape: name, kind, JSON config.

-- +goose Up
CREATE TABLE property_mappings (
    tenant_id   {{uuid}} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          {{uuid}} PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    config      {{json}} NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX property_mappings_name ON property_mappings (tenant_id, name);

-- +goose Down
DROP TABLE property_mappings;
