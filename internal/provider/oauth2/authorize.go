package oauth2

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/provider"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
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

// redirectWith sends params to the client by the request's response mode.
func (s *Service) redirectWith(w http.ResponseWriter, r *http.Request, ar *authRequest, params url.Values) {
	if ar.State != "" {
		params.Set("state", ar.State)
	}
	to, form := responseTarget(ar, params)
	if form != nil {
		s.writeFormPost(w, r, ar.RedirectURI, form)
		return
	}
	http.Redirect(w, r, to, http.StatusFound)
}

// responseTarget builds the redirect (query or fragment) or, for
// form_post, the form fields.
func responseTarget(ar *authRequest, params url.Values) (string, map[string]string) {
	if ar.ResponseMode == "form_post" {
		form := map[string]string{}
		for k := range params {
			form[k] = params.Get(k)
		}
		return "", form
	}
	u, _ := url.Parse(ar.RedirectURI)
	if ar.ResponseMode == "fragment" {
		u.Fragment = ""
		return u.String() + "#" + params.Encode(), nil
	}
	q := u.Query()
	for k := range params {
		q.Set(k, params.Get(k))
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (s *Service) redirectError(w http.ResponseWriter, r *http.Request, ar *authRequest, e *Error) {
	p := url.Values{"error": {e.Code}}
	if e.Description != "" {
		p.Set("error_description", e.Description)
	}
	s.redirectWith(w, r, ar, p)
}

// authorize is /application/o/authorize/.
func (s *Service) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sc := s.scope(r)
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			s.refuse(w, r, sc, nil, &refusal{code: i18n.OAuth2RequestMalformed, detail: map[string]any{"error": err.Error()}})
			return
		}
		q = r.PostForm
		if s.repostWithCookie(w, r, q) {
			return
		}
	}
	if uri := q.Get("request_uri"); uri != "" {
		pushed, rf, err := s.pushedRequest(ctx, sc, uri, q.Get("client_id"))
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if rf != nil {
			s.refuse(w, r, sc, nil, rf)
			return
		}
		q = pushed
	}
	c, err := s.byClientID(ctx, sc, q.Get("client_id"))
	switch {
	case errors.Is(err, errNoClient) && q.Get("client_id") == "":
		s.refuse(w, r, sc, nil, &refusal{code: i18n.OAuth2ClientIDMissing})
		return
	case errors.Is(err, errNoClient):
		s.refuse(w, r, sc, nil, &refusal{code: i18n.OAuth2UnknownClient, args: map[string]any{"client_id": clip(q.Get("client_id"))}})
		return
	case err != nil:
		s.serverError(w, r, fmt.Errorf("authorize: loading the client: %w", err))
		return
	}
	ar, rf, oe := parseAuthRequest(q, c)
	if rf != nil {
		s.refuse(w, r, sc, c, rf)
		return
	}
	if oe != nil {
		s.redirectError(w, r, ar, oe)
		return
	}
	sess, user, err := s.BrowserSession(ctx, r, sc)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	stale := user != nil && ar.MaxAge >= 0 && s.Now().Sub(sess.Data.AuthTime) > time.Duration(ar.MaxAge)*time.Second
	if user == nil || slices.Contains(ar.Prompt, "login") || stale {
		if slices.Contains(ar.Prompt, "none") {
			s.redirectError(w, r, ar, oerr(400, "login_required", "the user is not logged in"))
			return
		}
		// prompt=login and max_age ask for a new login; the current one
		// stands until it happens (session.Manager.Login replaces it), so
		// that a link cannot log anyone out.
		if user != nil {
			sess.Data.NeedsLogin = true
			sess.MarkDirty()
		}
		if err := s.Sessions.Save(ctx, w, r, sess); err != nil {
			s.serverError(w, r, err)
			return
		}
		http.Redirect(w, r, s.loginURL(ctx, sc, c, ar), http.StatusFound)
		return
	}
	if ok, err := s.Allowed(ctx, sc, c.app, user, provider.PolicyHTTP(r)); err != nil {
		s.serverError(w, r, err)
		return
	} else if !ok {
		s.event(r, sc, "authorize_application", user, c, map[string]any{"authorized": false, "reason": "policy"})
		s.Forbidden(w, r)
		return
	}
	s.runAuthorization(w, r, sc, sess, user, c, ar)
}

// loginURL sends the browser to log in and come back to this request
// (without prompt=login, which would otherwise ask again forever).
func (s *Service) loginURL(ctx context.Context, sc store.Scope, c *client, ar *authRequest) string {
	back := url.Values{"client_id": {ar.ClientID}, "redirect_uri": {ar.RedirectURI}, "response_type": {ar.ResponseType},
		"response_mode": {ar.ResponseMode}, "scope": {strings.Join(ar.Scopes, " ")}}
	for k, v := range map[string]string{"state": ar.State, "nonce": ar.Nonce, "code_challenge": ar.CodeChallenge,
		"code_challenge_method": ar.CodeChallengeMethod, "login_hint": ar.LoginHint} {
		if v != "" {
			back.Set(k, v)
		}
	}
	if p := slices.DeleteFunc(slices.Clone(ar.Prompt), func(p string) bool { return p == "login" }); len(p) > 0 {
		back.Set("prompt", strings.Join(p, " "))
	}
	next := url.Values{"next": {"/application/o/authorize/?" + back.Encode()}}
	if ar.LoginHint != "" {
		next.Set("login_hint", ar.LoginHint)
	}
	return provider.AuthenticationURL(ctx, sc, c.cfg.AuthenticationFlow, next)
}

// runAuthorization runs the provider's authorization flow with the
// fulfillment stage at its end. When no stage needs the user (implicit
// consent) the browser goes straight back to the client.
func (s *Service) runAuthorization(w http.ResponseWriter, r *http.Request, sc store.Scope, sess *session.Session,
	user *store.User, c *client, ar *authRequest) {
	cfg, _ := json.Marshal(ar)
	err := s.Authorize(w, r, sc, sess, user, provider.Authorization{App: c.app, Flow: c.cfg.AuthorizationFlow,
		Permissions: c.permissions(ar.Scopes), ForceConsent: slices.Contains(ar.Prompt, "consent"),
		Fulfil: flow.Binding{Kind: FulfillmentKind, Config: cfg},
		Waiting: func() bool {
			if !slices.Contains(ar.Prompt, "none") {
				return false
			}
			sess.Data.Plan = nil
			sess.MarkDirty()
			s.Sessions.Save(r.Context(), w, r, sess)
			s.redirectError(w, r, ar, oerr(400, "consent_required", "the user must consent first"))
			return true
		}})
	if err != nil {
		s.serverError(w, r, err)
	}
}

// codeData is stored with an authorization code.
type codeData struct {
	RedirectURI string    `json:"redirect_uri"`
	Scopes      []string  `json:"scopes"`
	Nonce       string    `json:"nonce,omitempty"`
	Challenge   string    `json:"code_challenge,omitempty"`
	Method      string    `json:"code_challenge_method,omitempty"`
	AuthTime    time.Time `json:"auth_time,omitzero"`
	AMR         []string  `json:"amr,omitempty"`
}

// verifyPKCE checks a code_verifier against the stored challenge
// (RFC 7636), in constant time.
func verifyPKCE(d *codeData, verifier string) *Error {
	if d.Challenge == "" {
		if verifier != "" {
			// A verifier without a challenge is a downgrade attempt.
			return errInvalidGrant("code_verifier sent but no code_challenge was given")
		}
		return nil
	}
	if verifier == "" {
		return errInvalidGrant("code_verifier is required")
	}
	if len(verifier) < 43 || len(verifier) > 128 {
		return errInvalidGrant("code_verifier must be 43 to 128 characters")
	}
	got := verifier
	if d.Method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		got = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(d.Challenge)) != 1 {
		return errInvalidGrant("code_verifier does not match the code_challenge")
	}
	return nil
}
