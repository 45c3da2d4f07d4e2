package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestFrontEndsShareTheDomainWritePath: the same writes made through the
// REST API, the command line and a blueprint (creating a user, putting
// them in a group) record the same events, each once, differing only in
// what marks the front end: all three call the domain layer
// (internal/core), and none records its own.
func TestFrontEndsShareTheDomainWritePath(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	h.ok("", "user", "create", "--username", "root", "--superuser")
	key := strings.TrimSpace(h.ok("", "token", "create", "--username", "root"))
	h.ok("", "group", "create", "--name", "team")

	h.ok("", "user", "create", "--username", "via-cli")
	h.ok("", "group", "add-member", "--group", "team", "--username", "via-cli")

	h.ok("", "blueprint", "apply", blueprintFile(t, "users.yaml", `version: 1
metadata: {name: shared-path}
entries:
  - model: authentik_core.user
    identifiers: {username: via-blueprint}
    attrs: {groups: [!Find [authentik_core.group, [name, team]]]}
`))

	a := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, env: h.lookup}
	x, err := a.openFull(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	sc, err := x.scope(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	call := func(path string, body any) []byte {
		t.Helper()
		raw, _ := json.Marshal(body)
		r := httptest.NewRequest(http.MethodPost, "http://localhost/api/v3/"+path, bytes.NewReader(raw))
		r.Header.Set("Authorization", "Bearer "+key)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		x.full.Handler().ServeHTTP(w, r)
		if w.Code != http.StatusCreated && w.Code != http.StatusNoContent {
			t.Fatalf("POST %s: %d %s", path, w.Code, w.Body)
		}
		return w.Body.Bytes()
	}
	var created struct{ PK string }
	json.Unmarshal(call("core/users/", map[string]any{"username": "via-api", "name": ""}), &created)
	team, err := sc.Groups().GetByName(t.Context(), "team")
	if err != nil {
		t.Fatal(err)
	}
	call("core/groups/"+team.ID.String()+"/add_user/", map[string]any{"pk": created.PK})
	x.full.FlushEvents(t.Context())

	events, _, err := sc.Events().List(t.Context(), store.EventQuery{Page: store.Page{Size: store.MaxPageSize}})
	if err != nil {
		t.Fatal(err)
	}
	// shape is an event with what differs between the writes (the user,
	// the front end's marks) taken out.
	shape := func(e *store.Event) string {
		c := map[string]any{}
		for k, v := range e.Context {
			if !slices.Contains([]string{"via", "blueprint", "http_request"}, k) {
				c[k] = v
			}
		}
		m := map[string]any{}
		for k, v := range c["model"].(map[string]any) {
			m[k] = v
		}
		m["pk"], m["name"] = "", ""
		c["model"] = m
		if ch, ok := c["changes"].(map[string]any); ok && ch["users_added"] != nil {
			c["changes"] = map[string]any{"users_added": len(ch["users_added"].([]any))}
		}
		raw, _ := json.Marshal(map[string]any{"action": e.Action, "context": c})
		return string(raw)
	}
	var shapes [][]string
	for _, fe := range []struct {
		username, markKey, mark, actor string
	}{
		{"via-api", "via", "api", "root"},
		{"via-cli", "via", "cli", ""},
		{"via-blueprint", "blueprint", "shared-path", ""},
	} {
		u, err := sc.Users().GetByUsername(t.Context(), fe.username)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range events {
			m, _ := e.Context["model"].(map[string]any)
			changes, _ := e.Context["changes"].(map[string]any)
			mine := m["pk"] == u.ID.String() ||
				m["pk"] == team.ID.String() && reflect.DeepEqual(changes["users_added"], []any{fe.username})
			if !mine {
				continue
			}
			if e.Context[fe.markKey] != fe.mark || e.Username != fe.actor {
				t.Errorf("%s: %s by %q with context %v; want %s: %s, by %q", fe.username, e.Action, e.Username, e.Context, fe.markKey, fe.mark, fe.actor)
			}
			if m["pk"] == u.ID.String() && m["name"] != fe.username {
				t.Errorf("%s: the event names %v, want the username", fe.username, m["name"])
			}
			got = append(got, shape(e))
		}
		slices.Sort(got)
		shapes = append(shapes, got)
	}
	if len(shapes[0]) != 2 {
		t.Fatalf("the API's writes recorded %d events, want the creation and the membership once each: %v", len(shapes[0]), shapes[0])
	}
	for i, name := range []string{"the command line", "the blueprint"} {
		if !reflect.DeepEqual(shapes[i+1], shapes[0]) {
			t.Errorf("%s recorded\n%v\nthe API\n%v", name, shapes[i+1], shapes[0])
		}
	}
}
