package audit

import (
	"context"
	"log/slog"
	"testing"

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
