package admin

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

//go:embed templates static
var files embed.FS

// renderer holds one parsed template set per language and the stylesheet.
type renderer struct {
	// tmpl is each language's pages, parsed when an admin first asks for
	// one: an idle server holds none.
	tmpl     *i18n.PerLang[map[string]*template.Template]
	css      []byte
	cssName  string // admin.<hash>.css
	cssETag  string
	pageList []string
}

func newRenderer() (*renderer, error) {
	css, err := fs.ReadFile(files, "static/admin.css")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(css)
	h := hex.EncodeToString(sum[:])[:12]
	r := &renderer{css: css,
		cssName: "admin." + h + ".css", cssETag: `"` + h + `"`}
	pages, err := fs.Glob(files, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	for _, p := range pages {
		r.pageList = append(r.pageList, strings.TrimSuffix(path.Base(p), ".html"))
	}
	parse := func(l i18n.Lang) (map[string]*template.Template, error) {
		base := template.New("root").Funcs(funcs(l))
		if _, err := base.ParseFS(files, "templates/layout.html", "templates/partials.html"); err != nil {
			return nil, fmt.Errorf("admin: templates: %w", err)
		}
		set := map[string]*template.Template{}
		for _, p := range pages {
			t, err := base.Clone()
			if err != nil {
				return nil, err
			}
			if _, err := t.ParseFS(files, p); err != nil {
				return nil, fmt.Errorf("admin: template %s: %w", p, err)
			}
			set[strings.TrimSuffix(path.Base(p), ".html")] = t
		}
		return set, nil
	}
	// Every language is parsed now, so that a broken template fails the
	// start rather than an admin's first click, and dropped again.
	for _, l := range i18n.Supported() {
		if _, err := parse(l); err != nil {
			return nil, err
		}
	}
	r.tmpl = i18n.NewPerLang(parse)
	return r, nil
}

// funcs are the template functions, bound to one language.
func funcs(l i18n.Lang) template.FuncMap {
	return template.FuncMap{
		// t "id" ["name" value]...: a message in the page's language.
		"t": func(id string, kv ...any) string {
			var args map[string]any
			if len(kv) > 1 {
				args = map[string]any{}
				for i := 0; i+1 < len(kv); i += 2 {
					if k, ok := kv[i].(string); ok {
						args[k] = kv[i+1]
					}
				}
			}
			return tr(l, id, args)
		},
		"deref": func(b *bool) bool { return b != nil && *b },
	}
}

// serveStatic serves the stylesheet; its name carries a hash of its
// content, so it is cached for a year.
func (r *renderer) serveStatic(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("name")
	cache := "public, max-age=31536000, immutable"
	if name != r.cssName {
		if name != "admin.css" && !(strings.HasPrefix(name, "admin.") && strings.HasSuffix(name, ".css")) {
			http.NotFound(w, req)
			return
		}
		// Another version's hash (a page from a replica not yet upgraded):
		// the current file, revalidated.
		cache = "no-cache"
	}
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("Cache-Control", cache)
	h.Set("ETag", r.cssETag)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, req, "admin.css", time.Time{}, bytes.NewReader(r.css))
}

// view is what the layout needs; Page is the page's own data.
type view struct {
	Lang    i18n.Lang
	Title   string
	BaseCSS string // base.css, shared with the flow pages and served by Web
	CSS     string
	Nonce   string
	CSRF    string
	User    string
	// Impersonator is the admin acting as User, for the banner.
	Impersonator string
	Nav          []navGroup
	Crumbs       []link
	Langs        []langLink
	Notice       string
	Alerts       []string
	Current      string // the nav entry to mark
	Page         any
}

type link struct {
	Label, URL string
}

type langLink struct {
	Lang    i18n.Lang
	Name    string
	URL     string
	Current bool
}

// view starts the view of a console page.
func (rq *req) view(title string) *view {
	v := &view{Lang: rq.lang, Title: title, BaseCSS: rq.h.o.Web.StaticURL("base.css"),
		CSS: Prefix + "static/" + rq.h.pages.cssName, Nonce: newNonce(),
		CSRF: rq.c.CSRFToken(), User: rq.c.User.Username, Current: rq.r.URL.Path}
	if imp := rq.c.Impersonator(); imp != nil {
		v.Impersonator = imp.Username
	}
	v.Nav = rq.nav()
	q := rq.r.URL.Query()
	q.Del(i18n.QueryParam)
	q.Del("done")
	for _, l := range i18n.Supported() {
		q.Set(i18n.QueryParam, string(l))
		v.Langs = append(v.Langs, langLink{Lang: l, Name: l.Native(), URL: rq.r.URL.Path + "?" + q.Encode(), Current: l == rq.lang})
	}
	if done := rq.r.URL.Query().Get("done"); done != "" {
		switch done {
		case "created", "saved", "deleted", "done":
			v.Notice = rq.t("admin.notice."+done, nil)
		}
	}
	return v
}

// render writes a page of the console.
func (rq *req) render(status int, name string, v *view) {
	set, err := rq.h.pages.tmpl.Get(v.Lang)
	var buf bytes.Buffer
	if t := set[name]; err == nil && t != nil {
		err = t.ExecuteTemplate(&buf, "layout", v)
	} else if err == nil {
		err = fmt.Errorf("no template %q", name)
	}
	h := rq.w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", string(v.Lang))
	// The console's forms post only to itself.
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'nonce-"+v.Nonce+"'; style-src 'self'; img-src 'self' data:; "+
		"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
	rememberLanguage(rq.w, rq.r, v.Lang)
	if err != nil {
		info := httpx.From(rq.r.Context())
		rq.h.o.Log.Error("admin: rendering failed", "template", name, "request_id", info.RequestID, "error", err)
		rq.w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(rq.w, "<!doctype html><html lang=\"en\"><title>Error</title><p>Something went wrong. Request ID: %s</p>",
			html.EscapeString(info.RequestID))
		return
	}
	rq.w.WriteHeader(status)
	rq.w.Write(buf.Bytes())
}

// rememberLanguage keeps a ?locale= choice in the language cookie, as the
// other pages do.
func rememberLanguage(w http.ResponseWriter, r *http.Request, l i18n.Lang) {
	q := r.URL.Query().Get(i18n.QueryParam)
	if q == "" {
		return
	}
	if p, ok := i18n.Parse(q); !ok || p != l {
		return
	}
	if c, err := r.Cookie(i18n.CookieName); err == nil && c.Value == string(l) {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: i18n.CookieName, Value: string(l), Path: "/",
		MaxAge: int((365 * 24 * time.Hour).Seconds()), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: httpx.From(r.Context()).Secure})
}

func newNonce() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// withQuery returns p with q's values set (an empty value removes one).
func withQuery(p string, q url.Values, set ...string) string {
	c := url.Values{}
	for k, v := range q {
		c[k] = append([]string(nil), v...)
	}
	for i := 0; i+1 < len(set); i += 2 {
		if set[i+1] == "" {
			c.Del(set[i])
		} else {
			c.Set(set[i], set[i+1])
		}
	}
	if len(c) == 0 {
		return p
	}
	return p + "?" + c.Encode()
}
