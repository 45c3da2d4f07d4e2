package job

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestEnqueueTxRunsOnlyWhatCommits: a job enqueued in a store transaction
// runs exactly once when the transaction commits and never when it rolls
// back; outside a transaction it is queued at once. On SQLite the insert
// must use the transaction's own connection: another would wait for the
// transaction's write lock and fail. The queue polls once an hour, so the
// committed jobs run only if the commit wakes it.
func TestEnqueueTxRunsOnlyWhatCommits(t *testing.T) {
	forEachDB(t, func(t *testing.T, d testDB) {
		ctx := t.Context()
		db := d.store(t)
		q := newQueueOn(t, db.SQL(), d.driver, newClock(), WithPollInterval(time.Hour))
		var mu sync.Mutex
		runs := map[string]int{}
		tenants := map[string]uuid.NullUUID{}
		q.Register("test.caused", func(ctx context.Context, j *Job) error {
			var what string
			json.Unmarshal(j.Payload, &what)
			mu.Lock()
			defer mu.Unlock()
			runs[what]++
			tenants[what] = j.TenantID
			return nil
		})
		ten, err := db.Tenants().EnsureDefault(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sc := db.Scope(ten.ID)
		start(t, q, 2)

		writeAndEnqueue := func(tx store.Scope, username, what string) (uuid.UUID, error) {
			if err := tx.Users().Create(ctx, &store.User{Username: username}); err != nil {
				return uuid.Nil, err
			}
			return q.EnqueueTx(ctx, tx, "test.caused", what)
		}
		boom := errors.New("boom")
		var rolledBack, committed uuid.UUID
		err = sc.Tx(ctx, func(tx store.Scope) error {
			var err error
			if rolledBack, err = writeAndEnqueue(tx, "ghost", "rolled back"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("rolled-back transaction: want %v, got %v", boom, err)
		}
		err = sc.Tx(ctx, func(tx store.Scope) error {
			var err error
			committed, err = writeAndEnqueue(tx, "alice", "committed")
			return err
		})
		if err != nil {
			t.Fatalf("committed transaction: %v", err)
		}
		eventually(t, "the committed job done", func() bool { return readJob(t, db.SQL(), committed).State == Done })
		outside, err := writeAndEnqueue(sc, "bob", "outside")
		if err != nil {
			t.Fatalf("outside a transaction: %v", err)
		}
		eventually(t, "the job enqueued outside done", func() bool { return readJob(t, db.SQL(), outside).State == Done })
		time.Sleep(50 * time.Millisecond) // room for a wrong second run
		mu.Lock()
		defer mu.Unlock()
		if runs["committed"] != 1 || runs["outside"] != 1 || runs["rolled back"] != 0 {
			t.Errorf("runs = %v, want the committed and the outside job once each, the rolled-back one never", runs)
		}
		var n int
		if err := db.SQL().QueryRow(`SELECT count(*) FROM jobs WHERE id = $1`, rolledBack.String()).Scan(&n); err != nil || n != 0 {
			t.Errorf("the rolled-back job's row: count %d (%v), want none stored", n, err)
		}
		if want := (uuid.NullUUID{UUID: ten.ID, Valid: true}); tenants["committed"] != want {
			t.Errorf("the job's tenant = %v, want the scope's %v", tenants["committed"], want)
		}
	})
}
