package flow_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/flow/stage"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestValidateStageRefusesUnknownSettings: a setting the stage kind does
// not know is refused, naming it, with the validation error every other
// field error uses; Authentik's settings that gatehouse does not implement
// are still accepted, so Authentik exports apply.
func TestValidateStageRefusesUnknownSettings(t *testing.T) {
	e := flow.NewExecutor(&flow.Env{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, stage.Kinds())
	refused := []struct {
		kind, cfg string
		fields    []string
	}{
		{"password", `{"failed_attemps_before_cancel": 3}`, []string{"failed_attemps_before_cancel"}},
		{"identification", `{"user_fields": ["username"], "recovery": "x", "enrolment_flow": "y"}`, []string{"enrolment_flow", "recovery"}},
		{"deny", `{"message": "closed"}`, []string{"message"}},
		{"user_logout", `{"anything": true}`, []string{"anything"}},
		{"user_login", `{"session_duration": "hours=1", "remember_me": true}`, []string{"remember_me"}},
		{"prompt", `{"fields": [], "policies": []}`, []string{"policies"}},
		{"email", `{"subjet": "Hi"}`, []string{"subjet"}},
		{"dummy", `{"throw": true}`, []string{"throw"}},
	}
	for _, c := range refused {
		err := e.ValidateStage(c.kind, []byte(c.cfg))
		var ve *store.ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s %s: want a validation error, got %v", c.kind, c.cfg, err)
			continue
		}
		var got []string
		for _, f := range ve.Fields {
			got = append(got, f.Field)
			if !strings.Contains(f.Message, "is not a setting of "+c.kind+" stages") {
				t.Errorf("%s: message %q should say the setting is unknown", c.kind, f.Message)
			}
		}
		if strings.Join(got, ",") != strings.Join(c.fields, ",") {
			t.Errorf("%s %s: want errors on %v, got %v", c.kind, c.cfg, c.fields, got)
		}
	}
	// The message lists the kind's settings, so a typo is easy to fix.
	err := e.ValidateStage("password", []byte(`{"failed_attemps_before_cancel": 3}`))
	if err == nil || !strings.Contains(err.Error(), "failed_attempts_before_cancel") {
		t.Errorf("want the known settings listed, got %v", err)
	}

	accepted := []struct{ kind, cfg string }{
		{"password", `{}`},
		{"password", ``},
		{"password", `{"backends": ["authentik.core.auth.InbuiltBackend"], "failed_attempts_before_cancel": 3, "allow_show_password": true, "configure_flow": null}`},
		{"identification", `{"user_fields": ["email"], "sources": [], "show_source_labels": false, "captcha_stage": null, "webauthn_stage": null, "pretend_user_exists": true}`},
		{"email", `{"use_global_settings": true, "host": "localhost", "port": 25, "username": "", "password": "", "use_tls": false, "use_ssl": false, "timeout": 10, "from_address": "a@b.c", "recovery_cache_timeout": "minutes=5"}`},
		{"user_login", `{"session_duration": "hours=1", "network_binding": "no_binding", "geoip_binding": "no_binding", "remember_device": "days=30"}`},
		{"user_write", `{"user_creation_mode": "always_create", "user_type": "external", "user_path_template": "", "create_users_as_inactive": false}`},
		{"consent", `{"mode": "permanent"}`},
		{"deny", `{"deny_message": "closed"}`},
		{"user_logout", `{}`},
	}
	for _, c := range accepted {
		if err := e.ValidateStage(c.kind, []byte(c.cfg)); err != nil {
			t.Errorf("%s %s: want accepted, got %v", c.kind, c.cfg, err)
		}
	}
	// Wrong values are still the kind's own errors.
	if err := e.ValidateStage("password", []byte(`{"failed_attempts_before_cancel": "x"}`)); err == nil ||
		!strings.Contains(err.Error(), "failed_attempts_before_cancel: must be int") {
		t.Errorf("wrong type: got %v", err)
	}
	// What a stored stage shows (stage.Settings) validates again as is, so
	// an API client may send back what it read.
	for kind := range stage.Kinds() {
		if strings.HasPrefix(kind, "gatehouse_") {
			continue
		}
		cfg := `{}`
		switch kind {
		case "redirect":
			cfg = `{"mode": "static", "target_static": "/x"}`
		}
		shown, err := stage.Settings(kind, json.RawMessage(cfg))
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if err := e.ValidateStage(kind, shown); err != nil {
			t.Errorf("%s: its own settings %s are refused: %v", kind, shown, err)
		}
	}
}
