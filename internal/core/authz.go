package core

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// This file is the rule of who may act on whom (docs/security.md): what a
// user holds, and the three questions every write on users, groups and
// roles asks of it. guard.go applies them to the store.

// Powers is what a user holds, or what a group or role gives the users
// holding it: superuser rights, permissions on every object of a model
// (global), and permissions on single objects (Authentik's object
// permissions). The zero value holds nothing.
type Powers struct {
	Superuser bool
	// Global holds "app_label.codename" names. A role may name a
	// permission without its app label; such a name is stored expanded
	// to the catalog's full names, or as given when no catalog knows it.
	Global map[string]bool
	// Objects maps a permission to the objects it is held on alone.
	Objects map[string]map[uuid.UUID]bool
}

// Can reports whether p holds perm on every object: superusers hold
// everything, and a name held without its app label covers every app's.
func (p *Powers) Can(perm string) bool {
	if p.Superuser || p.Global[perm] {
		return true
	}
	_, code, ok := strings.Cut(perm, ".")
	return ok && p.Global[code]
}

// CanObject reports whether p holds perm on the object id: globally, or
// on that object alone.
func (p *Powers) CanObject(perm string, id uuid.UUID) bool {
	return p.Can(perm) || p.Objects[perm][id]
}

// grant adds a global permission. A short name stands for every catalog
// name with that codename, as Can reads it; expanding it here lets one
// holding the full names be compared with one holding the short name.
func (p *Powers) grant(perm string, catalog []string) {
	if p.Global == nil {
		p.Global = map[string]bool{}
	}
	if strings.Contains(perm, ".") {
		p.Global[perm] = true
		return
	}
	expanded := false
	for _, full := range catalog {
		if _, code, _ := strings.Cut(full, "."); code == perm {
			p.Global[full], expanded = true, true
		}
	}
	if !expanded {
		p.Global[perm] = true
	}
}

// grantOn adds a permission on one object.
func (p *Powers) grantOn(perm string, id uuid.UUID) {
	if p.Objects == nil {
		p.Objects = map[string]map[uuid.UUID]bool{}
	}
	if p.Objects[perm] == nil {
		p.Objects[perm] = map[uuid.UUID]bool{}
	}
	p.Objects[perm][id] = true
}

// superuserRights names superuser status among the things Lacks returns.
const superuserRights = "superuser rights"

// Lacks lists, sorted, what q holds that p does not: superuser rights, or
// permission names (a permission on single objects by its name alone, as
// the caller names it when handing it out). Empty when p holds all of q.
func (p *Powers) Lacks(q *Powers) []string {
	if p.Superuser {
		return nil
	}
	if q.Superuser {
		return []string{superuserRights}
	}
	var out []string
	for _, perm := range slices.Sorted(maps.Keys(q.Global)) {
		if !p.Can(perm) {
			out = append(out, perm)
		}
	}
	for _, perm := range slices.Sorted(maps.Keys(q.Objects)) {
		for id := range q.Objects[perm] {
			if !p.CanObject(perm, id) && !slices.Contains(out, perm) {
				out = append(out, perm)
			}
		}
	}
	return out
}

// gained is what after holds that before did not.
func gained(before, after *Powers) *Powers {
	g := &Powers{Superuser: after.Superuser && !before.Superuser}
	for perm := range after.Global {
		if !before.Can(perm) {
			g.grant(perm, nil)
		}
	}
	for perm, ids := range after.Objects {
		for id := range ids {
			if !before.CanObject(perm, id) {
				g.grantOn(perm, id)
			}
		}
	}
	return g
}

// The refusals, worded for the API's problem details; the admin console
// translates them (internal/admin, apiMessages).
const (
	MsgSuperuserTarget = "only superusers may act on a superuser"
	MsgStrongerTarget  = "you cannot act on a user who holds permissions you do not hold"
	MsgSuperuserGroup  = "only superusers may change a superuser group, a group below one, or their members"
	MsgGrantSuperuser  = "only superusers may grant superuser rights"
	// MsgNotHeld is followed by the permission and ")".
	MsgNotHeld = "you can only assign permissions you hold yourself (not "
)

// Denied is a write the rule refuses; the API answers it with 403.
type Denied struct{ msg string }

func (d *Denied) Error() string { return d.msg }

// MayActOn is the rule for acting on a user (changing, deactivating,
// deleting them, setting their password, changing their groups,
// impersonating them, minting or deleting their tokens, ending their
// sessions): a superuser may act on anyone; anyone else only on a user who
// is not a superuser and holds nothing, globally or on any object, that
// the actor does not hold.
func MayActOn(actor, target *Powers) error {
	switch {
	case actor.Superuser:
		return nil
	case target.Superuser:
		return &Denied{MsgSuperuserTarget}
	case len(actor.Lacks(target)) > 0:
		return &Denied{MsgStrongerTarget}
	}
	return nil
}

// MayGive is the rule for every write that changes what someone holds: a
// user whose membership changes, a group whose roles or parent change, a
// role whose permissions change. before and after are the subject's powers
// around the write; what it gains must be held by the actor, and only a
// superuser gives superuser rights. Taking away is not giving.
func MayGive(actor, before, after *Powers) error {
	if actor.Superuser {
		return nil
	}
	g := gained(before, after)
	if g.Superuser {
		return &Denied{MsgGrantSuperuser}
	}
	if lacking := actor.Lacks(g); len(lacking) > 0 {
		return &Denied{MsgNotHeld + lacking[0] + ")"}
	}
	return nil
}

// MayChangeGroup is the rule for any write to a group (its fields, roles,
// parent, members, or deleting it): a group that is or was a superuser
// group, or below one, is a superuser's alone; and the write gives
// nothing the actor lacks.
func MayChangeGroup(actor, before, after *Powers) error {
	if !actor.Superuser && before.Superuser {
		return &Denied{MsgSuperuserGroup}
	}
	return MayGive(actor, before, after)
}

// String shows powers in test failures.
func (p *Powers) String() string {
	if p == nil {
		return "nothing"
	}
	var parts []string
	if p.Superuser {
		parts = append(parts, superuserRights)
	}
	parts = append(parts, slices.Sorted(maps.Keys(p.Global))...)
	for _, perm := range slices.Sorted(maps.Keys(p.Objects)) {
		parts = append(parts, fmt.Sprintf("%s on %d objects", perm, len(p.Objects[perm])))
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}
