package jwt

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	jose "github.com/go-jose/go-jose/v4"
)

// The errors of Verify and VerifyHMAC; test them with errors.Is. Messages
// may name an algorithm or a kid, never key material.
var (
	// ErrMalformed: not a compact JWS, bad encoding, a JSON serialization,
	// more than one signature or an unsupported "crit" extension.
	ErrMalformed = errors.New("jwt: malformed token")
	// ErrAlgorithm: the header's alg is not allowed, or no key with the
	// token's kid is of the family that alg needs.
	ErrAlgorithm = errors.New("jwt: algorithm not acceptable")
	// ErrKeyNotFound: no key has the token's kid.
	ErrKeyNotFound = errors.New("jwt: no key for this token")
	// ErrSignature: the signature does not verify with any fitting key.
	ErrSignature = errors.New("jwt: invalid signature")
)

// MaxTokenSize bounds what is parsed at all: ID tokens with many groups
// stay far below it, and nothing larger is base64-decoded.
const MaxTokenSize = 64 << 10

// maxCandidates bounds signature checks per token when several keys fit
// (no kid, or a kid shared by several keys), so a token cannot make us run
// a verification per key of a large set.
const maxCandidates = 4

// KeySet finds the keys that may have signed a token.
type KeySet interface {
	// LookupKeys returns the keys with this kid; for "" (a token without
	// kid) every key, of which Verify tries the few that fit the alg.
	LookupKeys(kid string) []jose.JSONWebKey
}

// Keys is a KeySet over a fixed list, such as a parsed JWKS:
// jwt.Keys(set.Keys).
type Keys []jose.JSONWebKey

func (ks Keys) LookupKeys(kid string) []jose.JSONWebKey {
	if kid == "" {
		return ks
	}
	var out []jose.JSONWebKey
	for _, k := range ks {
		if k.KeyID == kid {
			out = append(out, k)
		}
	}
	return out
}

// Verify checks token's signature with a key of keys and returns the
// payload and the (protected) header. allowed lists the algorithms the
// caller accepts; it must not be empty or contain "none".
//
// Verify does not look at claims: decode the payload with ParseClaims and
// check it with Claims.Validate.
func Verify(token string, keys KeySet, allowed []jose.SignatureAlgorithm) ([]byte, jose.Header, error) {
	if keys == nil {
		return nil, jose.Header{}, ErrKeyNotFound
	}
	jws, hdr, alg, err := parse(token, allowed)
	if err != nil {
		return nil, jose.Header{}, err
	}
	candidates := keys.LookupKeys(hdr.KeyID)
	if len(candidates) == 0 {
		return nil, jose.Header{}, fmt.Errorf("%w: kid %.64q", ErrKeyNotFound, hdr.KeyID)
	}
	payload, err := verifyWith(jws, alg, candidates)
	if err != nil {
		return nil, jose.Header{}, err
	}
	return payload, hdr, nil
}

// VerifyHMAC checks an HS256/384/512 token made with a shared secret, as
// client_secret_jwt client assertions are (RFC 7523, OIDC Core §9). allowed
// may hold only HS algorithms; the token's kid is ignored, since the
// secret is the only key. A secret shorter than the hash output cannot
// verify (RFC 7518 §3.2) and is reported as ErrAlgorithm.
func VerifyHMAC(token string, secret []byte, allowed []jose.SignatureAlgorithm) ([]byte, jose.Header, error) {
	for _, a := range allowed {
		if family(a) != "oct" {
			return nil, jose.Header{}, fmt.Errorf("%w: VerifyHMAC allows only HS algorithms, not %q", ErrAlgorithm, a)
		}
	}
	jws, hdr, alg, err := parse(token, allowed)
	if err != nil {
		return nil, jose.Header{}, err
	}
	payload, err := verifyWith(jws, alg, []jose.JSONWebKey{{Key: secret}})
	if err != nil {
		return nil, jose.Header{}, err
	}
	return payload, hdr, nil
}

// parse checks the serialization and the header before any key is touched.
func parse(token string, allowed []jose.SignatureAlgorithm) (*jose.JSONWebSignature, jose.Header, jose.SignatureAlgorithm, error) {
	var none jose.Header
	if len(allowed) == 0 {
		return nil, none, "", fmt.Errorf("%w: no algorithm allowed", ErrAlgorithm)
	}
	for _, a := range allowed {
		if family(a) == "" {
			return nil, none, "", fmt.Errorf("%w: %q cannot be allowed", ErrAlgorithm, a)
		}
	}
	if len(token) > MaxTokenSize {
		return nil, none, "", fmt.Errorf("%w: larger than %d bytes", ErrMalformed, MaxTokenSize)
	}
	if strings.HasPrefix(strings.TrimLeftFunc(token, unicode.IsSpace), "{") {
		// The JSON serialization is the only one that can carry several
		// signatures (or unprotected headers); a JWT is compact (RFC 7519 §7.2).
		return nil, none, "", fmt.Errorf("%w: JSON serialization is not a JWT", ErrMalformed)
	}
	jws, err := jose.ParseSignedCompact(token, allowed)
	if err != nil {
		if _, ok := errors.AsType[*jose.ErrUnexpectedSignatureAlgorithm](err); ok {
			return nil, none, "", fmt.Errorf("%w: %v", ErrAlgorithm, err)
		}
		return nil, none, "", ErrMalformed
	}
	if len(jws.Signatures) != 1 {
		return nil, none, "", fmt.Errorf("%w: want exactly one signature", ErrMalformed)
	}
	hdr := jws.Signatures[0].Protected
	for _, ext := range []jose.HeaderKey{"crit", "b64"} {
		if _, ok := hdr.ExtraHeaders[ext]; ok {
			return nil, none, "", fmt.Errorf("%w: header %q is not supported", ErrMalformed, ext)
		}
	}
	alg := jose.SignatureAlgorithm(hdr.Algorithm)
	if !slices.Contains(allowed, alg) { // ParseSignedCompact checked it too
		return nil, none, "", ErrAlgorithm
	}
	return jws, hdr, alg, nil
}

// verifyWith tries the candidates that fit alg, at most maxCandidates.
func verifyWith(jws *jose.JSONWebSignature, alg jose.SignatureAlgorithm, candidates []jose.JSONWebKey) ([]byte, error) {
	tried := 0
	for _, k := range candidates {
		key := fit(k, alg)
		if key == nil {
			continue
		}
		if tried++; tried > maxCandidates {
			break
		}
		if payload, err := jws.Verify(key); err == nil {
			return payload, nil
		}
	}
	if tried == 0 {
		return nil, fmt.Errorf("%w: no usable %s key for %s", ErrAlgorithm, family(alg), alg)
	}
	return nil, ErrSignature
}

// family is the key type an algorithm needs: "RSA", "EC", "OKP" or "oct";
// "" for algorithms that are never acceptable (none, unknown names).
func family(alg jose.SignatureAlgorithm) string {
	switch alg {
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		return "RSA"
	case jose.ES256, jose.ES384, jose.ES512:
		return "EC"
	case jose.EdDSA:
		return "OKP"
	case jose.HS256, jose.HS384, jose.HS512:
		return "oct"
	}
	return ""
}

// MinRSABits is the smallest RSA modulus accepted for signing or verifying.
const MinRSABits = 2048

// fit returns the public (or, for HS, secret) key that can verify alg, or
// nil when k is of another family, is pinned to another alg, is not a
// signature key or is too weak.
func fit(k jose.JSONWebKey, alg jose.SignatureAlgorithm) any {
	if k.Use != "" && k.Use != "sig" {
		return nil
	}
	if k.Algorithm != "" && k.Algorithm != string(alg) {
		return nil
	}
	key := k.Key
	switch pk := key.(type) {
	case *rsa.PrivateKey:
		key = &pk.PublicKey
	case *ecdsa.PrivateKey:
		key = &pk.PublicKey
	case ed25519.PrivateKey:
		key = pk.Public()
	}
	switch family(alg) {
	case "RSA":
		if pk, ok := key.(*rsa.PublicKey); ok && pk != nil && pk.N != nil && pk.N.BitLen() >= MinRSABits {
			return pk
		}
	case "EC":
		want := map[jose.SignatureAlgorithm]elliptic.Curve{jose.ES256: elliptic.P256(), jose.ES384: elliptic.P384(),
			jose.ES512: elliptic.P521()}[alg]
		if pk, ok := key.(*ecdsa.PublicKey); ok && pk != nil && pk.Curve == want {
			return pk
		}
	case "OKP":
		if pk, ok := key.(ed25519.PublicKey); ok && len(pk) == ed25519.PublicKeySize {
			return pk
		}
	case "oct":
		need := map[jose.SignatureAlgorithm]int{jose.HS256: 32, jose.HS384: 48, jose.HS512: 64}[alg]
		if secret, ok := key.([]byte); ok && len(secret) >= need {
			return secret
		}
	}
	return nil
}
