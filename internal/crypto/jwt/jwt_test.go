package jwt

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Test keys are made once: RSA generation dominates the package's test time.
var testKeys = sync.OnceValue(func() (k struct {
	rsa, rsaOther, rsa1024 *rsa.PrivateKey
	ec                     *ecdsa.PrivateKey
	ec384                  *ecdsa.PrivateKey
	ed                     ed25519.PrivateKey
}) {
	k.rsa, _ = rsa.GenerateKey(rand.Reader, 2048)
	k.rsaOther, _ = rsa.GenerateKey(rand.Reader, 2048)
	k.rsa1024, _ = rsa.GenerateKey(rand.Reader, 1024) //nolint:gosec // the weak key under test
	k.ec, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k.ec384, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, k.ed, _ = ed25519.GenerateKey(rand.Reader)
	return k
})

var hmacSecret = []byte("0123456789abcdef0123456789abcdef-client-secret")

var allAsymmetric = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.ES384, jose.EdDSA}

func claimsNow(now time.Time) map[string]any {
	return map[string]any{"iss": "https://idp.example/", "sub": "client", "aud": "https://idp.example/token",
		"exp": now.Add(time.Minute).Unix(), "iat": now.Unix(), "jti": "j1"}
}

// sign makes a compact JWS with the given key and headers.
func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, payload any, opts *jose.SignerOptions) string {
	t.Helper()
	if opts == nil {
		opts = &jose.SignerOptions{}
	}
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatalf("NewSigner(%s): %v", alg, err)
	}
	tok, err := SignWith(s, payload)
	if err != nil {
		t.Fatalf("sign %s: %v", alg, err)
	}
	return tok
}

func pub(key any, kid, alg string) jose.JSONWebKey {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		key = &k.PublicKey
	case *ecdsa.PrivateKey:
		key = &k.PublicKey
	case ed25519.PrivateKey:
		key = k.Public()
	}
	return jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: alg, Use: "sig"}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestVerifyRoundTrips(t *testing.T) {
	k := testKeys()
	now := time.Now()
	for _, c := range []struct {
		alg jose.SignatureAlgorithm
		key any
	}{
		{jose.RS256, k.rsa}, {jose.PS256, k.rsa}, {jose.ES256, k.ec}, {jose.ES384, k.ec384}, {jose.EdDSA, k.ed},
	} {
		t.Run(string(c.alg), func(t *testing.T) {
			tok := sign(t, c.alg, c.key, "key-1", claimsNow(now), (&jose.SignerOptions{}).WithType("JWT"))
			set := Keys{pub(k.rsaOther, "other", ""), pub(c.key, "key-1", string(c.alg))}
			payload, hdr, err := Verify(tok, set, allAsymmetric)
			if err != nil {
				t.Fatalf("Verify: want success, got %v", err)
			}
			if hdr.KeyID != "key-1" || hdr.Algorithm != string(c.alg) || hdr.ExtraHeaders["typ"] != "JWT" {
				t.Fatalf("header: want kid key-1, alg %s, typ JWT, got %+v", c.alg, hdr)
			}
			cl, err := ParseClaims(payload)
			if err != nil || cl.Subject != "client" || cl.ID != "j1" {
				t.Fatalf("claims: want sub client and jti j1, got %+v, %v", cl, err)
			}
		})
	}
	t.Run("HS256", func(t *testing.T) {
		tok, err := NewHMACSigner(hmacSecret).Sign(claimsNow(now), "JWT")
		if err != nil {
			t.Fatal(err)
		}
		payload, hdr, err := VerifyHMAC(tok, hmacSecret, []jose.SignatureAlgorithm{jose.HS256})
		if err != nil || hdr.Algorithm != "HS256" || !strings.Contains(string(payload), `"jti":"j1"`) {
			t.Fatalf("VerifyHMAC: want the payload back, got %s, %+v, %v", payload, hdr, err)
		}
		// A symmetric key in a key set works too, when HS256 is allowed.
		if _, _, err := Verify(tok, Keys{{Key: hmacSecret}}, []jose.SignatureAlgorithm{jose.HS256}); err != nil {
			t.Fatalf("Verify with an oct key: %v", err)
		}
	})
	t.Run("no kid tries the keys that fit", func(t *testing.T) {
		tok := sign(t, jose.ES256, k.ec, "", claimsNow(now), nil)
		if _, _, err := Verify(tok, Keys{pub(k.rsa, "r", ""), pub(k.ec, "e", "")}, allAsymmetric); err != nil {
			t.Fatalf("Verify without kid: %v", err)
		}
	})
}

func TestVerifyRejects(t *testing.T) {
	k := testKeys()
	now := time.Now()
	rsaSet := Keys{pub(k.rsa, "rsa-1", "")}
	rsaPubPEM := func() []byte {
		der, _ := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}()
	good := sign(t, jose.RS256, k.rsa, "rsa-1", claimsNow(now), nil)
	parts := strings.Split(good, ".")

	multi := func() string {
		s, err := jose.NewMultiSigner([]jose.SigningKey{{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k.rsa, KeyID: "rsa-1"}},
			{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k.rsaOther, KeyID: "evil"}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		jws, err := s.Sign([]byte(`{"sub":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		return jws.FullSerialize()
	}()
	flattened := func() string {
		s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k.rsa, KeyID: "rsa-1"}}, nil)
		jws, _ := s.Sign([]byte(`{"sub":"x"}`))
		return jws.FullSerialize()
	}()

	cases := []struct {
		name    string
		token   string
		keys    KeySet
		allowed []jose.SignatureAlgorithm
		want    error
	}{
		{"HS256 signed with the RSA public key as secret", sign(t, jose.HS256, rsaPubPEM, "rsa-1", claimsNow(now), nil),
			rsaSet, []jose.SignatureAlgorithm{jose.RS256, jose.HS256}, ErrAlgorithm},
		{"HS256 with the modulus as secret", sign(t, jose.HS256, k.rsa.N.Bytes(), "rsa-1", claimsNow(now), nil),
			rsaSet, []jose.SignatureAlgorithm{jose.RS256, jose.HS256}, ErrAlgorithm},
		{"HS256 not allowed at all", sign(t, jose.HS256, rsaPubPEM, "rsa-1", claimsNow(now), nil),
			rsaSet, []jose.SignatureAlgorithm{jose.RS256}, ErrAlgorithm},
		{"alg none", b64(`{"alg":"none","kid":"rsa-1"}`) + "." + parts[1] + ".", rsaSet, allAsymmetric, ErrAlgorithm},
		{"alg none allowed by the caller", b64(`{"alg":"none"}`) + "." + parts[1] + ".", rsaSet,
			[]jose.SignatureAlgorithm{"none"}, ErrAlgorithm},
		{"no algorithm allowed", good, rsaSet, nil, ErrAlgorithm},
		{"unknown kid", sign(t, jose.RS256, k.rsa, "rsa-2", claimsNow(now), nil), rsaSet, allAsymmetric, ErrKeyNotFound},
		{"no keys", good, nil, allAsymmetric, ErrKeyNotFound},
		{"embedded jwk under the victim's kid", sign(t, jose.RS256, k.rsaOther, "rsa-1", claimsNow(now),
			&jose.SignerOptions{EmbedJWK: true}), rsaSet, allAsymmetric, ErrSignature},
		{"embedded jwk without kid", sign(t, jose.RS256, k.rsaOther, "", claimsNow(now),
			&jose.SignerOptions{EmbedJWK: true}), rsaSet, allAsymmetric, ErrSignature},
		{"jku and x5u headers", sign(t, jose.RS256, k.rsaOther, "rsa-1", claimsNow(now), (&jose.SignerOptions{}).
			WithHeader("jku", "https://evil.example/jwks").WithHeader("x5u", "https://evil.example/cert")), rsaSet, allAsymmetric, ErrSignature},
		{"ES256 against an RSA key set", sign(t, jose.ES256, k.ec, "rsa-1", claimsNow(now), nil), rsaSet, allAsymmetric, ErrAlgorithm},
		{"ES256 against a P-384 key", sign(t, jose.ES256, k.ec, "ec", claimsNow(now), nil),
			Keys{pub(k.ec384, "ec", "")}, allAsymmetric, ErrAlgorithm},
		{"EdDSA against an EC key", sign(t, jose.EdDSA, k.ed, "ec", claimsNow(now), nil),
			Keys{pub(k.ec, "ec", "")}, allAsymmetric, ErrAlgorithm},
		{"RS256 against a key pinned to PS256", good, Keys{pub(k.rsa, "rsa-1", "PS256")}, allAsymmetric, ErrAlgorithm},
		{"encryption key", good, Keys{{Key: &k.rsa.PublicKey, KeyID: "rsa-1", Use: "enc"}}, allAsymmetric, ErrAlgorithm},
		{"RSA-1024", sign(t, jose.RS256, k.rsa1024, "weak", claimsNow(now), nil), Keys{pub(k.rsa1024, "weak", "")},
			allAsymmetric, ErrAlgorithm},
		{"wrong key", sign(t, jose.RS256, k.rsaOther, "rsa-1", claimsNow(now), nil), rsaSet, allAsymmetric, ErrSignature},
		{"payload changed", parts[0] + "." + b64(`{"sub":"admin"}`) + "." + parts[2], rsaSet, allAsymmetric, ErrSignature},
		{"signature cut", parts[0] + "." + parts[1] + "." + parts[2][:20], rsaSet, allAsymmetric, ErrSignature},
		{"two signatures (JSON serialization)", multi, rsaSet, allAsymmetric, ErrMalformed},
		{"flattened JSON serialization", flattened, rsaSet, allAsymmetric, ErrMalformed},
		{"crit extension", sign(t, jose.RS256, k.rsa, "rsa-1", claimsNow(now), (&jose.SignerOptions{}).WithCritical("exp")),
			rsaSet, allAsymmetric, ErrMalformed},
		{"unencoded payload (b64 false)", sign(t, jose.RS256, k.rsa, "rsa-1", "x", (&jose.SignerOptions{}).WithBase64(false)),
			rsaSet, allAsymmetric, ErrMalformed},
		{"two parts", parts[0] + "." + parts[1], rsaSet, allAsymmetric, ErrMalformed},
		{"not base64", "!!." + parts[1] + "." + parts[2], rsaSet, allAsymmetric, ErrMalformed},
		{"empty", "", rsaSet, allAsymmetric, ErrMalformed},
		{"oversized", parts[0] + "." + strings.Repeat("A", MaxTokenSize) + "." + parts[2], rsaSet, allAsymmetric, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			payload, _, err := Verify(c.token, c.keys, c.allowed)
			if !errors.Is(err, c.want) || payload != nil {
				t.Fatalf("Verify: want %v and no payload, got %q, %v", c.want, payload, err)
			}
			// Messages name algorithms and kids, never key material.
			for _, secret := range []string{string(rsaPubPEM), k.rsa.N.String(), base64.RawURLEncoding.EncodeToString(k.rsa.N.Bytes())} {
				if strings.Contains(err.Error(), secret[:40]) {
					t.Fatalf("error leaks key material: %v", err)
				}
			}
		})
	}
}

func TestVerifyHMACRejects(t *testing.T) {
	k := testKeys()
	now := time.Now()
	hs := func(secret []byte, alg jose.SignatureAlgorithm) string {
		return sign(t, alg, secret, "", claimsNow(now), nil)
	}
	cases := []struct {
		name    string
		token   string
		secret  []byte
		allowed []jose.SignatureAlgorithm
		want    error
	}{
		{"wrong secret", hs([]byte("another secret that is long enough!!"), jose.HS256), hmacSecret, []jose.SignatureAlgorithm{jose.HS256}, ErrSignature},
		{"RS256 token", sign(t, jose.RS256, k.rsa, "", claimsNow(now), nil), hmacSecret, []jose.SignatureAlgorithm{jose.HS256}, ErrAlgorithm},
		{"asymmetric algorithm allowed", hs(hmacSecret, jose.HS256), hmacSecret, []jose.SignatureAlgorithm{jose.HS256, jose.RS256}, ErrAlgorithm},
		{"HS512 with a 48-byte secret", hs(append(hmacSecret, hmacSecret...), jose.HS512), hmacSecret, []jose.SignatureAlgorithm{jose.HS512}, ErrAlgorithm},
		{"short secret", b64(`{"alg":"HS256"}`) + "." + b64(`{}`) + ".AAAA", []byte("short"), []jose.SignatureAlgorithm{jose.HS256}, ErrAlgorithm},
		{"alg none", b64(`{"alg":"none"}`) + "." + b64(`{}`) + ".", hmacSecret, []jose.SignatureAlgorithm{jose.HS256}, ErrAlgorithm},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := VerifyHMAC(c.token, c.secret, c.allowed); !errors.Is(err, c.want) {
				t.Fatalf("VerifyHMAC: want %v, got %v", c.want, err)
			} else if strings.Contains(err.Error(), string(hmacSecret[:16])) {
				t.Fatalf("error leaks the secret: %v", err)
			}
		})
	}
	if _, err := NewHMACSigner([]byte("short")).Sign(map[string]any{}, ""); !errors.Is(err, ErrShortSecret) {
		t.Fatalf("HMACSigner with a 5-byte secret: want ErrShortSecret, got %v", err)
	}
}

func TestClaimsValidate(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	at := func(d time.Duration) *NumericDate { return NewNumericDate(now.Add(d)) }
	base := func() Claims {
		return Claims{Issuer: "client", Subject: "client", Audience: Audience{"https://idp.example/token"},
			Expiry: at(time.Minute), IssuedAt: at(0), NotBefore: at(0), ID: "j"}
	}
	exp := Expected{Issuer: "client", Subject: "client", Audience: []string{"https://idp.example/token"}, Time: now,
		RequireExpiry: true, RequireID: true}
	cases := []struct {
		name string
		edit func(*Claims, *Expected)
		want error
	}{
		{"valid", func(*Claims, *Expected) {}, nil},
		{"expired", func(c *Claims, _ *Expected) { c.Expiry = at(-time.Second) }, ErrExpired},
		{"expires exactly now", func(c *Claims, _ *Expected) { c.Expiry = at(0) }, ErrExpired},
		{"expired within leeway", func(c *Claims, e *Expected) { c.Expiry, e.Leeway = at(-30*time.Second), time.Minute }, nil},
		{"not yet valid", func(c *Claims, _ *Expected) { c.NotBefore = at(time.Minute) }, ErrNotValidYet},
		{"not yet valid within leeway", func(c *Claims, e *Expected) { c.NotBefore, e.Leeway = at(30*time.Second), time.Minute }, nil},
		{"issued in the future", func(c *Claims, _ *Expected) { c.IssuedAt = at(time.Hour) }, ErrIssuedInFuture},
		{"wrong audience", func(c *Claims, _ *Expected) { c.Audience = Audience{"https://other.example/token"} }, ErrAudience},
		{"no audience", func(c *Claims, _ *Expected) { c.Audience = nil }, ErrAudience},
		{"one of several audiences", func(c *Claims, _ *Expected) { c.Audience = Audience{"x", "https://idp.example/token"} }, nil},
		{"wrong issuer", func(c *Claims, _ *Expected) { c.Issuer = "other" }, ErrIssuer},
		{"wrong subject", func(c *Claims, _ *Expected) { c.Subject = "other" }, ErrSubject},
		{"no exp", func(c *Claims, _ *Expected) { c.Expiry = nil }, ErrMissingClaim},
		{"no jti", func(c *Claims, _ *Expected) { c.ID = "" }, ErrMissingClaim},
		{"lives too long", func(c *Claims, e *Expected) { c.Expiry, e.MaxLifetime = at(time.Hour), 5*time.Minute }, ErrLifetime},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl, e := base(), exp
			c.edit(&cl, &e)
			err := cl.Validate(e)
			if !errors.Is(err, c.want) || (c.want != nil && !errors.Is(err, ErrClaims)) {
				t.Fatalf("Validate: want %v, got %v", c.want, err)
			}
		})
	}
}

func TestClientAssertion(t *testing.T) {
	k := testKeys()
	now := time.Now()
	claims := map[string]any{"iss": "cid", "sub": "cid", "aud": "https://idp.example/application/o/token/",
		"exp": now.Add(time.Minute).Unix(), "jti": "once"}
	tok := sign(t, jose.RS256, k.rsa, "c1", claims, nil)
	payload, _, err := Verify(tok, Keys{pub(k.rsa, "c1", "")}, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	// aud as a single string and as an array both work.
	for _, aud := range []any{"https://idp.example/application/o/token/", []string{"x", "https://idp.example/application/o/token/"}} {
		claims["aud"] = aud
		b, _ := json.Marshal(claims)
		if _, err := ClientAssertion(b, "cid", []string{"https://idp.example/application/o/token/"}, now, 0); err != nil {
			t.Fatalf("ClientAssertion with aud %v: %v", aud, err)
		}
	}
	if _, err := ClientAssertion(payload, "other", []string{"https://idp.example/application/o/token/"}, now, 0); !errors.Is(err, ErrIssuer) {
		t.Fatalf("ClientAssertion for another client: want ErrIssuer, got %v", err)
	}
	if _, err := ClientAssertion(payload, "cid", []string{"https://idp.example/"}, now, 0); !errors.Is(err, ErrAudience) {
		t.Fatalf("ClientAssertion for another audience: want ErrAudience, got %v", err)
	}
	if _, err := ClientAssertion(payload, "cid", []string{"https://idp.example/application/o/token/"}, now.Add(time.Hour), 0); !errors.Is(err, ErrExpired) {
		t.Fatalf("ClientAssertion an hour later: want ErrExpired, got %v", err)
	}
	// Case-sensitive member names: "ISS" is not "iss".
	if c, err := ParseClaims([]byte(`{"ISS":"cid","iss":"x"}`)); err != nil || c.Issuer != "x" {
		t.Fatalf(`ParseClaims must ignore "ISS": got %+v, %v`, c, err)
	}
	for _, bad := range []string{`[]`, `{"exp":"tomorrow"}`, `{"aud":5}`, `not json`} {
		if _, err := ParseClaims([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("ParseClaims(%s): want ErrMalformed, got %v", bad, err)
		}
	}
}
