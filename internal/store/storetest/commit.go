package storetest

import (
	"errors"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testAfterCommit: what a transaction defers to its commit runs after the
// commit (and sees the committed rows), once, and never for a rollback;
// outside a transaction it runs at once. Caches rely on it, so a cache
// dropped for a write is never refilled from the rows before the write.
func testAfterCommit(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")

	ran := 0
	sc.AfterCommit(func() { ran++ })
	if ran != 1 {
		t.Fatalf("outside a transaction AfterCommit ran %d times at once, want 1", ran)
	}

	ran = 0
	var seen error
	noErr(t, "committed Tx", sc.Tx(ctx, func(tx store.Scope) error {
		if err := tx.Users().Create(ctx, &store.User{Username: "after"}); err != nil {
			return err
		}
		return tx.Tx(ctx, func(inner store.Scope) error { // nested joins the outer commit
			inner.AfterCommit(func() {
				ran++
				_, seen = sc.Users().GetByUsername(ctx, "after")
			})
			if ran != 0 {
				t.Error("AfterCommit ran inside the transaction, before the commit")
			}
			return nil
		})
	}))
	if ran != 1 || seen != nil {
		t.Fatalf("after the commit: ran %d times (want 1), committed user read back with %v (want no error)", ran, seen)
	}

	ran = 0
	boom := errors.New("boom")
	err := sc.Tx(ctx, func(tx store.Scope) error {
		tx.AfterCommit(func() { ran++ })
		return boom
	})
	wantErr(t, "rolled-back Tx", err, boom)
	if ran != 0 {
		t.Fatalf("AfterCommit of a rolled-back transaction ran %d times, want 0", ran)
	}
}
