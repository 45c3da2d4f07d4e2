package config

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// secretKeyFile is the name of the generated key inside DataDir.
const secretKeyFile = "secret_key"

// EnsureSecretKey fills in SecretKey when none is configured, so that a
// first `gatehouse serve` on SQLite works with no setup at all.
//
// It reads <data_dir>/secret_key if present, and otherwise generates 48
// random bytes, writes them base64-encoded to that file with mode 0600 and
// returns a warning asking the operator to back the file up. On PostgreSQL
// it refuses: every replica would generate a different key and none could
// read the others' encrypted rows.
func (c *Config) EnsureSecretKey() (warning string, err error) {
	if c.SecretKey != "" {
		return "", nil
	}
	if c.UsesPostgreSQL() {
		return "", errors.New("required when PostgreSQL is configured; " + secretKeyHint)
	}
	path := filepath.Join(c.DataDir, secretKeyFile)
	key, warning, err := readSecretKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = generateSecretKey(c.DataDir, path)
		warning = "no secret key configured: generated one at " + path + "; back it up, it encrypts your secrets"
		if errors.Is(err, fs.ErrExist) {
			// Another process started at the same moment and wrote it first.
			key, warning, err = readSecretKeyFile(path)
		}
	}
	if err != nil {
		return "", err
	}
	c.SecretKey = key
	return warning, nil
}

// readSecretKeyFile returns the key stored at path, and a warning when other
// users may read the file.
func readSecretKeyFile(path string) (key, warning string, err error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", err
	}
	if err != nil {
		return "", "", fmt.Errorf("cannot read the generated key: %w", err)
	}
	key, err = readValueFile(path)
	if err != nil {
		return "", "", fmt.Errorf("cannot read the generated key: %w", err)
	}
	if len(key) < minSecretKeyLen {
		return "", "", fmt.Errorf("%s holds a key of %d characters, use at least %d; %s", path, len(key), minSecretKeyLen, secretKeyHint)
	}
	// Windows has no such permission bits; ACLs are the operator's job there.
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		warning = fmt.Sprintf("secret key file %s has mode %04o, readable by other users; restrict it with: chmod 600 %s",
			path, info.Mode().Perm(), path)
	}
	return key, warning, nil
}

func generateSecretKey(dir, path string) (string, error) {
	buf := make([]byte, 48)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	key := base64.StdEncoding.EncodeToString(buf)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("not set, and cannot create data_dir to store a generated one: %w", err)
	}
	// O_EXCL: never overwrite a key, even one that appeared since we looked.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("not set, and cannot store a generated one: %w", err)
	}
	_, err = f.WriteString(key + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// A truncated key would be read back and trusted on the next start.
		os.Remove(path)
		return "", fmt.Errorf("not set, and cannot store a generated one: %w", err)
	}
	return key, nil
}
