// Package storetest is the behaviour every store backend must have. Each
// backend's test calls RunTests with a constructor for a fresh, migrated,
// empty store; SQLite always runs it, PostgreSQL when GATEHOUSE_TEST_POSTGRES
// holds a DSN.
package storetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// RunTests runs the conformance suite. newStore must return an empty,
// migrated store that lives until the test ends.
func RunTests(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []namedTest{
		{"Tenants", testTenants},
		{"UserCRUD", testUserCRUD},
		{"UserValidation", testUserValidation},
		{"UserList", testUserList},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ConcurrentUpdateCheck", testConcurrentUpdateCheck},
		{"Groups", testGroups},
		{"Roles", testRoles},
		{"GroupRoles", testGroupRoles},
		{"ObjectPermissions", testObjectPermissions},
		{"Tokens", testTokens},
		{"Sessions", testSessions},
		{"Events", testEvents},
		{"Transactions", testTransactions},
		{"AfterCommit", testAfterCommit},
		{"TenantIsolation", testTenantIsolation},
		{"StoredJSONLimits", testStoredJSONLimits},
	}
	tests = append(tests, identityTests()...)
	tests = append(tests, flowTests()...)
	tests = append(tests, appTests()...)
	tests = append(tests, keyTests()...)
	tests = append(tests, eventTests()...)
	tests = append(tests, notificationTests()...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

type namedTest struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

func errorsIsNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func mustTenant(t *testing.T, s store.Store, name string) store.Scope {
	t.Helper()
	ten := &store.Tenant{Name: name}
	if err := s.Tenants().Create(t.Context(), ten); err != nil {
		t.Fatalf("create tenant %q: %v", name, err)
	}
	return s.Scope(ten.ID)
}

func mustUser(t *testing.T, sc store.Scope, username string) *store.User {
	t.Helper()
	u := &store.User{Username: username, Name: strings.ToUpper(username), Email: username + "@example.com", IsActive: true}
	if err := sc.Users().Create(t.Context(), u); err != nil {
		t.Fatalf("create user %q: %v", username, err)
	}
	return u
}

func mustGroup(t *testing.T, sc store.Scope, name string, parent *store.Group) *store.Group {
	t.Helper()
	g := &store.Group{Name: name}
	if parent != nil {
		g.ParentID = uuid.NullUUID{UUID: parent.ID, Valid: true}
	}
	if err := sc.Groups().Create(t.Context(), g); err != nil {
		t.Fatalf("create group %q: %v", name, err)
	}
	return g
}

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: want error %v, got %v", what, target, err)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

func wantField(t *testing.T, what string, err error, field string) {
	t.Helper()
	var ve *store.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("%s: want a validation error on %q, got %v", what, field, err)
	}
	for _, f := range ve.Fields {
		if f.Field == field {
			return
		}
	}
	t.Fatalf("%s: want a validation error on %q, got %v", what, field, ve)
}

func testTenants(t *testing.T, s store.Store) {
	ctx := t.Context()
	def, err := s.Tenants().EnsureDefault(ctx)
	noErr(t, "EnsureDefault", err)
	again, err := s.Tenants().EnsureDefault(ctx)
	noErr(t, "EnsureDefault again", err)
	if again.ID != def.ID || !again.Default {
		t.Fatalf("EnsureDefault twice: want the same default tenant %v, got %+v", def.ID, again)
	}
	ten := &store.Tenant{Name: "Acme", Domains: []string{"Login.Acme.Example"}}
	noErr(t, "create tenant", s.Tenants().Create(ctx, ten))
	got, err := s.Tenants().ByDomain(ctx, "login.acme.example")
	noErr(t, "ByDomain", err)
	if got.ID != ten.ID {
		t.Fatalf("ByDomain: want %v, got %v", ten.ID, got.ID)
	}
	_, err = s.Tenants().ByDomain(ctx, "unknown.example")
	wantErr(t, "ByDomain unknown host", err, store.ErrNotFound)
	wantErr(t, "domain claimed twice", s.Tenants().AddDomain(ctx, def.ID, "login.acme.example"), store.ErrConflict)
	wantErr(t, "domain with a port", s.Tenants().AddDomain(ctx, def.ID, "host:9000"), store.ErrInvalid)
	wantErr(t, "second default tenant", s.Tenants().Create(ctx, &store.Tenant{Name: "x", Default: true}), store.ErrConflict)
	list, err := s.Tenants().List(ctx)
	noErr(t, "List", err)
	if len(list) != 2 || len(list[1].Domains) != 1 {
		t.Fatalf("List: want 2 tenants, the second with one domain, got %+v", list)
	}
}

func testUserCRUD(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	u := mustUser(t, sc, "Alice")
	if u.ID == uuid.Nil || u.Version != 1 || u.Type != store.UserInternal || u.Path != "users" {
		t.Fatalf("Create: want ID, version 1, type internal, path users; got %+v", u)
	}
	got, err := sc.Users().GetByUsername(ctx, "aLiCe")
	noErr(t, "GetByUsername is case-insensitive", err)
	if got.ID != u.ID || got.Username != "Alice" {
		t.Fatalf("GetByUsername: want %v Alice, got %v %q", u.ID, got.ID, got.Username)
	}
	dup := &store.User{Username: "alice"}
	err = sc.Users().Create(ctx, dup)
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.Field != "username" {
		t.Fatalf("duplicate username (other case): want ConflictError on username, got %v", err)
	}
	got, err = sc.Users().GetByEmail(ctx, "ALICE@example.com")
	noErr(t, "GetByEmail", err)
	if got.ID != u.ID {
		t.Fatalf("GetByEmail: want %v, got %v", u.ID, got.ID)
	}
	other := &store.User{Username: "alice2", Email: "alice@example.com"}
	if err := sc.Users().Create(ctx, other); !errors.As(err, &ce) || ce.Field != "email" {
		t.Fatalf("second user with the same email: want ConflictError on email, got %v", err)
	}

	updated, err := sc.Users().Update(ctx, u.ID, func(x *store.User) error {
		x.Name = "Alice Liddell"
		x.Attributes = store.Attributes{"dept": "wonder"}
		x.Version = 999 // ignored
		return nil
	})
	noErr(t, "Update", err)
	if updated.Version != 2 || updated.Name != "Alice Liddell" || updated.Attributes["dept"] != "wonder" {
		t.Fatalf("Update: want version 2 with new name and attributes, got %+v", updated)
	}
	_, err = sc.Users().UpdateIfVersion(ctx, u.ID, 1, func(x *store.User) error { x.Name = "stale"; return nil })
	wantErr(t, "UpdateIfVersion with a stale version", err, store.ErrConflict)
	_, err = sc.Users().UpdateIfVersion(ctx, u.ID, 2, func(x *store.User) error { x.Name = "fresh"; return nil })
	noErr(t, "UpdateIfVersion with the current version", err)

	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	noErr(t, "RecordLogin", sc.Users().RecordLogin(ctx, u.ID, at))
	noErr(t, "SetPassword", sc.Users().SetPassword(ctx, u.ID, "$argon2id$x", at))
	got, err = sc.Users().Get(ctx, u.ID)
	noErr(t, "Get", err)
	if !got.LastLogin.Equal(at) || got.PasswordHash != "$argon2id$x" || !got.PasswordChangeDate.Equal(at) {
		t.Fatalf("after RecordLogin/SetPassword: want last_login and password_change_date %v, got %+v", at, got)
	}
	if got.Version != 4 {
		t.Fatalf("RecordLogin must not bump the version and SetPassword must: want 4, got %d", got.Version)
	}
	noErr(t, "Delete", sc.Users().Delete(ctx, u.ID))
	_, err = sc.Users().Get(ctx, u.ID)
	wantErr(t, "Get after Delete", err, store.ErrNotFound)
	wantErr(t, "Delete twice", sc.Users().Delete(ctx, u.ID), store.ErrNotFound)
	_, err = sc.Users().Update(ctx, u.ID, func(*store.User) error { return nil })
	wantErr(t, "Update after Delete", err, store.ErrNotFound)
}

func testUserValidation(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	big := store.Attributes{"blob": strings.Repeat("x", store.MaxAttributesLen)}
	cases := []struct {
		name  string
		user  store.User
		field string
	}{
		{"empty username", store.User{Username: ""}, "username"},
		{"username with a space", store.User{Username: "a b"}, "username"},
		{"username too long", store.User{Username: strings.Repeat("a", 151)}, "username"},
		{"injection in username", store.User{Username: "x'; DROP TABLE users;--"}, "username"},
		{"invalid email", store.User{Username: "bob", Email: "not-an-email"}, "email"},
		{"email with display name", store.User{Username: "bob", Email: "Bob <bob@example.com>"}, "email"},
		{"unknown type", store.User{Username: "bob", Type: "admin"}, "type"},
		{"bad path", store.User{Username: "bob", Path: "a//b"}, "path"},
		{"oversized attributes", store.User{Username: "bob", Attributes: big}, "attributes"},
		{"unencodable attributes", store.User{Username: "bob", Attributes: store.Attributes{"f": func() {}}}, "attributes"},
	}
	for _, c := range cases {
		u := c.user
		wantField(t, c.name, sc.Users().Create(ctx, &u), c.field)
	}
	n, err := sc.Users().Count(ctx)
	noErr(t, "Count", err)
	if n != 0 {
		t.Fatalf("invalid creates must store nothing: want 0 users, got %d", n)
	}
	u := mustUser(t, sc, "carol")
	_, err = sc.Users().Update(ctx, u.ID, func(x *store.User) error { x.Email = "bad"; x.Attributes = big; return nil })
	wantField(t, "invalid update", err, "email")
	got, _ := sc.Users().Get(ctx, u.ID)
	if got.Email != u.Email || got.Version != 1 || len(got.Attributes) != 0 {
		t.Fatalf("invalid update must change nothing: want %+v, got %+v", u, got)
	}
}

func testUserList(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	for i := range 25 {
		mustUser(t, sc, fmt.Sprintf("user%02d", i))
	}
	mustUser(t, sc, "under_score")
	inactive := false
	u, _ := sc.Users().GetByUsername(ctx, "user03")
	sc.Users().Update(ctx, u.ID, func(x *store.User) error { x.IsActive = false; return nil })

	list, total, err := sc.Users().List(ctx, store.UserQuery{Page: store.Page{Number: 2, Size: 10}})
	noErr(t, "List page 2", err)
	if total != 26 || len(list) != 10 || list[0].Username != "user09" {
		t.Fatalf("List page 2 of 10: want total 26, 10 rows from user09 (under_score sorts first), got total %d, %d rows, first %q", total, len(list), list[0].Username)
	}
	list, total, err = sc.Users().List(ctx, store.UserQuery{Search: "USER1", Ordering: "-username"})
	noErr(t, "List search", err)
	if total != 10 || list[0].Username != "user19" {
		t.Fatalf("search USER1 descending: want 10 from user19, got %d from %q", total, list[0].Username)
	}
	_, total, _ = sc.Users().List(ctx, store.UserQuery{Search: "_"})
	if total != 1 {
		t.Fatalf("search for a literal underscore: want 1 (LIKE wildcards escaped), got %d", total)
	}
	_, total, _ = sc.Users().List(ctx, store.UserQuery{IsActive: &inactive})
	if total != 1 {
		t.Fatalf("filter inactive: want 1, got %d", total)
	}
	_, _, err = sc.Users().List(ctx, store.UserQuery{Ordering: "password_hash"})
	wantField(t, "ordering by an unlisted column", err, "ordering")
	list, _, _ = sc.Users().List(ctx, store.UserQuery{Page: store.Page{Size: 1000}})
	if len(list) != 26 {
		t.Fatalf("page size above the cap: want all 26 (cap %d), got %d", store.MaxPageSize, len(list))
	}
	g := mustGroup(t, sc, "g", nil)
	sc.Groups().AddMember(ctx, g.ID, u.ID)
	list, total, _ = sc.Users().List(ctx, store.UserQuery{GroupID: g.ID})
	if total != 1 || list[0].ID != u.ID {
		t.Fatalf("filter by group: want only %v, got %d", u.ID, total)
	}
	for _, tc := range []struct {
		q    store.UserQuery
		want string // "" for no match
	}{
		{store.UserQuery{Username: "under_score"}, "under_score"},
		{store.UserQuery{Username: "user01"}, "user01"},
		{store.UserQuery{Username: "user0"}, ""},  // a prefix is not a match
		{store.UserQuery{Username: "USER01"}, ""}, // exact means case-sensitive, as Authentik's filter
		{store.UserQuery{Username: "user_1"}, ""}, // no LIKE wildcards
		{store.UserQuery{Email: "user02@example.com"}, "user02"},
		{store.UserQuery{Email: "user02@example"}, ""},
		{store.UserQuery{Username: "user02", Email: "user03@example.com"}, ""},
	} {
		list, total, err := sc.Users().List(ctx, tc.q)
		noErr(t, "List exact", err)
		switch {
		case tc.want == "" && total != 0:
			t.Errorf("exact filter %+v: want no match, got %d", tc.q, total)
		case tc.want != "" && (total != 1 || len(list) != 1 || list[0].Username != tc.want):
			t.Errorf("exact filter %+v: want only %s, got %d", tc.q, tc.want, total)
		}
	}
}

func testGroups(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	root := mustGroup(t, sc, "Admins", nil)
	mid := mustGroup(t, sc, "Ops", root)
	leaf := mustGroup(t, sc, "Oncall", mid)
	other := mustGroup(t, sc, "Other", nil)
	wantErr(t, "duplicate group name", sc.Groups().Create(ctx, &store.Group{Name: "admins"}), store.ErrConflict)
	u := mustUser(t, sc, "dave")
	noErr(t, "AddMember", sc.Groups().AddMember(ctx, leaf.ID, u.ID))
	noErr(t, "AddMember twice is harmless", sc.Groups().AddMember(ctx, leaf.ID, u.ID))
	wantErr(t, "AddMember unknown user", sc.Groups().AddMember(ctx, leaf.ID, uuid.New()), store.ErrNotFound)

	direct, err := sc.Groups().ForUser(ctx, u.ID, false)
	noErr(t, "ForUser direct", err)
	eff, err := sc.Groups().ForUser(ctx, u.ID, true)
	noErr(t, "ForUser effective", err)
	if len(direct) != 1 || len(eff) != 3 {
		t.Fatalf("membership: want 1 direct and 3 effective groups (leaf, mid, root), got %d and %d", len(direct), len(eff))
	}
	_, err = sc.Groups().Update(ctx, root.ID, func(g *store.Group) error {
		g.ParentID = uuid.NullUUID{UUID: leaf.ID, Valid: true}
		return nil
	})
	wantField(t, "parent that makes a cycle", err, "parent")
	_, err = sc.Groups().Update(ctx, root.ID, func(g *store.Group) error {
		g.ParentID = uuid.NullUUID{UUID: root.ID, Valid: true}
		return nil
	})
	wantField(t, "group as its own parent", err, "parent")
	_, err = sc.Groups().Update(ctx, other.ID, func(g *store.Group) error {
		g.ParentID = uuid.NullUUID{UUID: uuid.New(), Valid: true}
		return nil
	})
	wantField(t, "unknown parent", err, "parent")
	members, err := sc.Groups().Members(ctx, leaf.ID)
	noErr(t, "Members", err)
	if len(members) != 1 || members[0] != u.ID {
		t.Fatalf("Members: want [%v], got %v", u.ID, members)
	}
	noErr(t, "delete middle group", sc.Groups().Delete(ctx, mid.ID))
	got, err := sc.Groups().Get(ctx, leaf.ID)
	noErr(t, "child survives", err)
	if got.ParentID.Valid {
		t.Fatalf("deleting a parent must lift its children to the top: got parent %v", got.ParentID)
	}
	noErr(t, "RemoveMember", sc.Groups().RemoveMember(ctx, leaf.ID, u.ID))
	wantErr(t, "RemoveMember twice", sc.Groups().RemoveMember(ctx, leaf.ID, u.ID), store.ErrNotFound)
	list, total, err := sc.Groups().List(ctx, store.GroupQuery{Search: "o"})
	noErr(t, "List", err)
	if total != 2 || list[0].Name != "Oncall" {
		t.Fatalf("List search o: want Oncall and Other, got %d starting %q", total, list[0].Name)
	}
}

func testRoles(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	r := &store.Role{Name: "Helpdesk", Permissions: []string{"view_user", "change_user", "view_user"}}
	noErr(t, "create role", sc.Roles().Create(ctx, r))
	wantErr(t, "bad permission name", sc.Roles().Create(ctx, &store.Role{Name: "x", Permissions: []string{"DROP TABLE"}}), store.ErrInvalid)
	wantErr(t, "duplicate role", sc.Roles().Create(ctx, &store.Role{Name: "helpdesk"}), store.ErrConflict)
	parent := mustGroup(t, sc, "Staff", nil)
	child := mustGroup(t, sc, "Support", parent)
	u := mustUser(t, sc, "erin")
	noErr(t, "AddMember", sc.Groups().AddMember(ctx, child.ID, u.ID))
	noErr(t, "AssignToGroup", sc.Roles().AssignToGroup(ctx, r.ID, parent.ID))
	got, err := sc.Roles().ForUser(ctx, u.ID)
	noErr(t, "ForUser", err)
	if len(got) != 1 || strings.Join(got[0].Permissions, ",") != "change_user,view_user" {
		t.Fatalf("roles through a parent group: want Helpdesk with change_user,view_user, got %+v", got)
	}
	noErr(t, "SetPermissions", sc.Roles().SetPermissions(ctx, r.ID, []string{"view_group"}))
	got2, _ := sc.Roles().Get(ctx, r.ID)
	if strings.Join(got2.Permissions, ",") != "view_group" {
		t.Fatalf("SetPermissions: want view_group, got %v", got2.Permissions)
	}
	noErr(t, "Unassign", sc.Roles().UnassignFromGroup(ctx, r.ID, parent.ID))
	got, _ = sc.Roles().ForUser(ctx, u.ID)
	if len(got) != 0 {
		t.Fatalf("after unassign: want no roles, got %d", len(got))
	}
	noErr(t, "Delete", sc.Roles().Delete(ctx, r.ID))
}

func testGroupRoles(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	ops := &store.Role{Name: "ops", Permissions: []string{"view_user"}}
	audit := &store.Role{Name: "Audit", Permissions: []string{"view_event"}}
	for _, r := range []*store.Role{ops, audit} {
		noErr(t, "create role", sc.Roles().Create(ctx, r))
	}
	g := mustGroup(t, sc, "staff", nil)
	other := mustGroup(t, sc, "other", nil)
	version := func(id uuid.UUID) int64 {
		t.Helper()
		x, err := sc.Groups().Get(ctx, id)
		noErr(t, "get group", err)
		return x.Version
	}
	names := func(id uuid.UUID) string {
		t.Helper()
		m, err := sc.Roles().ForGroups(ctx, []uuid.UUID{id})
		noErr(t, "ForGroups", err)
		var out []string
		for _, r := range m[id] {
			out = append(out, r.Name)
		}
		return strings.Join(out, ",")
	}

	v0 := version(g.ID)
	noErr(t, "SetForGroup", sc.Roles().SetForGroup(ctx, g.ID, []uuid.UUID{ops.ID, audit.ID, ops.ID}))
	if got := names(g.ID); got != "Audit,ops" {
		t.Fatalf("roles after SetForGroup: want Audit,ops (by name), got %q", got)
	}
	v1 := version(g.ID)
	if v1 <= v0 {
		t.Errorf("SetForGroup must bump the group's version: %d then %d", v0, v1)
	}
	noErr(t, "SetForGroup unchanged", sc.Roles().SetForGroup(ctx, g.ID, []uuid.UUID{audit.ID, ops.ID}))
	if v := version(g.ID); v != v1 {
		t.Errorf("SetForGroup without a change bumped the version: %d then %d", v1, v)
	}
	m, err := sc.Roles().ForGroups(ctx, []uuid.UUID{g.ID, other.ID, uuid.New()})
	noErr(t, "ForGroups", err)
	if len(m) != 1 || len(m[g.ID]) != 2 || m[g.ID][0].Permissions[0] != "view_event" {
		t.Fatalf("ForGroups: want only staff's two roles with permissions, got %+v", m)
	}

	// A missing role: a field error, and nothing changes.
	err = sc.Roles().SetForGroup(ctx, g.ID, []uuid.UUID{ops.ID, uuid.New()})
	wantField(t, "SetForGroup with a missing role", err, "roles")
	if got := names(g.ID); got != "Audit,ops" {
		t.Fatalf("a refused SetForGroup changed the roles: %q", got)
	}
	wantErr(t, "SetForGroup on a missing group", sc.Roles().SetForGroup(ctx, uuid.New(), []uuid.UUID{ops.ID}), store.ErrNotFound)

	noErr(t, "SetForGroup to one", sc.Roles().SetForGroup(ctx, g.ID, []uuid.UUID{audit.ID}))
	if got := names(g.ID); got != "Audit" {
		t.Fatalf("roles after removing ops: %q", got)
	}
	v2 := version(g.ID)
	noErr(t, "AssignToGroup", sc.Roles().AssignToGroup(ctx, ops.ID, g.ID))
	v3 := version(g.ID)
	noErr(t, "AssignToGroup again", sc.Roles().AssignToGroup(ctx, ops.ID, g.ID))
	if v3 <= v2 || version(g.ID) != v3 {
		t.Errorf("AssignToGroup: versions %d, %d, %d; want a bump only when the assignment is new", v2, v3, version(g.ID))
	}
	noErr(t, "UnassignFromGroup", sc.Roles().UnassignFromGroup(ctx, ops.ID, g.ID))
	if version(g.ID) <= v3 {
		t.Error("UnassignFromGroup must bump the group's version")
	}
	noErr(t, "SetForGroup to none", sc.Roles().SetForGroup(ctx, g.ID, nil))
	if got := names(g.ID); got != "" {
		t.Fatalf("roles after clearing: %q", got)
	}
}

func testTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	u := mustUser(t, sc, "frank")
	now := time.Now()
	tok := &store.Token{Identifier: "frank-api", KeyHash: hashOf("secret"), Intent: store.IntentAPI, UserID: u.ID}
	noErr(t, "create token", sc.Tokens().Create(ctx, tok))
	exp := &store.Token{Identifier: "old", KeyHash: hashOf("old"), Intent: store.IntentRecovery, UserID: u.ID, Expires: now.Add(-time.Minute)}
	noErr(t, "create expired token", sc.Tokens().Create(ctx, exp))
	got, err := sc.Tokens().GetByKeyHash(ctx, hashOf("secret"))
	noErr(t, "GetByKeyHash", err)
	if got.ID != tok.ID || got.Expired(now) {
		t.Fatalf("GetByKeyHash: want %v unexpired, got %+v", tok.ID, got)
	}
	_, err = sc.Tokens().GetByKeyHash(ctx, hashOf("wrong"))
	wantErr(t, "unknown key", err, store.ErrNotFound)
	wantErr(t, "duplicate identifier", sc.Tokens().Create(ctx, &store.Token{Identifier: "frank-api", KeyHash: hashOf("x"), Intent: store.IntentAPI, UserID: u.ID}), store.ErrConflict)
	// Identifiers are unique per owner: another user may use the name.
	gina := mustUser(t, sc, "gina")
	ginas := &store.Token{Identifier: "frank-api", KeyHash: hashOf("gina"), Intent: store.IntentAPI, UserID: gina.ID}
	noErr(t, "another user's token of the same name", sc.Tokens().Create(ctx, ginas))
	for _, c := range []struct {
		user uuid.UUID
		name string
		want *store.Token
		err  error
	}{{u.ID, "frank-api", tok, nil}, {gina.ID, "frank-api", ginas, nil}, {gina.ID, "old", nil, store.ErrNotFound},
		{uuid.Nil, "old", exp, nil}, {uuid.Nil, "frank-api", nil, store.ErrConflict}} {
		got, err := sc.Tokens().GetByIdentifier(ctx, c.user, c.name)
		if c.err != nil {
			wantErr(t, "GetByIdentifier "+c.name, err, c.err)
		} else if err != nil || got.ID != c.want.ID {
			t.Fatalf("GetByIdentifier(%v, %q): want %v, got %+v (%v)", c.user, c.name, c.want.ID, got, err)
		}
	}
	noErr(t, "delete gina", sc.Users().Delete(ctx, gina.ID))
	wantErr(t, "bad intent", sc.Tokens().Create(ctx, &store.Token{Identifier: "x", KeyHash: hashOf("y"), Intent: "root", UserID: u.ID}), store.ErrInvalid)
	wantErr(t, "unhashed key", sc.Tokens().Create(ctx, &store.Token{Identifier: "x", KeyHash: []byte("plain"), Intent: store.IntentAPI, UserID: u.ID}), store.ErrInvalid)
	wantErr(t, "unknown user", sc.Tokens().Create(ctx, &store.Token{Identifier: "x", KeyHash: hashOf("z"), Intent: store.IntentAPI, UserID: uuid.New()}), store.ErrNotFound)
	n, err := sc.Tokens().DeleteExpired(ctx, now)
	noErr(t, "DeleteExpired", err)
	if n != 1 {
		t.Fatalf("DeleteExpired: want 1, got %d", n)
	}
	list, _ := sc.Tokens().ListForUser(ctx, u.ID)
	if len(list) != 1 {
		t.Fatalf("ListForUser: want 1, got %d", len(list))
	}
	noErr(t, "delete user", sc.Users().Delete(ctx, u.ID))
	_, err = sc.Tokens().Get(ctx, tok.ID)
	wantErr(t, "tokens go with their user", err, store.ErrNotFound)
}

func testSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	u := mustUser(t, sc, "gina")
	now := time.Now()
	mk := func(key string, user bool) *store.Session {
		se := &store.Session{KeyHash: hashOf(key), IP: "192.0.2.1", UserAgent: strings.Repeat("u", 2000), Expires: now.Add(time.Hour)}
		if user {
			se.UserID = uuid.NullUUID{UUID: u.ID, Valid: true}
		}
		noErr(t, "create session", sc.Sessions().Create(ctx, se))
		return se
	}
	a, b, anon := mk("a", true), mk("b", true), mk("c", false)
	got, err := sc.Sessions().GetByKeyHash(ctx, hashOf("a"))
	noErr(t, "GetByKeyHash", err)
	if got.ID != a.ID || len(got.UserAgent) != store.MaxUserAgentLen {
		t.Fatalf("GetByKeyHash: want %v with user agent clipped to %d, got %v (%d)", a.ID, store.MaxUserAgentLen, got.ID, len(got.UserAgent))
	}
	got.Data = []byte(`{"flow":"x"}`)
	got.KeyHash = hashOf("a2") // rotation at login: new secret, same session
	noErr(t, "Save", sc.Sessions().Save(ctx, got))
	_, err = sc.Sessions().GetByKeyHash(ctx, hashOf("a"))
	wantErr(t, "old key after rotation", err, store.ErrNotFound)
	got, _ = sc.Sessions().GetByKeyHash(ctx, hashOf("a2"))
	if string(got.Data) != `{"flow":"x"}` {
		t.Fatalf("Save: want data kept, got %q", got.Data)
	}
	n, _ := sc.Sessions().CountActive(ctx, now)
	if n != 2 {
		t.Fatalf("CountActive: want 2 authenticated sessions, got %d", n)
	}
	n, err = sc.Sessions().DeleteForUser(ctx, u.ID, a.ID)
	noErr(t, "DeleteForUser", err)
	if n != 1 {
		t.Fatalf("DeleteForUser keeping one: want 1 deleted, got %d", n)
	}
	_, err = sc.Sessions().Get(ctx, b.ID)
	wantErr(t, "other session ended", err, store.ErrNotFound)
	n, _ = sc.Sessions().DeleteExpired(ctx, now.Add(2*time.Hour))
	if n != 2 {
		t.Fatalf("DeleteExpired: want 2 (a and anonymous), got %d", n)
	}
	wantErr(t, "Delete gone session", sc.Sessions().Delete(ctx, anon.ID), store.ErrNotFound)
}

func testEvents(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	for i := range 5 {
		action := "login"
		if i%2 == 1 {
			action = "login_failed"
		}
		noErr(t, "create event", sc.Events().Create(ctx, &store.Event{Action: action, Username: "hank", Context: map[string]any{"i": i}}))
	}
	list, total, err := sc.Events().List(ctx, store.EventQuery{Action: "login_failed"})
	noErr(t, "List", err)
	if total != 2 || len(list) != 2 || list[0].Context["i"] != float64(3) {
		t.Fatalf("List login_failed newest first: want 2 starting at i=3, got %d, first %v", total, list[0].Context)
	}
	wantErr(t, "empty action", sc.Events().Create(ctx, &store.Event{}), store.ErrInvalid)
	n, _ := sc.Events().DeleteExpired(ctx, time.Now().Add(400*24*time.Hour))
	if n != 5 {
		t.Fatalf("DeleteExpired after the default retention: want 5, got %d", n)
	}
}

func testTransactions(t *testing.T, s store.Store) {
	ctx := t.Context()
	sc := mustTenant(t, s, "t")
	boom := errors.New("boom")
	err := sc.Tx(ctx, func(tx store.Scope) error {
		u := &store.User{Username: "rolledback"}
		if err := tx.Users().Create(ctx, u); err != nil {
			return err
		}
		return tx.Tx(ctx, func(inner store.Scope) error { // nested joins the outer tx
			if err := inner.Groups().Create(ctx, &store.Group{Name: "rolledback"}); err != nil {
				return err
			}
			return boom
		})
	})
	wantErr(t, "Tx returns fn's error", err, boom)
	_, err = sc.Users().GetByUsername(ctx, "rolledback")
	wantErr(t, "user rolled back", err, store.ErrNotFound)
	_, err = sc.Groups().GetByName(ctx, "rolledback")
	wantErr(t, "group rolled back", err, store.ErrNotFound)
	noErr(t, "committed Tx", sc.Tx(ctx, func(tx store.Scope) error {
		return tx.Users().Create(ctx, &store.User{Username: "kept"})
	}))
	_, err = sc.Users().GetByUsername(ctx, "kept")
	noErr(t, "committed user", err)
}

// testTenantIsolation proves that a scope for tenant B can neither see, change,
// delete nor link to tenant A's rows, and that A's rows are untouched after.
func testTenantIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := mustTenant(t, s, "a"), mustTenant(t, s, "b")
	ua := mustUser(t, a, "ivy")
	ga := mustGroup(t, a, "A-team", nil)
	noErr(t, "member in A", a.Groups().AddMember(ctx, ga.ID, ua.ID))
	ra := &store.Role{Name: "A-role", Permissions: []string{"view_user"}}
	noErr(t, "role in A", a.Roles().Create(ctx, ra))
	noErr(t, "assign in A", a.Roles().AssignToGroup(ctx, ra.ID, ga.ID))
	ta := &store.Token{Identifier: "ivy", KeyHash: hashOf("ivy"), Intent: store.IntentAPI, UserID: ua.ID}
	noErr(t, "token in A", a.Tokens().Create(ctx, ta))
	sa := &store.Session{KeyHash: hashOf("ivy-session"), UserID: uuid.NullUUID{UUID: ua.ID, Valid: true}, Expires: time.Now().Add(time.Hour)}
	noErr(t, "session in A", a.Sessions().Create(ctx, sa))
	noErr(t, "event in A", a.Events().Create(ctx, &store.Event{Action: "login", Username: "ivy"}))
	ub := mustUser(t, b, "ivy") // same username is fine in another tenant
	gb := mustGroup(t, b, "A-team", nil)

	type check struct {
		name string
		err  error
	}
	notFound := func(_ any, err error) error { return err }
	nop := func(*store.User) error { return nil }
	gnop := func(*store.Group) error { return nil }
	checks := []check{
		{"Users.Get", notFound(b.Users().Get(ctx, ua.ID))},
		{"Users.Update", notFound(b.Users().Update(ctx, ua.ID, nop))},
		{"Users.UpdateIfVersion", notFound(b.Users().UpdateIfVersion(ctx, ua.ID, ua.Version, nop))},
		{"Users.Delete", b.Users().Delete(ctx, ua.ID)},
		{"Users.SetPassword", b.Users().SetPassword(ctx, ua.ID, "x", time.Now())},
		{"Users.RecordLogin", b.Users().RecordLogin(ctx, ua.ID, time.Now())},
		{"Groups.Get", notFound(b.Groups().Get(ctx, ga.ID))},
		{"Groups.Update", notFound(b.Groups().Update(ctx, ga.ID, gnop))},
		{"Groups.Delete", b.Groups().Delete(ctx, ga.ID)},
		{"Groups.Members", notFound(b.Groups().Members(ctx, ga.ID))},
		{"Groups.AddMember (A's group and user)", b.Groups().AddMember(ctx, ga.ID, ua.ID)},
		{"Groups.AddMember (B's group, A's user)", b.Groups().AddMember(ctx, gb.ID, ua.ID)},
		{"Groups.AddMember (A's group, B's user)", b.Groups().AddMember(ctx, ga.ID, ub.ID)},
		{"Groups.RemoveMember", b.Groups().RemoveMember(ctx, ga.ID, ua.ID)},
		{"Roles.Get", notFound(b.Roles().Get(ctx, ra.ID))},
		{"Roles.SetPermissions", b.Roles().SetPermissions(ctx, ra.ID, []string{"delete_user"})},
		{"Roles.Delete", b.Roles().Delete(ctx, ra.ID)},
		{"Roles.AssignToGroup (A's role)", b.Roles().AssignToGroup(ctx, ra.ID, gb.ID)},
		{"Roles.UnassignFromGroup", b.Roles().UnassignFromGroup(ctx, ra.ID, ga.ID)},
		{"Roles.SetForGroup (A's group)", b.Roles().SetForGroup(ctx, ga.ID, nil)},
		{"Tokens.Get", notFound(b.Tokens().Get(ctx, ta.ID))},
		{"Tokens.GetByKeyHash", notFound(b.Tokens().GetByKeyHash(ctx, hashOf("ivy")))},
		{"Tokens.GetByIdentifier", notFound(b.Tokens().GetByIdentifier(ctx, uuid.Nil, "ivy"))},
		{"Tokens.Delete", b.Tokens().Delete(ctx, ta.ID)},
		{"Tokens.Create for A's user", b.Tokens().Create(ctx, &store.Token{Identifier: "steal", KeyHash: hashOf("steal"), Intent: store.IntentAPI, UserID: ua.ID})},
		{"Sessions.Get", notFound(b.Sessions().Get(ctx, sa.ID))},
		{"Sessions.GetByKeyHash", notFound(b.Sessions().GetByKeyHash(ctx, hashOf("ivy-session")))},
		{"Sessions.Save", b.Sessions().Save(ctx, &store.Session{ID: sa.ID, KeyHash: hashOf("x")})},
		{"Sessions.Delete", b.Sessions().Delete(ctx, sa.ID)},
		{"Sessions.Create for A's user", b.Sessions().Create(ctx, &store.Session{KeyHash: hashOf("s2"), UserID: uuid.NullUUID{UUID: ua.ID, Valid: true}})},
	}
	for _, c := range checks {
		if !errors.Is(c.err, store.ErrNotFound) {
			t.Errorf("tenant B %s on tenant A's row: want ErrNotFound, got %v", c.name, c.err)
		}
	}
	// Lists and counts in B see only B.
	if list, total, _ := b.Users().List(ctx, store.UserQuery{}); total != 1 || list[0].ID != ub.ID {
		t.Errorf("tenant B Users.List: want only B's user, got %d", total)
	}
	if list, _ := b.Groups().ForUser(ctx, ua.ID, true); len(list) != 0 {
		t.Errorf("tenant B Groups.ForUser(A's user): want none, got %d", len(list))
	}
	if list, _ := b.Roles().ForUser(ctx, ua.ID); len(list) != 0 {
		t.Errorf("tenant B Roles.ForUser(A's user): want none, got %d", len(list))
	}
	if m, _ := b.Roles().ForGroups(ctx, []uuid.UUID{ga.ID}); len(m) != 0 {
		t.Errorf("tenant B Roles.ForGroups(A's group): want none, got %d", len(m))
	}
	wantField(t, "tenant B Roles.SetForGroup with A's role", b.Roles().SetForGroup(ctx, gb.ID, []uuid.UUID{ra.ID}), "roles")
	if m, _ := a.Roles().ForGroups(ctx, []uuid.UUID{ga.ID}); len(m[ga.ID]) != 1 {
		t.Errorf("tenant A's assignment changed through tenant B: %+v", m)
	}
	if list, _ := b.Tokens().ListForUser(ctx, ua.ID); len(list) != 0 {
		t.Errorf("tenant B Tokens.ListForUser(A's user): want none, got %d", len(list))
	}
	if list, _ := b.Sessions().ListForUser(ctx, ua.ID); len(list) != 0 {
		t.Errorf("tenant B Sessions.ListForUser(A's user): want none, got %d", len(list))
	}
	if n, _ := b.Sessions().DeleteForUser(ctx, ua.ID, uuid.Nil); n != 0 {
		t.Errorf("tenant B Sessions.DeleteForUser(A's user): want 0 deleted, got %d", n)
	}
	if _, total, _ := b.Events().List(ctx, store.EventQuery{}); total != 0 {
		t.Errorf("tenant B Events.List: want none, got %d", total)
	}
	if _, total, _ := b.Users().List(ctx, store.UserQuery{GroupID: ga.ID}); total != 0 {
		t.Errorf("tenant B Users.List(group of A): want none, got %d", total)
	}
	// A is intact.
	got, err := a.Users().Get(ctx, ua.ID)
	if err != nil || got.Version != 1 || got.PasswordHash != "" || !got.LastLogin.IsZero() {
		t.Errorf("tenant A's user changed by B's calls: %+v, %v", got, err)
	}
	if m, _ := a.Groups().Members(ctx, ga.ID); len(m) != 1 {
		t.Errorf("tenant A's membership changed: %v", m)
	}
	if r, _ := a.Roles().ForUser(ctx, ua.ID); len(r) != 1 || strings.Join(r[0].Permissions, ",") != "view_user" {
		t.Errorf("tenant A's role changed: %+v", r)
	}
	if _, err := a.Tokens().GetByKeyHash(ctx, hashOf("ivy")); err != nil {
		t.Errorf("tenant A's token gone: %v", err)
	}
	if se, err := a.Sessions().Get(ctx, sa.ID); err != nil || string(se.KeyHash) != string(hashOf("ivy-session")) {
		t.Errorf("tenant A's session changed: %v", err)
	}
	if _, total, _ := a.Events().List(ctx, store.EventQuery{}); total != 1 {
		t.Errorf("tenant A's events: want 1, got %d", total)
	}
}
