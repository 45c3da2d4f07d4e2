package blueprint

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/crypto/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Options control how a blueprint is applied.
type Options struct {
	// Context overrides the blueprint's own context: block, for !Context.
	Context map[string]any
	// Env looks up environment variables for !Env. Nil means none are
	// set, so !Env yields its default: the CLI passes os.LookupEnv, while
	// a blueprint uploaded by a tenant's admin must not read the server's
	// environment (it holds the secret key).
	Env func(string) (string, bool)
	// OnlyCreate treats state "present" as "created": missing objects are
	// created, existing ones are left as they are. Our shipped defaults
	// are applied this way at every start, so an admin's edits survive.
	OnlyCreate bool
	// ValidateConfig checks a stage, policy or prompt configuration with
	// the code that will run it; family is FamilyStage, FamilyPolicy or
	// FamilyPrompt. Nil accepts every configuration.
	ValidateConfig func(family, kind string, config []byte) error
	// HashPassword hashes the password attribute of a user entry; the
	// plain password is never stored.
	HashPassword func(string) (string, error)
	// Box seals secrets a blueprint sets (an OAuth2 provider's client
	// secret) before they are stored. Nil: entries that must seal one fail.
	Box *secretbox.Box
	// Core is the domain layer: users, groups, applications and providers
	// are written through it (Tx.Core), with system rights, and it
	// records a model_created, model_updated or model_deleted event per
	// object the blueprint changed, naming the blueprint, once the whole
	// blueprint is stored (a failed apply records nothing). Nil: a Core
	// that records nothing (core.New with no store).
	Core *core.Core
	// Changed, when set, is called in the blueprint's transaction after
	// its last entry, when any object was created, updated or deleted: it
	// announces the change to caches (internal/invalidate), so a failed
	// apply announces nothing. Its error fails the apply.
	Changed func(ctx context.Context, tx store.Scope) error
	// Models are the models entries may name; nil is the built-in ones
	// (NewRegistry), without those of the provider kinds and notification
	// rules that the composition root adds.
	Models *Registry
}

// Result counts what applying a blueprint did, by entry.
type Result struct {
	Created   int
	Updated   int
	Unchanged int
	Deleted   int
	// Skipped counts entries whose conditions were false.
	Skipped int
}

func (r *Result) add(o Result) {
	r.Created += o.Created
	r.Updated += o.Updated
	r.Unchanged += o.Unchanged
	r.Deleted += o.Deleted
	r.Skipped += o.Skipped
}

// Apply writes every entry of bp into the tenant of sc, in one
// transaction: if any entry fails, nothing is stored and the error names
// the entry. Apply applies a blueprint whatever its instantiate label says;
// only ApplyDefaults honours it.
func Apply(ctx context.Context, sc store.Scope, bp *Blueprint, opt Options) (Result, error) {
	if opt.Core == nil {
		opt.Core = core.New(nil, nil, nil)
	}
	models := (&Tx{opt: &opt}).models()
	if bp.Instantiate() {
		// A blueprint meant to be applied names only models this server
		// has, whatever its conditions say: refuse it before writing.
		for _, e := range bp.Entries {
			if _, ok := models.lookup(e.Model); !ok {
				return Result{}, &Error{Blueprint: bp.Name, Index: e.Index, Model: e.Model, Line: e.Line, Err: errUnknownModel(models, e.Model)}
			}
		}
	}
	var res Result
	err := sc.Tx(ctx, func(tx store.Scope) error {
		res = Result{}
		a := &applier{bp: bp, opt: opt, tx: &Tx{Scope: tx, opt: &opt, actor: actorOf(bp)}}
		a.ev = &evaluator{ctx: ctx, tx: a.tx, env: opt.Env, context: maps.Clone(opt.Context),
			ids: map[string]uuid.UUID{}}
		if err := a.loadContext(); err != nil {
			return err
		}
		for i := range bp.Entries {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := a.entry(ctx, &bp.Entries[i], &res); err != nil {
				e := &bp.Entries[i]
				return &Error{Blueprint: bp.Name, Index: e.Index, Model: e.Model, Line: e.Line, Err: err}
			}
		}
		opt.Core.As(a.tx.actor).Record(ctx, tx, a.changes...)
		if opt.Changed != nil && res.Created+res.Updated+res.Deleted > 0 {
			return opt.Changed(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// actorOf is who applies bp: the system, named in events by the
// blueprint's name (Authentik's metadata name, else the file's).
func actorOf(bp *Blueprint) *core.Actor {
	name := bp.Metadata.Name
	if name == "" {
		name = bp.Name
	}
	return &core.Actor{Context: map[string]any{"blueprint": name}}
}

type applier struct {
	bp  *Blueprint
	opt Options
	tx  *Tx
	ev  *evaluator
	// changes are the model events of what the blueprint changed in
	// models the domain layer does not write (those record their own).
	changes []*store.Event
}

// changed notes a model event for an object the blueprint changed, in the
// shape of every model event (core.ModelEvent), unless the model writes
// through the domain layer, which recorded it.
func (a *applier) changed(m Model, action, model string, id uuid.UUID, vals Values) {
	if _, ok := m.(DomainModel); ok {
		return
	}
	label := ""
	for _, k := range []string{"name", "username", "slug", "identifier"} {
		if s, ok := vals[k].(string); ok && s != "" {
			label = s
			break
		}
	}
	a.changes = append(a.changes, core.ModelEvent(action, model, id, label, nil))
}

// loadContext evaluates the blueprint's context: block; Options.Context
// wins over it.
func (a *applier) loadContext() error {
	if a.bp.context == nil || a.bp.context.Kind != yaml.MappingNode {
		return nil
	}
	v, err := a.ev.eval(a.bp.context)
	if err != nil {
		return &Error{Blueprint: a.bp.Name, Index: -1, Line: a.bp.context.Line, Err: fmt.Errorf("context: %w", err)}
	}
	merged, _ := v.(map[string]any)
	maps.Copy(merged, a.opt.Context)
	a.ev.context = merged
	return nil
}

func (a *applier) values(n *yaml.Node) (Values, error) {
	if n == nil {
		return Values{}, nil
	}
	v, err := a.ev.eval(n)
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return Values(m), nil
}

func (a *applier) entry(ctx context.Context, e *Entry, res *Result) error {
	for _, c := range e.conditions {
		v, err := a.ev.eval(c)
		if err != nil {
			return fmt.Errorf("conditions: %w", err)
		}
		if !truthy(v) {
			res.Skipped++
			return nil
		}
	}
	m, ok := a.tx.models().lookup(e.Model)
	if !ok {
		return errUnknownModel(a.tx.models(), e.Model)
	}
	ids, err := a.values(e.identifiers)
	if err != nil {
		return fmt.Errorf("identifiers: %w", err)
	}
	id, found, err := a.find(ctx, m, ids)
	if err != nil {
		return fmt.Errorf("identifiers: %w", err)
	}
	state := e.State
	if a.opt.OnlyCreate && state == StatePresent {
		state = StateCreated
	}
	switch {
	case state == StateAbsent:
		if !found {
			res.Unchanged++
			return nil
		}
		if err := m.Delete(ctx, a.tx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		res.Deleted++
		a.changed(m, "model_deleted", e.Model, id, ids)
		return nil
	case found && state == StateMustCreated:
		return fmt.Errorf("already exists (state: must_created); identifiers %v", describe(ids))
	case found && state == StateCreated:
		res.Unchanged++
	default:
		attrs, err := a.values(e.attrs)
		if err != nil {
			return fmt.Errorf("attrs: %w", err)
		}
		// Identifiers are fields too, and win over attrs, as in Authentik.
		maps.Copy(attrs, ids)
		delete(attrs, "pk")
		if found {
			changed, err := m.Update(ctx, a.tx, id, attrs)
			if err != nil {
				return err
			}
			if changed {
				res.Updated++
				a.changed(m, "model_updated", e.Model, id, attrs)
			} else {
				res.Unchanged++
			}
		} else {
			if id, err = m.Create(ctx, a.tx, attrs); err != nil {
				return err
			}
			res.Created++
			a.changed(m, "model_created", e.Model, id, attrs)
		}
	}
	if e.ID != "" {
		a.ev.ids[e.ID] = id
	}
	return nil
}

// find looks the entry's object up as Authentik does: by pk, or else by
// all the other identifiers. A pk is one of our IDs, scoped to the tenant;
// it is never used for a new object, as IDs are unique across tenants and
// a blueprint may be applied to several.
func (a *applier) find(ctx context.Context, m Model, ids Values) (uuid.UUID, bool, error) {
	pk, hasPK := ids["pk"]
	if !hasPK {
		return m.Find(ctx, a.tx, ids)
	}
	id, found, err := m.Find(ctx, a.tx, Values{"pk": pk})
	if err != nil || found || len(ids) == 1 {
		return id, found, err
	}
	rest := maps.Clone(ids)
	delete(rest, "pk")
	return m.Find(ctx, a.tx, rest)
}

// describe prints identifiers for a message, IDs as strings.
func describe(v Values) string {
	b, err := canonicalJSON(v)
	if err != nil {
		return fmt.Sprint(map[string]any(v))
	}
	return string(b)
}
