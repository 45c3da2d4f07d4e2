package job

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// testDB is one migrated database; open returns another connection pool on
// it, which is how a second replica sees it, and store another store.
type testDB struct {
	driver string
	store  func(t testing.TB) *sqlstore.DB
}

func (d testDB) open(t testing.TB) *sql.DB { return d.store(t).SQL() }

// forEachDB runs f on SQLite, and on PostgreSQL when GATEHOUSE_TEST_POSTGRES
// holds a DSN (each run in a private schema dropped afterwards).
func forEachDB(t *testing.T, f func(t *testing.T, d testDB)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "jobs.db")
		f(t, testDB{driver: "sqlite", store: func(t testing.TB) *sqlstore.DB { return openStore(t, "sqlite", path) }})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := os.Getenv("GATEHOUSE_TEST_POSTGRES")
		if dsn == "" {
			t.Skip("GATEHOUSE_TEST_POSTGRES is not set")
		}
		t.Parallel()
		schema := "gh_test_" + strings.ToLower(rand.Text()[:10])
		admin, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if a, err := sql.Open("pgx", dsn); err == nil {
				a.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
				a.Close()
			}
		})
		f(t, testDB{driver: "postgres", store: func(t testing.TB) *sqlstore.DB {
			return openStore(t, "postgres", dsn+" search_path="+schema)
		}})
	})
}

func openStore(t testing.TB, driver, dsn string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: driver, DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newQueue makes a queue with a fast poll, the test clock and no backoff.
func newQueue(t testing.TB, d testDB, c *clock, opts ...Option) *Queue {
	return newQueueOn(t, d.open(t), d.driver, c, opts...)
}

// newQueueOn is newQueue on a given pool, such as a store's own.
func newQueueOn(t testing.TB, db *sql.DB, driver string, c *clock, opts ...Option) *Queue {
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	base := []Option{WithClock(c.Now), WithPollInterval(10 * time.Millisecond),
		WithBackoff(func(int) time.Duration { return 0 })}
	return New(db, driver, log, append(base, opts...)...)
}

// start runs q in the background and stops it when the test ends.
func start(t testing.TB, q *Queue, workers int) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx, workers) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v, want nil", err)
		}
	})
}

// eventually polls cond for up to 5 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// jobRow reads the columns the tests check.
type jobRow struct {
	State       State
	Attempts    int
	LastError   string
	Payload     string
	RunAt       int64
	LockedUntil int64
}

func readJob(t testing.TB, db *sql.DB, id fmt.Stringer) jobRow {
	t.Helper()
	var r jobRow
	var state string
	var payload []byte
	err := db.QueryRow(`SELECT state, attempts, last_error, payload, run_at, locked_until FROM jobs WHERE id = $1`,
		id.String()).Scan(&state, &r.Attempts, &r.LastError, &payload, &r.RunAt, &r.LockedUntil)
	if err != nil {
		t.Fatalf("read job %s: %v", id, err)
	}
	r.State, r.Payload = State(state), string(payload)
	return r
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
