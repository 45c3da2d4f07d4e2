package notification

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/job"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

const docSecret = "0123456789abcdef0123456789abcdef"

func (e *env) apply(src string) (blueprint.Result, error) {
	e.t.Helper()
	bp, err := blueprint.Parse("notify.yaml", []byte(src))
	if err != nil {
		e.t.Fatal(err)
	}
	engine := policy.NewEngine(policy.Kinds(nil), policy.Hooks{}, nil)
	models := blueprint.NewRegistry()
	RegisterBlueprint(models)
	return blueprint.Apply(e.t.Context(), e.sc, bp, blueprint.Options{Box: e.box, Models: models,
		Env: func(k string) (string, bool) { return docSecret, k == "NOTIFY_WEBHOOK_SECRET" },
		ValidateConfig: func(family, kind string, config []byte) error {
			if family == blueprint.FamilyPolicy {
				return engine.Validate(kind, config)
			}
			return nil
		}})
}

// docBlueprints returns the YAML of docs/notifications.md, fragments of
// entries made whole.
func docBlueprints(t *testing.T) (string, []string) {
	t.Helper()
	doc, err := os.ReadFile("../../docs/notifications.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 3 {
		t.Fatalf("docs/notifications.md has %d YAML blocks, want the setup example and two fragments", len(blocks))
	}
	var fragments []string
	for _, b := range blocks[1:] {
		fragments = append(fragments, "version: 1\nmetadata: {name: fragment}\nentries:\n"+b[1])
	}
	return blocks[0][1], fragments
}

// The setup example is the blueprint users copy: it must apply, do what the
// page says, and apply again without changes.
func TestDocsSetupExampleApplies(t *testing.T) {
	e := newEnv(t)
	setup, fragments := docBlueprints(t)
	res, err := e.apply(setup)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 6 {
		t.Fatalf("setup example: %+v, want 6 created", res)
	}
	rule, err := e.sc.NotificationRules().GetByName(t.Context(), "failed-logins")
	if err != nil {
		t.Fatal(err)
	}
	security, _ := e.sc.Groups().GetByName(t.Context(), "security")
	if rule.Severity != store.SeverityWarning || rule.GroupID.UUID != security.ID || len(rule.TransportIDs) != 2 {
		t.Fatalf("rule: %+v", rule)
	}
	if bs, _ := e.sc.PolicyBindings().ListForTargets(t.Context(), rule.ID); len(bs) != 1 {
		t.Fatalf("rule bindings: %v", bs)
	}
	hook, err := e.sc.NotificationTransports().GetByName(t.Context(), "security-webhook")
	if err != nil {
		t.Fatal(err)
	}
	if hook.SecretEnc == "" || strings.Contains(hook.SecretEnc, docSecret) {
		t.Fatalf("the secret is not sealed: %q", hook.SecretEnc)
	}
	if got, err := e.box.OpenString(hook.SecretEnc, SecretAAD(e.sc.TenantID(), hook.ID)); err != nil || got != docSecret {
		t.Fatalf("the sealed secret opens to %q, %v", got, err)
	}
	res, err = e.apply(setup)
	if err != nil || res.Unchanged != 6 {
		t.Fatalf("re-applying the setup example: %+v, %v; want 6 unchanged", res, err)
	}
	for _, f := range fragments {
		if _, err := e.apply(f); err != nil {
			t.Errorf("docs fragment:\n%s\n%v", f, err)
		}
	}
	doc, _ := os.ReadFile("../../docs/notifications.md")
	for _, want := range []string{SignatureHeader, TimestampHeader, DeliveryHeader, "within 10 seconds",
		"up to 5 attempts", "after 10 seconds", DispatchJob, DeliverJob, CleanupSchedule} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/notifications.md does not say %q", want)
		}
	}
	if HasRulesTTL.Seconds() != 10 || WebhookTimeout.Seconds() != 10 || job.DefaultMaxAttempts != 5 {
		t.Error("docs/notifications.md quotes a TTL, time-out or attempt count the code no longer has")
	}
}

func TestBlueprintRefusals(t *testing.T) {
	e := newEnv(t)
	entry := func(model, attrs string) string {
		return "version: 1\nmetadata: {name: x}\nentries:\n  - model: " + model + "\n    identifiers: {name: x}\n    attrs: " + attrs + "\n"
	}
	for _, c := range []struct{ src, want string }{
		{entry(TransportModel, `{mode: webhook, webhook_url: "javascript:alert(1)"}`), "webhook_url: must be an http or https URL"},
		{entry(TransportModel, `{mode: webhook_slack, webhook_url: "file:///etc/passwd"}`), "webhook_url: must be an http or https URL"},
		{entry(TransportModel, `{mode: webhook}`), "webhook_url: is required for mode webhook"},
		{entry(TransportModel, `{mode: sms}`), "mode: must be one of local, webhook, webhook_slack, email"},
		{entry(TransportModel, `{mode: webhook, webhook_url: "https://h.example.com/", secret: "short-secret"}`), "secret: must be 16 to 1024 characters"},
		{entry(TransportModel, `{mode: email, email_template: "email/custom.html"}`), "email_template: only email/event_notification.html"},
		{entry(TransportModel, `{mode: webhook, webhook_url: "https://h.example.com/", webhook_ca: "abc"}`), "webhook_ca: is not supported"},
		{entry(RuleModel, `{severity: critical}`), "severity: must be one of notice, warning, alert"},
		{entry(RuleModel, `{transports: [0190f0c4-0000-7000-8000-000000000000]}`), "transports: no notification transport with ID"},
		{entry(RuleModel, `{destination_group: 0190f0c4-0000-7000-8000-000000000000}`), "destination_group: no group with ID"},
		{entry(MappingModel, `{expression: "return {"}`), "expression: x:1:9: syntax error"},
		{entry("authentik_policies_event_matcher.eventmatcherpolicy", `{action: login_fail}`), `action: "login_fail" is not an event action`},
	} {
		_, err := e.apply(c.src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.src, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "short-secret") {
			t.Errorf("the error quotes the secret: %v", err)
		}
	}
	// info is read as notice; the rule can then be updated in place.
	if _, err := e.apply(entry(RuleModel, `{severity: info}`)); err != nil {
		t.Fatal(err)
	}
	if r, _ := e.sc.NotificationRules().GetByName(t.Context(), "x"); r == nil || r.Severity != store.SeverityNotice {
		t.Fatalf("severity info: %+v", r)
	}
	if res, err := e.apply(entry(RuleModel, `{severity: alert, destination_event_user: true}`)); err != nil || res.Updated != 1 {
		t.Fatalf("update: %+v, %v", res, err)
	}
}
