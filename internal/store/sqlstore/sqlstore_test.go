package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqlitetest"
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
func NewSQLite(t testing.TB) *sqlstore.DB { return sqlitetest.Open(t) }

// TestArtifactLookupsUseTheirIndexes: the artifact indexes on alt_key and
// session_id are partial (migration 00011), which a query may use only
// when its WHERE implies the predicate; lookups must not fall back to a
// scan of every token.
func TestArtifactLookupsUseTheirIndexes(t *testing.T) {
	db := NewSQLite(t)
	for q, index := range map[string]string{
		"SELECT id FROM artifacts WHERE tenant_id = ? AND kind = ? AND alt_key = ?":                       "artifacts_alt_key",
		"UPDATE artifacts SET consumed_at = 1 WHERE tenant_id = ? AND session_id = ? AND consumed_at = 0": "artifacts_session",
	} {
		rows, err := db.SQL().Query("EXPLAIN QUERY PLAN "+q, "t", "k", "v")
		if err != nil {
			t.Fatal(err)
		}
		var plan string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			rows.Scan(&id, &parent, &unused, &detail)
			plan += detail + "; "
		}
		rows.Close()
		if !strings.Contains(plan, "USING INDEX "+index) {
			t.Errorf("%s: want it to use %s, plan: %s", q, index, plan)
		}
	}
}

// NewPostgres creates a private schema in the GATEHOUSE_TEST_POSTGRES
// database, so tests can run in parallel and leave nothing behind.
func NewPostgres(t testing.TB) *sqlstore.DB {
	t.Helper()
	db := openPostgres(t)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// openPostgres is NewPostgres without the migrations.
func openPostgres(t testing.TB) *sqlstore.DB {
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
	return db
}
