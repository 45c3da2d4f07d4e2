package provider_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/provider"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqlitetest"
)

// newApp stores a provider of kind with an application using it.
func newApp(t *testing.T, sc store.Scope, kind, name string) (*store.Provider, *store.Application) {
	t.Helper()
	ctx := context.Background()
	p := &store.Provider{ID: uuid.Must(uuid.NewV7()), Name: name, Kind: kind, ClientID: "id-" + name, Config: []byte(`{}`)}
	if err := sc.Providers().Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	app := &store.Application{Name: name, Slug: name, ProviderID: uuid.NullUUID{UUID: p.ID, Valid: true}}
	if err := sc.Applications().Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	return p, app
}

func TestCacheResolvesOnceAndDropsOnInvalidate(t *testing.T) {
	_, sc := sqlitetest.Default(t)
	ctx := context.Background()
	p, _ := newApp(t, sc, "mine", "one")
	newApp(t, sc, "other", "two")
	now := time.Unix(1_700_000_000, 0)
	resolved := 0
	c := &provider.Cache[string]{Kind: "mine", Now: func() time.Time { return now },
		Resolve: func(_ context.Context, _ store.Scope, p *store.Provider, app *store.Application) (string, error) {
			resolved++
			return p.Name + "/" + app.Slug, nil
		}}
	for _, get := range []func() (string, error){
		func() (string, error) { return c.ByClientID(ctx, sc, p.ClientID) },
		func() (string, error) { return c.BySlug(ctx, sc, "one") },
	} {
		if v, err := get(); err != nil || v != "one/one" {
			t.Fatalf("lookup = %q, %v; want one/one", v, err)
		}
	}
	if _, err := c.ByClientID(ctx, sc, p.ClientID); err != nil || resolved != 2 {
		t.Errorf("a second lookup resolved again (%d resolves, %v); want it served from the cache", resolved, err)
	}
	now = now.Add(provider.CacheTTL)
	if c.ByClientID(ctx, sc, p.ClientID); resolved != 3 {
		t.Errorf("after the TTL: %d resolves, want the provider read again", resolved)
	}
	c.Invalidate(sc.TenantID())
	if c.BySlug(ctx, sc, "one"); resolved != 4 {
		t.Errorf("after Invalidate: %d resolves, want the provider read again", resolved)
	}
	c.Invalidate(uuid.Nil)
	if c.BySlug(ctx, sc, "one"); resolved != 5 {
		t.Errorf("after Invalidate of every tenant: %d resolves, want the provider read again", resolved)
	}
	for name, lookup := range map[string]func() (string, error){
		"another kind": func() (string, error) { return c.BySlug(ctx, sc, "two") },
		"no such slug": func() (string, error) { return c.BySlug(ctx, sc, "three") },
		"empty id":     func() (string, error) { return c.ByClientID(ctx, sc, "") },
		"overlong id":  func() (string, error) { return c.ByClientID(ctx, sc, string(make([]byte, 256))) },
		"no such id":   func() (string, error) { return c.ByClientID(ctx, sc, "nobody") },
	} {
		if _, err := lookup(); !errors.Is(err, provider.ErrUnknown) {
			t.Errorf("%s: error = %v, want ErrUnknown", name, err)
		}
	}
}

func TestCacheKeepsTenantsApart(t *testing.T) {
	db, sc := sqlitetest.Default(t)
	ctx := context.Background()
	other := &store.Tenant{Name: "other"}
	if err := db.Tenants().Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	newApp(t, sc, "mine", "one")
	c := &provider.Cache[string]{Kind: "mine", Now: time.Now,
		Resolve: func(context.Context, store.Scope, *store.Provider, *store.Application) (string, error) {
			return "x", nil
		}}
	if _, err := c.BySlug(ctx, sc, "one"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BySlug(ctx, db.Scope(other.ID), "one"); !errors.Is(err, provider.ErrUnknown) {
		t.Errorf("another tenant's lookup of a cached slug: %v, want ErrUnknown", err)
	}
}

func TestSettingNames(t *testing.T) {
	type settings struct {
		Flow     string `json:"authorization_flow"`
		Mode     string `json:"mode,omitempty"`
		Hidden   string `json:"-"`
		internal string
	}
	_ = settings{}.internal
	if got := provider.SettingNames(&settings{}); !slices.Equal(got, []string{"authorization_flow", "mode"}) {
		t.Errorf("SettingNames = %v, want [authorization_flow mode]", got)
	}
}

// recorder is a Fulfiller that notes what it was asked.
type recorder struct{ fulfilled, denied string }

func (r *recorder) Fulfil(context.Context, *flow.Execution) flow.Outcome {
	r.fulfilled = "yes"
	return flow.RedirectTo("https://client.example/cb")
}

func (r *recorder) Denied(_ context.Context, _ *flow.Execution, reason string) (flow.Outcome, bool) {
	r.denied = reason
	return flow.RedirectTo("https://client.example/cb?error=access_denied"), true
}

func TestFulfilStage(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	st := provider.FulfilStage(rec)
	st.Challenge(ctx, &flow.Execution{})
	if rec.fulfilled != "" {
		t.Error("the fulfilment ran without a logged-in user")
	}
	st.Respond(ctx, &flow.Execution{User: &store.User{Username: "alice"}}, nil)
	if rec.fulfilled != "yes" {
		t.Error("the fulfilment did not run for a logged-in user")
	}
	h, ok := st.(flow.DenialHandler)
	if !ok {
		t.Fatal("the stage does not answer denials")
	}
	for code, want := range map[string]string{i18n.ConsentDenied: "consent", "deny.stage": "flow"} {
		if _, handled := h.Denied(ctx, &flow.Execution{}, code, ""); !handled || rec.denied != want {
			t.Errorf("denial %s: reason %q (handled %v), want %q", code, rec.denied, handled, want)
		}
	}
}

func TestAllowedWithoutBindingsOrHTTP(t *testing.T) {
	_, sc := sqlitetest.Default(t)
	ctx := context.Background()
	_, app := newApp(t, sc, "mine", "open")
	env := &provider.Env{Policies: policy.NewEngine(policy.Kinds(time.Now), policy.Hooks{}, nil)}
	u := &store.User{ID: uuid.New(), Username: "alice"}
	if ok, err := env.Allowed(ctx, sc, app, u, nil); err != nil || !ok {
		t.Errorf("an application without bindings: allowed %v, %v; want open to every user", ok, err)
	}
	g := &store.Group{Name: "staff"}
	if err := sc.Groups().Create(ctx, g); err != nil {
		t.Fatal(err)
	}
	if err := sc.PolicyBindings().Create(ctx, &store.PolicyBinding{TargetID: app.ID,
		GroupID: uuid.NullUUID{UUID: g.ID, Valid: true}, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if ok, err := env.Allowed(ctx, sc, app, u, nil); err != nil || ok {
		t.Errorf("a user outside the bound group, with no HTTP request: allowed %v, %v; want refused", ok, err)
	}
}
