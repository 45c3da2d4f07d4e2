package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/google/uuid"

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
	known := jsonFields(reflect.TypeFor[In]())
	for k := range raw {
		if !slices.Contains(known, k) {
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
	for i := range rv.NumField() {
		name := jsonName(rv.Type().Field(i))
		val, ok := raw[name]
		if !ok || name == "" {
			continue
		}
		ft := rv.Type().Field(i).Type
		if string(val) == "null" && ft.Kind() == reflect.Pointer {
			if ft.Elem() == reflect.TypeFor[uuid.NullUUID]() {
				// The document says these may be null: null clears the reference.
				rv.Field(i).Set(reflect.New(ft.Elem()))
				continue
			}
			if !slices.Contains(required, name) {
				v.Add(name, "may not be null")
			}
			continue
		}
		if err := json.Unmarshal(val, rv.Field(i).Addr().Interface()); err != nil {
			v.Add(name, "must be %s", typeWord(rv.Type().Field(i).Type))
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Decode is decode for actions that read their own body.
func Decode[In any](r *http.Request) (*In, error) { return decode[In](r, nil) }

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	if name == "" {
		return f.Name
	}
	return name
}

func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if n := jsonName(t.Field(i)); n != "" {
			out = append(out, n)
		}
	}
	return out
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

// changes lists the fields whose JSON differs between two encodings of an
// object, with the new values: the context of a model_updated event (the
// event writer masks secrets).
func changes(before, after []byte) map[string]any {
	var b, a map[string]any
	if json.Unmarshal(before, &b) != nil || json.Unmarshal(after, &a) != nil {
		return nil
	}
	out := map[string]any{}
	for k, av := range a {
		bj, _ := json.Marshal(b[k])
		aj, _ := json.Marshal(av)
		if !bytes.Equal(bj, aj) {
			out[k] = av
		}
	}
	return out
}

// modelEvent records model_created, model_updated or model_deleted with
// Authentik's context shape.
func (a *API) modelEvent(ctx context.Context, c *Caller, action, model string, m Meta, changed map[string]any) {
	if a.Changed != nil {
		a.Changed(c.Scope.TenantID())
	}
	if a.Events == nil {
		return
	}
	app, name, _ := strings.Cut(model, ".")
	data := map[string]any{"model": map[string]any{"app": app, "model_name": name, "pk": m.ID.String(), "name": m.Name}}
	if changed != nil {
		data["changes"] = changed
	}
	a.Events(ctx, c.Scope, c.Event(&store.Event{Action: action, Context: data}))
}

func errorsIsConflictNotUnique(err error) bool {
	var ce *store.ConflictError
	return errors.Is(err, store.ErrConflict) && !errors.As(err, &ce)
}
