package admin

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/api"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

// The permissions panel: which roles hold permissions on one object
// (Authentik's object permissions), a form giving a role some of them,
// and a Remove per role taking them back. Everything goes through
// rbac/permissions/assigned_by_roles/, so the API judges who may hand
// out what.

const objectPermsPath = "rbac/permissions/assigned_by_roles/"

// roleObjectPerms is one role of assigned_by_roles/ with what it holds
// on the object.
type roleObjectPerms struct {
	PK          string   `json:"pk"`
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"`
}

// objectPermsForm is what the panel's form was sent with, shown again
// with the problems found.
type objectPermsForm struct {
	Role   string
	Perms  []string
	Errs   map[string][]string
	Alerts []string
}

// objectPerms lists the roles holding permissions on object id of model.
func (rq *req) objectPerms(model, id string) ([]roleObjectPerms, result) {
	r := rq.call(http.MethodGet, objectPermsPath+"?model="+model+"&object_pk="+id, nil)
	if !r.ok() {
		return nil, r
	}
	var out struct {
		Results []roleObjectPerms `json:"results"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		return nil, result{Status: http.StatusInternalServerError}
	}
	return out.Results, r
}

// permParts splits "authentik_core.view_application" into its model
// ("authentik_core.application") and action ("view"), as the API does.
func permParts(perm string) (model, action string) {
	app, code, _ := strings.Cut(perm, ".")
	action, name, ok := strings.Cut(code, "_")
	if !ok {
		return "", code
	}
	return app + "." + name, action
}

// permLabel names a permission on an object by its action ("View").
func (rq *req) permLabel(perm string) string {
	_, action := permParts(perm)
	if id := "admin.objperms.perm." + action; hasAdmin(id) {
		return rq.t(id, nil)
	}
	return humanize(action)
}

// permLabels names permissions in the order view, change, delete, others.
func (rq *req) permLabels(perms []string) []string {
	perms = slices.Clone(perms)
	slices.SortStableFunc(perms, func(a, b string) int { return permRank(a) - permRank(b) })
	out := make([]string, 0, len(perms))
	for _, p := range perms {
		out = append(out, rq.permLabel(p))
	}
	return out
}

// permRank orders permissions as people read them: view, change,
// delete, then the others.
func permRank(perm string) int {
	_, action := permParts(perm)
	if i := slices.Index([]string{"view", "change", "delete"}, action); i >= 0 {
		return i
	}
	return 3
}

// joinList joins the items of a list in a sentence of l.
func joinList(l i18n.Lang, items []string) string {
	if l == i18n.ZhHans {
		return strings.Join(items, "、")
	}
	return strings.Join(items, ", ")
}

// objectPermsPanel lists the roles holding permissions on object id of
// res, for callers who may view roles, with the assign form for those
// who may assign (a fresh one: objectPermsPost fills it again after a
// refusal). There is no panel when the API keeps no objects of res's model.
func (rq *req) objectPermsPanel(res *api.ResourceInfo, id, back string) (panel, bool) {
	if res.Model == "" || !rq.can(http.MethodGet, objectPermsPath) {
		return panel{}, false
	}
	held, r := rq.objectPerms(res.Model, id)
	if !r.ok() {
		return panel{}, false
	}
	pn := panel{Kind: "objectperms", Title: rq.t("admin.objperms.title", nil), Action: back + "permissions/",
		Note: rq.t("admin.objperms.none", nil)}
	roles, _ := rq.h.resource("rbac/roles/")
	unassign := rq.can(http.MethodPatch, objectPermsPath+"{id}/unassign/")
	for _, x := range held {
		row := panelRow{ID: x.PK, Label: x.Name, Flags: rq.permLabels(x.Permissions)}
		if roles != nil && roles.Get && isID(x.PK) {
			row.URL = Prefix + roles.Path + x.PK + "/"
		}
		if unassign {
			row.DeleteURL = pn.Action + "?remove=" + x.PK
		}
		pn.Rows = append(pn.Rows, row)
	}
	if rq.can(http.MethodPost, objectPermsPath+"{id}/assign/") {
		pn.Form = rq.objectPermsFields(res.Model, objectPermsForm{})
		pn.CanEdit = len(pn.Form) > 0
	}
	return pn, true
}

// objectPermsFields are the assign form's controls: the role (a
// drop-down of up to maxOptions roles, else its ID) and the permissions
// of the model to tick. Add permissions are left out: creating needs the
// global one, there being no object yet. None when the caller may not
// read the permissions.
func (rq *req) objectPermsFields(model string, in objectPermsForm) []formField {
	p, r := rq.tryList("rbac/permissions/", nil)
	if !r.ok() {
		return nil
	}
	perms := formField{Control: "checks", Name: "permissions", ID: "objperms-perms", Required: true,
		Label: rq.t("admin.objperms.permissions", nil), Errors: in.Errs["permissions"]}
	for _, x := range p.Results {
		name := x.str("permission")
		if m, action := permParts(name); m != model || action == "add" {
			continue
		}
		perms.Options = append(perms.Options, option{Value: name, Label: rq.permLabel(name), Selected: slices.Contains(in.Perms, name)})
	}
	if len(perms.Options) == 0 {
		return nil
	}
	slices.SortStableFunc(perms.Options, func(a, b option) int { return permRank(a.Value) - permRank(b.Value) })
	f := api.FieldInfo{Name: "role", Kind: api.KindUUID}
	role := rq.fieldCtl(nil, f, in.Role, true, rq.refOptions(nil, []api.FieldInfo{f}))
	role.ID, role.Errors = "objperms-role", in.Errs["role"]
	role.Autofocus = len(role.Errors) > 0
	return []formField{role, perms}
}

// objectPermsPost runs the panel's forms: assign, or (with ?remove=) ask
// and then take back what a role holds on the object.
func (h *Handler) objectPermsPost(rq *req, res *api.ResourceInfo, id string) {
	back := Prefix + res.Path + id + "/"
	o, _, ok := rq.get(res.Path + id + "/")
	if !ok {
		return
	}
	if role := rq.r.FormValue("remove"); role != "" {
		h.unassignObjectPerms(rq, res, id, o, role)
		return
	}
	if rq.r.Method != http.MethodPost {
		rq.redirect(back)
		return
	}
	if assign := objectPermsPath + "{id}/assign/"; !rq.can(http.MethodPost, assign) {
		// The API would refuse; say so before reading the form.
		perm, _ := rq.h.o.API.Endpoint(http.MethodPost, assign)
		rq.forbidden(result{Problem: problem{Detail: "you do not have permission to perform this action (needs " + perm + ")"}})
		return
	}
	in := objectPermsForm{Role: strings.TrimSpace(rq.r.PostForm.Get("role")), Perms: rq.r.PostForm["permissions"],
		Errs: map[string][]string{}}
	switch {
	case in.Role == "":
		in.Errs["role"] = []string{rq.t("admin.api.required", nil)}
	case !isID(in.Role):
		in.Errs["role"] = []string{rq.t("admin.api.must_uuid", nil)}
	}
	if len(in.Perms) == 0 {
		in.Errs["permissions"] = []string{rq.t("admin.api.no_permissions", nil)}
	}
	status := http.StatusBadRequest
	if len(in.Errs) == 0 {
		r := rq.call(http.MethodPost, objectPermsPath+in.Role+"/assign/",
			map[string]any{"permissions": in.Perms, "model": res.Model, "object_pk": id})
		switch r.Status {
		case http.StatusNoContent, http.StatusOK:
			rq.redirect(back + "?done=saved")
			return
		case http.StatusBadRequest:
			for _, fe := range r.Problem.Errors {
				if fe.Field == "permissions" {
					in.Errs[fe.Field] = append(in.Errs[fe.Field], apiMessage(rq.lang, fe.Message))
				}
			}
			in.Alerts = rq.problemAlerts(r.Problem, []string{"permissions"})
		case http.StatusForbidden, http.StatusNotFound:
			// A permission the caller does not hold, a role gone: said
			// next to the form, which keeps what was chosen.
			status = r.Status
			in.Alerts = rq.problemAlerts(r.Problem, nil)
		default:
			rq.apiFailed(r)
			return
		}
	}
	dp := h.detailPage(rq, res, id, o)
	pn := dp.panel("objectperms")
	if pn == nil || !pn.CanEdit {
		rq.fail(http.StatusNotFound, "admin.error.not_found", nil)
		return
	}
	pn.Form, pn.Alerts = rq.objectPermsFields(res.Model, in), in.Alerts
	rq.showDetail(status, res, o, dp)
}

// unassignObjectPerms asks before taking from a role everything it holds
// on the object, then does.
func (h *Handler) unassignObjectPerms(rq *req, res *api.ResourceInfo, id string, o object, role string) {
	back := Prefix + res.Path + id + "/"
	if !isID(role) {
		rq.fail(http.StatusBadRequest, "admin.error.bad_form", nil)
		return
	}
	held, r := rq.objectPerms(res.Model, id)
	if !r.ok() {
		rq.apiFailed(r)
		return
	}
	i := slices.IndexFunc(held, func(x roleObjectPerms) bool { return x.PK == role })
	if i < 0 {
		// Nothing left to take (removed meanwhile, or a reload).
		rq.redirect(back)
		return
	}
	x := held[i]
	v := rq.view(rq.t("admin.objperms.remove_title", nil))
	v.Crumbs = []link{{Label: rq.plural(res), URL: Prefix + res.Path}, {Label: o.label(), URL: back}}
	status := http.StatusOK
	if rq.r.Method == http.MethodPost {
		r := rq.call(http.MethodPatch, objectPermsPath+role+"/unassign/",
			map[string]any{"permissions": x.Permissions, "model": res.Model, "object_pk": id})
		switch {
		case r.ok():
			rq.redirect(back + "?done=saved")
			return
		case r.Status == http.StatusBadRequest:
			status, v.Alerts = r.Status, rq.problemAlerts(r.Problem, nil)
		default:
			rq.apiFailed(r)
			return
		}
	}
	v.Page = confirmPage{Action: back + "permissions/?remove=" + role, Submit: rq.t("admin.objperms.remove", nil), CancelURL: back,
		Question: rq.t("admin.objperms.remove_question", map[string]any{"role": x.Name, "name": o.label()}),
		Warning:  rq.t("admin.objperms.remove_warning", map[string]any{"perms": joinList(rq.lang, rq.permLabels(x.Permissions))})}
	rq.render(status, "confirm", v)
}
