package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
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
	"github.com/google/uuid"
	xoauth2 "golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehouse-id/gatehouse/internal/crypto/keys"
	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Client keys are made once: RSA generation dominates these tests' time.
var clientKeys = sync.OnceValue(func() (k struct {
	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
}) {
	k.rsa, _ = rsa.GenerateKey(rand.Reader, 2048)
	k.ec, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return k
})

// tokenReply is a raw token-endpoint answer.
type tokenReply struct {
	status int
	raw    string
	body   map[string]any
}

func (t tokenReply) str(k string) string { s, _ := t.body[k].(string); return s }

// postToken posts form to the token endpoint, with HTTP Basic when basic
// holds a client ID and secret.
func (e *testEnv) postToken(form url.Values, basic ...string) tokenReply {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/application/o/token/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := tokenReply{status: resp.StatusCode, raw: string(raw)}
	if err := json.Unmarshal(raw, &out.body); err != nil {
		e.t.Fatalf("token endpoint: status %d, body is not JSON: %s", resp.StatusCode, raw)
	}
	return out
}

// wantError checks an RFC 6749 error answer and returns its description.
func (t tokenReply) wantError(tb testing.TB, what string, status int, code string) string {
	tb.Helper()
	if t.status != status || t.str("error") != code || t.str("access_token") != "" {
		tb.Fatalf("%s: want %d %s, got %d %s", what, status, code, t.status, t.raw)
	}
	return t.str("error_description")
}

// accessClaims verifies an access token against the provider's JWKS with
// go-oidc and returns its claims.
func (e *testEnv) accessClaims(slug, token string) map[string]any {
	e.t.Helper()
	ctx := context.Background()
	p, err := oidc.NewProvider(ctx, e.URL+"/application/o/"+slug+"/")
	if err != nil {
		e.t.Fatalf("discovery with go-oidc: %v", err)
	}
	tok, err := p.VerifierContext(ctx, &oidc.Config{SkipClientIDCheck: true}).Verify(ctx, token)
	if err != nil {
		e.t.Fatalf("go-oidc rejected the access token: %v", err)
	}
	var claims map[string]any
	tok.Claims(&claims)
	return claims
}

// appPassword issues an app password for u.
func (e *testEnv) appPassword(u *store.User, intent store.TokenIntent) string {
	e.t.Helper()
	secret, err := e.app.Core().CreateToken(context.Background(), e.sc, &store.Token{Intent: intent, UserID: u.ID}, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

func TestClientCredentialsServiceAccount(t *testing.T) {
	e := newEnv(t)
	id, secret := e.oidcApp("m2m", nil)
	ctx := context.Background()
	tokenURL := e.URL + "/application/o/token/"
	for _, style := range []struct {
		name  string
		style xoauth2.AuthStyle
	}{{"basic", xoauth2.AuthStyleInHeader}, {"post", xoauth2.AuthStyleInParams}} {
		cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: tokenURL,
			Scopes: []string{"openid", "profile", "offline_access"}, AuthStyle: style.style}
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatalf("%s: client_credentials with x/oauth2: %v", style.name, err)
		}
		claims := e.accessClaims("m2m", tok.AccessToken)
		if claims["preferred_username"] != "ak-m2m-client_credentials" || claims["client_id"] != id || claims["scope"] != "openid profile" {
			t.Fatalf("%s: want the service account's token for the client with scope %q, got %v", style.name, "openid profile", claims)
		}
		if tok.RefreshToken != "" || tok.Extra("id_token") == nil {
			t.Fatalf("%s: want an id_token (openid requested) and no refresh token (RFC 6749 §4.4.3), got %+v", style.name, tok)
		}
	}
	// One service account however often the client comes.
	users, n, err := e.sc.Users().List(ctx, store.UserQuery{Search: "ak-m2m-client_credentials"})
	if err != nil || n != 1 {
		t.Fatalf("want exactly one service account, got %d (%v)", n, err)
	}
	sa := users[0]
	if sa.Type != store.UserServiceAccount || sa.Path != "goauthentik.io/apps/m2m" || sa.Attributes["goauthentik.io/user/generated"] != true {
		t.Fatalf("service account: want Authentik's type, path and generated attribute, got %+v", sa)
	}
	// Nothing requested grants nothing: no scope, no id_token.
	r := e.postToken(url.Values{"grant_type": {"client_credentials"}}, id, secret)
	if r.status != http.StatusOK || r.str("scope") != "" || r.str("id_token") != "" || r.str("refresh_token") != "" {
		t.Fatalf("no scope requested: want an access token only, got %d %s", r.status, r.raw)
	}
	// password is the same grant.
	r = e.postToken(url.Values{"grant_type": {"password"}, "client_id": {id}, "client_secret": {secret}, "scope": {"profile"}})
	if r.status != http.StatusOK || e.accessClaims("m2m", r.str("access_token"))["sub"] == nil {
		t.Fatalf("password grant with the client secret: want a token, got %d %s", r.status, r.raw)
	}
	logins := 0
	for _, ev := range e.events("login") {
		if ev.Username == sa.Username && ev.App == "m2m" && ev.Context["auth_method"] == "oauth_client_secret" {
			logins++
		}
	}
	if logins != 4 {
		t.Fatalf("want a login event per token (4), got %d", logins)
	}
	// A deactivated service account gets nothing once its client is
	// reloaded (the account is cached with it, for at most 5 s);
	// Invalidate stands in for the wait.
	e.sc.Users().Update(ctx, sa.ID, func(u *store.User) error { u.IsActive = false; return nil })
	e.app.svc.oidc.Invalidate(e.sc.TenantID())
	r = e.postToken(url.Values{"grant_type": {"client_credentials"}}, id, secret)
	if d := r.wantError(t, "deactivated service account", 400, "invalid_grant"); !strings.Contains(d, "deactivated") {
		t.Fatalf("deactivated service account: want a description saying so, got %q", d)
	}
}

func TestClientCredentialsConcurrentFirstUse(t *testing.T) {
	e := newEnv(t)
	id, secret := e.oidcApp("m2m", nil)
	// Every request of a burst on a fresh provider races to create the
	// service account; the losers must use the winner's.
	var wg sync.WaitGroup
	replies := make([]tokenReply, 8)
	for i := range replies {
		wg.Go(func() { replies[i] = e.postToken(url.Values{"grant_type": {"client_credentials"}}, id, secret) })
	}
	wg.Wait()
	for i, r := range replies {
		if r.status != http.StatusOK {
			t.Fatalf("request %d of the burst: want a token, got %d %s", i, r.status, r.raw)
		}
	}
	if _, n, _ := e.sc.Users().List(context.Background(), store.UserQuery{Search: "ak-m2m-client_credentials"}); n != 1 {
		t.Fatalf("want one service account after a burst, got %d", n)
	}
}

func TestClientCredentialsServiceAccountNameTaken(t *testing.T) {
	e := newEnv(t)
	id, secret := e.oidcApp("squatted", nil)
	// A user who happens to have the generated name must never receive
	// the client's tokens.
	e.createUser("ak-squatted-client_credentials", "Some-Password-1", store.UserInternal)
	r := e.postToken(url.Values{"grant_type": {"client_credentials"}}, id, secret)
	if d := r.wantError(t, "name taken", 400, "invalid_grant"); !strings.Contains(d, "taken") {
		t.Fatalf("want a description naming the conflict, got %q", d)
	}
}

func TestClientCredentialsWrongSecret(t *testing.T) {
	e := newEnv(t)
	id, _ := e.oidcApp("m2m", nil)
	cc := clientcredentials.Config{ClientID: id, ClientSecret: "not-the-secret", TokenURL: e.URL + "/application/o/token/"}
	if _, err := cc.Token(context.Background()); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("wrong secret with x/oauth2: want invalid_client, got %v", err)
	}
	r := e.postToken(url.Values{"grant_type": {"client_credentials"}}, id, "not-the-secret")
	if d := r.wantError(t, "wrong secret", 401, "invalid_client"); d != "client authentication failed" {
		t.Fatalf("wrong secret: want the generic description, got %q", d)
	}
	if _, err := e.sc.Users().GetByUsername(context.Background(), "ak-m2m-client_credentials"); err == nil {
		t.Fatalf("a failed client authentication created the service account")
	}
}

func TestClientCredentialsAppPassword(t *testing.T) {
	e := newEnv(t)
	id, secret := e.oidcApp("m2m", nil)
	bot := e.createUser("deploy-bot", "", store.UserServiceAccount)
	other := e.createUser("someone", "Some-Password-1", store.UserInternal)
	pw := e.appPassword(bot, store.IntentAppPassword)
	for _, gt := range []string{"client_credentials", "password"} {
		r := e.postToken(url.Values{"grant_type": {gt}, "username": {"deploy-bot"}, "password": {pw}, "scope": {"openid profile"}}, id, secret)
		if r.status != http.StatusOK {
			t.Fatalf("%s with an app password: want 200, got %d %s", gt, r.status, r.raw)
		}
		if c := e.accessClaims("m2m", r.str("access_token")); c["preferred_username"] != "deploy-bot" {
			t.Fatalf("%s: want deploy-bot's token, got %v", gt, c)
		}
	}
	// Every wrong combination gets the same answer, so it cannot tell
	// which usernames exist.
	wrong := []struct{ name, username, password string }{
		{"wrong app password", "deploy-bot", "not-an-app-password"},
		{"unknown user", "nobody", "not-an-app-password"},
		{"unknown user with a valid app password", "nobody", pw},
		{"another user's app password", "someone", pw},
		{"an API token as password", "someone", e.appPassword(other, store.IntentAPI)},
		{"the user's real password", "someone", "Some-Password-1"},
	}
	first := ""
	for _, w := range wrong {
		r := e.postToken(url.Values{"grant_type": {"client_credentials"}, "username": {w.username}, "password": {w.password}}, id, secret)
		r.wantError(t, w.name, 400, "invalid_grant")
		if first == "" {
			first = r.raw
		} else if r.raw != first {
			t.Fatalf("%s: the answer differs from a wrong password's, which enumerates users: %s vs %s", w.name, r.raw, first)
		}
	}
	r := e.postToken(url.Values{"grant_type": {"client_credentials"}, "username": {"deploy-bot"}}, id, secret)
	r.wantError(t, "username without password", 400, "invalid_request")
	// Authentik's documented form: client_id, username and app password,
	// no client secret; the app password authenticates the request.
	r = e.postToken(url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "username": {"deploy-bot"}, "password": {pw}})
	if r.status != http.StatusOK {
		t.Fatalf("client_id + username + app password without a secret: %d %s", r.status, r.raw)
	}
	r = e.postToken(url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "username": {"deploy-bot"}, "password": {"wrong"}})
	r.wantError(t, "no secret and a wrong app password", 400, "invalid_grant")
	r = e.postToken(url.Values{"grant_type": {"authorization_code"}, "client_id": {id}, "username": {"deploy-bot"}, "password": {pw}, "code": {"x"}})
	r.wantError(t, "an app password does not authenticate other grants", 401, "invalid_client")
	if len(e.events("login_failed")) != len(wrong)+1 {
		t.Fatalf("want a login_failed event per wrong app password")
	}
}

func TestClientCredentialsPublicClient(t *testing.T) {
	e := newEnv(t)
	id, _ := e.oidcApp("spa", func(c *oauth2.Config) { c.ClientType = "public" })
	bot := e.createUser("deploy-bot", "", store.UserServiceAccount)
	pw := e.appPassword(bot, store.IntentAppPassword)
	for _, form := range []url.Values{
		{"grant_type": {"client_credentials"}, "client_id": {id}},
		{"grant_type": {"password"}, "client_id": {id}, "username": {"deploy-bot"}, "password": {pw}},
	} {
		r := e.postToken(form)
		r.wantError(t, "public client "+form.Get("grant_type"), 400, "unauthorized_client")
	}
}

func TestClientCredentialsApplicationPolicy(t *testing.T) {
	e := newEnv(t)
	id, secret := e.oidcApp("machines-only", nil)
	ctx := context.Background()
	g := &store.Group{Name: "machines"}
	if err := e.sc.Groups().Create(ctx, g); err != nil {
		t.Fatal(err)
	}
	app, _ := e.sc.Applications().GetBySlug(ctx, "machines-only")
	if err := e.sc.PolicyBindings().Create(ctx, &store.PolicyBinding{TargetID: app.ID,
		GroupID: uuid.NullUUID{UUID: g.ID, Valid: true}, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	r := e.postToken(url.Values{"grant_type": {"client_credentials"}}, id, secret)
	if d := r.wantError(t, "service account outside the bound group", 400, "invalid_grant"); !strings.Contains(d, "policy") {
		t.Fatalf("want a description naming the policy, got %q", d)
	}
	denied := false
	for _, ev := range e.events("authorize_application") {
		denied = denied || (ev.Context["authorized"] == false && ev.Username == "ak-machines-only-client_credentials")
	}
	if !denied {
		t.Fatalf("a denied client_credentials grant must be recorded")
	}
	sa, err := e.sc.Users().GetByUsername(ctx, "ak-machines-only-client_credentials")
	if err != nil {
		t.Fatal(err)
	}
	e.sc.Groups().AddMember(ctx, g.ID, sa.ID)
	if r := e.postToken(url.Values{"grant_type": {"client_credentials"}}, id, secret); r.status != http.StatusOK {
		t.Fatalf("after joining the bound group: want a token, got %d %s", r.status, r.raw)
	}
}

// assertion signs claims for a client assertion with go-jose.
func assertion(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

// assertionClaims are valid claims for clientID at aud; edit changes them.
func assertionClaims(clientID, aud string, edit func(map[string]any)) map[string]any {
	now := time.Now()
	c := map[string]any{"iss": clientID, "sub": clientID, "aud": aud, "iat": now.Unix(),
		"exp": now.Add(time.Minute).Unix(), "jti": uuid.NewString()}
	if edit != nil {
		edit(c)
	}
	return c
}

func assertionForm(grant, a string) url.Values {
	return url.Values{"grant_type": {grant}, "client_assertion_type": {jwtBearer}, "client_assertion": {a}}
}

func TestClientSecretJWT(t *testing.T) {
	e := newEnv(t)
	id, secret := e.oidcApp("m2m", nil)
	tokenURL, issuer := e.URL+"/application/o/token/", e.URL+"/application/o/m2m/"
	hs := func(alg jose.SignatureAlgorithm, edit func(map[string]any)) string {
		return assertion(t, alg, []byte(secret), "", assertionClaims(id, tokenURL, edit))
	}
	for _, c := range []struct {
		name string
		a    string
	}{
		{"HS256", hs(jose.HS256, nil)},
		{"HS512", hs(jose.HS512, nil)},
		{"aud is the issuer", hs(jose.HS256, func(c map[string]any) { c["aud"] = []string{"https://other.example", issuer} })},
	} {
		form := assertionForm("client_credentials", c.a)
		form.Set("client_id", id)
		if r := e.postToken(form); r.status != http.StatusOK {
			t.Fatalf("client_secret_jwt %s: want a token, got %d %s", c.name, r.status, r.raw)
		}
	}
	// client_id is optional: sub names the client.
	a := hs(jose.HS256, nil)
	if r := e.postToken(assertionForm("client_credentials", a)); r.status != http.StatusOK {
		t.Fatalf("client_secret_jwt without client_id: want a token, got %d %s", r.status, r.raw)
	}
	if d := e.postToken(assertionForm("client_credentials", a)).wantError(t, "replayed assertion", 401, "invalid_client"); !strings.Contains(d, "already used") {
		t.Fatalf("replayed assertion: want a description saying so, got %q", d)
	}
	if len(e.events("suspicious_request")) == 0 {
		t.Fatalf("a replayed assertion must be recorded as suspicious")
	}
	rejects := []struct {
		name, a, want string
	}{
		{"expired", hs(jose.HS256, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }), "expired"},
		{"wrong aud", hs(jose.HS256, func(c map[string]any) { c["aud"] = "https://evil.example/token" }), "aud must contain the token endpoint " + tokenURL},
		{"no jti", hs(jose.HS256, func(c map[string]any) { delete(c, "jti") }), "exp and jti"},
		{"no exp", hs(jose.HS256, func(c map[string]any) { delete(c, "exp") }), "exp and jti"},
		{"valid for a day", hs(jose.HS256, func(c map[string]any) { c["exp"] = time.Now().Add(24 * time.Hour).Unix() }), "short-lived"},
		{"iss is not the client", hs(jose.HS256, func(c map[string]any) { c["iss"] = "someone" }), "iss and sub"},
		{"wrong secret", assertion(t, jose.HS256, []byte(strings.Repeat("x", 64)), "", assertionClaims(id, tokenURL, nil)), "signature"},
		{"alg none", b64url(`{"alg":"none"}`) + "." + b64url(mustJSON(assertionClaims(id, tokenURL, nil))) + ".", "not accepted"},
		{"not a JWT", "garbage", "not a signed JWT"},
		{"private_key_jwt without client_jwks", assertion(t, jose.RS256, clientKeys().rsa, "", assertionClaims(id, tokenURL, nil)), "no client_jwks"},
	}
	for _, c := range rejects {
		form := assertionForm("client_credentials", c.a)
		form.Set("client_id", id)
		if d := e.postToken(form).wantError(t, c.name, 401, "invalid_client"); !strings.Contains(d, c.want) {
			t.Fatalf("%s: want a description containing %q, got %q", c.name, c.want, d)
		}
	}
	// One authentication method per request.
	form := assertionForm("client_credentials", hs(jose.HS256, nil))
	form.Set("client_secret", secret)
	e.postToken(form).wantError(t, "assertion and secret", 400, "invalid_request")
	e.postToken(url.Values{"grant_type": {"client_credentials"}, "client_assertion": {hs(jose.HS256, nil)}}).
		wantError(t, "assertion without its type", 400, "invalid_request")
	form = assertionForm("client_credentials", hs(jose.HS256, nil))
	form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
	e.postToken(form).wantError(t, "SAML assertion type", 401, "invalid_client")
}

func TestPrivateKeyJWT(t *testing.T) {
	e := newEnv(t)
	k := clientKeys()
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &k.rsa.PublicKey, KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"},
		{Key: &k.ec.PublicKey, KeyID: "ec-1", Use: "sig"},
	}})
	id, secret := e.oidcApp("m2m", func(c *oauth2.Config) {
		c.ClientJWKS = set
		c.TokenEndpointAuthMethod = "private_key_jwt"
	})
	tokenURL := e.URL + "/application/o/token/"
	sign := func(alg jose.SignatureAlgorithm, key any, kid string, edit func(map[string]any)) string {
		return assertion(t, alg, key, kid, assertionClaims(id, tokenURL, edit))
	}
	for _, c := range []struct {
		name string
		a    string
	}{
		{"RS256", sign(jose.RS256, k.rsa, "rsa-1", nil)},
		{"ES256", sign(jose.ES256, k.ec, "ec-1", nil)},
		{"ES256 without kid", sign(jose.ES256, k.ec, "", nil)},
	} {
		r := e.postToken(assertionForm("client_credentials", c.a))
		if r.status != http.StatusOK {
			t.Fatalf("private_key_jwt %s: want a token, got %d %s", c.name, r.status, r.raw)
		}
		if cl := e.accessClaims("m2m", r.str("access_token")); cl["client_id"] != id {
			t.Fatalf("private_key_jwt %s: want a token for the client, got %v", c.name, cl)
		}
	}
	a := sign(jose.RS256, k.rsa, "rsa-1", nil)
	if r := e.postToken(assertionForm("client_credentials", a)); r.status != http.StatusOK {
		t.Fatalf("first use: %d %s", r.status, r.raw)
	}
	e.postToken(assertionForm("client_credentials", a)).wantError(t, "replayed private_key_jwt", 401, "invalid_client")

	pubPEM := func() []byte {
		der, _ := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}()
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	rejects := []struct {
		name, a, want string
	}{
		{"HS256 signed with the public key", sign(jose.HS256, pubPEM, "rsa-1", nil), "not client_secret_jwt"},
		{"HS256 with the client secret", sign(jose.HS256, []byte(secret), "", nil), "not client_secret_jwt"},
		{"alg none", b64url(`{"alg":"none","kid":"rsa-1"}`) + "." + b64url(mustJSON(assertionClaims(id, tokenURL, nil))) + ".", "not accepted"},
		{"another key under the same kid", sign(jose.RS256, other, "rsa-1", nil), "signature"},
		{"unknown kid", sign(jose.RS256, k.rsa, "rsa-2", nil), "kid"},
		{"EC token under an RSA key's kid", sign(jose.ES256, k.ec, "rsa-1", nil), "can verify ES256"},
		{"RS256 key used for PS256", sign(jose.PS256, k.rsa, "rsa-1", nil), "not accepted"},
		{"expired", sign(jose.RS256, k.rsa, "rsa-1", func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), "expired"},
		{"wrong aud", sign(jose.RS256, k.rsa, "rsa-1", func(c map[string]any) { c["aud"] = e.URL + "/application/o/other/" }), "aud"},
	}
	for _, c := range rejects {
		if d := e.postToken(assertionForm("client_credentials", c.a)).wantError(t, c.name, 401, "invalid_client"); !strings.Contains(d, c.want) {
			t.Fatalf("%s: want a description containing %q, got %q", c.name, c.want, d)
		}
	}
	// A client allowed both methods: the HMAC key is always the client
	// secret, never a JWKS key, so an HS256 token "signed" with the public
	// key fails its signature check (RS/HS confusion).
	both, bothSecret := e.oidcApp("both", func(c *oauth2.Config) { c.ClientJWKS = set })
	bothSign := func(alg jose.SignatureAlgorithm, key any, kid string) string {
		return assertion(t, alg, key, kid, assertionClaims(both, tokenURL, nil))
	}
	for name, a := range map[string]string{"RS256": bothSign(jose.RS256, k.rsa, "rsa-1"), "HS256": bothSign(jose.HS256, []byte(bothSecret), "")} {
		if r := e.postToken(assertionForm("client_credentials", a)); r.status != http.StatusOK {
			t.Fatalf("client allowing both methods, %s: want a token, got %d %s", name, r.status, r.raw)
		}
	}
	if d := e.postToken(assertionForm("client_credentials", bothSign(jose.HS256, pubPEM, "rsa-1"))).
		wantError(t, "HS256 signed with the public key", 401, "invalid_client"); !strings.Contains(d, "signature") {
		t.Fatalf("HS256 signed with the public key: want a signature error, got %q", d)
	}

	// Assertions authenticate the client on every grant: here a code exchange.
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	c := e.client()
	c.login("alice", "Alice-Password-1")
	cb := c.authorize(e.URL + "/application/o/authorize/?" + url.Values{"client_id": {id}, "response_type": {"code"},
		"redirect_uri": {testRedirect}, "scope": {"openid"}}.Encode())
	form := assertionForm("authorization_code", sign(jose.RS256, k.rsa, "rsa-1", nil))
	form.Set("code", cb.Query().Get("code"))
	form.Set("redirect_uri", testRedirect)
	if r := e.postToken(form); r.status != http.StatusOK || r.str("id_token") == "" {
		t.Fatalf("code exchange with private_key_jwt: want tokens, got %d %s", r.status, r.raw)
	}
}

func TestClientJWKSValidation(t *testing.T) {
	k := clientKeys()
	jwks := func(keys ...jose.JSONWebKey) json.RawMessage {
		b, _ := json.Marshal(jose.JSONWebKeySet{Keys: keys})
		return b
	}
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	cases := []struct {
		name string
		cfg  func(*oauth2.Config)
		want string
	}{
		{"private key", func(c *oauth2.Config) { c.ClientJWKS = jwks(jose.JSONWebKey{Key: k.rsa, KeyID: "k"}) }, "public key"},
		{"shared secret", func(c *oauth2.Config) { c.ClientJWKS = jwks(jose.JSONWebKey{Key: []byte(strings.Repeat("s", 32))}) }, "client_secret_jwt"},
		{"encryption key", func(c *oauth2.Config) { c.ClientJWKS = jwks(jose.JSONWebKey{Key: &k.rsa.PublicKey, Use: "enc"}) }, "use"},
		{"weak RSA", func(c *oauth2.Config) { c.ClientJWKS = jwks(jose.JSONWebKey{Key: &weak.PublicKey}) }, "1024 bits"},
		{"unknown alg", func(c *oauth2.Config) { c.ClientJWKS = jwks(jose.JSONWebKey{Key: &k.rsa.PublicKey, Algorithm: "none"}) }, "alg"},
		{"empty set", func(c *oauth2.Config) { c.ClientJWKS = json.RawMessage(`{"keys":[]}`) }, "1 to"},
		{"not a set", func(c *oauth2.Config) { c.ClientJWKS = json.RawMessage(`["x"]`) }, "not a JWK Set"},
		{"public client", func(c *oauth2.Config) {
			c.ClientType, c.ClientJWKS = "public", jwks(jose.JSONWebKey{Key: &k.rsa.PublicKey})
		}, "confidential"},
		{"private_key_jwt without keys", func(c *oauth2.Config) { c.TokenEndpointAuthMethod = "private_key_jwt" }, "required"},
	}
	for _, c := range cases {
		cfg := oauth2.Defaults()
		c.cfg(&cfg)
		raw, _ := json.Marshal(cfg)
		_, err := oauth2.ParseConfig(raw)
		if err == nil || !strings.Contains(err.Error(), "client_jwks") || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s: want a client_jwks error containing %q, got %v", c.name, c.want, err)
		}
	}
	cfg := oauth2.Defaults()
	cfg.ClientJWKS = jwks(jose.JSONWebKey{Key: &k.rsa.PublicKey, KeyID: "k", Algorithm: "RS256", Use: "sig"})
	raw, _ := json.Marshal(cfg)
	if _, err := oauth2.ParseConfig(raw); err != nil {
		t.Fatalf("a public RSA key: want it accepted, got %v", err)
	}
}

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// BenchmarkClientCredentials measures client_credentials tokens per second
// through the HTTP handler (no network) and the floor: signing the same
// claims with an RSA-2048 key directly. Quote the ratio of the two, serial
// and with every core busy, on SQLite and, when GATEHOUSE_TEST_POSTGRES
// holds a DSN, on PostgreSQL.
//
//	go test ./internal/app/ -run XXX -bench ClientCredentials -benchtime 3s
func BenchmarkClientCredentials(b *testing.B) { onEachStore(b, benchClientCredentials) }

func benchClientCredentials(b *testing.B, e *testEnv) {
	for _, k := range []struct {
		alg, keyType string
		alg2         jose.SignatureAlgorithm
		newKey       func() any
	}{
		{"RS256", "", jose.RS256, func() any { k, _ := rsa.GenerateKey(rand.Reader, 2048); return k }},
		{"ES256", store.KeyTypeEC, jose.ES256, func() any { k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader); return k }},
		{"EdDSA", store.KeyTypeEd25519, jose.EdDSA, func() any { _, k, _ := ed25519.GenerateKey(rand.Reader); return k }},
	} {
		b.Run(k.alg, func(b *testing.B) {
			mod := func(*oauth2.Config) {} // RS256: the tenant's default key
			if k.keyType != "" {
				key, err := e.app.svc.keys.Generate(context.Background(), e.sc, keys.Generate{Name: "bench-" + k.alg, Type: k.keyType})
				if err != nil {
					b.Fatal(err)
				}
				mod = func(c *oauth2.Config) { c.SigningKey = key.ID.String() }
			}
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg2, Key: k.newKey()}, (&jose.SignerOptions{}).WithType("at+jwt"))
			if err != nil {
				b.Fatal(err)
			}
			benchTokensAgainstFloor(b, e, "bench-"+strings.ToLower(k.alg), mod, signer)
		})
	}
}

// benchTokensAgainstFloor times client_credentials tokens from an
// application signing with mod's key, and signer signing the same claims
// directly, serially and with every core busy.
func benchTokensAgainstFloor(b *testing.B, e *testEnv, slug string, mod func(*oauth2.Config), signer jose.Signer) {
	id, secret := e.oidcApp(slug, mod)
	h := e.app.Handler()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {"profile"}}.Encode()
	request := func() (string, error) {
		req := httptest.NewRequest(http.MethodPost, "http://localhost/application/o/token/", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			return "", fmt.Errorf("token endpoint: %d %s", rec.Code, rec.Body)
		}
		return rec.Body.String(), nil
	}
	body, err := request()
	if err != nil {
		b.Fatal(err)
	}
	var resp struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal([]byte(body), &resp)
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(resp.AccessToken, ".")[1])
	sign := func() error {
		jws, err := signer.Sign(payload)
		if err == nil {
			_, err = jws.CompactSerialize()
		}
		return err
	}
	for _, c := range []struct {
		name string
		op   func() error
	}{{"token_endpoint", func() error { _, err := request(); return err }}, {"sign_floor", sign}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.op(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
		b.Run(c.name+"_parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.op(); err != nil {
						b.Error(err) // Fatal may not be called outside the benchmark's goroutine
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

func TestTokenEndpointAuthMethodIsEnforced(t *testing.T) {
	e := newEnv(t)
	id, secret := e.oidcApp("post-only", func(c *oauth2.Config) { c.TokenEndpointAuthMethod = "client_secret_post" })
	form := url.Values{"grant_type": {"client_credentials"}}
	e.postToken(form, id, secret).wantError(t, "client_secret_post client using Basic", 401, "invalid_client")
	form.Set("client_id", id)
	form.Set("client_secret", secret)
	if r := e.postToken(form); r.status != http.StatusOK {
		t.Fatalf("client_secret_post: %d %s", r.status, r.raw)
	}
	id, secret = e.oidcApp("basic-only", func(c *oauth2.Config) { c.TokenEndpointAuthMethod = "client_secret_basic" })
	e.postToken(url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}).
		wantError(t, "client_secret_basic client posting its secret", 401, "invalid_client")
	id, secret = e.oidcApp("jwt-only", func(c *oauth2.Config) { c.TokenEndpointAuthMethod = "client_secret_jwt" })
	e.postToken(url.Values{"grant_type": {"client_credentials"}}, id, secret).
		wantError(t, "client_secret_jwt client sending its secret", 401, "invalid_client")
}
