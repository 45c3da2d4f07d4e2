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

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/flowhttp"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/session/sessionhttp"
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
	sess, user, err := s.browserSession(ctx, r, sc)
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
	if ok, err := s.allowed(ctx, r, sc, c, user); err != nil {
		s.serverError(w, r, err)
		return
	} else if !ok {
		s.event(r, sc, "authorize_application", user, c, map[string]any{"authorized": false, "reason": "policy"})
		s.forbidden(w, r)
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
	return s.authenticationURL(ctx, sc, c, next)
}

// authenticationURL is where c's users log in: the provider's
// authentication flow, else the tenant's default one.
func (s *Service) authenticationURL(ctx context.Context, sc store.Scope, c *client, q url.Values) string {
	if slug := s.flowSlug(ctx, sc, c.cfg.AuthenticationFlow); slug != "" {
		return flow.FlowURL(slug) + "?" + q.Encode()
	}
	return "/flows/-/default/authentication/?" + q.Encode()
}

func (s *Service) flowSlug(ctx context.Context, sc store.Scope, id string) string {
	fid, err := uuid.Parse(id)
	if err != nil {
		return ""
	}
	f, err := sc.Flows().Get(ctx, fid)
	if err != nil {
		return ""
	}
	return f.Slug
}

// sessionUser is the session's active user, or nil.
// browserSession loads the browser's session and its logged-in user (nil
// when nobody is).
func (s *Service) browserSession(ctx context.Context, r *http.Request, sc store.Scope) (*session.Session, *store.User, error) {
	sess, err := s.Sessions.Load(ctx, r, sc)
	if err != nil {
		return nil, nil, err
	}
	user, err := s.sessionUser(ctx, sc, sess)
	return sess, user, err
}

func (s *Service) sessionUser(ctx context.Context, sc store.Scope, sess *session.Session) (*store.User, error) {
	uid := sess.UserID()
	if !uid.Valid {
		return nil, nil
	}
	u, err := sc.Users().Get(ctx, uid.UUID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !u.IsActive) {
		return nil, nil
	}
	return u, err
}

// allowed evaluates the application's bindings; an application without
// bindings is open to every authenticated user (Authentik's default).
func (s *Service) allowed(ctx context.Context, r *http.Request, sc store.Scope, c *client, u *store.User) (bool, error) {
	binds, err := sc.PolicyBindings().ListForTargets(ctx, c.app.ID)
	if err != nil || len(binds) == 0 {
		return err == nil, err
	}
	pols, err := policy.Load(ctx, sc, binds)
	if err != nil {
		return false, err
	}
	req := &policy.Request{Scope: sc, User: u, Context: map[string]any{"application": c.app.Slug},
		HTTP: &policy.HTTPRequest{Method: r.Method, Path: r.URL.Path, Host: r.Host, UserAgent: r.UserAgent()}}
	res := s.Policies.Evaluate(ctx, req, binds, pols, policy.Options{Mode: c.app.PolicyEngineMode, EmptyResult: true})
	return res.Passing, nil
}

// DefaultAuthorizationFlow is used when a provider names none.
const DefaultAuthorizationFlow = "default-provider-authorization-implicit-consent"

// runAuthorization runs the provider's authorization flow with the
// fulfillment stage at its end. When no stage needs the user (implicit
// consent) the browser goes straight back to the client.
func (s *Service) runAuthorization(w http.ResponseWriter, r *http.Request, sc store.Scope, sess *session.Session,
	user *store.User, c *client, ar *authRequest) {
	cfg, _ := json.Marshal(ar)
	var extra []flow.Binding
	if slices.Contains(ar.Prompt, "consent") {
		var err error
		if extra, err = s.promptConsent(r.Context(), sc, user, c); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	extra = append(extra, flow.Binding{Kind: FulfillmentKind, Config: cfg})
	s.runAuthorizationFlow(w, r, sc, sess, user, c, ar.Scopes, extra, func() bool {
		if !slices.Contains(ar.Prompt, "none") {
			return false
		}
		sess.Data.Plan = nil
		sess.MarkDirty()
		s.Sessions.Save(r.Context(), w, r, sess)
		s.redirectError(w, r, ar, oerr(400, "consent_required", "the user must consent first"))
		return true
	})
}

// promptConsentKind checks, after the authorization flow's own stages,
// whether one of them already asked for consent during this request.
const promptConsentKind = "gatehouse_oauth2_prompt_consent"

// alwaysConsent is the consent stage prompt=consent adds.
var alwaysConsent = flow.Binding{Kind: "consent", Config: json.RawMessage(`{"mode":"always_require"}`)}

// promptConsent returns the stages that make prompt=consent ask the user
// exactly once (OIDC Core 3.1.2.1), after the authorization flow's own:
// nothing when the flow has a consent stage that always asks; else a
// consent stage that always asks, preceded by a check that drops it when
// the flow's own consent stage asked (it stored a new consent) instead of
// skipping because the consent was remembered.
func (s *Service) promptConsent(ctx context.Context, sc store.Scope, user *store.User, c *client) ([]flow.Binding, error) {
	fid, err := uuid.Parse(c.cfg.AuthorizationFlow)
	if err == nil {
		binds, err := sc.FlowStageBindings().ListForFlow(ctx, fid)
		if err != nil {
			return nil, err
		}
		ids := make([]uuid.UUID, 0, len(binds))
		for _, b := range binds {
			ids = append(ids, b.StageID)
		}
		stages, err := sc.Stages().GetMany(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, st := range stages {
			var cfg struct{ Mode string }
			if st.Kind == "consent" && json.Unmarshal(st.Config, &cfg) == nil && cfg.Mode == "always_require" {
				return nil, nil
			}
		}
	}
	check := consentCheck{Target: c.app.ID.String()}
	if prev, err := sc.Consents().Get(ctx, user.ID, check.Target, s.Now()); err == nil {
		check.Before = prev.ID.String()
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	cfg, _ := json.Marshal(check)
	return []flow.Binding{{Kind: promptConsentKind, Config: cfg}, alwaysConsent}, nil
}

// consentCheck is the promptConsentKind stage.
type consentCheck struct {
	s      *Service
	Target string `json:"target"`
	// Before is the ID of the consent remembered when the request came.
	Before string `json:"before,omitempty"`
}

func (k *consentCheck) Respond(ctx context.Context, x *flow.Execution, _ flow.Response) flow.Outcome {
	return k.Challenge(ctx, x)
}

func (k *consentCheck) Challenge(ctx context.Context, x *flow.Execution) flow.Outcome {
	u, err := x.PendingUser(ctx)
	if err != nil || u == nil {
		return flow.Next() // the consent stage that follows decides
	}
	cur, err := x.Scope.Consents().Get(ctx, u.ID, k.Target, k.s.Now())
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return flow.Fail(err)
	case cur.ID.String() != k.Before && len(x.Plan.Bindings) > 1 && x.Plan.Bindings[1].Kind == alwaysConsent.Kind:
		// A consent given during this request: do not ask twice.
		x.Plan.Bindings = slices.Delete(x.Plan.Bindings, 1, 2)
	}
	return flow.Next()
}

// runAuthorizationFlow runs the provider's authorization flow for user
// with extra in-memory stages at its end (the fulfillment of an
// authorization request or of a device code), and answers with what the
// flow shows first. When a stage needs the user (consent), waiting may
// answer instead (prompt=none); otherwise the browser continues in the
// flow pages.
func (s *Service) runAuthorizationFlow(w http.ResponseWriter, r *http.Request, sc store.Scope, sess *session.Session,
	user *store.User, c *client, scopes []string, extra []flow.Binding, waiting func() bool) {
	ctx := r.Context()
	slug := s.flowSlug(ctx, sc, c.cfg.AuthorizationFlow)
	if slug == "" {
		slug = DefaultAuthorizationFlow
	}
	var perms []flow.ConsentPermission
	for _, sc := range scopes {
		if d := c.description(sc); d != "" {
			perms = append(perms, flow.ConsentPermission{ID: sc, Name: d})
		}
	}
	fctx := flow.Context{
		flow.KeyApplication: c.app.Slug, flow.KeyApplicationName: c.app.Name, flow.KeyIsSSO: true,
		flow.KeyConsentTarget: c.app.ID.String(), flow.KeyConsentPermissions: perms,
		flow.KeyConsentHeader: c.app.Name + " would like to access:",
	}
	res := s.Executor.Run(ctx, &flow.Request{Slug: slug, Client: flowhttp.Client(r), Scope: sc, Session: sess,
		User: user, Fresh: true, Extra: extra, Context: fctx})
	sessionhttp.SetCookies(w, res.Cookies)
	if rc, ok := res.Challenge.(*flow.RedirectChallenge); ok {
		if err := s.Sessions.Save(ctx, w, r, sess); err != nil {
			s.serverError(w, r, err)
			return
		}
		http.Redirect(w, r, rc.To, http.StatusFound)
		return
	}
	switch res.Challenge.(type) {
	case *flow.AutosubmitChallenge, *flow.AccessDeniedChallenge, *flow.FlowErrorChallenge:
		if err := s.Sessions.Save(ctx, w, r, sess); err != nil {
			s.serverError(w, r, err)
			return
		}
		s.Web.Challenge(w, r, httpx.Lang(r), flowhttp.Status(res), res.Challenge)
		return
	}
	if waiting != nil && waiting() {
		return
	}
	// A stage needs the user (consent): continue in the flow pages.
	if err := s.Sessions.Save(ctx, w, r, sess); err != nil {
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, flow.FlowURL(slug), http.StatusFound)
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
