package jwt

import (
	"encoding/json"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// SignWith serializes claims (a struct or map marshalled as JSON; []byte
// or json.RawMessage used as they are) and signs them with s as a compact
// JWS. internal/crypto/keys signs through here too.
func SignWith(s jose.Signer, claims any) (string, error) {
	var payload []byte
	switch c := claims.(type) {
	case []byte:
		payload = c
	case json.RawMessage:
		payload = c
	default:
		var err error
		if payload, err = json.Marshal(claims); err != nil {
			return "", fmt.Errorf("jwt: encode claims: %w", err)
		}
	}
	jws, err := s.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("jwt: sign: %w", err)
	}
	return jws.CompactSerialize()
}

// HMACSigner signs HS256 tokens with a shared secret: Authentik's tokens
// for providers without a signing key, and client_secret_jwt assertions.
type HMACSigner struct {
	secret []byte
}

// NewHMACSigner signs with secret. RFC 7518 §3.2 requires an HS256 key of
// at least 32 bytes; Sign fails on a shorter one (Authentik's generated
// client secrets have 128 characters).
func NewHMACSigner(secret []byte) *HMACSigner {
	return &HMACSigner{secret: secret}
}

// ErrShortSecret is returned by HMACSigner.Sign for a secret under 32 bytes.
var ErrShortSecret = fmt.Errorf("%w: an HS256 secret needs at least 32 bytes (RFC 7518 §3.2)", ErrAlgorithm)

func (h *HMACSigner) Algorithm() string { return string(jose.HS256) }

// Sign returns claims as a compact HS256 JWS with the typ header when typ
// is not "". HMAC signers are cheap to build, so one is made per call.
func (h *HMACSigner) Sign(claims any, typ string) (string, error) {
	if len(h.secret) < 32 {
		return "", ErrShortSecret
	}
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: h.secret}, opts)
	if err != nil {
		return "", fmt.Errorf("jwt: %w", err)
	}
	return SignWith(s, claims)
}
