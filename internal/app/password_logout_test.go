package app

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestPasswordChangeSendsBackchannelLogouts: the sessions a password change
// ends are logged out of the applications they signed in to, as at a
// logout (docs/security.md, "Password changes end sessions"): the logout
// token names the ended session, and the session the change is made in is
// not logged out.
func TestPasswordChangeSendsBackchannelLogouts(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	e.applyYAML(passwordChangeFlow)
	lr := newLogoutReceiver(t)
	id, secret := e.logoutApp("app-a", lr.srv.URL+"/a")
	here, there := e.client(), e.client()
	here.login("alice", "Alice-Password-1")
	there.login("alice", "Alice-Password-1")
	here.signIn(e.rp("app-a", id, secret))
	thereIn := there.signIn(e.rp("app-a", id, secret))

	if ch := here.get("password-change", nil); ch.component() != "ak-stage-prompt" {
		t.Fatalf("password change: want the prompt, got %v", ch)
	}
	if ch := here.post("password-change", map[string]any{"password": "New-Password-22", "password_repeat": "New-Password-22"}); ch.component() != "xak-flow-redirect" {
		t.Fatalf("password change: want a redirect, got %v", ch)
	}
	lr.waitTokens(t, "/a")
	if n := len(lr.tokens("/a")); n != 1 {
		t.Fatalf("app-a: want exactly one logout token (for the other browser's session), got %d", n)
	}
	e.checkLogoutToken(t, "app-a", lr.tokens("/a")[0], thereIn)
}
