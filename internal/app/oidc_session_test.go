package app

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	xoauth2 "golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

const testLogoutRedirect = "http://localhost:8000/logged-out"

// postEndpoint posts form to an OAuth endpoint (path under the server),
// authenticated with HTTP Basic (id, secret) or a bearer token (one value).
func (e *testEnv) postEndpoint(path string, form url.Values, auth ...string) tokenReply {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	switch len(auth) {
	case 1:
		req.Header.Set("Authorization", "Bearer "+auth[0])
	case 2:
		req.SetBasicAuth(url.QueryEscape(auth[0]), url.QueryEscape(auth[1]))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := tokenReply{status: resp.StatusCode, raw: string(raw)}
	if err := json.Unmarshal(raw, &out.body); err != nil {
		e.t.Fatalf("%s: status %d, body is not JSON: %s", path, resp.StatusCode, raw)
	}
	return out
}

func (e *testEnv) introspect(token string, auth ...string) tokenReply {
	e.t.Helper()
	return e.postEndpoint("/application/o/introspect/", url.Values{"token": {token}}, auth...)
}

// inactive fails unless r is exactly {"active":false}: nothing may tell
// why a token is not shown.
func (r tokenReply) inactive(tb testing.TB, what string) {
	tb.Helper()
	if r.status != http.StatusOK || len(r.body) != 1 || r.body["active"] != false {
		tb.Fatalf("%s: want 200 {\"active\":false}, got %d %s", what, r.status, r.raw)
	}
}

// signedIn is one user's sign-in to an application through the browser c.
type signedIn struct {
	rp  *rp
	tok *xoauth2.Token
	idt *oidc.IDToken
	raw string // the ID token
	sid string
}

// signIn runs the authorization code flow for an already logged-in browser.
func (c *client) signIn(r *rp) *signedIn {
	c.e.t.Helper()
	ctx := context.Background()
	cb := c.authorize(r.conf.AuthCodeURL("s"))
	tok, err := r.conf.Exchange(ctx, cb.Query().Get("code"))
	if err != nil {
		c.e.t.Fatalf("code exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(ctx, raw)
	if err != nil {
		c.e.t.Fatalf("ID token: %v", err)
	}
	var cl struct {
		Sid string `json:"sid"`
	}
	idt.Claims(&cl)
	return &signedIn{rp: r, tok: tok, idt: idt, raw: raw, sid: cl.Sid}
}

func (s *signedIn) userinfoWorks() bool {
	_, err := s.rp.provider.UserInfo(context.Background(), xoauth2.StaticTokenSource(s.tok))
	return err == nil
}

func TestOIDCIntrospection(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	id, secret := e.oidcApp("api", nil)
	otherID, otherSecret := e.oidcApp("other", nil)
	publicID, _ := e.oidcApp("spa", func(c *oauth2.Config) { c.ClientType = "public" })
	c := e.client()
	c.login("alice", "Alice-Password-1")
	in := c.signIn(e.rp("api", id, secret, oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess))

	got := e.introspect(in.tok.AccessToken, id, secret)
	if got.status != http.StatusOK || got.body["active"] != true {
		t.Fatalf("own access token: want active, got %d %s", got.status, got.raw)
	}
	want := map[string]string{"client_id": id, "username": "alice", "token_type": "Bearer", "sub": in.idt.Subject,
		"aud": id, "iss": e.URL + "/application/o/api/", "sid": in.sid, "scope": "openid profile offline_access"}
	for k, v := range want {
		if got.str(k) != v {
			t.Errorf("introspection %s: want %q, got %q", k, v, got.str(k))
		}
	}
	if exp, _ := got.body["exp"].(float64); int64(exp) != in.idt.Expiry.Unix() {
		t.Errorf("introspection exp: want the token's %d, got %v", in.idt.Expiry.Unix(), got.body["exp"])
	}
	if got.body["iat"] == nil || got.str("jti") == "" || got.body["auth_time"] == nil {
		t.Errorf("introspection: want iat, jti and auth_time, got %s", got.raw)
	}

	rt := e.postEndpoint("/application/o/introspect/", url.Values{"token": {in.tok.RefreshToken},
		"token_type_hint": {"refresh_token"}}, id, secret)
	if rt.body["active"] != true || rt.str("client_id") != id || rt.str("token_type") != "" {
		t.Fatalf("refresh token: want active without an access token_type, got %s", rt.raw)
	}
	// A hint naming the wrong kind, or no kind we know, only changes the
	// search order.
	if r := e.postEndpoint("/application/o/introspect/", url.Values{"token": {in.tok.AccessToken},
		"token_type_hint": {"refresh_token"}}, id, secret); r.body["active"] != true {
		t.Fatalf("access token with hint refresh_token: want active, got %s", r.raw)
	}
	if r := e.postEndpoint("/application/o/introspect/", url.Values{"token": {in.tok.AccessToken},
		"token_type_hint": {"saml_assertion"}}, id, secret); r.body["active"] != true {
		t.Fatalf("unknown hint: want it ignored, got %s", r.raw)
	}

	e.introspect("not-a-token", id, secret).inactive(t, "unknown token")
	e.introspect(in.tok.AccessToken, otherID, otherSecret).inactive(t, "another client's token")

	e.introspect(in.tok.AccessToken, publicID, "").wantError(t, "public client", http.StatusUnauthorized, "invalid_client")
	e.postEndpoint("/application/o/introspect/", url.Values{"token": {in.tok.AccessToken}, "client_id": {publicID}}).
		wantError(t, "public client by client_id", http.StatusUnauthorized, "invalid_client")
	e.introspect(in.tok.AccessToken, id, "not-the-secret").wantError(t, "wrong secret", http.StatusUnauthorized, "invalid_client")
	e.introspect(in.tok.AccessToken).wantError(t, "no client authentication", http.StatusUnauthorized, "invalid_client")
	e.postEndpoint("/application/o/introspect/", nil, id, secret).wantError(t, "no token", http.StatusBadRequest, "invalid_request")

	// The client's own client_credentials token authenticates it; a user's
	// token for the same client does not.
	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: e.URL + "/application/o/token/"}
	own, err := cc.Token(context.Background())
	if err != nil {
		t.Fatalf("client_credentials: %v", err)
	}
	if r := e.introspect(in.tok.AccessToken, own.AccessToken); r.body["active"] != true || r.str("username") != "alice" {
		t.Fatalf("bearer of the client's own token: want alice's token active, got %d %s", r.status, r.raw)
	}
	e.introspect(in.tok.AccessToken, in.tok.AccessToken).wantError(t, "bearer of a user's token", http.StatusUnauthorized, "invalid_token")

	// An inactive user's tokens are inactive.
	u, _ := e.sc.Users().GetByUsername(context.Background(), "alice")
	if _, err := e.sc.Users().Update(context.Background(), u.ID, func(u *store.User) error { u.IsActive = false; return nil }); err != nil {
		t.Fatal(err)
	}
	e.introspect(in.tok.AccessToken, id, secret).inactive(t, "deactivated user's token")
}

func TestOIDCRevocation(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	id, secret := e.oidcApp("app", nil)
	otherID, otherSecret := e.oidcApp("other", nil)
	publicID, _ := e.oidcApp("spa", func(c *oauth2.Config) { c.ClientType = "public" })
	r := e.rp("app", id, secret, oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess)
	c := e.client()
	c.login("alice", "Alice-Password-1")
	ctx := context.Background()
	revoke := func(form url.Values, auth ...string) tokenReply {
		t.Helper()
		return e.postEndpoint("/application/o/revoke/", form, auth...)
	}

	// Revoking an access token ends it, not its grant.
	in := c.signIn(r)
	if got := revoke(url.Values{"token": {in.tok.AccessToken}}, id, secret); got.status != http.StatusOK {
		t.Fatalf("revoke access token: want 200, got %d %s", got.status, got.raw)
	}
	if in.userinfoWorks() {
		t.Fatalf("userinfo accepted a revoked access token")
	}
	e.introspect(in.tok.AccessToken, id, secret).inactive(t, "revoked access token")
	next, err := r.conf.TokenSource(ctx, &xoauth2.Token{RefreshToken: in.tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("the refresh token must outlive a revoked access token: %v", err)
	}

	// Revoking a refresh token ends the whole grant.
	if got := revoke(url.Values{"token": {next.RefreshToken}, "token_type_hint": {"refresh_token"}}, id, secret); got.status != http.StatusOK {
		t.Fatalf("revoke refresh token: want 200, got %d %s", got.status, got.raw)
	}
	if _, err := r.conf.TokenSource(ctx, &xoauth2.Token{RefreshToken: next.RefreshToken}).Token(); err == nil ||
		!strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("a revoked refresh token: want invalid_grant, got %v", err)
	}
	e.introspect(next.AccessToken, id, secret).inactive(t, "access token of a revoked refresh token's grant")
	if got := e.postToken(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {in.tok.RefreshToken}}, id, secret); got.status == http.StatusOK {
		t.Fatalf("the rotated-out refresh token of a revoked grant must stay dead: %s", got.raw)
	}

	// Another client's token: 200, and nothing happens to it.
	in = c.signIn(r)
	if got := revoke(url.Values{"token": {in.tok.AccessToken}}, otherID, otherSecret); got.status != http.StatusOK {
		t.Fatalf("revoke another client's token: want 200, got %d %s", got.status, got.raw)
	}
	if !in.userinfoWorks() {
		t.Fatalf("another client revoked this client's token")
	}
	// Unknown and already revoked tokens: 200 (RFC 7009 §2.2).
	if got := revoke(url.Values{"token": {"no-such-token"}}, id, secret); got.status != http.StatusOK {
		t.Fatalf("unknown token: want 200, got %d %s", got.status, got.raw)
	}
	revoke(url.Values{"token": {in.tok.AccessToken}}, id, secret)
	if got := revoke(url.Values{"token": {in.tok.AccessToken}}, id, secret); got.status != http.StatusOK {
		t.Fatalf("revoking twice: want 200, got %d %s", got.status, got.raw)
	}
	revoke(url.Values{"token": {in.tok.RefreshToken}}, id, "not-the-secret").wantError(t, "wrong secret", http.StatusUnauthorized, "invalid_client")
	revoke(url.Values{}, id, secret).wantError(t, "no token", http.StatusBadRequest, "invalid_request")

	// A public client revokes its own tokens with its client_id alone.
	pr := e.rp("spa", publicID, "", oidc.ScopeOpenID)
	verifier := xoauth2.GenerateVerifier()
	cb := c.authorize(pr.conf.AuthCodeURL("s", xoauth2.S256ChallengeOption(verifier)))
	ptok, err := pr.conf.Exchange(ctx, cb.Query().Get("code"), xoauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("public client exchange: %v", err)
	}
	if got := revoke(url.Values{"token": {ptok.AccessToken}, "client_id": {publicID}}); got.status != http.StatusOK {
		t.Fatalf("public client revoke: want 200, got %d %s", got.status, got.raw)
	}
	if _, err := pr.provider.UserInfo(ctx, xoauth2.StaticTokenSource(ptok)); err == nil {
		t.Fatalf("a public client's revoked token still works")
	}
}

// logoutApp is an application whose provider accepts the logout redirect
// and logs users out of Gatehouse too (default-invalidation-flow).
func (e *testEnv) logoutApp(slug, backchannel string) (id, secret string) {
	e.t.Helper()
	f, err := e.sc.Flows().GetBySlug(context.Background(), oauth2.DefaultInvalidationFlow)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.oidcApp(slug, func(c *oauth2.Config) {
		c.RedirectURIs = append(c.RedirectURIs, oauth2.RedirectURI{MatchingMode: "strict", URL: testLogoutRedirect, Type: "logout"})
		c.InvalidationFlow = f.ID.String()
		c.BackchannelLogoutURI = backchannel
	})
}

func endSessionURL(base, slug string, q url.Values) string {
	return base + "/application/o/" + slug + "/end-session/?" + q.Encode()
}

func TestOIDCEndSession(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	id, secret := e.logoutApp("app", "")
	otherID, otherSecret := e.logoutApp("other", "")
	r := e.rp("app", id, secret)
	c := e.client()
	c.login("alice", "Alice-Password-1")
	in := c.signIn(r)
	foreign := c.signIn(e.rp("other", otherID, otherSecret))

	refused := func(what string, q url.Values, wantText string) {
		t.Helper()
		resp, err := c.http.Get(endSessionURL(e.URL, "app", q))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(string(body), wantText) {
			t.Fatalf("%s: want 400 showing %q and no redirect, got %d %q", what, wantText, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	refused("unregistered post_logout_redirect_uri", url.Values{"id_token_hint": {in.raw},
		"post_logout_redirect_uri": {"https://evil.example/bye"}}, "is not registered")
	// An authorization redirect URI is not a logout one.
	refused("authorization URI as logout URI", url.Values{"id_token_hint": {in.raw},
		"post_logout_redirect_uri": {testRedirect}}, "is not registered")
	refused("post_logout_redirect_uri without id_token_hint", url.Values{
		"post_logout_redirect_uri": {testLogoutRedirect}}, "id_token_hint")
	refused("another application's ID token", url.Values{"id_token_hint": {foreign.raw},
		"post_logout_redirect_uri": {testLogoutRedirect}}, "id_token_hint")
	refused("forged ID token", url.Values{"id_token_hint": {forgeIDToken(t, in.raw)},
		"post_logout_redirect_uri": {testLogoutRedirect}}, "id_token_hint")
	refused("client_id of another application", url.Values{"client_id": {otherID}}, "client_id")
	if !in.userinfoWorks() {
		t.Fatalf("a refused logout must change nothing")
	}

	st, loc := c.status("/application/o/app/end-session/?" + url.Values{"id_token_hint": {in.raw},
		"post_logout_redirect_uri": {testLogoutRedirect}, "state": {"bye 123"}, "client_id": {id}}.Encode())
	if st != http.StatusFound || loc != testLogoutRedirect+"?state=bye+123" {
		t.Fatalf("end-session: want a redirect to the logout URI with the state, got %d %q", st, loc)
	}
	// The session is gone: authorizing asks to log in again.
	resp, err := c.http.Get(r.conf.AuthCodeURL("s"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || strings.HasPrefix(resp.Header.Get("Location"), testRedirect) {
		t.Fatalf("after logout: want a redirect to log in, got %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if in.userinfoWorks() || foreign.userinfoWorks() {
		t.Fatalf("tokens issued in the ended session must be revoked")
	}
	if len(e.events("logout")) != 1 {
		t.Fatalf("want one logout event")
	}
	// Logging out again, without a session, is harmless and still redirects.
	st, loc = c.status("/application/o/app/end-session/?" + url.Values{"id_token_hint": {in.raw},
		"post_logout_redirect_uri": {testLogoutRedirect}}.Encode())
	if st != http.StatusFound || loc != testLogoutRedirect {
		t.Fatalf("end-session without a session: want the redirect, got %d %q", st, loc)
	}
	if st, _ := c.status("/application/o/nope/end-session/"); st != http.StatusNotFound {
		t.Fatalf("unknown application: want 404, got %d", st)
	}
}

// forgeIDToken re-signs the claims of a real ID token with another key,
// under the real key's kid.
func forgeIDToken(t *testing.T, real string) string {
	t.Helper()
	jws, err := jose.ParseSignedCompact(real, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	opts := (&jose.SignerOptions{}).WithHeader("kid", jws.Signatures[0].Header.KeyID).WithType("JWT")
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := sig.Sign(jws.UnsafePayloadWithoutVerification())
	if err != nil {
		t.Fatal(err)
	}
	out, _ := forged.CompactSerialize()
	return out
}

// With Authentik's default provider invalidation flow (no user_logout
// stage) the application is signed out but the Gatehouse session stays.
func TestOIDCEndSessionKeepsGatehouseSession(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	id, secret := e.oidcApp("app", func(c *oauth2.Config) {
		c.RedirectURIs = append(c.RedirectURIs, oauth2.RedirectURI{MatchingMode: "strict", URL: testLogoutRedirect, Type: "logout"})
		c.AccessTokenValidity = "seconds=1" // the ID token expires with it
	})
	r := e.rp("app", id, secret)
	c := e.client()
	c.login("alice", "Alice-Password-1")
	in := c.signIn(r)
	time.Sleep(1100 * time.Millisecond)

	st, loc := c.status("/application/o/app/end-session/?" + url.Values{"id_token_hint": {in.raw},
		"post_logout_redirect_uri": {testLogoutRedirect}, "state": {"s1"}}.Encode())
	if st != http.StatusFound || loc != testLogoutRedirect+"?state=s1" {
		t.Fatalf("end-session with an expired ID token: want the redirect, got %d %q", st, loc)
	}
	if len(e.events("logout")) != 0 {
		t.Fatalf("the provider invalidation flow has no user_logout stage: nobody logs out of Gatehouse")
	}
	c.authorize(r.conf.AuthCodeURL("s")) // still logged in: straight back to the client
}

// logoutReceiver is a relying party's back-channel logout endpoint.
type logoutReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got map[string][]string // path → logout tokens
}

func newLogoutReceiver(t *testing.T) *logoutReceiver {
	lr := &logoutReceiver{got: map[string][]string{}}
	lr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "want a form POST", http.StatusBadRequest)
			return
		}
		lr.mu.Lock()
		lr.got[r.URL.Path] = append(lr.got[r.URL.Path], r.PostFormValue("logout_token"))
		lr.mu.Unlock()
	}))
	t.Cleanup(lr.srv.Close)
	return lr
}

func (lr *logoutReceiver) tokens(path string) []string {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return append([]string(nil), lr.got[path]...)
}

// waitTokens waits until every path received a token, then a little
// longer, so a duplicate would have arrived too.
func (lr *logoutReceiver) waitTokens(t *testing.T, paths ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range paths {
		for len(lr.tokens(p)) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("no logout token arrived at %s", p)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	time.Sleep(1500 * time.Millisecond)
}

// checkLogoutToken verifies a logout token against the provider's JWKS
// with go-jose and checks its claims against the sign-in it ends.
func (e *testEnv) checkLogoutToken(t *testing.T, slug, raw string, in *signedIn) {
	t.Helper()
	resp, err := http.Get(e.URL + "/application/o/" + slug + "/jwks/")
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil {
		t.Fatalf("logout token: %v", err)
	}
	if typ, _ := jws.Signatures[0].Header.ExtraHeaders["typ"].(string); typ != "logout+jwt" {
		t.Errorf("logout token typ: want logout+jwt, got %q", typ)
	}
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("logout token kid %q is not in the provider's JWKS", jws.Signatures[0].Header.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("logout token signature: %v", err)
	}
	var cl map[string]any
	json.Unmarshal(payload, &cl)
	events, _ := cl["events"].(map[string]any)
	if _, ok := events["http://schemas.openid.net/event/backchannel-logout"]; !ok {
		t.Errorf("logout token: want the back-channel logout event, got %v", cl["events"])
	}
	if _, ok := cl["nonce"]; ok {
		t.Errorf("a logout token must not carry a nonce")
	}
	want := map[string]string{"iss": in.idt.Issuer, "aud": in.rp.conf.ClientID, "sub": in.idt.Subject, "sid": in.sid}
	for k, v := range want {
		if got, _ := cl[k].(string); got != v || v == "" {
			t.Errorf("logout token %s: want %q, got %v", k, v, cl[k])
		}
	}
	now := float64(time.Now().Unix())
	iat, _ := cl["iat"].(float64)
	exp, _ := cl["exp"].(float64)
	if jti, _ := cl["jti"].(string); jti == "" || iat > now+5 || exp < now || exp > now+600 {
		t.Errorf("logout token: want jti, a current iat and a short exp, got %v", cl)
	}
}

func TestOIDCBackchannelLogout(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	lr := newLogoutReceiver(t)
	aID, aSecret := e.logoutApp("app-a", lr.srv.URL+"/a")
	bID, bSecret := e.logoutApp("app-b", lr.srv.URL+"/b")
	cID, cSecret := e.logoutApp("app-c", "")
	dID, dSecret := e.logoutApp("app-d", lr.srv.URL+"/d")
	c := e.client()
	c.login("alice", "Alice-Password-1")
	a := c.signIn(e.rp("app-a", aID, aSecret))
	b := c.signIn(e.rp("app-b", bID, bSecret))
	cIn := c.signIn(e.rp("app-c", cID, cSecret))
	e.rp("app-d", dID, dSecret) // configured, never signed in to: not told

	// Another browser's session with app-a is not touched.
	c2 := e.client()
	c2.login("alice", "Alice-Password-1")
	a2 := c2.signIn(e.rp("app-a", aID, aSecret))

	st, loc := c.status("/application/o/app-a/end-session/?" + url.Values{"id_token_hint": {a.raw},
		"post_logout_redirect_uri": {testLogoutRedirect}}.Encode())
	if st != http.StatusFound || loc != testLogoutRedirect {
		t.Fatalf("end-session: want the redirect, got %d %q", st, loc)
	}
	lr.waitTokens(t, "/a", "/b")
	if n := len(lr.tokens("/a")); n != 1 {
		t.Fatalf("app-a (which logged out) and whose session ended: want exactly one logout token, got %d", n)
	}
	if n := len(lr.tokens("/b")); n != 1 {
		t.Fatalf("app-b: want exactly one logout token, got %d", n)
	}
	if n := len(lr.tokens("/d")); n != 0 {
		t.Fatalf("app-d never signed in: want no logout token, got %d", n)
	}
	e.checkLogoutToken(t, "app-a", lr.tokens("/a")[0], a)
	e.checkLogoutToken(t, "app-b", lr.tokens("/b")[0], b)
	if b.userinfoWorks() || cIn.userinfoWorks() {
		t.Fatalf("every token of the ended session must be revoked")
	}
	if !a2.userinfoWorks() {
		t.Fatalf("another session's tokens must survive")
	}

	// Logging out of Gatehouse itself (its invalidation flow) tells the
	// applications of that session too.
	st, loc = c2.status("/if/flow/" + oauth2.DefaultInvalidationFlow + "/")
	if st != http.StatusFound {
		t.Fatalf("logout flow: want a redirect, got %d %q", st, loc)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(lr.tokens("/a")) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("logging out of Gatehouse sent no logout token to app-a")
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.checkLogoutToken(t, "app-a", lr.tokens("/a")[1], a2)
}

func TestOIDCSessionDiscovery(t *testing.T) {
	e := newEnv(t)
	e.oidcApp("app", nil)
	p, err := oidc.NewProvider(context.Background(), e.URL+"/application/o/app/")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		EndSession    string `json:"end_session_endpoint"`
		Introspection string `json:"introspection_endpoint"`
		Revocation    string `json:"revocation_endpoint"`
		Backchannel   bool   `json:"backchannel_logout_supported"`
		BackchannelS  bool   `json:"backchannel_logout_session_supported"`
		Frontchannel  bool   `json:"frontchannel_logout_supported"`
	}
	p.Claims(&doc)
	base := e.URL + "/application/o/"
	if doc.EndSession != base+"app/end-session/" || doc.Introspection != base+"introspect/" || doc.Revocation != base+"revoke/" ||
		!doc.Backchannel || !doc.BackchannelS || doc.Frontchannel {
		t.Fatalf("discovery: want the end-session, introspection and revocation endpoints and back-channel logout only, got %+v", doc)
	}
}

func TestOIDCLogoutURIValidation(t *testing.T) {
	for _, u := range []string{"myapp://logout", "/relative", "https://rp.example/logout#frag", "javascript:alert(1)"} {
		if _, err := oauth2.ParseConfig(json.RawMessage(`{"logout_uri":` + jsonString(u) + `}`)); err == nil ||
			!strings.Contains(err.Error(), "logout_uri") {
			t.Errorf("logout_uri %q: want refused, got %v", u, err)
		}
	}
	if _, err := oauth2.ParseConfig(json.RawMessage(`{"logout_uri":"https://rp.example/backchannel"}`)); err != nil {
		t.Errorf("an https logout_uri: %v", err)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
