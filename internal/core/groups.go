package core

import (
	"context"
	"slices"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// groupFields are a group's fields by Authentik's names, its directly
// assigned roles included, read in sc: what a model_updated event
// compares.
func groupFields(ctx context.Context, sc store.Scope, g *store.Group) (map[string]any, error) {
	byGroup, err := sc.Roles().ForGroups(ctx, []uuid.UUID{g.ID})
	if err != nil {
		return nil, err
	}
	roles := []uuid.UUID{}
	for _, r := range byGroup[g.ID] {
		roles = append(roles, r.ID)
	}
	var parent any
	if g.ParentID.Valid {
		parent = g.ParentID.UUID
	}
	return map[string]any{"name": g.Name, "is_superuser": g.IsSuperuser, "parent": parent,
		"attributes": g.Attributes, "roles": roles}, nil
}

// CreateGroup stores g and, when roles is not nil, assigns it those roles.
// What the group gives its members (superuser rights of it or its parent,
// its roles' permissions) must all be held by the actor (MayGive).
func (w Writer) CreateGroup(ctx context.Context, sc store.Scope, g *store.Group, roles []uuid.UUID) error {
	return w.write(ctx, sc, func(tx store.Scope) ([]*store.Event, error) {
		if err := tx.Groups().Create(ctx, g); err != nil {
			return nil, err
		}
		if roles != nil {
			if err := tx.Roles().SetForGroup(ctx, g.ID, roles); err != nil {
				return nil, err
			}
		}
		return []*store.Event{ModelEvent("model_created", ModelGroup, g.ID, g.Name, nil)}, nil
	}, OnNewGroup(&g.ID))
}

// UpdateGroup applies change to the group whose version is version (any
// when 0) and, when roles is not nil, makes them its roles. A superuser
// group, or one below one, is a superuser's alone, and the group may gain
// nothing the actor lacks (MayChangeGroup): a refused write leaves the
// group as it was, the other fields included.
func (w Writer) UpdateGroup(ctx context.Context, sc store.Scope, id uuid.UUID, version int64, change func(*store.Group) error, roles *[]uuid.UUID) (*store.Group, error) {
	var out *store.Group
	err := w.write(ctx, sc, func(tx store.Scope) ([]*store.Event, error) {
		cur, err := tx.Groups().Get(ctx, id)
		if err != nil {
			return nil, err
		}
		before, err := groupFields(ctx, tx, cur)
		if err != nil {
			return nil, err
		}
		snapshot := encode(before)
		g, err := tx.Groups().Update(ctx, id, func(g *store.Group) error {
			if version != 0 && version != g.Version {
				return store.ErrConflict
			}
			return change(g)
		})
		if err != nil {
			return nil, err
		}
		if roles != nil {
			if err := tx.Roles().SetForGroup(ctx, id, *roles); err != nil {
				return nil, err
			}
			// SetForGroup bumps the version when the roles change.
			if g, err = tx.Groups().Get(ctx, id); err != nil {
				return nil, err
			}
		}
		after, err := groupFields(ctx, tx, g)
		if err != nil {
			return nil, err
		}
		out = g
		return []*store.Event{ModelEvent("model_updated", ModelGroup, id, g.Name, Changes(snapshot, after))}, nil
	}, OnGroup(id))
	return out, err
}

// DeleteGroup deletes a group. It takes each of its direct members out of
// it, so the actor must be allowed to act on each of them too; its child
// groups move to the top level.
func (w Writer) DeleteGroup(ctx context.Context, sc store.Scope, id uuid.UUID) error {
	return w.write(ctx, sc, func(tx store.Scope) ([]*store.Event, error) {
		return deleted(ctx, ModelGroup, id, tx.Groups().Get, func(g *store.Group) string { return g.Name }, tx.Groups().Delete)
	}, OnGroup(id), OnMembersOf(id))
}

// AddMember puts a user in a group; RemoveMember takes them out. A
// membership is the group's and the user's: both are acted on, and what
// the user gains is compared.
func (w Writer) AddMember(ctx context.Context, sc store.Scope, group, user uuid.UUID) error {
	return w.members(ctx, sc, user, []uuid.UUID{group}, nil)
}

// RemoveMember: see AddMember.
func (w Writer) RemoveMember(ctx context.Context, sc store.Scope, group, user uuid.UUID) error {
	return w.members(ctx, sc, user, nil, []uuid.UUID{group})
}

// SetUserGroups makes groups exactly the user's direct groups (what a
// blueprint's groups attribute says), in one write; it reports whether
// any membership changed.
func (w Writer) SetUserGroups(ctx context.Context, sc store.Scope, user uuid.UUID, groups []uuid.UUID) (bool, error) {
	cur, err := sc.Groups().ForUser(ctx, user, false)
	if err != nil {
		return false, err
	}
	var add, remove []uuid.UUID
	for _, g := range cur {
		if !slices.Contains(groups, g.ID) {
			remove = append(remove, g.ID)
		}
	}
	for _, id := range groups {
		if !slices.ContainsFunc(cur, func(g *store.Group) bool { return g.ID == id }) && !slices.Contains(add, id) {
			add = append(add, id)
		}
	}
	if len(add)+len(remove) == 0 {
		return false, nil
	}
	return true, w.members(ctx, sc, user, add, remove)
}

// members adds the user to the groups add and takes them out of remove,
// recording a model_updated event per group (users_added, users_removed).
func (w Writer) members(ctx context.Context, sc store.Scope, user uuid.UUID, add, remove []uuid.UUID) error {
	on := []Subject{OnUser(user)}
	for _, g := range append(slices.Clone(add), remove...) {
		on = append(on, OnGroup(g))
	}
	return w.write(ctx, sc, func(tx store.Scope) ([]*store.Event, error) {
		u, err := tx.Users().Get(ctx, user)
		if err != nil {
			return nil, err
		}
		var events []*store.Event
		for _, op := range []struct {
			groups []uuid.UUID
			key    string
			change func(store.Groups, context.Context, uuid.UUID, uuid.UUID) error
		}{{add, "users_added", store.Groups.AddMember}, {remove, "users_removed", store.Groups.RemoveMember}} {
			for _, id := range op.groups {
				g, err := tx.Groups().Get(ctx, id)
				if err != nil {
					return nil, err
				}
				if err := op.change(tx.Groups(), ctx, id, user); err != nil {
					return nil, err
				}
				events = append(events, ModelEvent("model_updated", ModelGroup, id, g.Name,
					map[string]any{op.key: []any{u.Username}}))
			}
		}
		return events, nil
	}, on...)
}
