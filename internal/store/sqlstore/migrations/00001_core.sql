-- Core identity model. The {{uuid}}, {{json}} and {{bytes}} types are filled per dialect
-- (see dialect.go); everything else is shared SQL. Times are Unix
-- microseconds in BIGINT columns (0 = unset) so both engines compare and
-- round-trip them identically.

-- +goose Up
CREATE TABLE tenants (
    id          {{uuid}} PRIMARY KEY,
    name        TEXT NOT NULL,
    is_default  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX tenants_one_default ON tenants (is_default) WHERE is_default;

CREATE TABLE tenant_domains (
    domain     TEXT PRIMARY KEY,
    tenant_id  {{uuid}} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE
);

-- Every tenant-owned table carries tenant_id and a UNIQUE (tenant_id, id)
-- key, and references other tenant-owned rows by (tenant_id, id): the
-- database itself refuses a link from one tenant's row to another's.
CREATE TABLE users (
    tenant_id             {{uuid}} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                    {{uuid}} PRIMARY KEY,
    username              TEXT NOT NULL,
    name                  TEXT NOT NULL DEFAULT '',
    email                 TEXT NOT NULL DEFAULT '',
    email_verified        BOOLEAN NOT NULL DEFAULT FALSE,
    type                  TEXT NOT NULL,
    is_active             BOOLEAN NOT NULL DEFAULT TRUE,
    path                  TEXT NOT NULL DEFAULT 'users',
    attributes            {{json}} NOT NULL,
    password_hash         TEXT NOT NULL DEFAULT '',
    password_change_date  BIGINT NOT NULL DEFAULT 0,
    last_login            BIGINT NOT NULL DEFAULT 0,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    version               BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX users_username ON users (tenant_id, lower(username));
CREATE INDEX users_email ON users (tenant_id, lower(email));

CREATE TABLE groups (
    tenant_id     {{uuid}} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            {{uuid}} PRIMARY KEY,
    name          TEXT NOT NULL,
    parent_id     {{uuid}},
    is_superuser  BOOLEAN NOT NULL DEFAULT FALSE,
    attributes    {{json}} NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    version       BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES groups (tenant_id, id)
);
CREATE UNIQUE INDEX groups_name ON groups (tenant_id, lower(name));
CREATE INDEX groups_parent ON groups (tenant_id, parent_id);

CREATE TABLE group_members (
    tenant_id  {{uuid}} NOT NULL,
    group_id   {{uuid}} NOT NULL,
    user_id    {{uuid}} NOT NULL,
    PRIMARY KEY (tenant_id, group_id, user_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE roles (
    tenant_id   {{uuid}} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          {{uuid}} PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX roles_name ON roles (tenant_id, lower(name));

CREATE TABLE role_permissions (
    tenant_id   {{uuid}} NOT NULL,
    role_id     {{uuid}} NOT NULL,
    permission  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, role_id, permission),
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE group_roles (
    tenant_id  {{uuid}} NOT NULL,
    group_id   {{uuid}} NOT NULL,
    role_id    {{uuid}} NOT NULL,
    PRIMARY KEY (tenant_id, group_id, role_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX group_roles_role ON group_roles (role_id);

CREATE TABLE tokens (
    tenant_id    {{uuid}} NOT NULL,
    id           {{uuid}} PRIMARY KEY,
    identifier   TEXT NOT NULL,
    key_hash     {{bytes}} NOT NULL,
    intent       TEXT NOT NULL,
    user_id      {{uuid}} NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    expires      BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX tokens_identifier ON tokens (tenant_id, identifier);
CREATE UNIQUE INDEX tokens_key_hash ON tokens (key_hash);
CREATE INDEX tokens_user ON tokens (tenant_id, user_id);
CREATE INDEX tokens_expires ON tokens (expires) WHERE expires > 0;

CREATE TABLE sessions (
    tenant_id   {{uuid}} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          {{uuid}} PRIMARY KEY,
    key_hash    {{bytes}} NOT NULL,
    user_id     {{uuid}},
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    data        {{bytes}},
    created_at  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    expires     BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX sessions_key_hash ON sessions (key_hash);
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);
CREATE INDEX sessions_expires ON sessions (expires);

-- Events outlive the users and applications they name, so they keep
-- copies (username, app) rather than foreign keys.
CREATE TABLE events (
    tenant_id   {{uuid}} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          {{uuid}} PRIMARY KEY,
    action      TEXT NOT NULL,
    user_id     {{uuid}},
    username    TEXT NOT NULL DEFAULT '',
    app         TEXT NOT NULL DEFAULT '',
    client_ip   TEXT NOT NULL DEFAULT '',
    context     {{json}} NOT NULL,
    created_at  BIGINT NOT NULL,
    expires     BIGINT NOT NULL
);
CREATE INDEX events_created ON events (tenant_id, created_at);
CREATE INDEX events_action ON events (tenant_id, action, created_at);
CREATE INDEX events_expires ON events (expires);

-- +goose Down
DROP TABLE events;
DROP TABLE sessions;
DROP TABLE tokens;
DROP TABLE group_roles;
DROP TABLE role_permissions;
DROP TABLE roles;
DROP TABLE group_members;
DROP TABLE groups;
DROP TABLE users;
DROP TABLE tenant_domains;
DROP TABLE tenants;
