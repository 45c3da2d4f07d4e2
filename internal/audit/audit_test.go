package audit

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
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
	db, err := sqlstore.Open(t.Context(), sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "audit.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
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
	ctx := httpx.WithInfo(t.Context(), &httpx.Info{RequestID: "req-1", ClientIP: "192.0.2.7", Method: "POST",
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
