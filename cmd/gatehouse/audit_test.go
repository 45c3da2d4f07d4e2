package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestWritesAreAudited: every command that writes records the event the
// API would for the same write (action, the model's app and name, the
// object's pk and name, the changes of an update), marked via cli, and no
// event carries a secret a command was given or printed.
func TestWritesAreAudited(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	certFile, keyFile, keyPEM := writeKeyPair(t)

	// want is one event a command must record; pk finds the object's ID
	// once every command has run, from the store or from what the
	// command printed (out).
	type want struct {
		action, model, name string
		changes             map[string]any
		pk                  func(sc store.Scope, out string) string
	}
	user := func(name string) func(store.Scope, string) string {
		return func(sc store.Scope, _ string) string {
			u, err := sc.Users().GetByUsername(t.Context(), name)
			fatalIf(t, err)
			return u.ID.String()
		}
	}
	group := func(name string) func(store.Scope, string) string {
		return func(sc store.Scope, _ string) string {
			g, err := sc.Groups().GetByName(t.Context(), name)
			fatalIf(t, err)
			return g.ID.String()
		}
	}
	printedKey := func(_ store.Scope, out string) string { id, _, _ := strings.Cut(out, "\t"); return id }
	audited := func(sc store.Scope) *store.Application {
		ap, err := sc.Applications().GetBySlug(t.Context(), "audited")
		fatalIf(t, err)
		return ap
	}
	tests := []struct {
		stdin string
		args  []string
		wants []want
	}{
		{"Audit-Password-1\n", []string{"user", "create", "--username", "auditee", "--password-stdin"},
			[]want{{"model_created", "authentik_core.user", "auditee", nil, user("auditee")}}},
		{"Other-Password-2\n", []string{"user", "set-password", "--username", "auditee"},
			[]want{{"password_set", "", "", nil, user("auditee")}}},
		{"", []string{"group", "create", "--name", "auditors"},
			[]want{{"model_created", "authentik_core.group", "auditors", nil, group("auditors")}}},
		{"", []string{"group", "add-member", "--group", "auditors", "--username", "auditee"},
			[]want{{"model_updated", "authentik_core.group", "auditors", map[string]any{"users_added": []any{"auditee"}}, group("auditors")}}},
		{"", []string{"token", "create", "--username", "auditee", "--identifier", "audit-token"},
			[]want{{"model_created", "authentik_core.token", "audit-token", nil, func(sc store.Scope, _ string) string {
				tok, err := sc.Tokens().GetByIdentifier(t.Context(), uuid.Nil, "audit-token")
				fatalIf(t, err)
				return tok.ID.String()
			}}}},
		{"", []string{"app", "create", "--name", "Audited", "--slug", "audited", "--redirect-uri", "http://localhost:8000/cb"},
			[]want{{"model_created", "authentik_providers_oauth2.oauth2provider", "Audited", nil,
				func(sc store.Scope, _ string) string { return audited(sc).ProviderID.UUID.String() }},
				{"model_created", "authentik_core.application", "Audited", nil,
					func(sc store.Scope, _ string) string { return audited(sc).ID.String() }}}},
		{"", []string{"key", "generate", "--name", "audit-key", "--type", "ec"},
			[]want{{"model_created", keyModel, "audit-key", nil, printedKey}}},
		{"", []string{"key", "import", "--name", "imported-key", "--cert", certFile, "--key", keyFile},
			[]want{{"model_created", keyModel, "imported-key", nil, printedKey}}},
		{"", []string{"key", "rotate", "--name", "audit-key"},
			// The successor is a new key pair, named after its start.
			[]want{{"model_created", keyModel, "", nil, printedKey}}},
		{"", []string{"events", "retention", "--set", "days=90"},
			[]want{{"model_updated", "authentik_tenants.tenant", "", map[string]any{"event_retention": "days=90"},
				func(sc store.Scope, _ string) string { return sc.TenantID().String() }}}},
		{"", []string{"user", "deactivate", "--username", "auditee"},
			[]want{{"model_updated", "authentik_core.user", "auditee", map[string]any{"is_active": false}, user("auditee")}}},
		{"", []string{"user", "create", "--username", "boss", "--superuser"},
			[]want{{"model_created", "authentik_core.user", "boss", nil, user("boss")},
				{"model_updated", "authentik_core.group", "gatehouse Admins", map[string]any{"users_added": []any{"boss"}}, group("gatehouse Admins")}}},
	}
	// Secrets given to or printed by the commands; none may be in an event.
	secrets := []string{"Audit-Password-1", "Other-Password-2"}
	for _, line := range strings.Split(keyPEM, "\n") {
		if len(line) >= 40 { // each full line of the private key's base64
			secrets = append(secrets, line)
		}
	}
	given := len(secrets)
	outs := make([]string, len(tests))
	for i, tc := range tests {
		outs[i] = h.ok(tc.stdin, tc.args...)
		for _, line := range strings.Split(outs[i], "\n") {
			if v, ok := strings.CutPrefix(line, "OIDC_CLIENT_SECRET="); ok {
				secrets = append(secrets, v)
			} else if tc.args[0] == "token" && line != "" {
				secrets = append(secrets, line)
			}
		}
	}
	if len(secrets) != given+2 {
		t.Fatalf("the token key and the client secret were not both found in the output: %d secrets", len(secrets)-given)
	}

	_, sc := h.app()
	for i, tc := range tests {
		for _, w := range tc.wants {
			t.Run(strings.Join(tc.args[:2], "_")+"/"+w.action+"/"+w.model, func(t *testing.T) {
				pk := w.pk(sc, outs[i])
				events, _, err := sc.Events().List(t.Context(), store.EventQuery{Action: w.action, Page: store.Page{Size: store.MaxPageSize}})
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range events {
					if e.Context["via"] != "cli" {
						continue
					}
					if w.model == "" { // password_set names the user, as the API's does
						if e.UserID.UUID.String() == pk {
							return
						}
						continue
					}
					m, _ := e.Context["model"].(map[string]any)
					if m == nil || m["pk"] != pk {
						continue
					}
					if got := str(m["app"]) + "." + str(m["model_name"]); got != w.model {
						t.Errorf("model %s; want %s", got, w.model)
					}
					if (w.name != "" && m["name"] != w.name) || str(m["name"]) == "" {
						t.Errorf("name %v; want %q", m["name"], w.name)
					}
					if w.changes != nil && !reflect.DeepEqual(e.Context["changes"], w.changes) {
						t.Errorf("changes %v; want %v", e.Context["changes"], w.changes)
					}
					return
				}
				seen := make([]map[string]any, len(events))
				for j, e := range events {
					seen[j] = e.Context
				}
				t.Errorf("gatehouse %s recorded no %s of %s %s via cli; %s events: %v", strings.Join(tc.args, " "), w.action, w.model, pk, w.action, seen)
			})
		}
	}

	all, _, err := sc.Events().List(t.Context(), store.EventQuery{Page: store.Page{Size: store.MaxPageSize}})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(all)
	for _, s := range secrets {
		if strings.Contains(string(raw), s) {
			t.Errorf("an event carries a secret a command was given or printed (%q…)", s[:4])
		}
	}
}

// fatalIf ends the test on an error.
func fatalIf(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// writeKeyPair writes a self-signed P-256 certificate and its private key
// as PEM files, for key import, and returns the key's PEM too.
func writeKeyPair(t *testing.T) (certFile, keyFile, keyPEM string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "imported"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	keyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, []byte(keyPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, keyPEM
}

func str(v any) string { s, _ := v.(string); return s }
