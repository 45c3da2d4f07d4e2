package api

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Object is what a resource returns: its identity for ETags and events.
type Object interface {
	Meta() Meta
}

// Meta identifies an object in events and ETags.
type Meta struct {
	ID      uuid.UUID
	Name    string
	Version int64
}

// Param is a query parameter of a list endpoint.
type Param struct {
	Name, Description string
	Enum              []string // allowed values, if fixed
	Bool              bool     // true/false instead of a string
}

// Query is a list request: Authentik's page, page_size, search and
// ordering, plus the resource's own filters.
type Query struct {
	Page     store.Page
	Search   string
	Ordering string
	Filters  map[string]string
}

// Bool reads a boolean filter; nil when absent.
func (q Query) Bool(name string) *bool {
	v, ok := q.Filters[name]
	if !ok {
		return nil
	}
	b := v == "true"
	return &b
}

// Resource declares one model's endpoints. Out is the JSON the API
// returns, In what it accepts on create and update (pointer fields, so a
// PATCH can tell "absent" from "zero"). Nil functions mean the endpoint
// does not exist (e.g. events cannot be created).
type Resource[Out Object, In any] struct {
	// Path is relative to /api/v3/ with Authentik's trailing slash
	// ("core/users/"); the detail path adds "{id}/".
	Path string
	// Tag groups endpoints in the OpenAPI document ("core").
	Tag string
	// Model is the permission model, "authentik_core.user": the endpoints
	// need view_user, add_user, change_user and delete_user.
	Model string
	// Required lists In's JSON fields that create and PUT must give.
	Required []string
	Filters  []Param
	Ordering []string

	List   func(ctx context.Context, c *Caller, q Query) ([]Out, int, error)
	Get    func(ctx context.Context, c *Caller, id uuid.UUID) (Out, error)
	Create func(ctx context.Context, c *Caller, in *In) (Out, error)
	// Update applies in (only the fields it gives) to the object whose
	// version is version, or to the current one when version is 0.
	Update func(ctx context.Context, c *Caller, id uuid.UUID, version int64, in *In) (Out, error)
	Delete func(ctx context.Context, c *Caller, id uuid.UUID) error
	// Key resolves a detail path's {id} that is not a UUID, for models
	// Authentik addresses by another unique field, KeyName (flows: slug).
	Key     func(ctx context.Context, c *Caller, key string) (uuid.UUID, error)
	KeyName string
	// DomainWrites marks a model the domain layer writes (internal/core:
	// users, groups, roles, tokens, applications, providers): Create,
	// Update and Delete go through it, and it records their model events
	// and announces them to caches itself, so the framework does neither.
	// For the other models the framework records the events, through the
	// same core function.
	DomainWrites bool
}

// id reads a detail path's object: its UUID, or its Key.
func (r Resource[Out, In]) id(ctx context.Context, c *Caller, req *http.Request) (uuid.UUID, error) {
	id, err := pathID(req)
	if err != nil && r.Key != nil {
		return r.Key(ctx, c, req.PathValue("id"))
	}
	return id, err
}

// perm turns "authentik_core.user" and "view" into "authentik_core.view_user".
func perm(model, action string) string {
	app, name, _ := strings.Cut(model, ".")
	return app + "." + action + "_" + name
}

// endpoint is one method and path: what the handler runs and what the
// OpenAPI document says about it.
type endpoint struct {
	method, path, tag, opID, summary string
	perm                             string
	params                           []Param
	list                             bool // paginated list of resp
	req, resp                        reflect.Type
	required                         []string
	status                           int
	run                              func(ctx context.Context, c *Caller, w http.ResponseWriter, r *http.Request) error
	// own marks endpoints every user may call for their own objects (their
	// tokens, their sessions): run itself narrows the answer unless the
	// caller holds perm, so handle does not refuse without it.
	own bool
	// key is the field a detail path's {id} may give instead of the UUID.
	key string
	// resolve finds the object a path's {id} names (a slug, for some);
	// nil reads it as a UUID.
	resolve func(ctx context.Context, c *Caller, r *http.Request) (uuid.UUID, error)
	// objectList marks the generic lists, which narrow themselves to the
	// objects a caller holds the view permission on (Caller.only).
	objectList bool
}

// Register adds r's endpoints to a.
func Register[Out Object, In any](a *API, r Resource[Out, In]) {
	out, in := reflect.TypeFor[Out](), reflect.TypeFor[In]()
	_, modelName, _ := strings.Cut(r.Model, ".")
	opBase := strings.ReplaceAll(strings.Trim(r.Path, "/"), "/", "_")
	detail := r.Path + "{id}/"
	if r.List != nil {
		params := append([]Param{{Name: "page", Description: "page number, from 1"},
			{Name: "page_size", Description: fmt.Sprintf("results per page, at most %d", store.MaxPageSize)},
			{Name: "search", Description: "case-insensitive substring search"}}, r.Filters...)
		if len(r.Ordering) > 0 {
			params = append(params, Param{Name: "ordering", Description: "sort field, - for descending", Enum: orderings(r.Ordering)})
		}
		a.endpoints = append(a.endpoints, &endpoint{method: http.MethodGet, path: r.Path, tag: r.Tag, opID: opBase + "_list",
			summary: "List " + modelName + "s", perm: perm(r.Model, "view"), params: params, list: true, resp: out, status: 200,
			objectList: r.Get != nil,
			run: func(ctx context.Context, c *Caller, w http.ResponseWriter, req *http.Request) error {
				q, err := parseQuery(req, params)
				if err != nil {
					return err
				}
				list := r.List
				if c.only != nil {
					list = func(ctx context.Context, c *Caller, q Query) ([]Out, int, error) { return onlyList(ctx, c, q, r.Get) }
				}
				items, total, err := list(ctx, c, q)
				if err != nil {
					return err
				}
				writePage(w, req, q.Page, items, total)
				return nil
			}})
	}
	if r.Create != nil {
		a.endpoints = append(a.endpoints, &endpoint{method: http.MethodPost, path: r.Path, tag: r.Tag, opID: opBase + "_create",
			summary: "Create a " + modelName, perm: perm(r.Model, "add"), req: in, resp: out, required: r.Required, status: 201,
			run: func(ctx context.Context, c *Caller, w http.ResponseWriter, req *http.Request) error {
				body, err := decode[In](req, r.Required)
				if err != nil {
					return err
				}
				obj, err := r.Create(ctx, c, body)
				if err != nil {
					return err
				}
				if !r.DomainWrites {
					a.modelEvent(ctx, c, "model_created", r.Model, obj.Meta(), nil)
				}
				writeObject(w, http.StatusCreated, obj)
				return nil
			}})
	}
	if r.Get != nil {
		if a.getters == nil {
			a.getters = map[string]func(context.Context, *Caller, uuid.UUID) error{}
		}
		if _, seen := a.getters[r.Model]; !seen {
			a.getters[r.Model] = func(ctx context.Context, c *Caller, id uuid.UUID) error { _, err := r.Get(ctx, c, id); return err }
		}
		a.endpoints = append(a.endpoints, &endpoint{method: http.MethodGet, path: detail, key: r.KeyName, resolve: r.id, tag: r.Tag, opID: opBase + "_retrieve",
			summary: "Read a " + modelName, perm: perm(r.Model, "view"), resp: out, status: 200,
			run: func(ctx context.Context, c *Caller, w http.ResponseWriter, req *http.Request) error {
				id, err := r.id(ctx, c, req)
				if err != nil {
					return err
				}
				obj, err := r.Get(ctx, c, id)
				if err != nil {
					return err
				}
				writeObject(w, http.StatusOK, obj)
				return nil
			}})
	}
	if r.Update != nil {
		for _, m := range []string{http.MethodPut, http.MethodPatch} {
			required := r.Required
			verb, op := "Replace", "_update"
			if m == http.MethodPatch {
				required, verb, op = nil, "Change", "_partial_update"
			}
			a.endpoints = append(a.endpoints, &endpoint{method: m, path: detail, key: r.KeyName, resolve: r.id, tag: r.Tag, opID: opBase + op,
				summary: verb + " a " + modelName + " (If-Match with the ETag refuses a lost update)", perm: perm(r.Model, "change"),
				req: in, resp: out, required: required, status: 200,
				run: func(ctx context.Context, c *Caller, w http.ResponseWriter, req *http.Request) error {
					id, err := r.id(ctx, c, req)
					if err != nil {
						return err
					}
					version, err := ifMatch(req)
					if err != nil {
						return err
					}
					body, err := decode[In](req, required)
					if err != nil {
						return err
					}
					var before any
					if r.Get != nil && !r.DomainWrites {
						if old, err := r.Get(ctx, c, id); err == nil {
							before = old
						}
					}
					obj, err := r.Update(ctx, c, id, version, body)
					if version != 0 && err != nil && errorsIsConflictNotUnique(err) {
						return Errorf(http.StatusPreconditionFailed, "the object changed since the ETag you sent; reload and retry")
					}
					if err != nil {
						return err
					}
					if !r.DomainWrites {
						a.modelEvent(ctx, c, "model_updated", r.Model, obj.Meta(), core.Changes(before, obj))
					}
					writeObject(w, http.StatusOK, obj)
					return nil
				}})
		}
	}
	if r.Delete != nil {
		a.endpoints = append(a.endpoints, &endpoint{method: http.MethodDelete, path: detail, key: r.KeyName, resolve: r.id, tag: r.Tag, opID: opBase + "_destroy",
			summary: "Delete a " + modelName, perm: perm(r.Model, "delete"), status: 204,
			run: func(ctx context.Context, c *Caller, w http.ResponseWriter, req *http.Request) error {
				id, err := r.id(ctx, c, req)
				if err != nil {
					return err
				}
				meta := Meta{ID: id}
				if r.Get != nil && !r.DomainWrites {
					if old, err := r.Get(ctx, c, id); err == nil {
						meta = old.Meta()
					}
				}
				if err := r.Delete(ctx, c, id); err != nil {
					return err
				}
				if !r.DomainWrites {
					a.modelEvent(ctx, c, "model_deleted", r.Model, meta, nil)
				}
				w.WriteHeader(http.StatusNoContent)
				return nil
			}})
	}
}

// Action adds a custom endpoint (e.g. POST core/users/{id}/set_password/).
// run decodes its own input with Decode; resp is the type it writes (nil
// for 204).
func Action[In, Out any](a *API, method, path, tag, opID, summary, permission string, status int,
	run func(ctx context.Context, c *Caller, r *http.Request, in *In) (*Out, error)) {
	var req reflect.Type
	if reflect.TypeFor[In]() != reflect.TypeFor[struct{}]() {
		req = reflect.TypeFor[In]()
	}
	var resp reflect.Type
	if reflect.TypeFor[Out]() != reflect.TypeFor[struct{}]() {
		resp = reflect.TypeFor[Out]()
	}
	a.endpoints = append(a.endpoints, &endpoint{method: method, path: path, tag: tag, opID: opID, summary: summary,
		perm: permission, req: req, resp: resp, status: status,
		run: func(ctx context.Context, c *Caller, w http.ResponseWriter, r *http.Request) error {
			in := new(In)
			if req != nil {
				var err error
				if in, err = decode[In](r, nil); err != nil {
					return err
				}
			}
			out, err := run(ctx, c, r, in)
			if err != nil {
				return err
			}
			if out == nil || resp == nil {
				w.WriteHeader(http.StatusNoContent)
				return nil
			}
			if d, ok := any(out).(Downloadable); ok {
				if name, body, ok := d.File(); ok {
					w.Header().Set("Content-Type", d.MediaType())
					w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
					w.WriteHeader(status)
					w.Write(body)
					return nil
				}
			}
			httpx.WriteJSON(w, status, out)
			return nil
		}})
}

// Downloadable is an action response the client may ask for as a file
// instead of JSON (Authentik's ?download): when File says so, Action sends
// the body as an attachment of MediaType, and the OpenAPI document lists
// that media type beside JSON.
type Downloadable interface {
	MediaType() string
	File() (name string, body []byte, ok bool)
}

// handle authenticates, checks the endpoint's permission and runs it.
func (a *API) handle(e *endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		ctx := r.Context()
		sc := a.Store.Scope(httpx.From(ctx).Tenant.ID)
		c, err := a.authenticate(ctx, w, r, sc)
		if err != nil {
			a.problem(w, r, err)
			return
		}
		if e.perm != "" && !e.own && !c.Can(e.perm) {
			if err := e.objectGrant(ctx, c, r); err != nil {
				a.problem(w, r, err)
				return
			}
		}
		if err := e.run(ctx, c, w, r); err != nil {
			a.problem(w, r, err)
		}
	})
}

// objectGrant lets in a caller who holds the endpoint's permission on
// single objects only: for the object its path names, or, on a generic
// list, narrowed to those objects. Anything else is refused as before.
func (e *endpoint) objectGrant(ctx context.Context, c *Caller, r *http.Request) error {
	var held map[uuid.UUID]bool
	if c.powers != nil {
		held = c.powers.Objects[e.perm]
	}
	switch {
	case len(held) == 0:
	case strings.Contains(e.path, "{id}"):
		resolve := e.resolve
		if resolve == nil {
			resolve = func(_ context.Context, _ *Caller, r *http.Request) (uuid.UUID, error) { return pathID(r) }
		}
		if id, err := resolve(ctx, c, r); err == nil && held[id] {
			return nil
		}
	case e.objectList:
		c.only = held
		return nil
	}
	return forbidden(e.perm)
}

// onlyList is a generic list for a caller who may view some objects
// only: those objects, read one by one (a caller holds few), matched
// against search by name, in ID (creation) order. Filters and ordering
// apply to lists of everything.
func onlyList[Out Object](ctx context.Context, c *Caller, q Query, get func(context.Context, *Caller, uuid.UUID) (Out, error)) ([]Out, int, error) {
	ids := slices.SortedFunc(maps.Keys(c.only), func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	var out []Out
	for _, id := range ids {
		o, err := get(ctx, c, id)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted since, or another model's object
		} else if err != nil {
			return nil, 0, err
		}
		if q.Search == "" || strings.Contains(strings.ToLower(o.Meta().Name), strings.ToLower(q.Search)) {
			out = append(out, o)
		}
	}
	return slicePage(out, q.Page), len(out), nil
}

func pathID(r *http.Request) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		// A malformed ID names no object: the same answer as a missing one.
		return uuid.Nil, store.ErrNotFound
	}
	return id, nil
}

// ETag is the object's version, quoted as RFC 9110 wants.
func etag(m Meta) string { return `"` + strconv.FormatInt(m.Version, 10) + `"` }

func ifMatch(r *http.Request) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	v, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(h, "W/"), `"`), 10, 64)
	if err != nil || v <= 0 {
		return 0, Errorf(http.StatusBadRequest, "If-Match must be an ETag this API returned")
	}
	return v, nil
}

func writeObject(w http.ResponseWriter, status int, obj Object) {
	w.Header().Set("ETag", etag(obj.Meta()))
	httpx.WriteJSON(w, status, obj)
}

// Pagination is Authentik's list envelope.
type Pagination struct {
	Next       int `json:"next"`
	Previous   int `json:"previous"`
	Count      int `json:"count"`
	Current    int `json:"current"`
	TotalPages int `json:"total_pages"`
	StartIndex int `json:"start_index"`
	EndIndex   int `json:"end_index"`
}

func writePage[T any](w http.ResponseWriter, r *http.Request, p store.Page, items []T, total int) {
	p = p.Normalize()
	pages := (total + p.Size - 1) / p.Size
	pg := Pagination{Count: total, Current: p.Number, TotalPages: pages}
	if p.Number < pages {
		pg.Next = p.Number + 1
	}
	if p.Number > 1 {
		pg.Previous = p.Number - 1
	}
	if len(items) > 0 {
		pg.StartIndex = p.Offset() + 1
		pg.EndIndex = p.Offset() + len(items)
	}
	if items == nil {
		items = []T{}
	}
	httpx.WriteJSON(w, http.StatusOK, struct {
		Pagination Pagination `json:"pagination"`
		Results    []T        `json:"results"`
	}{pg, items})
}

func orderings(fields []string) []string {
	out := make([]string, 0, 2*len(fields))
	for _, f := range fields {
		out = append(out, f, "-"+f)
	}
	return out
}

// parseQuery reads the list parameters, refusing unknown ones and bad
// values with a field error each.
func parseQuery(r *http.Request, params []Param) (Query, error) {
	q := Query{Filters: map[string]string{}}
	v := &store.ValidationError{}
	for key, vals := range r.URL.Query() {
		i := slices.IndexFunc(params, func(p Param) bool { return p.Name == key })
		if i < 0 {
			v.Add(key, "is not a parameter of this endpoint")
			continue
		}
		p, val := params[i], vals[len(vals)-1]
		switch {
		case key == "page" || key == "page_size":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || (key == "page_size" && n > store.MaxPageSize) {
				v.Add(key, "must be a whole number from 1%s", map[bool]string{true: fmt.Sprintf(" to %d", store.MaxPageSize)}[key == "page_size"])
				continue
			}
			if key == "page" {
				q.Page.Number = n
			} else {
				q.Page.Size = n
			}
		case key == "search":
			q.Search = val
		case len(p.Enum) > 0 && !slices.Contains(p.Enum, val):
			v.Add(key, "must be one of %s", strings.Join(p.Enum, ", "))
		case p.Bool && val != "true" && val != "false":
			v.Add(key, "must be true or false")
		case key == "ordering":
			q.Ordering = val
		default:
			q.Filters[key] = val
		}
	}
	if q.Page.Size == 0 {
		q.Page.Size = 20
	}
	if q.Page.Number == 0 {
		q.Page.Number = 1
	}
	return q, v.Err()
}
