package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"
)

// stmtCache prepares each distinct query once per pool, for SQLite: its
// driver compiles a statement on every call otherwise, about a tenth of
// the CPU of a token request. (pgx caches prepared statements per
// connection by itself.) Queries built with varying text, such as LIMIT
// and OFFSET values, would grow the cache without bound, so it stops
// adding at maxStmts and runs the rest unprepared.
type stmtCache struct {
	db   *sql.DB
	mu   sync.RWMutex
	m    map[string]*sql.Stmt
	gate *writeGate
}

const maxStmts = 1024

func newStmtCache(db *sql.DB, gate *writeGate) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}, gate: gate}
}

func (c *stmtCache) stmt(ctx context.Context, q string) *sql.Stmt {
	c.mu.RLock()
	st, ok := c.m[q]
	n := len(c.m)
	c.mu.RUnlock()
	if ok || n >= maxStmts {
		return st
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil // the unprepared call reports the error
	}
	c.mu.Lock()
	if old, dup := c.m[q]; dup {
		st.Close()
		st = old
	} else {
		c.m[q] = st
	}
	c.mu.Unlock()
	return st
}

func (c *stmtCache) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	release, err := c.gate.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	if st := c.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.db.ExecContext(ctx, q, args...)
}

func (c *stmtCache) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.db.QueryContext(ctx, q, args...)
}

func (c *stmtCache) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.db.QueryRowContext(ctx, q, args...)
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	clear(c.m)
}

// writeGate lets one writer at a time into SQLite, in process. SQLite has
// a single writer anyway; without the gate, concurrent writers collide
// inside SQLite and back off by sleeping (busy_timeout), which costs far
// more than waiting in line. Waiting is bounded like busy_timeout, so code
// that writes outside a transaction it holds fails instead of hanging.
type writeGate struct{ ch chan struct{} }

const gateWait = 10 * time.Second

func newWriteGate() *writeGate { return &writeGate{ch: make(chan struct{}, 1)} }

func (g *writeGate) acquire(ctx context.Context) (func(), error) {
	if g == nil {
		return func() {}, nil
	}
	t := time.NewTimer(gateWait)
	defer t.Stop()
	select {
	case g.ch <- struct{}{}:
		return func() { <-g.ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, errors.New("sqlstore: database is busy (a writer held it for too long)")
	}
}

// txQuerier runs a transaction's statements through the pool's prepared
// ones on SQLite (Tx.StmtContext), so that a batch of inserts, such as
// the audit writer's, compiles each statement once instead of per row.
func (s *DB) txQuerier(tx *sql.Tx) querier {
	if s.stmts == nil {
		return tx
	}
	return txStmts{tx: tx, c: s.stmts}
}

type txStmts struct {
	tx *sql.Tx
	c  *stmtCache
}

func (t txStmts) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.c.stmt(ctx, q); st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, q, args...)
}

func (t txStmts) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.c.stmt(ctx, q); st != nil {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, q, args...)
}

func (t txStmts) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.c.stmt(ctx, q); st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}
