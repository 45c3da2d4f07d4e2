package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// casAttempts bounds compare-and-swap retries. A write loses only to
// another writer's success in between, so up to casAttempts writers of one
// row at once all get through; losing this many times in a row means the
// row is hot and the caller should hear about it.
const casAttempts = 8

// owned points at the fields of a row that the store keeps for itself:
// whatever an update's fn does to them is undone.
type owned struct {
	id      *uuid.UUID
	created *time.Time
	updated *time.Time // nil for rows that keep no update time
	version *int64
}

// versioned is one aggregate as casUpdate sees it: how to read a row, which
// fields are the store's, how to ready an edited row for writing and how
// to write it. Each aggregate supplies only these; the loop is shared.
type versioned[T any] struct {
	get   func(ctx context.Context, sc *scope, id uuid.UUID) (*T, error)
	owned func(*T) owned
	// prepare normalizes and validates x, the edit of old, before it is
	// written (old for rules that depend on what changed).
	prepare func(ctx context.Context, sc *scope, x, old *T) error
	// write stores x on the condition that the row is still at old's
	// version; it affects no row when a concurrent writer got there first.
	write func(ctx context.Context, sc *scope, x, old *T) (sql.Result, error)
	// after writes what belongs to the row beyond its own columns (a
	// rule's transport links), in the same transaction.
	after func(ctx context.Context, sc *scope, x *T) error
	// inTx runs the whole loop in one transaction, for aggregates whose
	// prepare reads other rows that the write must agree with (a group's
	// ancestors) or whose after writes more rows.
	inTx bool
}

// casUpdate is the compare-and-swap update of every versioned aggregate:
// read the row, let fn edit it, take back the store's fields, bump the
// version and write on the condition that nobody wrote in between;
// otherwise read again and retry. want >= 0 pins the version the caller
// read earlier (UpdateIfVersion): a row that moved on is ErrConflict at
// once. fn may run more than once and must only edit its argument.
func casUpdate[T any](ctx context.Context, sc *scope, v versioned[T], id uuid.UUID, want int64, fn func(*T) error) (*T, error) {
	if !v.inTx {
		return casLoop(ctx, sc, v, id, want, fn)
	}
	var out *T
	err := sc.Tx(ctx, func(tx store.Scope) error {
		var err error
		out, err = casLoop(ctx, tx.(*scope), v, id, want, fn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func casLoop[T any](ctx context.Context, sc *scope, v versioned[T], id uuid.UUID, want int64, fn func(*T) error) (*T, error) {
	for range casAttempts {
		x, err := v.get(ctx, sc, id)
		if err != nil {
			return nil, err
		}
		old := *x
		was, now := v.owned(&old), v.owned(x)
		if want >= 0 && *was.version != want {
			return nil, store.ErrConflict
		}
		if err := fn(x); err != nil {
			return nil, err
		}
		*now.id, *now.created, *now.version = *was.id, *was.created, *was.version+1
		if now.updated != nil {
			*now.updated = sc.s.nowTime()
		}
		if err := v.prepare(ctx, sc, x, &old); err != nil {
			return nil, err
		}
		res, err := v.write(ctx, sc, x, &old)
		if err != nil {
			return nil, sc.err(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, sc.err(err)
		}
		if n == 0 { // lost to a concurrent writer, or the row is gone: read again
			if want >= 0 {
				return nil, store.ErrConflict
			}
			continue
		}
		if v.after != nil {
			if err := v.after(ctx, sc, x); err != nil {
				return nil, err
			}
		}
		return x, nil
	}
	return nil, store.ErrConflict
}
