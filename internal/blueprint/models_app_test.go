package blueprint_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/crypto/keys"
	"github.com/gatehouse-id/gatehouse/internal/crypto/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The provider comes from !Context: this package does not link the OAuth2
// provider's model (internal/provider/oauth2 tests it).
const appBlueprint = `
version: 1
entries:
	- model: authentik_core.group
		id: staff
		identifiers: {name: staff}
	- model: authentik_core.application
		id: app
		identifiers: {slug: grafana}
		attrs:
			name: Grafana
			group: Monitoring
			provider: !Context provider
			meta_launch_url: https://grafana.example.com/
			meta_icon: /static/grafana.svg
			meta_description: Dashboards
			meta_publisher: Grafana Labs
			open_in_new_tab: true
			policy_engine_mode: all
			backchannel_providers: []
	- model: authentik_policies.policybinding
		identifiers: {target: !KeyOf app, group: !KeyOf staff, order: 0}
`

func newProvider(t *testing.T, sc store.Scope, name string) *store.Provider {
	t.Helper()
	p := &store.Provider{Name: name, Kind: "oauth2", ClientID: name + "-client", Config: json.RawMessage(`{}`)}
	if err := sc.Providers().Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestApplicationModel(t *testing.T) {
	db := newSQLite(t)
	sc := newTenant(t, db, "a")
	ctx := context.Background()
	prov := newProvider(t, sc, "grafana")
	opt := blueprint.Options{Context: map[string]any{"provider": prov.ID.String()}}
	if res := mustApply(t, sc, appBlueprint, opt); res.Created != 3 {
		t.Fatalf("result = %+v, want 3 created", res)
	}
	app, err := sc.Applications().GetBySlug(ctx, "grafana")
	if err != nil {
		t.Fatal(err)
	}
	want := store.Application{ID: app.ID, Name: "Grafana", Slug: "grafana", Group: "Monitoring",
		ProviderID: uuid.NullUUID{UUID: prov.ID, Valid: true}, LaunchURL: "https://grafana.example.com/",
		Icon: "/static/grafana.svg", Description: "Dashboards", Publisher: "Grafana Labs", OpenInNewTab: true,
		PolicyEngineMode: "all", CreatedAt: app.CreatedAt, UpdatedAt: app.UpdatedAt, Version: app.Version}
	if *app != want {
		t.Errorf("application = %+v\nwant %+v", app, want)
	}
	// The binding targets the application: policies decide who may log in.
	pbs, _ := sc.PolicyBindings().ListForTargets(ctx, app.ID)
	if len(pbs) != 1 || !pbs[0].GroupID.Valid {
		t.Errorf("bindings on the application = %+v, want the group binding", pbs)
	}

	if res := mustApply(t, sc, appBlueprint, opt); res != (blueprint.Result{Unchanged: 3}) {
		t.Errorf("re-apply = %+v, want 3 unchanged", res)
	}
	if a, _ := sc.Applications().Get(ctx, app.ID); a.Version != app.Version {
		t.Errorf("re-apply wrote the application (version %d -> %d)", app.Version, a.Version)
	}

	// A partial update found with !Find: only the fields given change.
	mustApply(t, sc, `
version: 1
entries:
	- model: authentik_core.application
		identifiers: {pk: !Find [authentik_core.application, [slug, grafana]]}
		attrs: {meta_description: Metrics and dashboards, provider: null}
`, blueprint.Options{})
	a, _ := sc.Applications().Get(ctx, app.ID)
	want.Description, want.ProviderID, want.UpdatedAt, want.Version = "Metrics and dashboards", uuid.NullUUID{}, a.UpdatedAt, a.Version
	if *a != want {
		t.Errorf("after a partial update = %+v\nwant %+v", a, want)
	}

	// Another tenant: !Find never sees this tenant's application, and the
	// same blueprint makes that tenant its own.
	other := newTenant(t, db, "b")
	got, err := probe(t, other, "", "!Find [authentik_core.application, [slug, grafana]]", blueprint.Options{})
	if err != nil || got != nil {
		t.Errorf("!Find in another tenant = %v, %v; want null", got, err)
	}
	_, err = blueprint.Apply(ctx, other, mustParse(t, appBlueprint), opt)
	if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "provider: no provider with ID "+prov.ID.String()) {
		t.Errorf("another tenant's provider: %v, want a provider field error", err)
	}
	if _, err := other.Applications().GetBySlug(ctx, "grafana"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a failed blueprint stored the application: %v", err)
	}
	mustApply(t, other, appBlueprint, blueprint.Options{Context: map[string]any{"provider": newProvider(t, other, "g").ID.String()}})
	if b, err := other.Applications().GetBySlug(ctx, "grafana"); err != nil || b.ID == app.ID {
		t.Errorf("other tenant's application = %+v, %v; want its own", b, err)
	}

	mustApply(t, sc, `
version: 1
entries:
	- model: authentik_core.application
		state: absent
		identifiers: {slug: grafana}
`, blueprint.Options{})
	if _, err := sc.Applications().Get(ctx, app.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after state absent: %v, want not found", err)
	}
	if pbs, _ := sc.PolicyBindings().ListForTargets(ctx, app.ID); len(pbs) != 0 {
		t.Errorf("the application's bindings outlived it: %+v", pbs)
	}
}

func TestApplicationRefusals(t *testing.T) {
	sc := newScope(t)
	prov := newProvider(t, sc, "shared")
	opt := blueprint.Options{Context: map[string]any{"provider": prov.ID.String()}}
	mustApply(t, sc, `
version: 1
entries:
	- model: authentik_core.application
		identifiers: {slug: first}
		attrs: {name: First, provider: !Context provider}
`, opt)
	tests := []struct{ attrs, want string }{
		{"{name: Second, provider: !Context provider}", `provider: is already the provider of application "first"`},
		{"{name: Second, provider: 5}", "provider: must be an ID"},
		{"{name: Second, launch_url: https://x.example}", "launch_url: is not a supported field"},
		{"{name: Second, policy_engine_mode: most}", "policy_engine_mode: must be one of any, all"},
		{"{name: Second, meta_launch_url: 'javascript:alert(1)'}", "meta_launch_url: must be an http(s) URL"},
		{"{name: Second, backchannel_providers: [!Context provider]}", "backchannel_providers: is not supported"},
		{"{name: Second, open_in_new_tab: 'yes'}", "open_in_new_tab: must be true or false"},
	}
	for _, tt := range tests {
		_, err := blueprint.Apply(context.Background(), sc, mustParse(t, `
version: 1
entries:
	- model: authentik_core.application
		identifiers: {slug: second}
		attrs: `+tt.attrs+"\n"), opt)
		if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want %q", tt.attrs, err, tt.want)
		}
	}
	if list, _, _ := sc.Applications().List(context.Background(), store.ApplicationQuery{}); len(list) != 1 {
		t.Errorf("applications = %d, want only the first", len(list))
	}
}

func TestCertificateKeyPairLookupOnly(t *testing.T) {
	db := newSQLite(t)
	sc := newTenant(t, db, "a")
	ctx := context.Background()
	box, err := secretbox.New("test-secret-key-that-is-long-enough-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	key, err := keys.NewManager(db, box, time.Now).EnsureDefault(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := probe(t, sc, "", `[!Find [authentik_crypto.certificatekeypair, [name, "`+keys.DefaultName+`"]], `+
		`!Find [authentik_crypto.certificatekeypair, [managed, "`+keys.Managed+`"]], `+
		`!Find [authentik_crypto.certificatekeypair, [name, missing]]]`, blueprint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if l := got.([]any); l[0] != key.ID.String() || l[1] != key.ID.String() || l[2] != nil {
		t.Errorf("finds = %v, want [key, key, null]", l)
	}
	// Another tenant does not see it.
	if got, err := probe(t, newTenant(t, db, "b"), "", `!Find [authentik_crypto.certificatekeypair, [name, "`+keys.DefaultName+`"]]`,
		blueprint.Options{}); err != nil || got != nil {
		t.Errorf("!Find in another tenant = %v, %v; want null", got, err)
	}

	// Listing a key the blueprint needs changes nothing and is fine.
	src := "version: 1\nentries:\n  - model: authentik_crypto.certificatekeypair\n    identifiers: {name: \"" + keys.DefaultName + "\"}\n"
	if res := mustApply(t, sc, src, blueprint.Options{}); res != (blueprint.Result{Unchanged: 1}) {
		t.Errorf("listing the key = %+v, want unchanged", res)
	}
	for _, entry := range []string{
		"    identifiers: {name: new-key}\n    attrs: {certificate_data: x, key_data: y}\n",
		"    identifiers: {name: \"" + keys.DefaultName + "\"}\n    attrs: {key_data: y}\n",
		"    state: absent\n    identifiers: {name: \"" + keys.DefaultName + "\"}\n",
	} {
		_, err := blueprint.Apply(ctx, sc, mustParse(t, "version: 1\nentries:\n  - model: authentik_crypto.certificatekeypair\n"+entry), blueprint.Options{})
		if err == nil || !strings.Contains(err.Error(), "gatehouse key generate") {
			t.Errorf("%s: error = %v, want a pointer to gatehouse key generate|import", entry, err)
		}
	}
	if _, err := sc.CertificateKeyPairs().Get(ctx, key.ID); err != nil {
		t.Errorf("the key is gone: %v", err)
	}
}
