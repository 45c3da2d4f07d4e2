package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/reqinfo"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqlitetest"
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

func newStore(t *testing.T) *sqlstore.DB {
	t.Helper()
	db := sqlitetest.Open(t)
	return db
}

func TestRecordAddsTheRequest(t *testing.T) {
	db := newStore(t)
	ten, err := db.Tenants().EnsureDefault(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sc := db.Scope(ten.ID)
	var recorded []string
	w := &Writer{Log: slog.New(slog.DiscardHandler), Recorded: func(a string) { recorded = append(recorded, a) }}
	ctx := reqinfo.With(t.Context(), &reqinfo.Origin{RequestID: "req-1", ClientIP: "192.0.2.7", Method: "POST",
		Path: "/api/v3/flows/executor/x/", UserAgent: "Mozilla/5.0 (test)"})
	w.Record(ctx, sc, &store.Event{Action: "login", Username: "alice", Context: map[string]any{"password": "hunter2"}})
	w.Record(ctx, sc, &store.Event{Action: ""}) // refused by the store: logged, not counted
	list, _, err := sc.Events().List(t.Context(), store.EventQuery{})
	if err != nil || len(list) != 1 {
		t.Fatalf("want one event stored, got %d (%v)", len(list), err)
	}
	e := list[0]
	req, _ := e.Context["http_request"].(map[string]any)
	if e.ClientIP != "192.0.2.7" || e.UserAgent != "Mozilla/5.0 (test)" || req["request_id"] != "req-1" || e.Context["password"] != Masked {
		t.Errorf("stored event: want the request's IP, user agent and ID and a masked password, got %+v", e)
	}
	if len(recorded) != 1 || recorded[0] != "login" {
		t.Errorf("Recorded: want only the stored login, got %v", recorded)
	}
}

// TestQueuedWriter drives the started writer: events queued from many
// goroutines are all stored (in tenant order within a batch), a Flush
// returns only after the events before it are readable, a bad event in a
// batch loses only itself, and Stop drains what is still queued.
func TestQueuedWriter(t *testing.T) {
	db := newStore(t)
	ctx := t.Context()
	a, b := &store.Tenant{Name: "a"}, &store.Tenant{Name: "b"}
	for _, ten := range []*store.Tenant{a, b} {
		if err := db.Tenants().Create(ctx, ten); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var recorded, notified int
	w := &Writer{Store: db, Log: slog.New(slog.DiscardHandler),
		Recorded: func(string) { mu.Lock(); recorded++; mu.Unlock() },
		Notify: func(_ context.Context, sc store.Scope, e *store.Event) {
			if e.ID == uuid.Nil || sc.TenantID() == uuid.Nil {
				t.Errorf("notified of an unstored event %+v", e)
			}
			mu.Lock()
			notified++
			mu.Unlock()
		}}
	w.Start()
	const per = 300 // more than one batch
	var wg sync.WaitGroup
	for _, ten := range []*store.Tenant{a, b} {
		wg.Go(func() {
			for i := range per {
				w.Record(ctx, db.Scope(ten.ID), &store.Event{Action: "login", Context: map[string]any{"i": i, "secret": "s"}})
			}
		})
	}
	// An event for a tenant that does not exist fails its transaction;
	// the tenant's other events in the batch must survive.
	gone := db.Scope(uuid.New())
	w.Record(ctx, gone, &store.Event{Action: "login"})
	// So does one the store refuses, within a tenant's batch.
	w.Record(ctx, db.Scope(a.ID), &store.Event{Action: ""})
	wg.Wait()
	w.Flush(ctx)
	for _, ten := range []*store.Tenant{a, b} {
		list, n, err := db.Scope(ten.ID).Events().List(ctx, store.EventQuery{Page: store.Page{Size: 1}})
		if err != nil || n != per {
			t.Fatalf("tenant %s after Flush: want %d events, got %d (%v)", ten.Name, per, n, err)
		}
		if list[0].Context["secret"] != Masked {
			t.Errorf("queued event not masked: %v", list[0].Context)
		}
	}
	for i := range 10 {
		w.Record(ctx, db.Scope(a.ID), &store.Event{Action: "logout", Context: map[string]any{"i": i}})
	}
	w.Stop()
	if _, n, _ := db.Scope(a.ID).Events().List(ctx, store.EventQuery{Action: "logout"}); n != 10 {
		t.Errorf("Stop: want the 10 queued logouts stored, got %d", n)
	}
	// After Stop, events are stored before Record returns.
	w.Record(ctx, db.Scope(b.ID), &store.Event{Action: "logout"})
	if _, n, _ := db.Scope(b.ID).Events().List(ctx, store.EventQuery{Action: "logout"}); n != 1 {
		t.Errorf("after Stop: want the logout stored at once, got %d", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := 2*per + 11; recorded != want || notified != want {
		t.Errorf("want %d stored events recorded and notified, got %d and %d", want, recorded, notified)
	}
}

func TestRecordNowReportsAndNotifies(t *testing.T) {
	db := newStore(t)
	ten, err := db.Tenants().EnsureDefault(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var notified []string
	w := &Writer{Store: db, Log: slog.New(slog.DiscardHandler),
		Notify: func(_ context.Context, _ store.Scope, e *store.Event) { notified = append(notified, e.Action) }}
	w.Start()
	defer w.Stop()
	if err := w.RecordNow(t.Context(), db.Scope(ten.ID), &store.Event{Action: "custom_x"}); err != nil {
		t.Fatal(err)
	}
	if err := w.RecordNow(t.Context(), db.Scope(ten.ID), &store.Event{}); err == nil {
		t.Error("RecordNow of an event without action: want the store's error")
	}
	if len(notified) != 1 || notified[0] != "custom_x" {
		t.Errorf("want custom_x notified once, got %v", notified)
	}
}

func TestRetentionAcrossTenants(t *testing.T) {
	db := newStore(t)
	ctx := t.Context()
	day := 24 * time.Hour
	short, long := &store.Tenant{Name: "short", EventRetention: day}, &store.Tenant{Name: "long"}
	for _, ten := range []*store.Tenant{short, long} {
		if err := db.Tenants().Create(ctx, ten); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, ten := range []*store.Tenant{short, long} {
		for i := range 3 {
			if err := db.Scope(ten.ID).Events().Create(ctx, &store.Event{Action: "login", CreatedAt: start.Add(time.Duration(i) * day)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	now := start.Add(2*day + time.Hour)
	var logged bytes.Buffer
	run := Retention(db, func() time.Time { return now }, slog.New(slog.NewTextHandler(&logged, nil)))
	if err := run(ctx); err != nil {
		t.Fatal(err)
	}
	for ten, want := range map[*store.Tenant]int{short: 1, long: 3} {
		if _, n, _ := db.Scope(ten.ID).Events().List(ctx, store.EventQuery{}); n != want {
			t.Errorf("tenant %s after retention at day 2: want %d events, got %d", ten.Name, want, n)
		}
	}
	if !strings.Contains(logged.String(), "count=2") {
		t.Errorf("retention log: want the two deleted events counted, got %q", logged.String())
	}
}

// TestRecordFitsTheContext: the store refuses contexts too large or too
// deep (store.CheckJSON); an event recorded by a feature is kept with the
// offending parts replaced by a note, not lost.
func TestRecordFitsTheContext(t *testing.T) {
	db := newStore(t)
	ten, err := db.Tenants().EnsureDefault(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sc := db.Scope(ten.ID)
	var deep any = "leaf"
	for range 100 {
		deep = map[string]any{"n": deep}
	}
	w := &Writer{Log: slog.New(slog.DiscardHandler)}
	w.Record(t.Context(), sc, &store.Event{Action: "model_updated", Context: map[string]any{
		"model": "user", "changes": map[string]any{"attributes": deep}, "blob": strings.Repeat("x", store.MaxEventContextLen)}})
	list, _, err := sc.Events().List(t.Context(), store.EventQuery{})
	if err != nil || len(list) != 1 {
		t.Fatalf("want the event stored, got %d (%v)", len(list), err)
	}
	b, _ := json.Marshal(list[0].Context)
	for _, want := range []string{`"model":"user"`, `(removed: nested too deep to record)`, `"blob":"(removed: 65538 bytes, too large to record)"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("stored context lacks %s: %.300s", want, b)
		}
	}
}
