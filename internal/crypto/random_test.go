package crypto

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func TestTokenLengthAndAlphabet(t *testing.T) {
	for _, n := range []int{-1, 0, 1, 40, 60, 128, 1000} {
		tok := Token(n)
		want := max(n, 0)
		if len(tok) != want {
			t.Errorf("len(Token(%d)) = %d; want %d", n, len(tok), want)
		}
		if i := strings.IndexFunc(tok, func(r rune) bool { return !strings.ContainsRune(tokenAlphabet, r) }); i >= 0 {
			t.Errorf("Token(%d) has %q at %d; want only [A-Za-z0-9]", n, tok[i], i)
		}
	}
	if a, b := Token(40), Token(40); a == b {
		t.Error("two Token(40) calls returned the same value")
	}
}

func TestTokenIsUniform(t *testing.T) {
	const perChar = 10000
	tok := Token(62 * perChar)
	counts := map[rune]int{}
	for _, r := range tok {
		counts[r]++
	}
	if len(counts) != 62 {
		t.Fatalf("%d distinct characters in a %d-character token; want all 62", len(counts), len(tok))
	}
	// Binomial standard deviation here is ~99; a modulo-biased generator
	// would give its first 8 characters ~12,500. Six sigma keeps this from
	// flaking while still catching that bias.
	for r, c := range counts {
		if c < perChar-600 || c > perChar+600 {
			t.Errorf("character %q appeared %d times; want %d ± 600", r, c, perChar)
		}
	}
}

func TestEqual(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"", "", true},
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"abc", "ab", false},
		{"ab", "abc", false},
		{"", "a", false},
		{"a\x00", "a", false},
	}
	for _, tc := range cases {
		if got := Equal(tc.a, tc.b); got != tc.want {
			t.Errorf("Equal(%q, %q) = %v; want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestHashToken(t *testing.T) {
	// FIPS 180-2 test vector for "abc".
	want, _ := hex.DecodeString("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
	if got := HashToken("abc"); !bytes.Equal(got, want) {
		t.Errorf("HashToken(\"abc\") = %x; want %x", got, want)
	}
	if got := HashToken(""); len(got) != sha256.Size {
		t.Errorf("len(HashToken(\"\")) = %d; want %d", len(got), sha256.Size)
	}
}

func BenchmarkToken128(b *testing.B) {
	for b.Loop() {
		Token(128)
	}
}
