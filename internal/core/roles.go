package core

import (
	"context"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// roleFields are what a model_updated event of a role compares.
func roleFields(r *store.Role) map[string]any {
	perms := r.Permissions
	if perms == nil {
		perms = []string{}
	}
	return map[string]any{"name": r.Name, "permissions": perms}
}

// knownPermissions refuses, with a field error, permissions the catalog
// does not name in either spelling (with or without the app label). With
// no catalog every name passes: there is nothing to check against.
func (c *Core) knownPermissions(perms []string) error {
	catalog := c.catalog()
	if catalog == nil {
		return nil
	}
	v := &store.ValidationError{}
	for _, p := range perms {
		known := slices.ContainsFunc(catalog, func(full string) bool {
			_, code, _ := strings.Cut(full, ".")
			return full == p || !strings.Contains(p, ".") && code == p
		})
		if !known {
			v.Add("permissions", "%q is not a permission (see rbac/permissions/)", p)
		}
	}
	return v.Err()
}

// CreateRole stores a role; it may hold only permissions the actor holds.
func (w Writer) CreateRole(ctx context.Context, sc store.Scope, r *store.Role) error {
	if err := w.c.knownPermissions(r.Permissions); err != nil {
		return err
	}
	return w.write(ctx, sc, func(tx store.Scope) ([]*store.Event, error) {
		if err := tx.Roles().Create(ctx, r); err != nil {
			return nil, err
		}
		return []*store.Event{ModelEvent("model_created", ModelRole, r.ID, r.Name, nil)}, nil
	}, OnNewRole(&r.ID))
}

// UpdateRole renames a role (name not nil) and replaces its permissions
// (perms not nil); a permission added must be held by the actor. Taking
// one away is not giving.
func (w Writer) UpdateRole(ctx context.Context, sc store.Scope, id uuid.UUID, name *string, perms *[]string) (*store.Role, error) {
	var out *store.Role
	err := w.write(ctx, sc, func(tx store.Scope) ([]*store.Event, error) {
		cur, err := tx.Roles().Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if name != nil && *name != cur.Name {
			ed, ok := tx.Roles().(store.RoleEditor)
			if !ok {
				return nil, store.Invalid("name", "roles cannot be renamed on this store")
			}
			if err := ed.Rename(ctx, id, *name); err != nil {
				return nil, err
			}
		}
		if perms != nil {
			var added []string
			for _, p := range *perms {
				if !slices.Contains(cur.Permissions, p) {
					added = append(added, p)
				}
			}
			if err := w.c.knownPermissions(added); err != nil {
				return nil, err
			}
			if err := tx.Roles().SetPermissions(ctx, id, *perms); err != nil {
				return nil, err
			}
		}
		if out, err = tx.Roles().Get(ctx, id); err != nil {
			return nil, err
		}
		return []*store.Event{ModelEvent("model_updated", ModelRole, id, out.Name, Changes(roleFields(cur), roleFields(out)))}, nil
	}, OnRole(id))
	return out, err
}

// DeleteRole deletes a role: taking away, which the rule does not limit.
func (w Writer) DeleteRole(ctx context.Context, sc store.Scope, id uuid.UUID) error {
	return w.write(ctx, sc, func(tx store.Scope) ([]*store.Event, error) {
		return deleted(ctx, ModelRole, id, tx.Roles().Get, func(r *store.Role) string { return r.Name }, tx.Roles().Delete)
	})
}

// AssignRole gives a group a role: the group gains the role's
// permissions, global and on single objects, which the actor must hold.
// UnassignRole takes it back (a superuser group stays a superuser's).
func (w Writer) AssignRole(ctx context.Context, sc store.Scope, role, group uuid.UUID) error {
	return w.assignment(ctx, sc, role, group, "assigned_to", store.Roles.AssignToGroup)
}

// UnassignRole: see AssignRole.
func (w Writer) UnassignRole(ctx context.Context, sc store.Scope, role, group uuid.UUID) error {
	return w.assignment(ctx, sc, role, group, "unassigned_from", store.Roles.UnassignFromGroup)
}

func (w Writer) assignment(ctx context.Context, sc store.Scope, role, group uuid.UUID, change string,
	write func(store.Roles, context.Context, uuid.UUID, uuid.UUID) error) error {
	return w.write(ctx, sc, func(tx store.Scope) ([]*store.Event, error) {
		r, err := tx.Roles().Get(ctx, role)
		if err != nil {
			return nil, err
		}
		g, err := tx.Groups().Get(ctx, group)
		if err != nil {
			return nil, err
		}
		if err := write(tx.Roles(), ctx, role, group); err != nil {
			return nil, err
		}
		return []*store.Event{ModelEvent("model_updated", ModelRole, role, r.Name, map[string]any{change: g.Name})}, nil
	}, OnGroup(group))
}

// Permissions names permissions a role holds, on one object (Model and
// Object set) or globally (Object invalid).
type Permissions struct {
	Names  []string
	Model  string
	Object uuid.NullUUID
}

// AssignPermissions gives a role permissions: its holders must gain
// nothing the actor lacks (MayGive).
func (w Writer) AssignPermissions(ctx context.Context, sc store.Scope, role uuid.UUID, p Permissions) error {
	return w.permissions(ctx, sc, role, p, true)
}

// UnassignPermissions takes permissions from a role. Taking away is not
// giving, but the actor must hold what they take, so nobody strips a role
// of more than they could give it back.
func (w Writer) UnassignPermissions(ctx context.Context, sc store.Scope, role uuid.UUID, p Permissions) error {
	if actor := w.actor.powers(); actor != nil {
		for _, name := range p.Names {
			if !p.Object.Valid && !actor.Can(name) || p.Object.Valid && !actor.CanObject(name, p.Object.UUID) {
				return &Denied{MsgNotHeld + name + ")"}
			}
		}
	}
	return w.permissions(ctx, sc, role, p, false)
}

func (w Writer) permissions(ctx context.Context, sc store.Scope, role uuid.UUID, p Permissions, assign bool) error {
	change := map[string]any{"permissions": p.Names}
	if p.Object.Valid {
		change["model"], change["object_pk"] = p.Model, p.Object.UUID.String()
	}
	verb := "unassigned"
	if assign {
		verb = "assigned"
	}
	return w.write(ctx, sc, func(tx store.Scope) ([]*store.Event, error) {
		r, err := tx.Roles().Get(ctx, role)
		if err != nil {
			return nil, err
		}
		switch {
		case !p.Object.Valid:
			held := slices.Clone(r.Permissions)
			if assign {
				held = append(held, p.Names...)
			} else {
				held = slices.DeleteFunc(held, func(name string) bool { return slices.Contains(p.Names, name) })
			}
			err = tx.Roles().SetPermissions(ctx, role, held)
		case assign:
			err = tx.Roles().AssignObjectPermissions(ctx, role, p.Object.UUID, p.Names)
		default:
			err = tx.Roles().UnassignObjectPermissions(ctx, role, p.Object.UUID, p.Names)
		}
		if err != nil {
			return nil, err
		}
		return []*store.Event{ModelEvent("model_updated", ModelRole, role, r.Name, map[string]any{verb: change})}, nil
	}, OnRole(role))
}
