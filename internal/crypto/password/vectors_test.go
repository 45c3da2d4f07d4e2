package password

import (
	"strings"
	"testing"
)

// Known-answer vectors, each from a source independent of this package, so a
// wrong implementation cannot agree with itself.
var knownHashes = []struct {
	name, source string
	password     string
	encoded      string
	wantRehash   bool
}{
	// argon2: the phc-winner-argon2 reference implementation.
	{
		"argon2id reference", "phc-winner-argon2 test.c",
		"password", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", true,
	},
	{
		"argon2i reference", "phc-winner-argon2 README: argon2 somesalt -t 2 -m 16 -p 4 -l 24",
		"password", "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG", true,
	},
	{
		// Generated once by this package with DefaultParams and pinned, so a
		// change of encoding or parameters cannot go unnoticed.
		"argon2id pinned", "this package, DefaultParams",
		"correct horse battery staple", "$argon2id$v=19$m=19456,t=2,p=1$Y2uXZl4IbO6VWYmmVBNELg$dP0TtFS/oS/r8kDcbvFKoSCgmhRvnH6lrEGwrqx0EIo", false,
	},

	// bcrypt: Openwall crypt_blowfish's wrapper.c vectors, also used by PHP and passlib.
	{"bcrypt $2y$", "crypt_blowfish", "\xa3", "$2y$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq", true},
	{"bcrypt $2b$", "crypt_blowfish", "\xa3", "$2b$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq", true},
	{"bcrypt $2a$", "crypt_blowfish", "U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", true},
	{
		"bcrypt over 72 bytes", "crypt_blowfish",
		"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored",
		"$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui", true,
	},

	// Django: tests/auth_tests/test_hashers.py (Django 4.1).
	{"django pbkdf2_sha256", "django test_pbkdf2", "lètmein", "pbkdf2_sha256$390000$seasalt$8xBlGd3jVgvJ+92hWPxi5ww0uuAuAnKgC45eudxro7c=", true},
	{"django pbkdf2_sha1", "django test_low_level_pbkdf2_sha1", "lètmein", "pbkdf2_sha1$390000$seasalt2$aDapRanzW8aHTz97v2TcfHzWD+I=", true},
	{"django argon2i", "django test_argon2", "secret", "argon2$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q", true},
	{"django argon2id", "django test_argon2_version_upgrade", "secret", "argon2$argon2id$v=19$m=102400,t=2,p=8$Y041dExhNkljRUUy$TMa6A8fPJhCAUXRhJXCXdw", true},
	{
		// What Authentik stores; computed with Python's hashlib, which is what
		// Django's PBKDF2PasswordHasher calls:
		// base64.b64encode(hashlib.pbkdf2_hmac('sha256', b'password', b'seasalt', 260000))
		"authentik pbkdf2_sha256", "python hashlib",
		"password", "pbkdf2_sha256$260000$seasalt$ftMWvEdczZQK5azuap2CQYKRjHLa1wOuMrfMiYEswYQ=", true,
	},

	// Django hashers as reproduced by passlib's test_handlers_django.py.
	{"django pbkdf2_sha256 (passlib)", "passlib", "not a password", "pbkdf2_sha256$10000$kjVJaVz6qsnJ$5yPHw3rwJGECpUf70daLGhOrQ5+AMxIJdz1c3bqK1Rs=", true},
	{"django pbkdf2_sha1 (passlib)", "passlib", "not a password", "pbkdf2_sha1$10000$wz5B6WkasRoF$atJmJ1o+XfJxKq1+Nu1f1i57Z5I=", true},
	{"django argon2i (passlib)", "passlib", "password", "argon2$argon2i$v=19$m=256,t=1,p=1$c29tZXNhbHQ$AJFIsNZTMKTAewB4+ETN1A", true},
	{"django bcrypt", "passlib", "abcdefghijklmnopqrstuvwxyz", "bcrypt$$2a$10$fVH8e28OQRj9tqiDXs1e1uxpsjN0c7II7YPKXua2NAKYvM6iQk7dq", true},
	{"django bcrypt_sha256 empty", "passlib", "", "bcrypt_sha256$$2a$06$/3OeRpbOf8/l6nPPRdZPp.nRiyYqPobEZGdNRBWihQhiFDh1ws1tu", true},
	{"django bcrypt_sha256", "passlib", "lètmein", "bcrypt_sha256$$2a$08$NDjSAIcas.EcoxCRiArvT.MkNiPYVhrsrnJsRkLueZOoV1bsQqlmC", true},
	{
		// The SHA-256 pre-hash is what lets this differ from the 72-byte
		// prefix below, which a plain bcrypt could not tell apart.
		"django bcrypt_sha256 past 72 bytes", "passlib",
		strings.Repeat("abc123", 12) + "qwr", "bcrypt_sha256$$2a$06$Tg/oYyZTyAf.Nb3qSgN61Ocy0BEz1RK6xslSNi8PlaLX2pe7x/KQG", true,
	},
	{
		"django bcrypt_sha256 72 bytes", "passlib",
		strings.Repeat("abc123", 12), "bcrypt_sha256$$2a$06$Tg/oYyZTyAf.Nb3qSgN61OySmyXA8FoY4PjGizjE1QSDfuL5MXNni", true,
	},
}

func TestVerifyKnownHashes(t *testing.T) {
	h := NewHasher(DefaultParams, 0)
	for _, tc := range knownHashes {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ok, rehash, err := h.Verify(t.Context(), tc.password, tc.encoded)
			if err != nil || !ok || rehash != tc.wantRehash {
				t.Fatalf("Verify(%q, %s vector) = ok %v, rehash %v, err %v; want ok true, rehash %v, err nil",
					tc.password, tc.source, ok, rehash, err, tc.wantRehash)
			}
			wrongs := []string{"x" + tc.password}
			if len(tc.password) < 72 || !strings.HasPrefix(tc.encoded, "$2") {
				// Plain bcrypt ignores bytes past 72, as the vector itself shows.
				wrongs = append(wrongs, tc.password+"x")
			}
			for _, wrong := range wrongs {
				ok, rehash, err = h.Verify(t.Context(), wrong, tc.encoded)
				if err != nil || ok || rehash {
					t.Errorf("Verify(wrong password %q) = ok %v, rehash %v, err %v; want false, false, nil", wrong, ok, rehash, err)
				}
			}
		})
	}
}

func TestBcryptSHA256DistinguishesPast72Bytes(t *testing.T) {
	h := NewHasher(DefaultParams, 0)
	long := "bcrypt_sha256$$2a$06$Tg/oYyZTyAf.Nb3qSgN61Ocy0BEz1RK6xslSNi8PlaLX2pe7x/KQG" // of prefix + "qwr"
	for _, pw := range []string{strings.Repeat("abc123", 12), strings.Repeat("abc123", 12) + "xyz"} {
		if ok, _, err := h.Verify(t.Context(), pw, long); ok || err != nil {
			t.Errorf("Verify(%q) against the hash of prefix+\"qwr\" = %v, %v; want false, nil", pw, ok, err)
		}
	}
}
