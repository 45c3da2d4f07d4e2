package app

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	xoauth2 "golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The authorization endpoint's response types, response modes, prompt,
// max_age and login_hint (docs/oauth2.md, "Grants and parameters"), driven
// through the server's HTTP interface and judged by go-oidc.

// hostileState is the state of every request here: it must come back byte
// for byte in every response mode, and never appear raw in a page.
const hostileState = `st "><script>alert(1)</script>&a=b+c#'`

var (
	formPostRe    = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	hiddenInputRe = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
	scriptNonceRe = regexp.MustCompile(`<script nonce="([^"]+)">`)
	consentTokRe  = regexp.MustCompile(`name="token" value="([^"]+)"`)
	uidInputRe    = regexp.MustCompile(`<input[^>]*name="uid_field"[^>]*>`)
	valueAttrRe   = regexp.MustCompile(`value="([^"]*)"`)
)

// front is one answer the browser got: from the authorization endpoint, a
// flow page, or the client's redirect.
type front struct {
	path   string // what was requested, without the host
	status int
	loc    string
	body   string
	header http.Header
}

// front GETs u (a path on the server or an absolute URL) as browser c,
// with header (name, value pairs) added.
func (c *client) front(u string, header ...string) front {
	c.e.t.Helper()
	u = strings.TrimPrefix(u, c.e.URL)
	req, _ := http.NewRequest(http.MethodGet, c.e.URL+u, nil)
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
	return front{path: u, status: status, loc: loc, body: string(b), header: resp.Header}
}

// follow GETs u and follows the server's own redirects (the default-flow
// shortcut, flow pages, back to the authorization endpoint); it stops at a
// page or at a redirect to the client.
func (c *client) follow(u string) front {
	c.e.t.Helper()
	for range 10 {
		f := c.front(u)
		if f.status != http.StatusFound || !strings.HasPrefix(f.loc, "/") {
			return f
		}
		u = f.loc
	}
	c.e.t.Fatalf("too many redirects from %s", u)
	return front{}
}

// callback decodes what the client received: the response mode and its
// parameters. It fails unless f sends the browser to the client; a
// form_post page is also checked for escaping and its headers.
func (f front) callback(t testing.TB) (string, url.Values) {
	t.Helper()
	if f.status == http.StatusFound && strings.HasPrefix(f.loc, testRedirect) {
		if i := strings.Index(f.loc, "#"); i >= 0 {
			if strings.Contains(f.loc[:i], "?") {
				t.Fatalf("a fragment response must leave the query alone: %s", f.loc)
			}
			p, err := url.ParseQuery(f.loc[i+1:])
			if err != nil {
				t.Fatalf("fragment %q: %v", f.loc[i+1:], err)
			}
			return "fragment", p
		}
		u, _ := url.Parse(f.loc)
		return "query", u.Query()
	}
	if m := formPostRe.FindStringSubmatch(f.body); f.status == http.StatusOK && m != nil && html.UnescapeString(m[1]) == testRedirect {
		f.checkFormPostPage(t)
		p := url.Values{}
		for _, in := range hiddenInputRe.FindAllStringSubmatch(f.body, -1) {
			p.Add(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
		}
		return "form_post", p
	}
	t.Fatalf("%s: want the browser sent to the client, got %d %q:\n%s", f.path, f.status, f.loc, f.body)
	return "", nil
}

// checkFormPostPage: the page that posts tokens to the client is never
// cached, runs only its own script (the state must not inject one), may
// not be framed, and does not forbid the POST to the client.
func (f front) checkFormPostPage(t testing.TB) {
	t.Helper()
	if strings.Contains(f.body, "<script>alert") || strings.Contains(f.body, `"><`) {
		t.Errorf("form_post: the state is reflected unescaped:\n%s", f.body)
	}
	if n := strings.Count(f.body, "<script"); n != 1 {
		t.Errorf("form_post: want exactly the autosubmit script, got %d scripts:\n%s", n, f.body)
	}
	if strings.Contains(f.body, `name="csrf_token"`) {
		t.Errorf("form_post: our CSRF token must not be posted to the client")
	}
	if cc := f.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("form_post: Cache-Control %q, want no-store", cc)
	}
	csp := f.header.Get("Content-Security-Policy")
	nonce := scriptNonceRe.FindStringSubmatch(f.body)
	if nonce == nil || !strings.Contains(csp, "script-src 'nonce-"+nonce[1]+"'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("form_post: want a CSP allowing only the page's nonced script, got %q (nonce %v)", csp, nonce)
	}
	if !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("form_post: the page must not be framed, CSP %q", csp)
	}
	for _, d := range strings.Split(csp, ";") {
		if d = strings.TrimSpace(d); strings.HasPrefix(d, "form-action") && !strings.Contains(d, "http://localhost:8000") {
			t.Errorf("form_post: %q blocks the POST to the client", d)
		}
	}
}

// authURL is r's authorization URL with state and extra parameters (pairs;
// an empty value leaves the parameter out).
func (r *rp) authURL(state string, kv ...string) string {
	u, _ := url.Parse(r.conf.AuthCodeURL(state))
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// frontClaims are the ID token claims these tests read besides go-oidc's.
type frontClaims struct {
	AtHash   string `json:"at_hash"`
	CHash    string `json:"c_hash"`
	AuthTime int64  `json:"auth_time"`
	Sid      string `json:"sid"`
	Acr      string `json:"acr"`
}

// checkFront checks what the authorization endpoint returned for response
// type rt: exactly the artifacts asked for, an ID token that go-oidc
// accepts with the nonce, at_hash (go-oidc's own check) and c_hash. It
// returns the ID token's claims (zero without one).
func (r *rp) checkFront(t testing.TB, rt string, p url.Values, nonce string) (*oidc.IDToken, frontClaims) {
	t.Helper()
	has := func(w string) bool { return slices.Contains(strings.Fields(rt), w) }
	for k, want := range map[string]bool{"code": has("code"), "access_token": has("token"), "id_token": has("id_token")} {
		if got := p.Get(k) != ""; got != want {
			t.Errorf("%s: %s present %v, want %v (%v)", rt, k, got, want, p)
		}
	}
	if p.Get("error") != "" {
		t.Fatalf("%s: unexpected error %v", rt, p)
	}
	if has("token") && (p.Get("token_type") != "Bearer" || p.Get("expires_in") == "") {
		t.Errorf("%s: want token_type Bearer and expires_in with the access token, got %v", rt, p)
	}
	var cl frontClaims
	if !has("id_token") {
		return nil, cl
	}
	raw := p.Get("id_token")
	idt, err := r.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("%s: go-oidc rejected the ID token: %v", rt, err)
	}
	if err := idt.Claims(&cl); err != nil {
		t.Fatal(err)
	}
	if idt.Nonce != nonce {
		t.Errorf("%s: nonce %q, want %q", rt, idt.Nonce, nonce)
	}
	if has("token") {
		if err := idt.VerifyAccessToken(p.Get("access_token")); err != nil {
			t.Errorf("%s: at_hash: %v", rt, err)
		}
	} else if cl.AtHash != "" {
		t.Errorf("%s: at_hash without an access token", rt)
	}
	if want := ""; has("code") {
		if want = halfSHA256(t, raw, p.Get("code")); cl.CHash != want {
			t.Errorf("%s: c_hash %q, want %q", rt, cl.CHash, want)
		}
	} else if cl.CHash != "" {
		t.Errorf("%s: c_hash without a code", rt)
	}
	if cl.AuthTime == 0 || cl.Sid == "" || cl.Acr != oauth2.ACR {
		t.Errorf("%s: want auth_time, sid and acr, got %+v", rt, cl)
	}
	return idt, cl
}

// halfSHA256 is OIDC's at_hash/c_hash of v for an ID token signed with a
// SHA-256 algorithm (the test keys'), checked from the token's header.
func halfSHA256(t testing.TB, idToken, v string) string {
	t.Helper()
	hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(idToken, ".")[0])
	var h struct{ Alg string }
	json.Unmarshal(hdr, &h)
	if !strings.HasSuffix(h.Alg, "256") {
		t.Fatalf("ID token alg %q: this helper hashes with SHA-256 only", h.Alg)
	}
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// legacyApp starts the server with alice and bob and the application
// "legacy", and returns its relying party and a browser where alice is
// logged in.
func legacyApp(t *testing.T) (*testEnv, *rp, *client) {
	t.Helper()
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	e.createUser("bob", "Bob-Password-1", store.UserInternal)
	id, secret := e.oidcApp("legacy", nil)
	c := e.client()
	c.login("alice", "Alice-Password-1")
	return e, e.rp("legacy", id, secret), c
}

// flowID is the ID of the flow with slug.
func (e *testEnv) flowID(slug string) string {
	e.t.Helper()
	f, err := e.sc.Flows().GetBySlug(context.Background(), slug)
	if err != nil {
		e.t.Fatal(err)
	}
	return f.ID.String()
}

func TestOIDCResponseTypesAndModes(t *testing.T) {
	_, r, c := legacyApp(t)
	ctx := context.Background()

	cases := []struct {
		rt, mode, nonce string
		want            string // the response mode used
	}{
		{rt: "code", want: "query"},
		{rt: "code", mode: "fragment", want: "fragment"},
		{rt: "code", mode: "form_post", nonce: "n-code", want: "form_post"},
		{rt: "id_token", nonce: "n1", want: "fragment"},
		{rt: "id_token", mode: "form_post", nonce: "n2", want: "form_post"},
		{rt: "id_token token", nonce: "n3", want: "fragment"},
		{rt: "token id_token", mode: "form_post", nonce: "n4", want: "form_post"}, // any word order
		{rt: "code id_token", nonce: "n5", want: "fragment"},
		{rt: "code id_token", mode: "form_post", nonce: "n6", want: "form_post"},
		{rt: "code token", want: "fragment"}, // no ID token from this endpoint: the nonce is optional
		{rt: "code token", mode: "fragment", nonce: "n7", want: "fragment"},
		{rt: "code id_token token", nonce: "n8", want: "fragment"},
		{rt: "id_token code token", mode: "form_post", nonce: "n9", want: "form_post"},
	}
	for _, tc := range cases {
		t.Run(tc.rt+"/"+tc.want+"/nonce="+tc.nonce, func(t *testing.T) {
			f := c.front(r.authURL(hostileState, "response_type", tc.rt, "response_mode", tc.mode, "nonce", tc.nonce))
			mode, p := f.callback(t)
			if mode != tc.want {
				t.Fatalf("response mode: want %s, got %s (%v)", tc.want, mode, p)
			}
			if p.Get("state") != hostileState {
				t.Errorf("state: want %q back exactly, got %q", hostileState, p.Get("state"))
			}
			front, _ := r.checkFront(t, tc.rt, p, tc.nonce)
			if at := p.Get("access_token"); at != "" {
				tok := &xoauth2.Token{AccessToken: at, TokenType: "Bearer"}
				if ui, err := r.provider.UserInfo(ctx, xoauth2.StaticTokenSource(tok)); err != nil || ui.Email != "alice@example.com" {
					t.Errorf("userinfo with the access token from the authorization endpoint: %v %+v", err, ui)
				}
			}
			code := p.Get("code")
			if code == "" {
				return
			}
			// The code of a hybrid response is exchanged as usual; both ID
			// tokens name the same issuer and subject (OIDC Core 3.3.3.6).
			tok, err := r.conf.Exchange(ctx, code)
			if err != nil {
				t.Fatalf("exchanging the code: %v", err)
			}
			idt, err := r.verifier.Verify(ctx, tok.Extra("id_token").(string))
			if err != nil {
				t.Fatalf("token endpoint ID token: %v", err)
			}
			if front != nil && (idt.Subject != front.Subject || idt.Issuer != front.Issuer) {
				t.Errorf("the two ID tokens differ: %s/%s and %s/%s", idt.Issuer, idt.Subject, front.Issuer, front.Subject)
			}
			if idt.Nonce != tc.nonce {
				t.Errorf("token endpoint ID token: nonce %q, want %q", idt.Nonce, tc.nonce)
			}
		})
	}
}

// TestOIDCAuthorizationErrors: errors the client may see go back to its
// redirect URI, in the response mode it asked for (fragment when tokens
// were asked for and the mode cannot carry them), always with the state,
// never with a code or token.
func TestOIDCAuthorizationErrors(t *testing.T) {
	e, r, c := legacyApp(t)
	anon := e.client()

	cases := []struct {
		name      string
		kv        []string
		anon      bool
		mode, err string
	}{
		// OAuth 2.0 Multiple Response Types §5: tokens never go in a query.
		{name: "query with id_token", kv: []string{"response_type", "id_token", "response_mode", "query", "nonce", "n"}, mode: "fragment", err: "invalid_request"},
		{name: "query with id_token token", kv: []string{"response_type", "id_token token", "response_mode", "query", "nonce", "n"}, mode: "fragment", err: "invalid_request"},
		{name: "query with code id_token", kv: []string{"response_type", "code id_token", "response_mode", "query", "nonce", "n"}, mode: "fragment", err: "invalid_request"},
		{name: "query with code token", kv: []string{"response_type", "code token", "response_mode", "query"}, mode: "fragment", err: "invalid_request"},
		{name: "query with code id_token token", kv: []string{"response_type", "code id_token token", "response_mode", "query", "nonce", "n"}, mode: "fragment", err: "invalid_request"},
		// A nonce is required when the authorization endpoint returns an ID token.
		{name: "id_token without nonce", kv: []string{"response_type", "id_token"}, mode: "fragment", err: "invalid_request"},
		{name: "id_token token without nonce", kv: []string{"response_type", "id_token token"}, mode: "fragment", err: "invalid_request"},
		{name: "code id_token without nonce", kv: []string{"response_type", "code id_token", "response_mode", "form_post"}, mode: "form_post", err: "invalid_request"},
		{name: "code id_token token without nonce", kv: []string{"response_type", "code id_token token"}, mode: "fragment", err: "invalid_request"},
		// Implicit and hybrid are OpenID Connect: openid is required.
		{name: "id_token without openid", kv: []string{"response_type", "id_token", "nonce", "n", "scope", "profile email"}, mode: "fragment", err: "invalid_scope"},
		{name: "id_token token without openid", kv: []string{"response_type", "id_token token", "nonce", "n", "scope", "profile", "response_mode", "form_post"}, mode: "form_post", err: "invalid_scope"},
		{name: "code id_token without openid", kv: []string{"response_type", "code id_token", "nonce", "n", "scope", "profile"}, mode: "fragment", err: "invalid_scope"},
		{name: "code token without openid", kv: []string{"response_type", "code token", "scope", "profile"}, mode: "fragment", err: "invalid_scope"},
		{name: "code id_token token without openid", kv: []string{"response_type", "code id_token token", "nonce", "n", "scope", "email"}, mode: "fragment", err: "invalid_scope"},
		{name: "unsupported response_type", kv: []string{"response_type", "token"}, mode: "query", err: "unsupported_response_type"},
		{name: "unknown response_mode", kv: []string{"response_mode", "web_message"}, mode: "query", err: "invalid_request"},
		// OIDC Core 3.1.2.1: none with any other value is an error.
		{name: "prompt none login", kv: []string{"prompt", "none login"}, mode: "query", err: "invalid_request"},
		{name: "prompt none consent in a fragment", kv: []string{"prompt", "consent none", "response_mode", "fragment"}, mode: "fragment", err: "invalid_request"},
		{name: "unknown prompt", kv: []string{"prompt", "create"}, mode: "query", err: "invalid_request"},
		{name: "negative max_age", kv: []string{"max_age", "-1"}, mode: "query", err: "invalid_request"},
		{name: "max_age not a number", kv: []string{"max_age", "1h", "response_type", "id_token", "nonce", "n"}, mode: "fragment", err: "invalid_request"},
		// Logged out with prompt=none, in each mode.
		{name: "prompt none logged out, query", anon: true, kv: []string{"prompt", "none"}, mode: "query", err: "login_required"},
		{name: "prompt none logged out, fragment", anon: true, kv: []string{"prompt", "none", "response_type", "id_token", "nonce", "n"}, mode: "fragment", err: "login_required"},
		{name: "prompt none logged out, form_post", anon: true, kv: []string{"prompt", "none", "response_mode", "form_post"}, mode: "form_post", err: "login_required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := c
			if tc.anon {
				b = anon
			}
			mode, p := b.front(r.authURL(hostileState, tc.kv...)).callback(t)
			if mode != tc.mode || p.Get("error") != tc.err || p.Get("error_description") == "" {
				t.Fatalf("want %s with an error_description in the %s, got %s %v", tc.err, tc.mode, mode, p)
			}
			if p.Get("state") != hostileState {
				t.Errorf("state: want %q back exactly, got %q", hostileState, p.Get("state"))
			}
			for _, k := range []string{"code", "access_token", "id_token"} {
				if p.Has(k) {
					t.Errorf("an error response carries %s", k)
				}
			}
		})
	}
}

// implicitIDToken runs an implicit id_token request as browser c and
// returns the ID token's claims; the browser must be logged in.
func (c *client) implicitIDToken(t testing.TB, r *rp, kv ...string) frontClaims {
	t.Helper()
	f := c.follow(r.authURL(hostileState, append([]string{"response_type", "id_token", "nonce", "n"}, kv...)...))
	_, p := f.callback(t)
	_, cl := r.checkFront(t, "id_token", p, "n")
	return cl
}

// loginPage follows u (as browser c) to the login page and returns the flow
// slug and the page; it fails when the browser goes elsewhere.
func (c *client) loginPage(t testing.TB, u string) (string, front) {
	t.Helper()
	f := c.follow(u)
	slug, ok := strings.CutPrefix(f.path, "/if/flow/")
	slug, _, _ = strings.Cut(slug, "/")
	if !ok || f.status != http.StatusOK || !strings.Contains(f.body, `name="uid_field"`) {
		t.Fatalf("want the login page, got %s %d %q", f.path, f.status, f.loc)
	}
	return slug, f
}

// finishLogin logs in on the login page of flow slug (already shown to c)
// and follows the flow's redirect back to the authorization endpoint.
func (c *client) finishLogin(t testing.TB, slug, username, password string) front {
	t.Helper()
	c.post(slug, map[string]any{"uid_field": username})
	ch := c.post(slug, map[string]any{"password": password})
	to, _ := ch["to"].(string)
	if ch.component() != "xak-flow-redirect" || !strings.HasPrefix(to, "/application/o/authorize/") {
		t.Fatalf("login: want a redirect back to the authorization endpoint, got %v", ch)
	}
	return c.follow(to)
}

// TestOIDCReauthentication: prompt=login and max_age make a logged-in user
// log in again (a new session and a later auth_time), the old session
// standing until then; a recent enough login is kept; prompt=none cannot
// log in again and says so.
func TestOIDCReauthentication(t *testing.T) {
	e, r, _ := legacyApp(t)

	cases := []struct {
		name    string
		kv      []string
		relog   bool   // the user must log in again
		consent bool   // then consent
		errStr  string // or the client gets this error
	}{
		{name: "prompt=login", kv: []string{"prompt", "login"}, relog: true},
		{name: "prompt=login consent", kv: []string{"prompt", "login consent"}, relog: true, consent: true},
		{name: "max_age=0", kv: []string{"max_age", "0"}, relog: true},
		{name: "max_age=1, login older", kv: []string{"max_age", "1"}, relog: true},
		{name: "max_age=3600", kv: []string{"max_age", "3600"}},
		{name: "prompt=select_account", kv: []string{"prompt", "select_account"}},
		{name: "prompt=none max_age=0", kv: []string{"prompt", "none", "max_age", "0"}, errStr: "login_required"},
	}
	// Every case's browser logs in first; one pause then makes all those
	// logins at least a second old, so a new one has a later auth_time.
	browsers := make([]*client, len(cases))
	before := make([]frontClaims, len(cases))
	for i := range cases {
		browsers[i] = e.client()
		browsers[i].login("alice", "Alice-Password-1")
		before[i] = browsers[i].implicitIDToken(t, r)
	}
	alice, err := e.sc.Users().GetByUsername(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	sessions := func() int {
		ss, err := e.sc.Sessions().ListForUser(context.Background(), alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(ss)
	}
	logins := sessions()
	time.Sleep(1100 * time.Millisecond)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := browsers[i]
			u := r.authURL(hostileState, append([]string{"response_type", "id_token", "nonce", "n"}, tc.kv...)...)
			var f front
			if tc.relog {
				slug, _ := c.loginPage(t, u)
				// The old login stands until the new one happens: a link
				// asking for a new login must not log anyone out, so the
				// application's silent requests still succeed meanwhile.
				if _, p := c.front(r.authURL("s", "prompt", "none")).callback(t); p.Get("error") != "" || p.Get("code") == "" {
					t.Fatalf("during the new login the old session must stand, got %v", p)
				}
				c.loginPage(t, u)
				f = c.finishLogin(t, slug, "alice", "Alice-Password-1")
				if tc.consent {
					f = c.giveConsent(t, f)
				}
			} else {
				f = c.front(u)
			}
			mode, p := f.callback(t)
			if p.Get("state") != hostileState || mode != "fragment" {
				t.Errorf("want the state back in the fragment, got %s %q", mode, p.Get("state"))
			}
			if tc.errStr != "" {
				if p.Get("error") != tc.errStr {
					t.Fatalf("want %s, got %v", tc.errStr, p)
				}
				return
			}
			_, cl := r.checkFront(t, "id_token", p, "n")
			if tc.relog && (cl.AuthTime <= before[i].AuthTime || cl.Sid == before[i].Sid) {
				t.Errorf("a new login: want a later auth_time and a new sid, got %+v after %+v", cl, before[i])
			}
			if !tc.relog && (cl.AuthTime != before[i].AuthTime || cl.Sid != before[i].Sid) {
				t.Errorf("no new login expected: auth_time and sid must stay, got %+v after %+v", cl, before[i])
			}
		})
	}
	// Each new login replaced its browser's session instead of adding one.
	if n := sessions(); n != logins {
		t.Errorf("alice's sessions after the new logins: want %d as before, got %d", logins, n)
	}
}

// TestOIDCPromptNoneAndConsent: prompt=none succeeds silently for a
// logged-in user who needs no consent and answers consent_required (in
// the requested mode) when consent would be needed; prompt=consent asks
// even on the implicit-consent flow and even when consent is remembered,
// and asks once.
func TestOIDCPromptNoneAndConsent(t *testing.T) {
	e, imp, c := legacyApp(t) // the implicit-consent flow
	// A flow whose own consent stage always asks.
	e.applyYAML(`version: 1
metadata: {name: always-consent}
entries:
  - model: authentik_flows.flow
    id: flow
    identifiers: {slug: always-consent}
    attrs: {designation: authorization, name: Always consent, title: Always consent, authentication: require_authenticated}
  - model: authentik_stages_consent.consentstage
    id: stage
    identifiers: {name: always-consent}
    attrs: {mode: always_require}
  - model: authentik_flows.flowstagebinding
    identifiers: {target: !KeyOf flow, stage: !KeyOf stage, order: 0}
`)
	alwaysID, alwaysSecret := e.oidcApp("always", func(c *oauth2.Config) { c.AuthorizationFlow = e.flowID("always-consent") })
	alw := e.rp("always", alwaysID, alwaysSecret)
	explicitID, explicitSecret := e.oidcApp("explicit", func(c *oauth2.Config) {
		c.AuthorizationFlow = e.flowID("default-provider-authorization-explicit-consent")
	})
	exp := e.rp("explicit", explicitID, explicitSecret)

	// want: "callback" (no page shown), "consent" (one consent page, then the
	// client), or an error at the client.
	steps := []struct {
		name string
		r    *rp
		kv   []string
		want string
	}{
		{"implicit app, prompt=none", imp, []string{"prompt", "none"}, "callback"},
		{"implicit app, prompt=none, fragment id_token", imp, []string{"prompt", "none", "response_type", "id_token", "nonce", "n"}, "callback"},
		{"implicit app, prompt=consent", imp, []string{"prompt", "consent"}, "consent"},
		{"implicit app after prompt=consent: still silent", imp, nil, "callback"},
		{"explicit app, prompt=none before consent", exp, []string{"prompt", "none", "response_mode", "form_post"}, "consent_required"},
		{"explicit app, prompt=none before consent, fragment", exp, []string{"prompt", "none", "response_type", "code id_token", "nonce", "n"}, "consent_required"},
		{"explicit app, prompt=consent before consent", exp, []string{"prompt", "consent"}, "consent"},
		{"explicit app, consent remembered", exp, nil, "callback"},
		{"explicit app, prompt=none after consent", exp, []string{"prompt", "none", "response_mode", "form_post"}, "callback"},
		{"explicit app, prompt=consent after consent", exp, []string{"prompt", "consent", "response_mode", "form_post"}, "consent"},
		{"explicit app, prompt=consent select_account", exp, []string{"prompt", "consent select_account"}, "consent"},
		{"always-asking flow", alw, nil, "consent"},
		{"always-asking flow, prompt=consent", alw, []string{"prompt", "consent", "response_type", "code id_token token", "nonce", "n"}, "consent"},
		{"always-asking flow, prompt=none", alw, []string{"prompt", "none"}, "consent_required"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			f := c.follow(st.r.authURL(hostileState, st.kv...))
			if st.want == "consent" {
				f = c.giveConsent(t, f)
			}
			_, p := f.callback(t)
			if p.Get("state") != hostileState {
				t.Errorf("state: want %q back exactly, got %q", hostileState, p.Get("state"))
			}
			switch st.want {
			case "callback", "consent":
				if p.Get("error") != "" || (p.Get("code") == "" && p.Get("id_token") == "") {
					t.Fatalf("want a code or ID token, got %v", p)
				}
			default:
				if p.Get("error") != st.want {
					t.Fatalf("want %s, got %v", st.want, p)
				}
			}
		})
	}
}

// giveConsent answers the consent page f and returns where the browser
// ends; a second consent page for the same request fails the test.
func (c *client) giveConsent(t testing.TB, f front) front {
	t.Helper()
	next := c.answerConsent(t, f)
	if consentTokRe.MatchString(next.body) {
		t.Fatalf("consent asked twice for one request:\n%s", next.body)
	}
	return next
}

// answerConsent posts the consent page f (Allow; add "deny", "true" for
// Deny) and follows the server's own redirects: it returns the page the
// browser ends on, or the redirect that leaves for the client.
func (c *client) answerConsent(t testing.TB, f front, extra ...string) front {
	t.Helper()
	tok := consentTokRe.FindStringSubmatch(f.body)
	if f.status != http.StatusOK || tok == nil {
		t.Fatalf("want the consent page, got %s %d %q", f.path, f.status, f.loc)
	}
	form := url.Values{"csrf_token": {page{status: f.status, body: f.body}.csrf(t)}, "token": {tok[1]}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	resp, err := c.http.PostForm(c.e.URL+f.path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	p := front{path: f.path, body: string(b), header: resp.Header}
	p.status, p.loc = followable(resp, p.body)
	if p.status == http.StatusFound && strings.HasPrefix(p.loc, "/") {
		return c.follow(p.loc)
	}
	return p
}

// TestOIDCLoginHint: login_hint prefills the login page's identifier (also
// with prompt=login), escaped; the user can still log in as someone else.
func TestOIDCLoginHint(t *testing.T) {
	e, r, _ := legacyApp(t)

	cases := []struct {
		name, hint, as string
		loggedIn       bool
		kv             []string
	}{
		{name: "logged out", hint: "alice@example.com", as: "alice"},
		{name: "prompt=login", hint: "alice", as: "alice", loggedIn: true, kv: []string{"prompt", "login"}},
		{name: "hostile hint", hint: `"><script>alert(1)</script>`, as: "alice"},
		{name: "someone else than the hint", hint: "alice", as: "bob", kv: []string{"response_mode", "form_post"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.client()
			if tc.loggedIn {
				c.login("bob", "Bob-Password-1")
			}
			u := r.authURL(hostileState, append([]string{"login_hint", tc.hint, "response_type", "id_token", "nonce", "n"}, tc.kv...)...)
			slug, f := c.loginPage(t, u)
			in := uidInputRe.FindString(f.body)
			v := valueAttrRe.FindStringSubmatch(in)
			if v == nil || html.UnescapeString(v[1]) != tc.hint {
				t.Errorf("login page: want the identifier prefilled with %q, got %s", tc.hint, in)
			}
			if strings.Contains(f.body, "<script>alert") {
				t.Errorf("login page: the hint is reflected unescaped")
			}
			if ch := c.get(slug, nil); ch.component() != "ak-stage-identification" || ch["pending_user_identifier"] != tc.hint {
				t.Errorf("JSON executor: want the identification challenge with pending_user_identifier %q, got %v", tc.hint, ch)
			}
			pw := map[string]string{"alice": "Alice-Password-1", "bob": "Bob-Password-1"}[tc.as]
			_, p := c.finishLogin(t, slug, tc.as, pw).callback(t)
			idt, _ := r.checkFront(t, "id_token", p, "n")
			var cl struct {
				PreferredUsername string `json:"preferred_username"`
			}
			idt.Claims(&cl)
			if cl.PreferredUsername != tc.as || p.Get("state") != hostileState {
				t.Errorf("want %s signed in and the state back, got %q %q", tc.as, cl.PreferredUsername, p.Get("state"))
			}
		})
	}
}
