package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestEveryInvalidValueIsOneLineNamingTheSetting(t *testing.T) {
	existing := writeFile(t, "exists.pem", "x")
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // the whole line, or its start when it ends in "..."
	}{
		{"listen not host:port", map[string]string{"GATEHOUSE_LISTEN__HTTP": "abc"},
			`listen.http (GATEHOUSE_LISTEN__HTTP): "abc" is not a host:port address ...`},
		{"listen port out of range", map[string]string{"GATEHOUSE_LISTEN__HTTPS": ":99999"},
			`listen.https (GATEHOUSE_LISTEN__HTTPS): ":99999" is not a host:port address ...`},
		{"listen port not numeric", map[string]string{"GATEHOUSE_LISTEN__LDAP": "[::]:ldap"},
			`listen.ldap (GATEHOUSE_LISTEN__LDAP): "[::]:ldap" is not a host:port address ...`},
		{"listen set through alias", map[string]string{"AUTHENTIK_LISTEN__METRICS": "localhost"},
			`listen.metrics (GATEHOUSE_LISTEN__METRICS): "localhost" is not a host:port address (write [::]:9000, 0.0.0.0:9000 or 127.0.0.1:9000; empty disables the listener) (from AUTHENTIK_LISTEN__METRICS)`},
		{"two listeners on one address", map[string]string{"GATEHOUSE_LISTEN__LDAPS": "[::]:9000"},
			`listen.ldaps (GATEHOUSE_LISTEN__LDAPS): "[::]:9000" is already used by listen.http`},
		{"bad CIDR", map[string]string{"GATEHOUSE_LISTEN__TRUSTED_PROXY_CIDRS": "10.0.0.0/8,10.0.0.0/33"},
			`listen.trusted_proxy_cidrs (GATEHOUSE_LISTEN__TRUSTED_PROXY_CIDRS): "10.0.0.0/33" is not a CIDR range (write 10.0.0.0/8 or fd00::/8)`},
		{"bad JSON list", map[string]string{"GATEHOUSE_LISTEN__TRUSTED_PROXY_CIDRS": "[10.0.0.0/8]"},
			`listen.trusted_proxy_cidrs (GATEHOUSE_LISTEN__TRUSTED_PROXY_CIDRS): the value starts with [ but is not a JSON list of strings`},
		{"port not a number", map[string]string{"GATEHOUSE_POSTGRESQL__PORT": "abc"},
			`postgresql.port (GATEHOUSE_POSTGRESQL__PORT): "abc" is not a whole number`},
		{"port zero", map[string]string{"AUTHENTIK_POSTGRESQL__PORT": "0"},
			`postgresql.port (GATEHOUSE_POSTGRESQL__PORT): 0 is not a port number (1-65535) (from AUTHENTIK_POSTGRESQL__PORT)`},
		{"port too large", map[string]string{"GATEHOUSE_EMAIL__PORT": "65536"},
			`email.port (GATEHOUSE_EMAIL__PORT): 65536 is not a port number (1-65535)`},
		{"sslmode", map[string]string{"GATEHOUSE_POSTGRESQL__SSLMODE": "on"},
			`postgresql.sslmode (GATEHOUSE_POSTGRESQL__SSLMODE): "on" is not one of disable, allow, prefer, require, verify-ca, verify-full`},
		{"max_conns", map[string]string{"GATEHOUSE_POSTGRESQL__MAX_CONNS": "0"},
			`postgresql.max_conns (GATEHOUSE_POSTGRESQL__MAX_CONNS): 0 must be greater than zero`},
		{"database name empty", map[string]string{"GATEHOUSE_POSTGRESQL__HOST": "db", "GATEHOUSE_POSTGRESQL__NAME": ""},
			`postgresql.name (GATEHOUSE_POSTGRESQL__NAME): required when postgresql.host is set`},
		{"boolean", map[string]string{"GATEHOUSE_EMAIL__USE_SSL": "maybe"},
			`email.use_ssl (GATEHOUSE_EMAIL__USE_SSL): "maybe" is not a boolean (use true/false, yes/no or 1/0)`},
		{"use_tls with use_ssl", map[string]string{"GATEHOUSE_EMAIL__USE_TLS": "true", "GATEHOUSE_EMAIL__USE_SSL": "true"},
			`email.use_tls (GATEHOUSE_EMAIL__USE_TLS): cannot be combined with email.use_ssl: ...`},
		{"duration", map[string]string{"GATEHOUSE_EMAIL__TIMEOUT": "soon"},
			`email.timeout (GATEHOUSE_EMAIL__TIMEOUT): "soon" is not a duration (use Go syntax like "90s" or "1h30m", Authentik syntax like "hours=1;minutes=30", or a number of seconds)`},
		{"Authentik duration", map[string]string{"GATEHOUSE_SESSIONS__UNAUTHENTICATED_AGE": "days=x"},
			`sessions.unauthenticated_age (GATEHOUSE_SESSIONS__UNAUTHENTICATED_AGE): "days=x" is not a duration: "x" is not a number`},
		{"zero duration", map[string]string{"GATEHOUSE_WEB__TIMEOUT_HTTP_IDLE": "seconds=0"},
			`web.timeout_http_idle (GATEHOUSE_WEB__TIMEOUT_HTTP_IDLE): 0s must be greater than zero`},
		{"negative body size", map[string]string{"GATEHOUSE_WEB__MAX_BODY_BYTES": "-1"},
			`web.max_body_bytes (GATEHOUSE_WEB__MAX_BODY_BYTES): -1 must be greater than zero`},
		{"from address", map[string]string{"GATEHOUSE_EMAIL__FROM": "gatehouse"},
			`email.from (GATEHOUSE_EMAIL__FROM): "gatehouse" is not an email address ...`},
		{"bootstrap email", map[string]string{"AUTHENTIK_BOOTSTRAP_EMAIL": "Root <root@example.com>"},
			`bootstrap_email (GATEHOUSE_BOOTSTRAP_EMAIL): "Root <root@example.com>" is not an email address (from AUTHENTIK_BOOTSTRAP_EMAIL)`},
		{"log level", map[string]string{"GATEHOUSE_LOG_LEVEL": "verbose"},
			`log_level (GATEHOUSE_LOG_LEVEL): "verbose" is not one of debug, info, warning, error`},
		{"external url scheme", map[string]string{"GATEHOUSE_EXTERNAL_URL": "ftp://id.example.com"},
			`external_url (GATEHOUSE_EXTERNAL_URL): "ftp://id.example.com" is not an absolute http(s) URL ...`},
		{"external url relative", map[string]string{"GATEHOUSE_EXTERNAL_URL": "/auth"},
			`external_url (GATEHOUSE_EXTERNAL_URL): "/auth" is not an absolute http(s) URL ...`},
		{"cookie domain with scheme", map[string]string{"GATEHOUSE_COOKIE_DOMAIN": "https://example.com"},
			`cookie_domain (GATEHOUSE_COOKIE_DOMAIN): "https://example.com" is not a domain name ...`},
		{"data_dir empty", map[string]string{"GATEHOUSE_DATA_DIR": ""},
			`data_dir (GATEHOUSE_DATA_DIR): must not be empty`},
		{"short secret key, value not echoed", map[string]string{"GATEHOUSE_SECRET_KEY": "hunter2"},
			`secret_key (GATEHOUSE_SECRET_KEY): is 7 characters long, use at least 32 (50 or more recommended); generate one with: openssl rand -base64 60`},
		{"tls key without certificate", map[string]string{"GATEHOUSE_TLS__KEY": existing},
			`tls.certificate (GATEHOUSE_TLS__CERTIFICATE): required when tls.key is set`},
		{"tls certificate unreadable", map[string]string{"GATEHOUSE_TLS__KEY": existing, "GATEHOUSE_TLS__CERTIFICATE": missing},
			`tls.certificate (GATEHOUSE_TLS__CERTIFICATE): cannot read ` + missing + `: no such file or directory`},
		{"_FILE unreadable", map[string]string{"GATEHOUSE_POSTGRESQL__PASSWORD_FILE": missing},
			`postgresql.password (GATEHOUSE_POSTGRESQL__PASSWORD): cannot read ` + missing + `: no such file or directory (from GATEHOUSE_POSTGRESQL__PASSWORD_FILE)`},
		{"NAME and NAME_FILE both set", map[string]string{"AUTHENTIK_EMAIL__PASSWORD": "x", "AUTHENTIK_EMAIL__PASSWORD_FILE": existing},
			`email.password (GATEHOUSE_EMAIL__PASSWORD): both AUTHENTIK_EMAIL__PASSWORD and AUTHENTIK_EMAIL__PASSWORD_FILE are set; set only one (from AUTHENTIK_EMAIL__PASSWORD)`},
		{"env:// unset without default", map[string]string{"GATEHOUSE_EMAIL__PASSWORD": "env://SMTP_PASS"},
			`email.password (GATEHOUSE_EMAIL__PASSWORD): env://SMTP_PASS: SMTP_PASS is not set (append ?default to allow that)`},
		{"file:// missing without default", map[string]string{"GATEHOUSE_EMAIL__PASSWORD": "file://" + missing},
			`email.password (GATEHOUSE_EMAIL__PASSWORD): cannot read ` + missing + `: no such file or directory`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := loadErrors(t, "", testEnv(t, tc.env))
			if len(lines) != 1 || !matches(lines[0], tc.want) {
				t.Errorf("expected exactly one line:\n  %s\ngot %d:\n  %s", tc.want, len(lines), strings.Join(lines, "\n  "))
			}
			if strings.Contains(strings.Join(lines, "\n"), "hunter2") {
				t.Errorf("expected the secret key not to be echoed, got %q", lines)
			}
		})
	}
}

func matches(line, want string) bool {
	if prefix, ok := strings.CutSuffix(want, "..."); ok {
		return strings.HasPrefix(line, prefix)
	}
	return line == want
}

func TestAllProblemsReportedAtOnce(t *testing.T) {
	file := writeFile(t, "c.yml", "email:\n  port: abc\nlisten:\n  htp: x\n")
	lines := loadErrors(t, file, testEnv(t, map[string]string{
		"GATEHOUSE_LISTEN__HTTP":     "abc",
		"GATEHOUSE_POSTGRESQL__PORT": "0",
		"GATEHOUSE_EMAIL__USE_TLS":   "maybe",
		"GATEHOUSE_LOG_LEVEL":        "loud",
	}))
	want := []string{
		`email.port (GATEHOUSE_EMAIL__PORT): "abc" is not a whole number (from ` + file + `:2)`,
		file + `:4: unknown setting "listen.htp" (listen holds: http, https, metrics, ldap, ldaps, trusted_proxy_cidrs)`,
		`email.use_tls (GATEHOUSE_EMAIL__USE_TLS): "maybe" is not a boolean ...`,
		`log_level (GATEHOUSE_LOG_LEVEL): "loud" is not one of debug, info, warning, error`,
		`postgresql.port (GATEHOUSE_POSTGRESQL__PORT): 0 is not a port number (1-65535)`,
		`listen.http (GATEHOUSE_LISTEN__HTTP): "abc" is not a host:port address ...`,
	}
	if len(lines) != len(want) {
		t.Fatalf("expected %d lines, got %d:\n  %s", len(want), len(lines), strings.Join(lines, "\n  "))
	}
	for i := range want {
		if !matches(lines[i], want[i]) {
			t.Errorf("line %d: expected\n  %s\ngot\n  %s", i+1, want[i], lines[i])
		}
	}
}

func TestYAMLErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       string // FILE stands for the file's path
	}{
		{"unknown top-level key", "redis:\n  host: x\n",
			`FILE:1: unknown setting "redis" (the top level holds: secret_key, secret_key_previous, data_dir, log_level, postgresql, email, listen, tls, bootstrap_password, bootstrap_email, bootstrap_token, cookie_domain, sessions, web, throttle, notifications, external_url)`},
		{"unknown nested key", "postgresql:\n  host: db\n  database: x\n",
			`FILE:3: unknown setting "postgresql.database" (postgresql holds: host, port, name, user, password, sslmode, max_conns)`},
		{"wrong type: text for a port", "postgresql:\n  port: abc\n",
			`postgresql.port (GATEHOUSE_POSTGRESQL__PORT): "abc" is not a whole number (from FILE:2)`},
		{"wrong type: text for a boolean", "email:\n  use_ssl: sometimes\n",
			`email.use_ssl (GATEHOUSE_EMAIL__USE_SSL): "sometimes" is not a boolean (use true/false, yes/no or 1/0) (from FILE:2)`},
		{"wrong type: list for a value", "email:\n  port: [25, 587]\n",
			`email.port (GATEHOUSE_EMAIL__PORT): expected a single value, got a list (from FILE:2)`},
		{"wrong type: mapping for a value", "log_level:\n  root: debug\n",
			`log_level (GATEHOUSE_LOG_LEVEL): expected a value, got a mapping (from FILE:2)`},
		{"wrong type: value for a section", "listen: 9000\n",
			`FILE:1: listen holds settings (http, https, metrics, ldap, ldaps, trusted_proxy_cidrs), not a value`},
		{"null for a number", "email:\n  port:\n",
			`email.port (GATEHOUSE_EMAIL__PORT): has no value; remove the line to keep the default (from FILE:2)`},
		{"duplicate key", "listen:\n  http: \":1\"\n  http: \":2\"\n",
			`FILE:3: listen.http is set twice (first at line 2)`},
		{"not a mapping", "- a\n- b\n",
			`FILE:1: expected settings (key: value lines) at the top level`},
		{"syntax error", "listen:\n  http: [\n",
			`FILE: yaml: line 2: did not find expected node content`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeFile(t, "gatehouse.yml", tc.yaml)
			lines := loadErrors(t, file, testEnv(t, nil))
			want := strings.ReplaceAll(tc.want, "FILE", file)
			if len(lines) != 1 || !matches(lines[0], want) {
				t.Errorf("expected exactly one line:\n  %s\ngot %d:\n  %s", want, len(lines), strings.Join(lines, "\n  "))
			}
		})
	}
}

func TestYAMLAcceptsEmptyFilesAndAnchors(t *testing.T) {
	for _, content := range []string{"", "# nothing yet\n", "---\n", "email:\n"} {
		mustLoad(t, writeFile(t, "c.yml", content), testEnv(t, nil))
	}
	file := writeFile(t, "c.yml", "x_port: &p 2525\n")
	if _, _, err := Load(file, envOf(testEnv(t, nil))); err == nil {
		t.Errorf("unknown key x_port: expected an error, got none")
	}
	file = writeFile(t, "c.yml", "listen:\n  http: &addr \"127.0.0.1:9100\"\n  https: *addr\n")
	lines := loadErrors(t, file, testEnv(t, nil))
	if want := `listen.https (GATEHOUSE_LISTEN__HTTPS): "127.0.0.1:9100" is already used by listen.http (from ` + file + `:2)`; len(lines) != 1 || lines[0] != want {
		t.Errorf("alias to an anchor: expected\n  %s\ngot\n  %s", want, strings.Join(lines, "\n  "))
	}
}

func TestMissingConfigFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.yml")
	lines := loadErrors(t, "", testEnv(t, map[string]string{configEnv: missing}))
	want := "cannot read the configuration file (--config or GATEHOUSE_CONFIG): open " + missing + ": no such file or directory"
	if len(lines) != 1 || lines[0] != want {
		t.Errorf("expected\n  %s\ngot\n  %s", want, strings.Join(lines, "\n  "))
	}
}

func TestPostgreSQLRequiresSecretKey(t *testing.T) {
	dir := t.TempDir()
	lines := loadErrors(t, "", map[string]string{"AUTHENTIK_POSTGRESQL__HOST": "db", "GATEHOUSE_DATA_DIR": dir})
	want := []string{"secret_key (GATEHOUSE_SECRET_KEY / AUTHENTIK_SECRET_KEY): required when PostgreSQL is configured; generate one with: openssl rand -base64 60"}
	if !slices.Equal(lines, want) {
		t.Errorf("expected %q, got %q", want, lines)
	}
	if _, err := os.Stat(filepath.Join(dir, secretKeyFile)); !os.IsNotExist(err) {
		t.Errorf("expected no generated key file on PostgreSQL, got stat error %v", err)
	}
}

// validate is pure, so it can be tested on values built by hand.
func TestValidateIsPure(t *testing.T) {
	c := Defaults()
	c.DataDir = filepath.Join(t.TempDir(), "never-created")
	c.TLS.Certificate = "/nonexistent/cert.pem"
	c.TLS.Key = "/nonexistent/key.pem"
	if errs := validate(c); len(errs) != 0 {
		t.Errorf("defaults with TLS paths: expected no problems from validate (files are Load's job), got %v", errs)
	}
	if _, err := os.Stat(c.DataDir); !os.IsNotExist(err) {
		t.Errorf("validate: expected data_dir not to be created, got stat error %v", err)
	}
}
