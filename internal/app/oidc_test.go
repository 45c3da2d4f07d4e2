package app

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"
	xoauth2 "golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

const testRedirect = "http://localhost:8000/auth/callback"

// oidcApp creates an application with an OAuth2 provider, as the seed's
// walkthrough does, and returns its client credentials.
func (e *testEnv) oidcApp(slug string, mod func(*oauth2.Config)) (clientID, secret string) {
	e.t.Helper()
	ctx := context.Background()
	key, err := e.app.svc.keys.EnsureDefault(ctx, e.sc)
	if err != nil {
		e.t.Fatal(err)
	}
	defs, err := oauth2.LoadTenantDefaults(ctx, e.sc, key.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := oauth2.Defaults()
	cfg.RedirectURIs = []oauth2.RedirectURI{{MatchingMode: "strict", URL: testRedirect}}
	if mod != nil {
		mod(&cfg)
	}
	created, err := oauth2.CreateProvider(ctx, e.sc, e.app.svc.box, defs, oauth2.NewProvider{Name: slug, Config: &cfg})
	if err != nil {
		e.t.Fatal(err)
	}
	app := &store.Application{Name: slug, Slug: slug, ProviderID: uuid.NullUUID{UUID: created.Provider.ID, Valid: true}}
	if err := e.sc.Applications().Create(ctx, app); err != nil {
		e.t.Fatal(err)
	}
	return created.ClientID, created.ClientSecret
}

// rp is a relying party built from real client libraries (go-oidc, x/oauth2).
type rp struct {
	provider *oidc.Provider
	conf     xoauth2.Config
	verifier *oidc.IDTokenVerifier
}

func (e *testEnv) rp(slug, clientID, secret string, scopes ...string) *rp {
	e.t.Helper()
	p, err := oidc.NewProvider(context.Background(), e.URL+"/application/o/"+slug+"/")
	if err != nil {
		e.t.Fatalf("discovery with go-oidc: %v", err)
	}
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "profile", "email"}
	}
	return &rp{provider: p, verifier: p.Verifier(&oidc.Config{ClientID: clientID}),
		conf: xoauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: testRedirect, Scopes: scopes}}
}

// authorize sends the browser c to the authorization URL and returns the
// callback it is redirected to.
func (c *client) authorize(authURL string) *url.URL {
	c.e.t.Helper()
	resp, err := c.http.Get(authURL)
	if err != nil {
		c.e.t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, testRedirect) {
		c.e.t.Fatalf("authorize: want a redirect to the client, got %d %q", resp.StatusCode, loc)
	}
	u, _ := url.Parse(loc)
	return u
}

func TestOIDCAuthorizationCodeWithPKCE(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	id, secret := e.oidcApp("fastapi-demo", nil)
	r := e.rp("fastapi-demo", id, secret, oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess)
	c := e.client()
	c.login("alice", "Alice-Password-1")

	verifier := xoauth2.GenerateVerifier()
	authURL := r.conf.AuthCodeURL("state-123", xoauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-456"))
	cb := c.authorize(authURL)
	if cb.Query().Get("state") != "state-123" || cb.Query().Get("code") == "" {
		t.Fatalf("callback: want the state and a code, got %v", cb.Query())
	}
	ctx := context.Background()
	if _, err := r.conf.Exchange(ctx, cb.Query().Get("code")); err == nil {
		t.Fatalf("exchanging without the PKCE verifier must fail")
	}
	cb = c.authorize(authURL)
	tok, err := r.conf.Exchange(ctx, cb.Query().Get("code"), xoauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
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
	if idt.Nonce != "nonce-456" || claims.PreferredUsername != "alice" || claims.AuthTime == 0 || claims.Sid == "" {
		t.Fatalf("ID token claims: want nonce, preferred_username alice, auth_time and sid; got %+v nonce %q", claims, idt.Nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	ui, err := r.provider.UserInfo(ctx, xoauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if ui.Email != "alice@example.com" || ui.Subject != idt.Subject {
		t.Fatalf("userinfo: want alice's email and the same sub, got %+v", ui)
	}
	if tok.RefreshToken == "" {
		t.Fatalf("offline_access must yield a refresh token")
	}
	// Refresh rotates; reusing the old refresh token revokes the family.
	next, err := r.conf.TokenSource(ctx, &xoauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil || next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh: want a new refresh token, got %v %v", next, err)
	}
	if _, err := r.conf.TokenSource(ctx, &xoauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Fatalf("reusing a rotated refresh token must fail")
	}
	if _, err := r.provider.UserInfo(ctx, xoauth2.StaticTokenSource(next)); err == nil {
		t.Fatalf("after refresh-token reuse every token of the grant is revoked; userinfo still worked")
	}
	if len(e.events("suspicious_request")) == 0 || len(e.events("authorize_application")) == 0 {
		t.Fatalf("want authorize_application and suspicious_request events")
	}
}

func TestOIDCFailures(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	id, secret := e.oidcApp("app", nil)
	r := e.rp("app", id, secret)
	c := e.client()
	c.login("alice", "Alice-Password-1")
	ctx := context.Background()

	// An unregistered redirect URI gets an error page, never a redirect.
	bad := r.conf
	bad.RedirectURL = "https://evil.example/cb"
	resp, err := c.http.Get(bad.AuthCodeURL("s"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Fatalf("unregistered redirect_uri: want 400 and no redirect, got %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Wrong client secret.
	cb := c.authorize(r.conf.AuthCodeURL("s"))
	wrong := r.conf
	wrong.ClientSecret = "not-the-secret"
	if _, err := wrong.Exchange(ctx, cb.Query().Get("code")); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("wrong secret: want invalid_client, got %v", err)
	}
	// A replayed code fails and revokes what the first exchange issued.
	cb = c.authorize(r.conf.AuthCodeURL("s"))
	tok, err := r.conf.Exchange(ctx, cb.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.conf.Exchange(ctx, cb.Query().Get("code")); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("replayed code: want invalid_grant, got %v", err)
	}
	if _, err := r.provider.UserInfo(ctx, xoauth2.StaticTokenSource(tok)); err == nil {
		t.Fatalf("tokens issued from a replayed code must be revoked")
	}
	// Wrong audience: another client's verifier refuses the ID token.
	cb = c.authorize(r.conf.AuthCodeURL("s"))
	tok, _ = r.conf.Exchange(ctx, cb.Query().Get("code"))
	other := r.provider.Verifier(&oidc.Config{ClientID: "someone-else"})
	if _, err := other.Verify(ctx, tok.Extra("id_token").(string)); err == nil {
		t.Fatalf("an ID token for another audience must be refused")
	}
	// prompt=none while logged out: login_required at the client.
	anon := e.client()
	cb = anon.authorize(r.conf.AuthCodeURL("s", xoauth2.SetAuthURLParam("prompt", "none")))
	if cb.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none logged out: want login_required, got %v", cb.Query())
	}
}

func TestOIDCExpiredCode(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	id, secret := e.oidcApp("app", func(c *oauth2.Config) { c.AccessCodeValidity = "seconds=1" })
	r := e.rp("app", id, secret)
	c := e.client()
	c.login("alice", "Alice-Password-1")
	cb := c.authorize(r.conf.AuthCodeURL("s"))
	time.Sleep(1100 * time.Millisecond)
	if _, err := r.conf.Exchange(context.Background(), cb.Query().Get("code")); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("expired code: want invalid_grant, got %v", err)
	}
}

func TestOIDCApplicationPolicyDenies(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	id, secret := e.oidcApp("staff-only", nil)
	ctx := context.Background()
	g := &store.Group{Name: "staff"}
	e.sc.Groups().Create(ctx, g)
	app, _ := e.sc.Applications().GetBySlug(ctx, "staff-only")
	e.sc.PolicyBindings().Create(ctx, &store.PolicyBinding{TargetID: app.ID, GroupID: uuid.NullUUID{UUID: g.ID, Valid: true}, Enabled: true})
	r := e.rp("staff-only", id, secret)
	c := e.client()
	c.login("alice", "Alice-Password-1")
	resp, err := c.http.Get(r.conf.AuthCodeURL("s"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a user outside the bound group: want 403 access denied, got %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	denied := false
	for _, ev := range e.events("authorize_application") {
		if ev.Context["authorized"] == false {
			denied = true
		}
	}
	if !denied {
		t.Fatalf("a denied authorization must be recorded")
	}
	u, _ := e.sc.Users().GetByUsername(ctx, "alice")
	e.sc.Groups().AddMember(ctx, g.ID, u.ID)
	c.authorize(r.conf.AuthCodeURL("s")) // now allowed
}
