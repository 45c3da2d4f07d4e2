package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T) store.Store { return NewSQLite(t) })
}

func TestPostgreSQL(t *testing.T) {
	if os.Getenv("GATEHOUSE_TEST_POSTGRES") == "" {
		t.Skip("GATEHOUSE_TEST_POSTGRES is not set")
	}
	storetest.RunTests(t, func(t *testing.T) store.Store { return NewPostgres(t) })
}

// NewSQLite opens a fresh migrated database in the test's temp dir.
func NewSQLite(t testing.TB) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "test.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// NewPostgres creates a private schema in the GATEHOUSE_TEST_POSTGRES
// database, so tests can run in parallel and leave nothing behind.
func NewPostgres(t testing.TB) *sqlstore.DB {
	t.Helper()
	dsn := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	schema := fmt.Sprintf("gh_test_%x", rand.Text()[:10])
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", dsn)
		if err == nil {
			a.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
			a.Close()
		}
	})
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "postgres", DSN: dsn + " search_path=" + schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}
