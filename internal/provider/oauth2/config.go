package oauth2

import (
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/crypto/jwt"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Kind is the store kind of OAuth2/OpenID Connect providers.
const Kind = "oauth2"

// RedirectURI is one registered redirect, as Authentik stores them.
type RedirectURI struct {
	MatchingMode string `json:"matching_mode"` // strict (default) | regex
	URL          string `json:"url"`
	Type         string `json:"redirect_uri_type,omitempty"` // authorization (default) | logout
	re           *regexp.Regexp
}

// Config is an OAuth2 provider's settings, with Authentik's field names.
type Config struct {
	ClientType              string        `json:"client_type"` // confidential | public
	RedirectURIs            []RedirectURI `json:"redirect_uris"`
	AuthorizationFlow       string        `json:"authorization_flow"`
	InvalidationFlow        string        `json:"invalidation_flow"`
	AuthenticationFlow      string        `json:"authentication_flow,omitempty"`
	SigningKey              string        `json:"signing_key,omitempty"`
	AccessCodeValidity      string        `json:"access_code_validity"`
	AccessTokenValidity     string        `json:"access_token_validity"`
	RefreshTokenValidity    string        `json:"refresh_token_validity"`
	RefreshTokenThreshold   string        `json:"refresh_token_threshold"`
	SubMode                 string        `json:"sub_mode"`
	IncludeClaimsInIDToken  bool          `json:"include_claims_in_id_token"`
	IssuerMode              string        `json:"issuer_mode"`
	PropertyMappings        []string      `json:"property_mappings"`
	BackchannelLogoutURI    string        `json:"logout_uri,omitempty"`
	TokenEndpointAuthMethod string        `json:"token_endpoint_auth_method,omitempty"`
	// ClientJWKS is the client's public keys as an inline JWK Set, for
	// private_key_jwt client assertions (RFC 7523). Inline only: fetching
	// a URL would make every token request depend on the client's server.
	ClientJWKS json.RawMessage `json:"client_jwks,omitempty"`

	codeTTL, accessTTL, refreshTTL, refreshThreshold time.Duration
	clientKeys                                       jwt.Keys
}

// Defaults are Authentik's.
func Defaults() Config {
	return Config{ClientType: "confidential", AccessCodeValidity: "minutes=1", AccessTokenValidity: "hours=1",
		RefreshTokenValidity: "days=30", RefreshTokenThreshold: "seconds=0", SubMode: "hashed_user_id",
		IncludeClaimsInIDToken: true, IssuerMode: "per_provider"}
}

var (
	subModes    = []string{"hashed_user_id", "user_id", "user_uuid", "user_username", "user_email", "user_upn"}
	badSchemes  = []string{"javascript", "data", "vbscript"}
	authMethods = []string{"", "client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"}
)

// ParseConfig decodes and validates stored settings, reporting every
// problem with Authentik's field names.
func ParseConfig(raw json.RawMessage) (*Config, error) {
	c := Defaults()
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &c); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return nil, store.Invalid(te.Field, "must be %s, not %s", te.Type, te.Value)
			}
			return nil, store.Invalid("config", "is not valid JSON")
		}
	}
	v := &store.ValidationError{}
	if c.ClientType != "confidential" && c.ClientType != "public" {
		v.Add("client_type", "must be confidential or public")
	}
	for i := range c.RedirectURIs {
		r := &c.RedirectURIs[i]
		if r.MatchingMode == "" {
			r.MatchingMode = "strict"
		}
		if r.Type == "" {
			r.Type = "authorization"
		}
		switch {
		case r.Type != "authorization" && r.Type != "logout":
			v.Add("redirect_uris", "redirect_uri_type must be authorization or logout")
		case r.MatchingMode == "regex":
			re, err := regexp.Compile("^(?:" + r.URL + ")$")
			if err != nil || len(r.URL) > 2048 {
				v.Add("redirect_uris", "%q is not a valid regular expression", r.URL)
			}
			r.re = re
		case r.MatchingMode == "strict":
			if msg := checkRedirect(r.URL); msg != "" {
				v.Add("redirect_uris", "%q %s", r.URL, msg)
			}
		default:
			v.Add("redirect_uris", "matching_mode must be strict or regex")
		}
	}
	for _, f := range []string{c.AuthorizationFlow, c.InvalidationFlow, c.AuthenticationFlow, c.SigningKey} {
		if f != "" {
			if _, err := uuid.Parse(f); err != nil {
				v.Add("config", "%q is not an ID", f)
			}
		}
	}
	for _, m := range c.PropertyMappings {
		if _, err := uuid.Parse(m); err != nil {
			v.Add("property_mappings", "%q is not an ID", m)
		}
	}
	durations := []struct {
		field string
		s     string
		dst   *time.Duration
		min   time.Duration
	}{
		{"access_code_validity", c.AccessCodeValidity, &c.codeTTL, time.Second},
		{"access_token_validity", c.AccessTokenValidity, &c.accessTTL, time.Second},
		{"refresh_token_validity", c.RefreshTokenValidity, &c.refreshTTL, time.Second},
		{"refresh_token_threshold", c.RefreshTokenThreshold, &c.refreshThreshold, 0},
	}
	for _, d := range durations {
		dur, err := config.ParseDuration(d.s)
		if err != nil || dur < d.min || dur > 5*366*24*time.Hour {
			v.Add(d.field, "%q is not a valid duration (e.g. minutes=1, hours=1, days=30)", d.s)
			continue
		}
		*d.dst = dur
	}
	if !slices.Contains(subModes, c.SubMode) {
		v.Add("sub_mode", "must be one of %s", strings.Join(subModes, ", "))
	}
	if c.IssuerMode != "per_provider" && c.IssuerMode != "global" {
		v.Add("issuer_mode", "must be per_provider or global")
	}
	if u := c.BackchannelLogoutURI; u != "" && (checkRedirect(u) != "" || !isHTTPURL(u)) {
		// The server POSTs logout tokens here, so an app scheme
		// (myapp://) that is fine for redirects cannot be.
		v.Add("logout_uri", "must be an absolute http(s) URL without a fragment")
	}
	if !slices.Contains(authMethods, c.TokenEndpointAuthMethod) {
		v.Add("token_endpoint_auth_method", "must be one of %s", strings.Join(authMethods[1:], ", "))
	}
	c.clientKeys = parseClientJWKS(v, c.ClientJWKS)
	switch {
	case c.clientKeys != nil && c.Public():
		v.Add("client_jwks", "only confidential clients authenticate with keys; set client_type to confidential")
	case c.clientKeys == nil && c.TokenEndpointAuthMethod == "private_key_jwt":
		v.Add("client_jwks", "is required when token_endpoint_auth_method is private_key_jwt")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return &c, nil
}

// checkRedirect refuses URLs a browser must never be sent to.
func checkRedirect(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || s == "" || len(s) > 2048:
		return "is not a URL"
	case u.Scheme == "" || slices.Contains(badSchemes, strings.ToLower(u.Scheme)):
		return "must be an absolute URL with a safe scheme"
	case u.Fragment != "":
		return "must not have a fragment"
	}
	return ""
}

// MatchRedirect reports whether uri is registered for typ ("authorization"
// or "logout"): exact string equality for strict entries, a full match for
// regex ones (opt-in), as Authentik. Dangerous schemes never match.
func (c *Config) MatchRedirect(uri, typ string) bool {
	if checkRedirect(uri) != "" {
		return false
	}
	for _, r := range c.RedirectURIs {
		if r.Type != typ {
			continue
		}
		if r.MatchingMode == "regex" {
			if r.re != nil && r.re.MatchString(uri) {
				return true
			}
		} else if r.URL == uri {
			return true
		}
	}
	return false
}

// Public reports whether the client cannot keep a secret.
func (c *Config) Public() bool { return c.ClientType == "public" }
