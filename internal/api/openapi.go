package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/version"
)

// The OpenAPI 3.0 document is generated from the registered endpoints and
// the Go types they read and write. Struct tags say what JSON alone
// cannot: `doc:"..."` describes a field, `enum:"a,b"` lists its values,
// `format:"..."` overrides the format.

type schemaBuilder struct {
	components map[string]any
}

// schemaCache holds the encoded document: endpoints do not change after Mount.
type schemaCache struct {
	once sync.Once
	doc  []byte
}

func (a *API) schema(w http.ResponseWriter, r *http.Request) {
	a.doc.once.Do(func() { a.doc.doc, _ = json.MarshalIndent(a.OpenAPI(), "", "  ") })
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(a.doc.doc)
}

// OpenAPI builds the document.
func (a *API) OpenAPI() map[string]any {
	b := &schemaBuilder{components: map[string]any{}}
	problem := map[string]any{"description": "RFC 9457 problem", "content": map[string]any{
		"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}}
	b.components["Problem"] = map[string]any{"type": "object", "properties": map[string]any{
		"type": map[string]any{"type": "string"}, "title": map[string]any{"type": "string"},
		"status": map[string]any{"type": "integer"}, "detail": map[string]any{"type": "string"},
		"request_id": map[string]any{"type": "string"},
		"errors": map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": map[string]any{
			"field": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}},
			"required": []string{"field", "message"}}},
	}, "required": []string{"title", "status"}}
	b.components["Pagination"] = b.object(reflect.TypeFor[Pagination](), false)
	paths := map[string]map[string]any{}
	for _, e := range a.endpoints {
		p := Prefix + e.path
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		op := map[string]any{"operationId": e.opID, "summary": e.summary, "tags": []string{e.tag}}
		// The permission each operation checks, for those who grant roles
		// (and for the test that proves every one is refused without it).
		if e.perm != "" {
			op["x-permission"] = e.perm
			if e.own {
				op["x-permission-own"] = "every user may call it for their own objects; the permission reaches everyone's"
			}
		}
		var params []any
		if strings.Contains(e.path, "{id}") {
			id := map[string]any{"name": "id", "in": "path", "required": true,
				"schema": map[string]any{"type": "string", "format": "uuid"}}
			if e.key != "" {
				id["schema"], id["description"] = map[string]any{"type": "string"}, "the object's ID or "+e.key
			}
			params = append(params, id)
		}
		for _, q := range e.params {
			s := map[string]any{"type": "string"}
			switch {
			case q.Name == "page" || q.Name == "page_size":
				s = map[string]any{"type": "integer", "minimum": 1}
			case q.Bool:
				s = map[string]any{"type": "boolean"}
			case len(q.Enum) > 0:
				s["enum"] = q.Enum
			}
			params = append(params, map[string]any{"name": q.Name, "in": "query", "description": q.Description, "schema": s})
		}
		if e.method == http.MethodPut || e.method == http.MethodPatch {
			params = append(params, map[string]any{"name": "If-Match", "in": "header",
				"description": "the ETag of the version you edited; a newer version makes the request fail with 412",
				"schema":      map[string]any{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if e.req != nil {
			s := b.ref(e.req, true)
			if len(e.required) > 0 {
				s = map[string]any{"allOf": []any{s, map[string]any{"required": e.required}}}
			}
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": s}}}
		}
		responses := map[string]any{"400": problem, "401": problem, "403": problem, "404": problem}
		switch {
		case e.status == http.StatusNoContent || e.resp == nil:
			responses[itoa(e.status)] = map[string]any{"description": "done"}
		case e.list:
			responses["200"] = map[string]any{"description": "a page of results", "content": map[string]any{"application/json": map[string]any{
				"schema": map[string]any{"type": "object", "required": []string{"pagination", "results"}, "properties": map[string]any{
					"pagination": map[string]any{"$ref": "#/components/schemas/Pagination"},
					"results":    map[string]any{"type": "array", "items": b.ref(e.resp, false)}}}}}}
		default:
			content := map[string]any{"application/json": map[string]any{"schema": b.ref(e.resp, false)}}
			if d, ok := reflect.New(e.resp).Interface().(Downloadable); ok {
				content[d.MediaType()] = map[string]any{"schema": map[string]any{"type": "string"}}
			}
			responses[itoa(e.status)] = map[string]any{"description": "the object", "content": content}
		}
		if e.method == http.MethodDelete || e.key != "" {
			responses["409"] = problem // still in use; a key that names several objects
		}
		if e.method != http.MethodGet && e.method != http.MethodDelete {
			responses["409"] = problem
			responses["412"] = problem
			responses["415"] = problem
		}
		op["responses"] = responses
		paths[p][strings.ToLower(e.method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "Gatehouse", "version": version.String(),
			"description": "Gatehouse REST API, at Authentik's /api/v3/ paths."},
		"paths": paths,
		"components": map[string]any{"schemas": b.components, "securitySchemes": map[string]any{
			"bearer":  map[string]any{"type": "http", "scheme": "bearer"},
			"session": map[string]any{"type": "apiKey", "in": "cookie", "name": session.CookieName},
		}},
		"security": []any{map[string]any{"bearer": []string{}}, map[string]any{"session": []string{}}},
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// ref names t's schema in components (XRequest for request bodies).
func (b *schemaBuilder) ref(t reflect.Type, request bool) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name := t.Name()
	if request && !strings.HasSuffix(name, "Request") {
		name += "Request"
	}
	if _, ok := b.components[name]; !ok {
		b.components[name] = map[string]any{} // break cycles
		b.components[name] = b.object(t, request)
	}
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

func (b *schemaBuilder) object(t reflect.Type, request bool) map[string]any {
	props := map[string]any{}
	var required []string
	// Embedded structs' fields are the object's own, as in encoding/json.
	for _, jf := range jsonFieldsOf(t) {
		name, f := jf.Name, jf.Field
		s := b.typeSchema(f.Type, request)
		if d := f.Tag.Get("doc"); d != "" {
			s["description"] = d
		}
		if en := f.Tag.Get("enum"); en != "" {
			s["enum"] = strings.Split(en, ",")
		}
		if fm := f.Tag.Get("format"); fm != "" {
			s["format"] = fm
		}
		// Responses always carry every field (no omitempty in Out types).
		if !request && !strings.Contains(f.Tag.Get("json"), "omitempty") {
			required = append(required, name)
		}
		props[name] = s
	}
	out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

func (b *schemaBuilder) typeSchema(t reflect.Type, request bool) map[string]any {
	nullable := false
	for t.Kind() == reflect.Pointer {
		t, nullable = t.Elem(), true
	}
	var s map[string]any
	switch {
	case t.String() == "uuid.UUID":
		s = map[string]any{"type": "string", "format": "uuid"}
	case t.String() == "uuid.NullUUID":
		s = map[string]any{"type": "string", "format": "uuid"}
		nullable = true
	case t.String() == "time.Time":
		s = map[string]any{"type": "string", "format": "date-time"}
	case t.String() == "json.RawMessage":
		s = map[string]any{}
	default:
		switch t.Kind() {
		case reflect.String:
			s = map[string]any{"type": "string"}
		case reflect.Bool:
			s = map[string]any{"type": "boolean"}
		case reflect.Int, reflect.Int32, reflect.Int64:
			s = map[string]any{"type": "integer"}
		case reflect.Float64:
			s = map[string]any{"type": "number"}
		case reflect.Slice:
			s = map[string]any{"type": "array", "items": b.typeSchema(t.Elem(), request)}
		case reflect.Map:
			s = map[string]any{"type": "object", "additionalProperties": true}
		case reflect.Struct:
			s = b.ref(t, request)
		default:
			s = map[string]any{}
		}
	}
	// In requests a pointer only marks a field as optional (absent in a
	// PATCH); null is accepted only for truly nullable fields (NullUUID).
	if nullable && (!request || t.String() == "uuid.NullUUID") {
		if _, isRef := s["$ref"]; isRef {
			// OpenAPI 3.0 ignores siblings of $ref: a nullable reference
			// must wrap it, or validators refuse the null.
			return map[string]any{"allOf": []any{s}, "nullable": true}
		}
		s["nullable"] = true
	}
	return s
}
