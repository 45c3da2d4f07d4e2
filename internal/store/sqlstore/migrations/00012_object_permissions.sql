-- Permissions a role holds on one object (Authentik's object permissions,
-- django-guardian's): view_user on this user, change_application on that
-- application. The object is named by its ID alone: IDs are UUIDs, unique
-- across models, and a row left behind by a deleted object grants nothing.

-- +goose Up
CREATE TABLE role_object_permissions (
    tenant_id   {{uuid}} NOT NULL,
    role_id     {{uuid}} NOT NULL,
    permission  TEXT NOT NULL,
    object_id   {{uuid}} NOT NULL,
    PRIMARY KEY (tenant_id, role_id, permission, object_id),
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX role_object_permissions_object ON role_object_permissions (tenant_id, object_id);

-- +goose Down
DROP TABLE role_object_permissions;
