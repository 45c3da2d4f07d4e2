package app

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// signUp answers the default enrollment prompt.
func (c *client) signUp(slug, username string) challenge {
	c.e.t.Helper()
	return c.post(slug, map[string]any{"username": username, "email": username + "@example.com", "name": username,
		"password": "Sign-Up-Password-7", "password_repeat": "Sign-Up-Password-7"})
}

// fieldInitial is a prompt field's pre-filled value.
func fieldInitial(ch challenge, key string) string {
	fields, _ := ch["fields"].([]any)
	for _, f := range fields {
		if f := f.(map[string]any); f["field_key"] == key {
			s, _ := f["initial_value"].(string)
			return s
		}
	}
	return ""
}

func (e *testEnv) userExists(username string) bool {
	e.t.Helper()
	_, err := e.sc.Users().GetByUsername(context.Background(), username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		e.t.Fatal(err)
	}
	return err == nil
}

// TestInvitationOpensClosedSignUpOnce (issue 10, finding 5): a single-use
// invitation for no particular flow opens the default enrollment flow,
// which is closed to the public; it must then be in effect there (its
// fixed data applied) and be consumed by the sign-up, so that it admits
// one sign-up, not one per browser that holds the link.
func TestInvitationOpensClosedSignUpOnce(t *testing.T) {
	e := newEnv(t)
	inv := &store.Invitation{Name: "for-dana", SingleUse: true, FixedData: map[string]any{"name": "Dana (invited)"},
		Expires: time.Now().Add(time.Hour)}
	if err := e.sc.Invitations().Create(context.Background(), inv); err != nil {
		t.Fatal(err)
	}
	link := url.Values{"itoken": {inv.ID.String()}}
	dana, eve := e.client(), e.client()
	for _, c := range []*client{dana, eve} {
		ch := c.get("default-enrollment-flow", link)
		if ch.component() != "ak-stage-prompt" {
			t.Fatalf("the invitation opens the closed sign-up flow: want the prompt, got %v", ch)
		}
		if got := fieldInitial(ch, "name"); got != "Dana (invited)" {
			t.Fatalf("the invitation's fixed data pre-fills the flow it opened: want name %q, got %q", "Dana (invited)", got)
		}
	}
	if ch := dana.signUp("default-enrollment-flow", "dana"); ch.component() != "xak-flow-redirect" {
		t.Fatalf("dana signs up with the invitation: want a redirect, got %v", ch)
	}
	if _, err := e.sc.Invitations().Get(context.Background(), inv.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the single-use invitation must be consumed by the sign-up, got %v", err)
	}
	if n := len(e.events("invitation_used")); n != 1 {
		t.Fatalf("want one invitation_used event, got %d", n)
	}
	// Eve opened the flow with the same link before Dana finished.
	if ch := eve.signUp("default-enrollment-flow", "eve"); ch.component() != "ak-stage-access-denied" {
		t.Fatalf("a second sign-up with a used single-use invitation: want access denied, got %v", ch)
	}
	if e.userExists("eve") {
		t.Fatal("a used single-use invitation created a second user")
	}
	if ch := e.client().get("default-enrollment-flow", link); ch.component() != "ak-stage-access-denied" {
		t.Fatalf("a used invitation no longer opens the closed flow: want access denied, got %v", ch)
	}
}

// TestInvitationExpiryCheckedWhenUserIsWritten (issue 10, finding 5): a
// flow started before its invitation expired must not create the user
// after the expiry, whichever way the invitation opened the flow.
func TestInvitationExpiryCheckedWhenUserIsWritten(t *testing.T) {
	e := newEnv(t)
	e.applyYAML(inviteFlow)
	for i, slug := range []string{"invite-only", "default-enrollment-flow"} {
		t.Run(slug, func(t *testing.T) {
			ctx := context.Background()
			inv := &store.Invitation{Name: "expiring-" + string(rune('a'+i)), Expires: time.Now().Add(time.Hour)}
			if err := e.sc.Invitations().Create(ctx, inv); err != nil {
				t.Fatal(err)
			}
			c := e.client()
			if ch := c.get(slug, url.Values{"itoken": {inv.ID.String()}}); ch.component() != "ak-stage-prompt" {
				t.Fatalf("a live invitation: want the prompt, got %v", ch)
			}
			// The invitation expires while the visitor fills in the form.
			past := time.Now().Add(-time.Minute).UnixMicro()
			if _, err := e.app.DB().SQL().ExecContext(ctx, `UPDATE invitations SET expires = $1 WHERE id = $2`, past, inv.ID); err != nil {
				t.Fatal(err)
			}
			username := "late" + string(rune('a'+i))
			if ch := c.signUp(slug, username); ch.component() != "ak-stage-access-denied" {
				t.Fatalf("sign-up after the invitation expired: want access denied, got %v", ch)
			}
			if e.userExists(username) {
				t.Fatal("an expired invitation created a user")
			}
		})
	}
}
