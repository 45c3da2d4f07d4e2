package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/job"
	"github.com/gatehouse-id/gatehouse/internal/notification"
	"github.com/gatehouse-id/gatehouse/internal/notification/notifytest"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestWebhookDeniedNetworks: with notifications.webhook_denied_cidrs, a
// webhook whose address falls in a denied network is never contacted (the
// check is on the address dialled, so a name resolving there is refused
// too), and the delivery fails at once naming the setting. Without it,
// the same receiver gets the POST (TestNotificationWebhookOnFailedLogin).
func TestWebhookDeniedNetworks(t *testing.T) {
	e := newEnvWith(t, envOptions{app: Options{jobOptions: []job.Option{
		job.WithBackoff(func(int) time.Duration { return 20 * time.Millisecond }),
		job.WithPollInterval(50 * time.Millisecond),
	}}}, func(c *config.Config) {
		c.Notifications.WebhookDeniedCIDRs = []string{"10.0.0.0/8", "127.0.0.0/8", "::1/128"}
	})
	rcv := notifytest.Start(t)
	// By name: "localhost" resolves into the denied loopback networks.
	url := strings.Replace(rcv.URL, "127.0.0.1", "localhost", 1)
	if err := e.applyNotify(notifyBlueprint(matchLoginFailed, webhookTransport("webhook", url))); err != nil {
		t.Fatal(err)
	}
	e.securityMember("secadmin")
	e.createUser("alice", "alice's password", store.UserInternal)
	e.client().failLogin("alice")
	e.app.FlushEvents(context.Background()) // the event's dispatch is queued once it is stored
	e.waitJobsIdle()
	if n := len(rcv.Requests()); n != 0 {
		t.Fatalf("a webhook into a denied network was contacted %d times", n)
	}
	var state, lastError string
	var attempts int
	err := e.app.DB().SQL().QueryRow(`SELECT state, attempts, last_error FROM jobs WHERE kind = $1`, notification.DeliverJob).
		Scan(&state, &attempts, &lastError)
	if err != nil {
		t.Fatal(err)
	}
	if state != "failed" || attempts != 1 || !strings.Contains(lastError, "is in notifications.webhook_denied_cidrs (127.0.0.0/8)") {
		t.Fatalf("delivery: want failed at once naming the setting, got %s after %d attempts: %q", state, attempts, lastError)
	}
}
