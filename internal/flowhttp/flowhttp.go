// Package flowhttp is the browser's and native clients' way into flows:
// the HTML executor at /if/flow/<slug>/, the JSON executor at
// /api/v3/flows/executor/<slug>/ (Authentik's paths), the default-flow and
// cancel shortcuts under /flows/-/, and the entry points / and /if/user/
// that send anonymous visitors to log in and keep external users out
// (/if/user/ is a "logged in as" page until the user interface exists).
// The admin console at /if/admin/ is internal/admin, which has the same
// gate. Both executors call the same flow.Executor; only the rendering
// differs.
//
// The flow engine knows no HTTP: this package translates. A request
// becomes a flow.Client (Client) and the flow's own query; a flow.Result
// becomes a status (Status), Set-Cookie headers for the cookies stages
// set, and a redirect, a page or a JSON challenge. Other HTTP entry
// points that run a flow (OAuth2 authorization and logout) use the same
// Client and Status.
package flowhttp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/session/sessionhttp"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// Handler serves the flow entry points.
type Handler struct {
	Store    store.Store
	Core     *core.Core
	Executor *flow.Executor
	Sessions *sessionhttp.Manager
	Web      *web.Renderer
	Log      *slog.Logger
	// cop rejects cross-origin state-changing requests (Sec-Fetch-Site /
	// Origin), on top of the per-form CSRF token.
	cop *http.CrossOriginProtection
}

// Mount adds the routes.
func (h *Handler) Mount(mux *http.ServeMux) {
	h.cop = http.NewCrossOriginProtection()
	mux.Handle("GET /if/flow/{slug}/{$}", h.html())
	mux.Handle("POST /if/flow/{slug}/{$}", h.cop.Handler(h.html()))
	mux.Handle("GET /api/v3/flows/executor/{slug}/{$}", h.json())
	mux.Handle("POST /api/v3/flows/executor/{slug}/{$}", h.cop.Handler(h.json()))
	mux.HandleFunc("GET /flows/-/default/{designation}/{$}", h.defaultFlow)
	mux.HandleFunc("GET /flows/-/cancel/{$}", h.cancel)
	mux.HandleFunc("GET /{$}", h.root)
	mux.HandleFunc("GET /if/user/{$}", h.iface())
	// /if/admin/ is the admin console (internal/admin), which keeps
	// external users out with the same page.
}

// request is what every entry point loads first.
type request struct {
	sc   store.Scope
	sess *session.Session
	user *store.User
	lang i18n.Lang
}

func (h *Handler) load(w http.ResponseWriter, r *http.Request) (*request, bool) {
	ctx := r.Context()
	info := httpx.From(ctx)
	sc := h.Store.Scope(info.Tenant.ID)
	sess, err := h.Sessions.Load(ctx, r, sc)
	if err != nil {
		h.internalError(w, r, err)
		return nil, false
	}
	req := &request{sc: sc, sess: sess, lang: httpx.Lang(r)}
	if uid := sess.UserID(); uid.Valid {
		u, err := sc.Users().Get(ctx, uid.UUID)
		switch {
		case err == nil && u.IsActive:
			req.user = u
		case err == nil || errors.Is(err, store.ErrNotFound):
			sess.EndOnSave() // the user is gone or deactivated
		default:
			h.internalError(w, r, err)
			return nil, false
		}
	}
	return req, true
}

func (h *Handler) save(w http.ResponseWriter, r *http.Request, req *request) bool {
	if err := h.Sessions.Save(r.Context(), w, r, req.sess); err != nil {
		h.internalError(w, r, err)
		return false
	}
	return true
}

func (h *Handler) internalError(w http.ResponseWriter, r *http.Request, err error) {
	h.Log.Error("request failed", "request_id", httpx.From(r.Context()).RequestID, "error", err)
	h.Web.Page(w, r, httpx.Lang(r), http.StatusInternalServerError, "error", map[string]any{
		"Title": "Something went wrong", "Message": "", "RequestID": httpx.From(r.Context()).RequestID})
}

// maxFormBytes bounds a flow response; the server's body limit is larger.
const maxFormBytes = 64 << 10

// html runs the HTML executor: forms in, pages out, POST-redirect-GET
// between stages.
func (h *Handler) html() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := h.load(w, r)
		if !ok {
			return
		}
		fr := &flow.Request{Slug: r.PathValue("slug"), Client: Client(r), Scope: req.sc, Session: req.sess,
			User: req.user, PRG: true, Query: r.URL.Query()}
		var res flow.Result
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				http.Error(w, "malformed form", http.StatusBadRequest)
				return
			}
			if !req.sess.CheckCSRF(r.PostForm.Get("csrf_token")) {
				// Show the current stage again with a clear message; the
				// response is not used.
				res = h.Executor.Run(r.Context(), fr)
				if res.Challenge != nil {
					flow.BaseOf(res.Challenge).AddError(flow.NonFieldErrors, "flow.session_expired",
						"Your session expired, please try again.")
				}
			} else {
				fr.Post, fr.Response = true, formResponse(r.PostForm)
				res = h.Executor.Run(r.Context(), fr)
			}
		} else {
			res = h.Executor.Run(r.Context(), fr)
		}
		sessionhttp.SetCookies(w, res.Cookies)
		if !h.save(w, r, req) {
			return
		}
		// After a form, the redirect page (which navigates by itself)
		// stands in for the HTTP redirect: see flow.Result.AfterForm.
		if rc, ok := res.Challenge.(*flow.RedirectChallenge); ok && !res.AfterForm {
			http.Redirect(w, r, rc.To, http.StatusFound)
			return
		}
		h.Web.Challenge(w, r, req.lang, Status(res), res.Challenge)
	})
}

func formResponse(v url.Values) flow.Response {
	out := flow.Response{}
	for k, vs := range v {
		if k == "csrf_token" || len(vs) == 0 {
			continue
		}
		out[k] = vs[len(vs)-1]
	}
	return out
}

// json runs the JSON executor. Requests carry the flow's own query in
// ?query= (Authentik's convention) or directly.
func (h *Handler) json() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := h.load(w, r)
		if !ok {
			return
		}
		q := r.URL.Query()
		if raw := q.Get("query"); raw != "" {
			if parsed, err := url.ParseQuery(raw); err == nil {
				q = parsed
			}
		}
		fr := &flow.Request{Slug: r.PathValue("slug"), Client: Client(r), Scope: req.sc, Session: req.sess,
			User: req.user, Query: q}
		if r.Method == http.MethodPost {
			resp, problem := decodeJSON(w, r)
			if problem != "" {
				httpx.WriteProblem(w, r, httpx.Problem{Status: http.StatusBadRequest, Detail: problem})
				return
			}
			fr.Post, fr.Response = true, resp
		}
		res := h.Executor.Run(r.Context(), fr)
		sessionhttp.SetCookies(w, res.Cookies)
		if !h.save(w, r, req) {
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.WriteJSON(w, Status(res), res.Challenge)
	})
}

// Client describes r to the flow engine: the client's address, user
// agent and languages, the request ID and trusted link base the server
// decided (httpx.Info), whether another site started it, and the cookies
// stages read.
func Client(r *http.Request) flow.Client {
	info := httpx.From(r.Context())
	c := flow.Client{RequestID: info.RequestID, IP: info.ClientIP, UserAgent: r.UserAgent(),
		Lang: string(httpx.Lang(r)), Method: r.Method, Path: r.URL.Path, Host: info.Host,
		AcceptLanguage: r.Header.Get("Accept-Language"), PublicURL: info.PublicURL, Secure: info.Secure,
		CrossSite: httpx.CrossSite(r)}
	for _, name := range flow.CookieNames() {
		if ck, err := r.Cookie(name); err == nil {
			if c.Cookies == nil {
				c.Cookies = map[string]string{}
			}
			c.Cookies[name] = ck.Value
		}
	}
	return c
}

// Status is the HTTP status of a flow's answer: 404 when the flow does not
// exist, 500 when it broke, else 200 (a denial is a page like any other,
// as in Authentik).
func Status(res flow.Result) int {
	switch res.Failure {
	case flow.NotFound:
		return http.StatusNotFound
	case flow.InternalError:
		return http.StatusInternalServerError
	}
	return http.StatusOK
}

// decodeJSON reads a JSON object response. Requiring the JSON content type
// is part of the CSRF defence: a cross-site HTML form cannot send it.
func decodeJSON(w http.ResponseWriter, r *http.Request) (flow.Response, string) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		return nil, "Content-Type must be application/json"
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if err != nil {
		return nil, "request body too large"
	}
	var resp flow.Response
	if err := json.Unmarshal(body, &resp); err != nil || resp == nil {
		return nil, "body must be a JSON object"
	}
	return resp, ""
}

// defaultFlow redirects to the tenant's flow for a designation.
func (h *Handler) defaultFlow(w http.ResponseWriter, r *http.Request) {
	d := r.PathValue("designation")
	ctx := r.Context()
	sc := h.Store.Scope(httpx.From(ctx).Tenant.ID)
	slug, err := DefaultFlowSlug(ctx, sc, d)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	to := flow.FlowURL(slug)
	if r.URL.RawQuery != "" {
		to += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, to, http.StatusFound)
}

// DefaultFlowSlug picks default-<designation>-flow when it exists, else the
// first flow of that designation by slug.
func DefaultFlowSlug(ctx context.Context, sc store.Scope, designation string) (string, error) {
	slug := "default-" + designation + "-flow"
	if _, err := sc.Flows().GetBySlug(ctx, slug); err == nil {
		return slug, nil
	}
	list, _, err := sc.Flows().List(ctx, store.FlowQuery{Designation: designation, Page: store.Page{Size: 1}})
	if err != nil {
		return "", err
	}
	if len(list) == 0 {
		return "", store.ErrNotFound
	}
	return list[0].Slug, nil
}

// cancel drops the current plan and starts the flow again.
func (h *Handler) cancel(w http.ResponseWriter, r *http.Request) {
	req, ok := h.load(w, r)
	if !ok {
		return
	}
	if req.sess.Data.Plan != nil {
		req.sess.Data.Plan = nil
		req.sess.MarkDirty()
	}
	if !h.save(w, r, req) {
		return
	}
	to := "/"
	if slug := r.URL.Query().Get("flow"); slug != "" && !strings.ContainsAny(slug, "/?#\\") {
		to = flow.FlowURL(slug)
	}
	http.Redirect(w, r, to, http.StatusFound)
}

func loginURL(next string) string {
	return "/flows/-/default/authentication/?next=" + url.QueryEscape(next)
}

// root sends visitors where Authentik does: anonymous ones to log in,
// internal users to their interface, external users to a simple page.
func (h *Handler) root(w http.ResponseWriter, r *http.Request) {
	req, ok := h.load(w, r)
	if !ok {
		return
	}
	if !h.save(w, r, req) {
		return
	}
	switch {
	case req.user == nil:
		http.Redirect(w, r, loginURL("/"), http.StatusFound)
	case req.user.Type == store.UserInternal:
		http.Redirect(w, r, "/if/user/", http.StatusFound)
	default:
		h.Web.Page(w, r, req.lang, http.StatusOK, "interface-placeholder", map[string]any{
			"User": req.user.Username, "Interface": "external"})
	}
}

// iface serves /if/user/: internal users only, with the "logged in as"
// page until the user interface exists, and, while an admin impersonates
// the user, the banner that ends it. internal/admin serves /if/admin/.
func (h *Handler) iface() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, ok := h.load(w, r)
		if !ok {
			return
		}
		data := map[string]any{"Interface": "user"}
		if req.user != nil {
			data["User"] = req.user.Username
			if id := req.sess.Impersonator(); id.Valid {
				// The banner's form posts the session's CSRF token, made
				// before the session is saved.
				if admin, err := req.sc.Users().Get(r.Context(), id.UUID); err == nil {
					data["Impersonator"], data["CSRF"] = admin.Username, req.sess.CSRFToken()
				}
			}
		}
		if !h.save(w, r, req) {
			return
		}
		if req.user == nil {
			http.Redirect(w, r, loginURL(r.URL.Path), http.StatusFound)
			return
		}
		if req.user.Type != store.UserInternal {
			h.Web.Page(w, r, req.lang, http.StatusForbidden, "forbidden", map[string]any{
				"MessageCode": "iface.internal_only", "Message": "Interface can only be accessed by internal users"})
			return
		}
		h.Web.Page(w, r, req.lang, http.StatusOK, "interface-placeholder", data)
	}
}
