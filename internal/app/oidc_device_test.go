package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	xoauth2 "golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The device authorization grant (RFC 8628): the device side is
// golang.org/x/oauth2's DeviceAuth and DeviceAccessToken, the user side is
// a browser (a cookie jar) on /device.

var (
	csrfRe     = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	userCodeRe = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)
)

// deviceRP creates an application and its relying party; the provider is
// confidential unless mod says otherwise.
func (e *testEnv) deviceRP(slug string, mod func(*oauth2.Config), scopes ...string) *rp {
	e.t.Helper()
	id, secret := e.oidcApp(slug, mod)
	return e.rp(slug, id, secret, scopes...)
}

// startDevice is the device's first request. x/oauth2 sends only the
// client_id; a confidential client adds its secret to the body.
func (r *rp) startDevice(t *testing.T) *xoauth2.DeviceAuthResponse {
	t.Helper()
	var opts []xoauth2.AuthCodeOption
	if r.conf.ClientSecret != "" {
		opts = append(opts, xoauth2.SetAuthURLParam("client_secret", r.conf.ClientSecret))
	}
	da, err := r.conf.DeviceAuth(context.Background(), opts...)
	if err != nil {
		t.Fatalf("device authorization with x/oauth2: %v", err)
	}
	return da
}

// waitToken polls as x/oauth2 does, starting after one second rather than
// five to keep the test short; the server's interval is only enforced
// between polls.
func (r *rp) waitToken(da *xoauth2.DeviceAuthResponse) (*xoauth2.Token, error) {
	short := *da
	short.Interval = 1
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return r.conf.DeviceAccessToken(ctx, &short)
}

// pollOnce is one poll of the token endpoint, for the answers that
// DeviceAccessToken keeps to itself (authorization_pending, slow_down).
// It returns the error code, "" on success.
func (r *rp) pollOnce(t *testing.T, deviceCode string) string {
	t.Helper()
	code, err := r.poll(deviceCode)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// poll is pollOnce for other goroutines than the test's.
func (r *rp) poll(deviceCode string) (string, error) {
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {deviceCode},
		"client_id": {r.conf.ClientID}}
	if r.conf.ClientSecret != "" {
		form.Set("client_secret", r.conf.ClientSecret)
	}
	resp, err := http.PostForm(r.conf.Endpoint.TokenURL, form)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		Error       string `json:"error"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", fmt.Errorf("token endpoint: status %d, body is not JSON: %v", resp.StatusCode, err)
	}
	if (body.Error == "") != (resp.StatusCode == http.StatusOK) || (body.Error == "" && body.AccessToken == "") {
		return "", fmt.Errorf("token endpoint: status %d with error %q", resp.StatusCode, body.Error)
	}
	return body.Error, nil
}

// page is one browser request's answer.
type page struct {
	status int
	loc    string
	body   string
}

func (p page) csrf(t testing.TB) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF token on the page (status %d):\n%s", p.status, p.body)
	}
	return m[1]
}

// open requests path as browser c, posting form when it is not nil.
func (c *client) open(path string, form url.Values, header ...string) page {
	c.e.t.Helper()
	method, body := http.MethodGet, io.Reader(nil)
	if form != nil {
		method, body = http.MethodPost, strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.e.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	status, loc := followable(resp, string(b))
	return page{status: status, loc: loc, body: string(b)}
}

// enterCode types code into the /device form and returns the answer.
func (c *client) enterCode(code string) page {
	c.e.t.Helper()
	form := c.open("/device", nil)
	if form.status != http.StatusOK || !strings.Contains(form.body, `name="code"`) {
		c.e.t.Fatalf("/device: want the code form, got %d:\n%s", form.status, form.body)
	}
	return c.open("/device", url.Values{"csrf_token": {form.csrf(c.e.t)}, "code": {code}})
}

// answerDevice enters code as the logged-in browser c and presses action
// ("allow" or "deny") on the question that follows.
func (c *client) answerDevice(code, action string) {
	c.e.t.Helper()
	confirm := c.enterCode(code)
	if confirm.status != http.StatusOK || !strings.Contains(confirm.body, `value="allow"`) {
		c.e.t.Fatalf("a valid code: want the allow/deny question, got %d:\n%s", confirm.status, confirm.body)
	}
	done := c.open("/device", url.Values{"csrf_token": {confirm.csrf(c.e.t)}, "code": {code}, "action": {action}})
	if done.status/100 != 3 || done.loc != "/device" {
		c.e.t.Fatalf("%s: want a redirect to /device, got %d %q:\n%s", action, done.status, done.loc, done.body)
	}
}

func TestOIDCDeviceGrant(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	r := e.deviceRP("tv-app", nil, "openid", "profile", "email", "offline_access")
	if got := r.conf.Endpoint.DeviceAuthURL; got != e.URL+"/application/o/device/" {
		t.Fatalf("discovery's device_authorization_endpoint: %q", got)
	}
	da := r.startDevice(t)
	verify := e.URL + "/device"
	if !userCodeRe.MatchString(da.UserCode) || da.VerificationURI != verify ||
		da.VerificationURIComplete != verify+"?code="+da.UserCode || da.Interval != 5 {
		t.Fatalf("device authorization response: %+v", da)
	}
	if left := time.Until(da.Expiry); left < 9*time.Minute || left > 11*time.Minute {
		t.Fatalf("a device code must live ten minutes (Authentik's one-minute code validity is too short), got %v", left)
	}

	// The user opens verification_uri_complete, logs in, and comes back.
	c := e.client()
	path := strings.TrimPrefix(da.VerificationURIComplete, e.URL)
	p := c.open(path, nil)
	if p.status != http.StatusFound || !strings.HasPrefix(p.loc, "/flows/-/default/authentication/?") {
		t.Fatalf("a valid code, logged out: want a redirect to log in, got %d %q", p.status, p.loc)
	}
	if next, _ := url.Parse(p.loc); next.Query().Get("next") != path {
		t.Fatalf("after logging in the user must come back to %q, got %q", path, p.loc)
	}
	c.login("alice", "Alice-Password-1")
	p = c.open(path, nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, "tv-app") || !strings.Contains(p.body, da.UserCode) ||
		!strings.Contains(p.body, `value="deny"`) {
		t.Fatalf("logged in with a valid code: want the question naming the application and the code, got %d:\n%s", p.status, p.body)
	}
	if code := r.pollOnce(t, da.DeviceCode); code != "authorization_pending" {
		t.Fatalf("before the user answers: want authorization_pending, got %q", code)
	}
	// The form takes the code as people type it.
	c.answerDevice(" "+strings.ToLower(strings.Replace(da.UserCode, "-", " ", 1))+" ", "allow")
	if p := c.open("/device", nil); !strings.Contains(p.body, "Your device is now signed in to tv-app.") {
		t.Fatalf("after allowing: want the confirmation, got %d:\n%s", p.status, p.body)
	}

	tok, err := r.waitToken(da)
	if err != nil {
		t.Fatalf("DeviceAccessToken: %v", err)
	}
	ctx := context.Background()
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("go-oidc rejected the ID token: %v", err)
	}
	var claims struct {
		PreferredUsername string `json:"preferred_username"`
		Sid               string `json:"sid"`
		AuthTime          int64  `json:"auth_time"`
	}
	idt.Claims(&claims)
	if claims.PreferredUsername != "alice" || claims.Sid == "" || claims.AuthTime == 0 {
		t.Fatalf("ID token: want alice with the session's sid and auth_time, got %+v", claims)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	if tok.RefreshToken == "" {
		t.Fatalf("offline_access was granted: want a refresh token")
	}
	if ui, err := r.provider.UserInfo(ctx, xoauth2.StaticTokenSource(tok)); err != nil || ui.Subject != idt.Subject {
		t.Fatalf("userinfo with the device's token: %v %v", ui, err)
	}
	approved := false
	for _, ev := range e.events("authorize_application") {
		approved = approved || (ev.Context["authorized"] == true && ev.Context["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code")
	}
	if !approved {
		t.Fatalf("the approval must be recorded as authorize_application")
	}

	// The device code is spent: polling again is a replay, which revokes
	// what it yielded, as a replayed authorization code does.
	if code := r.pollOnce(t, da.DeviceCode); code != "invalid_grant" {
		t.Fatalf("a second poll after success: want invalid_grant, got %q", code)
	}
	if _, err := r.provider.UserInfo(ctx, xoauth2.StaticTokenSource(tok)); err == nil {
		t.Fatalf("tokens of a replayed device code must be revoked")
	}
	if len(e.events("suspicious_request")) == 0 {
		t.Fatalf("a replayed device code must be recorded as suspicious_request")
	}
	// The user code is spent too.
	if p := c.enterCode(da.UserCode); p.status != http.StatusBadRequest || !strings.Contains(p.body, "This code is not valid") {
		t.Fatalf("a used user code: want the invalid-code error, got %d:\n%s", p.status, p.body)
	}
}

func TestOIDCDevicePendingAndSlowDown(t *testing.T) {
	e := newEnv(t)
	r := e.deviceRP("cli", nil)
	da := r.startDevice(t)
	if code := r.pollOnce(t, da.DeviceCode); code != "authorization_pending" {
		t.Fatalf("first poll: want authorization_pending, got %q", code)
	}
	if code := r.pollOnce(t, da.DeviceCode); code != "slow_down" {
		t.Fatalf("a poll sooner than the interval: want slow_down, got %q", code)
	}
	// Of simultaneous polls after the interval, whatever their
	// interleaving, exactly one is answered authorization_pending.
	fresh := r.startDevice(t)
	codes := make(chan string, 8)
	for range cap(codes) {
		go func() {
			code, err := r.poll(fresh.DeviceCode)
			if err != nil {
				code = err.Error()
			}
			codes <- code
		}()
	}
	pending := 0
	for range cap(codes) {
		switch code := <-codes; code {
		case "authorization_pending":
			pending++
		case "slow_down":
		default:
			t.Fatalf("concurrent polls: unexpected %q", code)
		}
	}
	if pending != 1 {
		t.Fatalf("concurrent polls: want exactly one authorization_pending, got %d", pending)
	}
	// Nothing else about the code changed: it can still be approved.
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	c := e.client()
	c.login("alice", "Alice-Password-1")
	c.answerDevice(da.UserCode, "allow")
	if _, err := r.waitToken(da); err != nil {
		t.Fatalf("after slow_down the device still gets its tokens: %v", err)
	}
}

func TestOIDCDeviceDeny(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	// A public client starts with its client_id alone.
	r := e.deviceRP("public-tv", func(c *oauth2.Config) { c.ClientType = "public" })
	da := r.startDevice(t)
	c := e.client()
	c.login("alice", "Alice-Password-1")
	c.answerDevice(da.UserCode, "deny")
	if p := c.open("/device", nil); !strings.Contains(p.body, "You denied public-tv access to your account.") {
		t.Fatalf("after denying: want the confirmation, got %d:\n%s", p.status, p.body)
	}
	_, err := r.waitToken(da)
	var re *xoauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "access_denied" {
		t.Fatalf("a denied device: want access_denied, got %v", err)
	}
	// The answer is final: the code cannot be allowed afterwards.
	if p := c.enterCode(da.UserCode); p.status != http.StatusBadRequest {
		t.Fatalf("a denied code entered again: want the invalid-code error, got %d", p.status)
	}
	denied := false
	for _, ev := range e.events("authorize_application") {
		denied = denied || (ev.Context["authorized"] == false && ev.Context["reason"] == "user")
	}
	if !denied {
		t.Fatalf("the refusal must be recorded as authorize_application")
	}
}

func TestOIDCDeviceExpired(t *testing.T) {
	e := newEnv(t)
	// The provider's clock only: sessions and logins keep real time.
	var skew atomic.Int64
	e.app.svc.oidc.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	r := e.deviceRP("cli", nil)
	da := r.startDevice(t)
	skew.Store(int64(11 * time.Minute))
	if code := r.pollOnce(t, da.DeviceCode); code != "expired_token" {
		t.Fatalf("after expiry: want expired_token, got %q", code)
	}
	c := e.client()
	c.login("alice", "Alice-Password-1")
	if p := c.enterCode(da.UserCode); p.status != http.StatusBadRequest || !strings.Contains(p.body, "This code is not valid") {
		t.Fatalf("an expired user code: want the invalid-code error, got %d:\n%s", p.status, p.body)
	}
}

func TestOIDCDeviceWrongUserCode(t *testing.T) {
	e := newEnv(t)
	r := e.deviceRP("cli", nil)
	da := r.startDevice(t)
	c := e.client()
	for _, wrong := range []string{"BCDF-GHJK", "AEIO-U123", "BCDF", "<script>"} {
		p := c.enterCode(wrong)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, `role="alert"`) ||
			!strings.Contains(p.body, "This code is not valid") {
			t.Fatalf("wrong code %q: want the form again with an error, got %d:\n%s", wrong, p.status, p.body)
		}
		if strings.Contains(p.body, "<script>") {
			t.Fatalf("the typed code must be escaped")
		}
	}
	// In Chinese too.
	form := c.open("/device", nil)
	zh := c.open("/device", url.Values{"csrf_token": {form.csrf(t)}, "code": {"BCDF-GHJK"}}, "Accept-Language", "zh-CN")
	if !strings.Contains(zh.body, "该代码无效") || !strings.Contains(zh.body, "在设备上登录") {
		t.Fatalf("Chinese page: want the translated heading and error, got:\n%s", zh.body)
	}
	// Guessing is throttled per IP; the limit covers right codes too, or
	// it would tell a guesser which one was right.
	var last page
	for range 20 {
		if last = c.enterCode("BCDF-GHJK"); last.status == http.StatusTooManyRequests {
			break
		}
	}
	if last.status != http.StatusTooManyRequests || !strings.Contains(last.body, "Too many codes tried") {
		t.Fatalf("after many wrong codes: want 429 with a message, got %d", last.status)
	}
	if p := c.enterCode(da.UserCode); p.status != http.StatusTooManyRequests {
		t.Fatalf("a right code while throttled: want 429, got %d", p.status)
	}
}

func TestOIDCDeviceOtherClientCannotPoll(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	owner := e.deviceRP("tv-app", nil)
	other := e.deviceRP("other-app", nil)
	da := owner.startDevice(t)
	c := e.client()
	c.login("alice", "Alice-Password-1")
	c.answerDevice(da.UserCode, "allow")
	if code := other.pollOnce(t, da.DeviceCode); code != "invalid_grant" {
		t.Fatalf("another client polling the device code: want invalid_grant, got %q", code)
	}
	if _, err := owner.waitToken(da); err != nil {
		t.Fatalf("the owner still gets its tokens after another client tried: %v", err)
	}
}

func TestOIDCDeviceFormNeedsCSRF(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	r := e.deviceRP("tv-app", nil)
	da := r.startDevice(t)
	c := e.client()
	c.login("alice", "Alice-Password-1")
	for _, form := range []url.Values{
		{"code": {da.UserCode}},
		{"code": {da.UserCode}, "action": {"allow"}},
		{"code": {da.UserCode}, "action": {"allow"}, "csrf_token": {"forged"}},
	} {
		p := c.open("/device", form)
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "Your session expired") {
			t.Fatalf("POST %v without the CSRF token: want 403, got %d:\n%s", form, p.status, p.body)
		}
	}
	if code := r.pollOnce(t, da.DeviceCode); code != "authorization_pending" {
		t.Fatalf("refused posts must not approve the device, got %q", code)
	}
}

// With the explicit-consent authorization flow, allowing on /device leads
// to the consent page: consenting approves the device, and Deny there
// reaches the device at once (access_denied at its next poll) instead of
// leaving it to poll until the code expires.
func TestOIDCDeviceExplicitConsent(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	f, err := e.sc.Flows().GetBySlug(context.Background(), "default-provider-authorization-explicit-consent")
	if err != nil {
		t.Fatal(err)
	}
	r := e.deviceRP("tv-app", func(c *oauth2.Config) { c.AuthorizationFlow = f.ID.String() })
	// Deny first: an allowed consent is remembered and not asked again.
	for _, deny := range []bool{true, false} {
		t.Run(map[bool]string{false: "allow", true: "deny"}[deny], func(t *testing.T) {
			c := e.client()
			c.login("alice", "Alice-Password-1")
			da := r.startDevice(t)
			confirm := c.enterCode(da.UserCode)
			p := c.open("/device", url.Values{"csrf_token": {confirm.csrf(t)}, "code": {da.UserCode}, "action": {"allow"}})
			if p.status != http.StatusFound || p.loc != "/if/flow/"+f.Slug+"/" {
				t.Fatalf("allow with explicit consent: want the flow's consent page, got %d %q", p.status, p.loc)
			}
			if code := r.pollOnce(t, da.DeviceCode); code != "authorization_pending" {
				t.Fatalf("before consenting: want authorization_pending, got %q", code)
			}
			consent := c.open(p.loc, nil)
			token := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(consent.body)
			if token == nil {
				t.Fatalf("want the consent page, got %d:\n%s", consent.status, consent.body)
			}
			answer := url.Values{"csrf_token": {consent.csrf(t)}, "token": {token[1]}}
			if deny {
				answer.Set("deny", "true")
			}
			p = c.open(p.loc, answer)
			if p.status == http.StatusFound && p.loc == "/if/flow/"+f.Slug+"/" {
				p = c.open(p.loc, nil) // the flow pages' post-redirect-get
			}
			if deny {
				if code := r.pollOnce(t, da.DeviceCode); code != "access_denied" {
					t.Fatalf("after Deny on the consent page: want access_denied at once, got %q", code)
				}
				return
			}
			if p.status != http.StatusFound || p.loc != "/device" {
				t.Fatalf("consenting: want a redirect to /device, got %d %q", p.status, p.loc)
			}
			if _, err := r.waitToken(da); err != nil {
				t.Fatalf("after consent the device gets its tokens: %v", err)
			}
		})
	}
}

// A user the application's policies refuse cannot approve a device, and
// the device learns it at once instead of at expiry.
func TestOIDCDevicePolicyDenies(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	r := e.deviceRP("staff-only", nil)
	ctx := context.Background()
	g := &store.Group{Name: "staff"}
	if err := e.sc.Groups().Create(ctx, g); err != nil {
		t.Fatal(err)
	}
	app, _ := e.sc.Applications().GetBySlug(ctx, "staff-only")
	if err := e.sc.PolicyBindings().Create(ctx, &store.PolicyBinding{TargetID: app.ID,
		GroupID: uuid.NullUUID{UUID: g.ID, Valid: true}, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	da := r.startDevice(t)
	c := e.client()
	c.login("alice", "Alice-Password-1")
	confirm := c.enterCode(da.UserCode)
	p := c.open("/device", url.Values{"csrf_token": {confirm.csrf(t)}, "code": {da.UserCode}, "action": {"allow"}})
	if p.status != http.StatusForbidden {
		t.Fatalf("a user outside the bound group: want 403, got %d %q", p.status, p.loc)
	}
	if code := r.pollOnce(t, da.DeviceCode); code != "access_denied" {
		t.Fatalf("a device the user may not approve: want access_denied, got %q", code)
	}
}

// An approval lives in the browser session that gave it: logging out
// before the device collected its tokens withdraws it.
func TestOIDCDeviceApprovalEndsWithTheSession(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	r := e.deviceRP("tv-app", nil)
	da := r.startDevice(t)
	c := e.client()
	c.login("alice", "Alice-Password-1")
	c.answerDevice(da.UserCode, "allow")
	_, loc := c.status("/flows/-/default/invalidation/")
	if code, loc := c.status(loc); code != http.StatusFound || loc != "/" {
		t.Fatalf("logout: want a redirect to /, got %d %q", code, loc)
	}
	if code := r.pollOnce(t, da.DeviceCode); code != "access_denied" {
		t.Fatalf("an approval from a session that ended: want access_denied, got %q", code)
	}
}
