package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

const testKey = "test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"

// envOf turns a map into the lookup function Load takes.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// testEnv returns vars plus a temporary data_dir and a secret key, unless
// vars sets them one way or another, so no test writes into ./data.
func testEnv(t *testing.T, vars map[string]string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for k, v := range vars {
		m[k] = v
	}
	setsAny := func(suffix string) bool {
		for _, p := range []string{envPrefix, aliasPrefix} {
			if _, ok := m[p+suffix]; ok {
				return true
			}
			if _, ok := m[p+suffix+"_FILE"]; ok {
				return true
			}
		}
		return false
	}
	if !setsAny("DATA_DIR") {
		m["GATEHOUSE_DATA_DIR"] = t.TempDir()
	}
	if !setsAny("SECRET_KEY") {
		m["GATEHOUSE_SECRET_KEY"] = testKey
	}
	return m
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoad(t *testing.T, path string, env map[string]string) (*Config, []string) {
	t.Helper()
	c, warnings, err := Load(path, envOf(env))
	if err != nil {
		t.Fatalf("Load: expected success, got error:\n%v", err)
	}
	return c, warnings
}

// get reads a setting by YAML path.
func get(c *Config, path string) any {
	return table.byPath[path].field(c).Interface()
}

func TestDefaults(t *testing.T) {
	dir := t.TempDir()
	c, warnings := mustLoad(t, "", map[string]string{"GATEHOUSE_DATA_DIR": dir, "GATEHOUSE_SECRET_KEY": testKey})
	if len(warnings) != 0 {
		t.Errorf("warnings: expected none, got %q", warnings)
	}
	want := map[string]any{
		"data_dir":                     dir,
		"log_level":                    "info",
		"postgresql.host":              "",
		"postgresql.port":              5432,
		"postgresql.name":              "authentik",
		"postgresql.user":              "authentik",
		"postgresql.sslmode":           "disable",
		"postgresql.max_conns":         20,
		"email.host":                   "localhost",
		"email.port":                   25,
		"email.use_tls":                false,
		"email.use_ssl":                false,
		"email.timeout":                10 * time.Second,
		"email.from":                   "gatehouse@localhost",
		"listen.http":                  "[::]:9000",
		"listen.https":                 "[::]:9443",
		"listen.metrics":               "[::]:9300",
		"listen.ldap":                  "[::]:3389",
		"listen.ldaps":                 "[::]:6636",
		"listen.trusted_proxy_cidrs":   []string{"127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fe80::/10", "fc00::/7"},
		"tls.certificate":              "",
		"bootstrap_email":              "root@example.com",
		"cookie_domain":                "",
		"sessions.unauthenticated_age": 24 * time.Hour,
		"web.max_body_bytes":           int64(1 << 20),
		"web.timeout_http_read_header": 5 * time.Second,
		"web.timeout_http_read":        30 * time.Second,
		"web.timeout_http_write":       60 * time.Second,
		"web.timeout_http_idle":        120 * time.Second,
		"external_url":                 "",
	}
	for path, w := range want {
		if got := get(c, path); !reflect.DeepEqual(got, w) {
			t.Errorf("%s: expected %#v, got %#v", path, w, got)
		}
	}
	if c.UsesPostgreSQL() {
		t.Errorf("UsesPostgreSQL: expected false without postgresql.host, got true")
	}
	if got, w := c.SQLitePath(), filepath.Join(dir, "gatehouse.db"); got != w {
		t.Errorf("SQLitePath: expected %q, got %q", w, got)
	}
}

func TestFileThenEnvPrecedence(t *testing.T) {
	file := writeFile(t, "gatehouse.yml", `
log_level: debug
listen:
  http: "127.0.0.1:8000"
  https: "127.0.0.1:8443"
email:
  port: 587
  use_tls: yes
`)
	env := testEnv(t, map[string]string{"GATEHOUSE_LISTEN__HTTP": "127.0.0.1:7000"})
	for _, via := range []string{"argument", "GATEHOUSE_CONFIG"} {
		t.Run(via, func(t *testing.T) {
			path := file
			if via == "GATEHOUSE_CONFIG" {
				path = ""
				env[configEnv] = file
			}
			c, _ := mustLoad(t, path, env)
			for _, tc := range []struct {
				path string
				want any
			}{
				{"listen.http", "127.0.0.1:7000"},  // env beats file
				{"listen.https", "127.0.0.1:8443"}, // file beats default
				{"listen.metrics", "[::]:9300"},    // default
				{"email.port", 587},
				{"email.use_tls", true},
				{"log_level", "debug"},
			} {
				if got := get(c, tc.path); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("%s: expected %#v, got %#v", tc.path, tc.want, got)
				}
			}
		})
	}
}

func TestAuthentikAliases(t *testing.T) {
	for _, tc := range []struct {
		env, value, path string
		want             any
	}{
		{"AUTHENTIK_SECRET_KEY", testKey + "-alias", "secret_key", testKey + "-alias"},
		{"AUTHENTIK_POSTGRESQL__HOST", "db.internal", "postgresql.host", "db.internal"},
		{"AUTHENTIK_POSTGRESQL__PORT", "5433", "postgresql.port", 5433},
		{"AUTHENTIK_POSTGRESQL__NAME", "idp", "postgresql.name", "idp"},
		{"AUTHENTIK_POSTGRESQL__USER", "idp_user", "postgresql.user", "idp_user"},
		{"AUTHENTIK_POSTGRESQL__PASSWORD", "pg secret", "postgresql.password", "pg secret"},
		{"AUTHENTIK_POSTGRESQL__SSLMODE", "verify-full", "postgresql.sslmode", "verify-full"},
		{"AUTHENTIK_EMAIL__HOST", "smtp.example.com", "email.host", "smtp.example.com"},
		{"AUTHENTIK_EMAIL__PORT", "465", "email.port", 465},
		{"AUTHENTIK_EMAIL__USERNAME", "mailer", "email.username", "mailer"},
		{"AUTHENTIK_EMAIL__PASSWORD", "mail secret", "email.password", "mail secret"},
		{"AUTHENTIK_EMAIL__USE_TLS", "true", "email.use_tls", true},
		{"AUTHENTIK_EMAIL__USE_SSL", "True", "email.use_ssl", true},
		{"AUTHENTIK_EMAIL__TIMEOUT", "30", "email.timeout", 30 * time.Second},
		{"AUTHENTIK_EMAIL__FROM", "authentik <noreply@example.com>", "email.from", "authentik <noreply@example.com>"},
		{"AUTHENTIK_LISTEN__HTTP", "0.0.0.0:9001", "listen.http", "0.0.0.0:9001"},
		{"AUTHENTIK_LISTEN__HTTPS", "0.0.0.0:9444", "listen.https", "0.0.0.0:9444"},
		{"AUTHENTIK_LISTEN__METRICS", "127.0.0.1:9301", "listen.metrics", "127.0.0.1:9301"},
		{"AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS", `["10.0.0.0/8","fd00::/8"]`, "listen.trusted_proxy_cidrs", []string{"10.0.0.0/8", "fd00::/8"}},
		{"AUTHENTIK_BOOTSTRAP_PASSWORD", "admin pass", "bootstrap_password", "admin pass"},
		{"AUTHENTIK_BOOTSTRAP_EMAIL", "admin@example.org", "bootstrap_email", "admin@example.org"},
		{"AUTHENTIK_BOOTSTRAP_TOKEN", "tok-123", "bootstrap_token", "tok-123"},
		{"AUTHENTIK_LOG_LEVEL", "trace", "log_level", "debug"},
		{"AUTHENTIK_SESSIONS__UNAUTHENTICATED_AGE", "days=2", "sessions.unauthenticated_age", 48 * time.Hour},
		{"AUTHENTIK_WEB__TIMEOUT_HTTP_WRITE", "90s", "web.timeout_http_write", 90 * time.Second},
	} {
		t.Run(tc.env, func(t *testing.T) {
			c, warnings := mustLoad(t, "", testEnv(t, map[string]string{tc.env: tc.value}))
			if got := get(c, tc.path); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s=%q: expected %s = %#v, got %#v", tc.env, tc.value, tc.path, tc.want, got)
			}
			if len(warnings) != 0 {
				t.Errorf("warnings: expected none, got %q", warnings)
			}
		})
	}
}

func TestGatehouseNameBeatsAuthentikAlias(t *testing.T) {
	for _, tc := range []struct {
		name        string
		env         map[string]string
		wantWarning string
	}{
		{"both plain", map[string]string{"GATEHOUSE_LISTEN__HTTP": ":7000", "AUTHENTIK_LISTEN__HTTP": ":7001"},
			"AUTHENTIK_LISTEN__HTTP is ignored: GATEHOUSE_LISTEN__HTTP is also set and takes precedence"},
		{"gatehouse _FILE", map[string]string{"GATEHOUSE_LISTEN__HTTP_FILE": "", "AUTHENTIK_LISTEN__HTTP": ":7001"},
			"AUTHENTIK_LISTEN__HTTP is ignored: GATEHOUSE_LISTEN__HTTP_FILE is also set and takes precedence"},
		{"authentik _FILE", map[string]string{"GATEHOUSE_LISTEN__HTTP": ":7000", "AUTHENTIK_LISTEN__HTTP_FILE": "/nonexistent"},
			"AUTHENTIK_LISTEN__HTTP_FILE is ignored: GATEHOUSE_LISTEN__HTTP is also set and takes precedence"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := tc.env["GATEHOUSE_LISTEN__HTTP_FILE"]; ok {
				tc.env["GATEHOUSE_LISTEN__HTTP_FILE"] = writeFile(t, "http", ":7000\n")
			}
			c, warnings := mustLoad(t, "", testEnv(t, tc.env))
			if c.Listen.HTTP != ":7000" {
				t.Errorf("listen.http: expected the GATEHOUSE_ value \":7000\", got %q", c.Listen.HTTP)
			}
			if !slices.Equal(warnings, []string{tc.wantWarning}) {
				t.Errorf("warnings: expected [%q], got %q", tc.wantWarning, warnings)
			}
		})
	}
}

func TestValueReferences(t *testing.T) {
	secret := writeFile(t, "pg_password", "from-file\n")
	missing := filepath.Join(t.TempDir(), "missing")
	for _, tc := range []struct {
		name, value, want string
	}{
		{"env set", "env://PG_PASS", "from-env"},
		{"env set beats default", "env://PG_PASS?fallback", "from-env"},
		{"env unset uses default", "env://NOT_SET?fallback", "fallback"},
		{"env unset, empty default", "env://NOT_SET?", ""},
		{"file trimmed of newline", "file://" + secret, "from-file"},
		{"file missing uses default", "file://" + missing + "?fallback", "fallback"},
	} {
		t.Run("env/"+tc.name, func(t *testing.T) {
			c, _ := mustLoad(t, "", testEnv(t, map[string]string{"PG_PASS": "from-env", "GATEHOUSE_POSTGRESQL__PASSWORD": tc.value}))
			if c.PostgreSQL.Password != tc.want {
				t.Errorf("%q: expected %q, got %q", tc.value, tc.want, c.PostgreSQL.Password)
			}
		})
		t.Run("file/"+tc.name, func(t *testing.T) {
			file := writeFile(t, "c.yml", "postgresql:\n  password: '"+tc.value+"'\n")
			c, _ := mustLoad(t, file, testEnv(t, map[string]string{"PG_PASS": "from-env"}))
			if c.PostgreSQL.Password != tc.want {
				t.Errorf("%q: expected %q, got %q", tc.value, tc.want, c.PostgreSQL.Password)
			}
		})
	}
	// References work for every kind, not only strings.
	c, _ := mustLoad(t, "", testEnv(t, map[string]string{"PORT": "2525", "GATEHOUSE_EMAIL__PORT": "env://PORT"}))
	if c.Email.Port != 2525 {
		t.Errorf("email.port from env://PORT: expected 2525, got %d", c.Email.Port)
	}
}

func TestFileVariables(t *testing.T) {
	pw := writeFile(t, "pw", "s3cret\r\n")
	key := writeFile(t, "key", testKey+"\n")
	c, _ := mustLoad(t, "", testEnv(t, map[string]string{
		"GATEHOUSE_POSTGRESQL__PASSWORD_FILE": pw,
		"AUTHENTIK_SECRET_KEY_FILE":           key,
		"GATEHOUSE_EMAIL__PORT_FILE":          writeFile(t, "port", "587\n"),
	}))
	for _, tc := range []struct {
		path string
		want any
	}{
		{"postgresql.password", "s3cret"},
		{"secret_key", testKey},
		{"email.port", 587},
	} {
		if got := get(c, tc.path); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s from _FILE: expected %#v, got %#v", tc.path, tc.want, got)
		}
	}
}

func TestLists(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		env        map[string]string
		want       []string
	}{
		{"env comma-separated", "", map[string]string{"GATEHOUSE_LISTEN__TRUSTED_PROXY_CIDRS": "10.0.0.0/8, 192.168.1.0/24,"}, []string{"10.0.0.0/8", "192.168.1.0/24"}},
		{"env JSON", "", map[string]string{"GATEHOUSE_LISTEN__TRUSTED_PROXY_CIDRS": `["10.0.0.0/8"]`}, []string{"10.0.0.0/8"}},
		{"env empty trusts nobody", "", map[string]string{"GATEHOUSE_LISTEN__TRUSTED_PROXY_CIDRS": ""}, []string{}},
		{"yaml sequence", "listen:\n  trusted_proxy_cidrs: [10.1.0.0/16, fd00::/8]\n", nil, []string{"10.1.0.0/16", "fd00::/8"}},
		{"yaml empty sequence", "listen:\n  trusted_proxy_cidrs: []\n", nil, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.yaml != "" {
				path = writeFile(t, "c.yml", tc.yaml)
			}
			c, _ := mustLoad(t, path, testEnv(t, tc.env))
			if !slices.Equal(c.Listen.TrustedProxyCIDRs, tc.want) {
				t.Errorf("expected %q, got %q", tc.want, c.Listen.TrustedProxyCIDRs)
			}
		})
	}
}

func TestEmptyAddressDisablesListener(t *testing.T) {
	file := writeFile(t, "c.yml", "listen:\n  ldap: \"\"\n  ldaps:\n")
	c, _ := mustLoad(t, file, testEnv(t, map[string]string{"GATEHOUSE_LISTEN__METRICS": ""}))
	for _, got := range []string{c.Listen.LDAP, c.Listen.LDAPS, c.Listen.Metrics} {
		if got != "" {
			t.Errorf("expected disabled listeners to be \"\", got %q (ldap %q, ldaps %q, metrics %q)", got, c.Listen.LDAP, c.Listen.LDAPS, c.Listen.Metrics)
		}
	}
}

func TestBooleansAndLogLevels(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
	}{{"true", true}, {"TRUE", true}, {"1", true}, {"yes", true}, {"Yes", true}, {"false", false}, {"0", false}, {"no", false}, {"NO", false}} {
		c, _ := mustLoad(t, "", testEnv(t, map[string]string{"GATEHOUSE_EMAIL__USE_TLS": tc.value}))
		if c.Email.UseTLS != tc.want {
			t.Errorf("email.use_tls=%q: expected %v, got %v", tc.value, tc.want, c.Email.UseTLS)
		}
	}
	for in, want := range map[string]string{"trace": "debug", "DEBUG": "debug", "Info": "info", "warn": "warning", "warning": "warning", "error": "error"} {
		c, _ := mustLoad(t, "", testEnv(t, map[string]string{"GATEHOUSE_LOG_LEVEL": in}))
		if c.LogLevel != want {
			t.Errorf("log_level=%q: expected %q, got %q", in, want, c.LogLevel)
		}
	}
}

func TestPostgresDSN(t *testing.T) {
	c := Defaults()
	c.PostgreSQL.Host = "db host"
	c.PostgreSQL.Port = 6543
	c.PostgreSQL.Name = "gate'house"
	c.PostgreSQL.User = `u\ser`
	c.PostgreSQL.Password = `p a'ss\word `
	c.PostgreSQL.SSLMode = "require"
	if !c.UsesPostgreSQL() {
		t.Fatalf("UsesPostgreSQL: expected true with a host, got false")
	}
	// pgx itself is the judge of the quoting.
	pc, err := pgconn.ParseConfig(c.PostgresDSN())
	if err != nil {
		t.Fatalf("pgconn.ParseConfig(%q): expected success, got %v", c.PostgresDSN(), err)
	}
	got := []any{pc.Host, pc.Port, pc.Database, pc.User, pc.Password}
	want := []any{"db host", uint16(6543), "gate'house", `u\ser`, `p a'ss\word `}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parsed DSN %q: expected %v, got %v", c.PostgresDSN(), want, got)
	}
	if pc.TLSConfig == nil {
		t.Errorf("sslmode=require: expected a TLS config, got none")
	}

	c.PostgreSQL.Password = ""
	if dsn := c.PostgresDSN(); strings.Contains(dsn, "password") {
		t.Errorf("empty password: expected no password key so PGPASSWORD/.pgpass apply, got %q", dsn)
	}
}

func TestRedactedHidesSecrets(t *testing.T) {
	secrets := map[string]string{
		"GATEHOUSE_SECRET_KEY":           testKey,
		"GATEHOUSE_POSTGRESQL__HOST":     "db",
		"GATEHOUSE_POSTGRESQL__PASSWORD": "pg-secret-value",
		"GATEHOUSE_EMAIL__PASSWORD":      "mail-secret-value",
		"GATEHOUSE_BOOTSTRAP_PASSWORD":   "bootstrap-secret-value",
	}
	c, _ := mustLoad(t, "", testEnv(t, secrets))
	r := c.Redacted()
	if len(r) != len(table.list) {
		t.Errorf("Redacted: expected %d settings, got %d", len(table.list), len(r))
	}
	for path, want := range map[string]any{
		"secret_key":          "********",
		"postgresql.password": "********",
		"email.password":      "********",
		"bootstrap_password":  "********",
		"bootstrap_token":     "", // unset secrets show as empty
		"postgresql.host":     "db",
		"email.timeout":       "10s",
		"web.max_body_bytes":  int64(1 << 20),
	} {
		if !reflect.DeepEqual(r[path], want) {
			t.Errorf("Redacted[%q]: expected %#v, got %#v", path, want, r[path])
		}
	}
	dump := fmt.Sprint(r)
	for name, v := range secrets {
		if name != "GATEHOUSE_POSTGRESQL__HOST" && strings.Contains(dump, v) {
			t.Errorf("Redacted: expected %s's value to be hidden, found it in %s", name, dump)
		}
	}
}

func TestSettingsTable(t *testing.T) {
	var secret []string
	names := map[string]string{}
	for _, s := range table.list {
		if s.secret {
			secret = append(secret, s.path)
		}
		for _, n := range []string{s.env, s.alias} {
			if other, dup := names[n]; dup {
				t.Errorf("%s: env name %s collides with %s", s.path, n, other)
			}
			names[n] = s.path
		}
	}
	// NAME_FILE must never be some other setting's NAME.
	for _, s := range table.list {
		if other, dup := names[s.env+"_FILE"]; dup {
			t.Errorf("%s: %s_FILE is also the name of %s", s.path, s.env, other)
		}
	}
	wantSecret := []string{"secret_key", "secret_key_previous", "postgresql.password", "email.password", "bootstrap_password", "bootstrap_token"}
	if !slices.Equal(secret, wantSecret) {
		t.Errorf("secret settings: expected %q, got %q", wantSecret, secret)
	}
	for path, env := range map[string]string{
		"postgresql.host":            "GATEHOUSE_POSTGRESQL__HOST",
		"listen.trusted_proxy_cidrs": "GATEHOUSE_LISTEN__TRUSTED_PROXY_CIDRS",
		"bootstrap_password":         "GATEHOUSE_BOOTSTRAP_PASSWORD",
	} {
		if got := table.byPath[path]; got == nil || got.env != env {
			t.Errorf("%s: expected env name %s, got %+v", path, env, got)
		}
	}
}

// loadErrors runs Load expecting failure and returns the error's lines.
func loadErrors(t *testing.T, path string, env map[string]string) []string {
	t.Helper()
	c, _, err := Load(path, envOf(env))
	if err == nil {
		t.Fatalf("Load: expected an error, got success with %+v", c)
	}
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Load: expected *config.Errors, got %T: %v", err, err)
	}
	if c != nil {
		t.Errorf("Load: expected a nil *Config on error, got %+v", c)
	}
	return strings.Split(errs.Error(), "\n")
}
