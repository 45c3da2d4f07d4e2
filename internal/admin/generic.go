package admin

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/api"
)

// The generic pages: list, detail, create and edit forms, delete
// confirmation and custom actions, for any resource the API declares.

type listPage struct {
	Search    string
	Searching bool
	Filters   []formField
	PageSize  string
	Columns   []column
	Rows      []row
	Count     int
	Page      int
	Pages     int
	PrevURL   string
	NextURL   string
	NewURL    string
	NewLabel  string
	Kinds     []link // creatable kinds, on an "all" list
	Actions   []link // actions on the collection (generate)
	HasLaunch bool
	Empty     string
	Alerts    []string
}

type column struct {
	Label   string
	SortURL string
	Sort    string // "ascending", "descending" or ""
}

type row struct {
	URL    string
	Cells  []cell
	Launch string
}

type cell struct {
	Text string
	Mono bool
}

// listColumns prefers the fields people recognise objects by.
var listColumns = []string{"username", "name", "slug", "title", "identifier", "action", "email", "designation", "component",
	"kind", "intent", "client_type", "type", "is_active", "enabled", "order", "expires", "last_login", "created"}

func (rq *req) columns(res *api.ResourceInfo) []api.FieldInfo {
	var out []api.FieldInfo
	names := listColumns
	if res.ModelName() == "flow" {
		// Flows are known by their slugs (default-authentication-flow).
		names = append([]string{"slug"}, names...)
	}
	for _, name := range names {
		if f, ok := res.Field(name); ok && len(out) < 6 && !slices.ContainsFunc(out, func(x api.FieldInfo) bool { return x.Name == name }) {
			out = append(out, f)
		}
	}
	for _, f := range res.Out {
		if len(out) >= 4 {
			break
		}
		if slices.ContainsFunc(out, func(x api.FieldInfo) bool { return x.Name == f.Name }) || f.Name == "pk" || f.Name == "uuid" {
			continue
		}
		switch f.Kind {
		case api.KindString, api.KindBool, api.KindInt, api.KindTime:
			if !slices.Contains(multiline, f.Name) && !slices.Contains(secretFields, f.Name) {
				out = append(out, f)
			}
		}
	}
	return out
}

func (h *Handler) list(rq *req, res *api.ResourceInfo) {
	in := rq.r.URL.Query()
	q := url.Values{}
	lp := listPage{Search: in.Get("search"), PageSize: "20", Page: 1}
	if lp.Search != "" {
		q.Set("search", lp.Search)
		lp.Searching = true
	}
	if n, err := strconv.Atoi(in.Get("page")); err == nil && n > 1 {
		q.Set("page", strconv.Itoa(n))
	}
	if s := in.Get("page_size"); s == "50" || s == "100" {
		q.Set("page_size", s)
		lp.PageSize = s
	} else {
		q.Set("page_size", "20")
	}
	ordering := in.Get("ordering")
	if slices.Contains(res.Ordering, strings.TrimPrefix(ordering, "-")) {
		q.Set("ordering", ordering)
	} else {
		ordering = ""
	}
	for _, f := range res.Filters {
		v := in.Get(f.Name)
		if v != "" {
			q.Set(f.Name, v)
		}
		ff := formField{Name: f.Name, ID: "filter_" + f.Name, Label: fieldLabel(rq.lang, f.Name), Value: v, Control: "input", Type: "text"}
		switch {
		case f.Bool:
			ff.Control = "select"
			ff.Options = []option{{Value: "", Label: rq.t("admin.list.any", nil)},
				{Value: "true", Label: rq.t("admin.yes", nil), Selected: v == "true"},
				{Value: "false", Label: rq.t("admin.no", nil), Selected: v == "false"}}
		case len(f.Enum) > 0:
			ff.Control = "select"
			ff.Options = []option{{Value: "", Label: rq.t("admin.list.any", nil)}}
			for _, e := range f.Enum {
				ff.Options = append(ff.Options, option{Value: e, Label: enumLabel(rq.lang, e), Selected: v == e})
			}
		}
		lp.Filters = append(lp.Filters, ff)
	}
	p, res2 := rq.tryList(res.Path, q)
	switch {
	case res2.Status == http.StatusBadRequest:
		// A filter the API refused: say which, show no rows.
		lp.Alerts = rq.problemAlerts(res2.Problem, nil)
		p = &page{}
	case !res2.ok():
		rq.apiFailed(res2)
		return
	}
	cols := rq.columns(res)
	base := Prefix + res.Path
	for _, f := range cols {
		c := column{Label: fieldLabel(rq.lang, f.Name)}
		if slices.Contains(res.Ordering, f.Name) {
			next := f.Name
			switch ordering {
			case f.Name:
				c.Sort, next = "ascending", "-"+f.Name
			case "-" + f.Name:
				c.Sort = "descending"
			}
			c.SortURL = withQuery(base, in, "ordering", next, "page", "")
		}
		lp.Columns = append(lp.Columns, c)
	}
	_, lp.HasLaunch = res.Field("meta_launch_url")
	for _, o := range p.Results {
		r := row{}
		if res.Get && o.id() != "" {
			r.URL = rq.objectURL(res, o)
		}
		for _, f := range cols {
			r.Cells = append(r.Cells, rq.cellOf(f, o[f.Name]))
		}
		if lp.HasLaunch {
			r.Launch = launchURL(o.str("meta_launch_url"))
		}
		lp.Rows = append(lp.Rows, r)
	}
	pg := p.Pagination
	lp.Count, lp.Pages = pg.Count, pg.TotalPages
	if pg.Current > 0 {
		lp.Page = pg.Current
	}
	if pg.Previous > 0 {
		lp.PrevURL = withQuery(base, in, "page", strconv.Itoa(pg.Previous))
	}
	if pg.Next > 0 {
		lp.NextURL = withQuery(base, in, "page", strconv.Itoa(pg.Next))
	}
	if res.Create && rq.c.Can(res.Perm("add")) {
		lp.NewURL = base + "new/"
		lp.NewLabel = rq.t("admin.action.new", map[string]any{"model": rq.singular(res)})
	}
	lp.Kinds = rq.kinds(res)
	for _, a := range res.Actions {
		if a.Detail || a.Method != http.MethodPost || (a.Perm != "" && !rq.c.Can(a.Perm)) {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(a.Path, res.Path), "/")
		if name != "" && !strings.Contains(name, "/") {
			lp.Actions = append(lp.Actions, link{Label: actionLabel(rq, name), URL: base + name + "/"})
		}
	}
	lp.Empty = rq.t("admin.list.empty", nil)
	if lp.Searching {
		lp.Empty = rq.t("admin.list.no_match", nil)
	}
	v := rq.view(rq.plural(res))
	v.Page = lp
	rq.render(http.StatusOK, "list", v)
}

// kinds lists, on an "all" list (stages/all/), the sibling resources
// that create one kind each.
func (rq *req) kinds(res *api.ResourceInfo) []link {
	if !strings.HasSuffix(res.Path, "/all/") {
		return nil
	}
	all := map[string]bool{res.Path: true}
	var out []link
	for i, r := range rq.h.Resources() {
		if kindOfAll(r, all) && r.Create && rq.c.Can(r.Perm("add")) {
			out = append(out, link{Label: rq.singular(&rq.h.Resources()[i]), URL: Prefix + r.Path + "new/"})
		}
	}
	return out
}

// objectURL is the detail page of o: on an "all" list, the page of its
// own kind when the API names it (meta_model_name) and serves it.
func (rq *req) objectURL(res *api.ResourceInfo, o object) string {
	if mm := o.str("meta_model_name"); mm != "" {
		for _, r := range rq.h.Resources() {
			if r.Model == mm && r.Get {
				return Prefix + r.Path + o.id() + "/"
			}
		}
	}
	return Prefix + res.Path + o.id() + "/"
}

// launchURL returns u when it is a web address a browser may open.
func launchURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return ""
	}
	return u
}

// cellOf renders one value for a table or a detail list.
func (rq *req) cellOf(f api.FieldInfo, v any) cell {
	switch x := v.(type) {
	case nil:
		return cell{Text: "—"}
	case bool:
		if x {
			return cell{Text: rq.t("admin.yes", nil)}
		}
		return cell{Text: rq.t("admin.no", nil)}
	case string:
		if f.Kind == api.KindTime {
			if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
				return cell{Text: t.UTC().Format("2006-01-02 15:04 UTC")}
			}
		}
		if len(f.Enum) > 0 {
			return cell{Text: enumLabel(rq.lang, x)}
		}
		if x == "" {
			return cell{Text: "—"}
		}
		return cell{Text: x, Mono: f.Kind == api.KindUUID}
	case json.Number:
		return cell{Text: x.String()}
	case []any:
		if len(x) == 0 {
			return cell{Text: "—"}
		}
	case map[string]any:
		if len(x) == 0 {
			return cell{Text: "—"}
		}
	}
	return cell{Text: rq.formValue(f, v), Mono: true}
}

type detailPage struct {
	Fields    []detailField
	EditURL   string
	DeleteURL string
	Actions   []link
	Panels    []panel
	ListURL   string
}

type detailField struct {
	Label string
	Text  string
	URL   string
	Mono  bool
	Block bool // pre-formatted
}

func (h *Handler) detail(rq *req, res *api.ResourceInfo, id string) {
	if !res.Get {
		rq.fail(http.StatusNotFound, "admin.error.not_found", nil)
		return
	}
	o, _, ok := rq.get(res.Path + id + "/")
	if !ok {
		return
	}
	dp := h.detailPage(rq, res, id, o)
	v := rq.view(rq.t("admin.title.object", map[string]any{"model": rq.singular(res), "name": o.label()}))
	v.Crumbs = []link{{Label: rq.plural(res), URL: Prefix + res.Path}}
	v.Page = dp
	rq.render(http.StatusOK, "detail", v)
}

// shownElsewhere reports an output field that repeats another for
// convenience (Authentik's "roles_obj" beside "roles"): the page shows the
// references by name already.
func shownElsewhere(res *api.ResourceInfo, f api.FieldInfo) bool {
	base, ok := strings.CutSuffix(f.Name, "_obj")
	return ok && slices.ContainsFunc(res.Out, func(o api.FieldInfo) bool { return o.Name == base })
}

// detailPage builds the detail of object o (id) of res, panels included.
func (h *Handler) detailPage(rq *req, res *api.ResourceInfo, id string, o object) detailPage {
	dp := detailPage{ListURL: Prefix + res.Path}
	for _, f := range res.Out {
		if slices.Contains(secretFields, f.Name) || shownElsewhere(res, f) {
			continue
		}
		c := rq.cellOf(f, o[f.Name])
		df := detailField{Label: fieldLabel(rq.lang, f.Name), Text: c.Text, Mono: c.Mono}
		if target, ok := h.refTarget(res, f); ok && f.Kind == api.KindUUIDList {
			// A list of references reads as the names of what it refers to.
			if ids, _ := o[f.Name].([]any); len(ids) > 0 {
				names := make([]string, 0, len(ids))
				for _, id := range ids {
					s, _ := id.(string)
					if !isID(s) {
						continue
					}
					if ro, ok := rq.peek(target.Path + s + "/"); ok {
						s = ro.label()
					}
					names = append(names, s)
				}
				df.Text, df.Mono = strings.Join(names, ", "), false
			}
		}
		if f.Kind == api.KindJSON || strings.Contains(c.Text, "\n") {
			df.Block = true
		}
		if target, ok := h.refTarget(res, f); ok && f.Kind == api.KindUUID && isID(o.str(f.Name)) {
			df.URL = Prefix + target.Path + o.str(f.Name) + "/"
			if ro, ok := rq.peek(target.Path + o.str(f.Name) + "/"); ok {
				df.Text, df.Mono = ro.label(), false
			}
		}
		if f.Name == "meta_launch_url" {
			df.URL = launchURL(df.Text)
		}
		dp.Fields = append(dp.Fields, df)
	}
	base := Prefix + res.Path + id + "/"
	if res.Update && rq.c.Can(res.Perm("change")) {
		dp.EditURL = base + "edit/"
	}
	if res.Delete && rq.c.Can(res.Perm("delete")) {
		dp.DeleteURL = base + "delete/"
	}
	for _, a := range res.Actions {
		if !a.Detail || (a.Perm != "" && !rq.c.Can(a.Perm)) {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(a.Path, res.Path+"{id}/"), "/")
		if strings.Contains(name, "/") || handledByPanel(res, name) {
			continue
		}
		dp.Actions = append(dp.Actions, link{Label: actionLabel(rq, name), URL: base + name + "/"})
	}
	dp.Panels = h.panels(rq, res, id, o)
	return dp
}

func actionLabel(rq *req, name string) string {
	if id := "admin.action." + name; hasAdmin(id) {
		return rq.t(id, nil)
	}
	return humanize(name)
}

// peek reads an object for a label, quietly: a failure only means the
// raw ID is shown.
func (rq *req) peek(path string) (object, bool) {
	res := rq.call(http.MethodGet, path, nil)
	if !res.ok() {
		return nil, false
	}
	o, err := decodeObject(res.Body)
	return o, err == nil
}

// defaultTrue lists booleans that are true unless set otherwise, as the
// API's create does when they are left out.
var defaultTrue = []string{"is_active", "enabled", "re_evaluate_policies", "case_insensitive_matching", "show_matched_user",
	"pretend_user_exists", "include_claims_in_id_token"}

// form is the create (id "") and edit page of res.
func (h *Handler) form(rq *req, res *api.ResourceInfo, id string) {
	perm := "add"
	if id != "" {
		perm = "change"
	}
	if !rq.c.Can(res.Perm(perm)) && rq.r.Method == http.MethodGet {
		// The API would refuse the write; say so before the admin types.
		rq.forbidden(result{Problem: problem{Detail: "you do not have permission to perform this action (needs " + res.Perm(perm) + ")"}})
		return
	}
	var cur object
	version := ""
	if id != "" {
		var ok bool
		if cur, version, ok = rq.get(res.Path + id + "/"); !ok {
			return
		}
	}
	in := rq.r.URL.Query()
	if rq.r.Method == http.MethodPost {
		in = rq.r.PostForm
	}
	lock := in["lock"]
	fp := formPage{Action: rq.r.URL.Path, Next: rq.localNext(""), Version: version}
	if rq.r.Method == http.MethodPost {
		fp.Version = rq.r.PostForm.Get("version")
	}
	opts := rq.refOptions(res, res.In)
	values := map[string]string{}
	for _, f := range res.In {
		switch {
		case rq.r.Method == http.MethodPost:
			values[f.Name] = rq.r.PostForm.Get(f.Name)
			if f.Kind == api.KindUUIDList && len(rq.r.PostForm[f.Name]) > 1 {
				values[f.Name] = strings.Join(rq.r.PostForm[f.Name], "\n")
			}
		case cur != nil:
			values[f.Name] = rq.formValue(f, cur[f.Name])
		case in.Has(f.Name):
			values[f.Name] = in.Get(f.Name)
		case f.Kind == api.KindBool && slices.Contains(defaultTrue, f.Name):
			values[f.Name] = "true"
		}
	}
	errs := map[string][]string{}
	var alerts []string
	status := http.StatusOK
	if rq.r.Method == http.MethodPost {
		body := map[string]any{}
		for _, f := range res.In {
			v, empty, errID := parseValue(f, values[f.Name])
			if errID != "" {
				errs[f.Name] = append(errs[f.Name], rq.t(errID, nil))
				continue
			}
			required := slices.Contains(res.Required, f.Name)
			_, readable := res.Field(f.Name)
			switch {
			case cur == nil && empty && !required:
			case cur == nil && empty && required && f.Kind != api.KindString:
			case cur == nil:
				body[f.Name] = v
			case empty && !readable:
				// A write-only field (a password) left empty keeps its value.
			case empty:
				if ev, ok := emptyValue(f); ok && !sameJSON(ev, cur[f.Name]) && cur[f.Name] != nil {
					body[f.Name] = ev
				}
			case !sameJSON(v, cur[f.Name]):
				body[f.Name] = v
			}
		}
		if len(errs) == 0 {
			var r result
			switch {
			case cur == nil:
				r = rq.call(http.MethodPost, res.Path, body)
			case len(body) == 0:
				rq.redirect(rq.localNext(Prefix + res.Path + id + "/?done=saved"))
				return
			default:
				hdr := []string{}
				if fp.Version != "" {
					hdr = append(hdr, "If-Match", fp.Version)
				}
				r = rq.call(http.MethodPatch, res.Path+id+"/", body, hdr...)
			}
			if r.ok() {
				to := Prefix + res.Path + id + "/?done=saved"
				if cur == nil {
					o, _ := decodeObject(r.Body)
					to = rq.objectURL(res, o) + "?done=created"
					if h.showOnce(rq, res, o, to) {
						return
					}
				}
				rq.redirect(rq.localNext(to))
				return
			}
			switch r.Status {
			case http.StatusBadRequest, http.StatusConflict, http.StatusPreconditionFailed, http.StatusUnsupportedMediaType:
				status = r.Status
				names := make([]string, 0, len(res.In))
				for _, f := range res.In {
					names = append(names, f.Name)
				}
				for _, fe := range r.Problem.Errors {
					if slices.Contains(names, fe.Field) && !slices.Contains(lock, fe.Field) {
						errs[fe.Field] = append(errs[fe.Field], apiMessage(rq.lang, fe.Message))
					}
				}
				alerts = rq.problemAlerts(r.Problem, names, lock...)
				if r.Status == http.StatusPreconditionFailed {
					alerts = append([]string{rq.t("admin.api.changed", nil)}, alerts...)
				}
			default:
				rq.apiFailed(r)
				return
			}
		} else {
			status = http.StatusBadRequest
		}
	}
	focused := false
	for _, f := range res.In {
		ff := rq.fieldCtl(res, f, values[f.Name], slices.Contains(res.Required, f.Name), opts)
		ff.Errors = errs[f.Name]
		if len(ff.Errors) > 0 && !focused {
			ff.Autofocus, focused = true, true
		}
		if slices.Contains(lock, f.Name) {
			ff.Control, ff.Shown = "hidden", values[f.Name]
			if target, ok := h.refTarget(res, f); ok && isID(values[f.Name]) {
				if o, ok := rq.peek(target.Path + values[f.Name] + "/"); ok {
					ff.Shown = o.label()
				}
			}
		}
		fp.Fields = append(fp.Fields, ff)
	}
	if !focused && len(fp.Fields) > 0 && rq.r.Method == http.MethodGet {
		for i := range fp.Fields {
			if fp.Fields[i].Control != "hidden" {
				fp.Fields[i].Autofocus = true
				break
			}
		}
	}
	var title string
	if cur == nil {
		title = rq.t("admin.action.new", map[string]any{"model": rq.singular(res)})
		fp.Submit = rq.t("admin.action.create", nil)
		fp.CancelURL = rq.localNext(Prefix + res.Path)
	} else {
		title = rq.t("admin.action.edit_title", map[string]any{"model": rq.singular(res), "name": cur.label()})
		fp.Submit = rq.t("admin.action.save", nil)
		fp.CancelURL = rq.localNext(Prefix + res.Path + id + "/")
	}
	if len(lock) > 0 {
		for _, l := range lock {
			fp.Fields = append(fp.Fields, formField{Control: "hidden", Name: "lock", Value: l})
		}
	}
	v := rq.view(title)
	v.Crumbs = []link{{Label: rq.plural(res), URL: Prefix + res.Path}}
	if cur != nil {
		v.Crumbs = append(v.Crumbs, link{Label: cur.label(), URL: Prefix + res.Path + id + "/"})
	}
	v.Alerts = alerts
	if len(errs) > 0 && len(alerts) == 0 {
		v.Alerts = []string{rq.t("admin.form.fix_errors", nil)}
	}
	v.Page = fp
	rq.render(status, "form", v)
}

// problemAlerts are a problem's messages that no field on the page shows.
func (rq *req) problemAlerts(p problem, shown []string, hidden ...string) []string {
	var out []string
	for _, fe := range p.Errors {
		if slices.Contains(shown, fe.Field) && !slices.Contains(hidden, fe.Field) {
			continue
		}
		out = append(out, fieldLabel(rq.lang, fe.Field)+": "+apiMessage(rq.lang, fe.Message))
	}
	if len(out) == 0 && len(p.Errors) == 0 && p.Detail != "" {
		out = append(out, apiMessage(rq.lang, p.Detail))
	}
	return out
}

type confirmPage struct {
	Question  string
	Warning   string
	Action    string
	Submit    string
	CancelURL string
	Next      string
}

// remove asks before deleting, then deletes through the API.
func (h *Handler) remove(rq *req, res *api.ResourceInfo, id string) {
	o, _, ok := rq.get(res.Path + id + "/")
	if !ok {
		return
	}
	cp := confirmPage{Action: rq.r.URL.Path, Next: rq.localNext(""),
		Question: rq.t("admin.delete.question", map[string]any{"model": rq.singular(res), "name": o.label()}),
		Warning:  rq.t("admin.delete.warning", nil), Submit: rq.t("admin.action.delete", nil),
		CancelURL: rq.localNext(Prefix + res.Path + id + "/")}
	v := rq.view(rq.t("admin.delete.title", map[string]any{"model": rq.singular(res)}))
	v.Crumbs = []link{{Label: rq.plural(res), URL: Prefix + res.Path}, {Label: o.label(), URL: Prefix + res.Path + id + "/"}}
	status := http.StatusOK
	if rq.r.Method == http.MethodPost {
		r := rq.call(http.MethodDelete, res.Path+id+"/", nil)
		switch {
		case r.ok():
			rq.redirect(rq.localNext(Prefix + res.Path + "?done=deleted"))
			return
		case r.Status == http.StatusBadRequest || r.Status == http.StatusConflict:
			status = r.Status
			v.Alerts = rq.problemAlerts(r.Problem, nil)
		default:
			rq.apiFailed(r)
			return
		}
	}
	v.Page = cp
	rq.render(status, "confirm", v)
}
