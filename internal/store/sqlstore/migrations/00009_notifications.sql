-- Notification rules, transports, the notifications they create and what
-- each transport delivered (Authentik's authentik_events models).
--
-- Rules and transports have columns, not the shared objects shape: they
-- are one model each (no kinds), every recorded event asks whether a rule
-- exists, the destination group and the rule-transport links need foreign
-- keys so a deleted group or transport cannot leave a rule pointing at
-- nothing, and the webhook secret must sit in its own sealed column rather
-- than in a configuration blob that generic readers return.
--
-- Notifications copy the event instead of referencing it: events have no
-- (tenant_id, id) key, retention deletes them in bulk, and a composite
-- ON DELETE SET NULL would null tenant_id too. For the same reason the
-- rule's group is a plain composite key that the group's deletion clears
-- first, and rule_id on a notification is a de-duplication key only.

-- +goose Up
CREATE TABLE notification_transports (
    tenant_id             {{uuid}} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                    {{uuid}} PRIMARY KEY,
    name                  TEXT NOT NULL,
    mode                  TEXT NOT NULL,
    webhook_url           TEXT NOT NULL DEFAULT '',
    -- A property mapping; checked when a delivery runs, since mappings
    -- are deleted by the generic objects code that knows nothing of us.
    webhook_mapping_id    {{uuid}},
    send_once             BOOLEAN NOT NULL DEFAULT FALSE,
    email_subject_prefix  TEXT NOT NULL DEFAULT '',
    secret_enc            TEXT NOT NULL DEFAULT '',
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    version               BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX notification_transports_name ON notification_transports (tenant_id, name);

CREATE TABLE notification_rules (
    tenant_id               {{uuid}} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                      {{uuid}} PRIMARY KEY,
    name                    TEXT NOT NULL,
    severity                TEXT NOT NULL DEFAULT 'notice',
    group_id                {{uuid}},
    destination_event_user  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    version                 BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id)
);
CREATE UNIQUE INDEX notification_rules_name ON notification_rules (tenant_id, name);
CREATE INDEX notification_rules_group ON notification_rules (tenant_id, group_id);

CREATE TABLE notification_rule_transports (
    tenant_id     {{uuid}} NOT NULL,
    rule_id       {{uuid}} NOT NULL,
    transport_id  {{uuid}} NOT NULL,
    PRIMARY KEY (tenant_id, rule_id, transport_id),
    FOREIGN KEY (tenant_id, rule_id) REFERENCES notification_rules (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, transport_id) REFERENCES notification_transports (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX notification_rule_transports_transport ON notification_rule_transports (tenant_id, transport_id);

CREATE TABLE notifications (
    tenant_id   {{uuid}} NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          {{uuid}} PRIMARY KEY,
    user_id     {{uuid}} NOT NULL,
    rule_id     {{uuid}} NOT NULL,
    event_id    {{uuid}} NOT NULL,
    severity    TEXT NOT NULL,
    body        TEXT NOT NULL,
    event       {{json}} NOT NULL,
    seen        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL,
    expires     BIGINT NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
-- One notification per (event, rule, user): a retried dispatch finds it.
CREATE UNIQUE INDEX notifications_once ON notifications (tenant_id, event_id, rule_id, user_id);
CREATE INDEX notifications_user ON notifications (tenant_id, user_id, created_at, id);
CREATE INDEX notifications_expires ON notifications (tenant_id, expires);

-- A row per successful (notification, transport) delivery: a delivery job
-- that runs again (a retried dispatch enqueued it twice) sees it and sends
-- nothing.
CREATE TABLE notification_deliveries (
    tenant_id        {{uuid}} NOT NULL,
    notification_id  {{uuid}} NOT NULL,
    transport_id     {{uuid}} NOT NULL,
    delivered_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, notification_id, transport_id),
    FOREIGN KEY (tenant_id, notification_id) REFERENCES notifications (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, transport_id) REFERENCES notification_transports (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX notification_deliveries_transport ON notification_deliveries (tenant_id, transport_id);

-- +goose Down
DROP TABLE notification_deliveries;
DROP TABLE notifications;
DROP TABLE notification_rule_transports;
DROP TABLE notification_rules;
DROP TABLE notification_transports;
