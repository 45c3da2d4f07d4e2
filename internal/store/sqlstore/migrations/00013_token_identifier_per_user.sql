-- A token's identifier is unique per owner, not per tenant: a user choosing
-- a name must not learn that another user's token has it (a 409 would
-- tell them). docs/security.md, "Token identifiers".

-- +goose Up
DROP INDEX tokens_identifier;
CREATE UNIQUE INDEX tokens_identifier ON tokens (tenant_id, user_id, identifier);

-- +goose Down
DROP INDEX tokens_identifier;
CREATE UNIQUE INDEX tokens_identifier ON tokens (tenant_id, identifier);
