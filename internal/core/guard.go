package core

import (
	"context"
	"errors"
	"slices"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// subjectKind is what a Subject names.
type subjectKind int

const (
	subjectUser subjectKind = iota
	subjectGroup
	subjectRole
	subjectMembers
)

// Subject is what a guarded write acts on or changes.
type Subject struct {
	kind subjectKind
	id   uuid.UUID
	// created, when set, is where a write that creates the subject puts
	// its ID: before the write it holds nothing.
	created *uuid.UUID
}

// OnUser is a write on a user: the actor must be allowed to act on them
// (MayActOn), and the user must gain nothing the actor lacks.
func OnUser(id uuid.UUID) Subject { return Subject{kind: subjectUser, id: id} }

// OnGroup is a write on a group (MayChangeGroup).
func OnGroup(id uuid.UUID) Subject { return Subject{kind: subjectGroup, id: id} }

// OnRole is a write on a role's permissions (MayGive).
func OnRole(id uuid.UUID) Subject { return Subject{kind: subjectRole, id: id} }

// OnNewGroup and OnNewRole are a group or role the write creates, at *id.
func OnNewGroup(id *uuid.UUID) Subject { return Subject{kind: subjectGroup, created: id} }

// OnNewRole: see OnNewGroup.
func OnNewRole(id *uuid.UUID) Subject { return Subject{kind: subjectRole, created: id} }

// OnMembersOf is a write that changes the membership of every direct
// member of a group (deleting it): each is acted on as with OnUser.
func OnMembersOf(group uuid.UUID) Subject { return Subject{kind: subjectMembers, id: group} }

// Guard runs write in one transaction and keeps it only if actor may make
// it, by the rule of who may act on whom: every subject is read before the
// write (a user the actor may not act on, or a superuser group, stops it
// there) and again after it, inside the same transaction, and nothing may
// have gained a permission the actor does not hold. write may be nil to
// ask the question alone. A nil actor is the system (the CLI, blueprints,
// start-up), which may do anything; so may a superuser.
func (c *Core) Guard(ctx context.Context, sc store.Scope, actor *Powers, write func(tx store.Scope) error, on ...Subject) error {
	if write == nil {
		write = func(store.Scope) error { return nil }
	}
	if actor == nil || actor.Superuser {
		return sc.Tx(ctx, write)
	}
	return sc.Tx(ctx, func(tx store.Scope) error {
		on, err := c.expandMembers(ctx, tx, on)
		if err != nil {
			return err
		}
		before := make([]*Powers, len(on))
		for i, s := range on {
			if before[i], err = c.powersOf(ctx, tx, s); err != nil {
				return err
			}
			// Refuse before writing: a write that would also be invalid
			// must not tell the caller more than that it is not theirs.
			switch s.kind {
			case subjectUser:
				err = MayActOn(actor, before[i])
			case subjectGroup:
				err = MayChangeGroup(actor, before[i], before[i])
			}
			if err != nil {
				return err
			}
		}
		if err := write(tx); err != nil {
			return err
		}
		for i, s := range on {
			after, err := c.powersOf(ctx, tx, s)
			if err != nil {
				return err
			}
			if s.kind == subjectGroup {
				err = MayChangeGroup(actor, before[i], after)
			} else {
				err = MayGive(actor, before[i], after)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// expandMembers replaces OnMembersOf by OnUser for each direct member.
func (c *Core) expandMembers(ctx context.Context, tx store.Scope, on []Subject) ([]Subject, error) {
	var out []Subject
	for _, s := range on {
		if s.kind != subjectMembers {
			out = append(out, s)
			continue
		}
		ids, err := tx.Groups().Members(ctx, s.id)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			out = append(out, OnUser(id))
		}
	}
	return out, nil
}

// powersOf reads what a subject holds now; one that does not exist (yet,
// or any more) holds nothing.
func (c *Core) powersOf(ctx context.Context, sc store.Scope, s Subject) (*Powers, error) {
	id := s.id
	if s.created != nil {
		id = *s.created
	}
	var p *Powers
	var err error
	switch {
	case id == uuid.Nil:
		return &Powers{}, nil
	case s.kind == subjectUser:
		p, err = c.UserPowers(ctx, sc, id)
	case s.kind == subjectGroup:
		p, err = c.GroupPowers(ctx, sc, id)
	default:
		p, err = c.RolePowers(ctx, sc, id)
	}
	if errors.Is(err, store.ErrNotFound) {
		return &Powers{}, nil
	}
	return p, err
}

// catalog is the permission names short names expand to.
func (c *Core) catalog() []string {
	if c.Catalog == nil {
		return nil
	}
	return c.Catalog()
}

// UserPowers is what a user holds: superuser rights through a superuser
// group or a group below one, and the global and object permissions of the
// roles of their groups and of those groups' ancestors.
func (c *Core) UserPowers(ctx context.Context, sc store.Scope, userID uuid.UUID) (*Powers, error) {
	su, err := c.IsSuperuser(ctx, sc, userID)
	if err != nil || su {
		return &Powers{Superuser: su}, err
	}
	roles, err := sc.Roles().ForUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	p := &Powers{}
	catalog := c.catalog()
	for _, r := range roles {
		for _, perm := range r.Permissions {
			p.grant(perm, catalog)
		}
	}
	ops, err := sc.Roles().ObjectPermissionsForUser(ctx, userID)
	for _, op := range ops {
		p.grantOn(op.Permission, op.ObjectID)
	}
	return p, err
}

// GroupPowers is what a group gives its members: superuser rights when it
// or an ancestor is a superuser group, and the roles of it and its
// ancestors. Every member holds at least this, so a write that gives the
// group nothing the actor lacks gives none of them anything either.
func (c *Core) GroupPowers(ctx context.Context, sc store.Scope, groupID uuid.UUID) (*Powers, error) {
	p := &Powers{}
	var chain []uuid.UUID
	for id := (uuid.NullUUID{UUID: groupID, Valid: true}); id.Valid && !slices.Contains(chain, id.UUID); {
		g, err := sc.Groups().Get(ctx, id.UUID)
		if err != nil {
			return nil, err
		}
		chain = append(chain, g.ID)
		p.Superuser = p.Superuser || g.IsSuperuser
		id = g.ParentID
	}
	if p.Superuser {
		return p, nil
	}
	byGroup, err := sc.Roles().ForGroups(ctx, chain)
	if err != nil {
		return nil, err
	}
	var seen []uuid.UUID
	for _, roles := range byGroup {
		for _, r := range roles {
			if slices.Contains(seen, r.ID) {
				continue
			}
			seen = append(seen, r.ID)
			if err := c.addRole(ctx, sc, p, r); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

// RolePowers is what a role gives the members of the groups holding it.
func (c *Core) RolePowers(ctx context.Context, sc store.Scope, roleID uuid.UUID) (*Powers, error) {
	r, err := sc.Roles().Get(ctx, roleID)
	if err != nil {
		return nil, err
	}
	p := &Powers{}
	return p, c.addRole(ctx, sc, p, r)
}

func (c *Core) addRole(ctx context.Context, sc store.Scope, p *Powers, r *store.Role) error {
	catalog := c.catalog()
	for _, perm := range r.Permissions {
		p.grant(perm, catalog)
	}
	ops, err := sc.Roles().ObjectPermissions(ctx, r.ID, uuid.Nil)
	for _, op := range ops {
		p.grantOn(op.Permission, op.ObjectID)
	}
	return err
}
