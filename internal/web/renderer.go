package web

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"fmt"
	"html"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

//go:embed templates
var templateFS embed.FS

// Names of the simple pages Page renders.
const (
	PageError     = "error"
	PageForbidden = "forbidden"
	PageInterface = "interface-placeholder"
)

// requiredTemplates must all exist: one per challenge component, plus the
// simple pages. New fails without any of them.
var requiredTemplates = []string{
	flow.ComponentIdentification, flow.ComponentPassword, flow.ComponentPrompt, flow.ComponentEmail,
	flow.ComponentConsent, flow.ComponentUserLogin, flow.ComponentAccessDenied, flow.ComponentDummy,
	flow.ComponentAutosubmit, flow.ComponentRedirect, flow.ComponentFlowError, flow.ComponentUserLogout,
	PageError, PageForbidden, PageInterface,
}

// Renderer renders flow challenges and simple pages as HTML and serves the
// static files they use. It is safe for concurrent use.
type Renderer struct {
	// tmpl holds one parsed template per page and language: t is bound to
	// the language, and constant texts are already in place. A language
	// is parsed when first asked for: an idle server holds none.
	tmpl   *i18n.PerLang[map[string]*template.Template]
	static *staticFiles
}

// New parses the embedded templates and static files, and renders every
// template once with sample data in each language, so that any problem
// shows at start-up.
func New() (*Renderer, error) {
	tfs, err := fs.Sub(templateFS, "templates")
	if err != nil {
		return nil, err
	}
	sfs, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	return newRenderer(tfs, sfs)
}

func newRenderer(tfs, sfs fs.FS) (*Renderer, error) {
	st, err := loadStatic(sfs)
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	r := &Renderer{static: st}
	parse := func(l i18n.Lang) (map[string]*template.Template, error) { return parseTemplates(tfs, l, r.StaticURL) }
	// Every language is parsed and checked now, so that a problem shows
	// at start-up, and then dropped until a page in it is asked for.
	sets := map[i18n.Lang]map[string]*template.Template{}
	for _, l := range i18n.Supported() {
		set, err := parse(l)
		if err != nil {
			return nil, err
		}
		sets[l] = set
	}
	if err := r.selfCheck(sets); err != nil {
		return nil, err
	}
	r.tmpl = i18n.NewPerLang(parse)
	return r, nil
}

// parseTemplates parses layout.html and partials.html with each page of
// pages/ into one template per page, in language l.
func parseTemplates(tfs fs.FS, l i18n.Lang, static func(string) string) (map[string]*template.Template, error) {
	base := template.New("root").Funcs(funcs(l, static))
	for _, name := range []string{"layout.html", "partials.html"} {
		if err := parseFile(base, tfs, name, l, static); err != nil {
			return nil, err
		}
	}
	pages, err := fs.Glob(tfs, "pages/*.html")
	if err != nil {
		return nil, err
	}
	set := map[string]*template.Template{}
	for _, p := range pages {
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if err := parseFile(t, tfs, p, l, static); err != nil {
			return nil, err
		}
		if t.Lookup("content") == nil {
			return nil, fmt.Errorf("web: template %s defines no \"content\"", p)
		}
		set[strings.TrimSuffix(path.Base(p), ".html")] = t
	}
	for _, name := range requiredTemplates {
		if set[name] == nil {
			return nil, fmt.Errorf("web: required template pages/%s.html is missing", name)
		}
	}
	return set, nil
}

// constantCall is a {{t "id"}} or {{static "name"}} call without further
// arguments.
var constantCall = regexp.MustCompile(`\{\{(t|static) "([a-z0-9_.\-]+)"\}\}`)

// parseFile adds file name of tfs to t. Calls {{t "id"}} and
// {{static "name"}} without further arguments are replaced by their
// HTML-escaped result before parsing: they are constants for a language
// and a build, and a login page has a dozen of them, each otherwise two
// reflective calls at every request (the function and its escaper). That
// is why {{t}} belongs only in HTML text and quoted attribute values, never
// in a <script> or a URL attribute (templates_test.go checks); the static
// URLs are our own paths.
func parseFile(t *template.Template, tfs fs.FS, name string, l i18n.Lang, static func(string) string) error {
	src, err := fs.ReadFile(tfs, name)
	if err != nil {
		return fmt.Errorf("web: template %s: %w", name, err)
	}
	var unknown []string
	text := constantCall.ReplaceAllStringFunc(string(src), func(call string) string {
		m := constantCall.FindStringSubmatch(call)
		if m[1] == "static" {
			return html.EscapeString(static(m[2]))
		}
		if !i18n.Has(m[2]) {
			unknown = append(unknown, m[2])
		}
		return html.EscapeString(i18n.T(l, m[2], nil))
	})
	if len(unknown) > 0 {
		return fmt.Errorf("web: template %s: unknown message IDs %q", name, unknown)
	}
	if _, err := t.New(path.Base(name)).Parse(text); err != nil {
		return fmt.Errorf("web: template %s: %w", name, err)
	}
	return nil
}

// funcs are the template functions; t is bound to one language.
func funcs(l i18n.Lang, static func(string) string) template.FuncMap {
	return template.FuncMap{
		// static "name": the URL of a static file, with its content hash.
		"static": static,
		// t "id" ["name" value]...: the message in the page's language.
		"t": func(id string, kv ...any) string {
			if len(kv) == 0 {
				return i18n.T(l, id, nil)
			}
			if len(kv)%2 != 0 {
				return id
			}
			args := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return id
				}
				args[k] = kv[i+1]
			}
			return i18n.T(l, id, args)
		},
	}
}

// selfCheck renders every template in every language with sample data
// that reaches every branch; html/template reports escaping problems only
// on first execution, and they must not wait for a user.
func (r *Renderer) selfCheck(sets map[i18n.Lang]map[string]*template.Template) error {
	req := &http.Request{Method: http.MethodGet, URL: mustURL("/if/flow/check/?next=%2F"), Header: http.Header{}}
	for l, set := range sets {
		for _, c := range sampleChallenges() {
			v := r.challengeView(req, l, c)
			if err := set[flow.BaseOf(c).Component].ExecuteTemplate(io.Discard, "layout", v); err != nil {
				return fmt.Errorf("web: template %s (%s): %w", flow.BaseOf(c).Component, l, err)
			}
		}
		for _, name := range []string{PageError, PageForbidden, PageInterface} {
			v, _ := r.pageView(req, l, name, samplePageData)
			if err := set[name].ExecuteTemplate(io.Discard, "layout", v); err != nil {
				return fmt.Errorf("web: template %s (%s): %w", name, l, err)
			}
		}
	}
	return nil
}

// Challenge renders c as a full page: the template named after its
// Component inside the layout. A RedirectChallenge gets a fallback page
// with a link (the HTML handler normally answers it with a 302).
func (r *Renderer) Challenge(w http.ResponseWriter, req *http.Request, lang i18n.Lang, status int, c flow.Challenge) {
	if c == nil {
		r.Page(w, req, lang, http.StatusInternalServerError, PageError, nil)
		return
	}
	name := flow.BaseOf(c).Component
	if r.lookup(lang, name) == nil {
		slog.ErrorContext(req.Context(), "web: no template for challenge", "component", name,
			"request_id", httpx.From(req.Context()).RequestID)
		r.Page(w, req, lang, http.StatusInternalServerError, PageError, nil)
		return
	}
	r.render(w, req, r.challengeView(req, lang, c), status, name)
}

// Page renders a simple page:
//
//   - "error": a generic message and the request ID (from httpx, never
//     from data). data may carry "MessageCode", a message ID shown instead
//     of the generic text, with "MessageArgs" (a map[string]any) for its
//     placeholders, and "TitleCode", a message ID for the heading; any
//     other text in data is ignored, so an internal error message cannot
//     reach the page by mistake.
//   - "forbidden": "Access denied" with data's "Message", translated by
//     "MessageCode" (i18n.Message), and "User" when known.
//   - "interface-placeholder": "Logged in as {User}", a note that
//     "Interface" ("user" or "external") is not available yet, and a
//     log-out link; with "Impersonator" (and "CSRF"), the banner that ends
//     the impersonation.
//
// data is a map[string]any, a map[string]string or a struct with those
// field names. An unknown name renders the error page with status 500.
func (r *Renderer) Page(w http.ResponseWriter, req *http.Request, lang i18n.Lang, status int, name string, data any) {
	v, ok := r.pageView(req, lang, name, data)
	if !ok {
		name, status = PageError, http.StatusInternalServerError
	}
	r.render(w, req, v, status, name)
}

// lookup is lang's template for page name; nil when there is none (or,
// which start-up rules out, the language does not parse).
func (r *Renderer) lookup(lang i18n.Lang, name string) *template.Template {
	set, _ := r.tmpl.Get(lang)
	return set[name]
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render executes the page into a buffer first, so a template error
// becomes a clean error page rather than half a page, and then writes the
// headers every page shares.
func (r *Renderer) render(w http.ResponseWriter, req *http.Request, v *view, status int, name string) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<18 {
			bufPool.Put(buf)
		}
	}()
	if status == 0 {
		status = http.StatusOK
	}
	t := r.lookup(v.Lang, name)
	var err error
	if t == nil {
		err = fmt.Errorf("no template %q", name)
	} else {
		err = t.ExecuteTemplate(buf, "layout", v)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", string(v.Lang))
	h.Set("Content-Security-Policy", csp(v.Nonce, v.formAction()))
	r.rememberLanguage(w, req, v.Lang)
	if err != nil {
		info := httpx.From(req.Context())
		slog.ErrorContext(req.Context(), "web: rendering failed", "template", name, "request_id", info.RequestID, "error", err)
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "<!doctype html><html lang=\"en\"><title>Error</title><p>Something went wrong. Request ID: %s</p>",
			html.EscapeString(info.RequestID))
		return
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// csp is the Content-Security-Policy of a page. Scripts run only with this
// response's nonce; styles only from our stylesheet.
//
// Forms may post only to this server (form-action 'self'), and a page
// without a form may not post at all ('none'). Browsers also check
// form-action against every redirect that follows a submission (Chrome,
// Safari: w3c/webappsec-csp#8), so a flow that ends in answer to a form
// does not redirect over HTTP to the application: it shows the redirect
// page, which navigates anew (flowhttp; the meta refresh in the layout).
// The one exception is the autosubmit page (OIDC form_post, SAML POST):
// its form goes to the application, which may redirect onwards to any of
// its own addresses, so it carries no form-action; its one form is
// ours, its target is a registered redirect URI and its values are
// escaped by html/template.
func csp(nonce, formAction string) string {
	p := "default-src 'self'; script-src 'nonce-" + nonce + "'; style-src 'self'; img-src 'self' data:; " +
		"object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
	if formAction != "" {
		p += "; form-action " + formAction
	}
	return p
}

// rememberLanguage keeps a choice made with ?locale= in a cookie, so the
// next pages (and the next visit) stay in that language.
func (r *Renderer) rememberLanguage(w http.ResponseWriter, req *http.Request, lang i18n.Lang) {
	if !strings.Contains(req.URL.RawQuery, i18n.QueryParam+"=") {
		return
	}
	q := req.URL.Query().Get(i18n.QueryParam)
	if l, ok := i18n.Parse(q); !ok || l != lang {
		return
	}
	if c, err := req.Cookie(i18n.CookieName); err == nil && c.Value == string(lang) {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: i18n.CookieName, Value: string(lang), Path: "/",
		MaxAge: int((365 * 24 * time.Hour).Seconds()), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: httpx.From(req.Context()).Secure})
}

// newNonce returns a fresh CSP nonce: 128 random bits.
func newNonce() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
