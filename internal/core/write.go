package core

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/invalidate"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// This file is the envelope of the domain write path: every write of a
// user, group, role, token, application or provider, whichever front end
// asks (the REST API, the CLI, blueprints; SCIM later), is guarded by the
// rule of who may act on whom, announced to every replica's caches in its
// transaction, and recorded as Authentik's model_* events once it has
// committed. The operations themselves are in users.go, groups.go,
// roles.go, tokens.go and apps.go.

// EventWriter records an audit event: internal/audit's Writer.Record,
// which adds the request's details from ctx and masks secrets. Declared
// here, where it is consumed, so that core imports nothing that knows
// HTTP.
type EventWriter func(ctx context.Context, sc store.Scope, e *store.Event)

// The models of the domain writes, by Authentik's names.
const (
	ModelUser        = "authentik_core.user"
	ModelGroup       = "authentik_core.group"
	ModelRole        = "authentik_rbac.role"
	ModelToken       = "authentik_core.token"
	ModelApplication = "authentik_core.application"
)

// Actor is who makes a domain write. A nil *Actor is the system with
// nothing to add to events.
type Actor struct {
	// Powers is what the actor holds; nil is the system (the CLI,
	// blueprints, start-up), which may do anything.
	Powers *Powers
	// User is who acts, named by the events the write records, and
	// Impersonator the admin acting as them; nil for the system.
	User, Impersonator *store.User
	// Context is added to every event the actor's writes record: the
	// front end ("via") or the blueprint.
	Context map[string]any
}

// System is a front end acting with system rights: via names it in
// events ("cli").
func System(via string) *Actor { return &Actor{Context: map[string]any{"via": via}} }

// powers is what Guard needs: nil for the system.
func (a *Actor) powers() *Powers {
	if a == nil {
		return nil
	}
	return a.Powers
}

// can reports whether the actor holds perm; the system holds everything.
func (a *Actor) can(perm string) bool {
	p := a.powers()
	return p == nil || p.Can(perm)
}

// Stamp marks e with who acts: the actor's user, unless e already names
// the user it is about, the admin impersonating them (also in the
// context, where event consumers that predate the columns look), and the
// actor's context, under keys e does not set itself.
func (a *Actor) Stamp(e *store.Event) *store.Event {
	if e.Context == nil {
		e.Context = map[string]any{}
	}
	if a == nil {
		return e
	}
	if a.User != nil && !e.UserID.Valid && e.Username == "" {
		e.UserID, e.Username = uuid.NullUUID{UUID: a.User.ID, Valid: true}, a.User.Username
	}
	if a.Impersonator != nil {
		e.ImpersonatorID = uuid.NullUUID{UUID: a.Impersonator.ID, Valid: true}
		e.ImpersonatorUsername = a.Impersonator.Username
		e.Context["impersonator"] = a.Impersonator.Username
	}
	for k, v := range a.Context {
		if _, set := e.Context[k]; !set {
			e.Context[k] = v
		}
	}
	return e
}

// Writer is the domain write path acting as one actor (Core.As).
type Writer struct {
	c     *Core
	actor *Actor
}

// As returns the domain writes made as actor; nil is the system.
func (c *Core) As(actor *Actor) Writer { return Writer{c: c, actor: actor} }

// write runs one domain write in a transaction (joining sc's when sc is
// one): guarded by the rule of who may act on whom for the subjects on,
// announced to caches inside it, and the events fn returns recorded once
// it has committed. A refused or failed write records nothing.
func (w Writer) write(ctx context.Context, sc store.Scope, fn func(tx store.Scope) ([]*store.Event, error), on ...Subject) error {
	var events []*store.Event
	err := w.c.Guard(ctx, sc, w.actor.powers(), func(tx store.Scope) error {
		var err error
		if events, err = fn(tx); err != nil {
			return err
		}
		return w.c.announce(ctx, tx)
	}, on...)
	if err != nil {
		return err
	}
	w.Record(ctx, sc, events...)
	return nil
}

// Record stamps events with the actor and records them once sc's
// transaction has committed, or at once outside a transaction: a write
// that rolls back records nothing. Events are written after the commit
// rather than in the transaction because the audit writer batches them
// in the background, and an event about a write must never describe one
// that did not happen.
func (w Writer) Record(ctx context.Context, sc store.Scope, events ...*store.Event) {
	if w.c.Events == nil || len(events) == 0 {
		return
	}
	for _, e := range events {
		w.actor.Stamp(e)
	}
	tenant := sc.TenantID()
	sc.AfterCommit(func() {
		// sc may be a transaction, over by now.
		rs := sc
		if w.c.Store != nil {
			rs = w.c.Store.Scope(tenant)
		}
		for _, e := range events {
			w.c.Events(ctx, rs, e)
		}
	})
}

// Written does for a write made outside the domain operations what a
// domain write does after its store write: it announces the change to
// every replica's caches and records events. The API's settings objects
// (flows, stages, policies, key pairs, ...), which have no rules of their
// own here yet, use it, so that every model event is recorded the same
// way. The error is the announcement's; events are recorded regardless.
func (w Writer) Written(ctx context.Context, sc store.Scope, events ...*store.Event) error {
	err := w.c.announce(ctx, sc)
	w.Record(ctx, sc, events...)
	return err
}

// announce tells every replica's caches, in tx's transaction, that admin
// objects of tx's tenant changed. The tenant's providers and flows are
// dropped together whatever the model: users reach the provider cache
// through service accounts and policies reach both, and admin writes are
// rare (docs/architecture.md, "Cache invalidation").
func (c *Core) announce(ctx context.Context, tx store.Scope) error {
	if c.Bus == nil {
		return nil
	}
	for _, topic := range []invalidate.Topic{invalidate.Providers, invalidate.Flows} {
		if err := c.Bus.PublishTx(ctx, tx, topic); err != nil {
			return err
		}
	}
	return nil
}

// updated applies change, through the store's update, to the object whose
// version is version (any when 0; store.ErrConflict otherwise), and
// returns it with its fields as they were, for the event's changes.
func updated[T any](ctx context.Context, id uuid.UUID, version int64,
	update func(context.Context, uuid.UUID, func(*T) error) (*T, error),
	versionOf func(*T) int64, fields func(*T) map[string]any, change func(*T) error) (*T, json.RawMessage, error) {
	var before json.RawMessage
	obj, err := update(ctx, id, func(x *T) error {
		if version != 0 && version != versionOf(x) {
			return store.ErrConflict
		}
		before = encode(fields(x))
		return change(x)
	})
	return obj, before, err
}

// deleted deletes the object id, read first (get) for the name its
// model_deleted event gives it.
func deleted[T any](ctx context.Context, model string, id uuid.UUID, get func(context.Context, uuid.UUID) (*T, error),
	name func(*T) string, del func(context.Context, uuid.UUID) error) ([]*store.Event, error) {
	obj, err := get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := del(ctx, id); err != nil {
		return nil, err
	}
	return []*store.Event{ModelEvent("model_deleted", model, id, name(obj), nil)}, nil
}

// ModelEvent is Authentik's model_created, model_updated or model_deleted
// event about one object: its model ("authentik_core.user"), ID and name
// (what Authentik's str() gives: a username, a name, an identifier), and
// for an update the fields it changed (Changes).
func ModelEvent(action, model string, id uuid.UUID, name string, changes map[string]any) *store.Event {
	app, modelName, _ := strings.Cut(model, ".")
	data := map[string]any{"model": map[string]any{"app": app, "model_name": modelName, "pk": id.String(), "name": name}}
	if changes != nil {
		data["changes"] = changes
	}
	return &store.Event{Action: action, Context: data}
}

// Changes lists the fields whose JSON differs between two encodings of an
// object (field maps, or structs with JSON tags), with their new values:
// the context of a model_updated event, in which the event writer masks
// secrets. Nil when either side is missing or not an object.
func Changes(before, after any) map[string]any {
	if before == nil || after == nil {
		return nil
	}
	var b, a map[string]any
	if json.Unmarshal(encode(before), &b) != nil || json.Unmarshal(encode(after), &a) != nil || a == nil {
		return nil
	}
	out := map[string]any{}
	for k, av := range a {
		if !bytes.Equal(encode(b[k]), encode(av)) {
			out[k] = av
		}
	}
	return out
}

// encode is v's JSON; snapshot before a change with it, so that a change
// made in place is not seen on both sides.
func encode(v any) json.RawMessage {
	if b, ok := v.([]byte); ok {
		// Already JSON (a snapshot); Marshal would make it base64.
		return b
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return raw
}
