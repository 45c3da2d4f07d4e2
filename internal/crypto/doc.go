// Package crypto holds Gatehouse's key material and the small primitives the
// rest of the code shares: random tokens in Authentik's shape, constant-time
// comparison, and hashing of high-entropy secrets for storage. Password
// hashing lives in the password subpackage and encryption of secrets at rest
// in secretbox.
//
// Dependencies, and why: only the standard library here. crypto/rand is the
// operating system's CSPRNG (and cannot fail since Go 1.24); crypto/sha256
// and crypto/subtle are FIPS-validated and need nothing third-party.
package crypto
