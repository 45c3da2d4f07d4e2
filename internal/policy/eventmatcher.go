package policy

import (
	"context"
	"encoding/json"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// EventKey is where notification rules put the event they judge in a
// request's context: request.context["event"] in expressions.
const EventKey = "event"

// eventActions are Authentik's EventAction values. An action outside the
// list (and not custom_*) is refused when the policy is saved: a matcher
// for "login_fail" would otherwise never match, and nobody would notice.
var eventActions = []string{
	"login", "login_failed", "logout",
	"user_write", "suspicious_request", "password_set", "secret_view", "secret_rotate",
	"invitation_used", "authorize_application", "source_linked", "impersonation_started", "impersonation_ended",
	"flow_execution", "policy_execution", "policy_exception", "property_mapping_exception",
	"system_task_execution", "system_task_exception", "system_exception", "configuration_error",
	"configuration_warning", "model_created", "model_updated", "model_deleted",
	"email_sent", "update_available", "export_ready",
	"review_initiated", "review_overdue", "review_attested", "review_completed",
}

var (
	customActionRE = regexp.MustCompile(`^custom_[a-z0-9_]{1,93}$`)
	modelRE        = regexp.MustCompile(`^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$`)
)

// eventMatcher is Authentik's EventMatcherPolicy: every field that is set
// must equal the event's; a matcher with no field set matches nothing.
type eventMatcher struct {
	Action   string `json:"action"`
	ClientIP string `json:"client_ip"`
	App      string `json:"app"`
	// Model is "app_label.model_name" (authentik_core.user), compared with
	// the context["model"] that model_* events carry.
	Model string `json:"model"`
	// Query is Authentik's event query language, which we lack; it is
	// read only to refuse it, since ignoring a filter would widen a match.
	Query string `json:"query"`
}

func compileEventMatcher(c json.RawMessage) (Evaluator, error) {
	var m eventMatcher
	if err := decode(c, &m); err != nil {
		return nil, err
	}
	v := &store.ValidationError{}
	if m.Action != "" && !slices.Contains(eventActions, m.Action) && !customActionRE.MatchString(m.Action) {
		v.Add("action", "%q is not an event action (login, login_failed, model_created, custom_..., see docs/notifications.md)", m.Action)
	}
	if m.ClientIP != "" {
		if _, err := netip.ParseAddr(m.ClientIP); err != nil {
			v.Add("client_ip", "%q is not an IP address", m.ClientIP)
		}
	}
	if len(m.App) > store.MaxIdentifierLen || strings.ContainsAny(m.App, " \t\r\n") {
		v.Add("app", "must be an application slug")
	}
	if m.Model != "" && !modelRE.MatchString(m.Model) {
		v.Add("model", "must be app_label.model_name, e.g. authentik_core.user")
	}
	if strings.TrimSpace(m.Query) != "" {
		v.Add("query", "event queries are not supported; use action, client_ip, app and model, or an expression policy")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m eventMatcher) Evaluate(_ context.Context, req *Request) (Result, error) {
	ev, ok := req.Context[EventKey].(map[string]any)
	if !ok {
		return Result{Passing: false}, nil
	}
	str := func(v any) string { s, _ := v.(string); return s }
	model, _ := ev["context"].(map[string]any)
	model, _ = model["model"].(map[string]any)
	checks := []struct{ want, have string }{
		{m.Action, str(ev["action"])},
		{m.ClientIP, sameIP(m.ClientIP, str(ev["client_ip"]))},
		{m.App, str(ev["app"])},
		{m.Model, str(model["app"]) + "." + str(model["model_name"])},
	}
	matched := false
	for _, c := range checks {
		if c.want == "" {
			continue
		}
		if c.want != c.have {
			return Result{Passing: false}, nil
		}
		matched = true
	}
	return Result{Passing: matched}, nil
}

// sameIP returns want when have is the same address written another way
// (::ffff:192.0.2.1, an uncompressed IPv6 address), have otherwise.
func sameIP(want, have string) string {
	w, err1 := netip.ParseAddr(want)
	h, err2 := netip.ParseAddr(have)
	if err1 == nil && err2 == nil && w.Unmap() == h.Unmap() {
		return want
	}
	return have
}
