package app

import (
	"reflect"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestRecoveryEmailThrottle: a dozen recovery requests for one account
// mail it only throttle.email_account_per_hour links, and one client IP
// gets only throttle.email_ip_per_hour links whoever they are for. A
// throttled request sees exactly the page a served one does. The real
// SMTP server counts what was sent.
func TestRecoveryEmailThrottle(t *testing.T) {
	ask := func(e *testEnv, who string) challenge {
		t.Helper()
		ch := e.client().post("default-recovery-flow", map[string]any{"uid_field": who})
		if ch.component() != "ak-stage-email" {
			t.Fatalf("recovery for %s: want the check-your-email page, got %v", who, ch)
		}
		return ch
	}
	sent := func(e *testEnv) map[string]int {
		e.waitJobsIdle()
		out := map[string]int{}
		for _, m := range e.smtp.Messages() {
			for _, to := range m.To {
				out[to]++
			}
		}
		return out
	}

	t.Run("per account", func(t *testing.T) {
		e := recoveryEnv(t, func(c *config.Config) { c.Throttle.EmailAccountPerHour = 3 })
		first := ask(e, "bob@example.com")
		for range 11 {
			if last := ask(e, "bob@example.com"); !reflect.DeepEqual(last, first) {
				t.Fatalf("a throttled request must look like a served one: first %v, now %v", first, last)
			}
		}
		if got := sent(e); got["bob@example.com"] != 3 {
			t.Fatalf("12 requests with email_account_per_hour 3: want 3 mails to bob, got %v", got)
		}
	})
	t.Run("per client IP", func(t *testing.T) {
		e := recoveryEnv(t, func(c *config.Config) { c.Throttle.EmailIPPerHour = 2 })
		e.createUser("carol", "Carol-Password-1", store.UserInternal)
		e.createUser("dave", "Dave-Password-1", store.UserInternal)
		ask(e, "nobody@example.com") // an unknown account spends the IP's budget too
		for _, who := range []string{"bob@example.com", "carol@example.com", "dave@example.com"} {
			ask(e, who)
		}
		if got := sent(e); len(got) != 1 || got["bob@example.com"] != 1 {
			t.Fatalf("4 requests from one IP with email_ip_per_hour 2: want only bob's mail, got %v", got)
		}
	})
}
