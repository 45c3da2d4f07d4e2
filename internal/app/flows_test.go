package app

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/crypto"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// These tests drive the default flows through the JSON executor, the way a
// native client would; browser_test.go drives the same flows as HTML.

func TestInitialSetup(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ch := c.get("initial-setup", nil)
	if ch.component() != "ak-stage-prompt" || ch["pending_user"] != "akadmin" {
		t.Fatalf("initial-setup: want the prompt for akadmin, got %v", ch)
	}
	ch = c.post("initial-setup", map[string]any{"email": "root@example.com", "password": "Correct-Horse-9", "password_repeat": "Other-Horse-9"})
	if !ch.hasError("prompt.passwords_mismatch") {
		t.Fatalf("mismatched passwords: want prompt.passwords_mismatch, got %v", ch.errorCodes())
	}
	ch = c.post("initial-setup", map[string]any{"email": "root@example.com", "password": "short", "password_repeat": "short"})
	if !ch.hasError("password.too_short") {
		t.Fatalf("short password: want the default password policy's password.too_short, got %v", ch.errorCodes())
	}
	ch = c.post("initial-setup", map[string]any{"email": "root@example.com", "password": "Correct-Horse-9", "password_repeat": "Correct-Horse-9"})
	if ch.component() != "xak-flow-redirect" {
		t.Fatalf("valid setup: want a redirect, got %v", ch)
	}
	if code, _ := c.status("/if/admin/"); code != http.StatusOK {
		t.Fatalf("after setup akadmin is logged in and a superuser: want /if/admin/ 200, got %d", code)
	}
	admin, _ := e.sc.Users().GetByUsername(context.Background(), "akadmin")
	if admin.Email != "root@example.com" || !strings.HasPrefix(admin.PasswordHash, "$argon2id$") {
		t.Fatalf("setup must store the email and an argon2id hash, got %q %q", admin.Email, admin.PasswordHash[:10])
	}
	if ch := e.client().get("initial-setup", nil); ch.component() != "ak-stage-access-denied" {
		t.Fatalf("initial-setup after akadmin has a password: want access denied, got %v", ch)
	}
	e.client().login("akadmin", "Correct-Horse-9")
}

func TestLoginWrongPasswordLogout(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	c := e.client()

	wrong := c.post("default-authentication-flow", map[string]any{"uid_field": "alice"})
	wrong = c.post("default-authentication-flow", map[string]any{"password": "nope"})
	unknown := e.client().post("default-authentication-flow", map[string]any{"uid_field": "mallory"})
	if unknown.component() != "ak-stage-password" || unknown["pending_user"] != "mallory" {
		t.Fatalf("an unknown user must see the same password page, got %v", unknown)
	}
	unknown = e.client().post("default-authentication-flow", map[string]any{"uid_field": "mallory"})
	if !wrong.hasError("stage.password.invalid") {
		t.Fatalf("wrong password: want stage.password.invalid, got %v", wrong.errorCodes())
	}
	if n := len(e.events("login_failed")); n != 1 {
		t.Fatalf("want one login_failed event, got %d", n)
	}

	before := sessionCookie(c, e.URL)
	ch := c.post("default-authentication-flow", map[string]any{"password": "Alice-Password-1"})
	if ch.component() != "xak-flow-redirect" || ch["to"] != "/" {
		t.Fatalf("right password: want a redirect to /, got %v", ch)
	}
	if after := sessionCookie(c, e.URL); after == "" || after == before {
		t.Fatalf("login must issue a new session secret (fixation): before %q after %q", before, after)
	}
	if code, loc := c.status("/"); code != http.StatusFound || loc != "/if/user/" {
		t.Fatalf("/ for an internal user: want 302 /if/user/, got %d %q", code, loc)
	}
	if code, _ := c.status("/if/user/"); code != http.StatusOK {
		t.Fatalf("/if/user/ logged in: want 200, got %d", code)
	}
	if code, _ := c.status("/if/admin/"); code != http.StatusForbidden {
		t.Fatalf("/if/admin/ for a non-superuser: want 403, got %d", code)
	}
	if n := len(e.events("login")); n != 1 {
		t.Fatalf("want one login event, got %d", n)
	}

	// Logout through the default invalidation flow, as the user interface does.
	code, loc := c.status("/flows/-/default/invalidation/")
	if code != http.StatusFound || !strings.HasPrefix(loc, "/if/flow/default-invalidation-flow/") {
		t.Fatalf("default invalidation: want a redirect to the flow, got %d %q", code, loc)
	}
	if code, loc := c.status(loc); code != http.StatusFound || loc != "/" {
		t.Fatalf("invalidation flow: want a redirect to / after logout, got %d %q", code, loc)
	}
	if code, loc := c.status("/if/user/"); code != http.StatusFound || !strings.Contains(loc, "/flows/-/default/authentication/") {
		t.Fatalf("/if/user/ after logout: want a redirect to log in, got %d %q", code, loc)
	}
	if n := len(e.events("logout")); n != 1 {
		t.Fatalf("want one logout event, got %d", n)
	}
}

func sessionCookie(c *client, base string) string {
	u, _ := url.Parse(base)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == "gatehouse_session" {
			return ck.Value
		}
	}
	return ""
}

func TestNextAndAttempts(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	c := e.client()
	c.get("default-authentication-flow", url.Values{"next": {"/if/admin/"}})
	c.post("default-authentication-flow", map[string]any{"uid_field": "alice"})
	if ch := c.post("default-authentication-flow", map[string]any{"password": "Alice-Password-1"}); ch["to"] != "/if/admin/" {
		t.Fatalf("?next=/if/admin/: want the flow to end there, got %v", ch)
	}
	c = e.client()
	c.get("default-authentication-flow", url.Values{"next": {"https://evil.example/"}})
	c.post("default-authentication-flow", map[string]any{"uid_field": "alice"})
	if ch := c.post("default-authentication-flow", map[string]any{"password": "Alice-Password-1"}); ch["to"] != "/" {
		t.Fatalf("?next to another site must be ignored: got %v", ch)
	}
	c = e.client()
	c.post("default-authentication-flow", map[string]any{"uid_field": "alice"})
	var ch challenge
	for range 5 {
		ch = c.post("default-authentication-flow", map[string]any{"password": "wrong"})
	}
	if ch.component() != "ak-stage-access-denied" {
		t.Fatalf("5 wrong passwords (failed_attempts_before_cancel): want access denied, got %v", ch)
	}
	_, byIP, _ := e.sc.Reputation().Scores(context.Background(), "alice", "127.0.0.1", time.Now())
	if byIP != 2-5 {
		t.Fatalf("two logins (+1 each) and five failures (-1 each): want reputation -3, got %d", byIP)
	}
}

func TestLoginThrottle(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Throttle.LoginUserBurst = 3; c.Throttle.LoginUserPerMinute = 1 })
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	var ch challenge
	for range 4 {
		c := e.client()
		c.post("default-authentication-flow", map[string]any{"uid_field": "alice"})
		ch = c.post("default-authentication-flow", map[string]any{"password": "wrong"})
	}
	if !ch.hasError("stage.password.rate_limited") {
		t.Fatalf("4th attempt against one user with a burst of 3: want stage.password.rate_limited, got %v", ch.errorCodes())
	}
	c := e.client()
	c.post("default-authentication-flow", map[string]any{"uid_field": "alice"})
	if ch := c.post("default-authentication-flow", map[string]any{"password": "Alice-Password-1"}); !ch.hasError("stage.password.rate_limited") {
		t.Fatalf("even the right password waits out the throttle: got %v", ch)
	}
}

func TestSignUp(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	c := e.client()
	if ch := c.get("default-enrollment-flow", nil); ch.component() != "ak-stage-access-denied" {
		t.Fatalf("sign-up before an admin enables it: want access denied, got %v", ch)
	}
	if ch := c.get("default-authentication-flow", nil); ch["enroll_url"] != nil {
		t.Fatalf("no Sign up link before it is enabled, got %v", ch["enroll_url"])
	}
	e.linkFlows(true, false)
	if ch := e.client().get("default-authentication-flow", nil); ch["enroll_url"] != "/if/flow/default-enrollment-flow/" {
		t.Fatalf("after setting the enrollment flow: want the Sign up link, got %v", ch["enroll_url"])
	}
	c = e.client()
	good := map[string]any{"username": "newbie", "email": "newbie@example.com", "name": "New Bie",
		"password": "Sign-Up-Password-7", "password_repeat": "Sign-Up-Password-7"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for a, b := range good {
			m[a] = b
		}
		m[k] = v
		return m
	}
	cases := []struct {
		body map[string]any
		code string
	}{
		{with("username", "ALICE"), "prompt.username_taken"},
		{with("username", "bad name"), "prompt.invalid_username"},
		{with("email", "not-an-email"), "prompt.invalid_email"},
		{with("name", ""), "prompt.field_required"},
		{with("password_repeat", "different"), "prompt.passwords_mismatch"},
	}
	for _, tc := range cases {
		if ch := c.post("default-enrollment-flow", tc.body); !ch.hasError(tc.code) {
			t.Fatalf("sign-up with %v: want %s, got %v", tc.body, tc.code, ch.errorCodes())
		}
	}
	weak := with("password", "password")
	weak["password_repeat"] = "password"
	if ch := c.post("default-enrollment-flow", weak); ch.component() != "ak-stage-prompt" || len(ch.errorCodes()) == 0 {
		t.Fatalf("a weak password must be refused by the bound password policy, got %v", ch)
	}
	if n, _ := e.sc.Users().Count(context.Background()); n != 2 {
		t.Fatalf("refused sign-ups store nothing: want 2 users (akadmin, alice), got %d", n)
	}
	if ch := c.post("default-enrollment-flow", good); ch.component() != "xak-flow-redirect" {
		t.Fatalf("valid sign-up: want a redirect, got %v", ch)
	}
	u, err := e.sc.Users().GetByUsername(context.Background(), "newbie")
	if err != nil || u.Type != store.UserExternal || u.Email != "newbie@example.com" || !u.HasUsablePassword() {
		t.Fatalf("sign-up must create an external user with the email and a password: %+v %v", u, err)
	}
	code, body := c.status("/if/admin/")
	if code != http.StatusForbidden || !strings.Contains(body, "Interface can only be accessed by internal users") {
		t.Fatalf("external user at /if/admin/: want 403 with the internal-users message, got %d", code)
	}
	if code, _ := c.status("/if/user/"); code != http.StatusForbidden {
		t.Fatalf("external user at /if/user/: want 403, got %d", code)
	}
	if len(e.events("user_write")) != 1 || len(e.events("password_set")) != 1 {
		t.Fatalf("sign-up must record user_write and password_set")
	}
	// The session holds no password once the user is written.
	s, _ := e.sc.Sessions().GetByKeyHash(context.Background(), crypto.HashToken(sessionCookie(c, e.URL)))
	if s == nil || strings.Contains(string(s.Data), "Sign-Up-Password-7") {
		t.Fatalf("the password must not stay in the stored session")
	}
}

func TestRecoveryByEmail(t *testing.T) {
	e := newEnv(t)
	e.createUser("bob", "Old-Password-1", store.UserInternal)
	e.linkFlows(false, true)
	if ch := e.client().get("default-authentication-flow", nil); ch["recovery_url"] != "/if/flow/default-recovery-flow/" {
		t.Fatalf("want the Forgot password link, got %v", ch["recovery_url"])
	}
	// An unknown address gets the same answer and no mail.
	ch := e.client().post("default-recovery-flow", map[string]any{"uid_field": "nobody@example.com"})
	if ch.component() != "ak-stage-email" {
		t.Fatalf("recovery for an unknown address: want the same check-your-email page, got %v", ch)
	}
	a := e.client()
	if ch := a.post("default-recovery-flow", map[string]any{"uid_field": "bob@example.com"}); ch.component() != "ak-stage-email" {
		t.Fatalf("recovery: want the check-your-email page, got %v", ch)
	}
	m, link := e.waitMail(1)
	if len(m.To) != 1 || m.To[0] != "bob@example.com" {
		t.Fatalf("recovery mail: want it sent to bob@example.com, got %v", m.To)
	}
	if len(e.smtp.Messages()) != 1 {
		t.Fatalf("the unknown address must not get mail")
	}
	lu, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(lu.Path, "/if/flow/default-recovery-flow/") || lu.Query().Get("flow_token") == "" {
		t.Fatalf("recovery link %q: want the recovery flow with a flow_token", link)
	}
	b := e.client() // another browser: the one reading the mail
	ch = b.get("default-recovery-flow", lu.Query())
	if ch.component() != "ak-stage-prompt" {
		t.Fatalf("opening the link: want the new-password prompt, got %v", ch)
	}
	if ch := b.post("default-recovery-flow", map[string]any{"password": "New-Password-22", "password_repeat": "New-Password-22"}); ch.component() != "xak-flow-redirect" {
		t.Fatalf("new password: want a redirect, got %v", ch)
	}
	if code, _ := b.status("/if/user/"); code != http.StatusOK {
		t.Fatalf("recovery logs the user in: /if/user/ want 200, got %d", code)
	}
	if ch := e.client().get("default-recovery-flow", lu.Query()); ch.component() != "ak-stage-identification" {
		t.Fatalf("a used link starts over: want identification, got %v", ch)
	}
	c := e.client()
	c.post("default-authentication-flow", map[string]any{"uid_field": "bob"})
	if ch := c.post("default-authentication-flow", map[string]any{"password": "Old-Password-1"}); ch.component() == "xak-flow-redirect" {
		t.Fatalf("the old password must no longer work")
	}
	e.client().login("bob", "New-Password-22")
	u, _ := e.sc.Users().GetByUsername(context.Background(), "bob")
	if !u.EmailVerified {
		t.Fatalf("following the emailed link verifies the address")
	}
}

const inviteFlow = `version: 1
metadata: {name: invite-only}
entries:
  - model: authentik_flows.flow
    id: flow
    identifiers: {slug: invite-only}
    attrs: {name: Invite only, title: Join us, designation: enrollment, authentication: require_unauthenticated}
  - model: authentik_stages_invitation.invitationstage
    id: inv
    identifiers: {name: invite-only-invitation}
    attrs: {continue_flow_without_invitation: false}
  - model: authentik_flows.flowstagebinding
    identifiers: {target: !KeyOf flow, stage: !KeyOf inv, order: 0}
  - model: authentik_flows.flowstagebinding
    identifiers: {target: !KeyOf flow, stage: !Find [authentik_stages_prompt.promptstage, [name, default-enrollment-prompt-first]], order: 10}
  - model: authentik_flows.flowstagebinding
    identifiers: {target: !KeyOf flow, stage: !Find [authentik_stages_user_write.userwritestage, [name, default-enrollment-user-write]], order: 20}
  - model: authentik_flows.flowstagebinding
    identifiers: {target: !KeyOf flow, stage: !Find [authentik_stages_user_login.userloginstage, [name, default-enrollment-user-login]], order: 30}
`

func TestInvitationOnlyEnrollment(t *testing.T) {
	e := newEnv(t)
	e.applyYAML(inviteFlow)
	inv := &store.Invitation{Name: "welcome-carol", SingleUse: true, FixedData: map[string]any{"email": "carol@example.com"},
		Expires: time.Now().Add(time.Hour)}
	if err := e.sc.Invitations().Create(context.Background(), inv); err != nil {
		t.Fatal(err)
	}
	if ch := e.client().get("invite-only", nil); ch.component() != "ak-stage-access-denied" {
		t.Fatalf("without an invitation: want access denied, got %v", ch)
	}
	if ch := e.client().get("invite-only", url.Values{"itoken": {"00000000-0000-0000-0000-000000000000"}}); ch["error_message"] == nil ||
		ch.component() != "ak-stage-access-denied" {
		t.Fatalf("with an unknown invitation: want access denied, got %v", ch)
	}
	c := e.client()
	ch := c.get("invite-only", url.Values{"itoken": {inv.ID.String()}})
	if ch.component() != "ak-stage-prompt" {
		t.Fatalf("with a valid invitation: want the prompt, got %v", ch)
	}
	for _, f := range ch["fields"].([]any) {
		if f := f.(map[string]any); f["field_key"] == "email" && f["initial_value"] != "carol@example.com" {
			t.Fatalf("the invitation's fixed data pre-fills the email, got %v", f["initial_value"])
		}
	}
	ch = c.post("invite-only", map[string]any{"username": "carol", "email": "carol@example.com", "name": "Carol",
		"password": "Carol-Password-3", "password_repeat": "Carol-Password-3"})
	if ch.component() != "xak-flow-redirect" {
		t.Fatalf("invited sign-up: want a redirect, got %v", ch)
	}
	if _, err := e.sc.Invitations().Get(context.Background(), inv.ID); err == nil {
		t.Fatalf("a single-use invitation is consumed")
	}
	if len(e.events("invitation_used")) != 1 {
		t.Fatalf("want an invitation_used event")
	}
	if ch := e.client().get("invite-only", url.Values{"itoken": {inv.ID.String()}}); ch.component() != "ak-stage-access-denied" {
		t.Fatalf("a used invitation: want access denied, got %v", ch)
	}
	// Sign-up is closed until linked: a made-up itoken must not open the
	// default enrollment flow (it has no invitation stage to check it).
	for _, tok := range []string{"anything", "00000000-0000-0000-0000-000000000000"} {
		if ch := e.client().get("default-enrollment-flow", url.Values{"itoken": {tok}}); ch.component() != "ak-stage-access-denied" {
			t.Fatalf("default enrollment with itoken=%s: want access denied, got %v", tok, ch)
		}
	}
}

func TestExpressionPolicies(t *testing.T) {
	e := newEnv(t)
	e.linkFlows(true, false)
	// A validation policy with the admin's own message, next to the
	// default password policy.
	e.applyYAML(`version: 1
metadata: {name: no-evil}
entries:
  - model: authentik_policies_expression.expressionpolicy
    id: evil
    identifiers: {name: no-evil-domain}
    attrs:
      expression: |
        email = request.context["prompt_data"].get("email", "")
        if email.endswith("@evil.example"):
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
	c := e.client()
	ch := c.post("default-enrollment-flow", map[string]any{"username": "eve", "email": "eve@evil.example", "name": "Eve",
		"password": "Eve-Password-77", "password_repeat": "Eve-Password-77"})
	errs, _ := ch["response_errors"].(map[string]any)
	if !strings.Contains(strings.ToLower(stringOf(errs["non_field_errors"])), "sign-ups from evil.example are not allowed") {
		t.Fatalf("the policy's own message must be shown, got %v", ch["response_errors"])
	}
	// A flow policy that denies everyone, with a message.
	e.applyYAML(maintenancePolicy)
	ch = e.client().get("default-authentication-flow", nil)
	if ch.component() != "ak-stage-access-denied" || ch["error_message"] != "Logins are paused for maintenance." {
		t.Fatalf("a flow policy that fails: want access denied with its message, got %v", ch)
	}
}

func stringOf(v any) string {
	var b strings.Builder
	for _, item := range v.([]any) {
		b.WriteString(item.(map[string]any)["string"].(string))
	}
	return b.String()
}

func TestExecutorHostileInput(t *testing.T) {
	e := newEnv(t)
	post := func(ct, body string) int {
		req, _ := http.NewRequest(http.MethodPost, e.URL+"/api/v3/flows/executor/default-authentication-flow/", strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	cases := []struct {
		name, ct, body string
		want           int
	}{
		{"form content type (cross-site forms cannot send JSON)", "application/x-www-form-urlencoded", "uid_field=x", 400},
		{"no content type", "", `{"uid_field":"x"}`, 400},
		{"not an object", "application/json", `["x"]`, 400},
		{"truncated JSON", "application/json", `{"uid_field":`, 400},
		{"oversized", "application/json", `{"uid_field":"` + strings.Repeat("a", 100<<10) + `"}`, 400},
	}
	for _, tc := range cases {
		if got := post(tc.ct, tc.body); got != tc.want {
			t.Errorf("%s: want %d, got %d", tc.name, tc.want, got)
		}
	}
	if ch := e.client().get("no-such-flow", nil); ch.component() != "ak-stage-access-denied" {
		t.Errorf("unknown flow: want access denied, got %v", ch)
	}
	// Injection in the identifier is just an unknown user.
	c := e.client()
	if ch := c.post("default-authentication-flow", map[string]any{"uid_field": "' OR 1=1 --"}); ch.component() != "ak-stage-password" {
		t.Errorf("SQL in the username: want the ordinary password page, got %v", ch)
	}
	// A cross-site form post to the HTML executor is refused.
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/if/flow/default-authentication-flow/", strings.NewReader("uid_field=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site form post: want 403, got %d", resp.StatusCode)
	}
}

// maintenancePolicy binds to the login flow an expression policy that
// denies everyone with its own message.
const maintenancePolicy = `version: 1
metadata: {name: maintenance}
entries:
  - model: authentik_policies_expression.expressionpolicy
    id: p
    identifiers: {name: maintenance}
    attrs:
      expression: |
        ak_message("Logins are paused for maintenance.")
        return False
  - model: authentik_policies.policybinding
    identifiers: {policy: !KeyOf p, target: !Find [authentik_flows.flow, [slug, default-authentication-flow]], order: 0}
`
