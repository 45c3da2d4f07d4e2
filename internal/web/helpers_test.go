package web

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/reqinfo"
)

// newTestRenderer builds the real renderer once per test.
func newTestRenderer(t testing.TB) *Renderer {
	t.Helper()
	r, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

// page is one rendered response.
type page struct {
	status int
	header http.Header
	body   string
}

func request(target string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	return req.WithContext(httpx.WithInfo(req.Context(), &httpx.Info{Origin: reqinfo.Origin{RequestID: "req-123"}}))
}

func renderChallenge(t testing.TB, r *Renderer, lang i18n.Lang, c flow.Challenge) page {
	t.Helper()
	return renderChallengeAt(t, r, request("/if/flow/default-authentication-flow/?next=%2Fapp"), lang, c)
}

func renderChallengeAt(t testing.TB, r *Renderer, req *http.Request, lang i18n.Lang, c flow.Challenge) page {
	t.Helper()
	w := httptest.NewRecorder()
	r.Challenge(w, req, lang, http.StatusOK, c)
	return page{w.Code, w.Header(), w.Body.String()}
}

func renderPage(t testing.TB, r *Renderer, lang i18n.Lang, status int, name string, data any) page {
	t.Helper()
	w := httptest.NewRecorder()
	r.Page(w, request("/if/user/"), lang, status, name, data)
	return page{w.Code, w.Header(), w.Body.String()}
}

func flowInfo() *flow.FlowInfo {
	return &flow.FlowInfo{Title: "Welcome to gatehouse!", Slug: "default-authentication-flow",
		CancelURL: "/flows/-/cancel/?flow=default-authentication-flow", Layout: "stacked"}
}

func base(component string) flow.Base {
	return flow.Base{Component: component, FlowInfo: flowInfo(), CSRFToken: "csrf-abc"}
}

var (
	tagRe   = regexp.MustCompile(`(?s)<(input|select|textarea|label|form|script|a|html)\b([^>]*)>`)
	attrRe  = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9-]*)(?:="([^"]*)")?`)
	formRe  = regexp.MustCompile(`(?s)<form\b([^>]*)>(.*?)</form>`)
	nonceRe = regexp.MustCompile(`'nonce-([A-Za-z0-9_-]+)'`)
)

// tag is one start tag with its attributes.
type tag struct {
	name  string
	attrs map[string]string
}

func (t tag) has(a string) bool { _, ok := t.attrs[a]; return ok }

func tags(body string, names ...string) []tag {
	var out []tag
	for _, m := range tagRe.FindAllStringSubmatch(body, -1) {
		if len(names) > 0 && !contains(names, m[1]) {
			continue
		}
		t := tag{name: m[1], attrs: map[string]string{}}
		for _, a := range attrRe.FindAllStringSubmatch(m[2], -1) {
			t.attrs[a[1]] = a[2]
		}
		out = append(out, t)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkPage asserts what every page must satisfy.
func checkPage(t *testing.T, name string, lang i18n.Lang, p page) {
	t.Helper()
	if !strings.Contains(p.body, `<html lang="`+string(lang)+`">`) {
		t.Errorf("%s: no <html lang=%q>", name, lang)
	}
	for _, bad := range []string{"{{", "}}", "<no value>", "%!", "ZgotmplZ"} {
		if strings.Contains(p.body, bad) {
			t.Errorf("%s: output contains %q", name, bad)
		}
	}
	if got := p.header.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("%s: Content-Type %q", name, got)
	}
	if got := p.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("%s: Cache-Control %q, want no-store", name, got)
	}
	csp := p.header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("%s: CSP %q lacks %q", name, csp, d)
		}
	}
	m := nonceRe.FindStringSubmatch(csp)
	if m == nil {
		t.Fatalf("%s: CSP %q has no script nonce", name, csp)
	}
	for _, s := range tags(p.body, "script") {
		if s.attrs["nonce"] != m[1] {
			t.Errorf("%s: <script nonce=%q> does not match the CSP nonce %q", name, s.attrs["nonce"], m[1])
		}
	}
	checkLabels(t, name, p.body)
	checkForms(t, name, p.body)
}

// checkLabels: every visible control has a <label for> naming its id, and
// every label points at something that exists.
func checkLabels(t *testing.T, name, body string) {
	t.Helper()
	ids, labels := map[string]bool{}, map[string]bool{}
	for _, tg := range tags(body) {
		if id, ok := tg.attrs["id"]; ok {
			if ids[id] {
				t.Errorf("%s: duplicate id %q", name, id)
			}
			ids[id] = true
		}
		if tg.name == "label" {
			labels[tg.attrs["for"]] = true
		}
	}
	for l := range labels {
		if !ids[l] {
			t.Errorf("%s: <label for=%q> points at no element", name, l)
		}
	}
	for _, tg := range tags(body, "input", "select", "textarea") {
		if tg.attrs["type"] == "hidden" || tg.has("hidden") {
			continue
		}
		if !labels[tg.attrs["id"]] {
			t.Errorf("%s: <%s name=%q id=%q> has no label", name, tg.name, tg.attrs["name"], tg.attrs["id"])
		}
	}
}

// checkForms: every form posts; forms to us carry the CSRF token, the
// autosubmit form (to another site) must not.
func checkForms(t *testing.T, name, body string) {
	t.Helper()
	for _, m := range formRe.FindAllStringSubmatch(body, -1) {
		ft := tags("<form"+m[1]+">", "form")[0]
		if ft.attrs["method"] != "post" {
			t.Errorf("%s: form method %q, want post", name, ft.attrs["method"])
		}
		hasToken := strings.Contains(m[2], `<input type="hidden" name="csrf_token" value="csrf-abc">`)
		if ft.attrs["id"] == "autosubmit" {
			if strings.Contains(m[2], "csrf_token") {
				t.Errorf("%s: the autosubmit form would send our CSRF token to another site", name)
			}
			continue
		}
		if !hasToken {
			t.Errorf("%s: form without the csrf_token hidden input", name)
		}
	}
}
