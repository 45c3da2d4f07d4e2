package web

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func serve(t *testing.T, r *Renderer, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	mux := http.NewServeMux()
	r.Mount(mux)
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	return w
}

func TestStaticHashedURL(t *testing.T) {
	r := newTestRenderer(t)
	u := r.StaticURL("style.css")
	if !regexp.MustCompile(`^/static/style\.[0-9a-f]{12}\.css$`).MatchString(u) {
		t.Fatalf("StaticURL(style.css) = %q, want /static/style.<hash>.css", u)
	}
	w := serve(t, r, u)
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: %d", u, w.Code)
	}
	for h, want := range map[string]string{
		"Cache-Control":          "public, max-age=31536000, immutable",
		"Content-Type":           "text/css; charset=utf-8",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := w.Header().Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	etag := w.Header().Get("ETag")
	if etag == "" || !strings.Contains(u, strings.Trim(etag, `"`)) {
		t.Errorf("ETag %q does not match the URL's hash", etag)
	}
	if !strings.Contains(w.Body.String(), "prefers-color-scheme: dark") {
		t.Error("the stylesheet is not the embedded one")
	}
	if w := serve(t, r, u, "If-None-Match", etag); w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match with the ETag: %d, want 304", w.Code)
	}
	// The pages link the hashed URL.
	p := renderChallenge(t, r, "en", allChallenges()["dummy"])
	if !strings.Contains(p.body, `<link rel="stylesheet" href="`+u+`">`) {
		t.Error("pages do not link the hashed stylesheet")
	}
}

func TestStaticOtherVersions(t *testing.T) {
	r := newTestRenderer(t)
	// The plain name and another release's hash get the current file, but
	// must revalidate: never cached forever under a wrong name.
	for _, p := range []string{"/static/style.css", "/static/style.000000000000.css"} {
		w := serve(t, r, p)
		if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s: %d, Cache-Control %q; want 200 no-cache", p, w.Code, w.Header().Get("Cache-Control"))
		}
	}
}

func TestStaticNotFound(t *testing.T) {
	r := newTestRenderer(t)
	for _, p := range []string{
		"/static/../go.mod",
		"/static/..%2fgo.mod",
		"/static/%2e%2e/go.mod",
		"/static/..%2f..%2fgo.mod",
		"/static/%2e%2e%2f%2e%2e%2finternal/web/renderer.go",
		"/static/templates/layout.html",
		"/static/",
		"/static/nope.css",
		"/static/style.zzzzzzzzzzzz.css",
	} {
		w := serve(t, r, p)
		if w.Code == http.StatusOK || strings.Contains(w.Body.String(), "module ") || strings.Contains(w.Body.String(), "package ") {
			t.Errorf("GET %s: %d %q; want no file", p, w.Code, w.Body.String())
		}
	}
}

func TestUnhash(t *testing.T) {
	for in, want := range map[string]string{
		"style.0123456789ab.css": "style.css",
		"style.css":              "style.css",
		"style.0123.css":         "style.0123.css",
		"a.b.0123456789ab.js":    "a.b.js",
		"style.0123456789AB.css": "style.0123456789AB.css",
	} {
		if got := unhash(in); got != want {
			t.Errorf("unhash(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFilterQuery(t *testing.T) {
	drop := []string{"flow_token", "locale"}
	for in, want := range map[string]string{
		"":                                 "",
		"flow_token=x":                     "",
		"next=%2Fa&flow_token=x&locale=en": "next=%2Fa",
		"flow%5Ftoken=x&a=1":               "a=1",
		"a=1&&b=2&flow_token":              "a=1&b=2",
		"flow_tokenx=1":                    "flow_tokenx=1",
		"next=%2Fa%3Fflow_token%3Dx":       "next=%2Fa%3Fflow_token%3Dx",
	} {
		if got := filterQuery(in, drop); got != want {
			t.Errorf("filterQuery(%q) = %q, want %q", in, got, want)
		}
	}
}
