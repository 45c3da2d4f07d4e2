package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// saveSettings answers the default user settings flow's prompt.
func (c *client) saveSettings(username, name, email string) challenge {
	c.e.t.Helper()
	if ch := c.get("default-user-settings-flow", nil); ch.component() != "ak-stage-prompt" {
		c.e.t.Fatalf("settings: want the prompt, got %v", ch)
	}
	return c.post("default-user-settings-flow", map[string]any{"username": username, "name": name, "email": email})
}

// TestEmailCannotBeTakenFromAnotherUser (issue 10, finding 11): through
// the settings flow a user set their address to another user's, and the
// victim's login by email stopped working. Addresses are unique per tenant
// (case-insensitively), on every write path, with a field error that says
// the address is taken and nothing about whose it is.
func TestEmailCannotBeTakenFromAnotherUser(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	mallory := e.createUser("mallory", "Mallory-Password-1", store.UserInternal)
	c := e.client()
	c.login("mallory", "Mallory-Password-1")

	ch := c.saveSettings("mallory", "Mallory", "ALICE@example.com")
	if ch.component() != "ak-stage-prompt" || ch.errorCodes()["email"] == nil || !ch.hasError("prompt.email_taken") {
		t.Fatalf("settings with alice's address: want the prompt again with prompt.email_taken on email, got %v", ch)
	}
	if raw, _ := json.Marshal(ch["response_errors"]); strings.Contains(strings.ToLower(string(raw)), "alice") {
		t.Fatalf("the error must not say whose address it is: %s", raw)
	}
	if u, _ := e.sc.Users().Get(context.Background(), mallory.ID); u.Email != "mallory@example.com" {
		t.Fatalf("a refused address must change nothing, got %q", u.Email)
	}
	// Her own address, unchanged or in another case, is hers to keep.
	if ch := c.saveSettings("mallory", "Mallory M.", "Mallory@Example.com"); ch.component() != "xak-flow-redirect" {
		t.Fatalf("settings with her own address: want a redirect, got %v", ch)
	}
	// Alice still logs in by email.
	e.client().login("alice@example.com", "Alice-Password-1")

	// Sign-up with a taken address.
	e.linkFlows(true, false)
	su := e.client()
	su.get("default-enrollment-flow", nil)
	if ch := su.post("default-enrollment-flow", map[string]any{"username": "newbie", "email": "alice@EXAMPLE.com", "name": "N",
		"password": "Sign-Up-Password-7", "password_repeat": "Sign-Up-Password-7"}); !ch.hasError("prompt.email_taken") {
		t.Fatalf("sign-up with a taken address: want prompt.email_taken, got %v", ch)
	}

	// The API (and with it the console) meets the same rule.
	admin := e.apiAs(e.superuser("root"))
	for _, r := range []apiResp{
		admin.call(http.MethodPost, "core/users/", map[string]any{"username": "alice2", "name": "A", "email": "Alice@example.com"}, true),
		admin.call(http.MethodPatch, "core/users/"+mallory.ID.String()+"/", map[string]any{"email": "alice@example.com"}, true),
	} {
		if r.status != http.StatusConflict || !r.fieldError("email") {
			t.Fatalf("API write of alice's address: want 409 with a field error on email, got %d %s", r.status, r.body)
		}
	}
}

// TestUsernamesFoldedAndScriptsChecked (issue 10, finding 15): on SQLite
// "Älice" and "älice" were two accounts (its lower() folds ASCII only).
// Usernames are unique under NFKC and Unicode case folding on both
// engines, login finds the account by any case or normal form, and a new
// username may not mix scripts.
func TestUsernamesFoldedAndScriptsChecked(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := &store.User{Username: "Älice", Email: "aelice@example.com", Type: store.UserInternal, IsActive: true}
	if err := e.app.Core().CreateUser(ctx, e.sc, alice, "Alice-Password-1"); err != nil {
		t.Fatal(err)
	}
	e.linkFlows(true, false)
	for _, tc := range []struct{ username, code string }{
		{"älice", "prompt.username_taken"},
		{"ÄLICE", "prompt.username_taken"},
		{"pаypal", "prompt.username_mixed_scripts"}, // Cyrillic а
	} {
		c := e.client()
		c.get("default-enrollment-flow", nil)
		ch := c.post("default-enrollment-flow", map[string]any{"username": tc.username, "email": "x" + tc.code + "@example.com",
			"name": "N", "password": "Sign-Up-Password-7", "password_repeat": "Sign-Up-Password-7"})
		if !ch.hasError(tc.code) || ch.errorCodes()["username"] == nil {
			t.Fatalf("sign-up as %q: want %s on username, got %v", tc.username, tc.code, ch)
		}
	}
	if n, _ := e.sc.Users().Count(ctx); n != 2 { // akadmin and Älice
		t.Fatalf("refused sign-ups must create nothing: want 2 users, got %d", n)
	}
	admin := e.apiAs(e.superuser("root"))
	if r := admin.call(http.MethodPost, "core/users/", map[string]any{"username": "ÄLICE", "name": "A"}, true); r.status != http.StatusConflict || !r.fieldError("username") {
		t.Fatalf("API user ÄLICE: want 409 on username, got %d %s", r.status, r.body)
	}
	if r := admin.call(http.MethodPost, "core/users/", map[string]any{"username": "pаypal", "name": "P"}, true); r.status != http.StatusBadRequest || !r.fieldError("username") {
		t.Fatalf("API user with a mixed-script name: want 400 on username, got %d %s", r.status, r.body)
	}
	for _, typed := range []string{"Älice", "äLICE", "A\u0308lice"} {
		e.client().login(typed, "Alice-Password-1")
	}
}
