package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrDecrypt is the only error Open returns. Truncation, an unknown version,
// a wrong key, tampering and wrong additional data are deliberately
// indistinguishable, so callers cannot become an oracle for any of them.
var ErrDecrypt = errors.New("secretbox: cannot decrypt")

const (
	version   = 1
	nonceSize = 12 // GCM's standard nonce
	tagSize   = 16
	overhead  = 1 + nonceSize + tagSize

	// hkdfInfo names the purpose, so the same secret key can feed other
	// derivations (cookie keys, say) without ever producing this key.
	hkdfInfo = "gatehouse secretbox v1"
)

// Box seals and opens secrets. It is safe for concurrent use.
type Box struct {
	// aeads[0] seals; all of them open, newest first.
	aeads []cipher.AEAD
}

// AAD is where a ciphertext lives. Open succeeds only with the AAD given to
// Seal, so a ciphertext copied to another row, column, table or tenant fails.
type AAD struct {
	Tenant, Table, Column, Row string
}

// New derives one AES-256-GCM key per secret key with HKDF-SHA256. The
// first key seals; every key opens, so an operator rotates the secret key by
// setting the new one and listing the old one in previous until every value
// has been rewritten. Empty keys are refused: a key anyone can guess would let
// anyone forge ciphertexts that open.
func New(secretKey string, previous ...string) (*Box, error) {
	keys := append([]string{secretKey}, previous...)
	b := &Box{aeads: make([]cipher.AEAD, 0, len(keys))}
	for i, k := range keys {
		if k == "" {
			if i == 0 {
				return nil, errors.New("secretbox: secret key is empty")
			}
			return nil, fmt.Errorf("secretbox: previous secret key %d is empty", i)
		}
		aead, err := deriveAEAD(k)
		if err != nil {
			return nil, err
		}
		b.aeads = append(b.aeads, aead)
	}
	return b, nil
}

// deriveAEAD runs once per key in New, never per call: key schedules are
// cheap but not free, and nothing in a request path should re-derive keys.
func deriveAEAD(secretKey string) (cipher.AEAD, error) {
	// No salt: the secret key is the only input, and it must map to the same
	// AES key on every replica and after every restart.
	key, err := hkdf.Key(sha256.New, []byte(secretKey), nil, hkdfInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("secretbox: derive key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	return cipher.NewGCM(block)
}

// Seal encrypts plaintext for the place ad. The result is
// version (1 byte, 1) || random nonce (12 bytes) || GCM ciphertext and tag.
//
// Random 96-bit nonces are safe for about 2^32 seals per key (NIST SP
// 800-38D); rotating the secret key starts a fresh count.
func (b *Box) Seal(plaintext []byte, ad AAD) []byte {
	out := make([]byte, 1+nonceSize, overhead+len(plaintext))
	out[0] = version
	rand.Read(out[1:])
	return b.aeads[0].Seal(out, out[1:], plaintext, ad.encode())
}

// Open decrypts a value sealed by Seal for the same place with any of the
// box's keys. Every failure is ErrDecrypt.
func (b *Box) Open(ciphertext []byte, ad AAD) ([]byte, error) {
	if len(ciphertext) < overhead || ciphertext[0] != version {
		return nil, ErrDecrypt
	}
	nonce, sealed := ciphertext[1:1+nonceSize], ciphertext[1+nonceSize:]
	additional := ad.encode()
	for _, aead := range b.aeads {
		if plaintext, err := aead.Open(nil, nonce, sealed, additional); err == nil {
			return plaintext, nil
		}
	}
	return nil, ErrDecrypt
}

// SealString is Seal for TEXT columns: unpadded URL-safe base64.
func (b *Box) SealString(plaintext string, ad AAD) string {
	return base64.RawURLEncoding.EncodeToString(b.Seal([]byte(plaintext), ad))
}

// OpenString opens what SealString wrote. Invalid base64 is ErrDecrypt too.
func (b *Box) OpenString(s string, ad AAD) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", ErrDecrypt
	}
	plaintext, err := b.Open(raw, ad)
	if err != nil {
		return "", err
	}
	return string(plaintext), nil
}

// encode length-prefixes every field, so ("ab", "c") and ("a", "bc") differ;
// the leading version byte binds the AAD to the format too.
func (ad AAD) encode() []byte {
	fields := [...]string{ad.Tenant, ad.Table, ad.Column, ad.Row}
	n := 1
	for _, f := range fields {
		n += 4 + len(f)
	}
	out := make([]byte, 0, n)
	out = append(out, version)
	for _, f := range fields {
		out = binary.BigEndian.AppendUint32(out, uint32(len(f)))
		out = append(out, f...)
	}
	return out
}
