package admin

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/api"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// Prefix is where the console lives.
const Prefix = "/if/admin/"

// Permission to open the console for users who are not superusers
// (Authentik's system permission of the same name).
const PermAccess = "authentik_rbac.access_admin_interface"

// Options are the console's dependencies.
type Options struct {
	// API serves every read and write the pages make.
	API *api.API
	// Web renders the pages the console shares with the rest of the
	// product (the "internal users only" page).
	Web *web.Renderer
	// Store is read for one thing the API does not offer: counts of login
	// events per hour for the overview's chart (shown only to callers the
	// API would let list events).
	Store store.Store
	Log   *slog.Logger
	Now   func() time.Time
}

// Handler serves /if/admin/.
type Handler struct {
	o     Options
	pages *renderer
	cop   *http.CrossOriginProtection

	once      sync.Once
	resources []api.ResourceInfo
}

// New parses the console's templates, failing on any problem now rather
// than on an admin's first click.
func New(o Options) (*Handler, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	pages, err := newRenderer()
	if err != nil {
		return nil, err
	}
	return &Handler{o: o, pages: pages, cop: http.NewCrossOriginProtection()}, nil
}

// Mount adds the console's routes.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"static/{name}", h.pages.serveStatic)
	mux.Handle("GET "+Prefix+"{path...}", http.HandlerFunc(h.serve))
	mux.Handle("POST "+Prefix+"{path...}", h.cop.Handler(http.HandlerFunc(h.serve)))
	mux.Handle("POST "+Prefix+"impersonation/end/{$}", h.cop.Handler(http.HandlerFunc(h.endImpersonation)))
}

// Resources are the API's resources, read once: they are all registered
// before the server starts.
func (h *Handler) Resources() []api.ResourceInfo {
	h.once.Do(func() { h.resources = h.o.API.Resources() })
	return h.resources
}

// resource returns the resource at an API path.
func (h *Handler) resource(path string) (*api.ResourceInfo, bool) {
	for i, r := range h.Resources() {
		if r.Path == path {
			return &h.Resources()[i], true
		}
	}
	return nil, false
}

// req is one request to the console.
type req struct {
	h    *Handler
	w    http.ResponseWriter
	r    *http.Request
	c    *api.Caller
	lang i18n.Lang
	path string // below Prefix
}

// maxFormBytes bounds a console form; the server's own limit is larger.
const maxFormBytes = 1 << 20

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	rq := &req{h: h, w: w, r: r, lang: httpx.Lang(r), path: r.PathValue("path")}
	c, err := h.o.API.SessionCaller(r.Context(), w, r)
	switch {
	case errors.Is(err, api.ErrUnauthenticated):
		http.Redirect(w, r, loginURL(r.URL.RequestURI()), http.StatusFound)
		return
	case err != nil:
		rq.internalError(err)
		return
	}
	rq.c = c
	if c.User.Type != store.UserInternal {
		h.forbidden(rq, i18n.IfaceInternalOnly, "Interface can only be accessed by internal users")
		return
	}
	if !c.Can(PermAccess) {
		h.forbidden(rq, i18n.IfaceAdminOnly, "You need administrator rights to open the admin interface.")
		return
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			rq.fail(http.StatusBadRequest, "admin.error.bad_form", nil)
			return
		}
		if !c.CheckCSRF(r.PostForm.Get("csrf_token")) {
			rq.fail(http.StatusForbidden, "admin.error.csrf", nil)
			return
		}
	}
	h.route(rq)
}

// forbidden is the shared "access denied" page, naming the user and,
// while an admin impersonates them, offering to end it: the impersonated
// user usually may not open the console.
func (h *Handler) forbidden(rq *req, code, msg string) {
	data := map[string]any{"MessageCode": code, "Message": msg, "User": rq.c.User.Username}
	if imp := rq.c.Impersonator(); imp != nil {
		data["Impersonator"], data["CSRF"] = imp.Username, rq.c.CSRFToken()
	}
	h.o.Web.Page(rq.w, rq.r, rq.lang, http.StatusForbidden, web.PageForbidden, data)
}

// route picks the page: the hand-written ones first, then the generic
// pages of the resource whose path is the longest prefix.
func (h *Handler) route(rq *req) {
	switch p := rq.path; {
	case p == "":
		rq.onlyGet(h.overview)
		return
	case p == "wizard/":
		h.wizard(rq)
		return
	case p == "system/":
		rq.onlyGet(h.system)
		return
	case p == "events/":
		rq.onlyGet(h.eventList)
		return
	case strings.HasPrefix(p, "events/") && isID(strings.TrimSuffix(strings.TrimPrefix(p, "events/"), "/")):
		rq.onlyGet(h.eventDetail)
		return
	}
	var res *api.ResourceInfo
	for i, r := range h.Resources() {
		if strings.HasPrefix(rq.path, r.Path) && (res == nil || len(r.Path) > len(res.Path)) {
			res = &h.Resources()[i]
		}
	}
	if res == nil {
		rq.fail(http.StatusNotFound, "admin.error.not_found", nil)
		return
	}
	rest := strings.TrimPrefix(rq.path, res.Path)
	seg := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	switch {
	case rest == "" && res.List:
		rq.onlyGet(func(rq *req) { h.list(rq, res) })
	case rest == "new/" && res.Create:
		h.form(rq, res, "")
	case len(seg) == 1 && isID(seg[0]) && strings.HasSuffix(rest, "/"):
		rq.onlyGet(func(rq *req) { h.detail(rq, res, seg[0]) })
	case len(seg) == 1 && !isID(seg[0]) && strings.HasSuffix(rest, "/"):
		if a, ok := findAction(res, res.Path+seg[0]+"/"); ok && a.Method == http.MethodPost {
			h.action(rq, res, a, "")
			return
		}
		rq.fail(http.StatusNotFound, "admin.error.not_found", nil)
	case len(seg) == 2 && isID(seg[0]) && seg[1] == "edit" && res.Update:
		h.form(rq, res, seg[0])
	case len(seg) == 2 && isID(seg[0]) && seg[1] == "delete" && res.Delete:
		h.remove(rq, res, seg[0])
	case len(seg) == 2 && isID(seg[0]):
		if h.panelPost(rq, res, seg[0], seg[1]) {
			return
		}
		if a, ok := findAction(res, res.Path+"{id}/"+seg[1]+"/"); ok {
			h.action(rq, res, a, seg[0])
			return
		}
		rq.fail(http.StatusNotFound, "admin.error.not_found", nil)
	default:
		rq.fail(http.StatusNotFound, "admin.error.not_found", nil)
	}
}

func findAction(res *api.ResourceInfo, path string) (api.ActionInfo, bool) {
	for _, a := range res.Actions {
		if a.Path == path {
			return a, true
		}
	}
	return api.ActionInfo{}, false
}

// isID accepts what the API accepts in {id}: a UUID.
func isID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

func (rq *req) onlyGet(page func(*req)) {
	if rq.r.Method != http.MethodGet && rq.r.Method != http.MethodHead {
		rq.w.Header().Set("Allow", http.MethodGet)
		rq.fail(http.StatusMethodNotAllowed, "admin.error.not_found", nil)
		return
	}
	page(rq)
}

func loginURL(next string) string {
	return "/flows/-/default/authentication/?next=" + url.QueryEscape(next)
}

// redirect answers a successful POST with a GET of to (303, so a reload
// does not post again).
func (rq *req) redirect(to string) {
	http.Redirect(rq.w, rq.r, to, http.StatusSeeOther)
}

// localNext returns the "next" parameter when it is a console address,
// else fallback: it must never send the admin to another site.
func (rq *req) localNext(fallback string) string {
	n := rq.r.FormValue("next")
	if strings.HasPrefix(n, Prefix) && !strings.ContainsAny(n, "\\\r\n") && !strings.HasPrefix(n, Prefix+"/") {
		if u, err := url.Parse(n); err == nil && u.Host == "" && u.Scheme == "" {
			return n
		}
	}
	return fallback
}

func (rq *req) internalError(err error) {
	rq.h.o.Log.Error("admin: request failed", "request_id", httpx.From(rq.r.Context()).RequestID, "path", rq.r.URL.Path, "error", err)
	rq.fail(http.StatusInternalServerError, "admin.error.internal", nil)
}

// fail renders an error page inside the console (or the shared page when
// the caller is not known yet).
func (rq *req) fail(status int, msgID string, args map[string]any) {
	if rq.c == nil {
		rq.h.o.Web.Page(rq.w, rq.r, rq.lang, status, web.PageError, nil)
		return
	}
	v := rq.view(rq.t("admin.error.title."+statusWord(status), nil))
	v.Page = errorPage{Status: status, Message: rq.t(msgID, args), RequestID: httpx.From(rq.r.Context()).RequestID}
	rq.render(status, "error", v)
}

func statusWord(status int) string {
	switch status {
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return "not_found"
	case http.StatusBadRequest:
		return "bad_request"
	}
	return "internal"
}

type errorPage struct {
	Status    int
	Message   string
	Detail    string
	RequestID string
}

// t translates an admin or shared message in the request's language.
func (rq *req) t(id string, args map[string]any) string { return tr(rq.lang, id, args) }

func tr(l i18n.Lang, id string, args map[string]any) string {
	if i18n.HasAdmin(id) {
		return i18n.Admin(l, id, args)
	}
	return i18n.T(l, id, args)
}
