package sqlstore_test

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// TestUserSearchIndex checks that the search indexes of migration 00010
// (SQLite's trigram table kept by triggers, PostgreSQL's trigram indexes)
// answer what a scan would, through renames, deletes and odd input.
func TestUserSearchIndex(t *testing.T) {
	dbs := map[string]func(testing.TB) *sqlstore.DB{"sqlite": func(t testing.TB) *sqlstore.DB { return NewSQLite(t) }}
	if os.Getenv("GATEHOUSE_TEST_POSTGRES") != "" {
		dbs["postgres"] = func(t testing.TB) *sqlstore.DB { return NewPostgres(t) }
	}
	for name, open := range dbs {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := context.Background()
			ten, err := db.Tenants().EnsureDefault(ctx)
			if err != nil {
				t.Fatal(err)
			}
			other := &store.Tenant{Name: "other"}
			if err := db.Tenants().Create(ctx, other); err != nil {
				t.Fatal(err)
			}
			sc := db.Scope(ten.ID)
			add := func(sc store.Scope, username, name, email string) *store.User {
				u := &store.User{Username: username, Name: name, Email: email, Type: store.UserInternal, IsActive: true, Path: "users"}
				if err := sc.Users().Create(ctx, u); err != nil {
					t.Fatal(err)
				}
				return u
			}
			ada := add(sc, "ada.lovelace", "Ada Lovelace", "ada@engines.example")
			add(sc, "charles", "Charles Babbage", "cb@engines.example")
			add(sc, "q100", `Quote "Q" 100% Person`, "q@percent.example")
			add(db.Scope(other.ID), "ada.other", "Ada Elsewhere", "ada@other.example")
			find := func(search string) []string {
				t.Helper()
				list, total, err := sc.Users().List(ctx, store.UserQuery{Search: search})
				if err != nil {
					t.Fatalf("search %q: %v", search, err)
				}
				var out []string
				for _, u := range list {
					out = append(out, u.Username)
				}
				if total != len(out) {
					t.Errorf("search %q: total %d for %d users", search, total, len(out))
				}
				return out
			}
			for search, want := range map[string][]string{
				"LOVELACE":   {"ada.lovelace"},            // name, any case
				"velac":      {"ada.lovelace"},            // the middle of a word
				"engines.ex": {"ada.lovelace", "charles"}, // email
				"ada":        {"ada.lovelace"},            // not the other tenant's
				"100%":       {"q100"},                    // LIKE's wildcard is a character
				"0%":         {"q100"},                    // the same where the index does not serve
				`"Q"`:        {"q100"},                    // the FTS phrase quote is a character
				"zz":         nil,                         // shorter than a trigram: a scan
				"nobody":     nil,
			} {
				if got := find(search); !slices.Equal(got, want) {
					t.Errorf("search %q: got %v, want %v", search, got, want)
				}
			}
			if _, err := sc.Users().Update(ctx, ada.ID, func(u *store.User) error {
				u.Username, u.Name = "countess", "Augusta King"
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if got := find("lovelace"); got != nil {
				t.Errorf("the old name is still found: %v", got)
			}
			if got := find("augusta"); !slices.Equal(got, []string{"countess"}) {
				t.Errorf("the new name: %v", got)
			}
			if err := sc.Users().Delete(ctx, ada.ID); err != nil {
				t.Fatal(err)
			}
			if got := find("augusta"); got != nil {
				t.Errorf("a deleted user is found: %v", got)
			}
		})
	}
}
