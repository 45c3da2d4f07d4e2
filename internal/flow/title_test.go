package flow_test

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/flow"
)

func TestFormatTitle(t *testing.T) {
	for _, c := range []struct{ title, want string }{
		{"Welcome to gatehouse!", "Welcome to gatehouse!"},
		{"Redirecting to %(app)s", "Redirecting to Grafana"},
		{"You've logged out of %(app)s.", "You've logged out of Grafana."},
		{"Hello %(user)s, welcome to %(app)s", "Hello alice, welcome to Grafana"},
		{"100%% %(app)s", "100% Grafana"},
		// What Python's % operator refuses is shown as written, as Authentik does.
		{"100% sure about %(app)s", "100% sure about %(app)s"},
		{"%(other)s and %(app)s", "%(other)s and %(app)s"},
		{"ends with %", "ends with %"},
		{"%(app)d", "%(app)d"},
	} {
		if got := flow.FormatTitle(c.title, "Grafana", "alice"); got != c.want {
			t.Errorf("FormatTitle(%q): want %q, got %q", c.title, c.want, got)
		}
	}
}
