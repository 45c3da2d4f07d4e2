package app

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// More of issue 3's flows in Chromium: invitation-only sign-up, an
// expression policy's own message, and the internal-users-only interface.

func TestBrowserInvitationOnlyEnrollment(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t, withoutJS())
	b.allowConsoleErrors = true // refused visits are part of the test
	e.applyYAML(inviteFlow)
	inv := &store.Invitation{Name: "welcome-dana", SingleUse: true, FixedData: map[string]any{"email": "dana@example.com"},
		Expires: time.Now().Add(time.Hour)}
	if err := e.sc.Invitations().Create(context.Background(), inv); err != nil {
		t.Fatal(err)
	}
	b.navigate(e.URL + "/if/flow/invite-only/")
	if txt := b.text(); strings.Contains(txt, "Password") {
		t.Fatalf("without an invitation the sign-up form is shown:\n%s", indent(txt))
	}
	b.navigate(e.URL + "/if/flow/invite-only/?itoken=" + inv.ID.String())
	if got := b.value("email"); got != "dana@example.com" {
		t.Fatalf("the invitation's email is not pre-filled: %q", got)
	}
	for name, value := range map[string]string{"username": "dana", "name": "Dana", "password": "Dana-Password-42",
		"password_repeat": "Dana-Password-42"} {
		b.fill(name, value)
	}
	b.click(`button[type="submit"]`)
	b.waitText("Logged in as dana")
	if _, err := e.sc.Invitations().Get(context.Background(), inv.ID); err == nil {
		t.Error("the single-use invitation was not consumed")
	}
	// The used link opens nothing.
	other := b.fresh()
	other.allowConsoleErrors = true
	other.navigate(e.URL + "/if/flow/invite-only/?itoken=" + inv.ID.String())
	if strings.Contains(other.text(), "Password") {
		t.Error("a used invitation still shows the sign-up form")
	}
}

func TestBrowserExpressionPolicyMessages(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t, withoutJS())
	e.linkFlows(true, false)
	e.applyYAML(`version: 1
metadata: {name: no-evil}
entries:
  - model: authentik_policies_expression.expressionpolicy
    id: evil
    identifiers: {name: no-evil-domain}
    attrs:
      expression: |
        if request.context["prompt_data"].get("email", "").endswith("@evil.example"):
            ak_message("Sign-ups from evil.example are not allowed.")
            return False
        return True
  - model: authentik_stages_prompt.promptstage
    identifiers: {name: default-enrollment-prompt-first}
    attrs:
      validation_policies:
        - !Find [authentik_policies_password.passwordpolicy, [name, default-password-change-password-policy]]
        - !KeyOf evil
`)
	b.navigate(e.URL + "/if/flow/default-enrollment-flow/")
	for name, value := range map[string]string{"username": "eve", "name": "Eve", "email": "eve@evil.example",
		"password": "Eve-Password-77", "password_repeat": "Eve-Password-77"} {
		b.fill(name, value)
	}
	b.click(`button[type="submit"]`)
	b.waitText("Sign-ups from evil.example are not allowed.")
	if _, err := e.sc.Users().GetByUsername(context.Background(), "eve"); err == nil {
		t.Fatal("the refused sign-up stored a user")
	}

	e.applyYAML(maintenancePolicy)
	nb := b.fresh()
	nb.navigate(e.URL + loginPath)
	nb.waitText("Logins are paused for maintenance.")
}

func TestBrowserExternalUserRefusedAdmin(t *testing.T) {
	e := newEnv(t)
	b := newBrowser(t, withoutJS())
	b.allowConsoleErrors = true // the 403 page is the point
	e.createUser("outsider", "Outsider-Password-5", store.UserExternal)
	b.navigate(e.URL + loginPath)
	browserLogin(t, b, "outsider", "Outsider-Password-5")
	if code := b.navigate(e.URL + "/if/admin/"); code != http.StatusForbidden {
		t.Errorf("an external user at /if/admin/: %d, want 403", code)
	}
	b.waitText("Interface can only be accessed by internal users")
}
