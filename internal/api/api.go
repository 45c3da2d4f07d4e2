// Package api is the REST API under /api/v3/, at Authentik's paths and
// with its JSON shapes (pagination, field names), so scripts written for
// Authentik's API work with small changes or none.
//
// Every endpoint is declared once as a Resource: the same declaration
// serves the requests, checks permissions, records model_* events and
// generates the OpenAPI document at /api/v3/schema/, so the document
// cannot drift from the implementation (a test validates real traffic
// against it).
//
// Users, groups, roles, tokens, applications and providers are written
// through the domain layer (internal/core, Caller.Actor), which applies
// the rule of who may act on whom, records their events and invalidates
// caches; this package decodes, checks the endpoint's permission and
// answers.
//
// Callers authenticate with "Authorization: Bearer <API token>" or with
// the session cookie of a logged-in user; a session must also send the
// session's CSRF token in X-CSRFToken on every unsafe method, because a
// browser attaches the cookie to cross-site requests too.
//
// Dependencies: only the standard library and our own packages.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/session/sessionhttp"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Prefix is where the API lives.
const Prefix = "/api/v3/"

// API serves the REST API. Register resources before Mount.
type API struct {
	Store store.Store
	// JobWorkers is how many jobs this server runs at once (admin/system/).
	JobWorkers int
	Core       *core.Core
	Sessions   *sessionhttp.Manager
	Events     flow.EventWriter
	Log        *slog.Logger
	Now        func() time.Time
	// UID computes Authentik's user uid (it lives with the OAuth2 subject
	// code; passed in so this package imports no protocol).
	UID func(tenant, user uuid.UUID) string
	// ValidateConfig checks stage, policy, prompt and property mapping
	// settings with the code that runs them (family is blueprint.Family*):
	// the hook blueprints use, so neither can store what cannot run, and
	// this package imports no provider. Nil accepts any settings.
	ValidateConfig func(family, kind string, config []byte) error
	// Policies evaluates policies for policies/all/{id}/test/.
	Policies *policy.Engine

	endpoints []*endpoint
	// catalog is Permissions(), kept from Mount on.
	catalog []string
	doc     schemaCache
	// getters reads an object of a model by ID (for object permissions).
	getters map[string]func(ctx context.Context, c *Caller, id uuid.UUID) error
}

// Caller is the authenticated user of a request and what they may do.
type Caller struct {
	User      *store.User
	Scope     store.Scope
	Superuser bool
	// powers is what the caller holds, globally and on single objects
	// (Authentik's object permissions); only, when set, narrows a list to
	// the objects a caller without the global permission holds it on.
	powers *core.Powers
	only   map[uuid.UUID]bool
	csrf   string // the session's CSRF token, for session callers
	// session is the caller's browser session (nil for bearer tokens);
	// impersonator is the admin acting as User through it, if any.
	session      *session.Session
	impersonator *store.User
}

// Can reports whether the caller holds perm ("authentik_core.view_user");
// members of a superuser group hold every permission.
func (c *Caller) Can(perm string) bool {
	return c.Superuser || c.powers != nil && c.powers.Can(perm)
}

// Mount registers every endpoint and the schema.
func (a *API) Mount(mux *http.ServeMux) {
	a.catalog = a.Permissions()
	for _, e := range a.endpoints {
		// Exact paths ({$}): as subtrees, "generate/" would clash with
		// "{id}/rotate/", and extra segments belong to the JSON 404 below.
		mux.Handle(e.method+" "+Prefix+e.path+"{$}", a.handle(e))
	}
	mux.HandleFunc("GET "+Prefix+"schema/{$}", a.schema)
	// Anything else under the prefix is a JSON 404, not the HTML one.
	mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteProblem(w, r, httpx.Problem{Status: http.StatusNotFound, Detail: "no such API endpoint"})
	})
}

// errUnauthenticated and friends are the authentication outcomes.
var (
	errUnauthenticated = errors.New("authentication credentials were not provided or are invalid")
	errCSRF            = errors.New("CSRF token missing or incorrect: send the session's token in X-CSRFToken")
	errInactive        = errors.New("the user is inactive")
)

// authenticate finds the caller: a bearer API token, else the session.
func (a *API) authenticate(ctx context.Context, w http.ResponseWriter, r *http.Request, sc store.Scope) (*Caller, error) {
	var u, imp *store.User
	var sess *session.Session
	csrf := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return nil, errUnauthenticated
		}
		_, user, err := a.Core.AuthenticateToken(ctx, sc, strings.TrimSpace(tok), store.IntentAPI)
		if err != nil {
			return nil, errUnauthenticated
		}
		u = user
	} else {
		s, err := a.Sessions.Load(ctx, r, sc)
		if err != nil || !s.Authenticated() {
			return nil, errUnauthenticated
		}
		if !safeMethod(r.Method) && !s.CheckCSRF(r.Header.Get("X-CSRFToken")) {
			return nil, errCSRF
		}
		if u, err = sc.Users().Get(ctx, s.UserID().UUID); err != nil {
			return nil, errUnauthenticated
		}
		if id := s.Impersonator(); id.Valid {
			// An impersonation ends with its impersonator's access.
			if imp, err = sc.Users().Get(ctx, id.UUID); err != nil || !imp.IsActive {
				return nil, errUnauthenticated
			}
		}
		sess = s
		// A session that never rendered a form has no token yet; the one
		// made now must be stored, or the caller could never use it.
		csrf = s.CSRFToken()
		if err := a.Sessions.Save(ctx, w, r, s); err != nil {
			return nil, err
		}
	}
	if !u.IsActive {
		return nil, errInactive
	}
	powers, err := a.Core.UserPowers(ctx, sc, u.ID)
	if err != nil {
		return nil, err
	}
	return &Caller{User: u, Scope: sc, Superuser: powers.Superuser, powers: powers, csrf: csrf, session: sess, impersonator: imp}, nil
}

// Impersonator is the admin acting as the caller's user through this
// browser session, or nil.
func (c *Caller) Impersonator() *store.User { return c.impersonator }

// CanObject reports whether the caller holds perm on the object id:
// globally, or on that object alone.
func (c *Caller) CanObject(perm string, id uuid.UUID) bool {
	return c.Superuser || c.powers != nil && c.powers.CanObject(perm, id)
}

// Actor is the caller as the domain layer (internal/core) sees them:
// what they hold, who they are, the admin impersonating them, and the API
// as the front end, named in the events of their writes.
func (c *Caller) Actor() *core.Actor {
	powers := c.powers
	if powers == nil {
		// A nil Powers is the system to core; a caller never is.
		powers = &core.Powers{Superuser: c.Superuser}
	}
	return &core.Actor{Powers: powers, User: c.User, Impersonator: c.impersonator, Context: map[string]any{"via": "api"}}
}

// as is the domain write path acting as the caller: every write of a
// user, group, role, token, application or provider goes through it.
func (a *API) as(c *Caller) core.Writer { return a.Core.As(c.Actor()) }

// guard runs write as the caller, by the rule of who may act on whom
// (core.Guard), for the writes outside the domain layer's (sessions,
// impersonation): nothing in it may reach a user or group the caller may
// not act on, or give anyone what the caller does not hold.
func (a *API) guard(ctx context.Context, c *Caller, write func(tx store.Scope) error, on ...core.Subject) error {
	return a.Core.Guard(ctx, c.Scope, c.Actor().Powers, write, on...)
}

func (a *API) uid(tenant, user uuid.UUID) string {
	if a.UID == nil {
		return ""
	}
	return a.UID(tenant, user)
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// problem maps an error to RFC 9457 problem JSON: store errors to 400,
// 404, 409; anything else is a 500 that shows only the request ID.
func (a *API) problem(w http.ResponseWriter, r *http.Request, err error) {
	var ve *store.ValidationError
	var ce *store.ConflictError
	var he *httpError
	var denied *core.Denied
	switch {
	case errors.As(err, &denied):
		httpx.WriteProblem(w, r, httpx.Problem{Status: http.StatusForbidden, Detail: denied.Error()})
	case errors.As(err, &he):
		httpx.WriteProblem(w, r, httpx.Problem{Status: he.status, Detail: he.msg, Errors: he.fields})
	case errors.As(err, &ve):
		httpx.WriteProblem(w, r, httpx.Problem{Status: http.StatusBadRequest, Detail: "invalid input", Errors: ve.Fields})
	case errors.As(err, &ce):
		httpx.WriteProblem(w, r, httpx.Problem{Status: http.StatusConflict, Detail: ce.Error(),
			Errors: []store.FieldError{{Field: ce.Field, Message: "already exists"}}})
	case errors.Is(err, store.ErrConflict):
		httpx.WriteProblem(w, r, httpx.Problem{Status: http.StatusConflict, Detail: "the object changed meanwhile; reload and retry"})
	case errors.Is(err, store.ErrNotFound):
		httpx.WriteProblem(w, r, httpx.Problem{Status: http.StatusNotFound, Detail: "not found"})
	case errors.Is(err, errUnauthenticated), errors.Is(err, errInactive):
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		httpx.WriteProblem(w, r, httpx.Problem{Status: http.StatusUnauthorized, Detail: err.Error()})
	case errors.Is(err, errCSRF):
		httpx.WriteProblem(w, r, httpx.Problem{Status: http.StatusForbidden, Detail: err.Error()})
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads the answer.
	default:
		a.Log.Error("api error", "request_id", httpx.From(r.Context()).RequestID, "path", r.URL.Path, "error", err)
		httpx.WriteProblem(w, r, httpx.Problem{Status: http.StatusInternalServerError, Detail: "internal error"})
	}
}

// httpError is an error with its own status and field errors.
type httpError struct {
	status int
	msg    string
	fields []store.FieldError
}

func (e *httpError) Error() string { return e.msg }

// Errorf returns an error the API answers with status.
func Errorf(status int, msg string, fields ...store.FieldError) error {
	return &httpError{status: status, msg: msg, fields: fields}
}

func forbidden(perm string) error {
	return Errorf(http.StatusForbidden, "you do not have permission to perform this action (needs "+perm+")")
}
