package secretbox

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

var place = AAD{Tenant: "t1", Table: "crypto_keys", Column: "private_key", Row: "0192c3a0-7b1e-7cc2-9a53-8f0e2a1d9c11"}

func mustNew(t testing.TB, key string, previous ...string) *Box {
	t.Helper()
	b, err := New(key, previous...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

func TestSealOpenRoundTrip(t *testing.T) {
	b := mustNew(t, "correct horse battery staple")
	for _, plaintext := range [][]byte{nil, {}, []byte("x"), []byte("-----BEGIN PRIVATE KEY-----\n..."), bytes.Repeat([]byte{0}, 1<<16)} {
		sealed := b.Seal(plaintext, place)
		if want := 1 + 12 + len(plaintext) + 16; len(sealed) != want {
			t.Errorf("len(Seal(%d bytes)) = %d; want %d (version, nonce, ciphertext, tag)", len(plaintext), len(sealed), want)
		}
		if sealed[0] != 1 {
			t.Errorf("version byte = %d; want 1", sealed[0])
		}
		got, err := b.Open(sealed, place)
		if err != nil || !bytes.Equal(got, plaintext) {
			t.Errorf("Open(Seal(%.20q)) = %.20q, %v; want the plaintext, nil", plaintext, got, err)
		}
	}
}

func TestSealDoesNotAliasItsInput(t *testing.T) {
	b := mustNew(t, "k")
	plaintext := []byte("secret")
	sealed := b.Seal(plaintext, place)
	copySealed := bytes.Clone(sealed)
	if _, err := b.Open(sealed, place); err != nil || !bytes.Equal(sealed, copySealed) || string(plaintext) != "secret" {
		t.Errorf("Seal or Open modified a caller's buffer")
	}
}

func TestOpenRejectsEveryTruncation(t *testing.T) {
	b := mustNew(t, "k")
	sealed := b.Seal([]byte("a secret of some length"), place)
	for n := range len(sealed) {
		if got, err := b.Open(sealed[:n], place); !errors.Is(err, ErrDecrypt) || got != nil {
			t.Errorf("Open(first %d of %d bytes) = %q, %v; want nil, ErrDecrypt", n, len(sealed), got, err)
		}
	}
}

func TestOpenRejectsEveryBitFlip(t *testing.T) {
	b := mustNew(t, "k")
	sealed := b.Seal([]byte("a secret"), place)
	for i := range len(sealed) {
		for bit := range 8 {
			tampered := bytes.Clone(sealed)
			tampered[i] ^= 1 << bit
			if _, err := b.Open(tampered, place); !errors.Is(err, ErrDecrypt) {
				t.Errorf("Open with byte %d bit %d flipped = %v; want ErrDecrypt", i, bit, err)
			}
		}
	}
	extended := append(bytes.Clone(sealed), 0)
	if _, err := b.Open(extended, place); !errors.Is(err, ErrDecrypt) {
		t.Errorf("Open with a byte appended = %v; want ErrDecrypt", err)
	}
}

func TestOpenRejectsWrongKey(t *testing.T) {
	sealed := mustNew(t, "key one").Seal([]byte("secret"), place)
	if _, err := mustNew(t, "key two").Open(sealed, place); !errors.Is(err, ErrDecrypt) {
		t.Errorf("Open with another key = %v; want ErrDecrypt", err)
	}
}

func TestOpenRejectsAnotherPlace(t *testing.T) {
	b := mustNew(t, "k")
	sealed := b.Seal([]byte("secret"), place)
	moved := map[string]AAD{
		"tenant": {Tenant: "t2", Table: place.Table, Column: place.Column, Row: place.Row},
		"table":  {Tenant: place.Tenant, Table: "sources", Column: place.Column, Row: place.Row},
		"column": {Tenant: place.Tenant, Table: place.Table, Column: "public_key", Row: place.Row},
		"row":    {Tenant: place.Tenant, Table: place.Table, Column: place.Column, Row: "another-row"},
		"empty":  {},
	}
	for name, ad := range moved {
		if _, err := b.Open(sealed, ad); !errors.Is(err, ErrDecrypt) {
			t.Errorf("Open in another %s = %v; want ErrDecrypt", name, err)
		}
	}
}

func TestAADFieldBoundariesAreUnambiguous(t *testing.T) {
	b := mustNew(t, "k")
	pairs := [][2]AAD{
		{{Tenant: "ab", Table: "c"}, {Tenant: "a", Table: "bc"}},
		{{Table: "x", Column: "yz"}, {Table: "xy", Column: "z"}},
		{{Column: "r", Row: ""}, {Column: "", Row: "r"}},
		{{Tenant: "a\x00\x00\x00\x01b"}, {Tenant: "a", Table: "b"}},
	}
	for _, p := range pairs {
		if bytes.Equal(p[0].encode(), p[1].encode()) {
			t.Errorf("AADs %+v and %+v encode the same", p[0], p[1])
		}
		if _, err := b.Open(b.Seal([]byte("s"), p[0]), p[1]); !errors.Is(err, ErrDecrypt) {
			t.Errorf("sealed for %+v, opened for %+v: %v; want ErrDecrypt", p[0], p[1], err)
		}
	}
}

func TestRotation(t *testing.T) {
	old := mustNew(t, "old key")
	sealedOld := old.Seal([]byte("from before"), place)

	rotated := mustNew(t, "new key", "old key")
	if got, err := rotated.Open(sealedOld, place); err != nil || string(got) != "from before" {
		t.Errorf("rotated box opening an old ciphertext = %q, %v; want the plaintext", got, err)
	}
	sealedNew := rotated.Seal([]byte("from after"), place)
	if _, err := old.Open(sealedNew, place); !errors.Is(err, ErrDecrypt) {
		t.Errorf("old key opened a ciphertext sealed after rotation (%v): Seal must use the new key", err)
	}
	if got, err := mustNew(t, "new key").Open(sealedNew, place); err != nil || string(got) != "from after" {
		t.Errorf("new key alone opening a new ciphertext = %q, %v; want the plaintext", got, err)
	}
	if _, err := mustNew(t, "new key").Open(sealedOld, place); !errors.Is(err, ErrDecrypt) {
		t.Errorf("new key alone opened an old ciphertext: %v; want ErrDecrypt", err)
	}
}

func TestNewRefusesEmptyKeys(t *testing.T) {
	if _, err := New(""); err == nil {
		t.Error(`New("") = nil error; want an error`)
	}
	if _, err := New("k", "old", ""); err == nil {
		t.Error(`New("k", "old", "") = nil error; want an error: an empty key would let anyone forge`)
	}
}

func TestStrings(t *testing.T) {
	b := mustNew(t, "k")
	s := b.SealString("client secret", place)
	if strings.ContainsAny(s, "+/=") {
		t.Errorf("SealString = %q; want unpadded URL-safe base64", s)
	}
	if got, err := b.OpenString(s, place); err != nil || got != "client secret" {
		t.Errorf("OpenString(SealString) = %q, %v; want the plaintext, nil", got, err)
	}
	for _, bad := range []string{"", "!!!!", s + "=", s[:len(s)-1] + "*", "+/+/" + s, s[:len(s)-1]} {
		if got, err := b.OpenString(bad, place); !errors.Is(err, ErrDecrypt) || got != "" {
			t.Errorf("OpenString(%q) = %q, %v; want \"\", ErrDecrypt", bad, got, err)
		}
	}
}

func TestNoncesAreUnique(t *testing.T) {
	b := mustNew(t, "k")
	seen := make(map[[12]byte]bool, 10000)
	for range 10000 {
		sealed := b.Seal(nil, place)
		nonce := [12]byte(sealed[1:13])
		if seen[nonce] {
			t.Fatalf("nonce %x repeated within 10000 seals", nonce)
		}
		seen[nonce] = true
	}
}

func BenchmarkSeal(b *testing.B) {
	box := mustNew(b, "k")
	plaintext := make([]byte, 64) // a client secret or a TOTP seed
	b.SetBytes(int64(len(plaintext)))
	for b.Loop() {
		box.Seal(plaintext, place)
	}
}

func BenchmarkOpen(b *testing.B) {
	box := mustNew(b, "k")
	sealed := box.Seal(make([]byte, 64), place)
	b.SetBytes(64)
	for b.Loop() {
		if _, err := box.Open(sealed, place); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenPreviousKey is the cost during a rotation: one failed
// authentication with the new key, then the old key.
func BenchmarkOpenPreviousKey(b *testing.B) {
	sealed := mustNew(b, "old").Seal(make([]byte, 64), place)
	box := mustNew(b, "new", "old")
	b.SetBytes(64)
	for b.Loop() {
		if _, err := box.Open(sealed, place); err != nil {
			b.Fatal(err)
		}
	}
}
