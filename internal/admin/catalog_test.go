package admin

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

// known reports whether a template or the code may use id.
func known(id string) bool { return i18n.HasAdmin(id) || i18n.Has(id) }

// Every {{t "id"}} in the templates names a message.
func TestTemplatesUseKnownMessages(t *testing.T) {
	call := regexp.MustCompile(`\{\{-?\s*t\s+"([^"]+)"`)
	n := 0
	fs.WalkDir(files, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(files, p)
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			n++
			if !known(m[1]) {
				t.Errorf("%s: unknown message %q", p, m[1])
			}
		}
		return nil
	})
	if n < 50 {
		t.Errorf("found only %d t calls; is the pattern still right?", n)
	}
}

// Every complete "admin.…" ID in the Go code names a message; IDs built
// at run time (admin.field.<name>) fall back to readable names and are
// checked where they are built.
func TestCodeUsesKnownMessages(t *testing.T) {
	lit := regexp.MustCompile(`"(admin\.[a-z0-9_.]+)"`)
	paths, _ := filepath.Glob("*.go")
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range lit.FindAllStringSubmatch(string(b), -1) {
			if id := m[1]; !strings.HasSuffix(id, ".") && !strings.HasSuffix(id, ".css") && !known(id) {
				t.Errorf("%s: unknown message %q", p, id)
			}
		}
	}
	// The IDs built from a fixed set of words.
	for _, w := range []string{"forbidden", "not_found", "bad_request", "internal"} {
		if !known("admin.error.title." + w) {
			t.Errorf("admin.error.title.%s is missing", w)
		}
	}
	for _, w := range []string{"created", "saved", "deleted", "done"} {
		if !known("admin.notice." + w) {
			t.Errorf("admin.notice.%s is missing", w)
		}
	}
	for _, w := range []string{"action", "username", "app", "client_ip", "since", "until"} {
		if !known("admin.events.filter." + w) {
			t.Errorf("admin.events.filter.%s is missing", w)
		}
	}
}

func TestHumanize(t *testing.T) {
	for in, want := range map[string]string{
		"meta_launch_url": "Meta launch URL", "redirect_uris": "Redirect URIs", "client_id": "Client ID",
		"name": "Name", "policies/all": "Policies all",
	} {
		if got := humanize(in); got != want {
			t.Errorf("humanize(%q) = %q, want %q", in, got, want)
		}
	}
}

// The templates parse and every page renders in both languages.
func TestRendererParses(t *testing.T) {
	r, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range i18n.Supported() {
		if set, err := r.tmpl.Get(l); err != nil || len(set) != len(r.pageList) || len(r.pageList) < 10 {
			t.Errorf("%s: %d templates for %d pages (%v)", l, len(set), len(r.pageList), err)
		}
	}
}
