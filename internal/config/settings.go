package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	envPrefix   = "GATEHOUSE_"
	aliasPrefix = "AUTHENTIK_"
	// configEnv names the file to load when the caller passes no path.
	configEnv = "GATEHOUSE_CONFIG"
)

type kind int

const (
	kindString kind = iota
	kindInt
	kindInt64
	kindBool
	kindDuration
	kindList
)

// setting is one leaf of Config. The table of settings is derived from the
// struct's tags, so a new field is loadable from file and environment,
// validated, redacted and named in errors without touching a list.
type setting struct {
	path   string // YAML path, "postgresql.host"
	env    string // GATEHOUSE_POSTGRESQL__HOST
	alias  string // AUTHENTIK_POSTGRESQL__HOST
	index  []int  // for reflect.Value.FieldByIndex on a Config
	kind   kind
	secret bool
	check  string // the check tag; see checkValue
}

type schema struct {
	list   []*setting
	byPath map[string]*setting
	// children maps a section's path ("" for the top level) to the keys it
	// may hold, in declaration order, for strict file decoding and hints.
	children map[string][]string
}

var table = newSchema(reflect.TypeFor[Config]())

var durationType = reflect.TypeFor[time.Duration]()

func newSchema(t reflect.Type) *schema {
	s := &schema{byPath: map[string]*setting{}, children: map[string][]string{}}
	s.collect(t, "", nil)
	return s
}

func (s *schema) collect(t reflect.Type, prefix string, index []int) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			panic("config: field " + f.Name + " has no yaml name")
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		s.children[prefix] = append(s.children[prefix], name)
		idx := append(slices.Clone(index), i)
		if f.Type.Kind() == reflect.Struct {
			s.collect(f.Type, path, idx)
			continue
		}
		envName := strings.ToUpper(strings.ReplaceAll(path, ".", "__"))
		st := &setting{
			path:   path,
			env:    envPrefix + envName,
			alias:  aliasPrefix + envName,
			index:  idx,
			kind:   kindOf(f.Type),
			secret: f.Tag.Get("secret") == "true",
			check:  f.Tag.Get("check"),
		}
		if st.secret && st.kind != kindString && st.kind != kindList {
			panic("config: secret setting " + path + " must be a string or a list")
		}
		s.list = append(s.list, st)
		s.byPath[path] = st
	}
}

func kindOf(t reflect.Type) kind {
	switch {
	case t == durationType:
		return kindDuration
	case t.Kind() == reflect.String:
		return kindString
	case t.Kind() == reflect.Int:
		return kindInt
	case t.Kind() == reflect.Int64:
		return kindInt64
	case t.Kind() == reflect.Bool:
		return kindBool
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return kindList
	}
	// A programming error, caught by any test that loads the package.
	panic("config: no parser for settings of type " + t.String())
}

func (s *setting) field(c *Config) reflect.Value {
	return reflect.ValueOf(c).Elem().FieldByIndex(s.index)
}

// show quotes a value for an error message, unless it is a secret: error
// output ends up in logs and support tickets.
func (s *setting) show(v string) string {
	if s.secret {
		return "the value"
	}
	return strconv.Quote(v)
}

// setScalar parses one textual value, from the file or the environment,
// into the setting's field.
func (s *setting) setScalar(c *Config, raw string) error {
	f := s.field(c)
	trimmed := strings.TrimSpace(raw)
	switch s.kind {
	case kindString:
		f.SetString(raw)
	case kindInt, kindInt64:
		n, err := strconv.ParseInt(trimmed, 10, f.Type().Bits())
		if err != nil {
			return fmt.Errorf("%s is not a whole number", s.show(raw))
		}
		f.SetInt(n)
	case kindBool:
		b, ok := parseBool(trimmed)
		if !ok {
			return fmt.Errorf("%s is not a boolean (use true/false, yes/no or 1/0)", s.show(raw))
		}
		f.SetBool(b)
	case kindDuration:
		d, err := ParseDuration(raw)
		if err != nil {
			return err
		}
		f.SetInt(int64(d))
	case kindList:
		items, err := splitList(trimmed)
		if err != nil {
			return err
		}
		f.Set(reflect.ValueOf(items))
	}
	return nil
}

// setList stores a YAML sequence.
func (s *setting) setList(c *Config, items []string) error {
	if s.kind != kindList {
		return fmt.Errorf("expected a single value, got a list")
	}
	s.field(c).Set(reflect.ValueOf(slices.Clone(items)))
	return nil
}

func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "true", "1", "yes":
		return true, true
	case "false", "0", "no":
		return false, true
	}
	return false, false
}

// splitList reads a list from one string: comma-separated, or a JSON array
// because Authentik parses environment values as JSON and its users write
// AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS='["10.0.0.0/8"]'.
func splitList(s string) ([]string, error) {
	if strings.HasPrefix(s, "[") {
		var items []string
		if err := json.Unmarshal([]byte(s), &items); err != nil {
			return nil, errors.New("the value starts with [ but is not a JSON list of strings")
		}
		return items, nil
	}
	items := []string{}
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items, nil
}

// display renders a field's value for Redacted: durations as Go syntax
// (JSON would print nanoseconds), lists copied so callers cannot alias the
// configuration.
func (s *setting) display(c *Config) any {
	f := s.field(c)
	if s.secret {
		if (s.kind == kindList && f.Len() == 0) || (s.kind != kindList && f.String() == "") {
			return ""
		}
		return "********"
	}
	switch s.kind {
	case kindDuration:
		return time.Duration(f.Int()).String()
	case kindList:
		return slices.Clone(f.Interface().([]string))
	}
	return f.Interface()
}

// Redacted returns every setting keyed by its YAML path, with secrets
// replaced by "********" when set (and "" when not, so an operator can see
// that a secret is missing). Meant for `gatehouse config` and the start-up
// log.
func (c *Config) Redacted() map[string]any {
	out := make(map[string]any, len(table.list))
	for _, s := range table.list {
		out[s.path] = s.display(c)
	}
	return out
}
