package sqlstore_test

import (
	"os"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// TestEventRetentionBatches deletes a backlog larger than one batch: every
// expired event goes, in several bounded statements, and nothing else.
func TestEventRetentionBatches(t *testing.T) {
	dbs := map[string]func(testing.TB) *sqlstore.DB{"sqlite": func(t testing.TB) *sqlstore.DB { return NewSQLite(t) }}
	if os.Getenv("GATEHOUSE_TEST_POSTGRES") != "" {
		dbs["postgres"] = func(t testing.TB) *sqlstore.DB { return NewPostgres(t) }
	}
	t.Cleanup(sqlstore.SetEventDeleteBatch(3))
	for name, open := range dbs {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := t.Context()
			ten := &store.Tenant{Name: "t"}
			if err := db.Tenants().Create(ctx, ten); err != nil {
				t.Fatal(err)
			}
			sc := db.Scope(ten.ID)
			now := time.Now()
			for i := range 12 {
				exp := now.Add(-time.Minute)
				if i >= 10 {
					exp = now.Add(time.Minute)
				}
				if err := sc.Events().Create(ctx, &store.Event{Action: "login", Expires: exp}); err != nil {
					t.Fatal(err)
				}
			}
			n, err := sc.Events().DeleteExpired(ctx, now)
			if err != nil || n != 10 {
				t.Fatalf("DeleteExpired over batches of 3: want 10 deleted, got %d (%v)", n, err)
			}
			if _, total, _ := sc.Events().List(ctx, store.EventQuery{}); total != 2 {
				t.Fatalf("want the 2 unexpired events left, got %d", total)
			}
		})
	}
}
