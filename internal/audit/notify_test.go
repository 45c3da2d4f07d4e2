package audit

import (
	"context"
	"log/slog"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Notify sees stored events only, with their ID filled in, so a
// notification dispatch never refers to an event that does not exist.
func TestRecordNotifiesStoredEvents(t *testing.T) {
	db := newStore(t)
	ten, err := db.Tenants().EnsureDefault(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var told []*store.Event
	w := &Writer{Log: slog.New(slog.DiscardHandler), Notify: func(_ context.Context, sc store.Scope, e *store.Event) {
		if sc.TenantID() != ten.ID {
			t.Errorf("Notify got tenant %v, want %v", sc.TenantID(), ten.ID)
		}
		told = append(told, e)
	}}
	w.Record(t.Context(), db.Scope(ten.ID), &store.Event{Action: "login_failed", Username: "alice"})
	w.Record(t.Context(), db.Scope(ten.ID), &store.Event{}) // refused by the store
	if len(told) != 1 || told[0].Action != "login_failed" || told[0].CreatedAt.IsZero() {
		t.Fatalf("Notify was told %+v, want the stored login_failed only", told)
	}
}

// Notify runs in the transaction that stores the event, so what it
// writes commits with the event. When that fails the transaction (here
// at commit, as a PostgreSQL transaction fails after any failed
// statement), the event is stored without it: the record comes first.
func TestEventIsRecordedWhenItsNotificationsFail(t *testing.T) {
	db := newStore(t)
	ctx := t.Context()
	ten, err := db.Tenants().EnsureDefault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sc := db.Scope(ten.ID)
	calls := 0
	w := &Writer{Log: slog.New(slog.DiscardHandler), Notify: func(ctx context.Context, tx store.Scope, e *store.Event) {
		calls++
		// A membership of nobody in no group, checked only at commit.
		for _, q := range []string{`PRAGMA defer_foreign_keys = ON`,
			`INSERT INTO group_members (tenant_id, group_id, user_id) VALUES ($1, $2, $3)`} {
			if _, err := tx.Conn().ExecContext(ctx, q, tx.TenantID(), uuid.New(), uuid.New()); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
	}}
	w.Record(ctx, sc, &store.Event{Action: "login_failed", Username: "alice"})
	list, _, err := sc.Events().List(ctx, store.EventQuery{})
	if err != nil || len(list) != 1 || list[0].Action != "login_failed" {
		t.Fatalf("events: %d (%v), want the login_failed event recorded", len(list), err)
	}
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM group_members`).Scan(&n); err != nil || n != 0 || calls != 1 {
		t.Fatalf("Notify ran %d times, its write left %d rows (%v); want once and none", calls, n, err)
	}
}
