package flow

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// IgnoredSettings is implemented by stages that accept settings they do
// not act on: Authentik's settings of the same stage that gatehouse does not
// implement (an identification stage's sources, an email stage's SMTP
// server, ...), so that blueprints exported from Authentik still apply.
type IgnoredSettings interface {
	IgnoredSettings() []string
}

// checkSettingNames refuses settings that the stage kind does not know,
// one field error per unknown name: a misspelt setting would otherwise be
// stored and silently have no effect. A stage's settings are the JSON names
// of its exported fields (the stage kinds' convention; see
// stage.Settings), plus its IgnoredSettings.
//
// Only writes are checked (ValidateStage: blueprints and the API). A flow
// builds its stages leniently, so a stage stored before this check keeps
// running.
func checkSettingNames(kind string, s Stage, config []byte) error {
	var given map[string]json.RawMessage
	if err := json.Unmarshal(config, &given); err != nil || len(given) == 0 {
		return nil // empty, or not an object: the factory judged it
	}
	known := settingNames(reflect.TypeOf(s))
	if ig, ok := s.(IgnoredSettings); ok {
		known = append(known, ig.IgnoredSettings()...)
	}
	names := make([]string, 0, len(given))
	for k := range given {
		names = append(names, k)
	}
	sort.Strings(names)
	v := &store.ValidationError{}
	for _, k := range names {
		if slices.Contains(known, k) {
			continue
		}
		if own := settingNames(reflect.TypeOf(s)); len(own) > 0 {
			v.Add(k, "is not a setting of %s stages (they have %s)", kind, strings.Join(own, ", "))
		} else {
			v.Add(k, "is not a setting of %s stages (they have none)", kind)
		}
	}
	return v.Err()
}

// settingNames lists the JSON names of a struct's exported fields, in
// declaration order.
func settingNames(t reflect.Type) []string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" {
			out = append(out, settingNames(f.Type)...)
			continue
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}
