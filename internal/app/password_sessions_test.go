package app

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	xoauth2 "golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// passwordChangeFlow is Authentik's default-password-change: a logged-in
// user types a new password twice and user_write stores it.
const passwordChangeFlow = `version: 1
metadata: {name: password-change}
entries:
  - model: authentik_flows.flow
    id: flow
    identifiers: {slug: password-change}
    attrs: {name: Change password, title: Change your password, designation: stage_configuration, authentication: require_authenticated}
  - model: authentik_stages_prompt.promptstage
    id: prompt
    identifiers: {name: password-change-prompt}
    attrs:
      fields:
        - !Find [authentik_stages_prompt.prompt, [name, default-recovery-field-password]]
        - !Find [authentik_stages_prompt.prompt, [name, default-recovery-field-password-repeat]]
  - model: authentik_stages_user_write.userwritestage
    id: write
    identifiers: {name: password-change-write}
    attrs: {user_creation_mode: never_create}
  - model: authentik_flows.flowstagebinding
    identifiers: {target: !KeyOf flow, stage: !KeyOf prompt, order: 10}
  - model: authentik_flows.flowstagebinding
    identifiers: {target: !KeyOf flow, stage: !KeyOf write, order: 20}
`

// device is one of alice's browsers, logged in and signed in to an
// application with a refresh token.
type device struct {
	browser *client
	app     *signedIn
}

func (e *testEnv) aliceDevice(r *rp, password string) device {
	e.t.Helper()
	c := e.client()
	c.login("alice", password)
	return device{browser: c, app: c.signIn(r)}
}

// alive reports whether the browser is still logged in, and whether the
// application's access and refresh tokens still work.
func (d device) alive(t *testing.T) (session, access, refresh bool) {
	t.Helper()
	code, _ := d.browser.status("/if/user/")
	_, err := d.app.rp.conf.TokenSource(context.Background(), &xoauth2.Token{RefreshToken: d.app.tok.RefreshToken}).Token()
	return code == http.StatusOK, d.app.userinfoWorks(), err == nil
}

func (d device) want(t *testing.T, what string, session, access, refresh bool) {
	t.Helper()
	s, a, r := d.alive(t)
	if s != session || a != access || r != refresh {
		t.Fatalf("%s: want session %v, access token %v, refresh token %v; got %v, %v, %v",
			what, session, access, refresh, s, a, r)
	}
}

func (e *testEnv) aliceWithApp() *rp {
	e.t.Helper()
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	id, secret := e.oidcApp("app", nil)
	return e.rp("app", id, secret, oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess)
}

// TestPasswordChangeEndsOtherSessions (issue 10, finding 13): changing
// one's password through a flow ends every other session and revokes the
// OAuth tokens issued in them; the session it is done in, and its tokens,
// go on.
func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	e := newEnv(t)
	r := e.aliceWithApp()
	e.applyYAML(passwordChangeFlow)
	here, there := e.aliceDevice(r, "Alice-Password-1"), e.aliceDevice(r, "Alice-Password-1")
	e.appPassword(e.createdUser("alice"), store.IntentAppPassword)

	if ch := here.browser.get("password-change", nil); ch.component() != "ak-stage-prompt" {
		t.Fatalf("password change: want the prompt, got %v", ch)
	}
	if ch := here.browser.post("password-change", map[string]any{"password": "New-Password-22", "password_repeat": "New-Password-22"}); ch.component() != "xak-flow-redirect" {
		t.Fatalf("password change: want a redirect, got %v", ch)
	}
	there.want(t, "the other browser after the change", false, false, false)
	here.want(t, "the browser that changed it", true, true, true)
	if n := e.tokenCount("alice", store.IntentAppPassword); n != 1 {
		t.Fatalf("a change by the user keeps their app passwords: want 1, got %d", n)
	}
	e.client().login("alice", "New-Password-22")
}

// TestPasswordResetEndsSessionsAndRevokesTokens (issue 10, finding 13): a
// password set for the user (by an admin, or through the recovery flow)
// ends all their sessions, revokes every OAuth token and deletes their
// app passwords: whoever had the old password loses what it opened.
func TestPasswordResetEndsSessionsAndRevokesTokens(t *testing.T) {
	for _, how := range []string{"admin", "recovery"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t)
			r := e.aliceWithApp()
			d := e.aliceDevice(r, "Alice-Password-1")
			e.appPassword(e.createdUser("alice"), store.IntentAppPassword)
			e.appPassword(e.createdUser("alice"), store.IntentAPI)
			switch how {
			case "admin":
				admin := e.apiAs(e.superuser("root"))
				u := e.createdUser("alice")
				if res := admin.call(http.MethodPost, "core/users/"+u.ID.String()+"/set_password/",
					map[string]any{"password": "New-Password-22"}, true); res.status != http.StatusNoContent {
					t.Fatalf("set_password: want 204, got %d %s", res.status, res.body)
				}
			case "recovery":
				e.linkFlows(false, true)
				e.client().post("default-recovery-flow", map[string]any{"uid_field": "alice"})
				_, link := e.waitMail(1)
				lu, _ := url.Parse(link)
				b := e.client()
				b.get("default-recovery-flow", lu.Query())
				if ch := b.post("default-recovery-flow", map[string]any{"password": "New-Password-22", "password_repeat": "New-Password-22"}); ch.component() != "xak-flow-redirect" {
					t.Fatalf("recovery: want a redirect, got %v", ch)
				}
				if code, _ := b.status("/if/user/"); code != http.StatusOK {
					t.Fatalf("the recovering browser is logged in: want 200, got %d", code)
				}
			}
			d.want(t, "alice's browser after the reset", false, false, false)
			if n := e.tokenCount("alice", store.IntentAppPassword); n != 0 {
				t.Fatalf("a reset deletes app passwords: %d left", n)
			}
			if n := e.tokenCount("alice", store.IntentAPI); n != 1 {
				t.Fatalf("a reset keeps API tokens: want 1, got %d", n)
			}
		})
	}
}

// TestPasswordChangeKeepsSessionsWhenTurnedOff: the documented switch.
func TestPasswordChangeKeepsSessionsWhenTurnedOff(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Sessions.EndOnPasswordChange = false })
	r := e.aliceWithApp()
	d := e.aliceDevice(r, "Alice-Password-1")
	admin := e.apiAs(e.superuser("root"))
	if res := admin.call(http.MethodPost, "core/users/"+e.createdUser("alice").ID.String()+"/set_password/",
		map[string]any{"password": "New-Password-22"}, true); res.status != http.StatusNoContent {
		t.Fatalf("set_password: want 204, got %d %s", res.status, res.body)
	}
	d.want(t, "with sessions.end_on_password_change off", true, true, true)
}

func (e *testEnv) createdUser(username string) *store.User {
	e.t.Helper()
	u, err := e.sc.Users().GetByUsername(context.Background(), username)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *testEnv) tokenCount(username string, intent store.TokenIntent) int {
	e.t.Helper()
	list, err := e.sc.Tokens().ListForUser(context.Background(), e.createdUser(username).ID)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, t := range list {
		if t.Intent == intent {
			n++
		}
	}
	return n
}
