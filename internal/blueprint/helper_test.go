package blueprint_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqlitetest"
)

// newSQLite opens a fresh migrated database in the test's temp dir (as
// sqlstore_test.NewSQLite).
func newSQLite(t testing.TB) *sqlstore.DB {
	t.Helper()
	db := sqlitetest.Open(t)
	return db
}

// newTenant creates a tenant and returns its scope.
func newTenant(t testing.TB, db store.Store, name string) store.Scope {
	t.Helper()
	ten := &store.Tenant{Name: name}
	if err := db.Tenants().Create(context.Background(), ten); err != nil {
		t.Fatal(err)
	}
	return db.Scope(ten.ID)
}

// newScope is one tenant in a fresh database.
func newScope(t testing.TB) store.Scope {
	t.Helper()
	return newTenant(t, newSQLite(t), "test")
}

// yml turns a test's indented YAML (tabs are not YAML) into a document.
func yml(s string) []byte {
	return []byte(strings.ReplaceAll(strings.TrimLeft(s, "\n"), "\t", "  "))
}

func mustParse(t testing.TB, src string) *blueprint.Blueprint {
	t.Helper()
	bp, err := blueprint.Parse("test.yaml", yml(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return bp
}

func mustApply(t testing.TB, sc store.Scope, src string, opt blueprint.Options) blueprint.Result {
	t.Helper()
	res, err := blueprint.Apply(context.Background(), sc, mustParse(t, src), opt)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return res
}

// config reads a stored object's configuration.
func config(t testing.TB, o *store.Object) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(o.Config, &m); err != nil {
		t.Fatalf("config of %s: %v", o.Name, err)
	}
	return m
}

func stage(t testing.TB, sc store.Scope, name string) *store.Object {
	t.Helper()
	o, err := sc.Stages().GetByName(context.Background(), name)
	if err != nil {
		t.Fatalf("stage %q: %v", name, err)
	}
	return o
}

func flow(t testing.TB, sc store.Scope, slug string) *store.Flow {
	t.Helper()
	f, err := sc.Flows().GetBySlug(context.Background(), slug)
	if err != nil {
		t.Fatalf("flow %q: %v", slug, err)
	}
	return f
}
