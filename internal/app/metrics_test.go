package app

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// scrape returns the metrics endpoint's body.
func (e *testEnv) scrape() string {
	e.t.Helper()
	e.app.FlushEvents(context.Background()) // event and login counters move as events are stored
	rec := httptest.NewRecorder()
	e.app.Server.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		e.t.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

// metric reads one sample's value (0 when absent).
func metric(body, series string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` ([0-9.e+-]+)$`).FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice", "Alice-Password-1", store.UserInternal)
	id, secret := e.oidcApp("metrics-app", nil)
	before := e.scrape()

	c := e.client()
	c.login("alice", "Alice-Password-1")
	bad := e.client()
	bad.post("default-authentication-flow", map[string]any{"uid_field": "alice"})
	bad.post("default-authentication-flow", map[string]any{"password": "wrong-password"})
	r := e.rp("metrics-app", id, secret)
	cb := c.authorize(r.conf.AuthCodeURL("s"))
	if _, err := r.conf.Exchange(context.Background(), cb.Query().Get("code")); err != nil {
		t.Fatal(err)
	}

	after := e.scrape()
	for series, want := range map[string]float64{
		`gatehouse_logins_total{result="success"}`:                                               1,
		`gatehouse_logins_total{result="failure"}`:                                               1,
		`gatehouse_events_total{action="login"}`:                                                 1,
		`gatehouse_flow_executions_total{flow="default-authentication-flow",result="completed"}`: 1,
		`gatehouse_tokens_issued_total{grant="authorization_code",provider="metrics-app"}`:       1,
	} {
		if d := metric(after, series) - metric(before, series); d != want {
			t.Errorf("%s moved by %v, want %v", series, d, want)
		}
	}
	for _, series := range []string{`gatehouse_sessions_active`, `gatehouse_flow_stage_duration_seconds_count{kind="password",outcome="next"}`,
		`gatehouse_http_requests_total{code="200",method="GET",route="/application/o/{slug}/.well-known/openid-configuration"}`,
		`go_sql_open_connections{db_name="sqlite"}`, `gatehouse_build_info`} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series)).MatchString(after) {
			t.Errorf("no %s in the scrape", series)
		}
	}
	if metric(after, "gatehouse_sessions_active") < 1 {
		t.Errorf("gatehouse_sessions_active = %v, want at least alice's session", metric(after, "gatehouse_sessions_active"))
	}
	// Labels are templates, never raw paths or user input.
	if regexp.MustCompile(`route="/application/o/metrics-app/`).MatchString(after) {
		t.Error("a raw path leaked into a route label")
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("GATEHOUSE_TEST_REQUIRE_ALL") == "1" {
			t.Fatal("promtool (Debian package prometheus) is required")
		}
		t.Skip("promtool not installed")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewBufferString(after)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
