package admin

import (
	"bytes"
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/api"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

// A form is generated from a resource's input fields: each JSON kind has
// one control (text, checkbox, select, multi-line list, JSON text), and
// each control's text converts back to the JSON the API expects. What
// cannot be parsed here (a number, JSON) is reported next to its field
// without asking the API; everything else is the API's to judge.

type formField struct {
	Name, ID, Label, Help string
	// Control is input, checkbox, select, textarea or hidden.
	Control   string
	Type      string // the input's type
	Value     string
	Checked   bool
	Options   []option
	Multiple  bool
	Required  bool
	Mono      bool
	Rows      int
	Errors    []string
	Autofocus bool
	// Shown is the value shown for a hidden (locked) field.
	Shown string
}

type option struct {
	Value, Label string
	Selected     bool
}

// formPage is a create, edit or action form.
type formPage struct {
	Action    string
	Fields    []formField
	Version   string
	Next      string
	Submit    string
	CancelURL string
	Intro     string
	Danger    bool
}

// multiline fields get a text area even though they are plain strings.
var multiline = []string{"expression", "meta_description", "description", "certificate_data", "key_data", "template",
	"body", "message", "client_jwks", "sub_text", "help_text"}

// secretFields are typed into password inputs and never shown back.
var secretFields = []string{"password", "client_secret", "key_data", "private_key", "secret"}

// refTargets names, per field, the list that holds the objects a UUID
// (or slug) field refers to; the first that exists is used.
var refTargets = map[string][]string{
	"provider":             {"providers/all/", "providers/oauth2/"},
	"parent":               {"core/groups/"},
	"group":                {"core/groups/"},
	"groups":               {"core/groups/"},
	"user":                 {"core/users/"},
	"users":                {"core/users/"},
	"stage":                {"stages/all/"},
	"stages":               {"stages/all/"},
	"policy":               {"policies/all/"},
	"policies":             {"policies/all/"},
	"flow":                 {"flows/instances/"},
	"application":          {"core/applications/"},
	"role":                 {"rbac/roles/"},
	"roles":                {"rbac/roles/"},
	"property_mappings":    {"propertymappings/all/", "propertymappings/provider/scope/"},
	"transports":           {"events/transports/"},
	"source":               {"sources/all/"},
	"sources":              {"sources/all/"},
	"signing_key":          {"crypto/certificatekeypairs/"},
	"verification_key":     {"crypto/certificatekeypairs/"},
	"encryption_key":       {"crypto/certificatekeypairs/"},
	"certificate":          {"crypto/certificatekeypairs/"},
	"tls_verification":     {"crypto/certificatekeypairs/"},
	"tls_authentication":   {"crypto/certificatekeypairs/"},
	"fields":               {"stages/prompt/prompts/"},
	"validation_policies":  {"policies/all/"},
	"configuration_stages": {"stages/all/"},
	"device_classes":       nil,
}

// refTarget is the resource a field refers to, if any.
func (h *Handler) refTarget(res *api.ResourceInfo, f api.FieldInfo) (*api.ResourceInfo, bool) {
	switch f.Kind {
	case api.KindUUID, api.KindUUIDList:
	case api.KindString:
		if !strings.HasSuffix(f.Name, "_flow") && f.Name != "flow" {
			return nil, false
		}
	default:
		return nil, false
	}
	ref := f.Ref
	if ref == "" && res != nil {
		// Output fields borrow the ref tag of the input field of the same name.
		for _, in := range res.In {
			if in.Name == f.Name {
				ref = in.Ref
			}
		}
	}
	targets := refTargets[f.Name]
	if what, kind, _ := strings.Cut(ref, ":"); what != "" {
		targets = refPaths(what, kind)
	} else if strings.HasSuffix(f.Name, "_flow") {
		targets = []string{"flows/instances/"}
	}
	if f.Name == "target" && res != nil && res.Path == "flows/bindings/" {
		targets = []string{"flows/instances/"}
	}
	if f.Name == "pk" && res != nil && strings.HasPrefix(res.Path, "core/groups/") && res.Path != "core/groups/" {
		// The input of add_user and remove_user, not a group's own pk.
		targets = []string{"core/users/"}
	}
	for _, p := range targets {
		if r, ok := h.resource(p); ok && r.List {
			return r, true
		}
	}
	return nil, false
}

// refPaths are the lists that hold objects of a ref tag's kind.
func refPaths(what, kind string) []string {
	switch what {
	case "flow":
		return []string{"flows/instances/"}
	case "stage", "policy":
		p := []string{}
		if kind != "" {
			p = append(p, what+"s/"+kind+"/")
		}
		if what == "policy" {
			return append(p, "policies/all/")
		}
		return append(p, "stages/all/")
	case "prompt":
		return []string{"stages/prompt/prompts/"}
	case "group":
		return []string{"core/groups/"}
	case "user":
		return []string{"core/users/"}
	case "provider":
		return []string{"providers/all/", "providers/oauth2/"}
	case "application":
		return []string{"core/applications/"}
	case "role":
		return []string{"rbac/roles/"}
	case "key", "certificate", "certificatekeypair":
		return []string{"crypto/certificatekeypairs/"}
	case "mapping", "propertymapping":
		return []string{"propertymappings/all/"}
	}
	return []string{what + "s/all/", what + "s/"}
}

// maxOptions is how many objects a drop-down lists; with more, the field
// takes an ID instead (a directory of 100,000 users is never loaded).
const maxOptions = 100

// fieldCtl builds the control of one input field. value is the text to
// show; res is the resource the form belongs to (for references).
func (rq *req) fieldCtl(res *api.ResourceInfo, f api.FieldInfo, value string, required bool, opts map[string][]option) formField {
	ff := formField{Name: f.Name, ID: "f_" + f.Name, Label: fieldLabel(rq.lang, f.Name), Value: value, Required: required,
		Control: "input", Type: "text"}
	if f.Doc != "" {
		ff.Help = f.Doc
	}
	if id := "admin.help." + f.Name; hasAdmin(id) {
		ff.Help = rq.t(id, nil)
	}
	switch {
	case len(f.Enum) > 0:
		ff.Control = "select"
		if !required {
			ff.Options = append(ff.Options, option{Value: "", Label: "—", Selected: value == ""})
		}
		for _, e := range f.Enum {
			ff.Options = append(ff.Options, option{Value: e, Label: enumLabel(rq.lang, e), Selected: e == value})
		}
		return ff
	case f.Kind == api.KindBool:
		ff.Control, ff.Checked = "checkbox", value == "true"
		return ff
	}
	if o, ok := opts[f.Name]; ok {
		ff.Control = "select"
		ff.Multiple = f.Kind == api.KindUUIDList
		selected := map[string]bool{}
		for _, v := range strings.Fields(value) {
			selected[v] = true
		}
		if !ff.Multiple {
			ff.Options = append(ff.Options, option{Value: "", Label: "—", Selected: value == ""})
		}
		for _, x := range o {
			x.Selected = selected[x.Value]
			ff.Options = append(ff.Options, x)
		}
		return ff
	}
	switch f.Kind {
	case api.KindInt:
		ff.Type = "number"
	case api.KindFloat:
		ff.Type = "text"
		ff.Mono = true
	case api.KindUUID:
		ff.Mono = true
		if _, isRef := rq.h.refTarget(res, f); isRef {
			ff.Help = rq.t("admin.form.enter_id", nil)
		}
	case api.KindTime:
		ff.Help = rq.t("admin.form.time_help", nil)
		ff.Mono = true
	case api.KindStringList, api.KindUUIDList:
		ff.Control, ff.Rows = "textarea", 4
		ff.Help = rq.t("admin.form.one_per_line", nil)
		ff.Mono = f.Kind == api.KindUUIDList
	case api.KindJSON:
		ff.Control, ff.Rows, ff.Mono = "textarea", 6, true
		ff.Help = rq.t("admin.form.json_help", nil)
	case api.KindString:
		switch {
		case slices.Contains(secretFields, f.Name):
			ff.Type = "password"
			ff.Value = ""
		case f.Name == "email":
			ff.Type = "email"
		case slices.Contains(multiline, f.Name):
			ff.Control, ff.Rows = "textarea", 6
			ff.Mono = f.Name == "expression" || f.Name == "client_jwks" || strings.HasSuffix(f.Name, "_data")
		case strings.HasSuffix(f.Name, "_url") || strings.HasSuffix(f.Name, "_uri"):
			ff.Type = "url"
		}
	}
	return ff
}

func hasAdmin(id string) bool { return i18n.HasAdmin(id) }

// refOptions loads the choices of every reference field of fields that
// has at most maxOptions targets.
func (rq *req) refOptions(res *api.ResourceInfo, fields []api.FieldInfo) map[string][]option {
	out := map[string][]option{}
	cache := map[string][]option{}
	for _, f := range fields {
		target, ok := rq.h.refTarget(res, f)
		if !ok || !rq.c.Can(target.Perm("view")) {
			continue
		}
		if o, seen := cache[target.Path]; seen {
			if o != nil {
				out[f.Name] = o
			}
			continue
		}
		cache[target.Path] = nil
		q := url.Values{"page_size": {strconv.Itoa(maxOptions)}}
		if slices.Contains(target.Ordering, "name") {
			q.Set("ordering", "name")
		}
		p, res := rq.tryList(target.Path, q)
		if !res.ok() || p.Pagination.Count > maxOptions {
			continue
		}
		o := make([]option, 0, len(p.Results))
		for _, x := range p.Results {
			v := x.str("pk")
			if f.Kind == api.KindString {
				if v = x.str("slug"); v == "" {
					v = x.str("name")
				}
			}
			o = append(o, option{Value: v, Label: x.label()})
		}
		cache[target.Path] = o
		out[f.Name] = o
	}
	return out
}

// formValue is the text a control shows for a JSON value.
func (rq *req) formValue(f api.FieldInfo, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if f.Kind == api.KindTime {
			if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
				return t.UTC().Format("2006-01-02T15:04:05Z")
			}
		}
		return x
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	case []any:
		if f.Kind == api.KindStringList || f.Kind == api.KindUUIDList {
			s := make([]string, 0, len(x))
			for _, e := range x {
				s = append(s, object{"v": e}.str("v"))
			}
			return strings.Join(s, "\n")
		}
	}
	return rq.jsonText(v)
}

// parseValue turns a control's text into the JSON value of f. empty is
// true when the control was left empty; errID names a local problem.
func parseValue(f api.FieldInfo, raw string) (v any, empty bool, errID string) {
	s := strings.TrimSpace(raw)
	switch f.Kind {
	case api.KindBool:
		return raw == "true" || raw == "on", false, ""
	case api.KindString:
		return raw, raw == "", ""
	case api.KindInt:
		if s == "" {
			return nil, true, ""
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, false, "admin.form.bad_int"
		}
		return n, false, ""
	case api.KindFloat:
		if s == "" {
			return nil, true, ""
		}
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, false, "admin.form.bad_number"
		}
		return n, false, ""
	case api.KindUUID:
		if s == "" {
			return nil, true, ""
		}
		return s, false, ""
	case api.KindTime:
		if s == "" {
			return nil, true, ""
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC().Format(time.RFC3339), false, ""
			}
		}
		return nil, false, "admin.form.bad_time"
	case api.KindStringList, api.KindUUIDList:
		list := []string{}
		for _, line := range strings.FieldsFunc(raw, func(r rune) bool { return r == '\n' || r == '\r' }) {
			if line = strings.TrimSpace(line); line != "" {
				list = append(list, line)
			}
		}
		return list, len(list) == 0, ""
	}
	if s == "" {
		return nil, true, ""
	}
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil || d.More() {
		return nil, false, "admin.form.bad_json"
	}
	return x, false, ""
}

// emptyValue is what an emptied field of an existing object is set to.
func emptyValue(f api.FieldInfo) (any, bool) {
	switch f.Kind {
	case api.KindString:
		return "", true
	case api.KindStringList, api.KindUUIDList:
		return []string{}, true
	case api.KindUUID:
		if f.Nullable || strings.Contains(f.Type.String(), "NullUUID") {
			return nil, true
		}
	case api.KindJSON:
		t := f.Type
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Map:
			return map[string]any{}, true
		case reflect.Slice:
			return []any{}, true
		}
	}
	return nil, false
}

// sameJSON compares two JSON values.
func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	if bytes.Equal(x, y) {
		return true
	}
	// Numbers and lists of IDs may differ only in form.
	var xa, ya any
	json.Unmarshal(x, &xa)
	json.Unmarshal(y, &ya)
	return reflect.DeepEqual(xa, ya)
}
