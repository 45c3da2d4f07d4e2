package api

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// This file lets other packages of the product use the API without HTTP
// between them: the admin console (internal/admin) renders its pages from
// the resources' metadata and sends every read and write through Serve, so
// validation, permissions, events and cache invalidation are the API's own.
// Nothing here is reachable from outside; it only reads what Register and
// Action declared.

// FieldKind is how a JSON field is edited and shown.
type FieldKind string

// The field kinds.
const (
	KindString     FieldKind = "string"
	KindBool       FieldKind = "bool"
	KindInt        FieldKind = "int"
	KindFloat      FieldKind = "float"
	KindUUID       FieldKind = "uuid"      // uuid.UUID or uuid.NullUUID (Nullable)
	KindUUIDList   FieldKind = "uuid_list" // []uuid.UUID
	KindStringList FieldKind = "string_list"
	KindTime       FieldKind = "time"
	KindJSON       FieldKind = "json" // objects, maps and lists of objects
)

// FieldInfo is one JSON field of a resource's input or output type.
type FieldInfo struct {
	Name     string // the JSON name
	Kind     FieldKind
	Enum     []string // allowed values (enum tag)
	Doc      string   // description (doc tag)
	Format   string   // format tag
	Nullable bool     // JSON null is a value (uuid.NullUUID, *time.Time in outputs)
	// Ref names the kind of object the field refers to (ref tag: "flow",
	// "stage", "stage:password", "policy", "group", ...), if declared.
	Ref  string
	Type reflect.Type
}

// ActionInfo is a custom endpoint (Action) under a resource's path.
type ActionInfo struct {
	Method, Path, OpID, Summary string
	// Perm is the permission the endpoint needs ("" for any caller).
	Perm    string
	In, Out []FieldInfo
	// Detail is true when the path names one object ("{id}").
	Detail bool
}

// ResourceInfo describes a resource declared with Register.
type ResourceInfo struct {
	Path  string // "core/users/", relative to Prefix
	Tag   string
	Model string // "authentik_core.user"
	// Which endpoints exist.
	List, Get, Create, Update, Delete bool
	Filters                           []Param  // list filters besides page, page_size, search and ordering
	Ordering                          []string // fields the list may be ordered by
	Required                          []string // input fields create must give
	Out, In                           []FieldInfo
	Actions                           []ActionInfo
}

// Perm is the permission an operation needs: action is view, add,
// change or delete.
func (r ResourceInfo) Perm(action string) string { return perm(r.Model, action) }

// ModelName is the model without its app label ("user").
func (r ResourceInfo) ModelName() string {
	_, name, _ := strings.Cut(r.Model, ".")
	return name
}

// Field returns the output field named name.
func (r ResourceInfo) Field(name string) (FieldInfo, bool) {
	i := slices.IndexFunc(r.Out, func(f FieldInfo) bool { return f.Name == name })
	if i < 0 {
		return FieldInfo{}, false
	}
	return r.Out[i], true
}

// Resources lists every resource declared with Register, by path.
func (a *API) Resources() []ResourceInfo {
	byPath := map[string]*ResourceInfo{}
	get := func(path string, e *endpoint) *ResourceInfo {
		r := byPath[path]
		if r == nil {
			r = &ResourceInfo{Path: path, Tag: e.tag, Model: modelOf(e.perm)}
			byPath[path] = r
		}
		return r
	}
	// A resource's path has a list or a detail endpoint; a POST that
	// merely follows the naming (crypto/certificatekeypairs/generate/,
	// whose operation ends in _create too) is an action.
	bases := map[string]bool{}
	for _, e := range a.endpoints {
		if base, detail := strings.CutSuffix(e.path, "{id}/"); detail || e.list {
			bases[base] = true
		}
	}
	var actions []*endpoint
	for _, e := range a.endpoints {
		base, detail := strings.CutSuffix(e.path, "{id}/")
		suffix := strings.TrimPrefix(e.opID, opBase(base))
		conventional := strings.HasPrefix(e.opID, opBase(base)+"_")
		switch {
		case !detail && e.method == http.MethodGet && e.list:
			r := get(base, e)
			r.List = true
			for _, p := range e.params {
				switch p.Name {
				case "page", "page_size", "search":
				case "ordering":
					for _, o := range p.Enum {
						if !strings.HasPrefix(o, "-") {
							r.Ordering = append(r.Ordering, o)
						}
					}
				default:
					r.Filters = append(r.Filters, p)
				}
			}
			if e.resp != nil {
				r.Out = fieldsOf(e.resp, false)
			}
		case !detail && e.method == http.MethodPost && conventional && suffix == "_create" && bases[base]:
			r := get(base, e)
			r.Create, r.Required = true, e.required
			r.In = fieldsOf(e.req, true)
			if r.Out == nil && e.resp != nil {
				r.Out = fieldsOf(e.resp, false)
			}
		case detail && conventional && e.method == http.MethodGet && suffix == "_retrieve":
			r := get(base, e)
			r.Get = true
			if r.Out == nil && e.resp != nil {
				r.Out = fieldsOf(e.resp, false)
			}
		case detail && conventional && e.method == http.MethodPatch && suffix == "_partial_update":
			r := get(base, e)
			r.Update = true
			if r.In == nil {
				r.In = fieldsOf(e.req, true)
			}
		case detail && conventional && e.method == http.MethodPut && suffix == "_update":
			get(base, e).Update = true
		case detail && conventional && e.method == http.MethodDelete && suffix == "_destroy":
			get(base, e).Delete = true
		default:
			actions = append(actions, e)
		}
	}
	for _, e := range actions {
		// An action belongs to the resource with the longest path that
		// prefixes its own.
		var owner *ResourceInfo
		for p, r := range byPath {
			if strings.HasPrefix(e.path, p) && (owner == nil || len(p) > len(owner.Path)) {
				owner = r
			}
		}
		if owner == nil {
			continue
		}
		owner.Actions = append(owner.Actions, ActionInfo{Method: e.method, Path: e.path, OpID: e.opID, Summary: e.summary,
			Perm: e.perm, In: fieldsOf(e.req, true), Out: fieldsOf(e.resp, false),
			Detail: strings.HasPrefix(e.path, owner.Path+"{id}/")})
	}
	out := make([]ResourceInfo, 0, len(byPath))
	for _, r := range byPath {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// opBase is how Register names a path's operations.
func opBase(path string) string { return strings.ReplaceAll(strings.Trim(path, "/"), "/", "_") }

// modelOf turns "authentik_core.view_user" into "authentik_core.user".
func modelOf(permission string) string {
	app, name, ok := strings.Cut(permission, ".")
	if !ok {
		return ""
	}
	if _, model, ok := strings.Cut(name, "_"); ok {
		return app + "." + model
	}
	return permission
}

// fieldsOf lists the JSON fields of a struct type (nil for none).
// Embedded structs' fields are the object's own, as in encoding/json.
func fieldsOf(t reflect.Type, request bool) []FieldInfo {
	var out []FieldInfo
	for _, jf := range jsonFieldsOf(t) {
		f := jf.Field
		fi := FieldInfo{Name: jf.Name, Doc: f.Tag.Get("doc"), Format: f.Tag.Get("format"), Ref: f.Tag.Get("ref"), Type: f.Type}
		if en := f.Tag.Get("enum"); en != "" {
			fi.Enum = strings.Split(en, ",")
		}
		fi.Kind, fi.Nullable = kindOf(f.Type, request)
		out = append(out, fi)
	}
	return out
}

func kindOf(t reflect.Type, request bool) (FieldKind, bool) {
	nullable := false
	for t.Kind() == reflect.Pointer {
		t, nullable = t.Elem(), !request
	}
	switch t.String() {
	case "uuid.UUID":
		return KindUUID, nullable
	case "uuid.NullUUID":
		return KindUUID, true
	case "time.Time":
		return KindTime, nullable
	case "json.RawMessage":
		return KindJSON, nullable
	}
	switch t.Kind() {
	case reflect.String:
		return KindString, nullable
	case reflect.Bool:
		return KindBool, nullable
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return KindInt, nullable
	case reflect.Float32, reflect.Float64:
		return KindFloat, nullable
	case reflect.Slice:
		switch e := t.Elem(); {
		case e.String() == "uuid.UUID":
			return KindUUIDList, nullable
		case e.Kind() == reflect.String:
			return KindStringList, nullable
		}
	}
	return KindJSON, nullable
}

// Serve answers r as the API would over HTTP; r.URL.Path starts with
// Prefix and r's context must carry the server's request info (tenant).
// It is how the product's own pages use the API: the endpoint runs with
// the same authentication, permission check and events as over the network.
func (a *API) Serve(w http.ResponseWriter, r *http.Request) {
	rel, ok := strings.CutPrefix(r.URL.Path, Prefix)
	// Literal paths first, as ServeMux prefers them: core/users/me/ is not
	// the user with ID "me".
	for _, wildcard := range []bool{false, true} {
		for _, e := range a.endpoints {
			if !ok || e.method != r.Method || strings.Contains(e.path, "{id}") != wildcard {
				continue
			}
			if id, match := matchPath(e.path, rel); match {
				if id != "" {
					r.SetPathValue("id", id)
				}
				a.handle(e).ServeHTTP(w, r)
				return
			}
		}
	}
	httpx.WriteProblem(w, r, httpx.Problem{Status: http.StatusNotFound, Detail: "no such API endpoint"})
}

// matchPath matches a request path against an endpoint's pattern, where
// "{id}" stands for one non-empty segment; it returns that segment.
func matchPath(pattern, path string) (string, bool) {
	id := ""
	for {
		ps, prest, pmore := strings.Cut(pattern, "/")
		s, rest, more := strings.Cut(path, "/")
		if pmore != more {
			return "", false
		}
		switch {
		case ps == "{id}" && s != "":
			id = s
		case ps != s:
			return "", false
		}
		if !pmore {
			return id, true
		}
		pattern, path = prest, rest
	}
}

// Response is an answer of Do.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends one request through Serve as the user of the browser request
// from: the same session cookie, and the session's CSRF token (csrf) in
// X-CSRFToken for unsafe methods, so the API authenticates and authorizes
// it exactly as it would a script in that browser. path is relative to
// Prefix and may carry a query; body, if not nil, is sent as JSON.
func (a *API) Do(from *http.Request, csrf, method, path string, body []byte, header ...string) Response {
	var rd io.Reader = http.NoBody
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(from.Context(), method, Prefix+path, rd)
	if err != nil {
		return Response{Status: http.StatusBadRequest, Header: http.Header{}}
	}
	req.Host, req.RemoteAddr = from.Host, from.RemoteAddr
	for _, c := range from.Header.Values("Cookie") {
		req.Header.Add("Cookie", c)
	}
	if ua := from.UserAgent(); ua != "" {
		req.Header.Set("User-Agent", ua)
	}
	if !safeMethod(method) {
		req.Header.Set("X-CSRFToken", csrf)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := &recorder{header: http.Header{}}
	a.Serve(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return Response{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}
}

// recorder is a minimal in-memory http.ResponseWriter.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// ErrUnauthenticated is what SessionCaller returns when the request has
// no logged-in, active user.
var ErrUnauthenticated = errors.New("api: not logged in")

// SessionCaller authenticates a browser request by its session only (never
// a bearer token, whose holder needs no CSRF protection and no pages) and
// returns the caller with its permissions, as the API would see it. It
// stores a CSRF token in the session if it had none, so CSRFToken is set.
func (a *API) SessionCaller(ctx context.Context, w http.ResponseWriter, r *http.Request) (*Caller, error) {
	// authenticate checks X-CSRFToken on unsafe methods; pages check their
	// form's token themselves, against the caller's CSRFToken.
	probe := r.Clone(ctx)
	probe.Method = http.MethodGet
	probe.Header.Del("Authorization")
	sc := a.Store.Scope(httpx.From(ctx).Tenant.ID)
	c, err := a.authenticate(ctx, w, probe, sc)
	if errors.Is(err, errUnauthenticated) || errors.Is(err, errInactive) {
		return nil, ErrUnauthenticated
	}
	return c, err
}

// CSRFToken is the session's CSRF token (session callers only).
func (c *Caller) CSRFToken() string { return c.csrf }

// CheckCSRF compares a token a form sent with the session's, in constant time.
func (c *Caller) CheckCSRF(token string) bool {
	return c.csrf != "" && subtle.ConstantTimeCompare([]byte(token), []byte(c.csrf)) == 1
}

// Endpoint reports whether the API serves method at path (a pattern such
// as "admin/system/" or "policies/all/{id}/test/"), and the permission it
// needs ("" for any authenticated caller).
func (a *API) Endpoint(method, path string) (permission string, ok bool) {
	for _, e := range a.endpoints {
		if e.method == method && e.path == path {
			return e.perm, true
		}
	}
	return "", false
}
