package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse-id/gatehouse/internal/core"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// home is one installation: an environment (GATEHOUSE_DATA_DIR in a temp
// dir) that every command of a test shares.
type home struct {
	t   *testing.T
	env map[string]string
}

func newHome(t *testing.T) *home {
	t.Helper()
	return &home{t: t, env: map[string]string{"GATEHOUSE_DATA_DIR": t.TempDir()}}
}

func (h *home) lookup(k string) (string, bool) {
	v, ok := h.env[k]
	return v, ok
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs `gatehouse args...` with stdin and returns what it printed.
func (h *home) run(stdin string, args ...string) result {
	h.t.Helper()
	var out, errb bytes.Buffer
	a := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, env: h.lookup}
	code := a.main(h.t.Context(), args)
	return result{code, out.String(), errb.String()}
}

// ok runs a command that must succeed and returns its standard output.
func (h *home) ok(stdin string, args ...string) string {
	h.t.Helper()
	r := h.run(stdin, args...)
	if r.code != 0 {
		h.t.Fatalf("gatehouse %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// fails runs a command that must exit with code and print every one of
// wants on standard error.
func (h *home) fails(code int, wants []string, stdin string, args ...string) result {
	h.t.Helper()
	r := h.run(stdin, args...)
	if r.code != code {
		h.t.Errorf("gatehouse %s: exit %d; want %d\n%s", strings.Join(args, " "), r.code, code, r)
	}
	for _, w := range wants {
		if !strings.Contains(r.stderr, w) {
			h.t.Errorf("gatehouse %s: stderr lacks %q\n%s", strings.Join(args, " "), w, r)
		}
	}
	return r
}

// app opens the installation's store the way commands do.
func (h *home) app() (*app, store.Scope) {
	h.t.Helper()
	a := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, env: h.lookup}
	x, err := a.open(h.t.Context())
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(x.Close)
	sc, err := x.scope(h.t.Context(), "")
	if err != nil {
		h.t.Fatal(err)
	}
	return x, sc
}

func TestUnknownCommandsAndFlags(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	h.fails(2, []string{`gatehouse: unknown command "frobnicate"`, "Usage: gatehouse"}, "", "frobnicate")
	h.fails(2, []string{`unknown command "user"`}, "", "user")
	h.fails(2, []string{`unknown command "user frob"`}, "", "user", "frob", "--username", "x")
	h.fails(2, []string{"flag provided but not defined: -bogus", "Usage: gatehouse"}, "", "--bogus", "version")
	r := h.fails(2, []string{"gatehouse user create: flag provided but not defined: -bogus",
		"Run 'gatehouse user create --help' for usage."}, "", "user", "create", "--bogus")
	if strings.Contains(r.stderr, "Flags:") {
		t.Errorf("a mistyped flag prints the whole help; want the error and a pointer to --help:\n%s", r.stderr)
	}
	h.fails(2, []string{"gatehouse user list: invalid value \"two\" for flag -page"}, "", "user", "list", "--page", "two")
	h.fails(2, []string{`gatehouse version: unexpected argument "extra"`}, "", "version", "extra")
	h.fails(2, []string{"gatehouse serve: invalid value \"soon\" for flag -shutdown-grace"}, "", "serve", "--shutdown-grace", "soon")
}

// commandFlags is every command and the flags its --help must list; the
// test fails when a command is added without being described here (and in
// docs/cli.md).
var commandFlags = map[string][]string{
	"serve":             {"-shutdown-grace"},
	"migrate":           nil,
	"version":           nil,
	"healthcheck":       {"-url"},
	"user create":       {"-username", "-email", "-name", "-type", "-path", "-password-stdin", "-superuser", "-tenant"},
	"user list":         {"-search", "-page", "-json", "-tenant"},
	"user set-password": {"-username", "-tenant"},
	"user deactivate":   {"-username", "-tenant"},
	"group create":      {"-name", "-parent", "-superuser", "-tenant"},
	"group add-member":  {"-group", "-username", "-tenant"},
	"token create":      {"-username", "-identifier", "-intent", "-expires", "-description", "-tenant"},
	"app create": {"-name", "-slug", "-launch-url", "-public", "-redirect-uri", "-post-logout-redirect-uri",
		"-signing-key", "-tenant"},
	"app list":        {"-tenant"},
	"app show":        {"-slug", "-secret", "-tenant"},
	"blueprint apply": {"-tenant"},
	"key generate":    {"-name", "-type", "-validity", "-tenant"},
	"key import":      {"-name", "-cert", "-key", "-tenant"},
	"key list":        {"-tenant"},
	"key rotate":      {"-name", "-publish-ahead", "-grace", "-tenant"},

	"events export":    {"-format", "-action", "-username", "-app", "-client-ip", "-since", "-until", "-tenant"},
	"events retention": {"-set", "-tenant"},

	"notifications list": {"-username", "-unread", "-mark-seen", "-tenant"},
}

func TestHelp(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		r := h.run("", args...)
		if r.code != 0 {
			t.Errorf("gatehouse %s: exit %d; want 0", args[0], r.code)
		}
		for name := range commandFlags {
			if !strings.Contains(r.stderr, "  "+name+" ") {
				t.Errorf("gatehouse %s does not list %q:\n%s", args[0], name, r.stderr)
			}
		}
	}
	for _, c := range commands {
		flags, ok := commandFlags[c.name]
		if !ok {
			t.Errorf("command %q is not covered by this test (nor, probably, by docs/cli.md)", c.name)
			continue
		}
		args := append(strings.Fields(c.name), "--help")
		r := h.run("", args...)
		if r.code != 0 {
			t.Errorf("gatehouse %s --help: exit %d; want 0\n%s", c.name, r.code, r)
		}
		if !strings.HasPrefix(r.stderr, "Usage: gatehouse "+c.name) {
			t.Errorf("gatehouse %s --help does not start with its usage line:\n%s", c.name, r.stderr)
		}
		if n := strings.Count(r.stderr, "Usage: "); n != 1 {
			t.Errorf("gatehouse %s --help prints its usage %d times; want once:\n%s", c.name, n, r.stderr)
		}
		for _, f := range flags {
			if !strings.Contains(r.stderr, "  "+f+" ") && !strings.Contains(r.stderr, "  "+f+"\n") {
				t.Errorf("gatehouse %s --help does not describe %s:\n%s", c.name, f, r.stderr)
			}
		}
		if len(flags) == 0 && strings.Contains(r.stderr, "Flags:") {
			t.Errorf("gatehouse %s --help lists flags it does not have:\n%s", c.name, r.stderr)
		}
	}
	if len(commandFlags) != len(commands) {
		t.Errorf("commandFlags describes %d commands, %d are registered", len(commandFlags), len(commands))
	}
}

// TestEveryCommandRefusesBadFlagsAndUnknownTenants runs each command
// with a flag it does not have and, when it takes --tenant, with a tenant
// that does not exist: both are usage errors (exit 2) that name the flag.
func TestEveryCommandRefusesBadFlagsAndUnknownTenants(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	cert := blueprintFile(t, "cert.pem", "not read before the tenant is found")
	bp := blueprintFile(t, "bp.yaml", "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: g}\n")
	// What each command needs to get as far as opening the store.
	required := map[string][]string{
		"user create":        {"--username", "bob"},
		"user set-password":  {"--username", "bob"},
		"group create":       {"--name", "g"},
		"group add-member":   {"--group", "g", "--username", "bob"},
		"app create":         {"--name", "a", "--slug", "a"},
		"app show":           {"--slug", "a"},
		"blueprint apply":    {bp},
		"key generate":       {"--name", "k"},
		"key import":         {"--name", "k", "--cert", cert},
		"key rotate":         {"--name", "k"},
		"notifications list": {"--username", "bob"},
	}
	for _, c := range commands {
		usage := "Run 'gatehouse " + c.name + " --help' for usage."
		r := h.fails(2, []string{"gatehouse " + c.name + ": flag provided but not defined: -bogus", usage}, "",
			append(strings.Fields(c.name), "--bogus")...)
		if r.stdout != "" {
			t.Errorf("gatehouse %s --bogus printed %q on stdout", c.name, r.stdout)
		}
		if !slices.Contains(commandFlags[c.name], "-tenant") {
			continue
		}
		for _, tc := range []struct{ tenant, want string }{
			{"nowhere.example", `--tenant: no tenant with domain "nowhere.example"`},
			{"0190c6a0-0000-7000-8000-000000000000", "--tenant: no tenant with ID 0190c6a0-0000-7000-8000-000000000000"},
		} {
			args := append(append(strings.Fields(c.name), "--tenant", tc.tenant), required[c.name]...)
			r := h.fails(2, []string{"gatehouse " + c.name + ": " + tc.want, usage}, "long enough\n", args...)
			if r.stdout != "" {
				t.Errorf("gatehouse %s --tenant %s printed %q on stdout", c.name, tc.tenant, r.stdout)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	out := newHome(t).ok("", "version")
	if !regexp.MustCompile(`^gatehouse \S+ \(commit \S+\)\n$`).MatchString(out) {
		t.Errorf("version printed %q; want \"gatehouse <version> (commit <rev>)\"", out)
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	re := regexp.MustCompile(`^database sqlite at schema version (\d+) \(latest (\d+)\)\n$`)
	for range 2 { // the second run finds nothing to do
		out := h.ok("", "migrate")
		m := re.FindStringSubmatch(out)
		if m == nil || m[1] != m[2] || m[1] == "0" {
			t.Errorf("migrate printed %q; want \"database sqlite at schema version N (latest N)\"", out)
		}
	}
	if _, err := os.Stat(h.env["GATEHOUSE_DATA_DIR"] + "/gatehouse.db"); err != nil {
		t.Errorf("no database in the data dir after migrate: %v", err)
	}
}

func TestMigrateCreatesTheDataDirWithAConfiguredKey(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	h.env["GATEHOUSE_DATA_DIR"] += "/not/yet/there"
	h.env["GATEHOUSE_SECRET_KEY"] = strings.Repeat("k", 40)
	h.ok("", "migrate")
}

func TestConfigurationErrors(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	h.env["GATEHOUSE_LISTEN__HTTP"] = "abc"
	h.env["AUTHENTIK_WEB__MAX_BODY_BYTES"] = "lots"
	for _, args := range [][]string{{"migrate"}, {"serve"}, {"user", "list"}, {"healthcheck"}} {
		r := h.fails(1, []string{
			"gatehouse " + strings.Join(args, " ") + ": invalid configuration:",
			`listen.http (GATEHOUSE_LISTEN__HTTP): "abc" is not a host:port address`,
			"web.max_body_bytes (GATEHOUSE_WEB__MAX_BODY_BYTES): \"lots\" is not a whole number (from AUTHENTIK_WEB__MAX_BODY_BYTES)",
		}, "", args...)
		if r.stdout != "" {
			t.Errorf("gatehouse %s printed %q on stdout with a broken configuration", args[0], r.stdout)
		}
	}
	h = newHome(t)
	h.env["GATEHOUSE_CONFIG"] = h.env["GATEHOUSE_DATA_DIR"] + "/missing.yml"
	h.fails(1, []string{"cannot read the configuration file"}, "", "migrate")
	h.fails(1, []string{"cannot read the configuration file"}, "", "--config", "/nonexistent/gatehouse.yml", "migrate")
}

func TestUserCreate(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	out := h.ok("correct horse battery\n", "user", "create", "--username", "alice", "--email", "alice@example.com",
		"--name", "Alice Liddell", "--password-stdin")
	if !regexp.MustCompile(`^created user alice \([0-9a-f-]{36}\)\n$`).MatchString(out) {
		t.Errorf("user create printed %q", out)
	}
	x, sc := h.app()
	u, err := sc.Users().GetByUsername(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "alice@example.com" || u.Name != "Alice Liddell" || u.Type != store.UserInternal || !u.IsActive || u.Path != "users" {
		t.Errorf("stored user %+v", u)
	}
	if ok, _ := x.core.CheckPassword(t.Context(), sc, u, "correct horse battery"); !ok {
		t.Error("the password read from stdin does not log in")
	}
	if su, _ := x.core.IsSuperuser(t.Context(), sc, u.ID); su {
		t.Error("alice is a superuser without --superuser")
	}

	h.ok("", "user", "create", "--username", "root", "--superuser", "--type", "internal_service_account", "--path", "system/ops")
	root, _ := sc.Users().GetByUsername(t.Context(), "root")
	if su, _ := x.core.IsSuperuser(t.Context(), sc, root.ID); !su || root.HasUsablePassword() || root.Path != "system/ops" {
		t.Errorf("--superuser without --password-stdin: superuser %v, password %v, path %q; want superuser, no password", su, root.HasUsablePassword(), root.Path)
	}

	for _, tc := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"--username", "alice"}, "", "gatehouse user create: --username: already exists"},
		{[]string{"--username", "ALICE"}, "", "--username: already exists"},
		{[]string{}, "", "--username is required"},
		{[]string{"--username", "bad name"}, "", "--username: may contain only letters, digits and @ . + - _"},
		{[]string{"--username", "bob", "--email", "not-an-email"}, "", "--email: is not a valid email address"},
		{[]string{"--username", "bob", "--email", "Bob <bob@example.com>"}, "", "--email: is not a valid email address"},
		{[]string{"--username", "bob", "--type", "admin"}, "", "--type: must be one of internal, external, service_account, internal_service_account"},
		{[]string{"--username", "bob", "--path", "a//b"}, "", "--path: must be slash-separated names"},
		{[]string{"--username", "bob", "--password-stdin"}, "short\n", "--password-stdin: must be at least 8 characters"},
		{[]string{"--username", "bob", "--password-stdin"}, "", "--password-stdin: no password on standard input"},
		{[]string{"--username", "bob", "--tenant", "nowhere.example"}, "", `--tenant: no tenant with domain "nowhere.example"`},
		{[]string{"--username", "bob", "--tenant", "0190c6a0-0000-7000-8000-000000000000"}, "", "--tenant: no tenant with ID 0190c6a0-0000-7000-8000-000000000000"},
	} {
		h.fails(2, []string{tc.want, "Run 'gatehouse user create --help' for usage."}, tc.stdin, append([]string{"user", "create"}, tc.args...)...)
	}
	if _, err := sc.Users().GetByUsername(t.Context(), "bob"); err == nil {
		t.Error("a refused user create stored bob")
	}
}

func TestUserCreateInTenant(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	x, _ := h.app()
	acme := &store.Tenant{Name: "Acme", Domains: []string{"id.acme.test"}}
	if err := x.db.Tenants().Create(t.Context(), acme); err != nil {
		t.Fatal(err)
	}
	h.ok("", "user", "create", "--username", "carol", "--tenant", "ID.ACME.TEST")
	h.ok("", "user", "create", "--username", "carol") // the same name in the default tenant
	if _, err := x.db.Scope(acme.ID).Users().GetByUsername(t.Context(), "carol"); err != nil {
		t.Errorf("carol not created in tenant Acme: %v", err)
	}
	out := h.ok("", "user", "list", "--tenant", acme.ID.String())
	if !strings.Contains(out, "carol") || !strings.HasSuffix(out, "1 of 1 users\n") {
		t.Errorf("user list --tenant <id> printed:\n%s", out)
	}
}

func TestUserList(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	out := h.ok("", "user", "list")
	if out != "USERNAME  NAME  EMAIL  TYPE  ACTIVE  LAST LOGIN\n0 of 0 users\n" {
		t.Errorf("user list on an empty directory printed %q", out)
	}
	h.ok("", "user", "create", "--username", "alice", "--email", "alice@example.com", "--name", "Alice")
	h.ok("", "user", "create", "--username", "bob", "--type", "external")
	out = h.ok("", "user", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "USERNAME") || !strings.HasPrefix(lines[1], "alice ") ||
		!strings.Contains(lines[1], "alice@example.com") || !strings.Contains(lines[1], "never") ||
		!strings.HasPrefix(lines[2], "bob ") || !strings.Contains(lines[2], "external") || lines[3] != "2 of 2 users" {
		t.Errorf("user list printed:\n%s", out)
	}
	if out := h.ok("", "user", "list", "--search", "ALI"); !strings.Contains(out, "alice") || strings.Contains(out, "bob") {
		t.Errorf("user list --search ALI printed:\n%s", out)
	}
	out = h.ok("", "user", "list", "--json")
	dec := json.NewDecoder(strings.NewReader(out))
	var names []string
	for dec.More() {
		var u struct {
			ID        string  `json:"id"`
			Username  string  `json:"username"`
			Type      string  `json:"type"`
			IsActive  bool    `json:"is_active"`
			LastLogin *string `json:"last_login"`
		}
		if err := dec.Decode(&u); err != nil {
			t.Fatalf("user list --json: %v in %q", err, out)
		}
		if u.ID == "" || !u.IsActive || u.LastLogin != nil {
			t.Errorf("user list --json line %+v", u)
		}
		names = append(names, u.Username)
	}
	if strings.Join(names, ",") != "alice,bob" {
		t.Errorf("user list --json listed %v; want alice, bob", names)
	}
	if out := h.ok("", "user", "list", "--page", "2"); !strings.HasSuffix(out, "0 of 2 users\n") {
		t.Errorf("user list --page 2 printed %q", out)
	}
	h.fails(2, []string{"--page: must be 1 or more"}, "", "user", "list", "--page", "0")
}

func TestUserSetPassword(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	h.ok("first password\n", "user", "create", "--username", "alice", "--password-stdin")
	if out := h.ok("second password\r\n", "user", "set-password", "--username", "ALICE"); out != "password set for alice\n" {
		t.Errorf("set-password printed %q", out)
	}
	x, sc := h.app()
	u, _ := sc.Users().GetByUsername(t.Context(), "alice")
	for pw, want := range map[string]bool{"second password": true, "second password\r": false, "first password": false} {
		if ok, _ := x.core.CheckPassword(t.Context(), sc, u, pw); ok != want {
			t.Errorf("after set-password, CheckPassword(%q) = %v; want %v", pw, ok, want)
		}
	}
	h.fails(2, []string{"gatehouse user set-password: password: must be at least 8 characters"}, "short\n",
		"user", "set-password", "--username", "alice")
	h.fails(2, []string{"password: no password on standard input"}, "", "user", "set-password", "--username", "alice")
	h.fails(2, []string{`--username: no user "nobody"`}, "long enough\n", "user", "set-password", "--username", "nobody")
	h.fails(2, []string{"--username is required"}, "long enough\n", "user", "set-password")
	if ok, _ := x.core.CheckPassword(t.Context(), sc, u, "second password"); !ok {
		t.Error("a refused set-password changed the password")
	}
}

func TestUserDeactivate(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	h.ok("", "user", "create", "--username", "alice")
	h.ok("", "user", "create", "--username", "bob")
	secret := strings.TrimSpace(h.ok("", "token", "create", "--username", "alice"))
	x, sc := h.app()
	alice, _ := sc.Users().GetByUsername(t.Context(), "alice")
	bob, _ := sc.Users().GetByUsername(t.Context(), "bob")
	for _, owner := range []*store.User{alice, alice, bob} {
		sum := sha256.Sum256([]byte(rand.Text()))
		s := &store.Session{KeyHash: sum[:], Expires: time.Now().Add(time.Hour)}
		s.UserID.UUID, s.UserID.Valid = owner.ID, true
		if err := sc.Sessions().Create(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}

	if out := h.ok("", "user", "deactivate", "--username", "alice"); out != "deactivated alice (2 sessions ended)\n" {
		t.Errorf("deactivate printed %q", out)
	}
	if u, _ := sc.Users().GetByUsername(t.Context(), "alice"); u.IsActive {
		t.Error("alice is still active")
	}
	if s, _ := sc.Sessions().ListForUser(t.Context(), alice.ID); len(s) != 0 {
		t.Errorf("alice still has %d sessions", len(s))
	}
	if s, _ := sc.Sessions().ListForUser(t.Context(), bob.ID); len(s) != 1 {
		t.Errorf("bob has %d sessions after alice was deactivated; want 1", len(s))
	}
	if _, _, err := x.core.AuthenticateToken(t.Context(), sc, secret, store.IntentAPI); err != core.ErrBadToken {
		t.Errorf("token of a deactivated user: %v; want ErrBadToken", err)
	}
	if out := h.ok("", "user", "deactivate", "--username", "alice"); out != "deactivated alice (0 sessions ended)\n" {
		t.Errorf("second deactivate printed %q", out)
	}
	h.fails(2, []string{`--username: no user "nobody"`}, "", "user", "deactivate", "--username", "nobody")
	h.fails(2, []string{"--username is required"}, "", "user", "deactivate")
}

func TestGroups(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	h.ok("", "user", "create", "--username", "alice")
	if out := h.ok("", "group", "create", "--name", "staff"); !regexp.MustCompile(`^created group staff \([0-9a-f-]{36}\)\n$`).MatchString(out) {
		t.Errorf("group create printed %q", out)
	}
	h.ok("", "group", "create", "--name", "admins", "--superuser")
	h.ok("", "group", "create", "--name", "ops", "--parent", "admins")
	if out := h.ok("", "group", "add-member", "--group", "ops", "--username", "alice"); out != "added alice to ops\n" {
		t.Errorf("add-member printed %q", out)
	}
	h.ok("", "group", "add-member", "--group", "ops", "--username", "alice") // twice is harmless

	x, sc := h.app()
	alice, _ := sc.Users().GetByUsername(t.Context(), "alice")
	if su, _ := x.core.IsSuperuser(t.Context(), sc, alice.ID); !su {
		t.Error("member of ops, child of the superuser group admins, is not a superuser")
	}

	h.fails(2, []string{"gatehouse group create: --name: already exists"}, "", "group", "create", "--name", "STAFF")
	h.fails(2, []string{"--name is required"}, "", "group", "create")
	h.fails(2, []string{`--parent: no group "nope"`}, "", "group", "create", "--name", "x", "--parent", "nope")
	h.fails(2, []string{`gatehouse group add-member: --group: no group "nope"`}, "", "group", "add-member", "--group", "nope", "--username", "alice")
	h.fails(2, []string{`--username: no user "nobody"`}, "", "group", "add-member", "--group", "staff", "--username", "nobody")
	h.fails(2, []string{"--group is required"}, "", "group", "add-member", "--username", "alice")
	h.fails(2, []string{"--username is required"}, "", "group", "add-member", "--group", "staff")
}

func TestTokenCreate(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	h.ok("", "user", "create", "--username", "alice")
	r := h.run("", "token", "create", "--username", "alice", "--identifier", "ci-deploy", "--description", "CI")
	if r.code != 0 {
		t.Fatal(r)
	}
	secret := strings.TrimSuffix(r.stdout, "\n")
	if len(secret) != 60 || !regexp.MustCompile(`^[A-Za-z0-9]{60}\n$`).MatchString(r.stdout) {
		t.Errorf("token create printed %q on stdout; want the 60-character secret alone", r.stdout)
	}
	if !strings.Contains(r.stderr, "created token ci-deploy for alice; the secret below is shown only now:") || strings.Contains(r.stderr, secret) {
		t.Errorf("token create stderr:\n%s", r.stderr)
	}
	x, sc := h.app()
	tok, u, err := x.core.AuthenticateToken(t.Context(), sc, secret, store.IntentAPI)
	if err != nil || u.Username != "alice" || tok.Identifier != "ci-deploy" || tok.Description != "CI" || !tok.Expires.IsZero() {
		t.Fatalf("AuthenticateToken(printed secret) = %+v, %v, %v", tok, u, err)
	}

	appPw := strings.TrimSpace(h.ok("", "token", "create", "--username", "alice", "--intent", "app_password", "--expires", "days=30"))
	tok, _, err = x.core.AuthenticateToken(t.Context(), sc, appPw, store.IntentAppPassword)
	if err != nil || !strings.HasPrefix(tok.Identifier, "app_password-") {
		t.Fatalf("app password: %+v, %v", tok, err)
	}
	if d := time.Until(tok.Expires); d < 29*24*time.Hour || d > 30*24*time.Hour {
		t.Errorf("--expires days=30 expires in %v", d)
	}
	if _, _, err := x.core.AuthenticateToken(t.Context(), sc, appPw, store.IntentAPI); err != core.ErrBadToken {
		t.Errorf("an app password works as an API token: %v", err)
	}

	h.fails(2, []string{`--intent: must be api or app_password, not "recovery"`}, "", "token", "create", "--username", "alice", "--intent", "recovery")
	h.fails(2, []string{`--expires: "-1h" is not a positive duration`}, "", "token", "create", "--username", "alice", "--expires", "-1h")
	h.fails(2, []string{`--expires: "1d" is not a positive duration`}, "", "token", "create", "--username", "alice", "--expires", "1d")
	h.fails(2, []string{`--username: no user "nobody"`}, "", "token", "create", "--username", "nobody")
	h.fails(2, []string{"--username is required"}, "", "token", "create")
	h.fails(2, []string{"--identifier: must be 1 to 255 letters, digits, - or _"}, "", "token", "create", "--username", "alice", "--identifier", "no spaces")
	// The store cannot yet name the colliding column on SQLite (it says
	// ": already exists"); the exit status and the words are checked.
	r = h.fails(2, []string{"already exists"}, "", "token", "create", "--username", "alice", "--identifier", "ci-deploy")
	if r.stdout != "" {
		t.Errorf("a refused token create printed %q on stdout", r.stdout)
	}
}

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	status := http.StatusNoContent
	var mu sync.Mutex
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != "/-/health/ready/" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer ts.Close()

	if out := h.ok("", "healthcheck", "--url", ts.URL+"/-/health/ready/"); out != "healthy\n" {
		t.Errorf("healthcheck printed %q", out)
	}
	// Without --url it asks 127.0.0.1 on listen.http's port.
	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
	h.env["GATEHOUSE_LISTEN__HTTP"] = "[::]:" + port
	h.ok("", "healthcheck")

	mu.Lock()
	status = http.StatusInternalServerError
	mu.Unlock()
	h.fails(1, []string{"gatehouse healthcheck: not healthy: " + ts.URL + "/-/health/ready/ answered 500 Internal Server Error"}, "",
		"healthcheck", "--url", ts.URL+"/-/health/ready/")
	h.fails(1, []string{"not healthy: http://127.0.0.1:" + port + "/-/health/ready/ answered 500"}, "", "healthcheck")

	ts.Close()
	h.fails(1, []string{"not healthy:", "connection refused"}, "", "healthcheck", "--url", ts.URL+"/-/health/ready/")
	h.fails(2, []string{"--url:"}, "", "healthcheck", "--url", "http://[::1")
}

// syncBuffer is a bytes.Buffer that the server's goroutines may write to
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// freePort finds a port that was free a moment ago.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// listenEnv points every listener at a free loopback port and returns the ports.
func listenEnv(t testing.TB, env map[string]string) (httpPort, httpsPort, metricsPort string) {
	httpPort, httpsPort, metricsPort = freePort(t), freePort(t), freePort(t)
	env["GATEHOUSE_LISTEN__HTTP"] = "127.0.0.1:" + httpPort
	env["GATEHOUSE_LISTEN__HTTPS"] = "127.0.0.1:" + httpsPort
	env["GATEHOUSE_LISTEN__METRICS"] = "127.0.0.1:" + metricsPort
	env["GATEHOUSE_LISTEN__LDAP"] = ""
	env["GATEHOUSE_LISTEN__LDAPS"] = ""
	return
}

// waitReady polls /-/health/ready/ until it answers 204; exited reports a
// server that stopped early.
func waitReady(t testing.TB, url string, exited <-chan int, logs fmt.Stringer) {
	t.Helper()
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return
			}
		}
		select {
		case code := <-exited:
			t.Fatalf("serve exited with %d before it was ready:\n%s", code, logs)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered 204:\n%s", url, logs)
		}
	}
}

// serve runs `gatehouse serve` in the background until the returned stop
// function is called; stop returns serve's exit status.
func (h *home) serve(args ...string) (logs *syncBuffer, stop func() int, exited chan int) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs = &syncBuffer{}
	exited = make(chan int, 1)
	a := &cli{stdin: strings.NewReader(""), stdout: logs, stderr: logs, env: h.lookup}
	go func() { exited <- a.main(ctx, append([]string{"serve"}, args...)) }()
	stop = func() int {
		cancel()
		select {
		case code := <-exited:
			return code
		case <-time.After(30 * time.Second):
			h.t.Fatalf("serve did not return after its context ended:\n%s", logs)
			return -1
		}
	}
	h.t.Cleanup(func() { cancel() })
	return logs, stop, exited
}

func TestServe(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	httpPort, httpsPort, metricsPort := listenEnv(t, h.env)
	logs, stop, exited := h.serve()
	base := "http://127.0.0.1:" + httpPort
	waitReady(t, base+"/-/health/ready/", exited, logs)
	checkServing(t, h, logs, httpPort, httpsPort, metricsPort)

	// A second server on the same ports fails with the listener's name.
	h.fails(1, []string{"gatehouse serve: listen.http: listen tcp 127.0.0.1:" + httpPort}, "", "serve")

	if code := stop(); code != 0 {
		t.Errorf("serve exited with %d after its context ended; want 0\n%s", code, logs)
	}
	if !strings.Contains(logs.String(), `"msg":"shutting down"`) {
		t.Errorf("no shutdown in the log:\n%s", logs)
	}
	if _, err := http.Get(base + "/-/health/live/"); err == nil {
		t.Error("the HTTP listener still answers after serve returned")
	}

	// The bootstrap created akadmin, still without a password, so the
	// next start asks for the setup again.
	if out := h.ok("", "user", "list"); !strings.Contains(out, "akadmin") || !strings.Contains(out, "1 of 1 users") {
		t.Errorf("user list after the first start:\n%s", out)
	}
	logs, stop, exited = h.serve()
	waitReady(t, base+"/-/health/ready/", exited, logs)
	if !strings.Contains(logs.String(), "/if/flow/initial-setup/") {
		t.Errorf("second start without a password does not point at the initial setup:\n%s", logs)
	}
	if strings.Contains(logs.String(), "generated one at") {
		t.Errorf("second start generated another secret key:\n%s", logs)
	}
	if code := stop(); code != 0 {
		t.Errorf("second serve exited with %d", code)
	}
}

// checkServing checks a running server: health, the setup hint, HTTPS and metrics.
func checkServing(t *testing.T, h *home, logs *syncBuffer, httpPort, httpsPort, metricsPort string) {
	t.Helper()
	out := logs.String()
	for _, want := range []string{
		`"msg":"gatehouse started"`,
		"finish initial setup: open http://localhost:" + httpPort + "/if/flow/initial-setup/ to set the password of akadmin",
		`"listener":"https"`, `"listener":"metrics"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("serve log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, h.env["GATEHOUSE_SECRET_KEY"]+`"`) && h.env["GATEHOUSE_SECRET_KEY"] != "" {
		t.Error("the secret key appears in the log")
	}
	tc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: insecureTLS()}}
	resp, err := tc.Get("https://127.0.0.1:" + httpsPort + "/-/health/live/")
	if err != nil {
		t.Fatalf("HTTPS listener: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("HTTPS /-/health/live/ = %d, HSTS %q; want 204 with HSTS", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	resp, err = http.Get("http://127.0.0.1:" + metricsPort + "/metrics")
	if err != nil {
		t.Fatalf("metrics listener: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `gatehouse_http_requests_total{code="204",method="GET",route="/-/health/ready/"}`) {
		t.Errorf("metrics lack the readiness requests:\n%.2000s", body)
	}
	// The container health check against the running server.
	h.ok("", "healthcheck")
}

func TestServeWithBootstrapPasswordAndToken(t *testing.T) {
	t.Parallel()
	h := newHome(t)
	httpPort, _, _ := listenEnv(t, h.env)
	h.env["AUTHENTIK_BOOTSTRAP_PASSWORD"] = "bootstrap-pass"
	h.env["AUTHENTIK_BOOTSTRAP_TOKEN"] = "bootstrap-token-0123456789-abcdefghijklmnopqrstuvwxyz"
	logs, stop, exited := h.serve()
	waitReady(t, "http://127.0.0.1:"+httpPort+"/-/health/ready/", exited, logs)
	if strings.Contains(logs.String(), "initial-setup") {
		t.Errorf("with a bootstrap password, serve still asks for the initial setup:\n%s", logs)
	}
	if code := stop(); code != 0 {
		t.Errorf("serve exited with %d", code)
	}
	x, sc := h.app()
	_, u, err := x.core.AuthenticateToken(t.Context(), sc, h.env["AUTHENTIK_BOOTSTRAP_TOKEN"], store.IntentAPI)
	if err != nil || u.Username != "akadmin" {
		t.Fatalf("bootstrap token: %v, %v; want akadmin", u, err)
	}
	if ok, _ := x.core.CheckPassword(t.Context(), sc, u, "bootstrap-pass"); !ok {
		t.Error("akadmin does not log in with the bootstrap password")
	}
}

// TestServePostgreSQL runs serve against a fresh database on the
// GATEHOUSE_TEST_POSTGRES server, configured the way operators do it:
// through GATEHOUSE_POSTGRESQL__* settings.
func TestServePostgreSQL(t *testing.T) {
	dsn := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("GATEHOUSE_TEST_POSTGRES is not set")
	}
	t.Parallel()
	h := newHome(t)
	pg := createDatabase(t, dsn)
	for k, v := range pg {
		h.env[k] = v
	}
	h.env["GATEHOUSE_SECRET_KEY"] = rand.Text() + rand.Text()

	out := h.ok("", "migrate")
	if !regexp.MustCompile(`^database postgres at schema version (\d+) \(latest (\d+)\)\n$`).MatchString(out) {
		t.Errorf("migrate on PostgreSQL printed %q", out)
	}
	httpPort, httpsPort, metricsPort := listenEnv(t, h.env)
	logs, stop, exited := h.serve()
	waitReady(t, "http://127.0.0.1:"+httpPort+"/-/health/ready/", exited, logs)
	checkServing(t, h, logs, httpPort, httpsPort, metricsPort)
	if !strings.Contains(logs.String(), `"database":"postgres"`) {
		t.Errorf("serve did not run on PostgreSQL:\n%s", logs)
	}
	if _, err := os.Stat(h.env["GATEHOUSE_DATA_DIR"] + "/secret_key"); err == nil {
		t.Error("a secret key was generated in the data dir although one is configured")
	}
	h.ok("correct horse\n", "user", "create", "--username", "alice", "--password-stdin")
	h.fails(2, []string{"--username: already exists"}, "", "user", "create", "--username", "alice")
	h.ok("", "group", "create", "--name", "staff")
	h.ok("", "group", "add-member", "--group", "staff", "--username", "alice")
	secret := strings.TrimSpace(h.ok("", "token", "create", "--username", "alice", "--identifier", "pg"))
	h.fails(2, []string{"--identifier: already exists"}, "", "token", "create", "--username", "alice", "--identifier", "pg")
	if out := h.ok("", "user", "list"); !strings.Contains(out, "alice") || !strings.Contains(out, "akadmin") {
		t.Errorf("user list on PostgreSQL:\n%s", out)
	}
	if code := stop(); code != 0 {
		t.Errorf("serve on PostgreSQL exited with %d", code)
	}
	x, sc := h.app()
	if _, u, err := x.core.AuthenticateToken(t.Context(), sc, secret, store.IntentAPI); err != nil || u.Username != "alice" {
		t.Errorf("token created on PostgreSQL: %v, %v", u, err)
	}

	// Without a secret key, PostgreSQL refuses to start.
	delete(h.env, "GATEHOUSE_SECRET_KEY")
	h.fails(1, []string{"secret_key (GATEHOUSE_SECRET_KEY / AUTHENTIK_SECRET_KEY): required when PostgreSQL is configured"}, "", "serve")
}

// createDatabase makes a database of its own on the server dsn points at
// (the configuration cannot select a schema), drops it at cleanup, and
// returns the GATEHOUSE_POSTGRESQL__* settings that reach it.
func createDatabase(t *testing.T, dsn string) map[string]string {
	t.Helper()
	pc, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_POSTGRES: %v", err)
	}
	name := "gh_test_" + strings.ToLower(rand.Text()[:12])
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("CREATE DATABASE: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", dsn)
		if err != nil {
			return
		}
		defer a.Close()
		// FORCE ends connections a failed test may have left open.
		if _, err := a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Logf("dropping %s: %v", name, err)
		}
	})
	sslmode := "disable"
	if pc.TLSConfig != nil {
		sslmode = "require"
		if len(pc.Fallbacks) > 0 && pc.Fallbacks[len(pc.Fallbacks)-1].TLSConfig == nil {
			sslmode = "prefer"
		}
	}
	env := map[string]string{
		"GATEHOUSE_POSTGRESQL__HOST":    pc.Host,
		"GATEHOUSE_POSTGRESQL__PORT":    strconv.Itoa(int(pc.Port)),
		"GATEHOUSE_POSTGRESQL__NAME":    name,
		"GATEHOUSE_POSTGRESQL__USER":    pc.User,
		"GATEHOUSE_POSTGRESQL__SSLMODE": sslmode,
	}
	if pc.Password != "" {
		env["GATEHOUSE_POSTGRESQL__PASSWORD"] = pc.Password
	}
	return env
}

// insecureTLS accepts the server's self-signed certificate.
func insecureTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }
