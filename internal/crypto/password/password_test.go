package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// cheap keeps tests that hash many times fast; it is still valid argon2id.
var cheap = Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func TestHashWritesReferencePHCString(t *testing.T) {
	h := NewHasher(DefaultParams, 0)
	encoded, err := h.Hash(t.Context(), "correct horse battery staple")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	// 16-byte salt and 32-byte key in unpadded standard base64: 22 and 43 chars.
	want := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !want.MatchString(encoded) {
		t.Fatalf("Hash = %q; want match for %s", encoded, want)
	}
	ok, rehash, err := h.Verify(t.Context(), "correct horse battery staple", encoded)
	if !ok || rehash || err != nil {
		t.Errorf("Verify(own hash) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	ok, rehash, err = h.Verify(t.Context(), "correct horse battery stapl", encoded)
	if ok || rehash || err != nil {
		t.Errorf("Verify(wrong password) = %v, %v, %v; want false, false, nil", ok, rehash, err)
	}
	again, _ := h.Hash(t.Context(), "correct horse battery staple")
	if again == encoded {
		t.Errorf("two hashes of one password are equal (%q): the salt is not random", again)
	}
}

func TestVerifyGeneratedBcrypt(t *testing.T) {
	h := NewHasher(cheap, 0)
	raw, err := bcrypt.GenerateFromPassword([]byte("hunter2"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	// x/crypto writes $2a$; the three variants are the same algorithm.
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		encoded := prefix + string(raw[4:])
		if ok, rehash, err := h.Verify(t.Context(), "hunter2", encoded); !ok || !rehash || err != nil {
			t.Errorf("Verify(%s) = %v, %v, %v; want true, true, nil", encoded, ok, rehash, err)
		}
		if ok, _, err := h.Verify(t.Context(), "hunter3", encoded); ok || err != nil {
			t.Errorf("Verify(wrong password, %s) = %v, %v; want false, nil", encoded, ok, err)
		}
	}
}

func TestBcryptLongPasswordsCompareOnFirst72Bytes(t *testing.T) {
	h := NewHasher(cheap, 0)
	first72 := strings.Repeat("x", 72)
	raw, err := bcrypt.GenerateFromPassword([]byte(first72), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	ok, rehash, err := h.Verify(t.Context(), first72+"tail", string(raw))
	if !ok || !rehash || err != nil {
		t.Errorf("Verify(76-byte password, bcrypt of its first 72) = %v, %v, %v; want true, true, nil (as OpenBSD and crypt_blowfish)", ok, rehash, err)
	}
}

func TestVerifyUnusablePasswords(t *testing.T) {
	h := NewHasher(cheap, 0)
	for _, encoded := range []string{"", "!", "!wqFgqOFWPAHM3z6Pu5vMmXmS3G6eiJahZ7f0tUiL"} {
		ok, rehash, err := h.Verify(t.Context(), "anything", encoded)
		if ok || rehash || err != nil {
			t.Errorf("Verify(%q) = %v, %v, %v; want false, false, nil", encoded, ok, rehash, err)
		}
	}
}

func TestVerifyRehashWhenParamsDiffer(t *testing.T) {
	encoded, err := NewHasher(cheap, 0).Hash(t.Context(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	change := map[string]func(*Params){
		"same":        func(*Params) {},
		"memory":      func(p *Params) { p.Memory = 128 },
		"iterations":  func(p *Params) { p.Iterations = 2 },
		"parallelism": func(p *Params) { p.Parallelism = 2 },
		"salt length": func(p *Params) { p.SaltLen = 32 },
		"key length":  func(p *Params) { p.KeyLen = 64 },
	}
	for name, edit := range change {
		t.Run(name, func(t *testing.T) {
			p := cheap
			edit(&p)
			h := NewHasher(p, 0)
			ok, rehash, err := h.Verify(t.Context(), "pw", encoded)
			if !ok || err != nil || rehash != (name != "same") {
				t.Errorf("Verify = %v, %v, %v; want true, %v, nil", ok, rehash, err, name != "same")
			}
			if ok, rehash, _ := h.Verify(t.Context(), "wrong", encoded); ok || rehash {
				t.Errorf("Verify(wrong) = %v, %v; want false, false: no rehash without a match", ok, rehash)
			}
		})
	}
}

func b64(n int) string { return base64.RawStdEncoding.EncodeToString(make([]byte, n)) }

func TestVerifyRefusesUnsafeParamsBeforeAnyWork(t *testing.T) {
	bcryptTail := strings.Repeat("a", 53)
	cases := []string{
		"$argon2id$v=19$m=262145,t=2,p=1$" + b64(16) + "$" + b64(32),
		"$argon2id$v=19$m=4194304,t=1,p=4$" + b64(16) + "$" + b64(32),
		"$argon2id$v=19$m=99999999999999999999999,t=1,p=1$" + b64(16) + "$" + b64(32),
		"$argon2id$v=19$m=65536,t=11,p=1$" + b64(16) + "$" + b64(32),
		"$argon2id$v=19$m=65536,t=4294967295,p=1$" + b64(16) + "$" + b64(32),
		"$argon2id$v=19$m=65536,t=2,p=17$" + b64(16) + "$" + b64(32),
		"$argon2id$v=19$m=65536,t=2,p=255$" + b64(16) + "$" + b64(32),
		"$argon2id$v=19$m=65536,t=2,p=1$" + b64(16) + "$" + b64(129),
		"$argon2i$v=19$m=1048576,t=2,p=1$" + b64(16) + "$" + b64(32),
		"argon2$argon2id$v=19$m=1048576,t=2,p=1$" + b64(16) + "$" + b64(32),
		"pbkdf2_sha256$5000001$salt$" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"pbkdf2_sha256$999999999999$salt$" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"pbkdf2_sha1$100000000$salt$" + base64.StdEncoding.EncodeToString(make([]byte, 20)),
		"$2b$17$" + bcryptTail,
		"$2y$31$" + bcryptTail,
		"$2a$99$" + bcryptTail,
		"bcrypt_sha256$$2b$20$" + bcryptTail,
		"bcrypt$$2b$20$" + bcryptTail,
	}
	h := NewHasher(DefaultParams, 1)
	// Hold the only slot: a refusal must come from parsing, not after a wait.
	h.sem <- struct{}{}
	defer h.release()
	for _, encoded := range cases {
		start := time.Now()
		ok, rehash, err := h.Verify(t.Context(), "pw", encoded)
		elapsed := time.Since(start)
		if !errors.Is(err, ErrUnsafeParams) || ok || rehash {
			t.Errorf("Verify(%.60s) = %v, %v, %v; want ErrUnsafeParams", encoded, ok, rehash, err)
		}
		if elapsed > 50*time.Millisecond {
			t.Errorf("Verify(%.60s) took %v; want < 50ms", encoded, elapsed)
		}
	}
}

func TestParseAcceptsTheBoundsThemselves(t *testing.T) {
	h := NewHasher(DefaultParams, 1)
	for _, encoded := range []string{
		"$argon2id$v=19$m=262144,t=10,p=16$" + b64(16) + "$" + b64(128),
		"pbkdf2_sha256$5000000$salt$" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"$2b$16$" + strings.Repeat("a", 53),
	} {
		// parse only: running these would take seconds, which is the point of the bounds.
		if _, err := h.parse(encoded); err != nil {
			t.Errorf("parse(%.60s) = %v; want nil at the bound", encoded, err)
		}
	}
}

func TestVerifyUnknownFormats(t *testing.T) {
	h := NewHasher(cheap, 1)
	for _, encoded := range []string{
		"hunter2", // plain text is not a hash
		"md5$seasalt$3f86d0d3d465b7b458c231bf3555c0e3",
		"sha1$seasalt$cff36ea83f5706ce9aa7454e63e431fc726b2dc8",
		"88a434c88cca4e900f7874cd98123f43",
		"scrypt$16384$seasalt$8$1$Qj3+9PPyRjSJIebHnG81TMjsqtaIGxNQG/aEB/NYafTJ7tibgfYz71m0ldQESkXFRkdVCBhhY8mx7rQwite/Pw==",
		"$argon2d$v=19$m=65536,t=2,p=1$" + b64(16) + "$" + b64(32),
		"$argon2id$v=16$m=65536,t=2,p=1$" + b64(16) + "$" + b64(32),
		"argon2$argon2i$m=8,t=1,p=1$c29tZXNhbHQ$gwQOXSNhxiOxPOA0+PY10P9QFO4NAYysnqRt1GSQLE55m+2GYDt9FEjPMHhP2Cuf0nOEXXMocVrsJAtNSsKyfg",
		"$2x$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e",
		"$2$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e",
		"$6$rounds=5000$saltsalt$abc",
		"$1$salt$hash",
		"{SSHA}abcdef",
	} {
		ok, _, err := h.Verify(t.Context(), "pw", encoded)
		if !errors.Is(err, ErrUnknownFormat) || ok {
			t.Errorf("Verify(%.60s) = %v, %v; want false, ErrUnknownFormat", encoded, ok, err)
		}
	}
}

func TestVerifyMalformed(t *testing.T) {
	pb := func(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }
	cases := map[string]string{
		"argon2 no fields":          "$argon2id",
		"argon2 missing hash":       "$argon2id$v=19$m=64,t=1,p=1$" + b64(16),
		"argon2 extra field":        "$argon2id$v=19$m=64,t=1,p=1$" + b64(16) + "$" + b64(32) + "$",
		"argon2 no version":         "$argon2id$x=19$m=64,t=1,p=1$" + b64(16) + "$" + b64(32),
		"argon2 param order":        "$argon2id$v=19$t=1,m=64,p=1$" + b64(16) + "$" + b64(32),
		"argon2 two params":         "$argon2id$v=19$m=64,t=1$" + b64(16) + "$" + b64(32),
		"argon2 negative":           "$argon2id$v=19$m=-64,t=1,p=1$" + b64(16) + "$" + b64(32),
		"argon2 plus sign":          "$argon2id$v=19$m=+64,t=1,p=1$" + b64(16) + "$" + b64(32),
		"argon2 empty param":        "$argon2id$v=19$m=,t=1,p=1$" + b64(16) + "$" + b64(32),
		"argon2 hex param":          "$argon2id$v=19$m=0x40,t=1,p=1$" + b64(16) + "$" + b64(32),
		"argon2 zero passes":        "$argon2id$v=19$m=64,t=0,p=1$" + b64(16) + "$" + b64(32),
		"argon2 zero lanes":         "$argon2id$v=19$m=64,t=1,p=0$" + b64(16) + "$" + b64(32),
		"argon2 memory below 8p":    "$argon2id$v=19$m=15,t=1,p=2$" + b64(16) + "$" + b64(32),
		"argon2 bad salt":           "$argon2id$v=19$m=64,t=1,p=1$not*base64$" + b64(32),
		"argon2 bad hash":           "$argon2id$v=19$m=64,t=1,p=1$" + b64(16) + "$!!!!",
		"argon2 empty hash":         "$argon2id$v=19$m=64,t=1,p=1$" + b64(16) + "$",
		"argon2 3-byte hash":        "$argon2id$v=19$m=64,t=1,p=1$" + b64(16) + "$" + b64(3),
		"django argon2 truncated":   "argon2$argon2id$v=19$m=64",
		"pbkdf2 too few fields":     "pbkdf2_sha256$260000$seasalt",
		"pbkdf2 too many fields":    "pbkdf2_sha256$260000$sea$salt$" + pb(32),
		"pbkdf2 zero iterations":    "pbkdf2_sha256$0$seasalt$" + pb(32),
		"pbkdf2 text iterations":    "pbkdf2_sha256$many$seasalt$" + pb(32),
		"pbkdf2 empty hash":         "pbkdf2_sha256$1$seasalt$",
		"pbkdf2 short hash":         "pbkdf2_sha256$1$seasalt$" + pb(16),
		"pbkdf2 sha1 length 32":     "pbkdf2_sha1$1$seasalt$" + pb(32),
		"pbkdf2 bad base64":         "pbkdf2_sha256$1$seasalt$***",
		"pbkdf2 unpadded base64":    "pbkdf2_sha256$1$seasalt$" + strings.TrimRight(pb(32), "="),
		"bcrypt short":              "$2b$10$abc",
		"bcrypt long":               "$2b$10$" + strings.Repeat("a", 54),
		"bcrypt cost letters":       "$2b$1a$" + strings.Repeat("a", 53),
		"bcrypt cost below 4":       "$2b$03$" + strings.Repeat("a", 53),
		"bcrypt no separator":       "$2b$10a" + strings.Repeat("a", 53),
		"bcrypt bad alphabet":       "$2b$10$" + strings.Repeat("+", 53),
		"django bcrypt_sha256 junk": "bcrypt_sha256$xyz$2a$06$/3OeRpbOf8/l6nPPRdZPp.nRiyYqPobEZGdNRBWihQhiFDh1ws1tu",
		"django bcrypt empty":       "bcrypt$",
		"too long":                  "$argon2id$v=19$m=64,t=1,p=1$" + b64(400) + "$" + b64(32),
	}
	h := NewHasher(cheap, 1)
	for name, encoded := range cases {
		ok, rehash, err := h.Verify(t.Context(), "pw", encoded)
		if !errors.Is(err, ErrMalformed) || ok || rehash {
			t.Errorf("%s: Verify(%.60q) = %v, %v, %v; want ErrMalformed", name, encoded, ok, rehash, err)
		}
	}
}

func TestNewHasherConcurrencyDefaultsToCPUs(t *testing.T) {
	for _, n := range []int{0, -1} {
		if got := cap(NewHasher(cheap, n).sem); got != runtime.NumCPU() {
			t.Errorf("NewHasher(p, %d) allows %d at once; want runtime.NumCPU() = %d", n, got, runtime.NumCPU())
		}
	}
	if got := cap(NewHasher(cheap, 3).sem); got != 3 {
		t.Errorf("NewHasher(p, 3) allows %d at once; want 3", got)
	}
}

func TestParamsValidate(t *testing.T) {
	if err := DefaultParams.Validate(); err != nil {
		t.Fatalf("DefaultParams.Validate() = %v", err)
	}
	bad := map[string]Params{
		"zero":               {},
		"memory above bound": {Memory: 262145, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		"memory below 8p":    {Memory: 15, Iterations: 2, Parallelism: 2, SaltLen: 16, KeyLen: 32},
		"zero iterations":    {Memory: 19456, Iterations: 0, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		"11 iterations":      {Memory: 19456, Iterations: 11, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		"17 lanes":           {Memory: 19456, Iterations: 2, Parallelism: 17, SaltLen: 16, KeyLen: 32},
		"short salt":         {Memory: 19456, Iterations: 2, Parallelism: 1, SaltLen: 4, KeyLen: 32},
		"short key":          {Memory: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 8},
		"long key":           {Memory: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 129},
	}
	for name, p := range bad {
		if err := p.Validate(); err == nil {
			t.Errorf("%s: Validate(%+v) = nil; want an error", name, p)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: NewHasher(%+v) did not panic", name, p)
				}
			}()
			NewHasher(p, 1)
		}()
	}
}

func TestDummySpendsOneDerivationWithOwnParams(t *testing.T) {
	h := NewHasher(cheap, 1)
	var calls []string
	h.argon2id = func(pw, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		calls = append(calls, fmt.Sprintf("m=%d,t=%d,p=%d,salt=%d,key=%d", memory, time, threads, len(salt), keyLen))
		return make([]byte, keyLen)
	}
	h.Dummy(t.Context(), "pw")
	want := fmt.Sprintf("m=%d,t=%d,p=%d,salt=%d,key=%d", cheap.Memory, cheap.Iterations, cheap.Parallelism, cheap.SaltLen, cheap.KeyLen)
	if len(calls) != 1 || calls[0] != want {
		t.Errorf("Dummy derived %v; want exactly [%s], the cost of verifying one of our hashes", calls, want)
	}
}

// BenchmarkHash is the login floor other benchmarks divide by: keep it a
// plain loop over Hash with DefaultParams.
func BenchmarkHash(b *testing.B) {
	h := NewHasher(DefaultParams, 0)
	ctx := b.Context()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyAuthentikPBKDF2(b *testing.B) {
	h := NewHasher(DefaultParams, 0)
	ctx := b.Context()
	const encoded = "pbkdf2_sha256$260000$seasalt$ftMWvEdczZQK5azuap2CQYKRjHLa1wOuMrfMiYEswYQ="
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, "password", encoded); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
