package oauth2_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/crypto/keys"
	"github.com/gatehouse-id/gatehouse/internal/crypto/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/provider"
	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqlitetest"
)

// bpEnv is a tenant with the default blueprints and the default key, as
// the server sets every tenant up.
type bpEnv struct {
	t   *testing.T
	db  *sqlstore.DB
	sc  store.Scope
	box *secretbox.Box
	key *store.CertificateKeyPair
	// models are the built-in blueprint models and this provider's.
	models *blueprint.Registry
}

func newBPEnv(t *testing.T) *bpEnv {
	t.Helper()
	db := sqlitetest.Open(t)
	box, err := secretbox.New("test-secret-key-that-is-long-enough-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	e := &bpEnv{t: t, db: db, box: box, models: blueprint.NewRegistry()}
	oauth2.New(&provider.Env{}, nil).RegisterBlueprint(e.models)
	e.sc = e.tenant("a")
	return e
}

func (e *bpEnv) tenant(name string) store.Scope {
	e.t.Helper()
	ctx := context.Background()
	ten := &store.Tenant{Name: name}
	if err := e.db.Tenants().Create(ctx, ten); err != nil {
		e.t.Fatal(err)
	}
	sc := e.db.Scope(ten.ID)
	key, err := keys.NewManager(e.db, e.box, time.Now).EnsureDefault(ctx, sc)
	if err != nil {
		e.t.Fatal(err)
	}
	if e.key == nil {
		e.key = key
	}
	if _, err := blueprint.ApplyDefaults(ctx, sc, blueprint.Options{Box: e.box, Models: e.models}); err != nil {
		e.t.Fatal(err)
	}
	return sc
}

func (e *bpEnv) apply(src string) (blueprint.Result, error) {
	e.t.Helper()
	bp, err := blueprint.Parse("test.yaml", []byte(strings.ReplaceAll(strings.TrimLeft(src, "\n"), "\t", "  ")))
	if err != nil {
		e.t.Fatal(err)
	}
	return blueprint.Apply(context.Background(), e.sc, bp, blueprint.Options{Box: e.box, Models: e.models})
}

func (e *bpEnv) mustApply(src string) blueprint.Result {
	e.t.Helper()
	res, err := e.apply(src)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func (e *bpEnv) provider(name string) (*store.Provider, *oauth2.Config, string) {
	e.t.Helper()
	p, err := e.sc.Providers().GetByName(context.Background(), name)
	if err != nil {
		e.t.Fatalf("provider %q: %v", name, err)
	}
	cfg, err := oauth2.ParseConfig(p.Config)
	if err != nil {
		e.t.Fatalf("stored settings of %q: %v", name, err)
	}
	secret, err := oauth2.ClientSecret(e.box, e.sc.TenantID(), p)
	if err != nil {
		e.t.Fatalf("secret of %q: %v", name, err)
	}
	return p, cfg, secret
}

const exported = `
version: 1
entries:
	- model: authentik_providers_oauth2.oauth2provider
		id: provider
		identifiers: {name: Grafana}
		attrs:
			client_type: confidential
			client_id: grafana-client-id
			client_secret: grafana-client-secret-from-the-export
			redirect_uris:
				- {matching_mode: strict, url: "https://grafana.example.com/login/generic_oauth"}
				- {matching_mode: regex, url: "https://grafana-[a-z]+\\.example\\.com/login/generic_oauth"}
			signing_key: !Find [authentik_crypto.certificatekeypair, [name, Gatehouse Self-signed Certificate]]
			property_mappings:
				- !Find [authentik_providers_oauth2.scopemapping, [managed, goauthentik.io/providers/oauth2/scope-openid]]
				- !Find [authentik_providers_oauth2.scopemapping, [managed, goauthentik.io/providers/oauth2/scope-email]]
			access_token_validity: minutes=10
			sub_mode: user_email
			include_claims_in_id_token: false
			encryption_key: null
			jwt_federation_sources: []
	- model: authentik_core.application
		identifiers: {slug: grafana}
		attrs: {name: Grafana, provider: !KeyOf provider}
`

func TestBlueprintProviderFromAnExport(t *testing.T) {
	e := newBPEnv(t)
	ctx := context.Background()
	if res := e.mustApply(exported); res.Created != 2 {
		t.Fatalf("result = %+v, want 2 created", res)
	}
	p, cfg, secret := e.provider("Grafana")
	if p.ClientID != "grafana-client-id" || secret != "grafana-client-secret-from-the-export" {
		t.Errorf("credentials = %q / %q, want the export's", p.ClientID, secret)
	}
	if strings.Contains(p.SecretEnc, secret) || strings.Contains(string(p.Config), secret) {
		t.Errorf("the client secret is stored in plain text")
	}
	implicit, _ := e.sc.Flows().GetBySlug(ctx, provider.DefaultAuthorizationFlow)
	invalidation, _ := e.sc.Flows().GetBySlug(ctx, "default-provider-invalidation-flow")
	if cfg.AuthorizationFlow != implicit.ID.String() || cfg.InvalidationFlow != invalidation.ID.String() {
		t.Errorf("flows = %q, %q; want the default flows", cfg.AuthorizationFlow, cfg.InvalidationFlow)
	}
	if cfg.SigningKey != e.key.ID.String() || cfg.SubMode != "user_email" || cfg.IncludeClaimsInIDToken ||
		cfg.AccessTokenValidity != "minutes=10" || cfg.RefreshTokenValidity != "days=30" || len(cfg.PropertyMappings) != 2 {
		t.Errorf("settings = %+v", cfg)
	}
	if !cfg.MatchRedirect("https://grafana.example.com/login/generic_oauth", "authorization") ||
		!cfg.MatchRedirect("https://grafana-eu.example.com/login/generic_oauth", "authorization") ||
		cfg.MatchRedirect("https://evil.example/login/generic_oauth", "authorization") {
		t.Errorf("redirect_uris = %+v", cfg.RedirectURIs)
	}
	app, err := e.sc.Applications().GetBySlug(ctx, "grafana")
	if err != nil || app.ProviderID.UUID != p.ID {
		t.Errorf("application = %+v, %v; want it to use the provider", app, err)
	}

	if res := e.mustApply(exported); res != (blueprint.Result{Unchanged: 2}) {
		t.Errorf("re-apply = %+v, want 2 unchanged", res)
	}
	if again, _, _ := e.provider("Grafana"); again.Version != p.Version || again.SecretEnc != p.SecretEnc {
		t.Errorf("re-applying wrote the provider (version %d -> %d)", p.Version, again.Version)
	}

	// A partial update: the fields not given keep their values.
	res := e.mustApply(`
version: 1
entries:
	- model: authentik_providers_oauth2.oauth2provider
		identifiers: {client_id: grafana-client-id}
		attrs: {access_token_validity: hours=2, name: Grafana (prod)}
`)
	p2, cfg2, secret2 := e.provider("Grafana (prod)")
	if res.Updated != 1 || cfg2.AccessTokenValidity != "hours=2" || cfg2.SubMode != "user_email" ||
		len(cfg2.RedirectURIs) != 2 || secret2 != secret || p2.SecretEnc != p.SecretEnc || p2.ClientID != p.ClientID {
		t.Errorf("after a partial update: %+v, %+v", res, cfg2)
	}
	// A new secret replaces the old one.
	e.mustApply(`
version: 1
entries:
	- model: authentik_providers_oauth2.oauth2provider
		identifiers: {name: Grafana (prod)}
		attrs: {client_secret: rotated-secret}
`)
	if _, _, s := e.provider("Grafana (prod)"); s != "rotated-secret" {
		t.Errorf("secret after rotation = %q", s)
	}
}

func TestBlueprintProviderDefaults(t *testing.T) {
	e := newBPEnv(t)
	src := `
version: 1
entries:
	- model: authentik_providers_oauth2.oauth2provider
		identifiers: {name: minimal}
		attrs:
			redirect_uris: "https://a.example/cb\nhttps://b.example/cb\n"
	- model: authentik_providers_oauth2.oauth2provider
		identifiers: {name: spa}
		attrs:
			client_type: public
			signing_key: !Find [authentik_crypto.certificatekeypair, [name, Gatehouse Self-signed Certificate]]
	- model: authentik_providers_oauth2.oauth2provider
		identifiers: {name: public-hs256}
		attrs: {client_type: public}
`
	e.mustApply(src)
	p, cfg, secret := e.provider("minimal")
	// As Authentik: no signing key (HS256 with the secret), generated
	// credentials, the four managed scope mappings.
	if len(p.ClientID) != oauth2.ClientIDLength || len(secret) != oauth2.ClientSecretLength || cfg.SigningKey != "" ||
		len(cfg.PropertyMappings) != 4 || cfg.ClientType != "confidential" {
		t.Errorf("defaults: client_id %q, secret %d chars, settings %+v", p.ClientID, len(secret), cfg)
	}
	if len(cfg.RedirectURIs) != 2 || !cfg.MatchRedirect("https://b.example/cb", "authorization") ||
		cfg.MatchRedirect("https://b.example/cb2", "authorization") {
		t.Errorf("one URL a line: %+v, want two strict entries", cfg.RedirectURIs)
	}
	if sp, _, s := e.provider("spa"); s != "" || sp.SecretEnc != "" {
		t.Errorf("a public client with a key got a secret")
	}
	if _, _, s := e.provider("public-hs256"); s == "" {
		t.Errorf("a public client without a key has nothing to sign ID tokens with; want a generated secret")
	}
	// Generated credentials are kept: re-applying changes nothing.
	if res := e.mustApply(src); res != (blueprint.Result{Unchanged: 3}) {
		t.Errorf("re-apply = %+v, want 3 unchanged", res)
	}
	if p2, _, s2 := e.provider("minimal"); p2.ClientID != p.ClientID || s2 != secret || p2.Version != p.Version {
		t.Errorf("re-applying regenerated credentials")
	}
	// Null unsets: authentication_flow, signing_key; null property_mappings is none.
	e.mustApply(`
version: 1
entries:
	- model: authentik_providers_oauth2.oauth2provider
		identifiers: {name: spa}
		attrs: {signing_key: null, property_mappings: null, access_code_validity: null}
`)
	if sp, cfg, s := e.provider("spa"); cfg.SigningKey != "" || len(cfg.PropertyMappings) != 0 || s == "" ||
		cfg.AccessCodeValidity != "minutes=1" || sp.ClientID == "" {
		t.Errorf("after nulls: %+v, secret %q; want no key, no mappings, a generated secret (HS256)", cfg, s)
	}

	// A provider made by `gatehouse app create` is left alone by an entry
	// that restates its settings, though they were stored another way.
	ctx := context.Background()
	defs, err := oauth2.LoadTenantDefaults(ctx, e.sc, e.key.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oauth2.CreateProvider(ctx, e.sc, e.box, defs, oauth2.NewProvider{Name: "cli",
		RedirectURIs: []oauth2.RedirectURI{{URL: "https://cli.example/cb"}}}); err != nil {
		t.Fatal(err)
	}
	res := e.mustApply(`
version: 1
entries:
	- model: authentik_providers_oauth2.oauth2provider
		identifiers: {name: cli}
		attrs:
			client_type: confidential
			redirect_uris: [{matching_mode: strict, url: "https://cli.example/cb"}]
			signing_key: !Find [authentik_crypto.certificatekeypair, [name, Gatehouse Self-signed Certificate]]
`)
	if res != (blueprint.Result{Unchanged: 1}) {
		t.Errorf("restating a CLI-made provider = %+v, want unchanged", res)
	}
}

func TestBlueprintProviderRefusals(t *testing.T) {
	e := newBPEnv(t)
	other := e.tenant("b")
	foreign, err := other.Flows().GetBySlug(context.Background(), provider.DefaultAuthorizationFlow)
	if err != nil {
		t.Fatal(err)
	}
	e.mustApply(`
version: 1
entries:
	- model: authentik_providers_oauth2.oauth2provider
		identifiers: {name: taken}
		attrs: {client_id: taken-id}
`)
	tests := []struct{ attrs, want string }{
		{"redirect_uris: 5", "redirect_uris: must be a list"},
		{"redirect_uris: [https://a.example/cb]", "redirect_uris: item 0 must be a mapping"},
		{"redirect_uris: [{url: https://a.example/cb, mode: strict}]", `redirect_uris: item 0: "mode" is not supported`},
		{"redirect_uris: [{matching_mode: strict, url: 'javascript:alert(1)'}]", "redirect_uris:"},
		{`redirect_uris: "*"`, "would accept any URL"},
		{"redirect_uri: []", "redirect_uri: is not a supported field"},
		{"sub_mode: user_shoe_size", "sub_mode: must be one of"},
		{"client_type: 5", "client_type: must be string"},
		{"client_type: secretive", "client_type: must be confidential or public"},
		{"access_token_validity: forever", "access_token_validity:"},
		{"authorization_flow: " + foreign.ID.String(), "authorization_flow: no flow with ID " + foreign.ID.String()},
		{"authorization_flow: !Find [authentik_flows.flow, [slug, nonexistent]]", "authorization_flow: is required"},
		{"signing_key: 42", "signing_key: must be an ID"},
		{"property_mappings: [null]", "property_mappings: must list scope mapping IDs"},
		{"property_mappings: [!Find [authentik_flows.flow, [slug, default-provider-invalidation-flow]]]", "property_mappings: no scope mapping"},
		{"encryption_key: !Find [authentik_crypto.certificatekeypair, [name, Gatehouse Self-signed Certificate]]", "encryption_key: is not supported"},
		{"client_id: taken-id", `client_id: is already used by provider "taken"`},
		{"client_id: ''", "client_id: must not be empty"},
		{"client_secret: 7", "client_secret: must be a string"},
	}
	for _, tt := range tests {
		_, err := e.apply(`
version: 1
entries:
	- model: authentik_providers_oauth2.oauth2provider
		identifiers: {name: hostile}
		attrs:
			` + tt.attrs + "\n")
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want %q", tt.attrs, err, tt.want)
		}
	}
	list, _, _ := e.sc.Providers().List(context.Background(), store.ObjectQuery{})
	if len(list) != 1 {
		t.Errorf("providers = %d, want only the first", len(list))
	}

	// Without a secret box a confidential client cannot be stored.
	bp, _ := blueprint.Parse("t.yaml", []byte("version: 1\nentries:\n  - model: "+oauth2.BlueprintModel+"\n    identifiers: {name: nobox}\n"))
	if _, err := blueprint.Apply(context.Background(), e.sc, bp, blueprint.Options{Models: e.models}); err == nil ||
		!strings.Contains(err.Error(), "client_secret: cannot be stored") {
		t.Errorf("without a box: %v", err)
	}
	if !slices.Contains(e.models.Names(), oauth2.BlueprintModel) {
		t.Errorf("the model is not registered")
	}
}
