package sqlstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// TestIdentityKeysMigration: a directory that already holds what the keys
// now forbid (usernames equal once folded, an address on two accounts, a
// mixed-script name) keeps working after migration 13, and no new write
// may add to the collisions.
func TestIdentityKeysMigration(t *testing.T) {
	dbs := map[string]func(testing.TB) *sqlstore.DB{"sqlite": func(t testing.TB) *sqlstore.DB {
		db, err := sqlstore.Open(context.Background(), sqlstore.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "t.db")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}}
	if os.Getenv("GATEHOUSE_TEST_POSTGRES") != "" {
		dbs["postgres"] = func(t testing.TB) *sqlstore.DB { return openPostgres(t) }
	}
	for name, open := range dbs {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			if err := db.MigrateTo(ctx, sqlstore.IdentityKeysVersion-1); err != nil {
				t.Fatal(err)
			}
			ten := &store.Tenant{Name: "t"}
			if err := db.Tenants().Create(ctx, ten); err != nil {
				t.Fatal(err)
			}
			// Inserted in this order, so created_at says who is older.
			ids := map[string]uuid.UUID{}
			for i, row := range [][2]string{
				{"ｆｏｏ", "shared@example.com"}, // full-width: lower() let "foo" in beside it on both engines
				{"foo", "SHARED@example.com"},
				{"pаypal", "cyrillic@example.com"}, // Cyrillic а, from before the script rule
				{"carol", ""},
				{"dave", ""},
			} {
				id := uuid.New()
				ids[row[0]] = id
				if _, err := db.SQL().ExecContext(ctx, `INSERT INTO users (tenant_id, id, username, email, type, attributes,
					created_at, updated_at) VALUES ($1, $2, $3, $4, 'internal', '{}', $5, $5)`,
					ten.ID, id, row[0], row[1], int64(1000+i)); err != nil {
					t.Fatalf("insert %s: %v", row[0], err)
				}
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatalf("migrate over colliding rows: %v", err)
			}
			sc := db.Scope(ten.ID)
			users := sc.Users()
			for typed, want := range map[string]string{"ｆｏｏ": "ｆｏｏ", "FOO": "ｆｏｏ", "foo": "foo", "pаypal": "pаypal"} {
				u, err := users.GetByUsername(ctx, typed)
				if err != nil || u.Username != want {
					t.Errorf("GetByUsername(%q): want %q, got %v, %v", typed, want, u, err)
				}
			}
			if _, err := users.GetByEmail(ctx, "shared@example.com"); !errors.Is(err, store.ErrConflict) {
				t.Errorf("an address two accounts held before stays ambiguous: want ErrConflict, got %v", err)
			}
			for _, u := range []struct{ name, email, field string }{
				{"Foo", "", "username"},
				{"newbie", "Shared@Example.com", "email"},
			} {
				var ce *store.ConflictError
				if err := users.Create(ctx, &store.User{Username: u.name, Email: u.email}); !errors.As(err, &ce) || ce.Field != u.field {
					t.Errorf("new user %s <%s>: want a conflict on %s, got %v", u.name, u.email, u.field, err)
				}
			}
			// The colliding and mixed-script accounts can still be edited.
			for _, name := range []string{"foo", "pаypal"} {
				if _, err := users.Update(ctx, ids[name], func(u *store.User) error { u.Name = "edited"; return nil }); err != nil {
					t.Errorf("edit %s: %v", name, err)
				}
			}
			if _, err := users.Update(ctx, ids["carol"], func(u *store.User) error { u.Email = "shared@example.com"; return nil }); err == nil {
				t.Errorf("carol takes the shared address: want a conflict")
			}
			// The younger holder gives the address up; the older keeps it.
			if _, err := users.Update(ctx, ids["foo"], func(u *store.User) error { u.Email = "foo@example.com"; return nil }); err != nil {
				t.Fatal(err)
			}
			if u, err := users.GetByEmail(ctx, "shared@example.com"); err != nil || u.ID != ids["ｆｏｏ"] {
				t.Errorf("GetByEmail after the younger moved: want ｆｏｏ, got %v, %v", u, err)
			}
			// Renaming the younger foo frees nothing and takes a key of its own.
			if _, err := users.Update(ctx, ids["foo"], func(u *store.User) error { u.Username = "foo2"; return nil }); err != nil {
				t.Fatal(err)
			}
			if u, err := users.GetByUsername(ctx, "FOO2"); err != nil || u.ID != ids["foo"] {
				t.Errorf("GetByUsername(FOO2) after the rename: got %v, %v", u, err)
			}
		})
	}
}
