package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/invalidate"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// world is a tenant with a superuser (root, in the superuser group
// admins), a helpdesk member (helen, whose group holds the role helpers:
// view, change users and groups), a user holding nothing (alice), a role
// nobody holds (big: delete users), an application with a provider of
// the kind "test", and root's token. The fixtures are stored before the
// domain layer gets its event writer and bus, so what a test sees of
// both is the operation's alone.
type world struct {
	*env
	root, helen, alice *store.User
	admins, helpdesk   *store.Group
	helpers, big       *store.Role
	app                *store.Application
	prov               *store.Provider
	rootToken          *store.Token
	helenActs          *core.Actor

	mu        sync.Mutex
	events    []*store.Event
	announced int
}

// testKind is a provider kind whose settings must be a JSON object
// without "bad".
var testKind = core.ProviderKind{Kind: "test", Model: "authentik_providers_test.testprovider",
	Validate: func(_ context.Context, _ store.Scope, p *store.Provider) error {
		var cfg map[string]any
		if err := json.Unmarshal(p.Config, &cfg); err != nil {
			return store.Invalid("config", "must be a JSON object")
		}
		if _, bad := cfg["bad"]; bad {
			return store.Invalid("bad", "is not a setting")
		}
		return nil
	}}

var catalog = []string{"authentik_core.view_user", "authentik_core.change_user", "authentik_core.delete_user",
	"authentik_core.change_group", "authentik_core.add_token", "authentik_core.view_application"}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{env: setup(t, cheap)}
	ctx, sc := t.Context(), w.sc
	w.c.Catalog = func() []string { return catalog }
	w.root, w.helen, w.alice = w.newUser(t, "root", ""), w.newUser(t, "helen", ""), w.newUser(t, "alice", "")
	w.admins = &store.Group{Name: "admins", IsSuperuser: true}
	w.helpdesk = &store.Group{Name: "helpdesk"}
	must(t, sc.Groups().Create(ctx, w.admins))
	must(t, sc.Groups().Create(ctx, w.helpdesk))
	w.helpers = &store.Role{Name: "helpers", Permissions: []string{"authentik_core.view_user", "authentik_core.change_user", "authentik_core.change_group"}}
	w.big = &store.Role{Name: "big", Permissions: []string{"authentik_core.delete_user"}}
	must(t, sc.Roles().Create(ctx, w.helpers))
	must(t, sc.Roles().Create(ctx, w.big))
	must(t, sc.Roles().AssignToGroup(ctx, w.helpers.ID, w.helpdesk.ID))
	must(t, sc.Groups().AddMember(ctx, w.admins.ID, w.root.ID))
	must(t, sc.Groups().AddMember(ctx, w.helpdesk.ID, w.helen.ID))
	w.prov = &store.Provider{ID: uuid.Must(uuid.NewV7()), Name: "prov", Kind: "test", ClientID: "prov-client", Config: json.RawMessage(`{"a":1}`)}
	must(t, sc.Providers().Create(ctx, w.prov))
	w.app = &store.Application{Name: "App", Slug: "app", PolicyEngineMode: "any", ProviderID: uuid.NullUUID{UUID: w.prov.ID, Valid: true}}
	must(t, sc.Applications().Create(ctx, w.app))
	w.rootToken = &store.Token{UserID: w.root.ID, Intent: store.IntentAPI, Identifier: "root-ci"}
	_, err := w.c.CreateToken(ctx, sc, w.rootToken, "")
	must(t, err)
	powers, err := w.c.UserPowers(ctx, sc, w.helen.ID)
	must(t, err)
	w.helenActs = &core.Actor{Powers: powers, User: w.helen, Context: map[string]any{"via": "test"}}

	w.c.Events = func(_ context.Context, _ store.Scope, e *store.Event) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.events = append(w.events, e)
	}
	bus := invalidate.New(w.db, nil)
	bus.Subscribe(invalidate.Providers, func(uuid.UUID) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.announced++
	})
	w.c.Bus = bus
	return w
}

// recorded is what the event writer has been given, and how many times
// the providers cache was told to drop the tenant.
func (w *world) recorded() ([]*store.Event, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*store.Event(nil), w.events...), w.announced
}

// snapshot is every row a domain write could touch, as JSON.
func (w *world) snapshot(t *testing.T) string {
	t.Helper()
	ctx, sc := t.Context(), w.sc
	all := store.Page{Size: store.MaxPageSize}
	users, _, err := sc.Users().List(ctx, store.UserQuery{Page: all})
	must(t, err)
	groups, _, err := sc.Groups().List(ctx, store.GroupQuery{Page: all})
	must(t, err)
	members := map[string][]uuid.UUID{}
	var ids []uuid.UUID
	for _, g := range groups {
		members[g.Name], err = sc.Groups().Members(ctx, g.ID)
		must(t, err)
		ids = append(ids, g.ID)
	}
	roles, err := sc.Roles().List(ctx)
	must(t, err)
	assigned, err := sc.Roles().ForGroups(ctx, ids)
	must(t, err)
	objectPerms, err := sc.Roles().ObjectPermissions(ctx, uuid.Nil, uuid.Nil)
	must(t, err)
	tokens := map[string][]*store.Token{}
	for _, u := range users {
		tokens[u.Username], err = sc.Tokens().ListForUser(ctx, u.ID)
		must(t, err)
	}
	apps, _, err := sc.Applications().List(ctx, store.ApplicationQuery{Page: all})
	must(t, err)
	provs, _, err := sc.Providers().List(ctx, store.ObjectQuery{Page: all})
	must(t, err)
	sessions := map[string]int{}
	for _, u := range users {
		list, err := sc.Sessions().ListForUser(ctx, u.ID)
		must(t, err)
		sessions[u.Username] = len(list)
	}
	raw, err := json.Marshal([]any{users, groups, members, roles, assigned, objectPerms, tokens, apps, provs, sessions})
	must(t, err)
	return string(raw)
}

// modelOf is an event's "app.model_name" and object name.
func modelOf(e *store.Event) (model, name string) {
	m, _ := e.Context["model"].(map[string]any)
	app, _ := m["app"].(string)
	modelName, _ := m["model_name"].(string)
	name, _ = m["name"].(string)
	return app + "." + modelName, name
}

// TestChanges: a model_updated event lists the fields that changed, with
// their new values, whatever form the sides come in.
func TestChanges(t *testing.T) {
	before := map[string]any{"name": "A", "is_active": true, "attributes": map[string]any{"x": 1}}
	after := map[string]any{"name": "B", "is_active": true, "attributes": map[string]any{"x": 1.0}}
	want := map[string]any{"name": "B"}
	for _, c := range []struct {
		name          string
		before, after any
		want          map[string]any
	}{
		{"maps", before, after, want},
		{"a JSON snapshot as bytes", func() []byte { b, _ := json.Marshal(before); return b }(), after, want},
		{"a JSON snapshot", json.RawMessage(`{"name":"A"}`), after, map[string]any{"name": "B", "is_active": true, "attributes": map[string]any{"x": 1.0}}},
		{"nothing changed", before, before, map[string]any{}},
		{"no before", nil, after, nil},
	} {
		if got := core.Changes(c.before, c.after); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: Changes = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestDomainWriteRecordsOnlyWhatCommits: a domain write inside a
// caller's transaction records its event and announces it when that
// transaction commits, not before, and never when it rolls back.
func TestDomainWriteRecordsOnlyWhatCommits(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	sys := w.c.As(core.System("test"))
	before := w.snapshot(t)
	errLater := errors.New("a later step of the same transaction failed")
	err := w.sc.Tx(ctx, func(tx store.Scope) error {
		if err := sys.CreateGroup(ctx, tx, &store.Group{Name: "rolled-back"}, nil); err != nil {
			return err
		}
		if events, announced := w.recorded(); len(events)+announced > 0 {
			t.Errorf("inside the transaction: %d events, %d announcements; want none yet", len(events), announced)
		}
		return errLater
	})
	if !errors.Is(err, errLater) {
		t.Fatalf("Tx = %v, want the later step's error", err)
	}
	if events, announced := w.recorded(); len(events)+announced > 0 || w.snapshot(t) != before {
		t.Errorf("after a rollback: %d events, %d announcements, store changed %t; want nothing", len(events), announced, w.snapshot(t) != before)
	}

	must(t, w.sc.Tx(ctx, func(tx store.Scope) error {
		if err := sys.CreateGroup(ctx, tx, &store.Group{Name: "kept"}, nil); err != nil {
			return err
		}
		return sys.AddMember(ctx, tx, mustGroup(t, tx, "kept"), w.alice.ID)
	}))
	events, announced := w.recorded()
	if len(events) != 2 || announced == 0 {
		t.Fatalf("after the commit: %d events, %d announcements; want the creation and the membership, announced", len(events), announced)
	}
	if events[0].Action != "model_created" || events[1].Action != "model_updated" || events[0].Context["via"] != "test" {
		t.Errorf("events: %v, %v; want model_created then model_updated, via test", events[0].Context, events[1].Context)
	}
}

func mustGroup(t *testing.T, sc store.Scope, name string) uuid.UUID {
	t.Helper()
	g, err := sc.Groups().GetByName(t.Context(), name)
	must(t, err)
	return g.ID
}
