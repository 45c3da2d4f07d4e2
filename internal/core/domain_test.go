package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/crypto"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// event is a model event a write must record: its action, model and the
// object's name; changes, when set, must be the event's changes.
type event struct {
	action, model, name string
	changes             map[string]any
}

// domainCase is one domain write, made in a world of its own.
type domainCase struct {
	name string
	// helen makes the write as helen (view and change users and groups);
	// otherwise the system does.
	helen bool
	op    func(ctx context.Context, w *world, as core.Writer) error
	// refused is the rule's refusal; invalid the field of a validation
	// error; fails any other error. A write that fails changes nothing,
	// records nothing and announces nothing.
	refused, invalid string
	fails            error
	// events are what a write that succeeds records, each once; quiet
	// writes change nothing a cache holds and announce nothing.
	events []event
	quiet  bool
	// check looks further at a write that succeeded.
	check func(t *testing.T, w *world, events []*store.Event)
}

func TestDomainWrites(t *testing.T) {
	t.Parallel()
	cases := append(append(append(userCases(), groupCases()...), roleCases()...), append(tokenCases(), appCases()...)...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			actor := core.System("test")
			if c.helen {
				actor = w.helenActs
			}
			before := w.snapshot(t)
			err := c.op(t.Context(), w, w.c.As(actor))
			events, announced := w.recorded()
			if c.refused != "" || c.invalid != "" || c.fails != nil {
				checkFailed(t, c, err)
				if len(events) != 0 || announced != 0 || w.snapshot(t) != before {
					t.Errorf("a failed write recorded %d events, announced %d times, changed the store: %t; want none of it",
						len(events), announced, w.snapshot(t) != before)
				}
				return
			}
			if err != nil {
				t.Fatalf("want success, got %v", err)
			}
			checkEvents(t, c.events, events)
			if (announced == 0) != c.quiet {
				t.Errorf("announced %d times; want %s", announced, map[bool]string{true: "none", false: "at least once"}[c.quiet])
			}
			for _, e := range events {
				if e.Context["via"] != "test" {
					t.Errorf("%s: context %v, want the actor's via: test", e.Action, e.Context)
				}
				if c.helen && e.Username != "helen" && e.Action != "password_set" {
					t.Errorf("%s names %q, want the actor helen", e.Action, e.Username)
				}
			}
			if c.check != nil {
				c.check(t, w, events)
			}
		})
	}
}

func checkFailed(t *testing.T, c domainCase, err error) {
	t.Helper()
	var denied *core.Denied
	var invalid *store.ValidationError
	switch {
	case c.refused != "":
		if !errors.As(err, &denied) || err.Error() != c.refused {
			t.Errorf("want the refusal %q, got %v", c.refused, err)
		}
	case c.invalid != "":
		if !errors.As(err, &invalid) || len(invalid.Fields) == 0 || invalid.Fields[0].Field != c.invalid {
			t.Errorf("want a validation error on %s, got %v", c.invalid, err)
		}
	case !errors.Is(err, c.fails):
		t.Errorf("want %v, got %v", c.fails, err)
	}
}

func checkEvents(t *testing.T, want []event, got []*store.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("recorded %d events, want %d: %v", len(got), len(want), got)
	}
	for i, w := range want {
		model, name := modelOf(got[i])
		if got[i].Action != w.action || model != w.model || name != w.name {
			t.Errorf("event %d: %s of %s %q; want %s of %s %q", i, got[i].Action, model, name, w.action, w.model, w.name)
		}
		// Compared as stored: the event's context is JSON.
		var changes map[string]any
		raw, _ := json.Marshal(got[i].Context["changes"])
		json.Unmarshal(raw, &changes)
		if w.changes != nil && !reflect.DeepEqual(changes, w.changes) {
			t.Errorf("event %d: changes %v, want %v", i, changes, w.changes)
		}
	}
}

func userCases() []domainCase {
	const user = core.ModelUser
	return []domainCase{
		{name: "create a user", op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.CreateUser(ctx, w.sc, &store.User{Username: "bob", Name: "Bob", IsActive: true}, "Bob-Password-1")
		}, events: []event{{"model_created", user, "bob", nil}}},
		{name: "a password too short to set", op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.CreateUser(ctx, w.sc, &store.User{Username: "bob", IsActive: true}, "short")
		}, invalid: "password"},
		{name: "change a user who holds nothing", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			_, err := as.UpdateUser(ctx, w.sc, w.alice.ID, 0, func(u *store.User) error { u.Name = "Alice A."; return nil })
			return err
		}, events: []event{{"model_updated", user, "alice", map[string]any{"name": "Alice A."}}}},
		{name: "change a superuser", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			_, err := as.UpdateUser(ctx, w.sc, w.root.ID, 0, func(u *store.User) error { u.Name = "Not root"; return nil })
			return err
		}, refused: core.MsgSuperuserTarget},
		{name: "change a user from a stale version", op: func(ctx context.Context, w *world, as core.Writer) error {
			_, err := as.UpdateUser(ctx, w.sc, w.alice.ID, w.alice.Version+5, func(u *store.User) error { u.Name = "Late"; return nil })
			return err
		}, fails: store.ErrConflict},
		{name: "deactivate a user, ending their sessions", op: func(ctx context.Context, w *world, as core.Writer) error {
			s := &store.Session{KeyHash: crypto.HashToken("alice-session"), UserID: uuid.NullUUID{UUID: w.alice.ID, Valid: true},
				Expires: time.Now().Add(time.Hour)}
			if err := w.sc.Sessions().Create(ctx, s); err != nil {
				return err
			}
			if n, err := as.DeactivateUser(ctx, w.sc, w.alice.ID); err != nil || n != 1 {
				return fmt.Errorf("DeactivateUser = %d, %v; want 1 session ended", n, err)
			}
			return nil
		}, events: []event{{"model_updated", user, "alice", map[string]any{"is_active": false}}}},
		{name: "delete a superuser", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.DeleteUser(ctx, w.sc, w.root.ID)
		}, refused: core.MsgSuperuserTarget},
		{name: "delete a user who holds nothing", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.DeleteUser(ctx, w.sc, w.alice.ID)
		}, events: []event{{"model_deleted", user, "alice", nil}}},
		{name: "reset a superuser's password", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.ResetPassword(ctx, w.sc, w.root.ID, "New-Root-Password-1", uuid.Nil)
		}, refused: core.MsgSuperuserTarget},
		{name: "reset a user's password", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.ResetPassword(ctx, w.sc, w.alice.ID, "New-Alice-Password-1", uuid.Nil)
		}, events: []event{{"password_set", ".", "", nil}}, quiet: true, check: func(t *testing.T, w *world, events []*store.Event) {
			if e := events[0]; e.UserID.UUID != w.alice.ID || e.Context["by"] != "helen" {
				t.Errorf("password_set: user %v, context %v; want alice, by helen", e.UserID, e.Context)
			}
		}},
	}
}

func groupCases() []domainCase {
	const group = core.ModelGroup
	return []domainCase{
		{name: "create a group with a role the actor lacks", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.CreateGroup(ctx, w.sc, &store.Group{Name: "movers"}, []uuid.UUID{w.big.ID})
		}, refused: core.MsgNotHeld + "authentik_core.delete_user)"},
		{name: "create a group with a role the actor holds", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.CreateGroup(ctx, w.sc, &store.Group{Name: "helpers-too"}, []uuid.UUID{w.helpers.ID})
		}, events: []event{{"model_created", group, "helpers-too", nil}}},
		{name: "create a superuser group", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.CreateGroup(ctx, w.sc, &store.Group{Name: "sneaky", IsSuperuser: true}, nil)
		}, refused: core.MsgGrantSuperuser},
		{name: "rename the superuser group", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			_, err := as.UpdateGroup(ctx, w.sc, w.admins.ID, 0, func(g *store.Group) error { g.Name = "renamed"; return nil }, nil)
			return err
		}, refused: core.MsgSuperuserGroup},
		{name: "give a group a role the actor lacks, with another change", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			roles := []uuid.UUID{w.helpers.ID, w.big.ID}
			_, err := as.UpdateGroup(ctx, w.sc, w.helpdesk.ID, 0, func(g *store.Group) error { g.Name = "desk"; return nil }, &roles)
			return err
		}, refused: core.MsgNotHeld + "authentik_core.delete_user)"},
		{name: "give a group a role", op: func(ctx context.Context, w *world, as core.Writer) error {
			roles := []uuid.UUID{w.helpers.ID, w.big.ID}
			_, err := as.UpdateGroup(ctx, w.sc, w.helpdesk.ID, 0, func(*store.Group) error { return nil }, &roles)
			return err
		}, events: []event{{"model_updated", group, "helpdesk", nil}}, check: func(t *testing.T, w *world, events []*store.Event) {
			if ch, _ := events[0].Context["changes"].(map[string]any); len(ch) != 1 || ch["roles"] == nil {
				t.Errorf("changes %v, want the roles alone", events[0].Context["changes"])
			}
		}},
		{name: "delete the superuser group", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.DeleteGroup(ctx, w.sc, w.admins.ID)
		}, refused: core.MsgSuperuserGroup},
		{name: "delete a group", op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.DeleteGroup(ctx, w.sc, w.helpdesk.ID)
		}, events: []event{{"model_deleted", group, "helpdesk", nil}}},
		{name: "add a user to the superuser group", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.AddMember(ctx, w.sc, w.admins.ID, w.alice.ID)
		}, refused: core.MsgSuperuserGroup},
		{name: "add a user to a group", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.AddMember(ctx, w.sc, w.helpdesk.ID, w.alice.ID)
		}, events: []event{{"model_updated", group, "helpdesk", map[string]any{"users_added": []any{"alice"}}}}},
		{name: "take a user out of a group", op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.RemoveMember(ctx, w.sc, w.helpdesk.ID, w.helen.ID)
		}, events: []event{{"model_updated", group, "helpdesk", map[string]any{"users_removed": []any{"helen"}}}}},
		{name: "set a user's groups", op: func(ctx context.Context, w *world, as core.Writer) error {
			changed, err := as.SetUserGroups(ctx, w.sc, w.helen.ID, []uuid.UUID{w.admins.ID})
			if err == nil && !changed {
				err = errors.New("SetUserGroups reports no change")
			}
			return err
		}, events: []event{{"model_updated", group, "admins", map[string]any{"users_added": []any{"helen"}}},
			{"model_updated", group, "helpdesk", map[string]any{"users_removed": []any{"helen"}}}}},
	}
}

func roleCases() []domainCase {
	const role = core.ModelRole
	app := func(w *world) uuid.NullUUID { return uuid.NullUUID{UUID: w.app.ID, Valid: true} }
	return []domainCase{
		{name: "create a role with a permission the actor lacks", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.CreateRole(ctx, w.sc, &store.Role{Name: "deleters", Permissions: []string{"authentik_core.delete_user"}})
		}, refused: core.MsgNotHeld + "authentik_core.delete_user)"},
		{name: "create a role with an unknown permission", op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.CreateRole(ctx, w.sc, &store.Role{Name: "flyers", Permissions: []string{"authentik_core.fly"}})
		}, invalid: "permissions"},
		{name: "create a role with a short permission name", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.CreateRole(ctx, w.sc, &store.Role{Name: "viewers", Permissions: []string{"view_user"}})
		}, events: []event{{"model_created", role, "viewers", nil}}},
		{name: "add a permission the actor lacks to a role", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			perms := append(w.helpers.Permissions, "authentik_core.delete_user")
			_, err := as.UpdateRole(ctx, w.sc, w.helpers.ID, nil, &perms)
			return err
		}, refused: core.MsgNotHeld + "authentik_core.delete_user)"},
		{name: "rename a role", op: func(ctx context.Context, w *world, as core.Writer) error {
			name := "bigger"
			_, err := as.UpdateRole(ctx, w.sc, w.big.ID, &name, nil)
			return err
		}, events: []event{{"model_updated", role, "bigger", map[string]any{"name": "bigger"}}}},
		{name: "delete a role: taking away", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.DeleteRole(ctx, w.sc, w.big.ID)
		}, events: []event{{"model_deleted", role, "big", nil}}},
		{name: "assign a role the actor lacks", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.AssignRole(ctx, w.sc, w.big.ID, w.helpdesk.ID)
		}, refused: core.MsgNotHeld + "authentik_core.delete_user)"},
		{name: "unassign a role", op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.UnassignRole(ctx, w.sc, w.helpers.ID, w.helpdesk.ID)
		}, events: []event{{"model_updated", role, "helpers", map[string]any{"unassigned_from": "helpdesk"}}}},
		{name: "give a role a permission on an object the actor lacks", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.AssignPermissions(ctx, w.sc, w.helpers.ID, core.Permissions{Names: []string{"authentik_core.view_application"},
				Model: "authentik_core.application", Object: app(w)})
		}, refused: core.MsgNotHeld + "authentik_core.view_application)"},
		{name: "take a permission the actor does not hold", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.UnassignPermissions(ctx, w.sc, w.big.ID, core.Permissions{Names: []string{"authentik_core.delete_user"}})
		}, refused: core.MsgNotHeld + "authentik_core.delete_user)"},
		{name: "give a role a permission on one object", op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.AssignPermissions(ctx, w.sc, w.big.ID, core.Permissions{Names: []string{"authentik_core.view_application"},
				Model: "authentik_core.application", Object: app(w)})
		}, events: []event{{"model_updated", role, "big", nil}}, check: func(t *testing.T, w *world, events []*store.Event) {
			ops, err := w.sc.Roles().ObjectPermissions(t.Context(), w.big.ID, w.app.ID)
			if err != nil || len(ops) != 1 {
				t.Errorf("big's permissions on the application: %v, %v; want view_application", ops, err)
			}
			if ch, _ := events[0].Context["changes"].(map[string]any); ch["assigned"] == nil {
				t.Errorf("changes %v, want what was assigned", events[0].Context["changes"])
			}
		}},
	}
}

func tokenCases() []domainCase {
	const token = core.ModelToken
	return []domainCase{
		{name: "mint a token for a superuser", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			_, _, err := as.CreateToken(ctx, w.sc, core.NewToken{Owner: w.root.ID, Identifier: "mine-now"})
			return err
		}, refused: core.MsgSuperuserTarget},
		{name: "mint a token for oneself without add_token", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			never := false
			tok, secret, err := as.CreateToken(ctx, w.sc, core.NewToken{Identifier: "helen-ci", Expiring: &never})
			if err == nil && (secret == "" || !tok.Expires.Equal(t0.Add(core.DefaultTokenDuration))) {
				err = fmt.Errorf("token expires %v with secret %t; want a day from now (never is an admin's choice), and a secret", tok.Expires, secret != "")
			}
			return err
		}, events: []event{{"model_created", token, "helen-ci", nil}}},
		{name: "a token further ahead than allowed without add_token", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			later := t0.Add(48 * time.Hour)
			_, _, err := as.CreateToken(ctx, w.sc, core.NewToken{Identifier: "long", Expires: &later})
			return err
		}, invalid: "expires"},
		{name: "a token that never expires, by the system", op: func(ctx context.Context, w *world, as core.Writer) error {
			never := false
			tok, _, err := as.CreateToken(ctx, w.sc, core.NewToken{Owner: w.alice.ID, Identifier: "forever", Expiring: &never})
			if err == nil && !tok.Expires.IsZero() {
				err = fmt.Errorf("token expires %v, want never", tok.Expires)
			}
			return err
		}, events: []event{{"model_created", token, "forever", nil}}},
		{name: "delete a superuser's token", helen: true, op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.DeleteToken(ctx, w.sc, w.rootToken.ID)
		}, refused: core.MsgSuperuserTarget},
		{name: "delete a token", op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.DeleteToken(ctx, w.sc, w.rootToken.ID)
		}, events: []event{{"model_deleted", token, "root-ci", nil}}},
	}
}

func appCases() []domainCase {
	const application = core.ModelApplication
	provider := func(w *world) uuid.NullUUID { return uuid.NullUUID{UUID: w.prov.ID, Valid: true} }
	return []domainCase{
		{name: "create an application on another's provider", op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.CreateApplication(ctx, w.sc, &store.Application{Name: "Two", Slug: "two", ProviderID: provider(w)})
		}, invalid: "provider"},
		{name: "create an application", op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.CreateApplication(ctx, w.sc, &store.Application{Name: "Two", Slug: "two"})
		}, events: []event{{"model_created", application, "Two", nil}}},
		{name: "change an application", op: func(ctx context.Context, w *world, as core.Writer) error {
			_, err := as.UpdateApplication(ctx, w.sc, w.app.ID, w.app.Version, func(a *store.Application) error { a.Name = "App 2"; return nil })
			return err
		}, events: []event{{"model_updated", application, "App 2", map[string]any{"name": "App 2"}}}},
		{name: "delete an application", op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.DeleteApplication(ctx, w.sc, w.app.ID)
		}, events: []event{{"model_deleted", application, "App", nil}}},
		{name: "create a provider with settings its kind refuses", op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.CreateProvider(ctx, w.sc, testKind, &store.Provider{Name: "p2", ClientID: "c2", Config: json.RawMessage(`{"bad":1}`)})
		}, invalid: "bad"},
		{name: "create a provider", op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.CreateProvider(ctx, w.sc, testKind, &store.Provider{Name: "p2", ClientID: "c2", Config: json.RawMessage(`{}`)})
		}, events: []event{{"model_created", testKind.Model, "p2", nil}}},
		{name: "change another kind's provider", op: func(ctx context.Context, w *world, as core.Writer) error {
			_, err := as.UpdateProvider(ctx, w.sc, core.ProviderKind{Kind: "other", Model: "x.y"}, w.prov.ID, 0,
				func(store.Scope, *store.Provider) error { return nil })
			return err
		}, fails: store.ErrNotFound},
		{name: "change a provider's settings to ones its kind refuses", op: func(ctx context.Context, w *world, as core.Writer) error {
			_, err := as.UpdateProvider(ctx, w.sc, testKind, w.prov.ID, 0, func(_ store.Scope, p *store.Provider) error {
				p.Config = json.RawMessage(`{"a":1,"bad":true}`)
				return nil
			})
			return err
		}, invalid: "bad"},
		{name: "change a provider", op: func(ctx context.Context, w *world, as core.Writer) error {
			_, err := as.UpdateProvider(ctx, w.sc, testKind, w.prov.ID, w.prov.Version, func(_ store.Scope, p *store.Provider) error {
				p.Config = json.RawMessage(`{"a":2}`)
				return nil
			})
			return err
		}, events: []event{{"model_updated", testKind.Model, "prov", map[string]any{"a": 2.0}}}},
		{name: "delete another kind's provider", op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.DeleteProvider(ctx, w.sc, core.ProviderKind{Kind: "other", Model: "x.y"}, w.prov.ID)
		}, fails: store.ErrNotFound},
		{name: "delete a provider", op: func(ctx context.Context, w *world, as core.Writer) error {
			return as.DeleteProvider(ctx, w.sc, testKind, w.prov.ID)
		}, events: []event{{"model_deleted", testKind.Model, "prov", nil}}},
	}
}
