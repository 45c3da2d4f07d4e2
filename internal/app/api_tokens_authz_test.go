package app

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Finding 17 (token identifiers): identifiers are unique per owner, so
// creating a token tells nobody whether another user has one of that name.
func TestAuthzTokenIdentifiersAreUniquePerOwner(t *testing.T) {
	e := newEnv(t)
	alice := e.createUser("alice", "Alice-Password-1", store.UserInternal)
	bob := e.createUser("bob", "Bob-Password-1", store.UserInternal)
	a, b := e.apiAs(alice), e.apiAs(bob)
	mine := a.create("core/tokens/", map[string]any{"identifier": "ci"})
	r := b.call("POST", "core/tokens/", map[string]any{"identifier": "ci"}, true)
	if r.status != 201 {
		t.Fatalf("bob names a token as alice named hers: %d %s, want 201 (a 409 tells him hers exists)", r.status, r.body)
	}
	theirs := r.json(t)
	if r := b.call("POST", "core/tokens/", map[string]any{"identifier": "ci"}, true); r.status != 409 || !r.fieldError("identifier") {
		t.Errorf("bob reuses his own identifier: %d %s, want 409 naming identifier", r.status, r.body)
	}
	// Each finds their own under the name.
	for _, c := range []struct {
		who  *apiClient
		want map[string]any
	}{{a, mine}, {b, theirs}} {
		if got := c.who.call("GET", "core/tokens/ci/", nil, true).json(t); got["pk"] != c.want["pk"] {
			t.Errorf("core/tokens/ci/: got %v, want %v", got["pk"], c.want["pk"])
		}
	}
	// Someone who sees every token is told to use the pk when the name is
	// not enough, and the pk works.
	root := e.apiAs(e.superuser("root"))
	if r := root.call("GET", "core/tokens/ci/", nil, true); r.status != 409 {
		t.Errorf("an identifier two users share, for an admin: %d %s, want 409", r.status, r.body)
	}
	if r := root.call("GET", "core/tokens/"+theirs["pk"].(string)+"/", nil, true); r.status != 200 {
		t.Errorf("by pk: %d %s", r.status, r.body)
	}
	if r := root.call("DELETE", "core/tokens/"+mine["pk"].(string)+"/", nil, true); r.status != 204 {
		t.Errorf("delete by pk: %d %s", r.status, r.body)
	}
	if got := root.call("GET", "core/tokens/ci/", nil, true).json(t); got["pk"] != theirs["pk"] {
		t.Errorf("once the name is unique again it finds bob's: %v", got)
	}
}
