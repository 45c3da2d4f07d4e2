package core_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

var objA, objB = uuid.MustParse("0195e5b0-0000-7000-8000-00000000000a"), uuid.MustParse("0195e5b0-0000-7000-8000-00000000000b")

// powers builds Powers from "perm" and "perm@a" / "perm@b" (on one object).
func powers(super bool, perms ...string) *core.Powers {
	p := &core.Powers{Superuser: super, Global: map[string]bool{}, Objects: map[string]map[uuid.UUID]bool{}}
	for _, s := range perms {
		perm, obj, on := strings.Cut(s, "@")
		if !on {
			p.Global[perm] = true
			continue
		}
		if p.Objects[perm] == nil {
			p.Objects[perm] = map[uuid.UUID]bool{}
		}
		p.Objects[perm][map[string]uuid.UUID{"a": objA, "b": objB}[obj]] = true
	}
	return p
}

var (
	nothing  = powers(false)
	superu   = powers(true)
	helpdesk = powers(false, "authentik_core.change_user", "authentik_core.view_user")
)

// denial is the message of a *core.Denied, "" for nil, or the error
// itself when it is something else.
func denial(err error) string {
	var d *core.Denied
	switch {
	case err == nil:
		return ""
	case errors.As(err, &d):
		return d.Error()
	}
	return "unexpected: " + err.Error()
}

func TestMayActOn(t *testing.T) {
	for _, c := range []struct {
		name          string
		actor, target *core.Powers
		want          string
	}{
		{"a superuser acts on a superuser", superu, superu, ""},
		{"a superuser acts on anyone", superu, helpdesk, ""},
		{"nobody else acts on a superuser", helpdesk, superu, core.MsgSuperuserTarget},
		{"not even one who holds every permission", powers(false, "authentik_core.change_user", "authentik_core.view_user",
			"authentik_core.delete_user"), superu, core.MsgSuperuserTarget},
		{"a user holding nothing", helpdesk, nothing, ""},
		{"a user holding the same", helpdesk, powers(false, "authentik_core.view_user", "authentik_core.change_user"), ""},
		{"a user holding one permission more", helpdesk, powers(false, "authentik_core.delete_user"), core.MsgStrongerTarget},
		{"a user holding a permission on one object the actor lacks", helpdesk,
			powers(false, "authentik_core.change_application@a"), core.MsgStrongerTarget},
		{"the actor's global permission covers the target's object one", powers(false, "authentik_core.change_application"),
			powers(false, "authentik_core.change_application@a"), ""},
		{"the actor's object permission covers the same object only", powers(false, "authentik_core.change_application@a"),
			powers(false, "authentik_core.change_application@b"), core.MsgStrongerTarget},
		{"an object permission never covers a global one", powers(false, "authentik_core.change_application@a"),
			powers(false, "authentik_core.change_application"), core.MsgStrongerTarget},
		{"a short name covers the full one", powers(false, "change_user"), powers(false, "authentik_core.change_user"), ""},
		{"an unknown name is covered only by itself", helpdesk, powers(false, "frobnicate"), core.MsgStrongerTarget},
	} {
		if got := denial(core.MayActOn(c.actor, c.target)); got != c.want {
			t.Errorf("%s: MayActOn(%v, %v) = %q, want %q", c.name, c.actor, c.target, got, c.want)
		}
	}
}

func TestMayGiveAndMayChangeGroup(t *testing.T) {
	notHeld := func(perm string) string { return core.MsgNotHeld + perm + ")" }
	for _, c := range []struct {
		name                 string
		actor, before, after *core.Powers
		want, wantGroup      string // MayGive, MayChangeGroup
	}{
		{"a superuser gives anything", superu, nothing, superu, "", ""},
		{"a superuser changes a superuser group", superu, superu, nothing, "", ""},
		{"giving superuser rights", helpdesk, nothing, superu, core.MsgGrantSuperuser, core.MsgGrantSuperuser},
		{"taking superuser rights away", helpdesk, superu, nothing, "", core.MsgSuperuserGroup},
		{"any write to a superuser group", helpdesk, superu, superu, "", core.MsgSuperuserGroup},
		{"giving what the actor holds", helpdesk, nothing, powers(false, "authentik_core.view_user"), "", ""},
		{"giving a global permission the actor lacks", helpdesk, nothing, powers(false, "authentik_core.delete_user"),
			notHeld("authentik_core.delete_user"), notHeld("authentik_core.delete_user")},
		{"giving a permission on one object the actor lacks", helpdesk, nothing,
			powers(false, "authentik_core.change_application@a"), notHeld("authentik_core.change_application"),
			notHeld("authentik_core.change_application")},
		{"giving a permission on the object the actor holds it on", powers(false, "authentik_core.change_application@a"),
			nothing, powers(false, "authentik_core.change_application@a"), "", ""},
		{"giving it on another object", powers(false, "authentik_core.change_application@a"), nothing,
			powers(false, "authentik_core.change_application@b"), notHeld("authentik_core.change_application"),
			notHeld("authentik_core.change_application")},
		{"keeping what the subject already had", helpdesk, powers(false, "authentik_core.delete_user"),
			powers(false, "authentik_core.delete_user", "authentik_core.view_user"), "", ""},
		{"what a global permission already gave is not gained on one object", helpdesk,
			powers(false, "authentik_core.delete_user"), powers(false, "authentik_core.delete_user@a"), "", ""},
		{"taking a permission away", helpdesk, powers(false, "authentik_core.delete_user"), nothing, "", ""},
	} {
		if got := denial(core.MayGive(c.actor, c.before, c.after)); got != c.want {
			t.Errorf("%s: MayGive = %q, want %q", c.name, got, c.want)
		}
		if got := denial(core.MayChangeGroup(c.actor, c.before, c.after)); got != c.wantGroup {
			t.Errorf("%s: MayChangeGroup = %q, want %q", c.name, got, c.wantGroup)
		}
	}
}

// TestGuard drives the rule through the store: what each subject holds is
// read before and after the write, in its transaction, and a refused
// write leaves nothing behind.
func TestGuard(t *testing.T) {
	e := setup(t, cheap)
	ctx := t.Context()
	e.c.Catalog = func() []string { return []string{"authentik_core.view_user", "authentik_core.change_group"} }
	mkGroup := func(name string, super bool, parent uuid.UUID) *store.Group {
		g := &store.Group{Name: name, IsSuperuser: super, ParentID: uuid.NullUUID{UUID: parent, Valid: parent != uuid.Nil}}
		if err := e.sc.Groups().Create(ctx, g); err != nil {
			t.Fatal(err)
		}
		return g
	}
	mkRole := func(name string, perms []string, on map[uuid.UUID][]string, groups ...*store.Group) *store.Role {
		r := &store.Role{Name: name, Permissions: perms}
		must(t, e.sc.Roles().Create(ctx, r))
		for obj, ps := range on {
			must(t, e.sc.Roles().AssignObjectPermissions(ctx, r.ID, obj, ps))
		}
		for _, g := range groups {
			must(t, e.sc.Roles().AssignToGroup(ctx, r.ID, g.ID))
		}
		return r
	}
	admins := mkGroup("admins", true, uuid.Nil)
	below := mkGroup("below-admins", false, admins.ID)
	managers := mkGroup("managers", false, uuid.Nil)
	editors := mkGroup("alpha-editors", false, uuid.Nil)
	mkRole("manage", []string{"change_group", "view_user"}, nil, managers) // short names, as a role may hold them
	alphaRole := mkRole("alpha", nil, map[uuid.UUID][]string{objA: {"authentik_core.change_application"}}, editors)
	root, carol, dave := e.newUser(t, "root", ""), e.newUser(t, "carol", ""), e.newUser(t, "dave", "")
	must(t, e.sc.Groups().AddMember(ctx, admins.ID, root.ID))
	must(t, e.sc.Groups().AddMember(ctx, managers.ID, carol.ID))
	must(t, e.sc.Groups().AddMember(ctx, editors.ID, dave.ID))
	actor, err := e.c.UserPowers(ctx, e.sc, carol.ID)
	if err != nil || !actor.Can("authentik_core.view_user") || actor.Can("authentik_core.delete_user") {
		t.Fatalf("carol's powers: %v (%v)", actor, err)
	}
	join := func(g, u uuid.UUID) func(store.Scope) error {
		return func(tx store.Scope) error { return tx.Groups().AddMember(ctx, g, u) }
	}
	var created uuid.UUID
	for _, c := range []struct {
		name  string
		actor *core.Powers
		write func(store.Scope) error
		on    []core.Subject
		want  string
	}{
		{"join a group whose role holds an object permission", actor, join(editors.ID, carol.ID),
			[]core.Subject{core.OnGroup(editors.ID), core.OnUser(carol.ID)}, core.MsgNotHeld + "authentik_core.change_application)"},
		{"give one's own group that role", actor, func(tx store.Scope) error {
			return tx.Roles().AssignToGroup(ctx, alphaRole.ID, managers.ID)
		}, []core.Subject{core.OnGroup(managers.ID)}, core.MsgNotHeld + "authentik_core.change_application)"},
		{"demote the superuser group", actor, func(tx store.Scope) error {
			_, err := tx.Groups().Update(ctx, admins.ID, func(g *store.Group) error { g.IsSuperuser = false; return nil })
			return err
		}, []core.Subject{core.OnGroup(admins.ID)}, core.MsgSuperuserGroup},
		{"take a group from under the superuser group", actor, func(tx store.Scope) error {
			_, err := tx.Groups().Update(ctx, below.ID, func(g *store.Group) error { g.ParentID = uuid.NullUUID{}; return nil })
			return err
		}, []core.Subject{core.OnGroup(below.ID)}, core.MsgSuperuserGroup},
		{"create a group below the superuser group", actor, func(tx store.Scope) error {
			g := &store.Group{Name: "sneaky", ParentID: uuid.NullUUID{UUID: admins.ID, Valid: true}}
			err := tx.Groups().Create(ctx, g)
			created = g.ID
			return err
		}, []core.Subject{core.OnNewGroup(&created)}, core.MsgGrantSuperuser},
		{"set a superuser's password", actor, nil, []core.Subject{core.OnUser(root.ID)}, core.MsgSuperuserTarget},
		{"act on a user with an object permission the actor lacks", actor, nil, []core.Subject{core.OnUser(dave.ID)}, core.MsgStrongerTarget},
		{"delete a group with a stronger member", actor, func(tx store.Scope) error { return tx.Groups().Delete(ctx, editors.ID) },
			[]core.Subject{core.OnGroup(editors.ID), core.OnMembersOf(editors.ID)}, core.MsgStrongerTarget},
		{"act on oneself", actor, nil, []core.Subject{core.OnUser(carol.ID)}, ""},
		{"the system may do anything", nil, join(editors.ID, carol.ID),
			[]core.Subject{core.OnGroup(editors.ID), core.OnUser(carol.ID)}, ""},
	} {
		if got := denial(e.c.Guard(ctx, e.sc, c.actor, c.write, c.on...)); got != c.want {
			t.Errorf("%s: Guard = %q, want %q", c.name, got, c.want)
		}
	}
	// Only the system's write was kept.
	if ids, _ := e.sc.Groups().Members(ctx, editors.ID); len(ids) != 2 {
		t.Errorf("alpha-editors has %d members, want dave and carol (added by the system)", len(ids))
	}
	if rs, _ := e.sc.Roles().ForGroups(ctx, []uuid.UUID{managers.ID}); len(rs[managers.ID]) != 1 {
		t.Errorf("managers has roles %v, want its own", rs[managers.ID])
	}
	if g, err := e.sc.Groups().Get(ctx, below.ID); err != nil || g.ParentID.UUID != admins.ID {
		t.Errorf("below-admins moved: %+v, %v", g, err)
	}
	if _, err := e.sc.Groups().GetByName(ctx, "sneaky"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused group was created: %v", err)
	}
	if g, err := e.sc.Groups().Get(ctx, admins.ID); err != nil || !g.IsSuperuser {
		t.Errorf("the superuser group changed: %+v, %v", g, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
