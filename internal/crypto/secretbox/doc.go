// Package secretbox encrypts secrets stored in the database (signing keys,
// client secrets of federation sources, TOTP seeds) with keys derived from
// the operator's secret key, so a database dump alone does not reveal them.
//
// Each ciphertext is bound to its place by AEAD additional data (tenant,
// table, column, row), as Authelia's encryption_aad.go does: a value copied
// into another row, column or tenant does not decrypt, so someone able to
// write to the database cannot move a secret where it would be used against
// its owner. Several keys decrypt and the first encrypts, as in Hydra's
// aead/aesgcm.go, so the secret key can be rotated without downtime.
//
// Dependencies, and why: only the standard library. crypto/hkdf (Go 1.24)
// turns an operator's passphrase-like secret key into a uniform AES key;
// crypto/aes with crypto/cipher's GCM is the AEAD every platform accelerates
// and the standard library ships FIPS-validated. No third-party code touches
// the keys.
package secretbox
