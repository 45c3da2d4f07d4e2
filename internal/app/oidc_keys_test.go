package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

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
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA, jose.HS256})
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
