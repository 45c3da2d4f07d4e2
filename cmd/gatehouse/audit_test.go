package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestWritesAreAudited: every command that writes records the event the
// API would for the same write (the model's app and name, its pk and
// name, via cli), and no event carries a secret a command printed.
func TestWritesAreAudited(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	secrets := []string{"Audit-Password-1", "Other-Password-2"}
	h.ok("Audit-Password-1\n", "user", "create", "--username", "auditee", "--password-stdin")
	h.ok("Other-Password-2\n", "user", "set-password", "--username", "auditee")
	h.ok("", "group", "create", "--name", "auditors")
	h.ok("", "group", "add-member", "--group", "auditors", "--username", "auditee")
	secrets = append(secrets, strings.TrimSpace(h.ok("", "token", "create", "--username", "auditee", "--identifier", "audit-token")))
	app := h.ok("", "app", "create", "--name", "Audited", "--slug", "audited", "--redirect-uri", "http://localhost:8000/cb")
	for _, line := range strings.Split(app, "\n") {
		if v, ok := strings.CutPrefix(line, "OIDC_CLIENT_SECRET="); ok {
			secrets = append(secrets, v)
		}
	}
	h.ok("", "key", "generate", "--name", "audit-key", "--type", "ec")
	h.ok("", "key", "rotate", "--name", "audit-key")
	h.ok("", "events", "retention", "--set", "days=90")
	h.ok("", "user", "deactivate", "--username", "auditee")
	h.ok("", "user", "create", "--username", "boss", "--superuser")

	_, sc := h.app()
	list, _, err := sc.Events().List(t.Context(), store.EventQuery{Page: store.Page{Size: store.MaxPageSize}})
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ action, model, name string }
	got := map[key]int{}
	for _, e := range list {
		if e.Context["via"] != "cli" {
			continue
		}
		m, _ := e.Context["model"].(map[string]any)
		if m != nil && m["pk"] == "" {
			t.Errorf("%s without the object's pk: %v", e.Action, e.Context)
		}
		got[key{e.Action, str(m["app"]) + "." + str(m["model_name"]), str(m["name"])}]++
	}
	for _, want := range []key{
		{"model_created", "authentik_core.user", "auditee"},
		{"password_set", ".", ""},
		{"model_created", "authentik_core.group", "auditors"},
		{"model_updated", "authentik_core.group", "auditors"},
		{"model_created", "authentik_core.token", "audit-token"},
		{"model_created", "authentik_providers_oauth2.oauth2provider", "Audited"},
		{"model_created", "authentik_core.application", "Audited"},
		{"model_created", "authentik_crypto.certificatekeypair", "audit-key"},
		{"model_updated", "authentik_tenants.tenant", "Default"},
		{"model_updated", "authentik_core.user", "auditee"},
		{"model_created", "authentik_core.user", "boss"},
		{"model_updated", "authentik_core.group", "gatehouse Admins"},
	} {
		if got[want] == 0 {
			t.Errorf("no %v event; got %v", want, got)
		}
	}
	// key rotate adds a second key pair: its successor's event.
	if n := got[key{"model_created", "authentik_crypto.certificatekeypair", "audit-key"}]; n < 1 {
		t.Errorf("key events: %d", n)
	}
	raw, _ := json.Marshal(list)
	for _, s := range secrets {
		if s != "" && strings.Contains(string(raw), s) {
			t.Errorf("an event carries a secret a command printed (%q…)", s[:4])
		}
	}
}

func str(v any) string { s, _ := v.(string); return s }
