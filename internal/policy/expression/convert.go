package expression

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
)

// maxNesting bounds the depth of converted values, in both directions: Go
// maps can contain themselves, and so can Starlark lists.
const maxNesting = 100

// toStarlark converts a JSON-like Go value (and *User) into Starlark.
// Maps become dicts with sorted keys; floats with an integral value become
// ints, since JSON decoding turns every number into a float64 while
// Authentik (Python) keeps integers integers.
func toStarlark(v any, depth int) (starlark.Value, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("value nested more than %d levels deep", maxNesting)
	}
	switch v := v.(type) {
	case nil:
		return starlark.None, nil
	case bool:
		return starlark.Bool(v), nil
	case string:
		return starlark.String(v), nil
	case int:
		return starlark.MakeInt(v), nil
	case int64:
		return starlark.MakeInt64(v), nil
	case int32:
		return starlark.MakeInt64(int64(v)), nil
	case uint64:
		return starlark.MakeUint64(v), nil
	case float64:
		return floatValue(v), nil
	case float32:
		return floatValue(float64(v)), nil
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return starlark.MakeInt64(i), nil
		}
		f, err := v.Float64()
		if err != nil {
			return nil, fmt.Errorf("invalid number %q", string(v))
		}
		return starlark.Float(f), nil
	case *User:
		if v == nil {
			return starlark.None, nil
		}
		return newUserValue(v), nil
	case User:
		return newUserValue(&v), nil
	case []any:
		elems := make([]starlark.Value, len(v))
		for i, e := range v {
			sv, err := toStarlark(e, depth+1)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			elems[i] = sv
		}
		return starlark.NewList(elems), nil
	case []string:
		elems := make([]starlark.Value, len(v))
		for i, e := range v {
			elems[i] = starlark.String(e)
		}
		return starlark.NewList(elems), nil
	case map[string]any:
		d := starlark.NewDict(len(v))
		for _, k := range sortedKeys(v) {
			sv, err := toStarlark(v[k], depth+1)
			if err != nil {
				return nil, fmt.Errorf("[%q]: %w", k, err)
			}
			_ = d.SetKey(starlark.String(k), sv)
		}
		return d, nil
	case map[string]string:
		d := starlark.NewDict(len(v))
		for _, k := range sortedKeys(v) {
			_ = d.SetKey(starlark.String(k), starlark.String(v[k]))
		}
		return d, nil
	}
	return reflectToStarlark(reflect.ValueOf(v), depth)
}

// reflectToStarlark converts the other integer kinds, and maps and slices
// of other element types.
func reflectToStarlark(rv reflect.Value, depth int) (starlark.Value, error) {
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return starlark.MakeInt64(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return starlark.MakeUint64(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return floatValue(rv.Float()), nil
	case reflect.String:
		return starlark.String(rv.String()), nil
	case reflect.Bool:
		return starlark.Bool(rv.Bool()), nil
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return starlark.None, nil
		}
		elems := make([]starlark.Value, rv.Len())
		for i := range elems {
			sv, err := toStarlark(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			elems[i] = sv
		}
		return starlark.NewList(elems), nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		keys := make([]string, 0, rv.Len())
		for _, k := range rv.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		d := starlark.NewDict(len(keys))
		for _, k := range keys {
			sv, err := toStarlark(rv.MapIndex(reflect.ValueOf(k).Convert(rv.Type().Key())).Interface(), depth+1)
			if err != nil {
				return nil, fmt.Errorf("[%q]: %w", k, err)
			}
			_ = d.SetKey(starlark.String(k), sv)
		}
		return d, nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return starlark.None, nil
		}
	}
	return nil, fmt.Errorf("unsupported value of type %s", rv.Type())
}

func floatValue(f float64) starlark.Value {
	if f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
		return starlark.MakeInt64(int64(f))
	}
	return starlark.Float(f)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// toGo converts a returned value to Go: nil, bool, int64, float64,
// string, []any, map[string]any. It visits at most MaxValueLen values, so
// that a list holding itself through many paths cannot make it run for
// ever, and stops (with errStopped) when the run is stopped.
func (r *run) toGo(v starlark.Value) (any, error) {
	c := &goConverter{r: r, budget: r.lim.MaxValueLen}
	out, err := c.conv(v)
	if err != nil {
		if ce, ok := err.(*convError); ok && ce.path != "" {
			return nil, fmt.Errorf("value%s: %s", ce.path, ce.msg)
		}
	}
	return out, err
}

type convError struct{ path, msg string }

func (e *convError) Error() string { return e.msg }

// in prefixes the error's path with one step.
func in(err error, step string) error {
	if ce, ok := err.(*convError); ok {
		ce.path = step + ce.path
	}
	return err
}

type goConverter struct {
	r      *run
	budget int
	path   []starlark.Value
}

func (c *goConverter) conv(v starlark.Value) (any, error) {
	if c.budget--; c.budget < 0 {
		return nil, &convError{msg: "too large to convert"}
	}
	if err := c.r.spend(0); err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(v), nil
	case starlark.Int:
		i, ok := v.Int64()
		if !ok {
			return nil, &convError{msg: fmt.Sprintf("integer %s does not fit in 64 bits", v)}
		}
		return i, nil
	case starlark.Float:
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, &convError{msg: fmt.Sprintf("float %s cannot be represented in JSON", v)}
		}
		return float64(v), nil
	case starlark.String:
		return string(v), nil
	case starlark.Bytes:
		return string(v), nil
	case groupValue:
		return map[string]any{"name": v.name}, nil
	case *userValue:
		return c.user(v)
	case *starlark.List, starlark.Tuple, *starlark.Set, *groupSet:
		return c.list(v)
	case *starlark.Dict:
		return c.dict(v)
	case *headerMap:
		m := make(map[string]any, len(v.keys))
		for _, k := range v.keys {
			m[k] = v.values[strings.ToLower(k)]
		}
		return m, nil
	}
	return nil, &convError{msg: fmt.Sprintf("a %s cannot be returned (return None, a bool, number, string, list, dict or user)", v.Type())}
}

// enter guards against cycles: Starlark lists and dicts can hold
// themselves.
func (c *goConverter) enter(v starlark.Value) (leave func(), err error) {
	if len(c.path) >= maxNesting {
		return nil, &convError{msg: fmt.Sprintf("nested more than %d levels deep (does a list contain itself?)", maxNesting)}
	}
	c.path = append(c.path, v)
	return func() { c.path = c.path[:len(c.path)-1] }, nil
}

func (c *goConverter) list(v starlark.Value) (any, error) {
	leave, err := c.enter(v)
	if err != nil {
		return nil, err
	}
	defer leave()
	out := make([]any, 0, starlark.Len(v))
	for e := range starlark.Elements(v.(starlark.Iterable)) {
		g, err := c.conv(e)
		if err != nil {
			return nil, in(err, fmt.Sprintf("[%d]", len(out)))
		}
		out = append(out, g)
	}
	return out, nil
}

func (c *goConverter) dict(d *starlark.Dict) (any, error) {
	leave, err := c.enter(d)
	if err != nil {
		return nil, err
	}
	defer leave()
	out := make(map[string]any, d.Len())
	for k, v := range starlark.Entries(d) {
		key, err := jsonKey(k)
		if err != nil {
			return nil, err
		}
		g, err := c.conv(v)
		if err != nil {
			return nil, in(err, fmt.Sprintf("[%q]", key))
		}
		out[key] = g
	}
	return out, nil
}

// jsonKey turns a dict key into a JSON object key as Python's json.dumps
// does: strings as they are, numbers, booleans and None as JSON text.
func jsonKey(k starlark.Value) (string, error) {
	switch k := k.(type) {
	case starlark.String:
		return string(k), nil
	case starlark.Int:
		return k.String(), nil
	case starlark.Float:
		return strconv.FormatFloat(float64(k), 'g', -1, 64), nil
	case starlark.Bool:
		return strconv.FormatBool(bool(k)), nil
	case starlark.NoneType:
		return "null", nil
	}
	return "", &convError{msg: fmt.Sprintf("a dict key of type %s cannot be returned (use strings)", k.Type())}
}

// user converts a user to the map of its public fields.
func (c *goConverter) user(v *userValue) (any, error) {
	m := map[string]any{
		"pk": nil, "username": "", "name": "", "email": "", "type": "",
		"is_active": false, "is_superuser": false, "is_authenticated": v.u != nil,
		"attributes": map[string]any{}, "groups": []any{},
	}
	if u := v.u; u != nil {
		m["pk"], m["username"], m["name"], m["email"], m["type"] = u.ID, u.Username, u.Name, u.Email, u.Type
		m["is_active"], m["is_superuser"] = u.IsActive, u.IsSuperuser
		groups := make([]any, len(u.GroupNames))
		for i, g := range u.GroupNames {
			groups[i] = g
		}
		m["groups"] = groups
	}
	attrs, err := v.attributes() // as the expression may have changed them
	if err != nil {
		return nil, &convError{msg: err.Error()}
	}
	a, err := c.conv(attrs)
	if err != nil {
		return nil, in(err, ".attributes")
	}
	m["attributes"] = a
	return m, nil
}

// Truthy reports Python's truth value of an Output.Value: false for nil,
// false, zero, "" and empty lists and maps, true otherwise. A policy
// passes when its value is truthy.
func Truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case int64:
		return v != 0
	case int:
		return v != 0
	case float64:
		return v != 0
	case string:
		return v != ""
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	}
	return true
}
