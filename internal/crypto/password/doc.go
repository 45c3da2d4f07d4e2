// Package password hashes new passwords with argon2id and verifies the
// hashes that users bring with them from Authentik, Django and bcrypt-based
// systems, so that an import never forces a password reset.
//
// Every hash that is not argon2id with the hasher's own parameters verifies
// with rehash=true: the caller stores [Hasher.Hash] of the password it just
// checked, and the account moves to the current scheme on its next login.
//
// Hashes are data an attacker may control (an import file, a compromised
// database row), so their cost parameters are bounded before any work is
// done, in the spirit of Ory Kratos' hash_limits.go: a row claiming
// m=4 GiB must be refused, not obeyed. The work itself is bounded too: a
// semaphore caps how many hashes run at once, because argon2 allocates its
// whole memory cost per call and a login storm must queue, not swap.
//
// Dependencies, and why:
//
//   - golang.org/x/crypto/argon2: the Go team's argon2 (RFC 9106), the only
//     maintained pure-Go implementation; argon2id is OWASP's first choice.
//   - golang.org/x/crypto/bcrypt: the Go team's bcrypt, compatible with
//     OpenBSD and crypt_blowfish hashes ($2a$, $2b$, $2y$), and comparing in
//     constant time.
//   - crypto/pbkdf2 (standard library since Go 1.24): Django's and therefore
//     Authentik's default hasher is PBKDF2-HMAC-SHA256; the standard library
//     version is FIPS-validated and needs no third-party code.
//
// Django's hash strings are not modular crypt format, so the few lines that
// split them are ours rather than a passlib-style dependency.
package password
