package oauth2

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

// authRequest is a validated authorization request.
type authRequest struct {
	ClientID            string   `json:"client_id"`
	RedirectURI         string   `json:"redirect_uri"`
	ResponseType        string   `json:"response_type"`
	ResponseMode        string   `json:"response_mode"`
	State               string   `json:"state,omitempty"`
	Nonce               string   `json:"nonce,omitempty"`
	Scopes              []string `json:"scopes"`
	Prompt              []string `json:"prompt,omitempty"`
	MaxAge              int      `json:"max_age"` // -1: none
	LoginHint           string   `json:"login_hint,omitempty"`
	CodeChallenge       string   `json:"code_challenge,omitempty"`
	CodeChallengeMethod string   `json:"code_challenge_method,omitempty"`
}

var responseTypes = []string{"code", "id_token", "id_token token", "code token", "code id_token", "code id_token token"}

// normalizeResponseType sorts the words, so "token id_token" equals "id_token token".
func normalizeResponseType(rt string) string {
	f := strings.Fields(rt)
	order := map[string]int{"code": 0, "id_token": 1, "token": 2}
	slices.SortFunc(f, func(a, b string) int { return order[a] - order[b] })
	return strings.Join(f, " ")
}

func (a *authRequest) has(rt string) bool { return slices.Contains(strings.Fields(a.ResponseType), rt) }

// parseAuthRequest validates params for client c. A *refusal means the
// redirect URI is not trusted; an *Error may be sent to the redirect URI.
func parseAuthRequest(q url.Values, c *client) (*authRequest, *refusal, *Error) {
	ar := &authRequest{ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), State: q.Get("state"),
		Nonce: q.Get("nonce"), LoginHint: q.Get("login_hint"), CodeChallenge: q.Get("code_challenge"),
		CodeChallengeMethod: q.Get("code_challenge_method"), MaxAge: -1}
	if ar.RedirectURI == "" {
		// OAuth allows leaving it out when exactly one is registered.
		var regs []string
		for _, r := range c.cfg.RedirectURIs {
			if r.Type == "authorization" && r.MatchingMode == "strict" {
				regs = append(regs, r.URL)
			}
		}
		if len(regs) != 1 {
			return nil, &refusal{code: i18n.OAuth2RedirectURIMissing, args: map[string]any{"app": c.app.Name},
				detail: map[string]any{"expected": c.cfg.redirectURLs("authorization")}}, nil
		}
		ar.RedirectURI = regs[0]
	}
	if !c.cfg.MatchRedirect(ar.RedirectURI, "authorization") {
		return nil, &refusal{code: i18n.OAuth2RedirectURIWrong,
			args:   map[string]any{"app": c.app.Name, "redirect_uri": clip(ar.RedirectURI)},
			detail: map[string]any{"expected": c.cfg.redirectURLs("authorization")}}, nil
	}
	ar.ResponseType = normalizeResponseType(q.Get("response_type"))
	if !slices.Contains(responseTypes, ar.ResponseType) {
		return ar, nil, oerr(400, "unsupported_response_type", "response_type must be one of: "+strings.Join(responseTypes, ", "))
	}
	ar.ResponseMode = q.Get("response_mode")
	switch ar.ResponseMode {
	case "":
		ar.ResponseMode = "query"
		if ar.ResponseType != "code" {
			ar.ResponseMode = "fragment"
		}
	case "query":
		if ar.ResponseType != "code" {
			// Tokens never go in a query string (they end up in logs).
			ar.ResponseMode = "fragment"
			return ar, nil, errInvalidRequest("response_mode query is not allowed when tokens are returned")
		}
	case "fragment", "form_post":
	default:
		return ar, nil, errInvalidRequest("response_mode must be query, fragment or form_post")
	}
	if q.Get("request") != "" {
		return ar, nil, oerr(400, "request_not_supported", "request objects are not supported")
	}
	for _, f := range []string{ar.State, ar.Nonce, ar.LoginHint, ar.CodeChallenge} {
		if len(f) > 2048 {
			return ar, nil, errInvalidRequest("a parameter is too long")
		}
	}
	ar.Scopes = c.grantable(strings.Fields(q.Get("scope")))
	// Implicit and hybrid flows, "code token" included, are OpenID
	// Connect's (Core 3.2, 3.3), as in Authentik: without openid, "code
	// token" would be the plain OAuth implicit grant this endpoint does not
	// offer.
	if ar.ResponseType != "code" && !slices.Contains(ar.Scopes, "openid") {
		return ar, nil, errInvalidScope("the openid scope is required for implicit and hybrid flows")
	}
	if ar.has("id_token") && ar.Nonce == "" {
		return ar, nil, errInvalidRequest("nonce is required when an id_token is returned from the authorization endpoint")
	}
	if !ar.has("code") {
		ar.Scopes = slices.DeleteFunc(ar.Scopes, func(s string) bool { return s == "offline_access" })
	}
	ar.Prompt = strings.Fields(q.Get("prompt"))
	for _, p := range ar.Prompt {
		if !slices.Contains([]string{"none", "login", "consent", "select_account"}, p) {
			return ar, nil, errInvalidRequest("prompt must be none, login, consent or select_account")
		}
	}
	if slices.Contains(ar.Prompt, "none") && len(ar.Prompt) > 1 {
		return ar, nil, errInvalidRequest("prompt=none cannot be combined with other values")
	}
	if s := q.Get("max_age"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return ar, nil, errInvalidRequest("max_age must be a non-negative integer")
		}
		ar.MaxAge = n
	}
	switch ar.CodeChallengeMethod {
	case "":
		if ar.CodeChallenge != "" {
			ar.CodeChallengeMethod = "plain"
		}
	case "S256", "plain":
		if ar.CodeChallenge == "" {
			return ar, nil, errInvalidRequest("code_challenge_method without code_challenge")
		}
	default:
		return ar, nil, errInvalidRequest("code_challenge_method must be S256 or plain")
	}
	if ar.CodeChallenge != "" && (len(ar.CodeChallenge) < 43 || len(ar.CodeChallenge) > 128) {
		return ar, nil, errInvalidRequest("code_challenge must be 43 to 128 characters")
	}
	// plain PKCE protects nothing against an attacker who can read the
	// authorization request, which is the threat for public clients.
	if c.cfg.Public() && ar.has("code") && ar.CodeChallengeMethod != "S256" {
		return ar, nil, errInvalidRequest("public clients must use PKCE (code_challenge with S256)")
	}
	return ar, nil, nil
}
