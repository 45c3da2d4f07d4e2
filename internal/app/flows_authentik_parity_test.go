package app

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// These tests cover behaviours where gatehouse differed from Authentik:
// reputation counted twice, denied_action message_continue, unknown stage
// settings, the password stage's recovery link, and %(app)s in titles.

var fixesCSRF = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// htmlPage is one answer of the HTML executor.
type htmlPage struct {
	status int
	loc    string
	body   string
}

// html GETs (form nil) or POSTs a form to path, without following redirects.
func (c *client) html(path string, form url.Values) htmlPage {
	c.e.t.Helper()
	var resp *http.Response
	var err error
	if form == nil {
		resp, err = c.http.Get(c.e.URL + path)
	} else {
		req, _ := http.NewRequest(http.MethodPost, c.e.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err = c.http.Do(req)
	}
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return htmlPage{resp.StatusCode, resp.Header.Get("Location"), string(b)}
}

// submit posts form on the page at path, with the page's CSRF token.
func (c *client) submit(path string, form url.Values) htmlPage {
	c.e.t.Helper()
	p := c.html(path, nil)
	m := fixesCSRF.FindStringSubmatch(p.body)
	if m == nil {
		c.e.t.Fatalf("GET %s: no form (%d):\n%s", path, p.status, p.body)
	}
	form.Set("csrf_token", m[1])
	return c.html(path, form)
}

func (e *testEnv) tryYAML(src string) error {
	e.t.Helper()
	bp, err := blueprint.Parse("test.yaml", []byte(src))
	if err != nil {
		e.t.Fatal(err)
	}
	_, err = blueprint.Apply(context.Background(), e.sc, bp, blueprint.Options{Models: e.app.svc.blueprints, ValidateConfig: e.app.svc.validateConfig})
	e.app.Executor().Invalidate(e.sc.TenantID())
	return err
}

// TestReputationOneFailureCountsOnce: one wrong password lowers the score
// the reputation policy sees by exactly one. A deny stage bound with a
// reputation policy at threshold -2 must not stop the next login after a
// single failure (it did: the pair's row was counted for the username and
// again for the IP).
func TestReputationOneFailureCountsOnce(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	e.applyYAML(`version: 1
metadata: {name: reputation}
entries:
  - model: authentik_policies_reputation.reputationpolicy
    id: bad
    identifiers: {name: bad-reputation}
    attrs: {check_ip: true, check_username: true, threshold: -2}
  - model: authentik_stages_deny.denystage
    id: deny
    identifiers: {name: bad-reputation-deny}
    attrs: {deny_message: Too many failed logins.}
  - model: authentik_flows.flowstagebinding
    id: binding
    identifiers:
      target: !Find [authentik_flows.flow, [slug, default-authentication-flow]]
      stage: !KeyOf deny
      order: 15
  - model: authentik_policies.policybinding
    identifiers: {target: !KeyOf binding, policy: !KeyOf bad, order: 0}
`)
	attempt := func(password string) challenge {
		t.Helper()
		c := e.client()
		if ch := c.post("default-authentication-flow", map[string]any{"uid_field": "alice"}); ch.component() != "ak-stage-password" {
			t.Fatalf("after identification: want the password stage, got %v", ch)
		}
		return c.post("default-authentication-flow", map[string]any{"password": password})
	}
	if ch := attempt("wrong"); !ch.hasError("stage.password.invalid") {
		t.Fatalf("wrong password: want stage.password.invalid, got %v", ch)
	}
	if n := len(e.events("login_failed")); n != 1 {
		t.Fatalf("want one login_failed event, got %d", n)
	}
	byID, byIP, err := e.sc.Reputation().Scores(context.Background(), "alice", "127.0.0.1", time.Now())
	if err != nil || byID != -1 || byIP != -1 {
		t.Fatalf("one failure: want the (alice, 127.0.0.1) row at -1, got %d %d %v", byID, byIP, err)
	}
	// Score -1 > -2: the deny stage is skipped.
	if ch := attempt("Alice-Password-1"); ch.component() != "xak-flow-redirect" {
		t.Fatalf("after one failure the reputation is -1, above the threshold -2: want a login, got %v", ch)
	}
	// The login raised the score to 0; two more failures bring it to -2.
	attempt("wrong")
	attempt("wrong")
	c := e.client()
	if ch := c.post("default-authentication-flow", map[string]any{"uid_field": "alice"}); ch.component() != "ak-stage-access-denied" ||
		ch["error_message"] != "Too many failed logins." {
		t.Fatalf("score -2 reaches the threshold: want the deny stage, got %v", ch)
	}
}

// TestFlowDeniedActionMessageContinue: when a flow's policies refuse the user,
// message_continue (the default) continues to the flow's ?next= when it
// has one, and shows the message otherwise, as Authentik's executor does;
// message always shows it; continue goes to ?next= or /.
func TestFlowDeniedActionMessageContinue(t *testing.T) {
	e := newEnv(t)
	deniedAction := func(action string) {
		e.applyYAML("version: 1\nmetadata: {name: " + action + "}\nentries:\n  - model: authentik_flows.flow\n" +
			"    identifiers: {slug: closed-flow}\n    attrs: {denied_action: " + action + "}\n")
	}
	e.applyYAML(`version: 1
metadata: {name: closed}
entries:
  - model: authentik_policies_expression.expressionpolicy
    id: closed
    identifiers: {name: closed}
    attrs:
      expression: |
        ak_message("Closed for maintenance.")
        return False
  - model: authentik_flows.flow
    id: flow
    identifiers: {slug: closed-flow}
    attrs: {name: Closed, designation: stage_configuration}
  - model: authentik_stages_dummy.dummystage
    id: dummy
    identifiers: {name: closed-dummy}
  - model: authentik_flows.flowstagebinding
    identifiers: {target: !KeyOf flow, stage: !KeyOf dummy, order: 0}
  - model: authentik_policies.policybinding
    identifiers: {target: !KeyOf flow, policy: !KeyOf closed, order: 0}
`)
	next := url.Values{"next": {"/if/user/"}}

	// JSON executor.
	if ch := e.client().get("closed-flow", next); ch.component() != "xak-flow-redirect" || ch["to"] != "/if/user/" {
		t.Fatalf("message_continue with ?next=: want a redirect to /if/user/, got %v", ch)
	}
	if ch := e.client().get("closed-flow", nil); ch.component() != "ak-stage-access-denied" || ch["error_message"] != "Closed for maintenance." {
		t.Fatalf("message_continue without ?next=: want the message, got %v", ch)
	}
	if ch := e.client().get("closed-flow", url.Values{"next": {"https://evil.example/"}}); ch.component() != "ak-stage-access-denied" {
		t.Fatalf("message_continue with an absolute ?next=: want the message, got %v", ch)
	}
	// A response posted without a plan plans the flow too.
	c := e.client()
	c.get("closed-flow", next)
	if ch := c.post("closed-flow", map[string]any{}); ch.component() != "ak-stage-access-denied" {
		t.Fatalf("POST without ?next=: want the message, got %v", ch)
	}

	// HTML executor.
	if p := e.client().html("/if/flow/closed-flow/?next=%2Fif%2Fuser%2F", nil); p.status != http.StatusFound || p.loc != "/if/user/" {
		t.Fatalf("HTML, message_continue with ?next=: want 302 /if/user/, got %d %q", p.status, p.loc)
	}
	if p := e.client().html("/if/flow/closed-flow/", nil); p.status != http.StatusOK || !strings.Contains(p.body, "Closed for maintenance.") {
		t.Fatalf("HTML, message_continue without ?next=: want the message, got %d %s", p.status, p.body)
	}

	deniedAction("message")
	if ch := e.client().get("closed-flow", next); ch.component() != "ak-stage-access-denied" || ch["error_message"] != "Closed for maintenance." {
		t.Fatalf("message with ?next=: want the message, got %v", ch)
	}
	deniedAction("continue")
	if ch := e.client().get("closed-flow", nil); ch.component() != "xak-flow-redirect" || ch["to"] != "/" {
		t.Fatalf("continue without ?next=: want a redirect to /, got %v", ch)
	}

	// A login flow that refuses an anonymous user shows the message even
	// with ?next=: the page behind ?next= would send them back to log in,
	// in a loop.
	e.applyYAML(`version: 1
metadata: {name: login-closed}
entries:
  - model: authentik_policies.policybinding
    identifiers:
      target: !Find [authentik_flows.flow, [slug, default-authentication-flow]]
      policy: !Find [authentik_policies_expression.expressionpolicy, [name, closed]]
      order: 0
`)
	if ch := e.client().get("default-authentication-flow", next); ch.component() != "ak-stage-access-denied" ||
		ch["error_message"] != "Closed for maintenance." {
		t.Fatalf("closed login flow with ?next=: want the message, got %v", ch)
	}
	// From /if/user/: to /flows/-/default/authentication/, to the flow, which
	// shows the message instead of sending the user back to /if/user/.
	b := e.client()
	p := b.html("/if/user/", nil)
	for range 2 {
		if p.status != http.StatusFound {
			t.Fatalf("anonymous /if/user/: want redirects to the login flow, got %d", p.status)
		}
		p = b.html(p.loc, nil)
	}
	if p.status != http.StatusOK || !strings.Contains(p.body, "Closed for maintenance.") {
		t.Fatalf("closed login flow reached from /if/user/: want the message, got %d %q", p.status, p.loc)
	}
	e.applyYAML(`version: 1
metadata: {name: login-open}
entries:
  - model: authentik_policies.policybinding
    state: absent
    identifiers:
      target: !Find [authentik_flows.flow, [slug, default-authentication-flow]]
      policy: !Find [authentik_policies_expression.expressionpolicy, [name, closed]]
      order: 0
`)

	// The authentication requirement refuses through denied_action too:
	// a logged-in user opening a require_unauthenticated flow.
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	e.linkFlows(true, false)
	c = e.client()
	c.login("alice", "Alice-Password-1")
	if ch := c.get("default-enrollment-flow", next); ch.component() != "xak-flow-redirect" || ch["to"] != "/if/user/" {
		t.Fatalf("sign-up while logged in, with ?next=: want a redirect to /if/user/, got %v", ch)
	}
	if ch := c.get("default-enrollment-flow", nil); ch.component() != "ak-stage-access-denied" || ch["error_message"] != "You are already logged in." {
		t.Fatalf("sign-up while logged in: want the message, got %v", ch)
	}
}

// TestFlowUnknownStageSettingRefused: a blueprint that gives a stage a setting
// its kind does not know is refused, naming the setting, instead of
// storing it with no effect; Authentik's own settings that gatehouse does
// not implement still apply.
func TestFlowUnknownStageSettingRefused(t *testing.T) {
	e := newEnv(t)
	err := e.tryYAML(`version: 1
metadata: {name: typo}
entries:
  - model: authentik_stages_password.passwordstage
    identifiers: {name: typo-password}
    attrs: {failed_attemps_before_cancel: 3}
`)
	var ve *store.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != "failed_attemps_before_cancel" {
		t.Fatalf("unknown setting: want a validation error on failed_attemps_before_cancel, got %v", err)
	}
	if _, err := e.sc.Stages().GetByName(context.Background(), "typo-password"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused stage must not be stored, got %v", err)
	}
	// Updating an existing stage is checked the same way.
	err = e.tryYAML(`version: 1
metadata: {name: typo}
entries:
  - model: authentik_stages_identification.identificationstage
    identifiers: {name: default-authentication-identification}
    attrs: {recovery: null}
`)
	if !errors.As(err, &ve) || ve.Fields[0].Field != "recovery" {
		t.Fatalf("unknown setting on update: want a validation error on recovery, got %v", err)
	}
	// An Authentik export: settings gatehouse does not implement are accepted.
	if err := e.tryYAML(`version: 1
metadata: {name: export}
entries:
  - model: authentik_stages_identification.identificationstage
    identifiers: {name: exported-identification}
    attrs:
      user_fields: [username]
      sources: []
      show_source_labels: false
      captcha_stage: null
  - model: authentik_stages_password.passwordstage
    identifiers: {name: exported-password}
    attrs: {configure_flow: null, backends: [authentik.core.auth.InbuiltBackend]}
`); err != nil {
		t.Fatalf("Authentik's settings gatehouse does not implement: want accepted, got %v", err)
	}
}

// TestPasswordStageRecoveryURL: once a recovery flow is enabled, the
// password stage links it ("Forgot password?") like the identification
// stage, in JSON and in the HTML page.
func TestPasswordStageRecoveryURL(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	c := e.client()
	if ch := c.post("default-authentication-flow", map[string]any{"uid_field": "alice"}); ch["recovery_url"] != nil {
		t.Fatalf("no recovery flow enabled: want no recovery_url, got %v", ch["recovery_url"])
	}
	e.linkFlows(false, true)
	c = e.client()
	c.get("default-authentication-flow", url.Values{"next": {"/if/user/"}})
	ch := c.post("default-authentication-flow", map[string]any{"uid_field": "alice"})
	if ch.component() != "ak-stage-password" || ch["recovery_url"] != "/if/flow/default-recovery-flow/?next=%2Fif%2Fuser%2F" {
		t.Fatalf("password stage: want recovery_url with ?next=, got %v", ch)
	}
	ch = c.post("default-authentication-flow", map[string]any{"password": "wrong"})
	if !ch.hasError("stage.password.invalid") || ch["recovery_url"] != "/if/flow/default-recovery-flow/?next=%2Fif%2Fuser%2F" {
		t.Fatalf("password stage after a wrong password: want the link still, got %v", ch)
	}

	b := e.client()
	p := b.submit("/if/flow/default-authentication-flow/", url.Values{"uid_field": {"alice"}})
	if p.status != http.StatusFound {
		t.Fatalf("HTML identification: want a redirect to the next page, got %d %s", p.status, p.body)
	}
	p = b.html("/if/flow/default-authentication-flow/", nil)
	if !strings.Contains(p.body, `name="password"`) || !strings.Contains(p.body, `href="/if/flow/default-recovery-flow/"`) ||
		!strings.Contains(p.body, "Forgot password?") {
		t.Fatalf("HTML password page: want the Forgot password? link, got:\n%s", p.body)
	}
}

// TestFlowTitleApplication: %(app)s in a flow's title names the
// application the flow runs for, in JSON and HTML, and the product when
// there is none.
func TestFlowTitleApplication(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	f, err := e.sc.Flows().GetBySlug(context.Background(), "default-provider-authorization-explicit-consent")
	if err != nil {
		t.Fatal(err)
	}
	if f.Title != "Redirecting to %(app)s" {
		t.Fatalf("the explicit consent flow's title: %q", f.Title)
	}
	id, secret := e.oidcApp("title-app", func(c *oauth2.Config) { c.AuthorizationFlow = f.ID.String() })
	authURL := e.rp("title-app", id, secret, "openid", "profile").conf.AuthCodeURL("s")
	c := e.client()
	c.login("alice", "Alice-Password-1")
	p := c.html(strings.TrimPrefix(authURL, e.URL), nil)
	if p.status != http.StatusFound || p.loc != "/if/flow/"+f.Slug+"/" {
		t.Fatalf("authorize: want the consent flow, got %d %q", p.status, p.loc)
	}
	ch := c.get(f.Slug, nil)
	info, _ := ch["flow_info"].(map[string]any)
	if ch.component() != "ak-stage-consent" || info["title"] != "Redirecting to title-app" {
		t.Fatalf("JSON consent: want the title Redirecting to title-app, got %v", ch)
	}
	p = c.html("/if/flow/"+f.Slug+"/", nil)
	if !strings.Contains(p.body, "Redirecting to title-app") || strings.Contains(p.body, "%(app)s") {
		t.Fatalf("HTML consent: want the title Redirecting to title-app, got:\n%s", p.body)
	}

	e.applyYAML(`version: 1
metadata: {name: title}
entries:
  - model: authentik_flows.flow
    identifiers: {slug: default-authentication-flow}
    attrs: {title: "Welcome to %(app)s!"}
`)
	ch = e.client().get("default-authentication-flow", nil)
	if info, _ := ch["flow_info"].(map[string]any); info["title"] != "Welcome to gatehouse!" {
		t.Fatalf("no application: want %%(app)s to be the product, got %v", ch["flow_info"])
	}
	if p := e.client().html("/if/flow/default-authentication-flow/", nil); !strings.Contains(p.body, "Welcome to gatehouse!") {
		t.Fatalf("HTML, no application: want Welcome to gatehouse!, got:\n%s", p.body)
	}
}
