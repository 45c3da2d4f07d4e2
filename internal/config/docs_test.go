package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// These tests keep docs/configuration.md honest: it must name every
// setting, quote the errors the code really prints, and its examples must
// load.

func readDocs(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatalf("reading docs: expected docs/configuration.md, got %v", err)
	}
	return string(doc)
}

// The reference in docs/configuration.md must name every setting, so the
// documentation cannot silently fall behind the struct.
func TestDocsNameEverySetting(t *testing.T) {
	doc := readDocs(t)
	for _, s := range table.list {
		for _, want := range []string{"`" + s.path + "`", "`" + s.env + "`", "`" + s.alias + "`"} {
			if !strings.Contains(doc, want) {
				t.Errorf("docs/configuration.md: expected it to mention %s, it does not", want)
			}
		}
	}
}

// The "Errors you may see" section of docs/configuration.md quotes real
// output: this produces it and checks that every line is quoted.
func TestDocsQuoteRealErrors(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, "config.yml", "listen:\n  htp: \":9000\"\npostgresql:\n  host: db\n  port: five\n")
	secretFile := filepath.Join(dir, "pg_password")
	_, warnings, err := Load(file, envOf(map[string]string{
		"GATEHOUSE_DATA_DIR":                      dir,
		"AUTHENTIK_LISTEN__METRICS":               "localhost",
		"GATEHOUSE_LISTEN__HTTP":                  "[::]:9000",
		"AUTHENTIK_LISTEN__HTTP":                  "[::]:9000",
		"AUTHENTIK_EMAIL__USE_TLS":                "true",
		"AUTHENTIK_EMAIL__USE_SSL":                "true",
		"GATEHOUSE_SESSIONS__UNAUTHENTICATED_AGE": "1d",
		"GATEHOUSE_POSTGRESQL__PASSWORD_FILE":     secretFile,
	}))
	if err == nil {
		t.Fatalf("Load: expected errors, got none")
	}
	doc := readDocs(t)
	out := err.Error() + "\n" + strings.Join(warnings, "\n")
	out = strings.ReplaceAll(out, file, "/etc/gatehouse/config.yml")
	out = strings.ReplaceAll(out, secretFile, "/run/secrets/pg_password")
	for line := range strings.SplitSeq(out, "\n") {
		if !strings.Contains(doc, line) {
			t.Errorf("docs/configuration.md: expected it to quote the line\n  %s", line)
		}
	}
}

// codeBlock returns the first fenced block of the given language.
func codeBlock(t *testing.T, doc, lang string) string {
	t.Helper()
	m := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```").FindStringSubmatch(doc)
	if m == nil {
		t.Fatalf("docs/configuration.md: expected a ```%s block, found none", lang)
	}
	return m[1]
}

func TestDocsExamplesLoad(t *testing.T) {
	doc := readDocs(t)
	t.Run("dotenv", func(t *testing.T) {
		env := map[string]string{}
		for line := range strings.SplitSeq(codeBlock(t, doc, "dotenv"), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
				env[k] = v
			}
		}
		if _, _, err := Load("", envOf(env)); err == nil || !strings.Contains(err.Error(), "secret_key") {
			t.Errorf("as printed (empty secret key): expected the secret_key error, got %v", err)
		}
		env["GATEHOUSE_SECRET_KEY"] = testKey
		c, _ := mustLoad(t, "", env)
		if !c.UsesPostgreSQL() || c.Email.Port != 587 {
			t.Errorf("expected PostgreSQL and email.port 587, got UsesPostgreSQL=%v port=%d", c.UsesPostgreSQL(), c.Email.Port)
		}
	})
	t.Run("yaml", func(t *testing.T) {
		secrets := t.TempDir()
		for _, name := range []string{"gatehouse_secret_key", "postgres_password"} {
			if err := os.WriteFile(filepath.Join(secrets, name), []byte(testKey+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		text := strings.ReplaceAll(codeBlock(t, doc, "yaml"), "/run/secrets", secrets)
		c, _ := mustLoad(t, writeFile(t, "config.yml", text), map[string]string{"SMTP_PASSWORD": "x"})
		if c.SecretKey != testKey || c.Listen.LDAP != "" || c.Email.Timeout.Seconds() != 30 {
			t.Errorf("expected the example's values, got secret key %q, ldap %q, email timeout %v", c.SecretKey, c.Listen.LDAP, c.Email.Timeout)
		}
	})
}
