-- Applications, providers and the short-lived artifacts of single sign-on
-- (authorization codes, access and refresh tokens, device codes, pushed
-- authorization requests), which share one table: they differ in data, not
-- in how they are found, consumed and expired.

-- +goose Up
CREATE TABLE providers (
    tenant_id   {{uuid}} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          {{uuid}} PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    client_id   TEXT,
    secret_enc  TEXT NOT NULL DEFAULT '',
    config      {{json}} NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX providers_name ON providers (tenant_id, name);
CREATE UNIQUE INDEX providers_client_id ON providers (tenant_id, client_id);

CREATE TABLE applications (
    tenant_id           {{uuid}} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                  {{uuid}} PRIMARY KEY,
    name                TEXT NOT NULL,
    slug                TEXT NOT NULL,
    group_name          TEXT NOT NULL DEFAULT '',
    provider_id         {{uuid}},
    launch_url          TEXT NOT NULL DEFAULT '',
    icon                TEXT NOT NULL DEFAULT '',
    description         TEXT NOT NULL DEFAULT '',
    publisher           TEXT NOT NULL DEFAULT '',
    open_in_new_tab     BOOLEAN NOT NULL DEFAULT FALSE,
    policy_engine_mode  TEXT NOT NULL DEFAULT 'any',
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    version             BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, provider_id) REFERENCES providers (tenant_id, id)
);
CREATE UNIQUE INDEX applications_slug ON applications (tenant_id, slug);
-- One provider per application.
CREATE UNIQUE INDEX applications_provider ON applications (tenant_id, provider_id);

CREATE TABLE artifacts (
    tenant_id    {{uuid}} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           {{uuid}} PRIMARY KEY,
    kind         TEXT NOT NULL,
    key_hash     {{bytes}} NOT NULL,
    alt_key      TEXT,
    provider_id  {{uuid}} NOT NULL,
    user_id      {{uuid}},
    session_id   {{uuid}},
    grant_id     {{uuid}} NOT NULL,
    data         {{json}} NOT NULL,
    expires      BIGINT NOT NULL,
    consumed_at  BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, provider_id) REFERENCES providers (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX artifacts_key ON artifacts (key_hash);
CREATE UNIQUE INDEX artifacts_alt_key ON artifacts (tenant_id, kind, alt_key);
CREATE INDEX artifacts_grant ON artifacts (tenant_id, grant_id);
CREATE INDEX artifacts_user ON artifacts (tenant_id, user_id, kind);
CREATE INDEX artifacts_session ON artifacts (tenant_id, session_id);
CREATE INDEX artifacts_expires ON artifacts (expires);

-- +goose Down
DROP TABLE artifacts;
DROP TABLE applications;
DROP TABLE providers;
