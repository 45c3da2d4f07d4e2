package mail

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/job"
	"github.com/gatehouse-id/gatehouse/internal/mail/mailtest"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqlitetest"
)

// newQueue opens a migrated SQLite database and a queue on it that retries
// at once, and runs it until the test ends; sc is the default tenant's.
func newQueue(t *testing.T, s Sender) (q *job.Queue, sc store.Scope) {
	t.Helper()
	db, sc := sqlitetest.Default(t)
	q = job.New(db.SQL(), db.Driver(), slog.New(slog.DiscardHandler),
		job.WithPollInterval(10*time.Millisecond), job.WithBackoff(func(int) time.Duration { return 0 }))
	RegisterJob(q, s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx, 2) }()
	t.Cleanup(func() { cancel(); <-done })
	return q, sc
}

func waitForJob(t *testing.T, q *job.Queue, state job.State) job.Info {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		list, err := q.List(t.Context(), job.Filter{Kind: JobKind, State: state})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) > 0 {
			return list[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s job appeared", state)
	return job.Info{}
}

func TestEnqueuedMessageIsDelivered(t *testing.T) {
	ts := mailtest.Start(t, mailtest.Options{STARTTLS: true, Username: "gatehouse", Password: "s3cret"})
	q, sc := newQueue(t, sender(ts, ts.Config()))
	tenant := sc.TenantID()
	if err := EnqueueTx(t.Context(), q, sc, resetMessage(t, "en")); err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, ts.Wait(1))
	done := waitForJob(t, q, job.Done)
	if done.TenantID.UUID != tenant || done.Attempts != 1 {
		t.Errorf("job = %+v, want tenant %s and one attempt", done, tenant)
	}
}

func TestTemporaryFailuresAreRetriedUntilDelivered(t *testing.T) {
	ts := mailtest.Start(t, mailtest.Options{TempFailures: 2})
	q, sc := newQueue(t, sender(ts, ts.Config()))
	if err := EnqueueTx(t.Context(), q, sc, resetMessage(t, "zh-Hans")); err != nil {
		t.Fatal(err)
	}
	got := ts.Wait(1)
	done := waitForJob(t, q, job.Done)
	time.Sleep(50 * time.Millisecond) // several polls: no duplicate may follow
	if n := len(ts.Messages()); n != 1 || done.Attempts != 3 {
		t.Errorf("%d messages delivered after %d attempts, want exactly 1 after 3", n, done.Attempts)
	}
	if link := mailtest.ExtractLink(got.Raw); link != resetLink {
		t.Errorf("link = %q, want %q", link, resetLink)
	}
	parts, _ := mailtest.MIMEParts(got.Raw)
	if !strings.Contains(parts["text/plain"], "重置您账户密码") {
		t.Errorf("the Chinese text did not survive the queue and MIME encoding:\n%s", parts["text/plain"])
	}
}

func TestFailedDeliveryKeepsTheError(t *testing.T) {
	ts := mailtest.Start(t, mailtest.Options{TempFailures: 100})
	q, sc := newQueue(t, sender(ts, ts.Config()))
	if err := EnqueueTx(t.Context(), q, sc, resetMessage(t, "en")); err != nil {
		t.Fatal(err)
	}
	failed := waitForJob(t, q, job.Failed)
	if failed.Attempts != MaxAttempts || !strings.Contains(failed.LastError, "451") ||
		!strings.HasPrefix(failed.LastError, "mail: send via 127.0.0.1:") {
		t.Errorf("failed job = %+v, want %d attempts and the server's 451 in last_error", failed, MaxAttempts)
	}
}

func TestEnqueueValidatesAtOnce(t *testing.T) {
	q, sc := newQueue(t, senderFunc(func(context.Context, Message) error { return nil }))
	m := resetMessage(t, "en")
	m.To = []string{"alice@example.com\r\nBcc: mallory@evil.example"}
	if err := EnqueueTx(t.Context(), q, sc, m); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("EnqueueTx of an injected recipient = %v, want ErrInvalidMessage", err)
	}
	st, err := q.Stats(t.Context())
	if err != nil || st.Total() != (job.Counts{}) {
		t.Errorf("stats = %+v, %v; want nothing queued", st, err)
	}
}

func TestUndeliverablePayloadFailsAtOnce(t *testing.T) {
	var calls atomic.Int32
	q, _ := newQueue(t, senderFunc(func(context.Context, Message) error { calls.Add(1); return nil }))
	// A payload that bypassed EnqueueTx's validation (an older release, a
	// hand-edited row) fails permanently instead of retrying.
	bad, _ := json.Marshal(Message{To: []string{"x\r\nBcc: y@example.com"}, Subject: "s", Text: "t"})
	if _, err := q.Enqueue(t.Context(), JobKind, json.RawMessage(bad)); err != nil {
		t.Fatal(err)
	}
	failed := waitForJob(t, q, job.Failed)
	if failed.Attempts != 1 || !strings.Contains(failed.LastError, "invalid message") || calls.Load() != 0 {
		t.Errorf("job = %+v after %d sends, want a permanent failure after 1 attempt and no send", failed, calls.Load())
	}
}

type senderFunc func(context.Context, Message) error

func (f senderFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }
