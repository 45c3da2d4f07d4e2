package app

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// roleIDs reads a group's roles and the names of roles_obj, in order.
func roleIDs(t *testing.T, g map[string]any) (ids, names []string) {
	t.Helper()
	for _, r := range g["roles"].([]any) {
		ids = append(ids, r.(string))
	}
	for _, r := range g["roles_obj"].([]any) {
		names = append(names, r.(map[string]any)["name"].(string))
	}
	return ids, names
}

func TestAPIGroupRoles(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))
	mkRole := func(name string, perms ...string) string {
		t.Helper()
		r := admin.call("POST", "rbac/roles/", map[string]any{"name": name, "permissions": perms}, true)
		if r.status != 201 {
			t.Fatalf("create role %s: %d %s", name, r.status, r.body)
		}
		return r.json(t)["pk"].(string)
	}
	helpdesk := mkRole("helpdesk", "authentik_core.view_user", "authentik_core.change_user")
	auditors := mkRole("auditors", "authentik_events.view_event")

	// Create with roles, read back.
	r := admin.call("POST", "core/groups/", map[string]any{"name": "support", "roles": []string{helpdesk}}, true)
	if r.status != 201 {
		t.Fatalf("create a group with roles: %d %s", r.status, r.body)
	}
	g := r.json(t)
	gid := g["pk"].(string)
	if ids, names := roleIDs(t, g); len(ids) != 1 || ids[0] != helpdesk || names[0] != "helpdesk" {
		t.Fatalf("create response: roles %v %v", ids, names)
	}
	r = admin.call("GET", "core/groups/"+gid+"/", nil, true)
	if ids, _ := roleIDs(t, r.json(t)); len(ids) != 1 || ids[0] != helpdesk {
		t.Fatalf("read back: %s", r.body)
	}
	etag := r.header.Get("ETag")
	list := results(t, admin.call("GET", "core/groups/?search=support", nil, true))
	if len(list) != 1 || len(list[0]["roles"].([]any)) != 1 {
		t.Fatalf("list: %v", list)
	}
	if got := admin.call("GET", "rbac/roles/"+helpdesk+"/", nil, true).json(t)["groups"].([]any); len(got) != 1 || got[0] != gid {
		t.Errorf("the role does not list the group it was given on the group: %v", got)
	}

	// Members hold the group's roles.
	dave := e.createUser("dave", "Dave-Password-1", store.UserInternal)
	if r := admin.call("POST", "core/groups/"+gid+"/add_user/", map[string]any{"pk": dave.ID}, true); r.status != 204 {
		t.Fatalf("add_user: %d %s", r.status, r.body)
	}
	daveAPI := e.apiAs(dave)
	if r := daveAPI.call("GET", "events/events/", nil, true); r.status != 403 {
		t.Errorf("a member before auditors was attached lists events: %d", r.status)
	}

	// PATCH roles, with the ETag just read.
	r = admin.call("PATCH", "core/groups/"+gid+"/", map[string]any{"roles": []string{helpdesk, auditors}}, true, "If-Match", etag)
	if r.status != 200 {
		t.Fatalf("patch roles: %d %s", r.status, r.body)
	}
	if ids, names := roleIDs(t, r.json(t)); len(ids) != 2 || strings.Join(names, ",") != "auditors,helpdesk" {
		t.Fatalf("after patch: %v %v, want auditors,helpdesk", ids, names)
	}
	if r.header.Get("ETag") == etag {
		t.Error("changing the roles kept the ETag")
	}
	if r := admin.call("PATCH", "core/groups/"+gid+"/", map[string]any{"roles": []string{}}, true, "If-Match", etag); r.status != 412 {
		t.Errorf("roles with a stale If-Match: %d %s, want 412", r.status, r.body)
	}
	if r := daveAPI.call("GET", "events/events/", nil, true); r.status != 200 {
		t.Errorf("a member after auditors was attached cannot list events: %d %s", r.status, r.body)
	}
	etag = admin.call("GET", "core/groups/"+gid+"/", nil, true).header.Get("ETag")

	// An unknown role: a field error on roles, and nothing changes, not
	// even the name sent with it.
	r = admin.call("PATCH", "core/groups/"+gid+"/", map[string]any{"name": "renamed", "roles": []string{helpdesk, uuid.NewString()}}, true)
	if r.status != 400 || !r.fieldError("roles") {
		t.Errorf("unknown role: %d %s, want 400 naming roles", r.status, r.body)
	}
	r = admin.call("GET", "core/groups/"+gid+"/", nil, true)
	if g := r.json(t); g["name"] != "support" || len(g["roles"].([]any)) != 2 || r.header.Get("ETag") != etag {
		t.Errorf("a refused write changed the group: %s (ETag %s, was %s)", r.body, r.header.Get("ETag"), etag)
	}
	if r := admin.call("POST", "core/groups/", map[string]any{"name": "ghost", "roles": []string{uuid.NewString()}}, true); r.status != 400 || !r.fieldError("roles") {
		t.Errorf("create with an unknown role: %d %s", r.status, r.body)
	}
	if r := admin.call("PATCH", "core/groups/"+gid+"/", `{"roles":"`+helpdesk+`"}`, false); r.status != 400 || !r.fieldError("roles") {
		t.Errorf("roles not a list: %d %s", r.status, r.body)
	}
	other, _ := e.foreignTenant("roles.example")
	foreign := &store.Role{Name: "foreign"}
	if err := other.Roles().Create(context.Background(), foreign); err != nil {
		t.Fatal(err)
	}
	if r := admin.call("PATCH", "core/groups/"+gid+"/", map[string]any{"roles": []string{foreign.ID.String()}}, true); r.status != 400 || !r.fieldError("roles") {
		t.Errorf("another tenant's role: %d %s, want 400 naming roles", r.status, r.body)
	}
	if len(results(t, admin.call("GET", "core/groups/?search=ghost", nil, true))) != 0 {
		t.Error("a refused create stored the group")
	}

	// A group manager who is not a superuser attaches only roles whose
	// permissions they hold, as rbac/roles/{id}/assign/ and add_user.
	mgr := e.createUser("manager", "Manager-Password-1", store.UserInternal)
	e.grant(mgr, "authentik_core.view_group", "authentik_core.add_group", "authentik_core.change_group",
		"authentik_core.view_user", "authentik_core.change_user")
	m := e.apiAs(mgr)
	r = m.call("POST", "core/groups/", map[string]any{"name": "mgr-team", "roles": []string{helpdesk}}, true)
	if r.status != 201 {
		t.Fatalf("a manager attaching a role whose permissions they hold: %d %s", r.status, r.body)
	}
	team := r.json(t)["pk"].(string)
	if r := m.call("PATCH", "core/groups/"+team+"/", map[string]any{"roles": []string{helpdesk, auditors}}, true); r.status != 403 {
		t.Errorf("a manager attaching a role with a permission they lack: %d %s, want 403", r.status, r.body)
	}
	if ids, _ := roleIDs(t, admin.call("GET", "core/groups/"+team+"/", nil, true).json(t)); len(ids) != 1 {
		t.Errorf("the refused role was stored: %v", ids)
	}
	if r := m.call("POST", "core/groups/", map[string]any{"name": "mgr-escalate", "roles": []string{auditors}}, true); r.status != 403 {
		t.Errorf("a manager creating a group with a role they lack: %d %s, want 403", r.status, r.body)
	}
	if len(results(t, admin.call("GET", "core/groups/?search=mgr-escalate", nil, true))) != 0 {
		t.Error("a refused create stored the group")
	}
	// Roles the group already has are not the manager's to justify:
	// keeping them, or taking one away, is allowed.
	if r := m.call("PATCH", "core/groups/"+gid+"/", map[string]any{"roles": []string{auditors}}, true); r.status != 200 {
		t.Errorf("a manager removing a role: %d %s", r.status, r.body)
	}
	// Moving a group under one that grants more is attaching its roles.
	if r := m.call("PATCH", "core/groups/"+team+"/", map[string]any{"parent": gid}, true); r.status != 403 {
		t.Errorf("a manager moving a group under one with a role they lack: %d %s, want 403", r.status, r.body)
	}
	admins := admin.call("GET", "core/groups/?search=admins-root", nil, true)
	if rs := results(t, admins); len(rs) == 1 {
		if r := m.call("PATCH", "core/groups/"+team+"/", map[string]any{"parent": rs[0]["pk"]}, true); r.status != 403 {
			t.Errorf("a manager moving a group under a superuser group: %d %s, want 403", r.status, r.body)
		}
	} else {
		t.Errorf("the superuser group: %s", admins.body)
	}
	if p := admin.call("GET", "core/groups/"+team+"/", nil, true).json(t)["parent"]; p != nil {
		t.Errorf("a refused move was stored: parent %v", p)
	}
	if r := admin.call("PATCH", "core/groups/"+team+"/", map[string]any{"parent": gid}, true); r.status != 200 {
		t.Errorf("a superuser moving the group: %d %s", r.status, r.body)
	}
}

func TestAPIUsersExactFilters(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root")) // akadmin exists already, as on a fresh install
	for _, name := range []string{"alice", "alice2", "malice"} {
		e.createUser(name, "Some-Password-1", store.UserInternal)
	}
	usernames := func(query string) []string {
		t.Helper()
		var out []string
		for _, u := range results(t, admin.call("GET", "core/users/?"+query, nil, true)) {
			out = append(out, u["username"].(string))
		}
		return out
	}
	for query, want := range map[string]string{
		"username=akadmin":                     "akadmin",
		"username=alice":                       "alice",
		"username=ali":                         "", // a prefix does not match
		"username=ALICE":                       "", // exact is case-sensitive, as Authentik's filter
		"username=alice&is_active=true":        "alice",
		"search=alice":                         "alice,alice2,malice",
		"email=alice2%40example.com":           "alice2",
		"email=alice2%40example":               "",
		"username=alice&email=malice%40x.test": "",
	} {
		if got := strings.Join(usernames(query), ","); got != want {
			t.Errorf("core/users/?%s: got %q, want %q", query, got, want)
		}
	}
}
