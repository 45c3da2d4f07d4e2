package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// decode reads a JSON object into a new In, strictly: unknown fields,
// wrong types, trailing data and missing required fields are each a field
// error, all reported at once where the JSON parses at all.
func decode[In any](r *http.Request, required []string) (*In, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return nil, Errorf(http.StatusUnsupportedMediaType, "send the body as Content-Type: application/json")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, Errorf(http.StatusRequestEntityTooLarge, "request body too large")
		}
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return nil, Errorf(http.StatusBadRequest, "the body must be a JSON object")
	}
	v := &store.ValidationError{}
	fields := jsonFieldsOf(reflect.TypeFor[In]())
	for k := range raw {
		if !slices.ContainsFunc(fields, func(f jsonField) bool { return f.Name == k }) {
			v.Add(k, "is not a field of this object")
		}
	}
	for _, k := range required {
		if val, ok := raw[k]; !ok {
			v.Add(k, "this field is required")
		} else if string(val) == "null" {
			v.Add(k, "may not be null")
		}
	}
	out := new(In)
	// Field by field, so one wrong type does not hide the others.
	rv := reflect.ValueOf(out).Elem()
	for _, f := range fields {
		name := f.Name
		val, ok := raw[name]
		if !ok {
			continue
		}
		ft := f.Field.Type
		if string(val) == "null" && ft.Kind() == reflect.Pointer {
			if ft.Elem() == reflect.TypeFor[uuid.NullUUID]() {
				// The document says these may be null: null clears the reference.
				fieldValue(rv, f.Field.Index).Set(reflect.New(ft.Elem()))
				continue
			}
			if !slices.Contains(required, name) {
				v.Add(name, "may not be null")
			}
			continue
		}
		if err := json.Unmarshal(val, fieldValue(rv, f.Field.Index).Addr().Interface()); err != nil {
			v.Add(name, "must be %s", typeWord(ft))
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Decode is decode for actions that read their own body.
func Decode[In any](r *http.Request) (*In, error) { return decode[In](r, nil) }

// jsonField is a field of a struct as encoding/json sees it: one of its
// own or one promoted from an embedded struct.
type jsonField struct {
	Name  string              // the JSON name
	Field reflect.StructField // Field.Index leads to it from the outer struct
}

// jsonFieldCache holds jsonFieldsOf's answers by type: decode asks per request.
var jsonFieldCache sync.Map // reflect.Type -> []jsonField

// jsonFieldsOf lists the JSON fields of struct type t in encoding/json's
// order and by its rules, so that decoding, the OpenAPI document and the
// admin console see exactly the fields that Marshal writes: an embedded
// struct without a json tag name has its fields promoted to the top level
// (a tag name keeps it one nested field); a json:"-" field and unexported
// fields are left out; of several fields with one JSON name the shallowest
// wins, a tagged one breaks a tie, and an unbroken tie hides them all.
// An unexported embedded struct pointer is left out: encoding/json cannot
// fill it either.
func jsonFieldsOf(t reflect.Type) []jsonField {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	if fs, ok := jsonFieldCache.Load(t); ok {
		return fs.([]jsonField)
	}
	type candidate struct {
		jsonField
		tagged bool
	}
	type embedded struct {
		t     reflect.Type
		index []int
	}
	var all []candidate
	visited := map[reflect.Type]bool{}
	// Breadth first, one depth at a time, as encoding/json walks: a type
	// met again deeper is hidden by the shallower one anyway, and a type
	// embedded twice at one depth hides its own fields (count).
	count := map[reflect.Type]int{t: 1}
	for level := []embedded{{t: t}}; len(level) > 0; {
		var next []embedded
		nextCount := map[reflect.Type]int{}
		for _, e := range level {
			if visited[e.t] {
				continue
			}
			visited[e.t] = true
			for i := range e.t.NumField() {
				f := e.t.Field(i)
				tag := f.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, _, _ := strings.Cut(tag, ",")
				index := append(slices.Clip(e.index), i)
				if f.Anonymous {
					ft := f.Type
					if ft.Kind() == reflect.Pointer {
						if !f.IsExported() {
							continue
						}
						ft = ft.Elem()
					}
					if name == "" && ft.Kind() == reflect.Struct {
						if nextCount[ft]++; nextCount[ft] == 1 {
							next = append(next, embedded{ft, index})
						}
						continue
					}
				}
				if !f.IsExported() {
					continue
				}
				tagged := name != ""
				if !tagged {
					name = f.Name
				}
				f.Index = index
				all = append(all, candidate{jsonField{name, f}, tagged})
				if count[e.t] > 1 {
					all = append(all, all[len(all)-1])
				}
			}
		}
		level, count = next, nextCount
	}
	// Keep each name's dominant field.
	slices.SortStableFunc(all, func(a, b candidate) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := len(a.Field.Index) - len(b.Field.Index); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.Field.Index, b.Field.Index)
	})
	var out []jsonField
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].Name == all[i].Name {
			j++
		}
		if j == i+1 || len(all[i].Field.Index) < len(all[i+1].Field.Index) || all[i].tagged != all[i+1].tagged {
			out = append(out, all[i].jsonField)
		}
		i = j
	}
	slices.SortFunc(out, func(a, b jsonField) int { return slices.Compare(a.Field.Index, b.Field.Index) })
	jsonFieldCache.Store(t, out)
	return out
}

// fieldValue is v.FieldByIndex(index), allocating nil embedded pointers
// on the way as encoding/json does when it decodes.
func fieldValue(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// typeWord names a Go type the way a JSON client thinks of it.
func typeWord(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		if t.String() == "uuid.UUID" {
			return "a UUID string"
		}
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		if t.String() == "time.Time" {
			return "an RFC 3339 date-time"
		}
		if t.String() == "uuid.UUID" {
			return "a UUID string"
		}
		return "an object"
	case reflect.Array:
		return "a UUID string"
	}
	return "a valid value"
}

// modelEvent records model_created, model_updated or model_deleted for a
// write of a model the domain layer does not write itself (settings
// objects: flows, stages, policies, key pairs, ...), after the write, and
// announces it to caches, as a domain write does (core.Writer.Written).
// The write has committed: a failed announcement is logged, and the other
// replicas catch up within their caches' TTLs.
func (a *API) modelEvent(ctx context.Context, c *Caller, action, model string, m Meta, changed map[string]any) {
	err := a.as(c).Written(ctx, c.Scope, core.ModelEvent(action, model, m.ID, m.Name, changed))
	if err != nil {
		a.Log.Warn("an API write was not announced to the other replicas", "error", err)
	}
}

func errorsIsConflictNotUnique(err error) bool {
	var ce *store.ConflictError
	return errors.Is(err, store.ErrConflict) && !errors.As(err, &ce)
}
