package jwt

import (
	"errors"
	"fmt"
	"slices"
	"time"

	josejson "github.com/go-jose/go-jose/v4/json"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

// ErrClaims is matched by every claim error below, for callers that only
// need "the token is not acceptable".
var ErrClaims = errors.New("jwt: claims not acceptable")

var (
	ErrExpired        = fmt.Errorf("%w: expired (exp)", ErrClaims)
	ErrNotValidYet    = fmt.Errorf("%w: not valid yet (nbf)", ErrClaims)
	ErrIssuedInFuture = fmt.Errorf("%w: issued in the future (iat)", ErrClaims)
	ErrIssuer         = fmt.Errorf("%w: wrong issuer (iss)", ErrClaims)
	ErrSubject        = fmt.Errorf("%w: wrong subject (sub)", ErrClaims)
	ErrAudience       = fmt.Errorf("%w: wrong audience (aud)", ErrClaims)
	ErrLifetime       = fmt.Errorf("%w: valid for too long (exp)", ErrClaims)
	ErrMissingClaim   = fmt.Errorf("%w: a required claim is missing", ErrClaims)
)

// Audience is "aud": a string or an array of strings on the wire.
type Audience = josejwt.Audience

// NumericDate is a JWT time: seconds since the epoch.
type NumericDate = josejwt.NumericDate

// NewNumericDate converts t (nil for the zero time).
func NewNumericDate(t time.Time) *NumericDate { return josejwt.NewNumericDate(t) }

// Claims are the registered claims of RFC 7519 §4.1.
type Claims struct {
	Issuer    string       `json:"iss,omitempty"`
	Subject   string       `json:"sub,omitempty"`
	Audience  Audience     `json:"aud,omitempty"`
	Expiry    *NumericDate `json:"exp,omitempty"`
	NotBefore *NumericDate `json:"nbf,omitempty"`
	IssuedAt  *NumericDate `json:"iat,omitempty"`
	ID        string       `json:"jti,omitempty"`
}

// ParseClaims decodes the registered claims of a verified payload. Member
// names match case-sensitively (go-jose's JSON fork), so "ISS" cannot stand
// in for "iss" as it would with encoding/json. Other claims are the
// caller's to decode from the same payload.
func ParseClaims(payload []byte) (*Claims, error) {
	var c Claims
	if err := josejson.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: claims are not a JSON object of the right types", ErrMalformed)
	}
	return &c, nil
}

// Expected is what Validate checks. Zero fields are not checked, except
// Time (zero means now).
type Expected struct {
	Issuer  string // "iss" must equal it
	Subject string // "sub" must equal it
	// Audience: "aud" (string or array) must contain at least one of these.
	Audience []string
	Time     time.Time
	// Leeway tolerates clock skew on exp, nbf and iat.
	Leeway time.Duration
	// RequireExpiry refuses tokens without "exp".
	RequireExpiry bool
	// RequireID refuses tokens without "jti".
	RequireID bool
	// MaxLifetime refuses tokens whose exp is further than this from now,
	// which bounds how long a stolen token can be replayed.
	MaxLifetime time.Duration
}

// Validate checks c against e; the error matches ErrClaims and one of the
// specific errors above.
func (c *Claims) Validate(e Expected) error {
	now := e.Time
	if now.IsZero() {
		now = time.Now()
	}
	switch {
	case e.Issuer != "" && c.Issuer != e.Issuer:
		return ErrIssuer
	case e.Subject != "" && c.Subject != e.Subject:
		return ErrSubject
	case len(e.Audience) > 0 && !slices.ContainsFunc(e.Audience, c.Audience.Contains):
		return ErrAudience
	case e.RequireExpiry && c.Expiry == nil:
		return fmt.Errorf("%w: exp", ErrMissingClaim)
	case e.RequireID && c.ID == "":
		return fmt.Errorf("%w: jti", ErrMissingClaim)
	case c.Expiry != nil && !now.Add(-e.Leeway).Before(c.Expiry.Time()):
		return ErrExpired
	case c.NotBefore != nil && now.Add(e.Leeway).Before(c.NotBefore.Time()):
		return ErrNotValidYet
	case c.IssuedAt != nil && now.Add(e.Leeway).Before(c.IssuedAt.Time()):
		return ErrIssuedInFuture
	case e.MaxLifetime > 0 && c.Expiry != nil && c.Expiry.Time().After(now.Add(e.MaxLifetime+e.Leeway)):
		return ErrLifetime
	}
	return nil
}

// ClientAssertion decodes and checks the claims of a client assertion
// (RFC 7523 §3, OpenID Connect Core §9) whose signature Verify or
// VerifyHMAC already checked: iss and sub are the client ID, aud contains
// one of audiences (the token endpoint URL, or the issuer), exp is present
// and not past, and jti is present. The caller records the jti until exp to
// refuse a replay.
func ClientAssertion(payload []byte, clientID string, audiences []string, now time.Time, leeway time.Duration) (*Claims, error) {
	if clientID == "" || len(audiences) == 0 {
		return nil, errors.New("jwt: ClientAssertion needs a client ID and an audience")
	}
	c, err := ParseClaims(payload)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(Expected{Issuer: clientID, Subject: clientID, Audience: audiences, Time: now, Leeway: leeway,
		RequireExpiry: true, RequireID: true}); err != nil {
		return nil, err
	}
	return c, nil
}
