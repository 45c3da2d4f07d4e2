package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSQLiteGeneratesSecretKeyOnceAndReusesIt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // does not exist yet
	keyPath := filepath.Join(dir, secretKeyFile)
	env := map[string]string{"GATEHOUSE_DATA_DIR": dir}

	first, warnings := mustLoad(t, "", env)
	wantWarning := "no secret key configured: generated one at " + keyPath + "; back it up, it encrypts your secrets"
	if !slices.Equal(warnings, []string{wantWarning}) {
		t.Errorf("first Load warnings: expected [%q], got %q", wantWarning, warnings)
	}
	if n := len(first.SecretKey); n != 64 { // 48 bytes, base64
		t.Errorf("generated key: expected 64 characters, got %d", n)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, keyPath: 0o600} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatalf("stat %s: expected it to exist, got %v", path, err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s: expected mode %04o, got %04o", path, want, got)
		}
	}

	second, warnings := mustLoad(t, "", env)
	if second.SecretKey != first.SecretKey {
		t.Errorf("second Load: expected the stored key to be reused, got a different one")
	}
	if len(warnings) != 0 {
		t.Errorf("second Load warnings: expected none, got %q", warnings)
	}

	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	third, warnings := mustLoad(t, "", env)
	wantWarning = "secret key file " + keyPath + " has mode 0644, readable by other users; restrict it with: chmod 600 " + keyPath
	if third.SecretKey != first.SecretKey || !slices.Equal(warnings, []string{wantWarning}) {
		t.Errorf("world-readable key file: expected the same key and [%q], got same=%v and %q",
			wantWarning, third.SecretKey == first.SecretKey, warnings)
	}
}

func TestConfiguredSecretKeyWritesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	c, warnings := mustLoad(t, "", map[string]string{"GATEHOUSE_DATA_DIR": dir, "GATEHOUSE_SECRET_KEY": testKey})
	if c.SecretKey != testKey || len(warnings) != 0 {
		t.Errorf("expected the configured key and no warnings, got key %q and %q", c.SecretKey, warnings)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("expected data_dir not to be created, got stat error %v", err)
	}
}

func TestStoredSecretKeyTooShort(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, secretKeyFile)
	if err := os.WriteFile(keyPath, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lines := loadErrors(t, "", map[string]string{"GATEHOUSE_DATA_DIR": dir})
	want := "secret_key (GATEHOUSE_SECRET_KEY / AUTHENTIK_SECRET_KEY): " + keyPath +
		" holds a key of 5 characters, use at least 32; generate one with: openssl rand -base64 60"
	if len(lines) != 1 || lines[0] != want {
		t.Errorf("expected\n  %s\ngot\n  %s", want, strings.Join(lines, "\n  "))
	}
}

func TestSecretKeyCannotBeStored(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	parent := t.TempDir()
	if err := os.Chmod(parent, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(parent, 0o700) })
	lines := loadErrors(t, "", map[string]string{"GATEHOUSE_DATA_DIR": filepath.Join(parent, "data")})
	want := "secret_key (GATEHOUSE_SECRET_KEY / AUTHENTIK_SECRET_KEY): not set, and cannot create data_dir to store a generated one: ..."
	if len(lines) != 1 || !matches(lines[0], want) {
		t.Errorf("expected\n  %s\ngot\n  %s", want, strings.Join(lines, "\n  "))
	}
}
