package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/flow/stage"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Stages, policies, prompts and property mappings share one store shape
// (store.Object: a name, a kind and the kind's settings as JSON under
// Authentik's field names, exactly as blueprints write them). Each kind is
// a resource at Authentik's path whose settings are typed JSON fields; this
// file holds everything the kinds share, so that a kind is declared by its
// two types and one Register(a, objects(...)).
//
// The types follow three conventions: output types embed objectMeta (the
// ETag's version), request fields are omitempty pointers (so encoding a
// request yields exactly the fields its body gave), and a request field
// that names another object carries a ref tag ("flow", "stage",
// "stage:password", "prompt", "policy", "group"), which is checked against
// the caller's tenant.

// family is one table of objects and how Authentik presents its kinds.
type family struct {
	name  string // blueprint.FamilyStage, ...
	table func(store.Scope) store.Objects
	// noun and nouns end the verbose names ("Identification Stage(s)").
	noun, nouns string
	form        string // admin form component prefix ("ak-stage-")
	// kindField is the setting that holds the kind (a prompt's type); ""
	// when every resource of the family is one fixed kind.
	kindField string
	// settings returns a kind's settings as they run, defaults filled in;
	// nil shows them as stored.
	settings func(kind string, cfg json.RawMessage) (json.RawMessage, error)
	// anyModel is the model of the family's base class, the permission
	// model of the list of every kind ("authentik_flows.stage").
	anyModel string
}

var (
	stageFamily = &family{name: blueprint.FamilyStage, table: store.Scope.Stages, noun: "Stage", nouns: "Stages",
		form: "ak-stage-", settings: stage.Settings, anyModel: "authentik_flows.stage"}
	policyFamily = &family{name: blueprint.FamilyPolicy, table: store.Scope.Policies, noun: "Policy", nouns: "Policies",
		form: "ak-policy-", settings: policy.Settings, anyModel: "authentik_policies.policy"}
	promptFamily = &family{name: blueprint.FamilyPrompt, table: store.Scope.Prompts, noun: "Prompt", nouns: "Prompts",
		form: "ak-prompt-", kindField: "type"}
	mappingFamily = &family{name: blueprint.FamilyMapping, table: store.Scope.PropertyMappings, noun: "Mapping",
		nouns: "Mappings", form: "ak-property-mapping-provider-", anyModel: "authentik_core.propertymapping"}
)

// objectMeta, embedded in an output type as `json:"-"`, gives it Meta
// without a method per type.
type objectMeta struct{ m Meta }

func (o objectMeta) Meta() Meta      { return o.m }
func (o *objectMeta) setMeta(m Meta) { o.m = m }

// model is the Authentik model of one of the family's kinds, which is also
// its permission model.
func (f *family) model(kind string) string {
	switch {
	case f.kindField != "":
		kind = ""
	case kind == "":
		return f.anyModel
	}
	m, _ := blueprint.ObjectModel(f.name, kind)
	return m
}

// identity is what every object shows beside its settings: the fields of
// Authentik's base serializers.
func (f *family) identity(o *store.Object) map[string]any {
	words := strings.Split(o.Kind, "_")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	title := strings.Join(words, " ")
	return map[string]any{"pk": o.ID, "name": o.Name, "component": f.form + strings.ReplaceAll(o.Kind, "_", "-") + "-form",
		"verbose_name": title + " " + f.noun, "verbose_name_plural": title + " " + f.nouns, "meta_model_name": f.model(o.Kind)}
}

// get loads an object of kind ("" for any kind); another kind's object is
// not found, as it would be in Authentik's per-model tables.
func (f *family) get(ctx context.Context, sc store.Scope, kind string, id uuid.UUID) (*store.Object, error) {
	o, err := f.table(sc).Get(ctx, id)
	if err == nil && kind != "" && o.Kind != kind {
		return nil, store.ErrNotFound
	}
	return o, err
}

// objectOut builds an output type from an object: its identity and the
// kind's effective settings, matched to the type's fields by JSON name.
func objectOut[Out any](f *family, o *store.Object) Out {
	var out Out
	cfg := o.Config
	if f.settings != nil {
		// Settings stored before today's rules cannot be built; they still
		// show, as stored.
		if eff, err := f.settings(o.Kind, o.Config); err == nil {
			cfg = eff
		}
	}
	m := map[string]any{}
	if len(cfg) > 0 {
		json.Unmarshal(cfg, &m)
	}
	if f.kindField != "" {
		m[f.kindField] = o.Kind
	}
	maps.Copy(m, f.identity(o))
	fields := jsonFieldsOf(reflect.TypeFor[Out]())
	for _, f := range fields {
		// Stages keep an unset reference as "": for a nullable field that is null.
		if ft := f.Field.Type; m[f.Name] == "" && (ft == reflect.TypeFor[uuid.NullUUID]() || ft.Kind() == reflect.Pointer) {
			m[f.Name] = nil
		}
	}
	raw, _ := json.Marshal(m)
	// A stored value of the wrong type shows as the zero value rather
	// than failing a whole list: the settings were checked when written.
	json.Unmarshal(raw, &out)
	v := reflect.ValueOf(&out).Elem()
	for _, f := range fields {
		// The document promises lists and objects, never null.
		switch fv := fieldValue(v, f.Field.Index); {
		case fv.Kind() == reflect.Slice && fv.IsNil() && fv.CanSet():
			fv.Set(reflect.MakeSlice(fv.Type(), 0, 0))
		case fv.Kind() == reflect.Map && fv.IsNil() && fv.CanSet():
			fv.Set(reflect.MakeMap(fv.Type()))
		}
	}
	any(&out).(interface{ setMeta(Meta) }).setMeta(Meta{ID: o.ID, Name: o.Name, Version: o.Version})
	return out
}

// requestFields returns the fields a request gave by JSON name (its pointer
// fields are omitempty), with the object's name taken apart.
func requestFields(in any) (name *string, settings map[string]any, err error) {
	raw, err := json.Marshal(in)
	if err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(raw, &settings); err != nil {
		return nil, nil, err
	}
	if n, ok := settings["name"].(string); ok {
		name = &n
	}
	delete(settings, "name")
	return name, settings, nil
}

// setConfig lays the given settings over o's stored ones (a PATCH changes
// only what it names) and checks the result with the code that runs the
// kind: the check blueprints make, so the API cannot store what a flow
// cannot run.
func (a *API) setConfig(f *family, o *store.Object, given map[string]any) error {
	cur := map[string]any{}
	if len(o.Config) > 0 {
		d := json.NewDecoder(bytes.NewReader(o.Config))
		d.UseNumber() // stored numbers stay exact
		if err := d.Decode(&cur); err != nil || cur == nil {
			cur = map[string]any{}
		}
	}
	maps.Copy(cur, given)
	if f.kindField != "" {
		o.Kind, _ = cur[f.kindField].(string)
	}
	raw, err := json.Marshal(cur)
	if err != nil {
		return err
	}
	if a.ValidateConfig != nil {
		if err := a.ValidateConfig(f.name, o.Kind, raw); err != nil {
			return err
		}
	}
	o.Config = raw
	return nil
}

// checkRefs reports each ref-tagged field of a request that names an
// object missing from the caller's tenant, as a field error.
func checkRefs(ctx context.Context, sc store.Scope, in any) error {
	v := &store.ValidationError{}
	rv := reflect.ValueOf(in).Elem()
	for _, f := range jsonFieldsOf(rv.Type()) {
		what, kind, _ := strings.Cut(f.Field.Tag.Get("ref"), ":")
		fv := fieldValue(rv, f.Field.Index)
		if what == "" || fv.IsNil() {
			continue
		}
		var ids []uuid.UUID
		switch x := fv.Interface().(type) {
		case *uuid.NullUUID:
			if x.Valid {
				ids = append(ids, x.UUID)
			}
		case *uuid.UUID:
			ids = append(ids, *x)
		case *[]uuid.UUID:
			ids = *x
		}
		for _, id := range ids {
			ok, err := refExists(ctx, sc, what, kind, id)
			if err != nil {
				return err
			}
			if !ok {
				noun := what
				if kind != "" {
					noun = strings.ReplaceAll(kind, "_", " ") + " " + what
				}
				v.Add(f.Name, "no %s with ID %s exists", noun, id)
				break
			}
		}
	}
	return v.Err()
}

func refExists(ctx context.Context, sc store.Scope, what, kind string, id uuid.UUID) (bool, error) {
	var err error
	switch what {
	case "flow":
		_, err = sc.Flows().Get(ctx, id)
	case "group":
		_, err = sc.Groups().Get(ctx, id)
	case "user":
		_, err = sc.Users().Get(ctx, id)
	case "stage":
		_, err = stageFamily.get(ctx, sc, kind, id)
	case "policy":
		_, err = policyFamily.get(ctx, sc, kind, id)
	case "prompt":
		_, err = promptFamily.get(ctx, sc, kind, id)
	default:
		panic("api: unknown ref tag " + what)
	}
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// objects returns the resource of one kind of a family at path ("" kind:
// every kind, as the read-only stages/all/ lists). Read-only resources
// clear the write functions.
func objects[Out Object, In any](a *API, f *family, kind, path, tag string, required ...string) Resource[Out, In] {
	model := f.model(kind)
	if model == "" {
		panic("api: no Authentik model for " + f.name + " kind " + kind)
	}
	return Resource[Out, In]{
		Path: path, Tag: tag, Model: model, Required: required,
		List: func(ctx context.Context, c *Caller, q Query) ([]Out, int, error) {
			objs, total, err := f.table(c.Scope).List(ctx, store.ObjectQuery{Kind: kind, Search: q.Search, Page: q.Page})
			out := make([]Out, len(objs))
			for i, o := range objs {
				out[i] = objectOut[Out](f, o)
			}
			return out, total, err
		},
		Get: func(ctx context.Context, c *Caller, id uuid.UUID) (Out, error) {
			o, err := f.get(ctx, c.Scope, kind, id)
			if err != nil {
				var zero Out
				return zero, err
			}
			return objectOut[Out](f, o), nil
		},
		Create: func(ctx context.Context, c *Caller, in *In) (Out, error) {
			var zero Out
			name, given, err := requestFields(in)
			if err != nil {
				return zero, err
			}
			if err := checkRefs(ctx, c.Scope, in); err != nil {
				return zero, err
			}
			o := &store.Object{Kind: kind}
			if name != nil {
				o.Name = *name
			}
			if err := a.setConfig(f, o, given); err != nil {
				return zero, err
			}
			if err := f.table(c.Scope).Create(ctx, o); err != nil {
				return zero, err
			}
			return objectOut[Out](f, o), nil
		},
		Update: func(ctx context.Context, c *Caller, id uuid.UUID, version int64, in *In) (Out, error) {
			var zero Out
			name, given, err := requestFields(in)
			if err != nil {
				return zero, err
			}
			if err := checkRefs(ctx, c.Scope, in); err != nil {
				return zero, err
			}
			o, err := f.table(c.Scope).Update(ctx, id, func(o *store.Object) error {
				if kind != "" && o.Kind != kind {
					return store.ErrNotFound
				}
				if err := checkVersion(version, o.Version); err != nil {
					return err
				}
				if name != nil {
					o.Name = *name
				}
				return a.setConfig(f, o, given)
			})
			if err != nil {
				return zero, err
			}
			return objectOut[Out](f, o), nil
		},
		Delete: func(ctx context.Context, c *Caller, id uuid.UUID) error {
			if _, err := f.get(ctx, c.Scope, kind, id); err != nil {
				return err
			}
			return f.table(c.Scope).Delete(ctx, id)
		},
	}
}

// readOnly is r without its write endpoints (the */all/ lists).
func readOnly[Out Object, In any](r Resource[Out, In]) Resource[Out, In] {
	r.Create, r.Update, r.Delete = nil, nil, nil
	return r
}
