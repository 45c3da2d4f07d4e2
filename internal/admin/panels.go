package admin

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/api"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/provider/oauth2"
)

// Panels are what a detail page shows beyond the object's own fields:
// the objects bound to it, edited through their own resources.

type panel struct {
	Kind  string // roles, members, stagebindings, policybindings, oauth2, test, objectperms
	Title string
	// Rows of a binding or member table.
	Rows    []panelRow
	AddURL  string
	AddText string
	Action  string // where the panel's form posts
	// Fields of an OAuth2 provider's settings to copy.
	Info []detailField
	// Paging of members.
	PrevURL, NextURL string
	Count            int
	Note             string
	Result           *resultPage
	CanEdit          bool
	// A form of the panel's own (object permissions) and the problems
	// the API found with what it sent.
	Form   []formField
	Alerts []string
}

type panelRow struct {
	ID        string
	Order     string
	Label     string
	URL       string
	Sub       string // a second column (what a policy binding binds, ...)
	SubURL    string
	Flags     []string
	EditURL   string
	DeleteURL string
	ExtraURL  string
	ExtraText string
}

// handledByPanel hides generic action links that a panel does better.
func handledByPanel(res *api.ResourceInfo, name string) bool {
	switch {
	case strings.HasPrefix(res.Path, "core/groups/"):
		return name == "add_user" || name == "remove_user"
	case strings.HasPrefix(res.Path, "policies/"):
		return name == "test"
	case res.Path == "providers/oauth2/":
		return name == "secret"
	}
	return false
}

// policyBound lists the resources whose objects take policy bindings
// (Authentik's PolicyBindingModel subclasses).
func policyBound(res *api.ResourceInfo) bool {
	return res.Path == "core/applications/" || res.Path == "flows/instances/" || res.Path == "flows/bindings/" ||
		strings.HasPrefix(res.Path, "sources/")
}

func (h *Handler) panels(rq *req, res *api.ResourceInfo, id string, o object) []panel {
	var out []panel
	back := Prefix + res.Path + id + "/"
	switch {
	case res.Path == "core/groups/":
		if p, ok := rq.rolesPanel(res, id, o); ok {
			out = append(out, p)
		}
		if p, ok := rq.membersPanel(id, back); ok {
			out = append(out, p)
		}
	case res.Path == "flows/instances/":
		if p, ok := rq.stageBindingsPanel(id, back); ok {
			out = append(out, p)
		}
	case res.Path == "core/applications/":
		if p, ok := rq.oauth2Panel(o.str("provider"), o.str("slug")); ok {
			out = append(out, p)
		}
	case strings.HasPrefix(res.Path, "providers/"):
		if p, ok := rq.oauth2Panel(id, ""); ok {
			out = append(out, p)
		}
	case strings.HasPrefix(res.Path, "policies/") && !strings.HasSuffix(res.Path, "bindings/"):
		if _, ok := rq.h.o.API.Endpoint(http.MethodPost, "policies/all/{id}/test/"); ok {
			out = append(out, panel{Kind: "test", Title: rq.t("admin.policy.test", nil), Action: back + "test/"})
		}
	}
	if policyBound(res) {
		if p, ok := rq.policyBindingsPanel(id, back); ok {
			out = append(out, p)
		}
	}
	if p, ok := rq.objectPermsPanel(res, id, back); ok {
		out = append(out, p)
	}
	return out
}

// panel finds the detail page's panel of a kind.
func (dp *detailPage) panel(kind string) *panel {
	for i := range dp.Panels {
		if dp.Panels[i].Kind == kind {
			return &dp.Panels[i]
		}
	}
	return nil
}

// showDetail renders a detail page again with a panel's answer.
func (rq *req) showDetail(status int, res *api.ResourceInfo, o object, dp detailPage) {
	v := rq.view(rq.t("admin.title.object", map[string]any{"model": rq.singular(res), "name": o.label()}))
	v.Crumbs = []link{{Label: rq.plural(res), URL: Prefix + res.Path}}
	v.Page = dp
	rq.render(status, "detail", v)
}

// panelPost runs a panel's form; false when name is no panel's.
func (h *Handler) panelPost(rq *req, res *api.ResourceInfo, id, name string) bool {
	switch {
	case res.Path == "core/groups/" && name == "members":
		h.members(rq, res, id)
	case res.Path == "flows/instances/" && name == "reorder" && rq.r.Method == http.MethodPost:
		h.reorder(rq, id)
	case strings.HasPrefix(res.Path, "policies/") && name == "test" && rq.r.Method == http.MethodPost:
		h.testPolicy(rq, res, id)
	case name == "permissions" && res.Model != "" && rq.can(http.MethodGet, objectPermsPath):
		h.objectPermsPost(rq, res, id)
	default:
		return false
	}
	return true
}

// rolesPanel lists the roles a group gives its members (and the members
// of its child groups), by name, from the group's own roles_obj; they are
// changed on the group's edit form.
func (rq *req) rolesPanel(res *api.ResourceInfo, id string, o object) (panel, bool) {
	objs, ok := o["roles_obj"].([]any)
	if !ok {
		return panel{}, false
	}
	pn := panel{Kind: "roles", Title: rq.t("admin.group.roles", nil)}
	roles, canView := rq.h.resource("rbac/roles/")
	canView = canView && rq.c.Can(roles.Perm("view"))
	for _, x := range objs {
		r, ok := x.(map[string]any)
		if !ok {
			continue
		}
		row := panelRow{ID: object(r).str("pk"), Label: object(r).str("name")}
		if canView && isID(row.ID) {
			row.URL = Prefix + roles.Path + row.ID + "/"
		}
		pn.Rows = append(pn.Rows, row)
	}
	if len(pn.Rows) == 0 {
		pn.Note = rq.t("admin.group.no_roles", nil)
	}
	if res.Update && rq.c.Can(res.Perm("change")) {
		pn.AddURL = Prefix + res.Path + id + "/edit/"
	}
	return pn, true
}

// membersPanel lists a group's direct members, a page at a time: a group
// may hold most of a large directory.
func (rq *req) membersPanel(id, back string) (panel, bool) {
	users, ok := rq.h.resource("core/users/")
	if !ok || !rq.c.Can(users.Perm("view")) {
		return panel{}, false
	}
	q := url.Values{"groups_by_pk": {id}, "page_size": {"20"}}
	if n, err := strconv.Atoi(rq.r.URL.Query().Get("members_page")); err == nil && n > 1 {
		q.Set("page", strconv.Itoa(n))
	}
	p, res := rq.tryList(users.Path, q)
	if !res.ok() {
		return panel{}, false
	}
	pn := panel{Kind: "members", Title: rq.t("admin.group.members", nil), Count: p.Pagination.Count, Action: back + "members/"}
	pn.CanEdit = rq.can(http.MethodPost, "core/groups/{id}/add_user/")
	for _, u := range p.Results {
		r := panelRow{ID: u.str("pk"), Label: u.str("username"), URL: Prefix + users.Path + u.str("pk") + "/", Sub: u.str("name")}
		if pn.CanEdit {
			r.DeleteURL = back + "members/?remove=" + u.str("pk")
		}
		pn.Rows = append(pn.Rows, r)
	}
	in := rq.r.URL.Query()
	if p.Pagination.Previous > 0 {
		pn.PrevURL = withQuery(back, in, "members_page", strconv.Itoa(p.Pagination.Previous))
	}
	if p.Pagination.Next > 0 {
		pn.NextURL = withQuery(back, in, "members_page", strconv.Itoa(p.Pagination.Next))
	}
	return pn, true
}

// can reports whether the caller may call an endpoint.
func (rq *req) can(method, path string) bool {
	perm, ok := rq.h.o.API.Endpoint(method, path)
	return ok && (perm == "" || rq.c.Can(perm))
}

// members adds a member by username, or removes one after asking.
func (h *Handler) members(rq *req, res *api.ResourceInfo, id string) {
	back := Prefix + res.Path + id + "/"
	g, _, ok := rq.get(res.Path + id + "/")
	if !ok {
		return
	}
	remove := rq.r.FormValue("remove")
	if remove != "" {
		if !isID(remove) {
			rq.fail(http.StatusBadRequest, "admin.error.bad_form", nil)
			return
		}
		u, _, ok := rq.get("core/users/" + remove + "/")
		if !ok {
			return
		}
		if rq.r.Method == http.MethodPost {
			r := rq.call(http.MethodPost, res.Path+id+"/remove_user/", map[string]any{"pk": remove})
			if !r.ok() {
				rq.apiFailed(r)
				return
			}
			rq.redirect(back + "?done=saved")
			return
		}
		v := rq.view(rq.t("admin.group.remove_title", nil))
		v.Crumbs = []link{{Label: rq.plural(res), URL: Prefix + res.Path}, {Label: g.label(), URL: back}}
		v.Page = confirmPage{Action: back + "members/?remove=" + remove, Submit: rq.t("admin.group.remove", nil), CancelURL: back,
			Question: rq.t("admin.group.remove_question", map[string]any{"user": u.str("username"), "group": g.label()})}
		rq.render(http.StatusOK, "confirm", v)
		return
	}
	if rq.r.Method != http.MethodPost {
		rq.redirect(back)
		return
	}
	username := strings.TrimSpace(rq.r.PostForm.Get("username"))
	pk, r := rq.userByName(username)
	if !r.ok() {
		rq.apiFailed(r)
		return
	}
	if pk == "" {
		rq.memberError(res, id, username, rq.t("admin.group.no_such_user", map[string]any{"user": username}))
		return
	}
	r = rq.call(http.MethodPost, res.Path+id+"/add_user/", map[string]any{"pk": pk})
	switch {
	case r.ok():
		rq.redirect(back + "?done=saved")
	case r.Status == http.StatusBadRequest:
		rq.memberError(res, id, username, strings.Join(rq.problemAlerts(r.Problem, nil), " "))
	default:
		rq.apiFailed(r)
	}
}

// memberError shows the group again with the add form's error.
func (rq *req) memberError(res *api.ResourceInfo, id, username, msg string) {
	o, _, ok := rq.get(res.Path + id + "/")
	if !ok {
		return
	}
	dp := rq.h.detailPage(rq, res, id, o)
	if pn := dp.panel("members"); pn != nil {
		pn.Note, pn.AddText = msg, username
	}
	rq.showDetail(http.StatusBadRequest, res, o, dp)
}

// stageBindingsPanel lists a flow's stages in order, with what each
// binding's policies and stage link to, and a form to reorder them.
func (rq *req) stageBindingsPanel(id, back string) (panel, bool) {
	b, ok := rq.h.resource("flows/bindings/")
	if !ok || !rq.c.Can(b.Perm("view")) || !slices.ContainsFunc(b.Filters, func(p api.Param) bool { return p.Name == "target" }) {
		return panel{}, false
	}
	q := url.Values{"target": {id}, "page_size": {"100"}}
	if slices.Contains(b.Ordering, "order") {
		q.Set("ordering", "order")
	}
	p, res := rq.tryList(b.Path, q)
	if !res.ok() {
		return panel{}, false
	}
	pn := panel{Kind: "stagebindings", Title: rq.t("admin.flow.bindings", nil), Action: back + "reorder/",
		CanEdit: b.Update && rq.c.Can(b.Perm("change"))}
	maxOrder := 0
	sort.SliceStable(p.Results, func(i, j int) bool { return atoi(p.Results[i].str("order")) < atoi(p.Results[j].str("order")) })
	for _, x := range p.Results {
		bid := x.str("pk")
		r := panelRow{ID: bid, Order: x.str("order"), URL: Prefix + b.Path + bid + "/"}
		maxOrder = max(maxOrder, atoi(r.Order))
		r.Label = x.str("stage")
		if so, ok := x["stage_obj"].(map[string]any); ok {
			r.Label = object(so).label()
			r.SubURL = rq.objectURL(&api.ResourceInfo{Path: "stages/all/"}, object(so))
		} else if st, ok := rq.peek("stages/all/" + x.str("stage") + "/"); ok {
			r.Label = st.label()
			r.SubURL = rq.objectURL(&api.ResourceInfo{Path: "stages/all/"}, st)
		}
		if r.SubURL != "" {
			r.Sub = rq.t("admin.flow.edit_stage", nil)
		}
		if b.Update && rq.c.Can(b.Perm("change")) {
			r.EditURL = Prefix + b.Path + bid + "/edit/?next=" + url.QueryEscape(back)
		}
		if b.Delete && rq.c.Can(b.Perm("delete")) {
			r.DeleteURL = Prefix + b.Path + bid + "/delete/?next=" + url.QueryEscape(back)
		}
		r.ExtraURL, r.ExtraText = Prefix+b.Path+bid+"/", rq.t("admin.flow.binding_policies", nil)
		pn.Rows = append(pn.Rows, r)
	}
	if b.Create && rq.c.Can(b.Perm("add")) {
		pn.AddURL = Prefix + b.Path + "new/?" + url.Values{"target": {id}, "lock": {"target"},
			"order": {strconv.Itoa((maxOrder/10 + 1) * 10)}, "next": {back}}.Encode()
	}
	return pn, true
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// reorder saves the order fields of a flow's bindings that changed.
func (h *Handler) reorder(rq *req, id string) {
	back := Prefix + "flows/instances/" + id + "/"
	b, ok := h.resource("flows/bindings/")
	if !ok {
		rq.fail(http.StatusNotFound, "admin.error.not_found", nil)
		return
	}
	p, r := rq.tryList(b.Path, url.Values{"target": {id}, "page_size": {"100"}})
	if !r.ok() {
		rq.apiFailed(r)
		return
	}
	for _, x := range p.Results {
		bid := x.str("pk")
		raw, sent := rq.r.PostForm["order_"+bid]
		if !sent || strings.TrimSpace(raw[0]) == x.str("order") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(raw[0]))
		if err != nil {
			rq.fail(http.StatusBadRequest, "admin.form.bad_int", nil)
			return
		}
		if r := rq.call(http.MethodPatch, b.Path+bid+"/", map[string]any{"order": n}); !r.ok() {
			rq.apiFailed(r)
			return
		}
	}
	rq.redirect(back + "?done=saved")
}

// policyBindingsPanel lists the policies, groups and users bound to an
// object (an application's access, a flow's or binding's conditions).
func (rq *req) policyBindingsPanel(id, back string) (panel, bool) {
	b, ok := rq.h.resource("policies/bindings/")
	if !ok || !rq.c.Can(b.Perm("view")) || !slices.ContainsFunc(b.Filters, func(p api.Param) bool { return p.Name == "target" }) {
		return panel{}, false
	}
	q := url.Values{"target": {id}, "page_size": {"100"}}
	if slices.Contains(b.Ordering, "order") {
		q.Set("ordering", "order")
	}
	p, res := rq.tryList(b.Path, q)
	if !res.ok() {
		return panel{}, false
	}
	pn := panel{Kind: "policybindings", Title: rq.t("admin.bindings.title", nil)}
	for _, x := range p.Results {
		bid := x.str("pk")
		r := panelRow{ID: bid, Order: x.str("order"), URL: Prefix + b.Path + bid + "/"}
		for _, what := range []string{"policy", "group", "user"} {
			ref := x.str(what)
			if ref == "" || !isID(ref) {
				continue
			}
			r.Sub = enumLabel(rq.lang, what)
			target, _ := rq.h.refTarget(b, api.FieldInfo{Name: what, Kind: api.KindUUID})
			r.Label = ref
			if obj, ok := x[what+"_obj"].(map[string]any); ok {
				r.Label = object(obj).label()
			} else if target != nil {
				if o, ok := rq.peek(target.Path + ref + "/"); ok {
					r.Label = o.label()
				}
			}
			if target != nil {
				r.SubURL = Prefix + target.Path + ref + "/"
			}
		}
		if x["enabled"] == false {
			r.Flags = append(r.Flags, rq.t("admin.bindings.disabled", nil))
		}
		if x["negate"] == true {
			r.Flags = append(r.Flags, rq.t("admin.bindings.negated", nil))
		}
		if b.Update && rq.c.Can(b.Perm("change")) {
			r.EditURL = Prefix + b.Path + bid + "/edit/?next=" + url.QueryEscape(back)
		}
		if b.Delete && rq.c.Can(b.Perm("delete")) {
			r.DeleteURL = Prefix + b.Path + bid + "/delete/?next=" + url.QueryEscape(back)
		}
		pn.Rows = append(pn.Rows, r)
	}
	if b.Create && rq.c.Can(b.Perm("add")) {
		pn.AddURL = Prefix + b.Path + "new/?" + url.Values{"target": {id}, "lock": {"target"},
			"order": {strconv.Itoa(len(p.Results) * 10)}, "next": {back}}.Encode()
	}
	if len(pn.Rows) == 0 {
		pn.Note = rq.t("admin.bindings.none", nil)
	}
	return pn, true
}

// oauth2Panel shows what a relying party needs from an OAuth2 provider:
// client ID and secret, issuer and discovery URL. slug is the
// application's, when known.
func (rq *req) oauth2Panel(providerID, slug string) (panel, bool) {
	if !isID(providerID) {
		return panel{}, false
	}
	var p object
	for _, path := range []string{"providers/oauth2/", "providers/all/"} {
		if r, ok := rq.h.resource(path); ok && r.Get && rq.c.Can(r.Perm("view")) {
			if o, ok := rq.peek(path + providerID + "/"); ok && o.str("client_id") != "" {
				p = o
				break
			}
		}
	}
	if p == nil {
		return panel{}, false
	}
	if slug == "" {
		slug = p.str("assigned_application_slug")
	}
	pn := panel{Kind: "oauth2", Title: rq.t("admin.oauth2.title", nil)}
	pn.Info = append(pn.Info, detailField{Label: rq.t("admin.oauth2.client_id", nil), Text: p.str("client_id"), Mono: true})
	if s := p.str("client_secret"); s != "" {
		pn.Info = append(pn.Info, detailField{Label: rq.t("admin.oauth2.client_secret", nil), Text: s, Mono: true, Block: true})
	}
	if rq.can(http.MethodGet, "providers/oauth2/{id}/secret/") && p.str("client_type") != "public" {
		pn.AddURL, pn.AddText = Prefix+"providers/oauth2/"+providerID+"/secret/", rq.t("admin.action.secret", nil)
	}
	if slug != "" {
		issuer := oauth2.Issuer(rq.h.baseURL(rq.r), slug, p.str("issuer_mode"))
		pn.Info = append(pn.Info,
			detailField{Label: rq.t("admin.oauth2.issuer", nil), Text: issuer, Mono: true},
			detailField{Label: rq.t("admin.oauth2.discovery", nil), Text: issuer + ".well-known/openid-configuration", Mono: true})
	}
	return pn, true
}

// baseURL is where clients reach the server, as the OAuth2 provider
// computes it (httpx.Info.BaseURL).
func (h *Handler) baseURL(r *http.Request) string { return httpx.From(r.Context()).BaseURL }

// testPolicy runs a policy for a user given by username and shows the
// outcome on the policy's page.
func (h *Handler) testPolicy(rq *req, res *api.ResourceInfo, id string) {
	o, _, ok := rq.get(res.Path + id + "/")
	if !ok {
		return
	}
	username := strings.TrimSpace(rq.r.PostForm.Get("username"))
	dp := h.detailPage(rq, res, id, o)
	pn := dp.panel("test")
	if pn == nil {
		rq.fail(http.StatusNotFound, "admin.error.not_found", nil)
		return
	}
	pn.AddText = username
	status := http.StatusOK
	pk, r := rq.userByName(username)
	if !r.ok() {
		rq.apiFailed(r)
		return
	}
	if pk == "" {
		pn.Note, status = rq.t("admin.group.no_such_user", map[string]any{"user": username}), http.StatusBadRequest
	} else {
		body := map[string]any{"user": pk}
		if a, ok := findAction(&api.ResourceInfo{Actions: h.allActions()}, "policies/all/{id}/test/"); ok &&
			slices.ContainsFunc(a.In, func(f api.FieldInfo) bool { return f.Name == "context" }) {
			body["context"] = map[string]any{}
		}
		r := rq.call(http.MethodPost, "policies/all/"+id+"/test/", body)
		switch {
		case r.ok():
			out, _ := decodeObject(r.Body)
			rp := &resultPage{}
			if p, ok := out["passing"].(bool); ok {
				rp.Passing = &p
			}
			for _, k := range []string{"messages", "log_messages"} {
				if v, ok := out[k]; ok {
					c := rq.cellOf(api.FieldInfo{Name: k, Kind: api.KindJSON}, v)
					rp.Fields = append(rp.Fields, detailField{Label: fieldLabel(rq.lang, k), Text: c.Text, Mono: true, Block: true})
				}
			}
			pn.Result = rp
		case r.Status == http.StatusBadRequest:
			pn.Note, status = strings.Join(rq.problemAlerts(r.Problem, nil), " "), http.StatusBadRequest
		default:
			rq.apiFailed(r)
			return
		}
	}
	rq.showDetail(status, res, o, dp)
}

// allActions lists the actions of every resource.
func (h *Handler) allActions() []api.ActionInfo {
	var out []api.ActionInfo
	for _, r := range h.Resources() {
		out = append(out, r.Actions...)
	}
	return out
}

// userByName finds a user's ID by username (case-insensitive, as logins
// match) with the API's search, a page at a time in username order, so a
// directory of 100,000 users is never read whole. "" when there is none.
func (rq *req) userByName(username string) (string, result) {
	if username == "" {
		return "", result{Status: http.StatusOK}
	}
	// The exact filter answers the usual case from one index lookup; it
	// is case-sensitive, so a differently-cased name falls through to
	// the search.
	if users, ok := rq.h.resource("core/users/"); ok && slices.ContainsFunc(users.Filters, func(p api.Param) bool { return p.Name == "username" }) {
		p, r := rq.tryList("core/users/", url.Values{"username": {username}, "page_size": {"1"}})
		if !r.ok() {
			return "", r
		}
		if len(p.Results) == 1 {
			return p.Results[0].str("pk"), r
		}
	}
	for page := 1; page <= 10; page++ {
		p, r := rq.tryList("core/users/", url.Values{"search": {username}, "ordering": {"username"},
			"page_size": {"100"}, "page": {strconv.Itoa(page)}})
		if !r.ok() {
			return "", r
		}
		for _, u := range p.Results {
			if strings.EqualFold(u.str("username"), username) {
				return u.str("pk"), r
			}
		}
		if p.Pagination.Next == 0 {
			break
		}
	}
	return "", result{Status: http.StatusOK}
}
