package app

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Finding 14: a user without add_token makes tokens that expire within
// the maximum lifetime (one day, Authentik's default_token_duration,
// unless their goauthentik.io/user/token-maximum-lifetime says more); a
// longer expiry is a field error on expires, and nothing is stored.
func TestAuthzTokenLifetimeIsCappedWithoutAddToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bob := e.createUser("bob", "Bob-Password-1", store.UserInternal)
	b := e.apiAs(bob)
	year9999 := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	for name, expires := range map[string]time.Time{"year 9999": year9999, "two days": time.Now().Add(48 * time.Hour)} {
		r := b.call("POST", "core/tokens/", map[string]any{"identifier": "long", "expires": expires}, true)
		if r.status != 400 || !r.fieldError("expires") {
			t.Errorf("%s: %d %s, want 400 naming expires", name, r.status, r.body)
		}
	}
	if ts, _ := e.sc.Tokens().ListForUser(ctx, bob.ID); len(ts) != 1 { // the harness's own
		t.Errorf("a refused token was stored: %d tokens", len(ts))
	}
	if r := b.call("POST", "core/tokens/", map[string]any{"identifier": "short", "expires": time.Now().Add(20 * time.Hour)}, true); r.status != 201 {
		t.Errorf("an expiry within a day: %d %s", r.status, r.body)
	}

	// An admin raises bob's cap with Authentik's attribute.
	if _, err := e.sc.Users().Update(ctx, bob.ID, func(u *store.User) error {
		u.Attributes = store.Attributes{"goauthentik.io/user/token-maximum-lifetime": "days=30"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if r := b.call("POST", "core/tokens/", map[string]any{"identifier": "month", "expires": time.Now().Add(29 * 24 * time.Hour)}, true); r.status != 201 {
		t.Errorf("29 days with a 30-day cap: %d %s", r.status, r.body)
	}
	if r := b.call("POST", "core/tokens/", map[string]any{"identifier": "too-long", "expires": time.Now().Add(31 * 24 * time.Hour)}, true); r.status != 400 || !r.fieldError("expires") {
		t.Errorf("31 days with a 30-day cap: %d %s, want 400 naming expires", r.status, r.body)
	}

	// add_token is the admin's permission: no cap.
	admin := e.createUser("tokens-admin", "Tokens-Admin-1", store.UserInternal)
	e.grant(admin, "authentik_core.add_token")
	if r := e.apiAs(admin).call("POST", "core/tokens/", map[string]any{"identifier": "far", "expires": year9999}, true); r.status != 201 {
		t.Errorf("add_token holder, year 9999: %d %s", r.status, r.body)
	}
}

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
