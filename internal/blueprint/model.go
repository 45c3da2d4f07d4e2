package blueprint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/crypto/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Model maps one blueprint model (Authentik's "app_label.model_name") onto
// the store. Every method works in the transaction tx, for its tenant only.
type Model interface {
	// Find returns the ID of the object whose fields equal by: an entry's
	// identifiers, or the pairs of a !Find. found is false when none
	// matches; an error is for a field the model cannot be looked up by.
	Find(ctx context.Context, tx *Tx, by Values) (id uuid.UUID, found bool, err error)
	// Create stores a new object from v (the entry's attrs with its
	// identifiers laid over them) and returns its ID.
	Create(ctx context.Context, tx *Tx, v Values) (uuid.UUID, error)
	// Update applies v to the object: fields v does not mention keep their
	// value, as Authentik's partial updates. It writes nothing and returns
	// false when nothing would change, so re-applying is a no-op.
	Update(ctx context.Context, tx *Tx, id uuid.UUID, v Values) (changed bool, err error)
	Delete(ctx context.Context, tx *Tx, id uuid.UUID) error
}

// DomainModel is a Model whose writes go through the domain layer
// (internal/core, reached by Tx.Core): users, groups, applications,
// providers. The domain layer records their model events, so Apply
// records none for them.
type DomainModel interface {
	Model
	DomainWrites()
}

// PolicyTarget is implemented by models whose objects policies, groups and
// users can be bound to (flows, flow stage bindings, applications; later
// sources). A policy binding's target must be an object of one of them.
type PolicyTarget interface {
	Exists(ctx context.Context, tx *Tx, id uuid.UUID) (bool, error)
}

// Registry is the models blueprints may name, by Authentik model name:
// the built-in ones (NewRegistry) and those the composition root adds for
// what it wires beside them (a provider kind's model, notification rules).
// It is filled at start-up, before the first apply, and only read after:
// nothing registers itself from init, so what a server accepts is what
// internal/app lists.
type Registry struct {
	models map[string]Model
}

// NewRegistry returns the built-in models: core objects, flows and their
// bindings, stages, policies, prompts, applications, key pairs and scope
// mappings.
func NewRegistry() *Registry {
	r := &Registry{models: map[string]Model{}}
	registerCoreModels(r)
	registerAppModels(r)
	registerFlowModels(r)
	registerObjectModels(r)
	return r
}

// builtinRegistry serves applies whose Options name no registry.
var builtinRegistry = sync.OnceValue(NewRegistry)

// Register makes a model available under its Authentik name (e.g.
// "authentik_providers_oauth2.oauth2provider"). It panics if the name is
// taken: registration happens at start-up, and a clash is a bug.
func (r *Registry) Register(name string, m Model) {
	if _, dup := r.models[name]; dup {
		panic("blueprint: model " + name + " registered twice")
	}
	r.models[name] = m
}

func (r *Registry) lookup(name string) (Model, bool) {
	m, ok := r.models[name]
	return m, ok
}

// Names lists the supported model names, sorted.
func (r *Registry) Names() []string {
	return slices.Sorted(maps.Keys(r.models))
}

func (r *Registry) policyTargets() []PolicyTarget {
	var out []PolicyTarget
	for _, name := range r.Names() {
		if t, ok := r.models[name].(PolicyTarget); ok {
			out = append(out, t)
		}
	}
	return out
}

// Config families passed to Options.ValidateConfig.
const (
	FamilyStage  = "stage"
	FamilyPolicy = "policy"
	FamilyPrompt = "prompt"
	// FamilyMapping is property mappings (OAuth2 scope mappings, ...).
	FamilyMapping = "property_mapping"
)

// Tx is what a model handler works with while an entry is applied: the
// transaction's scope and the caller's hooks.
type Tx struct {
	Scope store.Scope
	opt   *Options
	// actor is the system, applying this blueprint.
	actor *core.Actor
}

// models is the registry the apply reads models from.
func (t *Tx) models() *Registry {
	if t.opt == nil || t.opt.Models == nil {
		return builtinRegistry()
	}
	return t.opt.Models
}

// Core is the domain layer, through which DomainModels write
// (Options.Core).
func (t *Tx) Core() *core.Core {
	if t.opt == nil || t.opt.Core == nil {
		return core.New(nil, nil, nil)
	}
	return t.opt.Core
}

// Actor is who writes: the system, named in events by the blueprint.
func (t *Tx) Actor() *core.Actor { return t.actor }

// ValidateConfig checks a stage, policy or prompt configuration with the
// code that will use it (Options.ValidateConfig); without a hook it accepts.
func (t *Tx) ValidateConfig(family, kind string, config []byte) error {
	if t.opt == nil || t.opt.ValidateConfig == nil {
		return nil
	}
	return t.opt.ValidateConfig(family, kind, config)
}

// HashPassword hashes a password from a blueprint (Options.HashPassword).
func (t *Tx) HashPassword(password string) (string, error) {
	if t.opt == nil || t.opt.HashPassword == nil {
		return "", store.Invalid("password", "cannot be set: no password hasher is configured")
	}
	return t.opt.HashPassword(password)
}

// Box is the secret box that seals secrets before they are stored
// (Options.Box); nil when the caller gave none.
func (t *Tx) Box() *secretbox.Box {
	if t.opt == nil {
		return nil
	}
	return t.opt.Box
}

// Values are an entry's evaluated fields. Accessors return ok=false for a
// missing key and a validation error naming the key for a wrong type.
type Values map[string]any

// Check refuses keys outside allowed, naming them; handlers of fixed-shape
// models call it so a typo in a blueprint is an error, not a silent no-op.
func (v Values) Check(allowed ...string) error {
	var bad []string
	for k := range v {
		if !slices.Contains(allowed, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return store.Invalid(bad[0], "is not a supported field (supported: %s)", strings.Join(allowed, ", "))
}

// Matches reports whether every field of v equals the object's value in
// have, compared as JSON so that 10 and 10.0, or an ID and its string,
// agree. Models registered from other packages use it in Find.
func (v Values) Matches(have map[string]any) bool { return matchAll(v, have) }

// Unsupported handles fields of Authentik's that gatehouse does not
// implement: an export writes them as null or empty, which is accepted, and
// any other value is refused rather than silently ignored. It returns v
// without them.
func (v Values) Unsupported(keys ...string) (Values, error) {
	out := maps.Clone(v)
	for _, k := range keys {
		x, ok := v[k]
		if !ok {
			continue
		}
		delete(out, k)
		switch e := x.(type) {
		case nil:
			continue
		case string:
			if e == "" {
				continue
			}
		case []any:
			if len(e) == 0 {
				continue
			}
		}
		return nil, store.Invalid(k, "is not supported by gatehouse; remove it or set it to null")
	}
	return out, nil
}

// String reads a string; null reads as "".
func (v Values) String(key string) (string, bool, error) {
	x, ok := v[key]
	if !ok {
		return "", false, nil
	}
	switch s := x.(type) {
	case nil:
		return "", true, nil
	case string:
		return s, true, nil
	case uuid.UUID:
		return s.String(), true, nil
	}
	return "", true, store.Invalid(key, "must be a string")
}

// Bool reads a boolean.
func (v Values) Bool(key string) (bool, bool, error) {
	x, ok := v[key]
	if !ok {
		return false, false, nil
	}
	b, isBool := x.(bool)
	if !isBool {
		return false, true, store.Invalid(key, "must be true or false")
	}
	return b, true, nil
}

// Int reads a whole number (1 and 1.0 alike).
func (v Values) Int(key string) (int, bool, error) {
	x, ok := v[key]
	if !ok {
		return 0, false, nil
	}
	var f float64
	switch n := x.(type) {
	case int:
		return n, true, nil
	case int64:
		f = float64(n)
	case uint64:
		f = float64(n)
	case float64:
		f = n
	default:
		return 0, true, store.Invalid(key, "must be a whole number")
	}
	if f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
		return 0, true, store.Invalid(key, "must be a whole number")
	}
	return int(f), true, nil
}

// UUID reads a reference (from !KeyOf or !Find, or a UUID string); null
// reads as an unset UUID.
func (v Values) UUID(key string) (uuid.NullUUID, bool, error) {
	x, ok := v[key]
	if !ok {
		return uuid.NullUUID{}, false, nil
	}
	switch id := x.(type) {
	case nil:
		return uuid.NullUUID{}, true, nil
	case uuid.UUID:
		return uuid.NullUUID{UUID: id, Valid: true}, true, nil
	case string:
		if u, err := uuid.Parse(id); err == nil {
			return uuid.NullUUID{UUID: u, Valid: true}, true, nil
		}
	}
	return uuid.NullUUID{}, true, store.Invalid(key, "must be an ID (use !KeyOf or !Find)")
}

// Map reads a mapping; null reads as an empty one.
func (v Values) Map(key string) (map[string]any, bool, error) {
	x, ok := v[key]
	if !ok {
		return nil, false, nil
	}
	switch m := x.(type) {
	case nil:
		return map[string]any{}, true, nil
	case map[string]any:
		return m, true, nil
	}
	return nil, true, store.Invalid(key, "must be a mapping")
}

// List reads a list; null reads as an empty one.
func (v Values) List(key string) ([]any, bool, error) {
	x, ok := v[key]
	if !ok {
		return nil, false, nil
	}
	switch l := x.(type) {
	case nil:
		return nil, true, nil
	case []any:
		return l, true, nil
	}
	return nil, true, store.Invalid(key, "must be a list")
}

// fields assigns the values an entry gives onto an object's fields,
// leaving the others alone, and collects every problem.
type fields struct {
	v    Values
	errs store.ValidationError
}

func (f *fields) note(err error) {
	if err == nil {
		return
	}
	var ve *store.ValidationError
	if errors.As(err, &ve) {
		f.errs.Fields = append(f.errs.Fields, ve.Fields...)
		return
	}
	f.errs.Add("", "%v", err)
}

func (f *fields) str(key string, dst *string) {
	if s, ok, err := f.v.String(key); ok {
		f.note(err)
		*dst = s
	}
}

func (f *fields) boolean(key string, dst *bool) {
	if b, ok, err := f.v.Bool(key); ok {
		f.note(err)
		*dst = b
	}
}

func (f *fields) integer(key string, dst *int) {
	if n, ok, err := f.v.Int(key); ok {
		f.note(err)
		*dst = n
	}
}

func (f *fields) ref(key string, dst *uuid.NullUUID) {
	if id, ok, err := f.v.UUID(key); ok {
		f.note(err)
		*dst = id
	}
}

func (f *fields) id(key string, dst *uuid.UUID) {
	if id, ok, err := f.v.UUID(key); ok {
		f.note(err)
		*dst = id.UUID
	}
}

func (f *fields) attributes(key string, dst *store.Attributes) {
	if m, ok, err := f.v.Map(key); ok {
		f.note(err)
		*dst = m
	}
}

func (f *fields) err() error { return f.errs.Err() }

// canonicalJSON encodes v with sorted keys, so equal content compares
// equal byte for byte whether it came from YAML or from the database.
func canonicalJSON(v any) ([]byte, error) {
	return json.Marshal(v)
}

// decodeJSON reads stored JSON keeping numbers exact.
func decodeJSON(data []byte) (any, error) {
	if len(data) == 0 {
		return map[string]any{}, nil
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// sameJSON reports whether a and b have the same JSON content.
func sameJSON(a, b any) bool {
	ja, err1 := canonicalJSON(a)
	jb, err2 := canonicalJSON(b)
	if err1 != nil || err2 != nil {
		return false
	}
	if bytes.Equal(ja, jb) {
		return true
	}
	// Numbers: 1 and 1.0 are the same; re-read both sides to compare.
	va, err1 := decodeJSON(ja)
	vb, err2 := decodeJSON(jb)
	if err1 != nil || err2 != nil {
		return false
	}
	ca, _ := json.Marshal(normalizeNumbers(va))
	cb, _ := json.Marshal(normalizeNumbers(vb))
	return bytes.Equal(ca, cb)
}

func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return f
		}
	case []any:
		for i := range x {
			x[i] = normalizeNumbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normalizeNumbers(x[k])
		}
	}
	return v
}

// notFoundField is the error for a reference to an object that does not
// exist in this tenant.
func notFoundField(field, what string, id uuid.UUID) error {
	return store.Invalid(field, "no %s with ID %s exists", what, id)
}
