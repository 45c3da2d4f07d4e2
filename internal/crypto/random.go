package crypto

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
)

const tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// tokenAccept is the largest multiple of 62 that fits in a byte: bytes at or
// above it are drawn again, because 256 % 62 != 0 and folding them in with a
// modulo would make the first 8 characters 25% more likely than the rest.
const tokenAccept = 256 - 256%len(tokenAlphabet) // 248

// Token returns n characters drawn uniformly from [A-Za-z0-9] with
// crypto/rand, the shape Authentik gives client IDs (40), client secrets
// (128) and API tokens (60), so values copied from Authentik look the same.
// Each character carries log2(62) ≈ 5.95 bits. Token returns "" when n <= 0.
func Token(n int) string {
	if n <= 0 {
		return ""
	}
	out := make([]byte, 0, n)
	// 248/256 of bytes are kept, so n plus an eighth almost always suffices.
	buf := make([]byte, n+n/8+8)
	for len(out) < n {
		rand.Read(buf)
		for _, b := range buf {
			if int(b) >= tokenAccept {
				continue
			}
			out = append(out, tokenAlphabet[int(b)%len(tokenAlphabet)])
			if len(out) == n {
				break
			}
		}
	}
	return string(out)
}

// Equal reports whether a and b are equal in time that depends on their
// lengths only, never on their contents. subtle.ConstantTimeCompare alone
// returns early on a length mismatch; comparing fixed-size digests instead
// removes that branch, and equal SHA-256 digests mean equal strings.
func Equal(a, b string) bool {
	da, db := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(da[:], db[:]) == 1
}

// HashToken returns the SHA-256 of a token or session secret, the form in
// which such secrets are stored so that a database dump does not hand out
// live credentials. Tokens from [Token] carry hundreds of random bits, so a
// fast unsalted hash cannot be brute-forced; never use it for passwords.
func HashToken(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}
