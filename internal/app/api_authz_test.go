package app

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// These tests are the rule of docs/security.md, "Who may act on whom",
// driven through the API by delegated admins who are not superusers.

// mustGroup reads a group from the store, failing the test if it is gone.
func (e *testEnv) mustGroup(id uuid.UUID) *store.Group {
	e.t.Helper()
	g, err := e.sc.Groups().Get(context.Background(), id)
	if err != nil {
		e.t.Fatalf("group %s: %v", id, err)
	}
	return g
}

// memberOf reports whether u is a direct member of g.
func (e *testEnv) memberOf(g, u uuid.UUID) bool {
	e.t.Helper()
	ids, err := e.sc.Groups().Members(context.Background(), g)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, id := range ids {
		if id == u {
			return true
		}
	}
	return false
}

// superuserGroup returns the group superuser(name) made.
func (e *testEnv) superuserGroup(name string) *store.Group {
	e.t.Helper()
	g, err := e.sc.Groups().GetByName(context.Background(), "admins-"+name)
	if err != nil {
		e.t.Fatal(err)
	}
	return g
}

// Finding 2: change_group does not reach superuser groups, their members
// or the groups below them, in either direction of is_superuser.
func TestAuthzSuperuserGroupsNeedASuperuser(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	root := e.superuser("root")
	admins := e.superuserGroup("root")
	below := &store.Group{Name: "below-admins", ParentID: uuid.NullUUID{UUID: admins.ID, Valid: true}}
	plain := &store.Group{Name: "plain"}
	for _, g := range []*store.Group{below, plain} {
		if err := e.sc.Groups().Create(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	ops := e.createUser("ops", "Ops-Password-1", store.UserInternal)
	if err := e.sc.Groups().AddMember(ctx, below.ID, ops.ID); err != nil {
		t.Fatal(err)
	}
	mallory := e.createUser("mallory", "Mallory-Password-1", store.UserInternal)
	e.grant(mallory, "authentik_core.view_group", "authentik_core.add_group", "authentik_core.change_group",
		"authentik_core.delete_group", "authentik_core.view_user")
	m := e.apiAs(mallory)
	gp := func(g *store.Group) string { return "core/groups/" + g.ID.String() + "/" }

	for _, c := range []struct {
		name, method, path string
		body               any
	}{
		{"demote the superuser group", "PATCH", gp(admins), map[string]any{"is_superuser": false}},
		{"rename the superuser group", "PATCH", gp(admins), map[string]any{"name": "harmless"}},
		{"take a group out from under the superuser group", "PATCH", gp(below), map[string]any{"parent": nil}},
		{"promote a plain group", "PATCH", gp(plain), map[string]any{"is_superuser": true}},
		{"create a superuser group", "POST", "core/groups/", map[string]any{"name": "mine", "is_superuser": true}},
		{"remove a superuser from the superuser group", "POST", gp(admins) + "remove_user/", map[string]any{"pk": root.ID}},
		{"join the superuser group", "POST", gp(admins) + "add_user/", map[string]any{"pk": mallory.ID}},
		{"remove a member from a group below it", "POST", gp(below) + "remove_user/", map[string]any{"pk": ops.ID}},
		{"delete a group below it", "DELETE", gp(below), nil},
	} {
		if r := m.call(c.method, c.path, c.body, true); r.status != 403 {
			t.Errorf("%s: %d %s, want 403", c.name, r.status, r.body)
		}
	}
	if g := e.mustGroup(admins.ID); !g.IsSuperuser || g.Name != "admins-root" {
		t.Errorf("the superuser group changed: %+v", g)
	}
	if g := e.mustGroup(below.ID); g.ParentID.UUID != admins.ID {
		t.Errorf("the group below the superuser group moved: %+v", g)
	}
	if e.mustGroup(plain.ID).IsSuperuser {
		t.Error("the plain group became a superuser group")
	}
	if !e.memberOf(admins.ID, root.ID) || e.memberOf(admins.ID, mallory.ID) || !e.memberOf(below.ID, ops.ID) {
		t.Error("a refused membership change was stored")
	}
	if _, err := e.sc.Groups().GetByName(ctx, "mine"); err == nil {
		t.Error("the refused superuser group was created")
	}
	// The same requests from a superuser go through.
	a := e.apiAs(root)
	if r := a.call("PATCH", gp(plain), map[string]any{"is_superuser": true}, true); r.status != 200 {
		t.Errorf("a superuser promotes a group: %d %s", r.status, r.body)
	}
	if r := a.call("PATCH", gp(plain), map[string]any{"is_superuser": false}, true); r.status != 200 {
		t.Errorf("a superuser demotes a group: %d %s", r.status, r.body)
	}
}

// Finding 3: delegated permissions stop at users who hold more than the
// caller: superusers first, and anyone with a permission the caller lacks.
func TestAuthzDelegatedAdminsCannotActOnStrongerUsers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	root := e.superuser("root")
	admins := e.superuserGroup("root")
	rootToken, err := e.app.Core().CreateToken(ctx, e.sc, &store.Token{UserID: root.ID, Intent: store.IntentAPI, Identifier: "root-ci"}, "")
	if err != nil || rootToken == "" {
		t.Fatal(err)
	}
	e.client().login("root", "Admin-Password-1")
	powerful := e.createUser("powerful", "Powerful-Password-1", store.UserInternal)
	e.grant(powerful, "authentik_core.add_application")
	alice := e.createUser("alice", "Alice-Password-1", store.UserInternal)
	staff := &store.Group{Name: "staff"}
	if err := e.sc.Groups().Create(ctx, staff); err != nil {
		t.Fatal(err)
	}
	for _, u := range []*store.User{root, powerful, alice} {
		if err := e.sc.Groups().AddMember(ctx, staff.ID, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	help := e.createUser("help", "Help-Password-1", store.UserInternal)
	e.grant(help, "authentik_core.view_user", "authentik_core.change_user", "authentik_core.delete_user",
		"authentik_core.reset_user_password", "authentik_core.view_group", "authentik_core.change_group",
		"authentik_core.delete_group", "authentik_core.view_token", "authentik_core.delete_token",
		"authentik_core.view_authenticatedsession", "authentik_core.delete_authenticatedsession")
	h := e.apiAs(help)

	before, _ := e.sc.Users().Get(ctx, root.ID)
	up := func(u *store.User) string { return "core/users/" + u.ID.String() + "/" }
	for _, target := range []*store.User{root, powerful} {
		for _, c := range []struct {
			name, method, path string
			body               any
		}{
			{"set the password", "POST", up(target) + "set_password/", map[string]any{"password": "Taken-Over-1"}},
			{"deactivate", "PATCH", up(target), map[string]any{"is_active": false}},
			{"make external", "PATCH", up(target), map[string]any{"type": "external"}},
			{"take out of a group", "POST", "core/groups/" + staff.ID.String() + "/remove_user/", map[string]any{"pk": target.ID}},
			{"delete", "DELETE", up(target), nil},
		} {
			if r := h.call(c.method, c.path, c.body, true); r.status != 403 {
				t.Errorf("%s %s: %d %s, want 403", c.name, target.Username, r.status, r.body)
			}
		}
	}
	after, err := e.sc.Users().Get(ctx, root.ID)
	if err != nil || after.PasswordHash != before.PasswordHash || !after.IsActive || after.Type != store.UserInternal {
		t.Errorf("the superuser changed: %+v (err %v)", after, err)
	}
	if p, err := e.sc.Users().Get(ctx, powerful.ID); err != nil || !p.IsActive || !e.memberOf(staff.ID, powerful.ID) {
		t.Errorf("the stronger user changed: %+v (err %v)", p, err)
	}
	if r := h.call("DELETE", "core/groups/"+admins.ID.String()+"/", nil, true); r.status != 403 {
		t.Errorf("delete the superuser group: %d %s, want 403", r.status, r.body)
	}
	if r := h.call("DELETE", "core/tokens/root-ci/", nil, true); r.status != 403 {
		t.Errorf("delete a superuser's token: %d %s, want 403", r.status, r.body)
	}
	if r := h.call("DELETE", "core/groups/"+staff.ID.String()+"/", nil, true); r.status != 403 {
		t.Errorf("delete a group with a superuser in it: %d %s, want 403", r.status, r.body)
	}
	e.mustGroup(admins.ID)
	e.mustGroup(staff.ID)
	if _, err := e.sc.Tokens().Get(ctx, mustToken(t, e, root.ID, "root-ci").ID); err != nil {
		t.Errorf("the superuser's token is gone: %v", err)
	}
	sessions := e.apiAs(root).call("GET", "core/authenticated_sessions/?user__username=root", nil, true).results(t)
	if len(sessions) != 1 {
		t.Fatalf("root's sessions: %v", sessions)
	}
	if r := h.call("DELETE", "core/authenticated_sessions/"+sessions[0]["uuid"].(string)+"/", nil, true); r.status != 403 {
		t.Errorf("end a superuser's session: %d %s, want 403", r.status, r.body)
	}

	// A user who holds nothing the caller lacks is within reach.
	for _, c := range []struct {
		name, method, path string
		body               any
		want               int
	}{
		{"set alice's password", "POST", up(alice) + "set_password/", map[string]any{"password": "Reset-By-Help-1"}, 204},
		{"rename alice", "PATCH", up(alice), map[string]any{"name": "Alice A."}, 200},
		{"take alice out of staff", "POST", "core/groups/" + staff.ID.String() + "/remove_user/", map[string]any{"pk": alice.ID}, 204},
		{"delete alice", "DELETE", up(alice), nil, 204},
	} {
		if r := h.call(c.method, c.path, c.body, true); r.status != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, r.status, r.body, c.want)
		}
	}
}

// mustToken finds a user's token by identifier.
func mustToken(t *testing.T, e *testEnv, user uuid.UUID, identifier string) *store.Token {
	t.Helper()
	ts, err := e.sc.Tokens().ListForUser(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range ts {
		if tok.Identifier == identifier {
			return tok
		}
	}
	t.Fatalf("no token %q", identifier)
	return nil
}

// Finding 4: a permission on one object is a permission too. Joining a
// group, giving one's own group a role, assigning a role, moving a group,
// impersonating and minting a token must not hand a caller, or anyone, a
// permission on an object that the caller does not hold.
func TestAuthzObjectPermissionsCannotBeGainedOrBypassed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	root := e.apiAs(e.superuser("root"))
	alpha := root.create("core/applications/", map[string]any{"name": "Alpha", "slug": "alpha"})["pk"].(string)
	alphaEditors := &store.Role{Name: "alpha-editors"}
	team := &store.Group{Name: "alpha-team"}
	if err := e.sc.Roles().Create(ctx, alphaEditors); err != nil {
		t.Fatal(err)
	}
	if err := e.sc.Groups().Create(ctx, team); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		e.sc.Roles().AssignObjectPermissions(ctx, alphaEditors.ID, uuid.MustParse(alpha), []string{"authentik_core.change_application"}),
		e.sc.Roles().AssignToGroup(ctx, alphaEditors.ID, team.ID),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	dave := e.createUser("dave", "Dave-Password-1", store.UserInternal)
	if err := e.sc.Groups().AddMember(ctx, team.ID, dave.ID); err != nil {
		t.Fatal(err)
	}

	// carol manages groups and roles, and is in a group of her own.
	carol := e.createUser("carol", "Carol-Password-1", store.UserInternal)
	own := &store.Group{Name: "carol-team"}
	carolRole := &store.Role{Name: "group-managers"}
	for _, err := range []error{e.sc.Groups().Create(ctx, own), e.sc.Groups().AddMember(ctx, own.ID, carol.ID),
		e.sc.Roles().Create(ctx, carolRole), e.sc.Roles().SetPermissions(ctx, carolRole.ID, []string{
			"authentik_core.view_group", "authentik_core.change_group", "authentik_core.view_user",
			"authentik_rbac.view_role", "authentik_rbac.change_role"}),
		e.sc.Roles().AssignToGroup(ctx, carolRole.ID, own.ID)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	c := e.apiAs(carol)
	for _, w := range []struct {
		name, method, path string
		body               any
	}{
		{"join a group whose role holds it", "POST", "core/groups/" + team.ID.String() + "/add_user/", map[string]any{"pk": carol.ID}},
		{"give her own group that role", "PATCH", "core/groups/" + own.ID.String() + "/",
			map[string]any{"roles": []string{carolRole.ID.String(), alphaEditors.ID.String()}}},
		{"assign the role to her own group", "POST", "rbac/roles/" + alphaEditors.ID.String() + "/assign/", map[string]any{"group": own.ID}},
		{"move her group under that group", "PATCH", "core/groups/" + own.ID.String() + "/", map[string]any{"parent": team.ID}},
	} {
		if r := c.call(w.method, w.path, w.body, true); r.status != 403 {
			t.Errorf("%s: %d %s, want 403", w.name, r.status, r.body)
		}
	}
	if e.memberOf(team.ID, carol.ID) || e.mustGroup(own.ID).ParentID.Valid {
		t.Error("a refused membership or move was stored")
	}
	if rs, _ := e.sc.Roles().ForGroups(ctx, []uuid.UUID{own.ID}); len(rs[own.ID]) != 1 {
		t.Errorf("carol's group has roles %v, want her own only", rs[own.ID])
	}
	if r := c.call("PATCH", "core/applications/"+alpha+"/", map[string]any{"name": "pwned"}, true); r.status != 403 {
		t.Errorf("carol changes Alpha after the refusals: %d", r.status)
	}

	// help may impersonate and mint tokens, but holds nothing on Alpha:
	// dave, who may change Alpha, is beyond reach.
	help := e.createUser("help", "Help-Password-1", store.UserInternal)
	e.grant(help, "authentik_core.view_user", "authentik_core.impersonate", "authentik_core.add_token")
	hs, _ := e.sessionAPI("help", "Help-Password-1")
	if r := hs.call("POST", "core/users/"+dave.ID.String()+"/impersonate/", map[string]any{"reason": "ticket 7"}, true); r.status != 403 {
		t.Errorf("impersonate a user with an object permission the caller lacks: %d %s, want 403", r.status, r.body)
	}
	if me := hs.call("GET", "core/users/me/", nil, true).json(t); me["user"].(map[string]any)["username"] != "help" {
		t.Errorf("the refused impersonation happened: %v", me)
	}
	if r := hs.call("POST", "core/tokens/", map[string]any{"identifier": "dave-by-help", "user": dave.ID}, true); r.status != 403 {
		t.Errorf("mint a token for a user with an object permission the caller lacks: %d %s, want 403", r.status, r.body)
	}
	if ts, _ := e.sc.Tokens().ListForUser(ctx, dave.ID); len(ts) != 0 {
		t.Errorf("the refused token was stored: %v", ts)
	}
}
