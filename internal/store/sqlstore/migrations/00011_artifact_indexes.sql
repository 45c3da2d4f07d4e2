-- Tokens issued without a browser session (client_credentials, device,
-- refresh) and every access token have no session_id and no alt_key. Full
-- indexes still took an entry for each NULL, so each token record paid for
-- two index inserts nobody reads: the lookups by session (logout) and by
-- alt_key (device codes, consent state) always name a value, which lets
-- both engines use a partial index.

-- +goose Up
DROP INDEX artifacts_alt_key;
CREATE UNIQUE INDEX artifacts_alt_key ON artifacts (tenant_id, kind, alt_key) WHERE alt_key IS NOT NULL;
DROP INDEX artifacts_session;
CREATE INDEX artifacts_session ON artifacts (tenant_id, session_id) WHERE session_id IS NOT NULL;

-- +goose Down
DROP INDEX artifacts_alt_key;
CREATE UNIQUE INDEX artifacts_alt_key ON artifacts (tenant_id, kind, alt_key);
DROP INDEX artifacts_session;
CREATE INDEX artifacts_session ON artifacts (tenant_id, session_id);
