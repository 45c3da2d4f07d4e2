package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBlueprintApplyDocumentedApplication applies the OpenID Connect
// example of docs/blueprints.md as printed there, so the documentation
// cannot drift from what the command accepts.
func TestBlueprintApplyDocumentedApplication(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "blueprints.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(doc), "### An OpenID Connect application")
	_, block, _ := strings.Cut(section, "```yaml\n")
	block, _, found := strings.Cut(block, "```")
	if !found || !strings.Contains(block, "oauth2provider") {
		t.Fatalf("no YAML example under \"An OpenID Connect application\" in docs/blueprints.md")
	}
	file := filepath.Join(t.TempDir(), "app.yaml")
	if err := os.WriteFile(file, []byte(block), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHome(t)
	h.env["WIKI_CLIENT_SECRET"] = "documented-secret-0123456789"
	if got := h.ok("", "blueprint", "apply", file); got != "created 4, updated 0, unchanged 0, deleted 0, skipped 0\n" {
		t.Errorf("first apply printed %q", got)
	}
	if got := h.ok("", "blueprint", "apply", file); got != "created 0, updated 0, unchanged 4, deleted 0, skipped 0\n" {
		t.Errorf("second apply printed %q", got)
	}
	got := h.ok("", "app", "show", "--slug", "wiki", "--secret")
	if !strings.Contains(got, "AUTHENTIK_ISSUER=http://localhost:9000/application/o/wiki/\n") || !strings.Contains(got, "OIDC_CLIENT_ID=wiki\n") ||
		!strings.Contains(got, "OIDC_CLIENT_SECRET=documented-secret-0123456789\n") {
		t.Errorf("app show --secret printed %q, want the blueprint's client", got)
	}
	// Another secret changes the provider and nothing else.
	h.env["WIKI_CLIENT_SECRET"] = "rotated-secret-0123456789"
	if got := h.ok("", "blueprint", "apply", file); got != "created 0, updated 1, unchanged 3, deleted 0, skipped 0\n" {
		t.Errorf("apply with a new secret printed %q", got)
	}
	h.fails(2, []string{"entries[0] (authentik_crypto.certificatekeypair)", "gatehouse key generate", "nothing was changed"}, "",
		"blueprint", "apply", blueprintFile(t, "key.yaml", "version: 1\nentries:\n  - model: authentik_crypto.certificatekeypair\n"+
			"    identifiers: {name: mine}\n    attrs: {certificate_data: x, key_data: y}\n"))
}

func blueprintFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
