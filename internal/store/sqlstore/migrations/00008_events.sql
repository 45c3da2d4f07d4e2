-- The event browser and retention. Every browser filter (action, username,
-- application, client IP) is an exact match with its own index that goes on
-- with (created_at, id), the browser's order: a filtered page of newest
-- events is an index range scan that stops after one page, however many
-- millions of rows the tenant has. The user, app and IP indexes end with
-- action, the filter most often added to them: "alice's failed logins" is
-- then checked on index entries alone; reading each of alice's events from
-- the table made such a page, and its count, slow at ten million rows.
-- Retention picks each batch from (tenant_id, expires, id) alone.
--
-- The impersonator is a pair of columns, not JSON as in Authentik's
-- user.on_behalf_of, so that it reads back typed and can be indexed later.

-- +goose Up
ALTER TABLE events ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN impersonator_id {{uuid}};
ALTER TABLE events ADD COLUMN impersonator_username TEXT NOT NULL DEFAULT '';

-- Authentik's event_retention (days=365), a per-tenant system setting.
ALTER TABLE tenants ADD COLUMN event_retention_seconds BIGINT NOT NULL DEFAULT 31536000;

DROP INDEX events_created;
DROP INDEX events_action;
DROP INDEX events_expires;
CREATE INDEX events_created ON events (tenant_id, created_at, id);
CREATE INDEX events_action ON events (tenant_id, action, created_at, id);
CREATE INDEX events_username ON events (tenant_id, username, created_at, id, action);
CREATE INDEX events_app ON events (tenant_id, app, created_at, id, action);
CREATE INDEX events_client_ip ON events (tenant_id, client_ip, created_at, id, action);
CREATE INDEX events_expires ON events (tenant_id, expires, id);

-- +goose Down
DROP INDEX events_expires;
DROP INDEX events_client_ip;
DROP INDEX events_app;
DROP INDEX events_username;
DROP INDEX events_action;
DROP INDEX events_created;
CREATE INDEX events_created ON events (tenant_id, created_at);
CREATE INDEX events_action ON events (tenant_id, action, created_at);
CREATE INDEX events_expires ON events (expires);
ALTER TABLE tenants DROP COLUMN event_retention_seconds;
ALTER TABLE events DROP COLUMN impersonator_username;
ALTER TABLE events DROP COLUMN impersonator_id;
ALTER TABLE events DROP COLUMN user_agent;
