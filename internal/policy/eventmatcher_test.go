package policy

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func TestEventMatcherConfig(t *testing.T) {
	for cfg, field := range map[string]string{
		`{"action": "login_fail"}`:          "action",
		`{"action": "custom_"}`:             "action",
		`{"client_ip": "10.0.0.300"}`:       "client_ip",
		`{"model": "authentik_core"}`:       "model",
		`{"model": "User"}`:                 "model",
		`{"app": "two words"}`:              "app",
		`{"query": "action = \"login\""}`:   "query",
		`{"action": 3}`:                     "config",
		`{"action": "login", "model": "x"}`: "model",
	} {
		_, err := compileEventMatcher(json.RawMessage(cfg))
		var ve *store.ValidationError
		if !errors.As(err, &ve) || ve.Fields[0].Field != field {
			t.Errorf("%s: want an error on %s, got %v", cfg, field, err)
		}
	}
	for _, cfg := range []string{`{}`, `{"action": "login_failed"}`, `{"action": "custom_backup_done"}`,
		`{"client_ip": "2001:db8::1", "app": "grafana", "model": "authentik_core.user", "query": ""}`,
		`{"action": "model_created", "execution_logging": false}`} {
		if _, err := compileEventMatcher(json.RawMessage(cfg)); err != nil {
			t.Errorf("%s: %v", cfg, err)
		}
	}
}

func TestEventMatcherMatches(t *testing.T) {
	login := map[string]any{"action": "login_failed", "client_ip": "192.0.2.7", "app": "",
		"context": map[string]any{"username": "alice"}}
	created := map[string]any{"action": "model_created", "client_ip": "2001:db8::1", "app": "grafana",
		"context": map[string]any{"model": map[string]any{"app": "authentik_core", "model_name": "user"}}}
	for _, c := range []struct {
		cfg   string
		event map[string]any
		want  bool
	}{
		{`{"action": "login_failed"}`, login, true},
		{`{"action": "login"}`, login, false},
		{`{"action": "login_failed", "client_ip": "192.0.2.7"}`, login, true},
		{`{"action": "login_failed", "client_ip": "192.0.2.8"}`, login, false},
		{`{"client_ip": "::ffff:192.0.2.7"}`, login, true},
		{`{"model": "authentik_core.user"}`, created, true},
		{`{"model": "authentik_core.group"}`, created, false},
		{`{"model": "authentik_core.user"}`, login, false},
		{`{"app": "grafana", "client_ip": "2001:0db8:0:0::1"}`, created, true},
		{`{}`, login, false}, // nothing to match: Authentik's matcher fails too
		{`{"action": "login_failed"}`, nil, false},
	} {
		ev, err := compileEventMatcher(json.RawMessage(c.cfg))
		if err != nil {
			t.Fatal(err)
		}
		req := &Request{Context: map[string]any{}}
		if c.event != nil {
			req.Context[EventKey] = c.event
		}
		res, err := ev.Evaluate(context.Background(), req)
		if err != nil || res.Passing != c.want {
			t.Errorf("%s on %v: passing %v (%v), want %v", c.cfg, c.event["action"], res.Passing, err, c.want)
		}
	}
}

// The engine is how notification rules run the matcher: through Kinds.
func TestEventMatcherIsAKind(t *testing.T) {
	e := NewEngine(Kinds(nil), Hooks{}, nil)
	if err := e.Validate("event_matcher", json.RawMessage(`{"action": "login_failed"}`)); err != nil {
		t.Fatal(err)
	}
	if err := e.Validate("event_matcher", json.RawMessage(`{"action": "nope"}`)); err == nil {
		t.Fatal("an unknown action was accepted")
	}
}
