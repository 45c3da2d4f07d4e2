package invalidate_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/invalidate"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// replica is one process's view of the shared database: a store and a bus
// that listens.
type replica struct {
	db  *sqlstore.DB
	bus *invalidate.Bus
	// topics hears every topic the tests publish.
	providers, flows *heard
}

// postgres returns the GATEHOUSE_TEST_POSTGRES DSN, skipping the test
// without it (failing under GATEHOUSE_TEST_REQUIRE_ALL=1). NOTIFY needs no
// tables, so the database is used as it is; announcements of other tests
// sharing it carry other tenants, which these tests ignore.
func postgres(t *testing.T) string {
	dsn := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("GATEHOUSE_TEST_REQUIRE_ALL") == "1" {
			t.Fatal("GATEHOUSE_TEST_POSTGRES is not set and GATEHOUSE_TEST_REQUIRE_ALL=1")
		}
		t.Skip("GATEHOUSE_TEST_POSTGRES is not set")
	}
	return dsn
}

// startReplica opens a store and starts its bus's listener, returning once
// it listens (it then drops every cache: the subscribers hear AllTenants).
func startReplica(t *testing.T, dsn string) *replica {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), sqlstore.Options{Driver: "postgres", DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r := &replica{db: db, bus: invalidate.New(db, nil)}
	r.providers, r.flows = listenTo(r.bus, invalidate.Providers), listenTo(r.bus, invalidate.Flows)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.bus.Listen(ctx, dsn) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Listen returned %v after its context ended, want nil", err)
		}
	})
	r.providers.await(t, invalidate.AllTenants, "the first connection's drop of every cache")
	if !r.bus.Listening() {
		t.Fatal("the subscribers were told to drop everything, but the bus does not say it listens")
	}
	return r
}

// await waits up to a second for the subscriber to hear tenant, skipping
// what other tests' tenants announce, and returns how long it took.
func (h *heard) await(t *testing.T, tenant uuid.UUID, what string) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := time.After(time.Second)
	for {
		select {
		case got := <-h.arrived:
			if got == tenant {
				return time.Since(start)
			}
		case <-deadline:
			t.Fatalf("%s: not heard within a second (heard %v)", what, h.got())
			return 0
		}
	}
}

func (h *heard) count(tenant uuid.UUID) int {
	n := 0
	for _, got := range h.got() {
		if got == tenant {
			n++
		}
	}
	return n
}

// An announcement on one replica reaches the other's subscribers within a
// second, and its own exactly once (at the commit, not again as an echo
// through its listener).
func TestPublishReachesOtherReplicas(t *testing.T) {
	dsn := postgres(t)
	a, b := startReplica(t, dsn), startReplica(t, dsn)
	tenant := uuid.New()

	if err := a.bus.Publish(t.Context(), invalidate.Providers, tenant); err != nil {
		t.Fatal(err)
	}
	took := b.providers.await(t, tenant, "replica b, of replica a's change")
	t.Logf("replica b heard replica a's change after %v", took)
	// A marker published after it arrives after it: by then an echo of the
	// first announcement would have reached a as well.
	marker := uuid.New()
	if err := b.bus.Publish(t.Context(), invalidate.Providers, marker); err != nil {
		t.Fatal(err)
	}
	a.providers.await(t, marker, "replica a, of replica b's marker")
	if n := a.providers.count(tenant); n != 1 {
		t.Errorf("replica a's own subscriber heard its change %d times, want once", n)
	}
	if n := b.flows.count(tenant); n != 0 {
		t.Errorf("a providers announcement reached replica b's flows subscriber")
	}
}

// PostgreSQL sends a transaction's announcement at its commit: another
// replica never hears one that rolled back, nor one before its commit.
func TestPublishTxFollowsTheTransaction(t *testing.T) {
	dsn := postgres(t)
	a, b := startReplica(t, dsn), startReplica(t, dsn)
	sc := a.db.Scope(uuid.New())
	tenant := sc.TenantID()

	boom := errors.New("boom")
	err := sc.Tx(t.Context(), func(tx store.Scope) error {
		if err := a.bus.PublishTx(t.Context(), tx, invalidate.Flows); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx = %v, want boom", err)
	}
	// Notifications arrive in commit order: once b hears a marker sent
	// after the rollback, the rolled-back one can no longer come.
	afterRollback := uuid.New()
	if err := a.bus.Publish(t.Context(), invalidate.Flows, afterRollback); err != nil {
		t.Fatal(err)
	}
	b.flows.await(t, afterRollback, "the marker after the rollback")
	if n := b.flows.count(tenant) + a.flows.count(tenant); n != 0 {
		t.Fatalf("a rolled-back announcement was delivered %d times", n)
	}

	err = sc.Tx(t.Context(), func(tx store.Scope) error {
		if err := a.bus.PublishTx(t.Context(), tx, invalidate.Flows); err != nil {
			return err
		}
		during := uuid.New()
		if err := a.bus.Publish(t.Context(), invalidate.Flows, during); err != nil {
			return err
		}
		b.flows.await(t, during, "a marker sent while the transaction is open")
		if n := b.flows.count(tenant); n != 0 {
			t.Errorf("replica b heard the announcement before the transaction committed")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b.flows.await(t, tenant, "replica b, once the transaction committed")
}

// When the listener's connection is cut, it reconnects, and because it may
// have missed announcements meanwhile it first drops every cache.
func TestListenerReconnectsAndDropsEverything(t *testing.T) {
	dsn := postgres(t)
	a, b := startReplica(t, dsn), startReplica(t, dsn)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	before := b.providers.count(invalidate.AllTenants)
	// Every listener of this database: the others reconnect as well.
	if _, err := admin.ExecContext(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = 'gatehouse-invalidate' AND datname = current_database()`); err != nil {
		t.Fatal(err)
	}
	b.providers.await(t, invalidate.AllTenants, "the drop of every cache after reconnecting")
	if n := b.flows.count(invalidate.AllTenants); n != before+1 {
		t.Errorf("the flows subscriber was told to drop everything %d times, want %d", n, before+1)
	}
	tenant := uuid.New()
	if err := a.bus.Publish(t.Context(), invalidate.Providers, tenant); err != nil {
		t.Fatal(err)
	}
	b.providers.await(t, tenant, "replica b, after reconnecting")
}
