package admin

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/api"
)

// The pages of a resource's own actions (set_password, rotate, generate,
// view_certificate) and of answers worth showing once (a new token's key).

type resultPage struct {
	Fields  []detailField
	BackURL string
	Passing *bool
	Once    bool // the values cannot be shown again
}

// action runs a custom endpoint of one object: a form of its input
// (set_password), then its answer.
func (h *Handler) action(rq *req, res *api.ResourceInfo, a api.ActionInfo, id string) {
	name := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(a.Path, res.Path), "{id}/"), "/")
	back := Prefix + res.Path
	title := actionLabel(rq, name)
	crumbs := []link{{Label: rq.plural(res), URL: Prefix + res.Path}}
	if id != "" {
		o, _, ok := rq.get(res.Path + id + "/")
		if !ok {
			return
		}
		back += id + "/"
		title = rq.t("admin.title.object", map[string]any{"model": title, "name": o.label()})
		crumbs = append(crumbs, link{Label: o.label(), URL: back})
	}
	path := strings.Replace(a.Path, "{id}", id, 1)
	if a.Method == http.MethodGet {
		rq.onlyGet(func(rq *req) {
			r := rq.call(http.MethodGet, path, nil)
			if !r.ok() {
				rq.apiFailed(r)
				return
			}
			h.showResult(rq, title, back, a.Out, r.Body)
		})
		return
	}
	fake := &api.ResourceInfo{Path: res.Path, Model: res.Model, In: a.In}
	fp := formPage{Action: rq.r.URL.Path, Submit: actionLabel(rq, name), CancelURL: back}
	if strings.Contains(name, "rotate") || strings.Contains(name, "revoke") || name == "impersonate" {
		// The form is the confirmation: say what pressing the button does.
		fp.Danger, fp.Intro = true, rq.t("admin.action.confirm", nil)
	}
	opts := rq.refOptions(fake, a.In)
	errs := map[string][]string{}
	var alerts []string
	status := http.StatusOK
	if rq.r.Method == http.MethodPost {
		body := map[string]any{}
		for _, f := range a.In {
			v, empty, errID := parseValue(f, rq.r.PostForm.Get(f.Name))
			if errID != "" {
				errs[f.Name] = append(errs[f.Name], rq.t(errID, nil))
			} else if !empty || f.Kind == api.KindBool {
				body[f.Name] = v
			}
		}
		if len(errs) == 0 {
			var payload any
			if len(a.In) > 0 {
				payload = body
			}
			r := rq.call(a.Method, path, payload)
			switch {
			case r.ok() && len(r.Body) > 0:
				// An action that made an object (generate, rotate): its page.
				if o, err := decodeObject(r.Body); err == nil && o.id() != "" && o.id() != id && res.Get {
					rq.redirect(rq.objectURL(res, o) + "?done=created")
					return
				}
				if len(a.Out) > 0 {
					h.showResult(rq, title, back, a.Out, r.Body)
					return
				}
				rq.redirect(back + "?done=done")
				return
			case r.ok() && name == "impersonate":
				// Now acting as the user: their interface, as Authentik does.
				rq.redirect("/")
				return
			case r.ok():
				rq.redirect(back + "?done=done")
				return
			case r.Status == http.StatusBadRequest || r.Status == http.StatusConflict:
				status = r.Status
				names := []string{}
				for _, f := range a.In {
					names = append(names, f.Name)
				}
				for _, fe := range r.Problem.Errors {
					if slices.Contains(names, fe.Field) {
						errs[fe.Field] = append(errs[fe.Field], apiMessage(rq.lang, fe.Message))
					}
				}
				alerts = rq.problemAlerts(r.Problem, names)
			default:
				rq.apiFailed(r)
				return
			}
		} else {
			status = http.StatusBadRequest
		}
	}
	for i, f := range a.In {
		val := ""
		if rq.r.Method == http.MethodPost && !slices.Contains(secretFields, f.Name) {
			val = rq.r.PostForm.Get(f.Name)
		}
		ff := rq.fieldCtl(fake, f, val, false, opts)
		ff.Errors = errs[f.Name]
		ff.Autofocus = i == 0
		fp.Fields = append(fp.Fields, ff)
	}
	v := rq.view(title)
	v.Crumbs = crumbs
	v.Alerts = alerts
	v.Page = fp
	rq.render(status, "form", v)
}

// showResult shows an action's answer as a list of its fields.
func (h *Handler) showResult(rq *req, title, back string, fields []api.FieldInfo, body []byte) {
	o, err := decodeObject(body)
	if err != nil {
		rq.internalError(err)
		return
	}
	rp := resultPage{BackURL: back}
	if p, ok := o["passing"].(bool); ok {
		rp.Passing = &p
	}
	for _, f := range fields {
		c := rq.cellOf(f, o[f.Name])
		rp.Fields = append(rp.Fields, detailField{Label: fieldLabel(rq.lang, f.Name), Text: c.Text, Mono: c.Mono,
			Block: f.Kind == api.KindJSON || strings.Contains(c.Text, "\n")})
	}
	v := rq.view(title)
	v.Page = rp
	rq.render(http.StatusOK, "result", v)
}

// onceFields are secrets a create response carries once (a token's key):
// they are shown on the page that answers the form, never put in a URL.
var onceFields = []string{"key", "client_secret", "secret"}

// showOnce shows a created object's one-time secrets, if its create
// response has any; false when there are none.
func (h *Handler) showOnce(rq *req, res *api.ResourceInfo, o object, next string) bool {
	rp := resultPage{BackURL: next, Once: true}
	for _, name := range onceFields {
		if s := o.str(name); s != "" {
			rp.Fields = append(rp.Fields, detailField{Label: fieldLabel(rq.lang, name), Text: s, Mono: true})
		}
	}
	if len(rp.Fields) == 0 {
		return false
	}
	v := rq.view(rq.t("admin.title.created", map[string]any{"model": rq.singular(res), "name": o.label()}))
	v.Page = rp
	rq.render(http.StatusCreated, "result", v)
	return true
}
