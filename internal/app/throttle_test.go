package app

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Findings 9 and 10 of issue 10: the login and device-code throttles must
// hold when the client address is spoofable, must follow the account
// whatever identifier names it, and must not let strangers lock its owner
// out.

// rotatingIP sends each request as from another client address, as any
// client inside the trusted proxy ranges can claim with X-Forwarded-For.
type rotatingIP struct{ n atomic.Int32 }

func (r *rotatingIP) RoundTrip(req *http.Request) (*http.Response, error) {
	n := r.n.Add(1)
	req = req.Clone(req.Context())
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.%d.%d", n/250, n%250+1))
	return http.DefaultTransport.RoundTrip(req)
}

// spoofer returns browsers behind a trusted proxy that claim a new
// address on every request.
func (e *testEnv) spoofer() func() *client {
	rot := &rotatingIP{}
	return func() *client {
		c := e.client()
		c.http.Transport = rot
		return c
	}
}

// behindProxy trusts the loopback address as a proxy, so X-Forwarded-For
// from the tests is believed, as it is from any private address by default.
func behindProxy(c *config.Config) { c.Listen.TrustedProxyCIDRs = []string{"127.0.0.0/8", "::1/128"} }

// tryPassword runs one login attempt as a new browser from c and returns
// the last answer.
func tryPassword(c func() *client, uid, password string) challenge {
	b := c()
	b.e.t.Helper()
	b.post("default-authentication-flow", map[string]any{"uid_field": uid})
	return b.post("default-authentication-flow", map[string]any{"password": password})
}

func TestLoginThrottleFollowsTheAccount(t *testing.T) {
	e := newEnv(t, behindProxy, func(c *config.Config) { c.Throttle.LoginUserBurst = 3; c.Throttle.LoginUserPerMinute = 1 })
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	c := e.spoofer()
	// Three names for one account, each attempt from another address.
	for _, uid := range []string{"alice", "alice@example.com", "ALICE"} {
		if ch := tryPassword(c, uid, "wrong"); !ch.hasError("stage.password.invalid") {
			t.Fatalf("attempt as %q within the budget of 3: want a wrong-password answer, got %v", uid, ch.errorCodes())
		}
	}
	ips := map[string]bool{}
	for _, ev := range e.events("login_failed") {
		ips[ev.ClientIP] = true
	}
	if len(ips) != 3 {
		t.Fatalf("the test needs each attempt to come from its own address: got %v", ips)
	}
	for _, uid := range []string{"alice@example.com", "alice"} {
		ch := tryPassword(c, uid, "wrong")
		if !ch.hasError("stage.password.rate_limited") {
			t.Fatalf("a 4th attempt as %q, from yet another address: want stage.password.rate_limited (one budget per account, whatever the name and address), got %v",
				uid, ch.errorCodes())
		}
		if d := ch["response_errors"].(map[string]any)["password"].([]any)[0].(map[string]any); d["args"].(map[string]any)["seconds"] == nil ||
			!strings.Contains(d["string"].(string), "try again in") {
			t.Fatalf("the throttled answer must say how long to wait: got %v", d)
		}
	}
	// Another account has its own budget.
	e.createUser("bob", "Bob-Password-1", store.UserInternal)
	if ch := tryPassword(c, "bob@example.com", "wrong"); !ch.hasError("stage.password.invalid") {
		t.Fatalf("bob's first attempt: want a wrong-password answer, got %v", ch.errorCodes())
	}
}

func TestLoginThrottleBoundsSprayingFromRotatingAddresses(t *testing.T) {
	e := newEnv(t, behindProxy, func(c *config.Config) { c.Throttle.LoginGlobalBurst = 5; c.Throttle.LoginGlobalPerMinute = 1 })
	c := e.spoofer()
	for k := range 5 {
		if ch := tryPassword(c, fmt.Sprintf("user%d", k), "Summer2025!"); !ch.hasError("stage.password.invalid") {
			t.Fatalf("attempt %d of the tenant's 5: want a wrong-password answer, got %v", k+1, ch.errorCodes())
		}
	}
	if ch := tryPassword(c, "user5", "Summer2025!"); !ch.hasError("stage.password.rate_limited") {
		t.Fatalf("a 6th account from a 6th address: want the tenant's budget to refuse, got %v", ch.errorCodes())
	}
}

func TestStrangersCannotLockOutTheOwner(t *testing.T) {
	// A token every 100 ms: the documented delay, short for the test.
	e := newEnv(t, behindProxy, func(c *config.Config) { c.Throttle.LoginUserBurst = 3; c.Throttle.LoginUserPerMinute = 600 })
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	stranger := e.spoofer()
	for range 10 {
		tryPassword(stranger, "alice", "guess")
	}
	owner := e.client
	ok := false
	for range 20 {
		ch := tryPassword(owner, "alice@example.com", "Alice-Password-1")
		if ch.component() == "xak-flow-redirect" {
			ok = true
			break
		}
		if !ch.hasError("stage.password.rate_limited") {
			t.Fatalf("the owner's login while throttled: want a redirect or rate_limited, got %v", ch)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !ok {
		t.Fatalf("after the strangers' failures the owner must log in once a token is earned back (100 ms here)")
	}
}

func TestKnownBrowserKeepsItsOwnBudget(t *testing.T) {
	// One token a minute: without a budget of its own, the owner would
	// wait as long as strangers keep trying.
	e := newEnv(t, behindProxy, func(c *config.Config) { c.Throttle.LoginUserBurst = 3; c.Throttle.LoginUserPerMinute = 1 })
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	home := e.client()
	home.login("alice", "Alice-Password-1")
	device := deviceCookie(t, home)

	stranger := e.spoofer()
	for range 5 {
		tryPassword(stranger, "alice", "guess")
	}
	if ch := tryPassword(e.client, "alice", "Alice-Password-1"); !ch.hasError("stage.password.rate_limited") {
		t.Fatalf("a browser alice never used, while strangers spend her budget: want rate_limited, got %v", ch)
	}
	// The browser she logged in with before (its session gone, the device
	// cookie kept) gets in, by username or email.
	for _, uid := range []string{"alice", "alice@example.com"} {
		if ch := tryPassword(withCookie(e, device), uid, "Alice-Password-1"); ch.component() != "xak-flow-redirect" {
			t.Fatalf("alice's own browser as %q: want to log in despite the strangers, got %v", uid, ch)
		}
	}
	// The cookie is worth nothing to another account, or forged.
	e.createUser("bob", "Bob-Password-1", store.UserInternal)
	for range 3 {
		tryPassword(stranger, "bob", "guess")
	}
	forged := *device
	forged.Value = strings.Repeat("A", 60)
	for name, ck := range map[string]*http.Cookie{"alice's cookie": device, "a forged cookie": &forged} {
		if ch := tryPassword(withCookie(e, ck), "bob", "Bob-Password-1"); !ch.hasError("stage.password.rate_limited") {
			t.Fatalf("%s presented for bob: want bob's spent budget to apply, got %v", name, ch)
		}
	}
}

// deviceCookie returns the known-device cookie c holds, checking how it is
// set.
func deviceCookie(t *testing.T, c *client) *http.Cookie {
	t.Helper()
	for _, ck := range c.http.Jar.Cookies(mustURL(t, c.e.URL)) {
		if ck.Name == flow.DeviceCookie {
			return &http.Cookie{Name: ck.Name, Value: ck.Value}
		}
	}
	t.Fatalf("after a login the browser must hold the %s cookie", flow.DeviceCookie)
	return nil
}

// withCookie returns browsers that hold ck.
func withCookie(e *testEnv, ck *http.Cookie) func() *client {
	return func() *client {
		c := e.client()
		c.http.Jar.SetCookies(mustURL(e.t, e.URL), []*http.Cookie{ck})
		return c
	}
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestDeviceCodeThrottlesSurviveRotatingAddresses(t *testing.T) {
	e := newEnv(t, behindProxy)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	r := e.deviceRP("tv-app", nil)
	spoof := &http.Client{Transport: &rotatingIP{}}
	// Starts: Authentik's 20 an hour per IP, and 60 at once per client.
	var last *http.Response
	for k := range 61 {
		resp, err := spoof.PostForm(r.conf.Endpoint.DeviceAuthURL, url.Values{"client_id": {r.conf.ClientID},
			"client_secret": {r.conf.ClientSecret}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if last = resp; k < 60 && resp.StatusCode != http.StatusOK {
			t.Fatalf("start %d of the client's 60, each from its own address: want 200, got %d", k+1, resp.StatusCode)
		}
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("the 61st start, from a 61st address: want 429 with Retry-After, got %d", last.StatusCode)
	}

	// Lookups by visitors share one budget (60 at once); past it they log
	// in first, and no code is looked up.
	visitor := e.spoofer()()
	var p page
	for range 61 {
		if p = visitor.enterCode("BCDF-GHJK"); p.status != http.StatusBadRequest {
			break
		}
	}
	if p.status != http.StatusFound || !strings.HasPrefix(p.loc, "/flows/-/default/authentication/?") ||
		!strings.Contains(p.loc, url.QueryEscape("/device?code=BCDF-GHJK")) {
		t.Fatalf("past the visitors' budget: want a redirect to log in, then back to the code; got %d %q", p.status, p.loc)
	}
	// A logged-in user guesses on their own budget (20 at once).
	alice := e.spoofer()()
	alice.login("alice", "Alice-Password-1")
	for range 21 {
		if p = alice.enterCode("BCDF-GHJK"); p.status != http.StatusBadRequest {
			break
		}
	}
	if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "Too many codes tried") {
		t.Fatalf("a logged-in user's 21st guess, from a 21st address: want 429, got %d", p.status)
	}
}
