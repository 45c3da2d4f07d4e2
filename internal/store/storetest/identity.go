package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Usernames and email addresses are unique per tenant under
// store.IdentityKey, alike on every engine (issue 10, findings 11 and 15).
func identityTests() []namedTest {
	return []namedTest{
		{"UsernameFolding", testUsernameFolding},
		{"UsernameScripts", testUsernameScripts},
		{"EmailUnique", testEmailUnique},
		{"EmailUniqueConcurrent", testEmailUniqueConcurrent},
	}
}

func wantConflict(t *testing.T, what string, err error, field string) {
	t.Helper()
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.Field != field {
		t.Fatalf("%s: want ConflictError on %s, got %v", what, field, err)
	}
}

func testUsernameFolding(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	create := func(name string) error { return sc.Users().Create(ctx, &store.User{Username: name}) }
	noErr(t, "create Älice", create("Älice"))
	noErr(t, "create straße", create("straße"))
	noErr(t, "create ｆｏｏ (full-width)", create("ｆｏｏ"))
	for _, name := range []string{"älice", "ÄLICE", "STRASSE", "Strasse", "foo", "FOO"} {
		wantConflict(t, "create "+name, create(name), "username")
	}
	for _, typed := range []string{"Älice", "äLICE", "A\u0308lice", "ÄLICE"} {
		u, err := sc.Users().GetByUsername(ctx, typed)
		noErr(t, "GetByUsername "+typed, err)
		if u.Username != "Älice" {
			t.Fatalf("GetByUsername(%q): want Älice, got %q", typed, u.Username)
		}
	}
	if u, err := sc.Users().GetByUsername(ctx, "FOO"); err != nil || u.Username != "ｆｏｏ" {
		t.Fatalf("GetByUsername(FOO): want the full-width ｆｏｏ, got %v, %v", u, err)
	}
	bob := mustUser(t, sc, "bob")
	_, err := sc.Users().Update(ctx, bob.ID, func(u *store.User) error { u.Username = "ÄLICE"; return nil })
	wantConflict(t, "rename bob to ÄLICE", err, "username")
	if got, _ := sc.Users().Get(ctx, bob.ID); got.Username != "bob" || got.Version != bob.Version {
		t.Fatalf("a refused rename must change nothing, got %+v", got)
	}
	alice, _ := sc.Users().GetByUsername(ctx, "älice")
	_, err = sc.Users().Update(ctx, alice.ID, func(u *store.User) error { u.Username = "ÄLICE"; return nil })
	noErr(t, "Älice renames herself ÄLICE", err)
	other := mustTenant(t, s, "other")
	noErr(t, "another tenant's älice", other.Users().Create(ctx, &store.User{Username: "älice"}))
}

func testUsernameScripts(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	for _, name := range []string{
		"pаypal", // Cyrillic а
		"admіn",  // Ukrainian і
		"Αlpha",  // Greek Α
		"ivan_Иван",
		"张三_Иван",
	} {
		wantField(t, "new username "+name, sc.Users().Create(ctx, &store.User{Username: name}), "username")
	}
	for _, name := range []string{"Иван", "Ελένη", "张三", "zhang.张三", "田中たろう", "김민수", "Lee_김민수", "ivan_2024", "José"} {
		noErr(t, "new username "+name, sc.Users().Create(ctx, &store.User{Username: name}))
	}
	u := mustUser(t, sc, "paypal")
	_, err := sc.Users().Update(ctx, u.ID, func(u *store.User) error { u.Username = "pаypal"; return nil })
	wantField(t, "rename to a mixed-script name", err, "username")
}

func testEmailUnique(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	bob := &store.User{Username: "bob", Email: "bob@example.com"}
	noErr(t, "create bob", sc.Users().Create(ctx, bob))
	wantConflict(t, "another user with BOB@EXAMPLE.COM",
		sc.Users().Create(ctx, &store.User{Username: "bob2", Email: "BOB@EXAMPLE.COM"}), "email")
	mallory := mustUser(t, sc, "mallory")
	_, err := sc.Users().Update(ctx, mallory.ID, func(u *store.User) error { u.Email = "Bob@Example.com"; return nil })
	wantConflict(t, "mallory takes bob's address", err, "email")
	if got, _ := sc.Users().Get(ctx, mallory.ID); got.Email != "mallory@example.com" || got.Version != mallory.Version {
		t.Fatalf("a refused address must change nothing, got %+v", got)
	}
	if u, err := sc.Users().GetByEmail(ctx, "BOB@example.COM"); err != nil || u.ID != bob.ID {
		t.Fatalf("GetByEmail: want bob, got %v, %v", u, err)
	}
	noErr(t, "É and é are one address",
		sc.Users().Create(ctx, &store.User{Username: "elodie", Email: "élodie@example.com"}))
	wantConflict(t, "ÉLODIE@example.com",
		sc.Users().Create(ctx, &store.User{Username: "elodie2", Email: "ÉLODIE@example.com"}), "email")

	_, err = sc.Users().Update(ctx, bob.ID, func(u *store.User) error { u.Email = "Bob@Example.com"; return nil })
	noErr(t, "bob changes the case of his own address", err)
	for i := range 3 {
		noErr(t, "users without an address",
			sc.Users().Create(ctx, &store.User{Username: fmt.Sprintf("svc%d", i)}))
	}
	_, err = sc.Users().Update(ctx, bob.ID, func(u *store.User) error { u.Email = "robert@example.com"; return nil })
	noErr(t, "bob moves to another address", err)
	_, err = sc.Users().Update(ctx, mallory.ID, func(u *store.User) error { u.Email = "bob@example.com"; return nil })
	noErr(t, "a freed address can be taken", err)
	other := mustTenant(t, s, "other")
	noErr(t, "another tenant's bob@example.com",
		other.Users().Create(ctx, &store.User{Username: "bob", Email: "bob@example.com"}))
}

// testEmailUniqueConcurrent: of writers racing for one address, exactly
// one wins; a check-then-write would let several through.
func testEmailUniqueConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	const n = 8
	users := make([]*store.User, n)
	for i := range users {
		users[i] = mustUser(t, sc, fmt.Sprintf("racer%d", i))
	}
	won := race(t, "racing for one address", n, store.ErrConflict, func(i int) error {
		_, err := sc.Users().Update(ctx, users[i].ID, func(x *store.User) error { x.Email = "prize@example.com"; return nil })
		return err
	})
	list, total, err := sc.Users().List(ctx, store.UserQuery{Email: "prize@example.com"})
	noErr(t, "List by email", err)
	if won != 1 || total != 1 || len(list) != 1 {
		t.Fatalf("racing for one address: want exactly one winner and one holder, got %d winners, %d holders", won, total)
	}
}
