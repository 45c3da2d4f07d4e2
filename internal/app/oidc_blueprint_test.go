package app

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	xoauth2 "golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// oidcBlueprint is what an Authentik export of an application looks like
// (credentials fixed, references by !Find), with a group that alone may
// use the application. %REDIRECT% is the test client's callback.
const oidcBlueprint = `version: 1
metadata: {name: Wiki}
entries:
  - model: authentik_core.group
    id: wiki-users
    identifiers: {name: wiki-users}
  - model: authentik_providers_oauth2.oauth2provider
    id: provider
    identifiers: {name: Wiki}
    attrs:
      client_type: confidential
      client_id: wiki-client-id
      client_secret: wiki-client-secret-0123456789
      redirect_uris:
        - matching_mode: strict
          url: %REDIRECT%
      authorization_flow: !Find [authentik_flows.flow, [slug, default-provider-authorization-implicit-consent]]
      invalidation_flow: !Find [authentik_flows.flow, [slug, default-provider-invalidation-flow]]
      signing_key: !Find [authentik_crypto.certificatekeypair, [name, Gatehouse Self-signed Certificate]]
      property_mappings:
        - !Find [authentik_providers_oauth2.scopemapping, [managed, goauthentik.io/providers/oauth2/scope-openid]]
        - !Find [authentik_providers_oauth2.scopemapping, [managed, goauthentik.io/providers/oauth2/scope-email]]
        - !Find [authentik_providers_oauth2.scopemapping, [managed, goauthentik.io/providers/oauth2/scope-profile]]
      access_code_validity: minutes=1
      access_token_validity: minutes=5
      sub_mode: hashed_user_id
  - model: authentik_core.application
    id: app
    identifiers: {slug: wiki}
    attrs:
      name: Wiki
      provider: !KeyOf provider
      meta_launch_url: https://wiki.example.com/
  - model: authentik_policies.policybinding
    identifiers: {target: !KeyOf app, group: !KeyOf wiki-users, order: 0}
`

// applyBlueprint applies src as `gatehouse blueprint apply` does.
func (e *testEnv) applyBlueprint(sc store.Scope, src string) (blueprint.Result, error) {
	e.t.Helper()
	bp, err := blueprint.Parse("test.yaml", []byte(strings.ReplaceAll(src, "%REDIRECT%", testRedirect)))
	if err != nil {
		e.t.Fatal(err)
	}
	return e.app.ApplyBlueprint(context.Background(), sc, bp, nil)
}

func TestOIDCApplicationFromBlueprint(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := e.createUser("alice", "Alice-Password-1", store.UserInternal)
	e.createUser("bob", "Bob-Password-1", store.UserInternal)
	res, err := e.applyBlueprint(e.sc, oidcBlueprint)
	if err != nil || res.Created != 4 {
		t.Fatalf("apply = %+v, %v; want 4 created", res, err)
	}
	g, _ := e.sc.Groups().GetByName(ctx, "wiki-users")
	e.sc.Groups().AddMember(ctx, g.ID, alice.ID)

	// A real relying party, with the credentials the blueprint fixed.
	r := e.rp("wiki", "wiki-client-id", "wiki-client-secret-0123456789")
	c := e.client()
	c.login("alice", "Alice-Password-1")
	verifier := xoauth2.GenerateVerifier()
	cb := c.authorize(r.conf.AuthCodeURL("state", xoauth2.S256ChallengeOption(verifier), oidc.Nonce("n-1")))
	tok, err := r.conf.Exchange(ctx, cb.Query().Get("code"), xoauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange with the blueprint's client secret: %v", err)
	}
	idt, err := r.verifier.Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatalf("go-oidc rejected the ID token: %v", err)
	}
	var claims struct {
		Email string `json:"email"`
	}
	if err := idt.Claims(&claims); err != nil || idt.Nonce != "n-1" || claims.Email != "alice@example.com" ||
		idt.Subject != oauth2.UID(e.sc.TenantID(), alice.ID) {
		t.Fatalf("ID token: sub %q nonce %q claims %+v, %v", idt.Subject, idt.Nonce, claims, err)
	}

	// The policy binding on the application keeps bob out.
	b := e.client()
	b.login("bob", "Bob-Password-1")
	if code, _ := b.status(strings.TrimPrefix(r.conf.AuthCodeURL("s"), e.URL)); code != http.StatusForbidden {
		t.Errorf("bob, outside the bound group: status %d, want 403", code)
	}

	// Applying again changes nothing; the secret is sealed in the row.
	if res, err := e.applyBlueprint(e.sc, oidcBlueprint); err != nil || res != (blueprint.Result{Unchanged: 4}) {
		t.Errorf("re-apply = %+v, %v; want 4 unchanged", res, err)
	}
	var secretEnc, cfg string
	if err := e.app.DB().SQL().QueryRowContext(ctx, `SELECT secret_enc, config FROM providers WHERE client_id = $1`,
		"wiki-client-id").Scan(&secretEnc, &cfg); err != nil {
		t.Fatal(err)
	}
	if secretEnc == "" || strings.Contains(secretEnc+cfg, "wiki-client-secret") {
		t.Errorf("the database row holds the client secret in plain text (or none): %q %q", secretEnc, cfg)
	}

	// A change is served at once: the old redirect URI stops working.
	if _, err := e.applyBlueprint(e.sc, strings.Replace(oidcBlueprint, "url: %REDIRECT%", "url: https://wiki.example.com/cb", 1)); err != nil {
		t.Fatal(err)
	}
	if code, _ := c.status(strings.TrimPrefix(r.conf.AuthCodeURL("s"), e.URL)); code != http.StatusBadRequest {
		t.Errorf("after the redirect URI changed: status %d, want 400", code)
	}
}

func TestOIDCBlueprintRefusesHostileEntries(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	other := &store.Tenant{Name: "other"}
	if err := e.app.DB().Tenants().Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	if _, err := e.applyBlueprint(e.app.DB().Scope(other.ID), `version: 1
entries:
  - model: authentik_flows.flow
    identifiers: {slug: theirs}
    attrs: {name: Theirs, designation: authorization}
`); err != nil {
		t.Fatal(err)
	}
	theirs, err := e.app.DB().Scope(other.ID).Flows().GetBySlug(ctx, "theirs")
	if err != nil {
		t.Fatal(err)
	}
	before, _, _ := e.sc.Providers().List(ctx, store.ObjectQuery{})
	tests := []struct{ attr, want string }{
		{"redirect_uris: 5", "redirect_uris: must be a list"},
		{"client_secrets: x", "client_secrets: is not a supported field"},
		{"sub_mode: user_shoe_size", "sub_mode: must be one of"},
		{"authorization_flow: " + theirs.ID.String(), "authorization_flow: no flow with ID " + theirs.ID.String()},
		{"authorization_flow: !Find [authentik_flows.flow, [slug, theirs]]", "authorization_flow: is required"},
		{"redirect_uris: [{matching_mode: strict, url: 'javascript:alert(1)//'}]", "redirect_uris:"},
	}
	for _, tt := range tests {
		// The group before the provider must not survive the failure.
		_, err := e.applyBlueprint(e.sc, `version: 1
entries:
  - model: authentik_core.group
    identifiers: {name: left-behind}
  - model: authentik_providers_oauth2.oauth2provider
    identifiers: {name: hostile}
    attrs:
      `+tt.attr+"\n")
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "entries[1] ("+oauth2.BlueprintModel+")") ||
			!strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want entries[1] and %q", tt.attr, err, tt.want)
		}
	}
	after, _, _ := e.sc.Providers().List(ctx, store.ObjectQuery{})
	if _, err := e.sc.Groups().GetByName(ctx, "left-behind"); !errors.Is(err, store.ErrNotFound) || len(after) != len(before) {
		t.Errorf("a refused blueprint stored something: group %v, providers %d -> %d", err, len(before), len(after))
	}
}
