package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// minSecretKeyLen is a floor, not a target: Authentik recommends 50 or more
// characters, and 32 random base64 characters already carry 192 bits.
const minSecretKeyLen = 32

const secretKeyHint = "generate one with: openssl rand -base64 60"

// validate checks a loaded configuration. It reads nothing and writes
// nothing, so it is tested on plain values; file checks live in Load.
func validate(c *Config) Errors {
	var errs Errors
	add := func(path, format string, args ...any) {
		errs = append(errs, Problem{Setting: path, Message: fmt.Sprintf(format, args...)})
	}
	for _, s := range table.list {
		if msg := s.checkValue(c); msg != "" {
			add(s.path, "%s", msg)
		}
	}

	switch n := len(c.SecretKey); {
	case n == 0 && c.UsesPostgreSQL():
		errs = append(errs, Problem{Setting: "secret_key", allNames: true,
			Message: "required when PostgreSQL is configured; " + secretKeyHint})
	case n > 0 && n < minSecretKeyLen:
		add("secret_key", "is %d characters long, use at least %d (50 or more recommended); %s", n, minSecretKeyLen, secretKeyHint)
	}
	if c.UsesPostgreSQL() {
		if c.PostgreSQL.Name == "" {
			add("postgresql.name", "required when postgresql.host is set")
		}
		if c.PostgreSQL.User == "" {
			add("postgresql.user", "required when postgresql.host is set")
		}
	}
	if c.Email.UseTLS && c.Email.UseSSL {
		add("email.use_tls", "cannot be combined with email.use_ssl: use_tls upgrades a plain connection with STARTTLS (usually port 587), use_ssl speaks TLS from the start (usually port 465); choose one")
	}
	switch {
	case c.TLS.Certificate != "" && c.TLS.Key == "":
		add("tls.key", "required when tls.certificate is set")
	case c.TLS.Certificate == "" && c.TLS.Key != "":
		add("tls.certificate", "required when tls.key is set")
	}
	if d := c.CookieDomain; d != "" && (strings.ContainsAny(d, "/: \t") || strings.Trim(d, ".") == "") {
		add("cookie_domain", "%q is not a domain name (write example.com, without scheme, port or path)", d)
	}
	errs = append(errs, duplicateListeners(c)...)
	return errs
}

// checkValue applies the setting's check tag and returns what is wrong, or "".
func (s *setting) checkValue(c *Config) string {
	f := s.field(c)
	name, arg, _ := strings.Cut(s.check, "=")
	switch name {
	case "", "file": // files are opened by Load; validate touches no disk
		return ""
	case "nonempty":
		if f.String() == "" {
			return "must not be empty"
		}
	case "oneof":
		allowed := strings.Fields(arg)
		if v := f.String(); !slices.Contains(allowed, v) {
			return fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", "))
		}
	case "port":
		if p := f.Int(); p < 1 || p > 65535 {
			return fmt.Sprintf("%d is not a port number (1-65535)", p)
		}
	case "positive":
		if f.Int() <= 0 {
			return fmt.Sprintf("%v must be greater than zero", s.display(c))
		}
	case "listen":
		if v := f.String(); v != "" && !isListenAddr(v) {
			return fmt.Sprintf("%q is not a host:port address (write [::]:9000, 0.0.0.0:9000 or 127.0.0.1:9000; empty disables the listener)", v)
		}
	case "cidr":
		for _, v := range f.Interface().([]string) {
			if _, err := netip.ParsePrefix(v); err != nil {
				return fmt.Sprintf("%q is not a CIDR range (write 10.0.0.0/8 or fd00::/8)", v)
			}
		}
	case "email":
		if v := f.String(); v != "" {
			if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
				return fmt.Sprintf("%q is not an email address", v)
			}
		}
	case "address":
		if v := f.String(); v != "" {
			if _, err := mail.ParseAddress(v); err != nil {
				return fmt.Sprintf("%q is not an email address (write noreply@example.com or Name <noreply@example.com>)", v)
			}
		}
	case "url":
		if v := f.String(); v != "" && !isExternalURL(v) {
			return fmt.Sprintf("%q is not an absolute http(s) URL without query or fragment (write https://id.example.com)", v)
		}
	default:
		panic("config: unknown check " + s.check + " on " + s.path)
	}
	return ""
}

func isListenAddr(v string) bool {
	host, port, err := net.SplitHostPort(v)
	if err != nil || strings.ContainsAny(host, " \t") {
		return false
	}
	// Port 0 (any free port) is allowed: tests and tools rely on it.
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535 && port[0] != '+' && port[0] != '-'
}

func isExternalURL(v string) bool {
	u, err := url.Parse(v)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.User == nil && u.RawQuery == "" && u.Fragment == "" && !u.ForceQuery
}

// duplicateListeners reports two listeners on one address, which would
// otherwise surface as a bind error after half the server had started.
func duplicateListeners(c *Config) Errors {
	var errs Errors
	seen := map[string]string{}
	for _, s := range table.list {
		if s.check != "listen" {
			continue
		}
		v := s.field(c).String()
		if v == "" || !isListenAddr(v) {
			continue
		}
		if _, port, _ := net.SplitHostPort(v); port == "0" {
			continue
		}
		if other, ok := seen[v]; ok {
			errs = append(errs, Problem{Setting: s.path, Message: fmt.Sprintf("%q is already used by %s", v, other)})
			continue
		}
		seen[v] = s.path
	}
	return errs
}
