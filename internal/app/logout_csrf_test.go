package app

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// crossSite are the headers a browser sends when a page of another site
// navigates to us (a link, a script setting location, a form).
var crossSite = []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document",
	"Referer", "https://evil.example/"}

// getWith GETs path as c with the header pairs given, without following
// redirects.
func (c *client) getWith(path string, header ...string) page {
	c.e.t.Helper()
	return c.open(path, nil, header...)
}

// loggedIn reports whether c's session still holds a login.
func (c *client) loggedIn() bool {
	c.e.t.Helper()
	code, _ := c.status("/if/user/")
	return code == http.StatusOK
}

// TestLogoutNeedsSameSiteOrConfirmation: a page of another site cannot
// log a user out by sending the browser to the invalidation flow, through
// any of its addresses; the user is asked instead, and the answer is a
// CSRF-protected POST. The user's own click (same-origin), typing the
// address (Sec-Fetch-Site: none) and a client that is not a browser log
// out at once.
func TestLogoutNeedsSameSiteOrConfirmation(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	c := e.client()
	c.login("alice", "Alice-Password-1")

	for _, hdr := range [][]string{
		crossSite,
		{"Sec-Fetch-Site", "same-site", "Sec-Fetch-Mode", "navigate"}, // a sibling subdomain's page
		{"Referer", "https://evil.example/page"},                      // a browser without Sec-Fetch-*
		{"Origin", "null"},                                            // a sandboxed frame's form
	} {
		// /flows/-/default/invalidation/ redirects to the flow; the
		// browser keeps the same headers along the redirect.
		p := c.getWith("/flows/-/default/invalidation/", hdr...)
		if p.status != http.StatusFound {
			t.Fatalf("%v: the default invalidation shortcut: want a redirect, got %d", hdr, p.status)
		}
		if p = c.getWith(p.loc, hdr...); p.status != http.StatusOK || !strings.Contains(p.body, "Log out?") ||
			!strings.Contains(p.body, `name="csrf_token"`) {
			t.Fatalf("%v: want the confirmation page with a CSRF-protected form, got %d:\n%s", hdr, p.status, p.body)
		}
		api := c.getWith("/api/v3/flows/executor/default-invalidation-flow/", append(hdr[:len(hdr):len(hdr)],
			"Sec-Fetch-Mode", "cors")...)
		if !strings.Contains(api.body, `"component":"ak-stage-user-logout"`) {
			t.Fatalf("%v: the JSON executor: want the confirmation challenge, got %d %s", hdr, api.status, api.body)
		}
		if !c.loggedIn() || len(e.events("logout")) != 0 {
			t.Fatalf("%v: a cross-site request ended the session", hdr)
		}
	}

	// The other site cannot answer the question for the user (its form
	// has no CSRF token and is cross-origin); the user's answer logs out.
	const flowPath = "/if/flow/default-invalidation-flow/"
	confirm := c.getWith(flowPath, crossSite...)
	if p := c.open(flowPath, url.Values{"csrf_token": {"guessed"}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); p.status != http.StatusForbidden || !c.loggedIn() {
		t.Fatalf("a cross-site POST of the confirmation: want 403 and the session kept, got %d", p.status)
	}
	if p := c.open(flowPath, url.Values{"csrf_token": {confirm.csrf(t)}}, "Sec-Fetch-Site", "same-origin"); p.status != http.StatusFound {
		t.Fatalf("confirming: want a redirect, got %d:\n%s", p.status, p.body)
	}
	if c.loggedIn() || len(e.events("logout")) != 1 {
		t.Fatalf("confirming must end the session and record one logout event")
	}

	for name, hdr := range map[string][]string{
		"the user's own click": {"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "navigate"},
		"a typed address":      {"Sec-Fetch-Site", "none", "Sec-Fetch-Mode", "navigate"},
		"a same-origin Origin": {"Origin", e.URL},
		"not a browser":        nil,
	} {
		c := e.client()
		c.login("alice", "Alice-Password-1")
		if p := c.getWith(flowPath, hdr...); p.status != http.StatusFound || c.loggedIn() {
			t.Fatalf("%s: want an immediate logout, got %d, still logged in: %v", name, p.status, c.loggedIn())
		}
	}
}

// TestOIDCEndSessionAsksWithoutHint: RP-Initiated Logout without an ID
// token of this session does not log out of Gatehouse by itself (§2: the
// OP must ask); with one, it does at once (TestOIDCEndSession).
func TestOIDCEndSessionAsksWithoutHint(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	id, secret := e.logoutApp("app", "")
	c := e.client()
	c.login("alice", "Alice-Password-1")
	c.signIn(e.rp("app", id, secret))
	p := c.getWith("/application/o/app/end-session/?client_id="+url.QueryEscape(id), crossSite...)
	if p.status != http.StatusFound || p.loc != "/if/flow/default-invalidation-flow/" {
		t.Fatalf("end-session without id_token_hint: want the flow pages, got %d %q", p.status, p.loc)
	}
	if p = c.getWith(p.loc, crossSite...); !strings.Contains(p.body, "Log out?") {
		t.Fatalf("end-session without id_token_hint: want the confirmation, got %d:\n%s", p.status, p.body)
	}
	if !c.loggedIn() {
		t.Fatalf("end-session without id_token_hint ended the Gatehouse session unasked")
	}
}

// crossSiteLogout logs alice in in Chromium, opens a page of another site
// (127.0.0.1 is another site than localhost) holding html, clicks text
// there and expects Gatehouse to ask before logging her out.
func (e *testEnv) crossSiteLogout(t *testing.T, html, text string) *browser {
	t.Helper()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, html)
	}))
	t.Cleanup(other.Close)
	b := newBrowser(t)
	b.navigate(e.URL + loginPath)
	browserLogin(t, b, "alice", "Alice-Password-1")
	b.waitText("Logged in as alice")
	b.navigate(other.URL + "/")
	b.clickText(text)
	b.waitText("Another site sent you here to log out.")
	if n := len(e.events("logout")); n != 0 {
		t.Fatalf("the other site's page logged alice out (%d logout events)", n)
	}
	return b
}

// TestBrowserCrossSiteLogout is the attack in Chromium: a page of another
// site links to the logout flow. The session cookie goes along (a
// top-level navigation), yet the user sees a question and stays logged in
// until they answer it.
func TestBrowserCrossSiteLogout(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	b := e.crossSiteLogout(t, `<!doctype html><title>Cute cats</title><a href="`+e.URL+
		`/flows/-/default/invalidation/">See the cats</a>`, "See the cats")
	b.clickText("Stay logged in")
	b.waitText("Logged in as alice")
	b.navigate(e.URL + "/flows/-/default/invalidation/") // typed: no question
	wantPath(t, b, loginPath)
	if n := len(e.events("logout")); n != 1 {
		t.Fatalf("logging out by the typed address: want one logout event, got %d", n)
	}
}

// TestSessionCookieSameSiteLax: the session cookie is SameSite=Lax over
// HTTPS too (Authentik uses None there), so no other site can send it
// with a form POST, a frame or an image.
func TestSessionCookieSameSiteLax(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Listen.TrustedProxyCIDRs = []string{"127.0.0.0/8"} })
	for _, proto := range []string{"http", "https"} {
		req, _ := http.NewRequest(http.MethodGet, e.URL+loginPath, nil)
		req.Header.Set("X-Forwarded-Proto", proto)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cookie := resp.Header.Get("Set-Cookie")
		if !strings.HasPrefix(cookie, "gatehouse_session=") || !strings.Contains(cookie, "SameSite=Lax") ||
			strings.Contains(cookie, "Secure") != (proto == "https") {
			t.Errorf("over %s: want a SameSite=Lax session cookie, Secure only over HTTPS; got %q", proto, cookie)
		}
	}
}

// TestCrossSitePostIsRepostedWithTheCookie: a relying party's form POST
// to the authorization or end-session endpoint arrives without the
// (SameSite=Lax) session cookie; Gatehouse answers with its own page that
// posts the same form to the same address, so the second request, from
// this origin, sees the user's session. Requests from this origin or not
// from a browser go straight on.
func TestCrossSitePostIsRepostedWithTheCookie(t *testing.T) {
	e := newEnv(t)
	id, _ := e.oidcApp("app", nil)
	c := e.client()
	form := url.Values{"client_id": {id}, "response_type": {"code"}, "scope": {"openid"}, "redirect_uri": {testRedirect},
		"state": {`s"><x`}}
	p := c.open("/application/o/authorize/", form, "Sec-Fetch-Site", "cross-site", "Origin", "https://rp.example")
	if p.status != http.StatusOK || !strings.Contains(p.body, `<form method="post" action="/application/o/authorize/"`) ||
		!strings.Contains(p.body, `<input type="hidden" name="state" value="s&#34;&gt;&lt;x">`) {
		t.Fatalf("a cross-site POST without the cookie: want our page re-posting it, got %d:\n%s", p.status, p.body)
	}
	for name, hdr := range map[string][]string{"same-origin": {"Sec-Fetch-Site", "same-origin"}, "not a browser": nil} {
		if p := c.open("/application/o/authorize/", form, hdr...); p.status != http.StatusFound {
			t.Errorf("%s POST: want it served at once (a redirect to log in), got %d", name, p.status)
		}
	}

	// The re-posted form comes from our own page, yet a logout it asks for
	// without an ID token of the session is still put to the user.
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	lid, _ := e.logoutApp("bye", "")
	u := e.client()
	u.login("alice", "Alice-Password-1")
	bye := url.Values{"client_id": {lid}}
	// The browser leaves the SameSite=Lax cookie out of the cross-site
	// POST (Go's cookie jar would not), then sends it with the re-post.
	if p := e.client().open("/application/o/bye/end-session/", bye, "Sec-Fetch-Site", "cross-site"); p.status != http.StatusOK ||
		!strings.Contains(p.body, `action="/application/o/bye/end-session/"`) {
		t.Fatalf("a cross-site end-session POST: want our page re-posting it, got %d", p.status)
	}
	if p := u.open("/application/o/bye/end-session/", bye, "Sec-Fetch-Site", "same-origin"); p.loc != "/if/flow/default-invalidation-flow/" || !u.loggedIn() {
		t.Fatalf("the re-posted end-session: want the user asked and still logged in, got %d %q", p.status, p.loc)
	}
}

// TestBrowserCrossSiteEndSessionPost: in Chromium, an application's
// logout form posting to end-session from its own site reaches the
// user's Gatehouse session (the re-post), and, without an ID token of
// that session, the user is asked before being logged out.
func TestBrowserCrossSiteEndSessionPost(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	id, _ := e.logoutApp("app", "")
	b := e.crossSiteLogout(t, `<!doctype html><title>App</title><form method="post" action="`+e.URL+
		`/application/o/app/end-session/"><input type="hidden" name="client_id" value="`+id+
		`"><button type="submit">Sign out</button></form>`, "Sign out")
	b.clickText("Log out")
	wantPath(t, b, loginPath)
	if n := len(e.events("logout")); n != 1 {
		t.Fatalf("want one logout event, got %d", n)
	}
}
