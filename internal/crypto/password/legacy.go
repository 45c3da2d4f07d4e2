package password

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Imported schemes. None of them is ever written; each verifies with
// rehash=true so the account moves to argon2id at its next login.

// parsePBKDF2 reads Django's PBKDF2PasswordHasher and PBKDF2SHA1PasswordHasher
// format, <scheme>$<iterations>$<salt>$<base64 hash>, which is what Authentik
// stores. The salt is used as its UTF-8 text, as Django does.
func (h *Hasher) parsePBKDF2(scheme, rest string) (verifier, error) {
	parts := strings.Split(rest, "$")
	if len(parts) != 3 {
		return verifier{}, fmt.Errorf("%w: %s: %d fields, want 4", ErrMalformed, scheme, len(parts)+1)
	}
	iter, err := parseCost("iterations", parts[0], 1, h.limits.pbkdf2Iter)
	if err != nil {
		return verifier{}, err
	}
	salt := []byte(parts[1])
	want, err := base64.StdEncoding.Strict().DecodeString(parts[2])
	if err != nil {
		return verifier{}, fmt.Errorf("%w: %s hash: %v", ErrMalformed, scheme, err)
	}

	var derive func(password string) ([]byte, error)
	size := sha256.Size
	if scheme == "pbkdf2_sha1" {
		size = sha1.Size
		derive = func(pw string) ([]byte, error) { return pbkdf2.Key(sha1.New, pw, salt, int(iter), size) }
	} else {
		derive = func(pw string) ([]byte, error) { return pbkdf2.Key(sha256.New, pw, salt, int(iter), size) }
	}
	// Django always writes one digest's worth; anything else, an empty hash
	// in particular, is not one of its hashes.
	if len(want) != size {
		return verifier{}, fmt.Errorf("%w: %s hash of %d bytes, want %d", ErrMalformed, scheme, len(want), size)
	}
	return verifier{check: func(password string) bool {
		got, err := derive(password)
		return err == nil && subtle.ConstantTimeCompare(got, want) == 1
	}}, nil
}

// parseDjangoBcrypt reads Django's "bcrypt$<bcrypt hash>" and
// "bcrypt_sha256$<bcrypt hash>"; rest starts at the bcrypt hash's own "$".
func (h *Hasher) parseDjangoBcrypt(rest string, prehash bool) (verifier, error) {
	if !isBcryptPrefix(rest) {
		return verifier{}, fmt.Errorf("%w: django bcrypt: %.8q is not a bcrypt hash", ErrMalformed, rest)
	}
	return h.parseBcrypt(rest, prehash)
}

func isBcryptPrefix(s string) bool {
	// $2x$ is crypt_blowfish's marker for hashes made with its sign-extension
	// bug; x/crypto computes the correct algorithm, so it could not verify
	// them and they fall to ErrUnknownFormat.
	return len(s) >= 4 && (s[:4] == "$2a$" || s[:4] == "$2b$" || s[:4] == "$2y$")
}

const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// parseBcrypt reads $2a$/$2b$/$2y$<cost>$<22 salt chars><31 hash chars>.
// With prehash it verifies Django's BCryptSHA256PasswordHasher, which feeds
// bcrypt the lowercase hex SHA-256 of the password to escape the 72-byte limit.
//
// bcrypt only reads the first 72 bytes of a password. x/crypto refuses to
// *create* hashes of longer passwords (ErrPasswordTooLong) but compares them
// as OpenBSD, crypt_blowfish and PHP do, on their first 72 bytes, so imported
// hashes of long passwords keep working. Should a future x/crypto refuse to
// compare them, the error is taken as "no match". The rehash on login then
// hashes the whole password with argon2id.
func (h *Hasher) parseBcrypt(s string, prehash bool) (verifier, error) {
	if !isBcryptPrefix(s) {
		return verifier{}, fmt.Errorf("%w: %.8q", ErrUnknownFormat, s)
	}
	if len(s) != 60 || s[6] != '$' {
		return verifier{}, fmt.Errorf("%w: bcrypt: length %d, want 60", ErrMalformed, len(s))
	}
	if _, err := parseCost("cost", s[4:6], uint64(bcrypt.MinCost), uint64(h.limits.bcryptCost)); err != nil {
		return verifier{}, err
	}
	for i := 7; i < len(s); i++ {
		if strings.IndexByte(bcryptAlphabet, s[i]) < 0 {
			return verifier{}, fmt.Errorf("%w: bcrypt: byte %d is %q", ErrMalformed, i, s[i])
		}
	}
	hash := []byte(s)
	return verifier{check: func(password string) bool {
		in := []byte(password)
		if prehash {
			sum := sha256.Sum256(in)
			in = []byte(hex.EncodeToString(sum[:]))
		}
		// Any error (mismatch, ErrPasswordTooLong) means no match; the
		// comparison inside is constant-time.
		return bcrypt.CompareHashAndPassword(hash, in) == nil
	}}, nil
}
