package core_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/crypto/password"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqlitetest"
)

// cheap keeps argon2id fast in tests; the scheme and format are the real ones.
var cheap = password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// djangoHunter22 is Django's pbkdf2_sha256 hash of "hunter22" with salt
// "salt1234" and 260000 iterations, as Authentik stores it; computed with
// Python's hashlib.pbkdf2_hmac.
const djangoHunter22 = "pbkdf2_sha256$260000$salt1234$QTO8NOffvzxIGRc9z4e7i4/6/h/0fxS/etjoL/OwwF8="

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	db *sqlstore.DB
	c  *core.Core
	sc store.Scope
}

func setup(t *testing.T, params password.Params) *env {
	t.Helper()
	db := sqlitetest.Open(t)
	def, err := db.Tenants().EnsureDefault(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	c := core.New(db, password.NewHasher(params, 0), nil)
	c.Now = func() time.Time { return t0 }
	return &env{db: db, c: c, sc: db.Scope(def.ID)}
}

func (e *env) user(t *testing.T, username string) *store.User {
	t.Helper()
	u, err := e.sc.Users().GetByUsername(t.Context(), username)
	if err != nil {
		t.Fatalf("GetByUsername(%q): %v", username, err)
	}
	return u
}

func (e *env) newUser(t *testing.T, username, plain string) *store.User {
	t.Helper()
	u := &store.User{Username: username, IsActive: true}
	if err := e.c.CreateUser(t.Context(), e.sc, u, plain); err != nil {
		t.Fatalf("CreateUser(%q): %v", username, err)
	}
	return u
}

func TestCreateUserHashesThePassword(t *testing.T) {
	e := setup(t, cheap)
	e.newUser(t, "alice", "correct horse")
	u := e.user(t, "alice")
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("stored hash %q; want an argon2id PHC string with the hasher's parameters", u.PasswordHash)
	}
	if strings.Contains(u.PasswordHash, "correct horse") {
		t.Fatal("the plain password is stored")
	}
	if !u.PasswordChangeDate.Equal(t0) {
		t.Errorf("password_change_date %v; want %v", u.PasswordChangeDate, t0)
	}
	if ok, err := e.c.CheckPassword(t.Context(), e.sc, u, "correct horse"); !ok || err != nil {
		t.Errorf("CheckPassword(right password) = %v, %v; want true, nil", ok, err)
	}

	// No password: a user who cannot log in with one.
	e.newUser(t, "svc", "")
	if u := e.user(t, "svc"); u.HasUsablePassword() || !u.PasswordChangeDate.IsZero() {
		t.Errorf("user created without a password: hash %q, change date %v; want none", u.PasswordHash, u.PasswordChangeDate)
	}

	// Too short: refused before anything is stored.
	err := e.c.CreateUser(t.Context(), e.sc, &store.User{Username: "bob", IsActive: true}, "1234567")
	var ve *store.ValidationError
	if !errors.As(err, &ve) || ve.Fields[0].Field != "password" {
		t.Errorf("CreateUser with a 7-character password = %v; want a validation error on password", err)
	}
	if _, err := e.sc.Users().GetByUsername(t.Context(), "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("user with a refused password was stored (lookup: %v)", err)
	}
	// Length counts characters, not bytes.
	if err := e.c.CreateUser(t.Context(), e.sc, &store.User{Username: "zoe", IsActive: true}, "密码密码密码密码"); err != nil {
		t.Errorf("CreateUser with 8 CJK characters = %v; want accepted", err)
	}
}

func TestSetPassword(t *testing.T) {
	e := setup(t, cheap)
	u := e.newUser(t, "alice", "first password")
	later := t0.Add(time.Hour)
	e.c.Now = func() time.Time { return later }
	if err := e.c.SetPassword(t.Context(), e.sc, u.ID, "second password", core.PasswordWrite{Reset: true}); err != nil {
		t.Fatal(err)
	}
	u = e.user(t, "alice")
	if !u.PasswordChangeDate.Equal(later) {
		t.Errorf("password_change_date %v after SetPassword; want %v", u.PasswordChangeDate, later)
	}
	for pw, want := range map[string]bool{"first password": false, "second password": true} {
		if ok, _ := e.c.CheckPassword(t.Context(), e.sc, u, pw); ok != want {
			t.Errorf("CheckPassword(%q) = %v; want %v", pw, ok, want)
		}
	}
	if err := e.c.SetPassword(t.Context(), e.sc, u.ID, "short", core.PasswordWrite{Reset: true}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("SetPassword(short) = %v; want ErrInvalid", err)
	}
}

func TestCheckPasswordUpgradesDjangoHash(t *testing.T) {
	e := setup(t, cheap)
	imported := &store.User{Username: "akuser", IsActive: true, PasswordHash: djangoHunter22, PasswordChangeDate: t0.Add(-72 * time.Hour)}
	if err := e.sc.Users().Create(t.Context(), imported); err != nil {
		t.Fatal(err)
	}
	u := e.user(t, "akuser")

	// A wrong password neither logs in nor touches the hash.
	if ok, err := e.c.CheckPassword(t.Context(), e.sc, u, "hunter2"); ok || err != nil {
		t.Errorf("CheckPassword(wrong) = %v, %v; want false, nil", ok, err)
	}
	if got := e.user(t, "akuser").PasswordHash; got != djangoHunter22 {
		t.Fatalf("a failed check changed the stored hash to %q", got)
	}

	if ok, err := e.c.CheckPassword(t.Context(), e.sc, u, "hunter22"); !ok || err != nil {
		t.Fatalf("CheckPassword(right) against Authentik's pbkdf2_sha256 hash = %v, %v; want true, nil", ok, err)
	}
	up := e.user(t, "akuser")
	if !strings.HasPrefix(up.PasswordHash, "$argon2id$") {
		t.Errorf("after a successful login the hash is %q; want it upgraded to $argon2id$", up.PasswordHash)
	}
	if !up.PasswordChangeDate.Equal(imported.PasswordChangeDate) {
		t.Errorf("upgrade changed password_change_date from %v to %v; the password did not change",
			imported.PasswordChangeDate, up.PasswordChangeDate)
	}

	// The upgraded hash works, and being current is not upgraded again.
	if ok, _ := e.c.CheckPassword(t.Context(), e.sc, up, "hunter22"); !ok {
		t.Error("the upgraded hash does not verify the same password")
	}
	if again := e.user(t, "akuser").PasswordHash; again != up.PasswordHash {
		t.Error("a current argon2id hash was rehashed on login")
	}
	if ok, _ := e.c.CheckPassword(t.Context(), e.sc, up, "hunter2"); ok {
		t.Error("the upgraded hash accepts a wrong password")
	}
}

func TestRehashNeverUndoesAPasswordChange(t *testing.T) {
	e := setup(t, cheap)
	if err := e.sc.Users().Create(t.Context(), &store.User{Username: "akuser", IsActive: true, PasswordHash: djangoHunter22}); err != nil {
		t.Fatal(err)
	}
	// A login reads the user; before it finishes, an admin resets the
	// password (say, because the old one leaked).
	stale := e.user(t, "akuser")
	if err := e.c.SetPassword(t.Context(), e.sc, stale.ID, "new secret password", core.PasswordWrite{Reset: true}); err != nil {
		t.Fatal(err)
	}
	e.c.CheckPassword(t.Context(), e.sc, stale, "hunter22")

	now := e.user(t, "akuser")
	if ok, _ := e.c.CheckPassword(t.Context(), e.sc, now, "new secret password"); !ok {
		t.Error("the rehash of a login that started before a reset overwrote the new password")
	}
	if ok, _ := e.c.CheckPassword(t.Context(), e.sc, now, "hunter22"); ok {
		t.Error("the old password works again after a reset")
	}
}

func TestCheckPasswordUpgradesWeakerArgon2(t *testing.T) {
	e := setup(t, cheap)
	e.newUser(t, "alice", "correct horse")
	old := e.user(t, "alice").PasswordHash

	// The operator raises the cost: the next login moves the hash over.
	stronger := core.New(e.db, password.NewHasher(password.Params{Memory: 128, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, 0), nil)
	if ok, err := stronger.CheckPassword(t.Context(), e.sc, e.user(t, "alice"), "correct horse"); !ok || err != nil {
		t.Fatalf("CheckPassword = %v, %v", ok, err)
	}
	if got := e.user(t, "alice").PasswordHash; got == old || !strings.Contains(got, "m=128,") {
		t.Errorf("hash after login with raised parameters %q; want m=128", got)
	}
}

func TestCheckPasswordWithoutUserStillWorks(t *testing.T) {
	e := setup(t, password.DefaultParams)
	ok, err := e.c.CheckPassword(t.Context(), e.sc, nil, "anything")
	if ok || err != nil {
		t.Errorf("CheckPassword(nil user) = %v, %v; want false, nil", ok, err)
	}
	unusable := &store.User{Username: "x", PasswordHash: "!unusable"}
	if ok, err := e.c.CheckPassword(t.Context(), e.sc, unusable, "!unusable"); ok || err != nil {
		t.Errorf("CheckPassword(unusable password) = %v, %v; want false, nil", ok, err)
	}

	// The dummy goes through the hasher: it honours cancellation like a
	// real check, which a shortcut return would not.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := e.c.CheckPassword(ctx, e.sc, nil, "anything"); !errors.Is(err, context.Canceled) {
		t.Errorf("CheckPassword(nil user, cancelled) = %v; want context.Canceled", err)
	}

	// And it costs about what a real check costs, so timing does not say
	// whether the account exists.
	real := e.newUser(t, "alice", "correct horse")
	real = e.user(t, real.Username)
	fastest := func(fn func()) time.Duration {
		best := time.Hour
		for range 3 {
			start := time.Now()
			fn()
			best = min(best, time.Since(start))
		}
		return best
	}
	known := fastest(func() { e.c.CheckPassword(t.Context(), e.sc, real, "wrong password") })
	unknown := fastest(func() { e.c.CheckPassword(t.Context(), e.sc, nil, "wrong password") })
	if unknown < known/3 {
		t.Errorf("unknown user took %v, known user with a wrong password %v; want comparable", unknown, known)
	}
}

func TestCheckPasswordWithUnreadableHash(t *testing.T) {
	e := setup(t, cheap)
	u := &store.User{Username: "weird", IsActive: true, PasswordHash: "md5$salt$0123456789abcdef"}
	if err := e.sc.Users().Create(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if ok, err := e.c.CheckPassword(t.Context(), e.sc, u, "anything"); ok || err != nil {
		t.Errorf("CheckPassword against an unsupported hash = %v, %v; want false, nil (logged, not the user's fault)", ok, err)
	}
}

func TestAuthenticateToken(t *testing.T) {
	e := setup(t, cheap)
	owner := e.newUser(t, "alice", "")
	api := &store.Token{Intent: store.IntentAPI, UserID: owner.ID}
	secret, err := e.c.CreateToken(t.Context(), e.sc, api, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != core.TokenLength {
		t.Errorf("token secret has %d characters; want %d", len(secret), core.TokenLength)
	}
	if !strings.HasPrefix(api.Identifier, "api-") {
		t.Errorf("generated identifier %q; want api-...", api.Identifier)
	}
	stored, _ := e.sc.Tokens().Get(t.Context(), api.ID)
	if stored == nil || strings.Contains(string(stored.KeyHash), secret) {
		t.Fatal("token not stored, or stored in the clear")
	}

	tok, u, err := e.c.AuthenticateToken(t.Context(), e.sc, secret, store.IntentAPI)
	if err != nil || tok.ID != api.ID || u.ID != owner.ID {
		t.Fatalf("AuthenticateToken(right secret, api) = %v, %v, %v; want the token and alice", tok, u, err)
	}

	expiring := &store.Token{Intent: store.IntentAppPassword, UserID: owner.ID, Expires: t0.Add(time.Hour)}
	expSecret, err := e.c.CreateToken(t.Context(), e.sc, expiring, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.c.AuthenticateToken(t.Context(), e.sc, expSecret, store.IntentAppPassword); err != nil {
		t.Errorf("app password before expiry: %v; want ok", err)
	}

	other := &store.Tenant{Name: "Other"}
	if err := e.db.Tenants().Create(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	otherScope := e.db.Scope(other.ID)

	for _, tc := range []struct {
		name   string
		sc     store.Scope
		secret string
		intent store.TokenIntent
		before func()
	}{
		{"wrong intent", e.sc, secret, store.IntentAppPassword, nil},
		{"recovery intent", e.sc, secret, store.IntentRecovery, nil},
		{"unknown secret", e.sc, otherLast(secret), store.IntentAPI, nil},
		{"empty secret", e.sc, "", store.IntentAPI, nil},
		{"huge secret", e.sc, strings.Repeat("a", 4096), store.IntentAPI, nil},
		{"another tenant", otherScope, secret, store.IntentAPI, nil},
		{"expired", e.sc, expSecret, store.IntentAppPassword, func() { e.c.Now = func() time.Time { return t0.Add(time.Hour) } }},
		{"inactive owner", e.sc, secret, store.IntentAPI, func() {
			if _, err := e.sc.Users().Update(t.Context(), owner.ID, func(u *store.User) error { u.IsActive = false; return nil }); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		if tc.before != nil {
			tc.before()
		}
		tok, u, err := e.c.AuthenticateToken(t.Context(), tc.sc, tc.secret, tc.intent)
		if !errors.Is(err, core.ErrBadToken) || tok != nil || u != nil {
			t.Errorf("%s: AuthenticateToken = %v, %v, %v; want ErrBadToken and nothing else", tc.name, tok, u, err)
		}
	}
}

func TestTokenIdentifierConflict(t *testing.T) {
	e := setup(t, cheap)
	owner := e.newUser(t, "alice", "")
	if _, err := e.c.CreateToken(t.Context(), e.sc, &store.Token{Identifier: "ci", Intent: store.IntentAPI, UserID: owner.ID}, ""); err != nil {
		t.Fatal(err)
	}
	_, err := e.c.CreateToken(t.Context(), e.sc, &store.Token{Identifier: "ci", Intent: store.IntentAPI, UserID: owner.ID}, "")
	// (Which field collided is the store's to say; on SQLite it cannot
	// yet name this one, so only the kind of error is checked here.)
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("second token named ci = %v; want ErrConflict", err)
	}
}

func TestIsSuperuser(t *testing.T) {
	e := setup(t, cheap)
	ctx := t.Context()
	admins := &store.Group{Name: "admins", IsSuperuser: true}
	if err := e.sc.Groups().Create(ctx, admins); err != nil {
		t.Fatal(err)
	}
	child := &store.Group{Name: "ops", ParentID: uuid.NullUUID{UUID: admins.ID, Valid: true}}
	staff := &store.Group{Name: "staff"}
	for _, g := range []*store.Group{child, staff} {
		if err := e.sc.Groups().Create(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	direct, inherited, plain := e.newUser(t, "direct", ""), e.newUser(t, "inherited", ""), e.newUser(t, "plain", "")
	for _, m := range [][2]uuid.UUID{{admins.ID, direct.ID}, {child.ID, inherited.ID}, {staff.ID, plain.ID}} {
		if err := e.sc.Groups().AddMember(ctx, m[0], m[1]); err != nil {
			t.Fatal(err)
		}
	}
	for u, want := range map[*store.User]bool{direct: true, inherited: true, plain: false} {
		if got, err := e.c.IsSuperuser(ctx, e.sc, u.ID); got != want || err != nil {
			t.Errorf("IsSuperuser(%s) = %v, %v; want %v", u.Username, got, err, want)
		}
	}
}

func TestBootstrapWithPassword(t *testing.T) {
	e := setup(t, cheap)
	ctx := t.Context()
	opts := core.BootstrapOptions{Password: "bootstrap-pass", Token: "bootstrap-token-0123456789-abcdefghijklmnopqrstuvwxyz"}
	res, err := e.c.Bootstrap(ctx, e.sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res != (core.BootstrapResult{CreatedAdmin: true, CreatedToken: true}) {
		t.Errorf("first Bootstrap = %+v; want admin and token created, no setup needed", res)
	}
	admin := e.user(t, core.AdminUsername)
	if !admin.IsActive || admin.Type != store.UserInternal || admin.Email != "root@example.com" {
		t.Errorf("akadmin: active %v, type %q, email %q; want an active internal user with root@example.com", admin.IsActive, admin.Type, admin.Email)
	}
	if ok, _ := e.c.CheckPassword(ctx, e.sc, admin, "bootstrap-pass"); !ok {
		t.Error("akadmin does not log in with the bootstrap password")
	}
	g, err := e.sc.Groups().GetByName(ctx, "gatehouse Admins")
	if err != nil || !g.IsSuperuser {
		t.Fatalf("group gatehouse Admins: %v, %v; want a superuser group", g, err)
	}
	if members, _ := e.sc.Groups().Members(ctx, g.ID); len(members) != 1 || members[0] != admin.ID {
		t.Errorf("gatehouse Admins members %v; want akadmin only", members)
	}
	if su, err := e.c.IsSuperuser(ctx, e.sc, admin.ID); !su || err != nil {
		t.Errorf("IsSuperuser(akadmin) = %v, %v; want true", su, err)
	}

	// The bootstrap token is an API token of akadmin.
	_, u, err := e.c.AuthenticateToken(ctx, e.sc, opts.Token, store.IntentAPI)
	if err != nil || u.ID != admin.ID {
		t.Errorf("AuthenticateToken(bootstrap token) = %v, %v; want akadmin", u, err)
	}

	// The admin changes the password; a restart with another bootstrap
	// password creates nothing and overwrites nothing.
	if err := e.c.SetPassword(ctx, e.sc, admin.ID, "chosen-by-admin", core.PasswordWrite{Reset: true}); err != nil {
		t.Fatal(err)
	}
	res, err = e.c.Bootstrap(ctx, e.sc, core.BootstrapOptions{Password: "new-bootstrap-pass", Token: "another-token-0123456789-abcdefghijklmnopqrstuvwxyz"})
	if err != nil {
		t.Fatal(err)
	}
	if res != (core.BootstrapResult{}) {
		t.Errorf("second Bootstrap = %+v; want nothing created and no setup needed", res)
	}
	admin = e.user(t, core.AdminUsername)
	for pw, want := range map[string]bool{"chosen-by-admin": true, "new-bootstrap-pass": false, "bootstrap-pass": false} {
		if ok, _ := e.c.CheckPassword(ctx, e.sc, admin, pw); ok != want {
			t.Errorf("after a second Bootstrap, CheckPassword(%q) = %v; want %v", pw, ok, want)
		}
	}
	if n, _ := e.sc.Users().Count(ctx); n != 1 {
		t.Errorf("%d users after two Bootstraps; want 1", n)
	}
	if _, _, err := e.c.AuthenticateToken(ctx, e.sc, "another-token-0123456789-abcdefghijklmnopqrstuvwxyz", store.IntentAPI); !errors.Is(err, core.ErrBadToken) {
		t.Errorf("a changed bootstrap token was created on the second start (err %v)", err)
	}
	if _, _, err := e.c.AuthenticateToken(ctx, e.sc, opts.Token, store.IntentAPI); err != nil {
		t.Errorf("the first bootstrap token stopped working: %v", err)
	}
}

func TestBootstrapWithoutPasswordNeedsSetup(t *testing.T) {
	e := setup(t, cheap)
	ctx := t.Context()
	res, err := e.c.Bootstrap(ctx, e.sc, core.BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.CreatedAdmin || !res.NeedsSetup || res.CreatedToken {
		t.Errorf("Bootstrap without password = %+v; want admin created, setup needed, no token", res)
	}
	if admin := e.user(t, core.AdminUsername); admin.HasUsablePassword() {
		t.Error("akadmin has a usable password without a bootstrap password")
	}
	if su, _ := e.c.IsSuperuser(ctx, e.sc, e.user(t, core.AdminUsername).ID); !su {
		t.Error("akadmin is not a superuser")
	}

	// Until the initial-setup flow sets a password, every start says so.
	res, err = e.c.Bootstrap(ctx, e.sc, core.BootstrapOptions{})
	if err != nil || res.CreatedAdmin || !res.NeedsSetup {
		t.Errorf("second Bootstrap without password = %+v, %v; want nothing created, setup still needed", res, err)
	}
	if err := e.c.SetPassword(ctx, e.sc, e.user(t, core.AdminUsername).ID, "set-in-setup", core.PasswordWrite{Reset: true}); err != nil {
		t.Fatal(err)
	}
	if res, _ = e.c.Bootstrap(ctx, e.sc, core.BootstrapOptions{}); res.NeedsSetup {
		t.Error("Bootstrap still asks for setup after akadmin got a password")
	}
}

func TestBootstrapDoesNotResurrectDeletedAdmin(t *testing.T) {
	e := setup(t, cheap)
	ctx := t.Context()
	if _, err := e.c.Bootstrap(ctx, e.sc, core.BootstrapOptions{Password: "bootstrap-pass"}); err != nil {
		t.Fatal(err)
	}
	e.newUser(t, "alice", "alice-password")
	if err := e.sc.Users().Delete(ctx, e.user(t, core.AdminUsername).ID); err != nil {
		t.Fatal(err)
	}
	res, err := e.c.Bootstrap(ctx, e.sc, core.BootstrapOptions{Password: "bootstrap-pass", Token: "bootstrap-token-0123456789-abcdefghijklmnopqrstuvwxyz"})
	if err != nil {
		t.Fatal(err)
	}
	if res.CreatedAdmin || res.CreatedToken {
		t.Errorf("Bootstrap after akadmin was deleted = %+v; want nothing created", res)
	}
	if _, err := e.sc.Users().GetByUsername(ctx, core.AdminUsername); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("akadmin came back after being deleted (lookup: %v)", err)
	}
}

func TestBootstrapPerTenant(t *testing.T) {
	e := setup(t, cheap)
	ctx := t.Context()
	other := &store.Tenant{Name: "Other"}
	if err := e.db.Tenants().Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	osc := e.db.Scope(other.ID)
	for _, sc := range []store.Scope{e.sc, osc} {
		if res, err := e.c.Bootstrap(ctx, sc, core.BootstrapOptions{Password: "bootstrap-pass"}); err != nil || !res.CreatedAdmin {
			t.Fatalf("Bootstrap in tenant %s = %+v, %v; want an admin created", sc.TenantID(), res, err)
		}
	}
	a, _ := e.sc.Users().GetByUsername(ctx, core.AdminUsername)
	b, _ := osc.Users().GetByUsername(ctx, core.AdminUsername)
	if a == nil || b == nil || a.ID == b.ID {
		t.Fatalf("akadmin of two tenants: %v and %v; want two distinct users", a, b)
	}
	// Membership in one tenant's admin group says nothing in the other.
	if su, _ := e.c.IsSuperuser(ctx, osc, a.ID); su {
		t.Error("the default tenant's akadmin is a superuser in the other tenant")
	}
}

// otherLast changes the last character of s (to one it is not), so the
// result is never s itself.
func otherLast(s string) string {
	if strings.HasSuffix(s, "x") {
		return s[:len(s)-1] + "y"
	}
	return s[:len(s)-1] + "x"
}
