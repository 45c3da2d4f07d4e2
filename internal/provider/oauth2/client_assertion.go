package oauth2

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/internal/crypto"
	"github.com/gatehouse-id/gatehouse/internal/crypto/jwt"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Client assertions (RFC 7523 §2.2) authenticate the client on every
// grant of the token endpoint: client_secret_jwt (HMAC with the client
// secret) and private_key_jwt (a key of the provider's client_jwks).

// assertionTypeJWT is the only client_assertion_type (RFC 7523 §2.2).
const assertionTypeJWT = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// kindAssertion artifacts remember the jti of spent client assertions.
const kindAssertion = "oauth2_client_assertion"

// tokenPath is the token endpoint, which assertions may name as audience.
const tokenPath = "/application/o/token/"

const (
	// assertionLeeway tolerates clock skew between a client and us.
	assertionLeeway = 30 * time.Second
	// maxAssertionLifetime bounds exp: a jti is stored until then, and an
	// assertion that leaks before its first use is a credential until then.
	maxAssertionLifetime = time.Hour
	// maxClientKeys bounds client_jwks: a key rollover needs two.
	maxClientKeys = 10
)

// The assertion algorithms accepted, the ones discovery advertises.
var (
	hmacAlgs = []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512}
	keyAlgs  = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.EdDSA}
)

// authenticateAssertion authenticates a client by a JWT assertion
// (RFC 7523 §2.2, OpenID Connect Core §9): client_secret_jwt or
// private_key_jwt, whichever the token's alg names and the provider allows.
func (s *Service) authenticateAssertion(ctx context.Context, r *http.Request, sc store.Scope) (*client, *Error) {
	f := r.PostForm
	assertion, typ := f.Get("client_assertion"), f.Get("client_assertion_type")
	_, _, basic := r.BasicAuth()
	switch {
	case assertion == "" || typ == "":
		return nil, errInvalidRequest("client_assertion and client_assertion_type must be sent together")
	case basic || f.Get("client_secret") != "":
		return nil, errInvalidRequest("use one client authentication method, not several")
	case typ != assertionTypeJWT:
		return nil, errInvalidClient("client_assertion_type must be " + assertionTypeJWT)
	}
	hdr, sub, ok := peekAssertion(assertion)
	if !ok {
		return nil, errInvalidClient("client_assertion is not a signed JWT in compact form")
	}
	id := f.Get("client_id")
	if id == "" {
		id = sub // client_id is optional with an assertion (RFC 7521 §4.2)
	}
	c, err := s.byClientID(ctx, sc, id)
	if err != nil {
		if !errors.Is(err, errNoClient) {
			return nil, errServer(fmt.Errorf("token: loading client: %w", err))
		}
		return nil, errInvalidClient("client authentication failed")
	}
	payload, e := verifyAssertion(c, assertion, hdr)
	if e != nil {
		return nil, e
	}
	now := s.Now()
	tokenURL, issuer := s.baseURL(r)+tokenPath, s.issuer(r, c)
	claims, err := jwt.ClientAssertion(payload, c.provider.ClientID, []string{tokenURL, issuer}, now, assertionLeeway)
	if err != nil {
		return nil, errInvalidClient(assertionClaimsError(err, payload, now, tokenURL, issuer))
	}
	if claims.Expiry.Time().After(now.Add(maxAssertionLifetime + assertionLeeway)) {
		return nil, errInvalidClient(fmt.Sprintf("the client assertion expires more than %d minutes ahead; assertions must be short-lived",
			int(maxAssertionLifetime.Minutes())))
	}
	if e := s.spendAssertion(ctx, r, sc, c, claims); e != nil {
		return nil, e
	}
	return c, nil
}

// assertionHeader is what an assertion's header says before it is verified.
type assertionHeader struct {
	Alg jose.SignatureAlgorithm `json:"alg"`
	Kid string                  `json:"kid"`
}

// peekAssertion reads the header and sub before the signature is checked,
// only to find the client and how to verify it; the verified token is
// checked again in full.
func peekAssertion(token string) (hdr assertionHeader, sub string, ok bool) {
	if len(token) > jwt.MaxTokenSize {
		return hdr, "", false
	}
	parts := strings.SplitN(token, ".", 4)
	if len(parts) != 3 {
		return hdr, "", false
	}
	var cl struct {
		Sub string `json:"sub"`
	}
	if !decodeSegment(parts[0], &hdr) || !decodeSegment(parts[1], &cl) || hdr.Alg == "" {
		return hdr, "", false
	}
	return hdr, cl.Sub, true
}

func decodeSegment(seg string, v any) bool {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	return err == nil && json.Unmarshal(b, v) == nil
}

// verifyAssertion checks the signature with the client secret (HS*) or
// the provider's client_jwks (the others). The secret is never tried as
// a key for an asymmetric alg nor a public key as an HMAC secret, which
// rules out algorithm confusion.
func verifyAssertion(c *client, token string, h assertionHeader) ([]byte, *Error) {
	alg, method := h.Alg, c.cfg.TokenEndpointAuthMethod
	hmac := slices.Contains(hmacAlgs, alg)
	want := "private_key_jwt"
	if hmac {
		want = "client_secret_jwt"
	}
	switch {
	case c.cfg.Public():
		return nil, errInvalidClient("public clients cannot authenticate with client assertions")
	case !hmac && !slices.Contains(keyAlgs, alg):
		return nil, errInvalidClient(fmt.Sprintf("client assertion alg %.20q is not accepted; use one of %s", alg, algNames()))
	case method != "" && method != want:
		return nil, errInvalidClient(fmt.Sprintf("this client authenticates with %s, not %s (token_endpoint_auth_method)", method, want))
	case !hmac && c.cfg.clientKeys == nil:
		return nil, errInvalidClient("this client has no client_jwks, so private_key_jwt assertions cannot be verified")
	}
	var payload []byte
	var err error
	if hmac {
		payload, _, err = jwt.VerifyHMAC(token, []byte(c.secret), hmacAlgs)
	} else {
		payload, _, err = jwt.Verify(token, c.cfg.clientKeys, keyAlgs)
	}
	switch {
	case err == nil:
		return payload, nil
	case errors.Is(err, jwt.ErrKeyNotFound):
		return nil, errInvalidClient(fmt.Sprintf("no key in client_jwks has the client assertion's kid %.64q", h.Kid))
	case errors.Is(err, jwt.ErrAlgorithm) && !hmac:
		return nil, errInvalidClient(fmt.Sprintf("no key in client_jwks can verify %s (wrong key type, size, use or alg)", alg))
	case errors.Is(err, jwt.ErrMalformed):
		return nil, errInvalidClient("client_assertion is not a signed JWT in compact form")
	}
	return nil, errInvalidClient("the client assertion's signature is invalid")
}

func algNames() string {
	names := make([]string, 0, len(hmacAlgs)+len(keyAlgs))
	for _, a := range slices.Concat(keyAlgs, hmacAlgs) {
		names = append(names, string(a))
	}
	return strings.Join(names, ", ")
}

// assertionClaimsError says which rule of RFC 7523 §3 the claims broke;
// time errors show both clocks, since skew is their usual cause.
func assertionClaimsError(err error, payload []byte, now time.Time, tokenURL, issuer string) string {
	clocks := ""
	if cl, perr := jwt.ParseClaims(payload); perr == nil {
		clocks = fmt.Sprintf(" (server time %d", now.Unix())
		for i, at := range []*jwt.NumericDate{cl.Expiry, cl.NotBefore, cl.IssuedAt} {
			if at != nil {
				clocks += fmt.Sprintf(", %s %d", [...]string{"exp", "nbf", "iat"}[i], at.Time().Unix())
			}
		}
		clocks += ")"
	}
	switch {
	case errors.Is(err, jwt.ErrIssuer), errors.Is(err, jwt.ErrSubject):
		return "the client assertion's iss and sub must both be the client_id"
	case errors.Is(err, jwt.ErrAudience):
		return fmt.Sprintf("the client assertion's aud must contain the token endpoint %s or the issuer %s", tokenURL, issuer)
	case errors.Is(err, jwt.ErrExpired):
		return "the client assertion has expired" + clocks
	case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInFuture):
		return "the client assertion is not valid yet: nbf or iat is in the future" + clocks
	case errors.Is(err, jwt.ErrMissingClaim):
		return "the client assertion must carry exp and jti"
	}
	return "the client assertion's claims are not a JSON object of the registered types"
}

// spendAssertion records the assertion's jti until it expires, so it
// authenticates once (RFC 7523 §3 item 7). The key is unique in the
// store: of two concurrent uses, exactly one insert succeeds.
func (s *Service) spendAssertion(ctx context.Context, r *http.Request, sc store.Scope, c *client, cl *jwt.Claims) *Error {
	a := &store.Artifact{Kind: kindAssertion, KeyHash: crypto.HashToken(c.provider.ID.String() + "/" + cl.ID),
		ProviderID: c.provider.ID, Data: json.RawMessage(`{}`), Expires: cl.Expiry.Time().Add(assertionLeeway)}
	err := sc.Artifacts().Create(ctx, a)
	if errors.Is(err, store.ErrConflict) {
		s.event(r, sc, "suspicious_request", nil, c, map[string]any{"reason": "client assertion replayed"})
		return errInvalidClient("the client assertion was already used; each assertion needs a new jti")
	}
	if err != nil {
		return errServer(fmt.Errorf("token: recording a client assertion: %w", err))
	}
	return nil
}

// parseClientJWKS validates client_jwks for ParseConfig: a JWK Set of
// public signature keys an assertion can be checked with.
func parseClientJWKS(v *store.ValidationError, raw json.RawMessage) jwt.Keys {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		v.Add("client_jwks", "is not a JWK Set ({\"keys\": [...]}): %v", err)
		return nil
	}
	if len(set.Keys) == 0 || len(set.Keys) > maxClientKeys {
		v.Add("client_jwks", "must hold 1 to %d keys", maxClientKeys)
		return nil
	}
	before := len(v.Fields)
	for i, k := range set.Keys {
		name := fmt.Sprintf("key %d", i+1)
		if k.KeyID != "" {
			name += fmt.Sprintf(" (kid %q)", k.KeyID)
		}
		_, secret := k.Key.([]byte)
		pk, isRSA := k.Key.(*rsa.PublicKey)
		switch {
		case secret:
			v.Add("client_jwks", "%s is a shared secret; use client_secret_jwt with the client secret instead", name)
		case !k.Valid() || !k.IsPublic():
			v.Add("client_jwks", "%s must be a valid public key; never paste the private half", name)
		case k.Use != "" && k.Use != "sig":
			v.Add("client_jwks", "%s has use %q; only signature keys (use sig) verify assertions", name, k.Use)
		case k.Algorithm != "" && !slices.Contains(keyAlgs, jose.SignatureAlgorithm(k.Algorithm)):
			v.Add("client_jwks", "%s names alg %q; accepted: %s", name, k.Algorithm, algNames())
		case isRSA && pk.N.BitLen() < jwt.MinRSABits:
			v.Add("client_jwks", "%s is an RSA key of %d bits; at least %d are required", name, pk.N.BitLen(), jwt.MinRSABits)
		}
	}
	if len(v.Fields) > before {
		return nil
	}
	return set.Keys
}
