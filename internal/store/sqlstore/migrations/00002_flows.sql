-- Flows, stages, policies and what the flow engine keeps between requests.
-- Stages, policies and prompts share one shape (name, kind, JSON config):
-- each kind's settings are typed in Go, not in columns.

-- +goose Up
CREATE TABLE flows (
    tenant_id           {{uuid}} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                  {{uuid}} PRIMARY KEY,
    slug                TEXT NOT NULL,
    name                TEXT NOT NULL,
    title               TEXT NOT NULL DEFAULT '',
    designation         TEXT NOT NULL,
    authentication      TEXT NOT NULL DEFAULT 'none',
    denied_action       TEXT NOT NULL DEFAULT 'message_continue',
    layout              TEXT NOT NULL DEFAULT 'stacked',
    background          TEXT NOT NULL DEFAULT '',
    policy_engine_mode  TEXT NOT NULL DEFAULT 'any',
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    version             BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX flows_slug ON flows (tenant_id, slug);

CREATE TABLE stages (
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
CREATE UNIQUE INDEX stages_name ON stages (tenant_id, name);

CREATE TABLE policies (
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
CREATE UNIQUE INDEX policies_name ON policies (tenant_id, name);

CREATE TABLE prompts (
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
CREATE UNIQUE INDEX prompts_name ON prompts (tenant_id, name);

CREATE TABLE flow_stage_bindings (
    tenant_id                {{uuid}} NOT NULL,
    id                       {{uuid}} PRIMARY KEY,
    flow_id                  {{uuid}} NOT NULL,
    stage_id                 {{uuid}} NOT NULL,
    position                 INTEGER NOT NULL,
    evaluate_on_plan         BOOLEAN NOT NULL DEFAULT FALSE,
    re_evaluate_policies     BOOLEAN NOT NULL DEFAULT TRUE,
    policy_engine_mode       TEXT NOT NULL DEFAULT 'any',
    invalid_response_action  TEXT NOT NULL DEFAULT 'retry',
    created_at               BIGINT NOT NULL,
    version                  BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, flow_id) REFERENCES flows (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, stage_id) REFERENCES stages (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX flow_stage_bindings_position ON flow_stage_bindings (tenant_id, flow_id, stage_id, position);
CREATE INDEX flow_stage_bindings_flow ON flow_stage_bindings (tenant_id, flow_id, position);

-- A binding targets any bindable object (flow, stage binding, application,
-- source), so target_id has no foreign key; bindings of a deleted target
-- are removed by the code that deletes it.
CREATE TABLE policy_bindings (
    tenant_id       {{uuid}} NOT NULL,
    id              {{uuid}} PRIMARY KEY,
    target_id       {{uuid}} NOT NULL,
    policy_id       {{uuid}},
    group_id        {{uuid}},
    user_id         {{uuid}},
    position        INTEGER NOT NULL DEFAULT 0,
    enabled         BOOLEAN NOT NULL DEFAULT TRUE,
    negate          BOOLEAN NOT NULL DEFAULT FALSE,
    timeout_ms      BIGINT NOT NULL DEFAULT 30000,
    failure_result  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    version         BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, policy_id) REFERENCES policies (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    CHECK ((policy_id IS NOT NULL AND group_id IS NULL AND user_id IS NULL)
        OR (policy_id IS NULL AND group_id IS NOT NULL AND user_id IS NULL)
        OR (policy_id IS NULL AND group_id IS NULL AND user_id IS NOT NULL))
);
CREATE INDEX policy_bindings_target ON policy_bindings (tenant_id, target_id, position);

CREATE TABLE invitations (
    tenant_id   {{uuid}} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          {{uuid}} PRIMARY KEY,
    name        TEXT NOT NULL,
    flow_slug   TEXT NOT NULL DEFAULT '',
    single_use  BOOLEAN NOT NULL DEFAULT TRUE,
    created_by  {{uuid}},
    fixed_data  {{json}} NOT NULL,
    expires     BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX invitations_name ON invitations (tenant_id, name);

-- A flow token carries a paused flow plan to another browser (the emailed
-- link of a recovery or verification flow).
CREATE TABLE flow_tokens (
    tenant_id   {{uuid}} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          {{uuid}} PRIMARY KEY,
    key_hash    {{bytes}} NOT NULL,
    flow_slug   TEXT NOT NULL,
    plan        {{bytes}} NOT NULL,
    expires     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX flow_tokens_key_hash ON flow_tokens (key_hash);
CREATE INDEX flow_tokens_expires ON flow_tokens (expires);

CREATE TABLE user_consents (
    tenant_id    {{uuid}} NOT NULL,
    id           {{uuid}} PRIMARY KEY,
    user_id      {{uuid}} NOT NULL,
    target       TEXT NOT NULL,
    permissions  TEXT NOT NULL DEFAULT '',
    expires      BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX user_consents_user_target ON user_consents (tenant_id, user_id, target);

-- Reputation scores per (identifier, IP), as Authentik's: failed logins
-- lower them, successful ones raise them, within the tenant's limits.
CREATE TABLE reputation (
    tenant_id   {{uuid}} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    identifier  TEXT NOT NULL,
    ip          TEXT NOT NULL,
    score       INTEGER NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL,
    expires     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, identifier, ip)
);
CREATE INDEX reputation_ip ON reputation (tenant_id, ip);
CREATE INDEX reputation_expires ON reputation (expires);

-- +goose Down
DROP TABLE reputation;
DROP TABLE user_consents;
DROP TABLE flow_tokens;
DROP TABLE invitations;
DROP TABLE policy_bindings;
DROP TABLE flow_stage_bindings;
DROP TABLE prompts;
DROP TABLE policies;
DROP TABLE stages;
DROP TABLE flows;
