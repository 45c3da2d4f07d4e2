package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func TestAppCreateShowList(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	out := h.ok("", "app", "create", "--name", "FastAPI demo", "--slug", "fastapi-demo",
		"--redirect-uri", "http://localhost:8000/auth/callback", "--post-logout-redirect-uri", "http://localhost:8000/",
		"--launch-url", "http://localhost:8000/")
	re := regexp.MustCompile(`^AUTHENTIK_ISSUER=http://localhost:9000/application/o/fastapi-demo/\nOIDC_CLIENT_ID=([A-Za-z0-9]{40})\nOIDC_CLIENT_SECRET=([A-Za-z0-9]{128})\n$`)
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("app create printed %q; want the seed's .env lines", out)
	}
	// The secret is shown again on request, and only then.
	if got := h.ok("", "app", "show", "--slug", "fastapi-demo"); strings.Contains(got, m[2]) || !strings.Contains(got, m[1]) {
		t.Errorf("app show without --secret printed %q", got)
	}
	if got := h.ok("", "app", "show", "--slug", "fastapi-demo", "--secret"); got != out {
		t.Errorf("app show --secret printed %q, want %q", got, out)
	}
	if got := h.ok("", "app", "list"); !strings.Contains(got, "fastapi-demo") || !strings.Contains(got, m[1]) {
		t.Errorf("app list printed %q", got)
	}
	_, sc := h.app()
	if evs, _, _ := sc.Events().List(t.Context(), store.EventQuery{Action: "secret_view"}); len(evs) != 1 || strings.Contains(evs[0].Context["provider"].(string), m[2]) {
		t.Errorf("secret_view events = %v, want one without the secret", evs)
	}

	// Refusals leave nothing behind: the provider created before the
	// application failed is rolled back with it.
	h.fails(2, []string{"--slug: already exists"}, "", "app", "create", "--name", "again", "--slug", "fastapi-demo",
		"--redirect-uri", "http://localhost:8000/cb")
	h.fails(2, []string{"--slug"}, "", "app", "create", "--name", "x", "--slug", "authorize", "--redirect-uri", "http://a/cb")
	h.fails(2, []string{`--redirect-uri: "not a url" is not an absolute URL`}, "", "app", "create", "--name", "x", "--slug", "x",
		"--redirect-uri", "not a url")
	h.fails(2, []string{"--name and --slug are required"}, "", "app", "create", "--slug", "x")
	h.fails(2, []string{`--slug: no application "nope"`}, "", "app", "show", "--slug", "nope")
	if _, n, err := sc.Providers().List(t.Context(), store.ObjectQuery{}); err != nil || n != 1 {
		t.Errorf("%d providers after refused creates (err %v), want 1", n, err)
	}

	pub := h.ok("", "app", "create", "--name", "SPA", "--slug", "spa", "--public", "--redirect-uri", "http://localhost:5173/cb")
	if strings.Contains(pub, "OIDC_CLIENT_SECRET") {
		t.Errorf("a public client got a secret: %q", pub)
	}
}

// TestAppIssuerIsDiscoveryIssuer: the AUTHENTIK_ISSUER that app create and
// app show print is, byte for byte, the issuer the provider's discovery
// document states, in both issuer modes: go-oidc and openid-client refuse
// discovery when the issuer they were given differs even by its trailing
// slash.
func TestAppIssuerIsDiscoveryIssuer(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	h.env["GATEHOUSE_EXTERNAL_URL"] = "https://id.example.com"
	issuerRe := regexp.MustCompile(`(?m)^AUTHENTIK_ISSUER=(.*)$`)
	printed := func(out string) string {
		t.Helper()
		m := issuerRe.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no AUTHENTIK_ISSUER line in %q", out)
		}
		return m[1]
	}
	perProvider := printed(h.ok("", "app", "create", "--name", "Per provider", "--slug", "per-provider",
		"--redirect-uri", "https://app.example.com/cb"))
	h.ok("", "app", "create", "--name", "Global", "--slug", "global", "--redirect-uri", "https://other.example.com/cb")
	_, sc := h.app()
	ap, err := sc.Applications().GetBySlug(t.Context(), "global")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Providers().Update(t.Context(), ap.ProviderID.UUID, func(p *store.Provider) error {
		var cfg map[string]any
		if err := json.Unmarshal(p.Config, &cfg); err != nil {
			return err
		}
		cfg["issuer_mode"] = "global"
		b, err := json.Marshal(cfg)
		p.Config = b
		return err
	}); err != nil {
		t.Fatal(err)
	}
	global := printed(h.ok("", "app", "show", "--slug", "global"))

	a := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, env: h.lookup}
	x, err := a.openFull(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.Close)
	srv := httptest.NewServer(x.full.Handler())
	t.Cleanup(srv.Close)
	for slug, issuer := range map[string]string{"per-provider": perProvider, "global": global} {
		resp, err := http.Get(srv.URL + "/application/o/" + slug + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ Issuer string }
		err = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if err != nil || doc.Issuer != issuer {
			t.Errorf("%s: the CLI printed AUTHENTIK_ISSUER=%s, discovery states %q (%v)", slug, issuer, doc.Issuer, err)
		}
	}
	if perProvider != "https://id.example.com/application/o/per-provider/" || global != "https://id.example.com/" {
		t.Errorf("printed issuers %q and %q, want each mode's form with its trailing slash", perProvider, global)
	}
}

func TestBlueprintApply(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	signup := write("enable-signup.yaml", `version: 1
entries:
  - model: authentik_stages_identification.identificationstage
    identifiers: {name: default-authentication-identification}
    attrs:
      enrollment_flow: !Find [authentik_flows.flow, [slug, default-enrollment-flow]]
  - model: authentik_core.group
    identifiers: {name: !Env [GROUP_NAME, fallback]}
`)
	h.env["GROUP_NAME"] = "from-env"
	if got := h.ok("", "blueprint", "apply", signup); got != "created 1, updated 1, unchanged 0, deleted 0, skipped 0\n" {
		t.Errorf("first apply printed %q", got)
	}
	if got := h.ok("", "blueprint", "apply", signup); got != "created 0, updated 0, unchanged 2, deleted 0, skipped 0\n" {
		t.Errorf("second apply printed %q", got)
	}
	_, sc := h.app()
	if _, err := sc.Groups().GetByName(t.Context(), "from-env"); err != nil {
		t.Errorf("!Env did not read the command's environment: %v", err)
	}

	// All or nothing: the valid first entry is not kept when the second fails.
	bad := write("bad.yaml", `version: 1
entries:
  - model: authentik_core.group
    identifiers: {name: kept-only-if-all-apply}
  - model: authentik_policies_expression.expressionpolicy
    identifiers: {name: broken}
    attrs: {expression: "return ("}
`)
	h.fails(2, []string{"bad.yaml", "nothing was changed"}, "", "blueprint", "apply", bad)
	if _, err := sc.Groups().GetByName(t.Context(), "kept-only-if-all-apply"); err == nil {
		t.Error("a failed blueprint left its first entry behind")
	}
	h.fails(2, []string{"version 2 is not supported"}, "", "blueprint", "apply", write("v2.yaml", "version: 2\n"))
	h.fails(2, []string{"missing.yaml: no such file or directory"}, "", "blueprint", "apply", filepath.Join(dir, "missing.yaml"))
	h.fails(2, []string{"a blueprint FILE is required"}, "", "blueprint", "apply")
}

func TestKeys(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	out := h.ok("", "key", "generate", "--name", "es-key", "--type", "ec")
	if !strings.Contains(out, "\tes-key\tec\tkid=") {
		t.Fatalf("key generate printed %q", out)
	}
	h.ok("", "app", "create", "--name", "grafana", "--slug", "grafana", "--signing-key", "es-key",
		"--redirect-uri", "https://grafana.example.com/login/generic_oauth")
	_, sc := h.app()
	ap, _ := sc.Applications().GetBySlug(t.Context(), "grafana")
	p, _ := sc.Providers().Get(t.Context(), ap.ProviderID.UUID)
	k, _ := sc.CertificateKeyPairs().GetByName(t.Context(), "es-key")
	if !strings.Contains(string(p.Config), k.ID.String()) {
		t.Errorf("provider config %s does not name es-key %s", p.Config, k.ID)
	}
	rot := h.ok("", "key", "rotate", "--name", "es-key", "--publish-ahead", "hours=24", "--grace", "hours=2")
	if !strings.Contains(rot, "es-key (") {
		t.Errorf("key rotate printed %q", rot)
	}
	list := h.ok("", "key", "list")
	if strings.Count(list, "es-key") != 2 || !strings.Contains(list, "Gatehouse Self-signed Certificate") {
		t.Errorf("key list:\n%s", list)
	}

	h.fails(2, []string{"--name is required"}, "", "key", "generate")
	h.fails(2, []string{"--type: must be one of rsa, ec, ed25519"}, "", "key", "generate", "--name", "x", "--type", "dsa")
	h.fails(2, []string{"--name: already exists"}, "", "key", "generate", "--name", "es-key")
	h.fails(2, []string{`--name: no key "nope"`}, "", "key", "rotate", "--name", "nope")
	h.fails(2, []string{`--grace: "-1h" is not a duration`}, "", "key", "rotate", "--name", "es-key", "--grace", "-1h")
	h.fails(2, []string{`--signing-key: no key "nope"`}, "", "app", "create", "--name", "a", "--slug", "a", "--signing-key", "nope")
	dir := t.TempDir()
	garbage := filepath.Join(dir, "c.pem")
	os.WriteFile(garbage, []byte("not pem"), 0o600)
	h.fails(2, []string{"--cert: is not a PEM-encoded X.509 certificate"}, "", "key", "import", "--name", "x", "--cert", garbage)
	h.fails(2, []string{"--cert: no such file or directory"}, "", "key", "import", "--name", "x", "--cert", filepath.Join(dir, "missing"))
}
