package audit

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	in := map[string]any{
		"username": "alice",
		"password": "hunter2",
		"passing":  true,
		"nested": map[string]any{
			"client_secret": "s3cr3t",
			"list":          []any{map[string]any{"api_key": "k-123", "name": "ok"}, "plain"},
			"Authorization": "Bearer abc",
		},
		"token":      nil,
		"SigningKey": map[string]any{"d": "private-part"},
		"events":     []map[string]any{{"pwd": "x1"}},
	}
	out := Mask(in)
	b, _ := json.Marshal(out)
	for _, secret := range []string{"hunter2", "s3cr3t", "k-123", "private-part", "x1", "Bearer abc"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("masked context still holds %q: %s", secret, b)
		}
	}
	for _, kept := range []string{`"username":"alice"`, `"passing":true`, `"name":"ok"`, `"plain"`, `"token":null`} {
		if !strings.Contains(string(b), kept) {
			t.Errorf("masked context lost %s: %s", kept, b)
		}
	}
	if in["password"] != "hunter2" {
		t.Error("Mask changed its input")
	}
}
