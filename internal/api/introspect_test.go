package api

import (
	"context"
	"net/http"
	"slices"
	"testing"
)

func TestResourcesDescribeTheDeclarations(t *testing.T) {
	a := &API{}
	a.Init()
	RegisterSystem(a, "sqlite", nil)
	byPath := map[string]ResourceInfo{}
	for _, r := range a.Resources() {
		byPath[r.Path] = r
	}
	u, ok := byPath["core/users/"]
	if !ok {
		t.Fatal("core/users/ is not listed")
	}
	if !u.List || !u.Get || !u.Create || !u.Update || !u.Delete || u.Model != "authentik_core.user" ||
		u.Perm("change") != "authentik_core.change_user" || u.ModelName() != "user" {
		t.Errorf("core/users/: %+v", u)
	}
	if !slices.Equal(u.Required, []string{"username", "name"}) || !slices.Contains(u.Ordering, "last_login") {
		t.Errorf("core/users/ required %v, ordering %v", u.Required, u.Ordering)
	}
	if i := slices.IndexFunc(u.Filters, func(p Param) bool { return p.Name == "is_active" }); i < 0 || !u.Filters[i].Bool {
		t.Errorf("core/users/ filters: %+v", u.Filters)
	}
	kinds := map[string]FieldKind{}
	for _, f := range u.Out {
		kinds[f.Name] = f.Kind
	}
	for name, want := range map[string]FieldKind{"pk": KindUUID, "username": KindString, "is_active": KindBool,
		"attributes": KindJSON, "last_login": KindTime} {
		if kinds[name] != want {
			t.Errorf("core/users/ output %s: kind %q, want %q", name, kinds[name], want)
		}
	}
	if f, ok := u.Field("type"); !ok || !slices.Contains(f.Enum, "external") {
		t.Errorf("core/users/ type: %+v", f)
	}
	var set bool
	for _, ac := range u.Actions {
		set = set || (ac.Path == "core/users/{id}/set_password/" && ac.Detail && ac.Method == http.MethodPost)
		if ac.Path == "core/users/me/" && ac.Detail {
			t.Error("core/users/me/ is not about one user")
		}
	}
	if !set {
		t.Errorf("core/users/ actions: %+v", u.Actions)
	}
	if _, ok := byPath["core/users/me/"]; ok {
		t.Error("the me action is listed as a resource")
	}
	if g := byPath["core/groups/"]; !slices.ContainsFunc(g.Actions, func(x ActionInfo) bool { return x.Path == "core/groups/{id}/add_user/" }) {
		t.Errorf("core/groups/ actions: %+v", g.Actions)
	}
	if perm, ok := a.Endpoint(http.MethodGet, "admin/system/"); !ok || perm != "authentik_rbac.view_system_info" {
		t.Errorf("admin/system/: %q %v", perm, ok)
	}
}

func TestMatchPath(t *testing.T) {
	for _, tc := range []struct {
		pattern, path, id string
		ok                bool
	}{
		{"core/users/", "core/users/", "", true},
		{"core/users/{id}/", "core/users/abc/", "abc", true},
		{"core/users/{id}/", "core/users/", "", false},
		{"core/users/{id}/", "core/users//", "", false},
		{"core/users/{id}/set_password/", "core/users/x/set_password/", "x", true},
		{"core/users/{id}/set_password/", "core/users/x/", "", false},
		{"core/users/", "core/users", "", false},
	} {
		id, ok := matchPath(tc.pattern, tc.path)
		if ok != tc.ok || id != tc.id {
			t.Errorf("matchPath(%q, %q) = %q %v, want %q %v", tc.pattern, tc.path, id, ok, tc.id, tc.ok)
		}
	}
}

func TestServeUnknownIsJSON404(t *testing.T) {
	a := &API{}
	a.Init()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "/api/v3/core/nothing/", nil)
	rec := &recorder{header: http.Header{}}
	a.Serve(rec, req)
	if rec.status != http.StatusNotFound || rec.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("unknown path: %d %q", rec.status, rec.header.Get("Content-Type"))
	}
}
