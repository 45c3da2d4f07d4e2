package web

import (
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

// view is what every template sees. Texts are translated in Go before
// rendering, so templates only place them.
type view struct {
	Lang    i18n.Lang
	Heading string // the <h1>, and the <title>
	Lead    string // a sub-heading: the stage's question
	Body    string // the main paragraph
	Hint    string // a secondary paragraph
	Nonce   string
	// Action is where forms post: the current URL, so the flow's query
	// (next, ...) survives, minus the single-use flow_token.
	Action  string
	CSRF    string
	User    string // the flow's pending user, in the header
	Account string // the logged-in user, on simple pages
	// Impersonator is the admin acting as Account, for the banner that
	// offers to end it (a form posting CSRF to the admin console).
	Impersonator string
	NotYouURL    string
	BackURL      string
	LogoutURL    string
	RequestID    string
	Submit       string // the primary button's label
	Langs        []langLink
	// Alerts are the form-wide errors, shown in a role="alert" box.
	Alerts         []string
	HasFieldErrors bool
	ShowAlert      bool // Alerts or HasFieldErrors: the template avoids a call to "or"
	Fields         []field
	Perms          []string // consent: permissions already granted, or all
	Additional     []string // consent: permissions asked for anew
	Attrs          []attr   // autosubmit: the hidden inputs
	C              flow.Challenge
	// Refresh is where the redirect page navigates to by itself (a meta
	// refresh: a new navigation, which the form-action of the page that
	// led here does not judge).
	Refresh string
	hasForm bool
	// formsLeave marks a page whose form posts to another site (autosubmit).
	formsLeave bool
}

// formAction is the page's CSP form-action source list ("" for none).
func (v *view) formAction() string {
	switch {
	case v.formsLeave:
		return ""
	case v.hasForm:
		return "'self'"
	}
	return "'none'"
}

type langLink struct {
	Lang    i18n.Lang
	Name    string
	URL     string
	Current bool
}

type attr struct{ Name, Value string }

// logoutURL runs the tenant's invalidation flow, as Authentik's does.
const logoutURL = "/flows/-/default/invalidation/"

// dropParams are query parameters that must not be repeated: flow_token
// is single use (the executor spends it on the GET that shows the page;
// posting it again would restart the flow), and the language switcher sets
// locale itself.
var dropParams = []string{"flow_token", i18n.QueryParam, i18n.UILocalesParam}

func (r *Renderer) newView(req *http.Request, lang i18n.Lang) *view {
	if !slices.Contains(i18n.Supported(), lang) {
		lang = i18n.Default
	}
	v := &view{Lang: lang, Nonce: newNonce(), LogoutURL: logoutURL,
		RequestID: httpx.From(req.Context()).RequestID}
	p := req.URL.EscapedPath()
	if p == "" {
		p = "/"
	}
	// The query is filtered as raw text: it keeps the parameters' order and
	// encoding, and costs less than parsing and re-encoding it.
	action := filterQuery(req.URL.RawQuery, dropParams[:1])
	v.Action = joinQuery(p, action)
	rest := filterQuery(action, dropParams[1:])
	v.Langs = make([]langLink, 0, 2)
	for _, l := range i18n.Supported() {
		q := i18n.QueryParam + "=" + url.QueryEscape(string(l))
		if rest != "" {
			q += "&" + rest
		}
		v.Langs = append(v.Langs, langLink{Lang: l, Name: l.Native(), URL: p + "?" + q, Current: l == lang})
	}
	return v
}

// filterQuery removes the parameters named in drop from a raw query.
func filterQuery(raw string, drop []string) string {
	if raw == "" {
		return ""
	}
	var b strings.Builder
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		key, _, _ := strings.Cut(part, "=")
		if k, err := url.QueryUnescape(key); err == nil && slices.Contains(drop, k) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(part)
	}
	return b.String()
}

func joinQuery(p, q string) string {
	if q == "" {
		return p
	}
	return p + "?" + q
}

// t translates in the view's language.
func (v *view) t(id string, args map[string]any) string { return i18n.T(v.Lang, id, args) }

// flowTitle is the flow's title, translated when it is a default one.
func (v *view) flowTitle(c flow.Challenge, fallbackID string) string {
	if fi := flow.BaseOf(c).FlowInfo; fi != nil && strings.TrimSpace(fi.Title) != "" {
		return i18n.Known(v.Lang, fi.Title)
	}
	return v.t(fallbackID, nil)
}

// errors splits a challenge's response errors: those of rendered fields go
// to the fields, the rest (form-wide, or for a field not on the page) to
// Alerts, so no message is ever lost.
func (v *view) errors(b *flow.Base) {
	if len(b.ResponseErrors) == 0 {
		return
	}
	byName := map[string]*field{}
	for i := range v.Fields {
		byName[v.Fields[i].Name] = &v.Fields[i]
	}
	keys := make([]string, 0, len(b.ResponseErrors))
	for k := range b.ResponseErrors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// Form-wide errors first.
	sort.SliceStable(keys, func(i, j int) bool { return keys[i] == flow.NonFieldErrors && keys[j] != flow.NonFieldErrors })
	for _, k := range keys {
		for _, d := range b.ResponseErrors[k] {
			msg := i18n.Message(v.Lang, d.Code, d.String, d.Args)
			if f := byName[k]; f != nil && k != flow.NonFieldErrors && f.Kind != kindHidden && f.Kind != kindStatic && f.Kind != kindSeparator {
				f.Errors = append(f.Errors, msg)
				v.HasFieldErrors = true
			} else {
				v.Alerts = append(v.Alerts, msg)
			}
		}
	}
	// Focus goes to the first field that needs fixing.
	if v.HasFieldErrors {
		for i := range v.Fields {
			v.Fields[i].Autofocus = false
		}
		for i := range v.Fields {
			if len(v.Fields[i].Errors) > 0 {
				v.Fields[i].Autofocus = true
				break
			}
		}
	}
}

// pageView builds the view of a simple page; false for an unknown name.
func (r *Renderer) pageView(req *http.Request, lang i18n.Lang, name string, data any) (*view, bool) {
	v := r.newView(req, lang)
	switch name {
	case PageError:
		v.Heading = v.t(i18n.FlowErrorTitle, nil)
		v.Body = v.t(i18n.FlowErrorBody, nil)
		if code := dataString(data, "TitleCode"); i18n.Has(code) {
			v.Heading = v.t(code, nil)
		}
		if code := dataString(data, "MessageCode"); i18n.Has(code) {
			v.Body = v.t(code, messageArgs(data))
		}
		v.BackURL = "/"
	case PageForbidden:
		v.Heading = v.t(i18n.UIAccessDenied, nil)
		v.Body = i18n.Message(lang, dataString(data, "MessageCode"), dataString(data, "Message"), nil)
		if v.Body == "" {
			v.Body = v.t(i18n.FlowAccessDeniedBody, nil)
		}
		v.Account = dataString(data, "User")
		v.BackURL = "/"
		v.impersonation(data)
	case PageInterface:
		v.Heading = v.t(i18n.UIBrand, nil)
		v.Account = dataString(data, "User")
		v.impersonation(data)
		switch dataString(data, "Interface") {
		case "external":
			v.Body = v.t(i18n.PageInterfaceExtern, nil)
		default:
			v.Body = v.t(i18n.PageInterfaceUser, nil)
		}
	default:
		v.Heading = v.t(i18n.FlowErrorTitle, nil)
		v.Body = v.t(i18n.FlowErrorBody, nil)
		v.BackURL = "/"
		return v, false
	}
	return v, true
}

// impersonation fills the banner of a page whose data names the admin
// impersonating its user ("Impersonator", with the session's "CSRF").
func (v *view) impersonation(data any) {
	if v.Impersonator = dataString(data, "Impersonator"); v.Impersonator != "" {
		v.CSRF, v.hasForm = dataString(data, "CSRF"), true
	}
}

// dataString reads key from a page's data: a map or a struct field.
func dataString(data any, key string) string {
	switch d := data.(type) {
	case nil:
		return ""
	case map[string]any:
		s, _ := d[key].(string)
		return s
	case map[string]string:
		return d[key]
	}
	rv := reflect.ValueOf(data)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return ""
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return ""
	}
	if f := rv.FieldByName(key); f.IsValid() && f.Kind() == reflect.String {
		return f.String()
	}
	return ""
}

// messageArgs reads a page's "MessageArgs", the values of the placeholders
// of its "MessageCode" (a map[string]any in map data).
func messageArgs(data any) map[string]any {
	if d, ok := data.(map[string]any); ok {
		args, _ := d["MessageArgs"].(map[string]any)
		return args
	}
	return nil
}

// samplePageData fills every simple page's fields for the start-up check.
var samplePageData = map[string]any{"MessageCode": i18n.IfaceInternalOnly, "Message": "x", "User": "u", "Interface": "user"}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
