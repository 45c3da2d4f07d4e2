package app

import (
	"context"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestBlueprintWritesAreAudited: applying a blueprint records a model
// event per object it created, changed or deleted, naming the blueprint;
// unchanged objects and a blueprint that fails record nothing.
func TestBlueprintWritesAreAudited(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	apply := func(src string) error {
		t.Helper()
		bp, err := blueprint.Parse("test.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.app.ApplyBlueprint(ctx, e.sc, bp, nil)
		return err
	}
	// count is how many action events the blueprint recorded, and the one
	// about an application, if any.
	count := func(action string) (n int, app *store.Event) {
		for _, ev := range e.events(action) {
			if ev.Context["blueprint"] == "audited" {
				n++
				if m, _ := ev.Context["model"].(map[string]any); m["model_name"] == "application" {
					app = ev
				}
			}
		}
		return n, app
	}
	const create = `version: 1
metadata: {name: audited}
entries:
  - model: authentik_core.group
    identifiers: {name: auditors}
    attrs: {attributes: {team: a}}
  - model: authentik_core.application
    identifiers: {slug: audited-app}
    attrs: {name: Audited}
`
	if err := apply(create); err != nil {
		t.Fatal(err)
	}
	n, ev := count("model_created")
	if n != 2 {
		t.Fatalf("model_created events: want 2, got %d", n)
	}
	if m, _ := ev.Context["model"].(map[string]any); m["model_name"] != "application" || m["name"] != "Audited" || m["pk"] == "" {
		t.Errorf("the application's event: %v", ev.Context)
	}
	if err := apply(create); err != nil { // unchanged: nothing new
		t.Fatal(err)
	}
	if n, _ := count("model_created"); n != 2 {
		t.Errorf("re-applying an unchanged blueprint: %d model_created", n)
	}
	if n, _ := count("model_updated"); n != 0 {
		t.Errorf("re-applying an unchanged blueprint: %d model_updated", n)
	}
	if err := apply(`version: 1
metadata: {name: audited}
entries:
  - model: authentik_core.group
    identifiers: {name: auditors}
    attrs: {attributes: {team: b}}
  - model: authentik_core.application
    identifiers: {slug: audited-app}
    state: absent
`); err != nil {
		t.Fatal(err)
	}
	if n, _ := count("model_updated"); n != 1 {
		t.Errorf("model_updated: want 1 (the group), got %d", n)
	}
	if n, _ := count("model_deleted"); n != 1 {
		t.Errorf("model_deleted: want 1 (the application), got %d", n)
	}
	// A blueprint that fails half-way stores nothing and records nothing.
	if err := apply(`version: 1
metadata: {name: audited}
entries:
  - model: authentik_core.group
    identifiers: {name: never-stored}
  - model: authentik_stages_password.passwordstage
    identifiers: {name: misspelt}
    attrs: {failed_attemps_before_cancel: 3}
`); err == nil {
		t.Fatal("a blueprint with an unknown model applied")
	}
	if n, _ := count("model_created"); n != 2 {
		t.Errorf("a failed blueprint recorded events: %d model_created", n)
	}
}
