package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

func TestEnqueuedJobRunsWithPayloadAndTenant(t *testing.T) {
	forEachDB(t, func(t *testing.T, d testDB) {
		q := newQueue(t, d, newClock())
		got := make(chan *Job, 1)
		q.Register("test.echo", func(ctx context.Context, j *Job) error { got <- j; return nil })
		start(t, q, 2)

		tenant := uuid.New()
		id, err := q.Enqueue(t.Context(), "test.echo", map[string]string{"to": "alice@example.com"}, Tenant(tenant))
		if err != nil {
			t.Fatal(err)
		}
		var j *Job
		select {
		case j = <-got:
		case <-time.After(5 * time.Second):
			t.Fatal("the enqueued job did not run")
		}
		var p map[string]string
		if err := json.Unmarshal(j.Payload, &p); err != nil || p["to"] != "alice@example.com" {
			t.Errorf("payload = %s (%v), want {\"to\":\"alice@example.com\"}", j.Payload, err)
		}
		if j.ID != id || j.Kind != "test.echo" || j.TenantID != (uuid.NullUUID{UUID: tenant, Valid: true}) ||
			j.Attempt != 1 || j.MaxAttempts != DefaultMaxAttempts {
			t.Errorf("job = %+v, want id %s, kind test.echo, tenant %s, attempt 1 of %d", j, id, tenant, DefaultMaxAttempts)
		}
		db := d.open(t)
		eventually(t, "job done", func() bool { return readJob(t, db, id).State == Done })
		if r := readJob(t, db, id); r.Payload != "{}" || r.LockedUntil != 0 {
			t.Errorf("done job keeps payload %q, lease %d; want {} and 0 (personal data is dropped)", r.Payload, r.LockedUntil)
		}
		st, err := q.Stats(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if c := st.Kinds["test.echo"]; c != (Counts{Done: 1}) {
			t.Errorf("stats = %+v, want one done job", c)
		}
	})
}

func TestFailingTwiceThenSucceedingRunsThreeTimes(t *testing.T) {
	forEachDB(t, func(t *testing.T, d testDB) {
		q := newQueue(t, d, newClock())
		var calls, successes atomic.Int32
		q.Register("test.flaky", func(ctx context.Context, j *Job) error {
			if n := calls.Add(1); int(n) != j.Attempt {
				t.Errorf("call %d saw Attempt %d", n, j.Attempt)
			}
			if j.Attempt <= 2 {
				return fmt.Errorf("smtp: 451 try again later (attempt %d)", j.Attempt)
			}
			successes.Add(1)
			return nil
		})
		start(t, q, 4)
		id, err := q.Enqueue(t.Context(), "test.flaky", nil)
		if err != nil {
			t.Fatal(err)
		}
		db := d.open(t)
		eventually(t, "job done", func() bool { return readJob(t, db, id).State == Done })
		time.Sleep(50 * time.Millisecond) // a few polls: nothing else may run
		if calls.Load() != 3 || successes.Load() != 1 {
			t.Errorf("handler ran %d times with %d successes, want 3 and 1", calls.Load(), successes.Load())
		}
		if r := readJob(t, db, id); r.Attempts != 3 || r.LastError != "" {
			t.Errorf("row = %+v, want 3 attempts and no last error", r)
		}
	})
}

func TestRetryWaitsForBackoff(t *testing.T) {
	forEachDB(t, func(t *testing.T, d testDB) {
		c := newClock()
		var mu sync.Mutex
		var delays []int
		q := newQueue(t, d, c, WithBackoff(func(attempt int) time.Duration {
			mu.Lock()
			defer mu.Unlock()
			delays = append(delays, attempt)
			return time.Duration(attempt) * time.Minute
		}))
		var calls atomic.Int32
		q.Register("test.backoff", func(ctx context.Context, j *Job) error {
			calls.Add(1)
			return errors.New("not yet")
		}, MaxAttempts(3))
		start(t, q, 1)
		id, _ := q.Enqueue(t.Context(), "test.backoff", nil)
		db := d.open(t)

		// Wait for each attempt's result to be recorded, not just for the
		// handler to return: the clock must move after run_at was set.
		waitPending := func(attempts int) jobRow {
			var r jobRow
			eventually(t, fmt.Sprintf("attempt %d recorded", attempts), func() bool {
				r = readJob(t, db, id)
				return r.State == Pending && r.Attempts == attempts
			})
			return r
		}
		if r := waitPending(1); r.RunAt != c.Now().Add(time.Minute).UnixMicro() {
			t.Errorf("after attempt 1: %+v, want run_at one minute ahead", r)
		}
		time.Sleep(50 * time.Millisecond)
		if n := calls.Load(); n != 1 {
			t.Fatalf("ran %d times before the 1 minute backoff passed, want 1", n)
		}
		c.Advance(time.Minute)
		waitPending(2)
		c.Advance(time.Minute) // attempt 2 backs off 2 minutes: not yet due
		time.Sleep(50 * time.Millisecond)
		if n := calls.Load(); n != 2 {
			t.Fatalf("ran %d times before the 2 minute backoff passed, want 2", n)
		}
		c.Advance(time.Minute)
		eventually(t, "job failed", func() bool { return readJob(t, db, id).State == Failed })
		mu.Lock()
		defer mu.Unlock()
		if fmt.Sprint(delays) != "[1 2]" {
			t.Errorf("backoff asked for attempts %v, want [1 2] (none after the last attempt)", delays)
		}
	})
}

func TestMaxAttemptsFailsWithLastError(t *testing.T) {
	forEachDB(t, func(t *testing.T, d testDB) {
		q := newQueue(t, d, newClock())
		var calls atomic.Int32
		q.Register("test.broken", func(ctx context.Context, j *Job) error {
			calls.Add(1)
			return fmt.Errorf("dial tcp 192.0.2.1:25: connect: connection refused (attempt %d)", j.Attempt)
		}, MaxAttempts(3))
		var permCalls atomic.Int32
		q.Register("test.permanent", func(ctx context.Context, j *Job) error {
			permCalls.Add(1)
			return Permanent(errors.New("payload: unexpected end of JSON input"))
		})
		q.Register("test.noisy", func(ctx context.Context, j *Job) error {
			panic(strings.Repeat("é", 2000) + "\x00")
		}, MaxAttempts(1))
		start(t, q, 2)
		broken, _ := q.Enqueue(t.Context(), "test.broken", nil)
		perm, _ := q.Enqueue(t.Context(), "test.permanent", nil)
		noisy, _ := q.Enqueue(t.Context(), "test.noisy", nil)
		db := d.open(t)
		for _, id := range []uuid.UUID{broken, perm, noisy} {
			eventually(t, "job failed", func() bool { return readJob(t, db, id).State == Failed })
		}
		if r := readJob(t, db, broken); calls.Load() != 3 || r.Attempts != 3 ||
			r.LastError != "dial tcp 192.0.2.1:25: connect: connection refused (attempt 3)" {
			t.Errorf("broken job: %d calls, row %+v; want 3 calls and the third attempt's error", calls.Load(), r)
		}
		if r := readJob(t, db, perm); permCalls.Load() != 1 || r.LastError != "payload: unexpected end of JSON input" {
			t.Errorf("permanent error: %d calls, row %+v; want 1 call and its error", permCalls.Load(), r)
		}
		r := readJob(t, db, noisy)
		if len(r.LastError) > maxErrorBytes || !utf8.ValidString(r.LastError) || !strings.HasPrefix(r.LastError, "panic: éé") {
			t.Errorf("panic's last_error is %d bytes (valid UTF-8: %v) starting %.20q; want a valid panic message <= %d bytes",
				len(r.LastError), utf8.ValidString(r.LastError), r.LastError, maxErrorBytes)
		}
		failed, err := q.List(t.Context(), Filter{State: Failed, Kind: "test.broken"})
		if err != nil || len(failed) != 1 || failed[0].ID != broken || failed[0].Attempts != 3 || failed[0].LastError == "" {
			t.Errorf("List(failed, test.broken) = %+v, %v; want the broken job with its error", failed, err)
		}
		st, _ := q.Stats(t.Context())
		if tot := st.Total(); tot.Failed != 3 || tot.Pending+tot.Running+tot.Done != 0 {
			t.Errorf("stats total = %+v, want 3 failed", tot)
		}
	})
}

func TestTwoReplicasNeverRunAJobTwice(t *testing.T) {
	forEachDB(t, func(t *testing.T, d testDB) {
		c := newClock()
		var mu sync.Mutex
		runs := map[uuid.UUID]int{}
		byReplica := [2]int{}
		handler := func(replica int) Handler {
			return func(ctx context.Context, j *Job) error {
				mu.Lock()
				runs[j.ID]++
				byReplica[replica]++
				mu.Unlock()
				time.Sleep(time.Millisecond) // long enough for the replicas to overlap
				return nil
			}
		}
		a, b := newQueue(t, d, c), newQueue(t, d, c)
		a.Register("test.count", handler(0))
		b.Register("test.count", handler(1))
		// The race detector slows the transpiled SQLite a lot; PostgreSQL,
		// where SKIP LOCKED is what is under test, gets the bigger run.
		n := 100
		if d.driver == "postgres" {
			n = 300
		}
		ids := make([]uuid.UUID, 0, n)
		for i := range n {
			q := a
			if i%2 == 1 {
				q = b
			}
			id, err := q.Enqueue(t.Context(), "test.count", i)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		start(t, a, 8)
		start(t, b, 8)
		eventually(t, "all jobs done", func() bool {
			st, err := a.Stats(t.Context())
			return err == nil && st.Kinds["test.count"].Done == n
		})
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			if runs[id] != 1 {
				t.Errorf("job %s ran %d times, want exactly once", id, runs[id])
			}
		}
		t.Logf("replica A ran %d jobs, replica B %d", byReplica[0], byReplica[1])
	})
}

func TestExpiredLeaseIsRetriedByAnotherReplica(t *testing.T) {
	forEachDB(t, func(t *testing.T, d testDB) {
		c := newClock()
		// Replica A claims the job and then vanishes without a result.
		a := newQueue(t, d, c)
		a.Register("test.lease", func(context.Context, *Job) error { return nil }, Timeout(time.Minute))
		id, err := a.Enqueue(t.Context(), "test.lease", nil)
		if err != nil {
			t.Fatal(err)
		}
		claimed, err := a.claim(t.Context(), a.kinds, 1)
		if err != nil || len(claimed) != 1 || claimed[0].ID != id {
			t.Fatalf("claim = %v, %v; want the job", claimed, err)
		}

		b := newQueue(t, d, c)
		got := make(chan *Job, 1)
		b.Register("test.lease", func(ctx context.Context, j *Job) error { got <- j; return nil }, Timeout(time.Minute))
		start(t, b, 1)
		time.Sleep(50 * time.Millisecond)
		select {
		case <-got:
			t.Fatal("replica B ran a job whose lease had not expired")
		default:
		}
		c.Advance(time.Minute + leaseMargin + time.Second)
		select {
		case j := <-got:
			if j.Attempt != 2 {
				t.Errorf("retry after lease expiry has Attempt %d, want 2", j.Attempt)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("replica B did not retry the job after its lease expired")
		}
		db := d.open(t)
		eventually(t, "job done", func() bool { return readJob(t, db, id).State == Done })

		// A wakes up late and reports a failure: its claim is stale, so
		// the result of B's attempt stands.
		if err := a.record(t.Context(), claimed[0], `state = 'failed', last_error = $3`, "stale"); err != nil {
			t.Fatal(err)
		}
		if r := readJob(t, db, id); r.State != Done {
			t.Errorf("a stale worker changed the job to %+v, want it left done", r)
		}
	})
}

func TestUniqueSkipsWhileQueued(t *testing.T) {
	forEachDB(t, func(t *testing.T, d testDB) {
		c := newClock()
		q := newQueue(t, d, c)
		release := make(chan struct{})
		var calls atomic.Int32
		q.Register("test.sync", func(ctx context.Context, j *Job) error {
			calls.Add(1)
			<-release
			return nil
		})
		ctx := t.Context()
		tenantA, tenantB := uuid.New(), uuid.New()
		first, err := q.Enqueue(ctx, "test.sync", 1, Unique("ldap-sync"), Tenant(tenantA))
		if err != nil {
			t.Fatal(err)
		}
		again, err := q.Enqueue(ctx, "test.sync", 2, Unique("ldap-sync"), Tenant(tenantA))
		if err != nil || again != first {
			t.Errorf("second Unique enqueue = %s, %v; want the first job %s and no error", again, err, first)
		}
		other, err := q.Enqueue(ctx, "test.sync", 3, Unique("ldap-sync"), Tenant(tenantB))
		if err != nil || other == first || other == uuid.Nil {
			t.Errorf("another tenant's Unique enqueue = %s, %v; want a new job", other, err)
		}
		start(t, q, 4)
		eventually(t, "both jobs running", func() bool { return calls.Load() == 2 })
		// Still running: another enqueue is skipped.
		if id, err := q.Enqueue(ctx, "test.sync", 4, Unique("ldap-sync"), Tenant(tenantA)); err != nil || id != first {
			t.Errorf("Unique enqueue while running = %s, %v; want the running job %s", id, err, first)
		}
		close(release)
		db := d.open(t)
		eventually(t, "jobs done", func() bool { return readJob(t, db, first).State == Done })
		// Finished: the key is free again.
		next, err := q.Enqueue(ctx, "test.sync", 5, Unique("ldap-sync"), Tenant(tenantA))
		if err != nil || next == first || next == uuid.Nil {
			t.Errorf("Unique enqueue after the job finished = %s, %v; want a new job", next, err)
		}
		eventually(t, "third job ran", func() bool { return calls.Load() == 3 })
	})
}

func TestRunReturnsPromptlyAndReleasesTheJob(t *testing.T) {
	forEachDB(t, func(t *testing.T, d testDB) {
		q := newQueue(t, d, newClock())
		started := make(chan struct{})
		q.Register("test.slow", func(ctx context.Context, j *Job) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		})
		id, _ := q.Enqueue(t.Context(), "test.slow", nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- q.Run(ctx, 2) }()
		<-started
		if err := q.Run(ctx, 1); err == nil {
			t.Error("a second Run on the same queue returned nil, want an error")
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want nil after cancellation", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Run did not return within 2 s of cancellation")
		}
		if r := readJob(t, d.open(t), id); r.State != Pending || r.Attempts != 0 || r.LockedUntil != 0 {
			t.Errorf("interrupted job = %+v, want pending again with the attempt not counted", r)
		}
	})
}

func TestRetentionDeletesFinishedJobs(t *testing.T) {
	forEachDB(t, func(t *testing.T, d testDB) {
		c := newClock()
		q := newQueue(t, d, c)
		q.Register("test.ok", func(context.Context, *Job) error { return nil })
		q.Register("test.bad", func(context.Context, *Job) error { return errors.New("no") }, MaxAttempts(1))
		ok, _ := q.Enqueue(t.Context(), "test.ok", nil)
		bad, _ := q.Enqueue(t.Context(), "test.bad", nil)
		pending, _ := q.Enqueue(t.Context(), "test.ok", nil, RunAt(c.Now().Add(365*24*time.Hour)))
		start(t, q, 2)
		db := d.open(t)
		eventually(t, "jobs finished", func() bool {
			return readJob(t, db, ok).State == Done && readJob(t, db, bad).State == Failed
		})
		exists := func(id uuid.UUID) bool {
			var n int
			db.QueryRow(`SELECT count(*) FROM jobs WHERE id = $1`, id.String()).Scan(&n)
			return n == 1
		}
		c.Advance(DoneRetention + time.Minute)
		if err := q.deleteFinished(t.Context()); err != nil {
			t.Fatal(err)
		}
		if exists(ok) || !exists(bad) || !exists(pending) {
			t.Errorf("after a day: done kept %v, failed kept %v, pending kept %v; want false, true, true",
				exists(ok), exists(bad), exists(pending))
		}
		c.Advance(FailedRetention)
		if err := q.deleteFinished(t.Context()); err != nil {
			t.Fatal(err)
		}
		if exists(bad) || !exists(pending) {
			t.Errorf("after 30 days: failed kept %v, pending kept %v; want false, true", exists(bad), exists(pending))
		}
	})
}

func TestEnqueueRejectsUnknownKind(t *testing.T) {
	q := New(nil, "sqlite", nil)
	_, err := q.Enqueue(t.Context(), "mail.sned", nil)
	if err == nil || !strings.Contains(err.Error(), `"mail.sned": no handler is registered`) {
		t.Errorf("Enqueue of an unregistered kind = %v, want an error naming it", err)
	}
}

func TestBackoffGrowsWithJitterUpToAnHour(t *testing.T) {
	for _, tc := range []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 7500 * time.Millisecond, 15 * time.Second},
		{2, 15 * time.Second, 30 * time.Second},
		{4, 60 * time.Second, 120 * time.Second},
		{9, 30 * time.Minute, time.Hour},
		{100, 30 * time.Minute, time.Hour},
	} {
		seen := map[time.Duration]bool{}
		for range 50 {
			d := Backoff(tc.attempt)
			if d < tc.min || d > tc.max {
				t.Errorf("Backoff(%d) = %v, want within [%v, %v]", tc.attempt, d, tc.min, tc.max)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("Backoff(%d) took %d distinct values in 50 calls, want jitter", tc.attempt, len(seen))
		}
	}
}

func TestErrorTextIsBoundedValidUTF8(t *testing.T) {
	for _, in := range []string{"short", strings.Repeat("x", 5000), strings.Repeat("中", 1000), "bad \xff\x00 bytes"} {
		out := errorText(errors.New(in))
		if len(out) > maxErrorBytes || !utf8.ValidString(out) || strings.Contains(out, "\x00") {
			t.Errorf("errorText(%.10q...) = %d bytes, valid %v; want <= %d valid bytes without NUL",
				in, len(out), utf8.ValidString(out), maxErrorBytes)
		}
	}
	if got := errorText(errors.New("short")); got != "short" {
		t.Errorf("errorText(short) = %q, want it unchanged", got)
	}
}
