package app

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestAPIEveryOperationRefusesWithoutPermission walks the OpenAPI document:
// every operation that names a permission (x-permission) answers 403 to a
// logged-in user who holds none, before it reads a body or looks up an
// object, and names the permission; an operation every user may call for
// their own objects (x-permission-own) never answers 403 for that reason.
// A new endpoint is covered the day it is registered.
func TestAPIEveryOperationRefusesWithoutPermission(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.URL + "/api/v3/schema/")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var doc struct {
		Paths map[string]map[string]struct {
			Permission string `json:"x-permission"`
			Own        string `json:"x-permission-own"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	nobody := e.apiAs(e.createUser("nobody", "Nobody-Password-1", store.UserInternal))
	param := regexp.MustCompile(`\{[^}]+\}`)
	var checked, own int
	models := map[string]bool{}
	paths := make([]string, 0, len(doc.Paths))
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		for method, op := range doc.Paths[p] {
			if op.Permission == "" {
				continue
			}
			path := strings.TrimPrefix(param.ReplaceAllString(p, uuid.NewString()), "/api/v3/")
			var body any
			if m := strings.ToUpper(method); m == "POST" || m == "PUT" || m == "PATCH" {
				body = map[string]any{}
			}
			// Not validated against the document: {} is not a valid body,
			// and the point is that the permission is judged first.
			r := nobody.call(strings.ToUpper(method), path, body, false, "If-Match", `"1"`)
			if op.Own != "" {
				own++
				if r.status == http.StatusForbidden && strings.Contains(string(r.body), op.Permission) {
					t.Errorf("%s %s is callable for one's own objects, yet refused for lack of %s", method, p, op.Permission)
				}
				continue
			}
			checked++
			models[modelOfPerm(op.Permission)] = true
			if r.status != http.StatusForbidden || !strings.Contains(string(r.body), op.Permission) {
				t.Errorf("%s %s without %s: want 403 naming it, got %d %s", method, p, op.Permission, r.status, r.body)
			}
		}
	}
	t.Logf("%d operations refused without their permission (%d models); %d open to every user for their own objects",
		checked, len(models), own)
	if checked < 100 || len(models) < 20 {
		t.Errorf("only %d operations over %d models carry a permission: the document lost x-permission?", checked, len(models))
	}
}

// modelOfPerm is "authentik_core.user" for "authentik_core.view_user".
func modelOfPerm(perm string) string {
	app, action, _ := strings.Cut(perm, ".")
	_, model, _ := strings.Cut(action, "_")
	return app + "." + model
}
