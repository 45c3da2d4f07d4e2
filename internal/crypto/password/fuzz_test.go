package password

import (
	"errors"
	"strings"
	"testing"
)

// FuzzVerify feeds arbitrary strings to Verify: it must never panic, and it
// must only ever fail with one of its three errors.
func FuzzVerify(f *testing.F) {
	for _, tc := range knownHashes {
		f.Add(tc.password, tc.encoded)
	}
	for _, s := range []string{
		"", "!", "$", "$$$$$", "$argon2id$", "$argon2id$v=19$m=8,t=1,p=1$$",
		"$argon2i$v=19$m=8,t=1,p=1$c29tZXNhbHQ$AAAA", "$2b$04$", "$2y$04$" + strings.Repeat(".", 53),
		"pbkdf2_sha256$1$$", "pbkdf2_sha1$1$s$AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "argon2$", "bcrypt_sha256$$2b$04$",
		"bcrypt$$2a$04$" + strings.Repeat("/", 53),
	} {
		f.Add("pw", s)
	}

	// Small bounds keep every input cheap enough for millions of runs; the
	// parsing paths are the same as with the real bounds.
	h := NewHasher(Params{Memory: 8, Iterations: 1, Parallelism: 1, SaltLen: 8, KeyLen: 16}, 0)
	h.limits = limits{argon2Memory: 64, argon2Time: 2, argon2Threads: 2, argon2KeyLen: 64, pbkdf2Iter: 1000, bcryptCost: 5}

	f.Fuzz(func(t *testing.T, password, encoded string) {
		ok, rehash, err := h.Verify(t.Context(), password, encoded)
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsafeParams) && !errors.Is(err, ErrUnknownFormat) {
			t.Fatalf("Verify(%q, %q) returned unexpected error %v", password, encoded, err)
		}
		if err != nil && (ok || rehash) {
			t.Fatalf("Verify(%q, %q) = %v, %v with error %v", password, encoded, ok, rehash, err)
		}
		if rehash && !ok {
			t.Fatalf("Verify(%q, %q) asked for a rehash without a match", password, encoded)
		}
	})
}
