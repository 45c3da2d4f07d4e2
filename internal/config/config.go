package config

import (
	"log/slog"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the whole of Gatehouse's start-up configuration.
//
// The yaml tags are the settings' names: the file uses them as paths
// ("listen.http") and the environment derives its variable names from them
// (GATEHOUSE_LISTEN__HTTP, alias AUTHENTIK_LISTEN__HTTP). The secret tag
// hides a value in Redacted; the check tag names the validation a value gets
// (see validate.go). Every leaf must be a string, int, int64, bool,
// time.Duration or []string: those are the kinds the loader can parse.
type Config struct {
	// SecretKey derives the keys that encrypt secrets at rest and sign
	// sessions. Changing it makes existing encrypted data unreadable.
	SecretKey string `yaml:"secret_key" secret:"true"`
	// SecretKeyPrevious lists retired secret keys that still decrypt (never
	// encrypt), so the secret key can be rotated without downtime.
	SecretKeyPrevious []string `yaml:"secret_key_previous" secret:"true"`
	// DataDir holds the embedded SQLite database and the generated secret key.
	DataDir string `yaml:"data_dir" check:"nonempty"`
	// LogLevel is one of debug, info, warning, error once loaded (Load
	// accepts Authentik's "trace" as debug and "warn" as warning).
	LogLevel string `yaml:"log_level" check:"oneof=debug info warning error"`

	PostgreSQL PostgreSQL `yaml:"postgresql"`
	Email      Email      `yaml:"email"`
	Listen     Listen     `yaml:"listen"`
	TLS        TLS        `yaml:"tls"`

	// BootstrapPassword, when set, is the password of the first
	// administrator, created on first start only.
	BootstrapPassword string `yaml:"bootstrap_password" secret:"true"`
	BootstrapEmail    string `yaml:"bootstrap_email" check:"email"`
	// BootstrapToken, when set, becomes a non-expiring API token of the
	// first administrator, created on first start only.
	BootstrapToken string `yaml:"bootstrap_token" secret:"true"`

	// CookieDomain widens the session cookie to a parent domain, so
	// forward-auth works across subdomains. Empty means the request's host.
	CookieDomain string `yaml:"cookie_domain"`

	Sessions Sessions `yaml:"sessions"`
	Web      Web      `yaml:"web"`
	Throttle Throttle `yaml:"throttle"`

	Notifications Notifications `yaml:"notifications"`

	// ExternalURL, when set, is used for links Gatehouse sends out of band
	// (emails, notifications) instead of guessing from the request. It has
	// no trailing slash once loaded.
	ExternalURL string `yaml:"external_url" check:"url"`
}

// PostgreSQL configures the production store. An empty Host selects the
// embedded SQLite database instead.
type PostgreSQL struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port" check:"port"`
	Name     string `yaml:"name"`
	User     string `yaml:"user"`
	Password string `yaml:"password" secret:"true"`
	SSLMode  string `yaml:"sslmode" check:"oneof=disable allow prefer require verify-ca verify-full"`
	// MaxConns bounds the connection pool of each replica. It is not part
	// of PostgresDSN: only pgxpool understands pool_max_conns, and plain
	// pgx would send it to the server as a runtime parameter.
	MaxConns int `yaml:"max_conns" check:"positive"`
}

// Email configures SMTP delivery.
type Email struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port" check:"port"`
	Username string `yaml:"username"`
	Password string `yaml:"password" secret:"true"`
	// UseTLS upgrades a plain connection with STARTTLS (port 587 usually);
	// UseSSL speaks TLS from the first byte (port 465). Not both.
	UseTLS bool `yaml:"use_tls"`
	UseSSL bool `yaml:"use_ssl"`
	// Timeout is written in seconds in Authentik's configuration; any
	// duration syntax ParseDuration accepts works here.
	Timeout time.Duration `yaml:"timeout" check:"positive"`
	From    string        `yaml:"from" check:"address"`
}

// Configured reports whether an operator set up email: a server, a
// login or a sender other than the defaults (which only a local relay
// accepting anything from "gatehouse@localhost" would make work).
func (e Email) Configured() bool {
	d := Defaults().Email
	return e.Host != d.Host || e.Username != "" || e.From != d.From
}

// Listen holds the listener addresses. An empty address disables that
// listener.
type Listen struct {
	HTTP    string `yaml:"http" check:"listen"`
	HTTPS   string `yaml:"https" check:"listen"`
	Metrics string `yaml:"metrics" check:"listen"`
	LDAP    string `yaml:"ldap" check:"listen"`
	LDAPS   string `yaml:"ldaps" check:"listen"`
	// TrustedProxyCIDRs lists the peers whose X-Forwarded-For and
	// similar headers are believed.
	TrustedProxyCIDRs []string `yaml:"trusted_proxy_cidrs" check:"cidr"`
}

// TLS names the certificate served on the HTTPS and LDAPS listeners.
type TLS struct {
	Certificate string `yaml:"certificate" check:"file"`
	Key         string `yaml:"key" check:"file"`
}

// Sessions configures browser sessions.
type Sessions struct {
	// UnauthenticatedAge is how long a session that never logged in is
	// kept, so abandoned login attempts do not pile up.
	UnauthenticatedAge time.Duration `yaml:"unauthenticated_age" check:"positive"`
	// EndOnPasswordChange ends a user's other sessions and revokes their
	// OAuth tokens when their password is changed or reset (and, on a
	// reset, deletes their app passwords). Turning it off keeps them.
	EndOnPasswordChange bool `yaml:"end_on_password_change"`
}

// Throttle bounds password attempts. Each is a token bucket: the burst is
// how many attempts may come at once, the rate how fast it refills. The
// login_user budget is per account (username and email share it); the
// global one is per tenant, so that rotating a spoofable client address
// (X-Forwarded-For) over many accounts still meets a bound.
type Throttle struct {
	LoginIPPerMinute     int `yaml:"login_ip_per_minute" check:"positive"`
	LoginIPBurst         int `yaml:"login_ip_burst" check:"positive"`
	LoginUserPerMinute   int `yaml:"login_user_per_minute" check:"positive"`
	LoginUserBurst       int `yaml:"login_user_burst" check:"positive"`
	LoginGlobalPerMinute int `yaml:"login_global_per_minute" check:"positive"`
	LoginGlobalBurst     int `yaml:"login_global_burst" check:"positive"`
	// EmailAccountPerHour and EmailIPPerHour bound the links the email
	// stage mails (recovery, address verification): a bucket of that many,
	// refilled over an hour, per account and per client IP.
	EmailAccountPerHour int `yaml:"email_account_per_hour" check:"positive"`
	EmailIPPerHour      int `yaml:"email_ip_per_hour" check:"positive"`
}

// Notifications configures notification delivery.
type Notifications struct {
	// WebhookDeniedCIDRs lists networks that webhook and Slack transports
	// may not connect to (checked on the address actually dialled, after
	// DNS), for deployments where those who may create transports must
	// not reach internal services. Empty allows every address.
	WebhookDeniedCIDRs []string `yaml:"webhook_denied_cidrs" check:"cidr"`
}

// DeniedPrefixes returns WebhookDeniedCIDRs parsed; Load has validated
// them.
func (n Notifications) DeniedPrefixes() []netip.Prefix { return prefixes(n.WebhookDeniedCIDRs) }

// Web configures the HTTP servers. The timeout names are Authentik's, so
// AUTHENTIK_WEB__TIMEOUT_HTTP_* variables carry over.
type Web struct {
	MaxBodyBytes          int64         `yaml:"max_body_bytes" check:"positive"`
	TimeoutHTTPReadHeader time.Duration `yaml:"timeout_http_read_header" check:"positive"`
	TimeoutHTTPRead       time.Duration `yaml:"timeout_http_read" check:"positive"`
	TimeoutHTTPWrite      time.Duration `yaml:"timeout_http_write" check:"positive"`
	TimeoutHTTPIdle       time.Duration `yaml:"timeout_http_idle" check:"positive"`
}

// Defaults returns the configuration used when nothing is set. The values
// follow Authentik's defaults, except that no PostgreSQL host is assumed:
// without one Gatehouse runs on embedded SQLite.
func Defaults() *Config {
	return &Config{
		DataDir:  "./data",
		LogLevel: "info",
		PostgreSQL: PostgreSQL{
			Port:     5432,
			Name:     "authentik",
			User:     "authentik",
			SSLMode:  "disable",
			MaxConns: 20,
		},
		Email: Email{
			Host:    "localhost",
			Port:    25,
			Timeout: 10 * time.Second,
			From:    "gatehouse@localhost",
		},
		Listen: Listen{
			HTTP:    "[::]:9000",
			HTTPS:   "[::]:9443",
			Metrics: "[::]:9300",
			LDAP:    "[::]:3389",
			LDAPS:   "[::]:6636",
			// Authentik's list plus IPv6 unique-local addresses, where
			// container networks commonly put reverse proxies.
			TrustedProxyCIDRs: []string{
				"127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
				"::1/128", "fe80::/10", "fc00::/7",
			},
		},
		BootstrapEmail: "root@example.com",
		Sessions:       Sessions{UnauthenticatedAge: 24 * time.Hour, EndOnPasswordChange: true},
		Web: Web{
			MaxBodyBytes:          1 << 20,
			TimeoutHTTPReadHeader: 5 * time.Second,
			TimeoutHTTPRead:       30 * time.Second,
			TimeoutHTTPWrite:      60 * time.Second,
			TimeoutHTTPIdle:       120 * time.Second,
		},
		Throttle: Throttle{LoginIPPerMinute: 60, LoginIPBurst: 30, LoginUserPerMinute: 10, LoginUserBurst: 10,
			LoginGlobalPerMinute: 120, LoginGlobalBurst: 300, EmailAccountPerHour: 5, EmailIPPerHour: 30},
	}
}

// UsesPostgreSQL reports whether PostgreSQL is the store; otherwise it is
// SQLite at SQLitePath.
func (c *Config) UsesPostgreSQL() bool { return c.PostgreSQL.Host != "" }

// SQLitePath is where the embedded database lives.
func (c *Config) SQLitePath() string { return filepath.Join(c.DataDir, "gatehouse.db") }

// PostgresDSN returns a keyword/value connection string for pgx. Every
// value is quoted, so passwords with spaces, quotes or backslashes survive.
// An empty password is left out so that PGPASSWORD or ~/.pgpass still apply.
func (c *Config) PostgresDSN() string {
	p := c.PostgreSQL
	parts := []string{
		"host=" + quoteDSN(p.Host),
		"port=" + strconv.Itoa(p.Port),
		"dbname=" + quoteDSN(p.Name),
		"user=" + quoteDSN(p.User),
	}
	if p.Password != "" {
		parts = append(parts, "password="+quoteDSN(p.Password))
	}
	parts = append(parts, "sslmode="+quoteDSN(p.SSLMode))
	return strings.Join(parts, " ")
}

func quoteDSN(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `'`, `\'`)
	return "'" + s + "'"
}

// SlogLevel maps LogLevel to log/slog; unknown values (impossible after
// Load) log at info.
func (c *Config) SlogLevel() slog.Level {
	switch c.LogLevel {
	case "debug":
		return slog.LevelDebug
	case "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// TrustedProxyPrefixes returns TrustedProxyCIDRs parsed. Load has
// validated them, so none is skipped after a successful Load.
func (l Listen) TrustedProxyPrefixes() []netip.Prefix { return prefixes(l.TrustedProxyCIDRs) }

func prefixes(cidrs []string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(cidrs))
	for _, s := range cidrs {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}

// logLevelAliases maps the spellings Authentik and habit allow to ours.
var logLevelAliases = map[string]string{
	"trace": "debug", "debug": "debug",
	"info": "info",
	"warn": "warning", "warning": "warning",
	"error": "error",
}

// normalize rewrites accepted spellings to their canonical form, so the
// rest of the program compares against one spelling. Unknown values are
// left alone for validate to report as written.
func (c *Config) normalize() {
	if lvl, ok := logLevelAliases[strings.ToLower(strings.TrimSpace(c.LogLevel))]; ok {
		c.LogLevel = lvl
	}
	c.ExternalURL = strings.TrimRight(c.ExternalURL, "/")
}
