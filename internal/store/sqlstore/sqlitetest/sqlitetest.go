// Package sqlitetest opens the fresh, migrated SQLite store that most
// packages' tests start from, so that none of them repeats how.
package sqlitetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// Open returns an empty, migrated SQLite store in t's temp dir, closed
// when the test ends.
func Open(t testing.TB) *sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "test.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// Default returns a store as Open does and its default tenant's scope.
func Default(t testing.TB) (*sqlstore.DB, store.Scope) {
	t.Helper()
	db := Open(t)
	ten, err := db.Tenants().EnsureDefault(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return db, db.Scope(ten.ID)
}
