package app

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	xoauth2 "golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/crypto/keys"
	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// loginToken runs the code flow for c and returns the raw ID token.
func (r *rp) loginToken(t *testing.T, c *client) string {
	t.Helper()
	cb := c.authorize(r.conf.AuthCodeURL("s", oidc.Nonce("n")))
	tok, err := r.conf.Exchange(context.Background(), cb.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	return raw
}

func headerOf(t *testing.T, raw string) jose.Header {
	t.Helper()
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA, jose.HS256})
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Protected
}

func TestOIDCSigningKeyTypesAndRotation(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	c := e.client()
	c.login("alice", "Alice-Password-1")
	ctx := context.Background()
	for typ, alg := range map[string]string{store.KeyTypeEC: "ES256", store.KeyTypeEd25519: "EdDSA"} {
		k, err := e.app.svc.keys.Generate(ctx, e.sc, keys.Generate{Name: typ, Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		slug := "app-" + typ
		id, secret := e.oidcApp(slug, func(c *oauth2.Config) { c.SigningKey = k.ID.String() })
		r := e.rp(slug, id, secret)
		var disc struct {
			Algs []string `json:"id_token_signing_alg_values_supported"`
		}
		r.provider.Claims(&disc)
		if len(disc.Algs) != 1 || disc.Algs[0] != alg {
			t.Errorf("%s: discovery advertises %v, want [%s]", typ, disc.Algs, alg)
		}
		raw := r.loginToken(t, c)
		if h := headerOf(t, raw); h.Algorithm != alg || h.KeyID != k.KID {
			t.Errorf("%s: token header alg %s kid %s, want %s %s", typ, h.Algorithm, h.KeyID, alg, k.KID)
		}
		if _, err := r.verifier.Verify(ctx, raw); err != nil {
			t.Errorf("%s: go-oidc rejected the ID token: %v", typ, err)
		}
	}

	// Rotation: tokens signed before it still verify through the grace
	// period, and new tokens carry the new key, found in the same JWKS.
	id, secret := e.oidcApp("rotating", nil)
	r := e.rp("rotating", id, secret)
	before := r.loginToken(t, c)
	def, _ := e.app.svc.keys.EnsureDefault(ctx, e.sc)
	next, err := e.app.svc.keys.Rotate(ctx, e.sc, def.ID, 0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	after := r.loginToken(t, c)
	if h := headerOf(t, after); h.KeyID != next.KID || h.KeyID == headerOf(t, before).KeyID {
		t.Fatalf("after rotation tokens are signed by %s, want the new key %s", h.KeyID, next.KID)
	}
	for name, raw := range map[string]string{"before": before, "after": after} {
		if _, err := r.verifier.Verify(ctx, raw); err != nil {
			t.Errorf("token from %s the rotation: %v", name, err)
		}
	}
	_, body := c.status("/application/o/rotating/jwks/")
	if strings.Count(body, `"kid"`) != 2 {
		t.Errorf("JWKS during the grace period: %s; want the old and the new key", body)
	}
}

func TestOIDCPublicClient(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	id, secret := e.oidcApp("spa", func(c *oauth2.Config) { c.ClientType = "public" })
	if secret != "" {
		t.Fatalf("a public client got a secret")
	}
	r := e.rp("spa", id, "")
	c := e.client()
	c.login("alice", "Alice-Password-1")

	// Without PKCE, or with plain PKCE, the request goes back with an error.
	for name, opts := range map[string][]xoauth2.AuthCodeOption{
		"none":  nil,
		"plain": {xoauth2.SetAuthURLParam("code_challenge", strings.Repeat("a", 43)), xoauth2.SetAuthURLParam("code_challenge_method", "plain")},
	} {
		cb := c.authorize(r.conf.AuthCodeURL("s", opts...))
		if cb.Query().Get("error") != "invalid_request" || cb.Query().Get("code") != "" {
			t.Errorf("public client, PKCE %s: callback %v, want invalid_request", name, cb.Query())
		}
	}

	verifier := xoauth2.GenerateVerifier()
	cb := c.authorize(r.conf.AuthCodeURL("s", xoauth2.S256ChallengeOption(verifier)))
	// The browser app's own origin may read the token response; another may not.
	exchange := func(origin string) *http.Response {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")}, "client_id": {id},
			"redirect_uri": {testRedirect}, "code_verifier": {verifier}}
		req, _ := http.NewRequest(http.MethodPost, e.URL+"/application/o/token/", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := exchange("http://localhost:8000"); resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:8000" {
		t.Errorf("exchange from the app's origin: %d, ACAO %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	cb = c.authorize(r.conf.AuthCodeURL("s", xoauth2.S256ChallengeOption(verifier)))
	if resp := exchange("https://evil.example"); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("another origin may read the token response: ACAO %q", resp.Header.Get("Access-Control-Allow-Origin"))
	}
}
