// Package sqlstore implements the store on SQLite (embedded default) and
// PostgreSQL (production) with one body of hand-written SQL.
//
// Dependencies and why:
//   - modernc.org/sqlite: pure Go, so the binary stays static (CGO_ENABLED=0);
//     it accepts PostgreSQL's $N placeholders, which lets both engines share
//     every query.
//   - github.com/jackc/pgx/v5 (through database/sql): the maintained
//     PostgreSQL driver; typed errors give us constraint names.
//   - github.com/pressly/goose/v3: embedded, ordered migrations with a
//     PostgreSQL session lock, so replicas starting together migrate once.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Options says which database to open.
type Options struct {
	// Driver is "sqlite" or "postgres".
	Driver string
	// DSN is a file path for SQLite, a pgx connection string for PostgreSQL.
	DSN string
	// MaxConns bounds the pool (PostgreSQL; SQLite uses a fixed small pool).
	MaxConns int
	Logger   *slog.Logger
}

// DB is the SQL store. It is safe for concurrent use.
type DB struct {
	db  *sql.DB
	d   dialect
	log *slog.Logger
	// now is the clock for timestamps the store fills in; tests replace it.
	now func() time.Time
	// q runs statements outside transactions: the pool, through the
	// statement cache on SQLite.
	q     querier
	stmts *stmtCache
	gate  *writeGate // nil on PostgreSQL, which has row locks
}

var _ store.Store = (*DB)(nil)

// Open connects and checks the connection. It does not migrate: call Migrate.
func Open(ctx context.Context, o Options) (*DB, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	var (
		db  *sql.DB
		d   dialect
		err error
	)
	switch o.Driver {
	case "sqlite":
		d = sqliteDialect{}
		// WAL lets readers run beside the one writer; IMMEDIATE transactions
		// take the write lock up front, so two writers queue on busy_timeout
		// instead of failing with SQLITE_BUSY half-way through.
		dsn := "file:" + o.DSN + "?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
			"&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		db, err = sql.Open("sqlite", dsn)
		if err == nil {
			db.SetMaxOpenConns(8)
			db.SetMaxIdleConns(8)
			db.SetConnMaxIdleTime(0)
		}
	case "postgres":
		d = postgresDialect{}
		db, err = sql.Open("pgx", o.DSN)
		if err == nil {
			n := o.MaxConns
			if n <= 0 {
				n = 20
			}
			db.SetMaxOpenConns(n)
			db.SetMaxIdleConns(n / 2)
			db.SetConnMaxIdleTime(5 * time.Minute)
		}
	default:
		return nil, fmt.Errorf("sqlstore: unknown driver %q (want sqlite or postgres)", o.Driver)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", o.Driver, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: connect to %s: %w", o.Driver, err)
	}
	out := &DB{db: db, d: d, log: o.Logger, now: time.Now, q: db}
	if o.Driver == "sqlite" {
		out.gate = newWriteGate()
		out.stmts = newStmtCache(db, out.gate)
		out.q = out.stmts
	}
	return out, nil
}

// Driver names the engine ("sqlite" or "postgres"), for health and system info.
func (s *DB) Driver() string { return s.d.name() }

// SQL exposes the pool for packages that keep their own tables in this
// database (job queue, flow state); they must scope rows by tenant themselves.
func (s *DB) SQL() *sql.DB { return s.db }

// SetClock replaces the clock; for tests.
func (s *DB) SetClock(now func() time.Time) { s.now = now }

func (s *DB) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }
func (s *DB) Close() error {
	if s.stmts != nil {
		s.stmts.close()
	}
	return s.db.Close()
}

func (s *DB) Tenants() store.Tenants { return tenants{s: s, q: s.db} }

func (s *DB) Scope(tenantID uuid.UUID) store.Scope {
	return &scope{s: s, q: s.q, tenant: tenantID}
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier = store.Conn

type scope struct {
	s      *DB
	q      querier
	tenant uuid.UUID
	inTx   bool
	// afterCommit collects AfterCommit functions inside a transaction.
	afterCommit *[]func()
}

func (sc *scope) TenantID() uuid.UUID      { return sc.tenant }
func (sc *scope) Users() store.Users       { return users{sc} }
func (sc *scope) Groups() store.Groups     { return groups{sc} }
func (sc *scope) Roles() store.Roles       { return roles{sc} }
func (sc *scope) Tokens() store.Tokens     { return tokens{sc} }
func (sc *scope) Sessions() store.Sessions { return sessions{sc} }
func (sc *scope) Events() store.Events     { return events{sc} }

func (sc *scope) Tx(ctx context.Context, fn func(store.Scope) error) error {
	if sc.inTx {
		return fn(sc)
	}
	var after []func()
	err := sc.s.inTx(ctx, func(tx *sql.Tx) error {
		return fn(&scope{s: sc.s, q: sc.s.txQuerier(tx), tenant: sc.tenant, inTx: true, afterCommit: &after})
	})
	if err != nil {
		return err
	}
	// After the commit and after SQLite's write gate is released: what
	// runs here may read the store, or write to it.
	for _, f := range after {
		f()
	}
	return nil
}

func (sc *scope) AfterCommit(fn func()) {
	if sc.afterCommit == nil {
		fn()
		return
	}
	*sc.afterCommit = append(*sc.afterCommit, fn)
}

func (sc *scope) Notify(ctx context.Context, channel, payload string) error {
	if sc.s.d.name() != "postgres" {
		return nil
	}
	// pg_notify rather than NOTIFY: it takes the channel and payload as
	// parameters, so neither is ever spliced into SQL.
	_, err := sc.q.ExecContext(ctx, "SELECT pg_notify($1, $2)", channel, payload)
	if err != nil {
		return fmt.Errorf("sqlstore: notify %s: %w", channel, sc.err(err))
	}
	return nil
}

func (sc *scope) Conn() store.Conn { return sc.q }

func (s *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	release, err := s.gate.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.d.mapErr(err)
	}
	return nil
}

// nowTime is the store clock truncated to what the columns hold
// (store.Micros), so a value written and read back compares equal.
func (s *DB) nowTime() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// notFound turns sql.ErrNoRows into store.ErrNotFound and maps driver errors.
func (sc *scope) err(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return sc.s.d.mapErr(err)
}

// exactlyOne checks an UPDATE or DELETE touched a row of this tenant.
func (sc *scope) exactlyOne(res sql.Result, err error) error {
	if err != nil {
		return sc.err(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return sc.err(err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
