package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

// Every {{t "id"}} in a template names a message of the catalog.
func TestTemplatesUseKnownMessageIDs(t *testing.T) {
	callRe := regexp.MustCompile(`(?:\{\{-?\s*|\(\s*)t\s+"([^"]+)"`)
	n := 0
	err := fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, p)
		if err != nil {
			return err
		}
		for _, m := range callRe.FindAllStringSubmatch(string(b), -1) {
			n++
			if !i18n.Has(m[1]) {
				t.Errorf("%s: unknown message ID %q", p, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Errorf("found only %d t calls; is the pattern still right?", n)
	}
}

// templateCopy returns the embedded templates as a MapFS to break.
func templateCopy(t *testing.T) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	sub, _ := fs.Sub(templateFS, "templates")
	fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(sub, p)
			m[p] = &fstest.MapFile{Data: b}
		}
		return err
	})
	return m
}

func staticSub(t *testing.T) fs.FS {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// A broken theme fails at start-up, not at a user's login.
func TestNewFailsOnBrokenTemplates(t *testing.T) {
	for name, breakIt := range map[string]func(fstest.MapFS){
		"missing page":   func(m fstest.MapFS) { delete(m, "pages/ak-stage-password.html") },
		"missing layout": func(m fstest.MapFS) { delete(m, "layout.html") },
		"syntax error": func(m fstest.MapFS) {
			m["pages/ak-stage-dummy.html"].Data = []byte(`{{define "content"}}{{if}}{{end}}`)
		},
		"no content": func(m fstest.MapFS) { m["pages/ak-stage-dummy.html"].Data = []byte(`{{define "other"}}x{{end}}`) },
		"bad field access": func(m fstest.MapFS) {
			m["pages/ak-stage-dummy.html"].Data = []byte(`{{define "content"}}{{.C.NoSuchField}}{{end}}`)
		},
		"unknown message": func(m fstest.MapFS) {
			m["pages/ak-stage-dummy.html"].Data = []byte(`{{define "content"}}{{t "no.such.id"}}{{end}}`)
		},
		"unknown function": func(m fstest.MapFS) {
			m["pages/ak-stage-dummy.html"].Data = []byte(`{{define "content"}}{{nope}}{{end}}`)
		},
		"ambiguous escaping": func(m fstest.MapFS) {
			m["pages/ak-stage-dummy.html"].Data = []byte(`{{define "content"}}<a href="{{if .Body}}x{{else}}"{{end}}">{{end}}`)
		},
	} {
		m := templateCopy(t)
		breakIt(m)
		if _, err := newRenderer(m, staticSub(t)); err == nil {
			t.Errorf("%s: newRenderer succeeded", name)
		} else if !strings.HasPrefix(err.Error(), "web:") {
			t.Errorf("%s: error %q does not say where it comes from", name, err)
		}
	}
	if _, err := newRenderer(templateCopy(t), staticSub(t)); err != nil {
		t.Fatalf("the intact copy fails: %v", err)
	}
}

// Constant {{t}} calls become HTML-escaped text at parse time, which is
// right only in HTML text and quoted attribute values.
func TestTranslationsStayOutOfScriptsAndURLs(t *testing.T) {
	bad := []*regexp.Regexp{
		regexp.MustCompile(`(?s)<script[^>]*>[^<]*\{\{-?\s*t\s`),
		regexp.MustCompile(`(?:href|src|action|formaction|style|on[a-z]+)="[^"]*\{\{-?\s*t\s`),
	}
	fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(templateFS, p)
		for _, re := range bad {
			if loc := re.FindIndex(b); loc != nil {
				t.Errorf("%s: {{t}} used in a script or URL context: %q", p, b[loc[0]:loc[1]])
			}
		}
		return nil
	})
	for _, id := range i18n.IDs() {
		for _, l := range i18n.Supported() {
			if s := i18n.T(l, id, nil); strings.Contains(s, "{{") || strings.Contains(s, "}}") {
				t.Errorf("%s (%s) contains template delimiters: %q", id, l, s)
			}
		}
	}
}
