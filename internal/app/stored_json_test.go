package app

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// deepJSON is a value nested depth levels deep, the value counted, as
// JSON text and as decoded.
func deepJSON(depth int) (string, any) {
	text := strings.Repeat(`{"n":[`, depth/2) + "1" + strings.Repeat("]}", depth/2)
	var v any = 1.0
	for i := 0; i < depth/2; i++ {
		v = map[string]any{"n": []any{v}}
	}
	return text, v
}

// TestStoredJSONDepthRefused: attributes nested deeper than
// store.MaxJSONDepth are refused on every write path (API create and
// update, blueprints) with a field error naming them, and nothing is
// stored.
func TestStoredJSONDepthRefused(t *testing.T) {
	e := newEnv(t)
	admin := e.apiAs(e.superuser("root"))
	_, deep := deepJSON(40)
	ok := map[string]any{"department": map[string]any{"name": "eng", "tags": []any{"a"}}}

	r := admin.call("POST", "core/users/", map[string]any{"username": "deep", "name": "Deep", "attributes": map[string]any{"a": deep}}, true)
	if r.status != http.StatusBadRequest || !r.fieldError("attributes") || !strings.Contains(string(r.body), "nested more than 32 levels deep") {
		t.Fatalf("create a user with deep attributes: want 400 naming attributes, got %d %s", r.status, r.body)
	}
	if _, err := e.sc.Users().GetByUsername(context.Background(), "deep"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused create must store nothing, got %v", err)
	}
	id := admin.call("POST", "core/users/", map[string]any{"username": "shallow", "name": "Shallow", "attributes": ok}, true).json(t)["pk"].(string)
	r = admin.call("PATCH", "core/users/"+id+"/", map[string]any{"attributes": map[string]any{"a": deep}}, true)
	if r.status != http.StatusBadRequest || !r.fieldError("attributes") {
		t.Fatalf("update a user with deep attributes: want 400 naming attributes, got %d %s", r.status, r.body)
	}
	if u, _ := e.sc.Users().Get(context.Background(), uuid.MustParse(id)); u.Attributes["a"] != nil || u.Attributes["department"] == nil {
		t.Fatalf("a refused update must change nothing, got %v", u.Attributes)
	}
	r = admin.call("POST", "core/groups/", map[string]any{"name": "deep", "attributes": map[string]any{"a": deep}}, true)
	if r.status != http.StatusBadRequest || !r.fieldError("attributes") {
		t.Fatalf("create a group with deep attributes: want 400 naming attributes, got %d %s", r.status, r.body)
	}

	text, _ := deepJSON(40)
	bp, err := blueprint.Parse("deep.yaml", []byte(`version: 1
metadata: {name: deep}
entries:
  - model: authentik_core.user
    identifiers: {username: bp-deep}
    attrs:
      attributes: {"a": `+text+`}
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = blueprint.Apply(context.Background(), e.sc, bp, blueprint.Options{Models: e.app.svc.blueprints, ValidateConfig: e.app.svc.validateConfig})
	if err == nil || !strings.Contains(err.Error(), "attributes: must not be nested more than 32 levels deep") {
		t.Fatalf("a blueprint with deep attributes: want an error naming attributes, got %v", err)
	}
	if _, err := e.sc.Users().GetByUsername(context.Background(), "bp-deep"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused blueprint must store nothing, got %v", err)
	}
}

// TestAdminRendersDeepValuesBounded: a value stored before the limits (or
// by another tool), 3000 levels deep, renders as a bounded page with a
// note instead of tens of megabytes of indentation.
func TestAdminRendersDeepValuesBounded(t *testing.T) {
	e := newEnv(t)
	c := e.adminBrowser()
	u := e.createUser("deep", "Some-Password-1", store.UserInternal)
	text, _ := deepJSON(3000)
	ctx := context.Background()
	if _, err := e.app.DB().SQL().ExecContext(ctx, `UPDATE users SET attributes = $1 WHERE id = $2`, `{"a": `+text+`}`, u.ID); err != nil {
		t.Fatal(err)
	}
	ev := uuid.Must(uuid.NewV7())
	if err := e.sc.Events().Create(ctx, &store.Event{ID: ev, Action: "custom_deep"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.DB().SQL().ExecContext(ctx, `UPDATE events SET context = $1 WHERE id = $2`, `{"a": `+text+`}`, ev); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"/if/admin/core/users/" + u.ID.String() + "/",
		"/if/admin/core/users/" + u.ID.String() + "/edit/",
		"/if/admin/events/" + ev.String() + "/",
	} {
		p := c.consoleGet(path)
		if p.status != http.StatusOK || len(p.body) > 256<<10 || !p.has("Truncated: this value is larger than 64 KiB or nested more than 32 levels deep") {
			t.Errorf("%s: want a page under 256 KiB with the truncation note, got %d, %d bytes", path, p.status, len(p.body))
		}
	}
	// Chinese, for the note.
	if p := c.consoleGet("/if/admin/events/"+ev.String()+"/", "Accept-Language", "zh-CN"); !p.has("已截断") {
		t.Errorf("the note in Chinese is missing")
	}
}
