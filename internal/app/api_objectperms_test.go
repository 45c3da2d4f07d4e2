package app

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestAPIObjectPermissions: a role given permissions on one application
// lets its members see and change that application and nothing else; the
// list shows only it; nobody assigns a permission they do not hold, even
// on one object; bad input names its field; taking the permissions back
// ends the access.
func TestAPIObjectPermissions(t *testing.T) {
	e := newEnv(t)
	root := e.apiAs(e.superuser("root"))
	ownA := root.create("core/applications/", map[string]any{"name": "Alpha", "slug": "alpha"})
	ownB := root.create("core/applications/", map[string]any{"name": "Beta", "slug": "beta"})
	a, b := ownA["pk"].(string), ownB["pk"].(string)
	role := root.create("rbac/roles/", map[string]any{"name": "alpha-owners"})
	group := root.create("core/groups/", map[string]any{"name": "alpha-team", "roles": []string{role["pk"].(string)}})
	daveUser := e.createUser("dave", "Dave-Password-1", store.UserInternal)
	if r := root.call("POST", "core/groups/"+group["pk"].(string)+"/add_user/", map[string]any{"pk": daveUser.ID}, true); r.status != 204 {
		t.Fatalf("add dave: %d %s", r.status, r.body)
	}
	dave := e.apiAs(daveUser)
	if r := dave.call("GET", "core/applications/", nil, true); r.status != 403 {
		t.Fatalf("dave before any grant: %d", r.status)
	}

	assign := "rbac/permissions/assigned_by_roles/" + role["pk"].(string) + "/assign/"
	grant := map[string]any{"permissions": []string{"authentik_core.view_application", "authentik_core.change_application"},
		"model": "authentik_core.application", "object_pk": a}
	if r := root.call("POST", assign, grant, true); r.status != 204 {
		t.Fatalf("assign on alpha: %d %s", r.status, r.body)
	}
	if list := dave.call("GET", "core/applications/", nil, true).results(t); len(list) != 1 || list[0]["slug"] != "alpha" {
		t.Errorf("dave's list: want alpha alone, got %v", list)
	}
	for _, c := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", "core/applications/" + a + "/", nil, 200},
		{"GET", "core/applications/alpha/", nil, 200}, // by slug, as Authentik's
		{"GET", "core/applications/beta/", nil, 403},
		{"PATCH", "core/applications/" + a + "/", map[string]any{"name": "Alpha 2"}, 200},
		{"GET", "core/applications/" + b + "/", nil, 403},
		{"PATCH", "core/applications/" + b + "/", map[string]any{"name": "pwned"}, 403},
		{"DELETE", "core/applications/" + a + "/", nil, 403}, // no delete_application on it
		{"POST", "core/applications/", map[string]any{"name": "Gamma", "slug": "gamma"}, 403},
	} {
		if r := dave.call(c.method, c.path, c.body, true); r.status != c.want {
			t.Errorf("dave %s %s: want %d, got %d %s", c.method, c.path, c.want, r.status, r.body)
		}
	}

	// Flows are addressed by slug too; the grant follows the object.
	login, err := e.sc.Flows().GetBySlug(context.Background(), "default-authentication-flow")
	if err != nil {
		t.Fatal(err)
	}
	if r := root.call("POST", assign, map[string]any{"permissions": []string{"authentik_flows.view_flow"},
		"model": "authentik_flows.flow", "object_pk": login.ID}, true); r.status != 204 {
		t.Fatalf("assign view_flow: %d %s", r.status, r.body)
	}
	if r := dave.call("GET", "flows/instances/default-authentication-flow/", nil, true); r.status != 200 {
		t.Errorf("dave reads the flow he may view, by slug: %d %s", r.status, r.body)
	}
	if r := dave.call("GET", "flows/instances/default-enrollment-flow/", nil, true); r.status != 403 {
		t.Errorf("dave reads another flow: %d", r.status)
	}

	// Assigning needs the permission to assign and, on that object at
	// least, every permission handed out.
	other := root.create("rbac/roles/", map[string]any{"name": "helpers"})
	assignOther := "rbac/permissions/assigned_by_roles/" + other["pk"].(string) + "/assign/"
	view := func(obj string) map[string]any {
		return map[string]any{"permissions": []string{"authentik_core.view_application"}, "model": "authentik_core.application", "object_pk": obj}
	}
	if r := dave.call("POST", assignOther, view(a), true); r.status != 403 {
		t.Errorf("assign without assign_role_permissions: %d", r.status)
	}
	e.grant(daveUser, "authentik_rbac.assign_role_permissions")
	dave = e.apiAs(daveUser)
	if r := dave.call("POST", assignOther, view(a), true); r.status != 204 {
		t.Errorf("dave passes on view of alpha: %d %s", r.status, r.body)
	}
	if r := dave.call("POST", assignOther, view(b), true); r.status != 403 {
		t.Errorf("dave hands out view of beta, which he cannot see: %d %s", r.status, r.body)
	}
	if r := dave.call("POST", assignOther, map[string]any{"permissions": []string{"authentik_core.view_application"}}, true); r.status != 403 {
		t.Errorf("dave hands out view_application globally: %d %s", r.status, r.body)
	}

	for name, c := range map[string]struct {
		body  map[string]any
		field string
	}{
		"unknown permission": {map[string]any{"permissions": []string{"authentik_core.fly_application"}, "model": "authentik_core.application", "object_pk": a}, "permissions"},
		"another model's":    {map[string]any{"permissions": []string{"authentik_core.view_user"}, "model": "authentik_core.application", "object_pk": a}, "permissions"},
		"no such object":     {view(uuid.NewString()), "object_pk"},
		"unknown model":      {map[string]any{"permissions": []string{"authentik_core.view_application"}, "model": "authentik_core.spaceship", "object_pk": a}, "model"},
		"model alone":        {map[string]any{"permissions": []string{"authentik_core.view_application"}, "model": "authentik_core.application"}, "object_pk"},
		"no permissions":     {map[string]any{"permissions": []string{}, "model": "authentik_core.application", "object_pk": a}, "permissions"},
	} {
		if r := root.call("POST", assignOther, c.body, true); r.status != 400 || !r.fieldError(c.field) {
			t.Errorf("%s: want 400 on %s, got %d %s", name, c.field, r.status, r.body)
		}
	}
	if r := root.call("POST", "rbac/permissions/assigned_by_roles/"+uuid.NewString()+"/assign/", view(a), true); r.status != 404 {
		t.Errorf("a role that does not exist: %d", r.status)
	}

	held := root.call("GET", "rbac/permissions/assigned_by_roles/?model=authentik_core.application&object_pk="+a, nil, true)
	if res := held.json(t)["results"].([]any); held.status != 200 || len(res) != 2 {
		t.Errorf("roles on alpha: want alpha-owners and helpers, got %d %s", held.status, held.body)
	}

	unassign := "rbac/permissions/assigned_by_roles/" + role["pk"].(string) + "/unassign/"
	if r := root.call("PATCH", unassign, grant, true); r.status != 204 {
		t.Fatalf("unassign: %d %s", r.status, r.body)
	}
	if r := dave.call("GET", "core/applications/"+a+"/", nil, true); r.status != 403 {
		t.Errorf("after unassign dave reads alpha: %d", r.status)
	}
	var logged int
	for _, ev := range e.events("model_updated") {
		if m, _ := ev.Context["model"].(map[string]any); m["model_name"] == "role" {
			logged++
		}
	}
	if logged < 3 {
		t.Errorf("want a model_updated event per assignment, got %d", logged)
	}
}
