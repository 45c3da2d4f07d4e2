package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/api"
	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/invalidate"
	"github.com/gatehouse-id/gatehouse/internal/provider"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// A provider kind of the test's own proves the seam: everything a kind
// needs comes through provider.Kind and provider.Env, registered by
// Options like a product kind is in wire.go, and its application access,
// authorization flow and fulfilment go through internal/provider.

const (
	fakeKindName   = "test_fake"
	fakeModel      = "gatehouse_test.fakeprovider"
	fakeFulfilKind = "test_fake_fulfil"
)

// fakeSettings is the kind's one settings declaration.
type fakeSettings struct {
	AuthorizationFlow string `json:"authorization_flow"`
	ReturnTo          string `json:"return_to"`
}

// fakeKind answers GET /application/fake/<slug>/ by sending the user to
// the provider's return_to with their username, after the application's
// policies and its authorization flow.
type fakeKind struct {
	env         *provider.Env
	clients     provider.Cache[*fakeClient]
	invalidated atomic.Int32
}

type fakeClient struct {
	p   *store.Provider
	app *store.Application
	cfg fakeSettings
}

func newFakeKind(env *provider.Env) *fakeKind {
	k := &fakeKind{env: env}
	k.clients = provider.Cache[*fakeClient]{Kind: fakeKindName, Now: func() time.Time { return env.Now() },
		Resolve: func(_ context.Context, _ store.Scope, p *store.Provider, app *store.Application) (*fakeClient, error) {
			c := &fakeClient{p: p, app: app}
			return c, json.Unmarshal(p.Config, &c.cfg)
		}}
	return k
}

func (k *fakeKind) Name() string                                        { return fakeKindName }
func (k *fakeKind) Settings() any                                       { return fakeSettings{} }
func (k *fakeKind) ValidateConfig(string, string, []byte) (bool, error) { return false, nil }
func (k *fakeKind) Invalidate(tenant uuid.UUID) {
	k.invalidated.Add(1)
	k.clients.Invalidate(tenant)
}

func (k *fakeKind) StageKinds() map[string]flow.Factory {
	return map[string]flow.Factory{fakeFulfilKind: func(cfg json.RawMessage) (flow.Stage, error) {
		f := &fakeFulfil{}
		return provider.FulfilStage(f), json.Unmarshal(cfg, f)
	}}
}

// fakeFulfil sends the user back to the service with who they are, or
// with why not.
type fakeFulfil struct {
	ReturnTo string `json:"return_to"`
}

func (f *fakeFulfil) Fulfil(_ context.Context, x *flow.Execution) flow.Outcome {
	return flow.RedirectTo(f.ReturnTo + "?user=" + url.QueryEscape(x.User.Username))
}

func (f *fakeFulfil) Denied(_ context.Context, _ *flow.Execution, reason string) (flow.Outcome, bool) {
	return flow.RedirectTo(f.ReturnTo + "?denied=" + reason), true
}

func (k *fakeKind) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /application/fake/{slug}/{$}", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		sc := k.env.Store.Scope(httpx.From(ctx).Tenant.ID)
		c, err := k.clients.BySlug(ctx, sc, r.PathValue("slug"))
		if errors.Is(err, provider.ErrUnknown) {
			http.NotFound(w, r)
			return
		} else if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		sess, user, err := k.env.BrowserSession(ctx, r, sc)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if user == nil {
			k.env.Sessions.Save(ctx, w, r, sess)
			http.Redirect(w, r, provider.AuthenticationURL(ctx, sc, "", url.Values{"next": {r.URL.Path}}), http.StatusFound)
			return
		}
		if ok, err := k.env.Allowed(ctx, sc, c.app, user, provider.PolicyHTTP(r)); err != nil || !ok {
			k.env.Forbidden(w, r)
			return
		}
		cfg, _ := json.Marshal(fakeFulfil{ReturnTo: c.cfg.ReturnTo})
		err = k.env.Authorize(w, r, sc, sess, user, provider.Authorization{App: c.app, Flow: c.cfg.AuthorizationFlow,
			ForceConsent: r.URL.Query().Has("consent"), Fulfil: flow.Binding{Kind: fakeFulfilKind, Config: cfg}})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
}

// fakeProviderOut is the kind's API shape.
type fakeProviderOut struct {
	PK       uuid.UUID `json:"pk"`
	Name     string    `json:"name"`
	ReturnTo string    `json:"return_to"`
}

func (p fakeProviderOut) Meta() api.Meta { return api.Meta{ID: p.PK, Name: p.Name} }

func (k *fakeKind) RegisterAPI(a *api.API) {
	api.Register(a, api.Resource[fakeProviderOut, struct{}]{Path: "providers/test_fake/", Tag: "providers", Model: fakeModel,
		List: func(ctx context.Context, c *api.Caller, q api.Query) ([]fakeProviderOut, int, error) {
			ps, total, err := c.Scope.Providers().List(ctx, store.ObjectQuery{Kind: fakeKindName, Page: q.Page})
			out := []fakeProviderOut{}
			for _, p := range ps {
				var s fakeSettings
				json.Unmarshal(p.Config, &s)
				out = append(out, fakeProviderOut{PK: p.ID, Name: p.Name, ReturnTo: s.ReturnTo})
			}
			return out, total, err
		}})
}

func (k *fakeKind) RegisterBlueprint(r *blueprint.Registry) {
	r.Register(fakeModel, fakeProviderModel{})
}

// fakeProviderModel creates providers by name, with the settings the
// kind's struct declares.
type fakeProviderModel struct{}

func (fakeProviderModel) Find(ctx context.Context, tx *blueprint.Tx, by blueprint.Values) (uuid.UUID, bool, error) {
	name, _, err := by.String("name")
	if err != nil {
		return uuid.Nil, false, err
	}
	p, err := tx.Scope.Providers().GetByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return uuid.Nil, false, nil
	}
	return p.ID, err == nil, err
}

func (fakeProviderModel) Create(ctx context.Context, tx *blueprint.Tx, v blueprint.Values) (uuid.UUID, error) {
	if err := v.Check(append([]string{"name"}, provider.SettingNames(fakeSettings{})...)...); err != nil {
		return uuid.Nil, err
	}
	name, _, _ := v.String("name")
	delete(v, "name")
	cfg, err := json.Marshal(v)
	if err != nil {
		return uuid.Nil, err
	}
	p := &store.Provider{ID: uuid.Must(uuid.NewV7()), Name: name, Kind: fakeKindName, ClientID: "fake-" + name, Config: cfg}
	return p.ID, tx.Scope.Providers().Create(ctx, p)
}

func (fakeProviderModel) Update(context.Context, *blueprint.Tx, uuid.UUID, blueprint.Values) (bool, error) {
	return false, nil
}

func (fakeProviderModel) Delete(ctx context.Context, tx *blueprint.Tx, id uuid.UUID) error {
	return tx.Scope.Providers().Delete(ctx, id)
}

const fakeBlueprint = `version: 1
entries:
  - model: gatehouse_test.fakeprovider
    id: provider
    identifiers: {name: fake-sp}
    attrs: {return_to: "https://sp.example/acs"}
  - model: authentik_core.application
    id: app
    identifiers: {slug: fake-app}
    attrs: {name: Fake App, provider: !KeyOf provider}
  - model: authentik_policies.policybinding
    identifiers: {target: !KeyOf app, user: !Find [authentik_core.user, [username, alice]], order: 0}
`

func TestProviderKindSeam(t *testing.T) {
	var kind *fakeKind
	e := newEnvWith(t, envOptions{app: Options{providerKinds: func(env *provider.Env) []provider.Kind {
		kind = newFakeKind(env)
		return []provider.Kind{kind}
	}}})
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	e.createUser("bob", "Bob-Password-1", store.UserInternal)
	bp, err := blueprint.Parse("fake.yaml", []byte(fakeBlueprint))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := e.app.ApplyBlueprint(context.Background(), e.sc, bp, nil); err != nil || res.Created != 3 {
		t.Fatalf("the kind's blueprint model: apply = %+v, %v; want 3 created", res, err)
	}

	t.Run("visitor logs in first", func(t *testing.T) {
		status, loc := e.client().status("/application/fake/fake-app/")
		if status != http.StatusFound || !strings.HasPrefix(loc, "/flows/-/default/authentication/?") {
			t.Errorf("want the default authentication flow, got %d %q", status, loc)
		}
	})
	t.Run("policy allows", func(t *testing.T) {
		c := e.client()
		c.login("alice", "Alice-Password-1")
		status, loc := c.status("/application/fake/fake-app/")
		if status != http.StatusFound || loc != "https://sp.example/acs?user=alice" {
			t.Errorf("the fulfilment after the implicit-consent flow: want a redirect to the service, got %d %q", status, loc)
		}
	})
	t.Run("policy refuses", func(t *testing.T) {
		c := e.client()
		c.login("bob", "Bob-Password-1")
		if status, _ := c.status("/application/fake/fake-app/"); status != http.StatusForbidden {
			t.Errorf("a user the application's binding leaves out: want 403, got %d", status)
		}
	})
	t.Run("denied consent reaches the fulfilment", func(t *testing.T) {
		c := e.client()
		c.login("alice", "Alice-Password-1")
		status, loc := c.status("/application/fake/fake-app/?consent")
		want := "/if/flow/" + provider.DefaultAuthorizationFlow + "/"
		if status != http.StatusFound || loc != want {
			t.Fatalf("forced consent: want the flow pages %q, got %d %q", want, status, loc)
		}
		ch := c.get(provider.DefaultAuthorizationFlow, nil)
		if ch.component() != "ak-stage-consent" {
			t.Fatalf("want the consent stage, got %v", ch)
		}
		ch = c.post(provider.DefaultAuthorizationFlow, map[string]any{"token": ch["token"], "deny": true})
		if ch.component() != "xak-flow-redirect" || ch["to"] != "https://sp.example/acs?denied=consent" {
			t.Errorf("Deny: want the kind's own answer to the service, got %v", ch)
		}
	})
	t.Run("API resource", func(t *testing.T) {
		r := e.apiAs(e.superuser("root")).call(http.MethodGet, "providers/test_fake/", nil, true)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `"return_to":"https://sp.example/acs"`) {
			t.Errorf("providers/test_fake/: %d %s", r.status, r.body)
		}
	})
	t.Run("cache invalidation", func(t *testing.T) {
		before := kind.invalidated.Load()
		if err := e.app.svc.bus.Publish(context.Background(), invalidate.Providers, e.sc.TenantID()); err != nil {
			t.Fatal(err)
		}
		if kind.invalidated.Load() == before {
			t.Error("the kind's cache is not subscribed to invalidate.Providers")
		}
	})
}
