package oauth2

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/crypto/jwt"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/flowhttp"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/provider"
	"github.com/gatehouse-id/gatehouse/internal/session/sessionhttp"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// DefaultInvalidationFlow runs at end-session for providers that name no
// invalidation flow, as Authentik falls back to the brand's.
const DefaultInvalidationFlow = "default-invalidation-flow"

// endSession is /application/o/<slug>/end-session/ (OpenID Connect
// RP-Initiated Logout 1.0), as Authentik does it: the application's tokens
// from this browser session are revoked and the application is told over
// the back channel, then the provider's invalidation flow runs. Whether the
// user is also logged out of Gatehouse is the flow's decision: a user_logout
// stage ends the session, and every other application it signed in to
// hears of it. The flow ends at post_logout_redirect_uri when one was
// given.
func (s *Service) endSession(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			s.logoutRefused(w, r, http.StatusBadRequest, "The logout request is malformed.")
			return
		}
		q = r.PostForm
		if s.repostWithCookie(w, r, q) {
			return
		}
	}
	ctx := r.Context()
	sc := s.scope(r)
	c, err := s.bySlug(ctx, sc, r.PathValue("slug"))
	if err != nil {
		if !errors.Is(err, errNoClient) {
			s.serverError(w, r, err)
			return
		}
		s.logoutRefused(w, r, http.StatusNotFound, "There is no OpenID Connect application at this address.")
		return
	}
	target, hintSID, problem := s.checkLogout(ctx, r, sc, c, q)
	if problem != "" {
		s.logoutRefused(w, r, http.StatusBadRequest, problem)
		return
	}
	sess, user, err := s.BrowserSession(ctx, r, sc)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if user != nil {
		if err := s.signOut(ctx, r, sc, c, sess.Record(), user); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	slug := provider.FlowSlug(ctx, sc, c.cfg.InvalidationFlow)
	if slug == "" {
		slug = DefaultInvalidationFlow
	}
	fctx := flow.Context{flow.KeyApplication: c.app.Slug, flow.KeyApplicationName: c.app.Name}
	// RP-Initiated Logout §2: the ID token of this very session shows
	// the application speaks for it; without one, a user_logout stage
	// asks the user, as the specification requires.
	fctx[flow.KeyLogoutRequest] = flow.LogoutUnverified
	if user != nil && hintSID != "" && hintSID == sidFor(uuid.NullUUID{UUID: sess.ID(), Valid: true}) {
		fctx[flow.KeyLogoutRequest] = flow.LogoutVerified
	}
	if target != "" {
		// The flow's end goes to the redirect key unchecked: target has
		// been matched against the registered logout URIs above.
		fctx[flow.KeyRedirect] = target
	}
	res := s.Executor.Run(ctx, &flow.Request{Slug: slug, Client: flowhttp.Client(r), Scope: sc, Session: sess,
		User: user, Fresh: true, Context: fctx})
	sessionhttp.SetCookies(w, res.Cookies)
	// Saving ends the session when the flow logged the user out, which
	// notifies the other applications of this session.
	if err := s.Sessions.Save(ctx, w, r, sess); err != nil {
		s.serverError(w, r, err)
		return
	}
	switch ch := res.Challenge.(type) {
	case *flow.RedirectChallenge:
		http.Redirect(w, r, ch.To, http.StatusFound)
	case *flow.AutosubmitChallenge, *flow.AccessDeniedChallenge, *flow.FlowErrorChallenge:
		s.Web.Challenge(w, r, httpx.Lang(r), flowhttp.Status(res), res.Challenge)
	default:
		// A stage of the invalidation flow needs the user: the plan is in
		// the session, the flow pages continue it.
		http.Redirect(w, r, flow.FlowURL(slug), http.StatusFound)
	}
}

// checkLogout validates the request's parameters and returns where the
// logout ends (post_logout_redirect_uri with state) and the sid of a valid
// id_token_hint, or the problem to show.
// Problems are shown, never redirected: an unverified target must not
// receive the browser (RP-Initiated Logout §3).
func (s *Service) checkLogout(ctx context.Context, r *http.Request, sc store.Scope, c *client, q url.Values) (target, sid, problem string) {
	if id := q.Get("client_id"); id != "" && id != c.provider.ClientID {
		return "", "", "The client_id does not belong to this application."
	}
	hint := q.Get("id_token_hint")
	if hint != "" {
		var ok bool
		if sid, ok = s.validIDTokenHint(ctx, r, sc, c, hint); !ok {
			return "", "", "The id_token_hint was not issued to this application by this server."
		}
	}
	uri, state := q.Get("post_logout_redirect_uri"), q.Get("state")
	switch {
	case uri == "":
		return "", sid, ""
	case !c.cfg.MatchRedirect(uri, "logout"):
		return "", "", "The post_logout_redirect_uri is not registered for this application. " +
			"An administrator must add it to the provider's redirect URIs with the type logout."
	case hint == "":
		// The spec forbids redirecting without a means to confirm the
		// request comes from the application; the ID token is that means.
		return "", "", "A post_logout_redirect_uri is only followed when the request also carries an id_token_hint."
	case len(state) > 2048:
		return "", "", "The state parameter is too long."
	}
	if state == "" {
		return uri, sid, ""
	}
	// Appended rather than re-encoded, so the registered URI reaches the
	// application byte for byte.
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
	}
	return uri + sep + "state=" + url.QueryEscape(state), sid, ""
}

// validIDTokenHint checks that hint is an ID token this provider issued to
// this client: signed by a key of its JWKS (so tokens of a rotated, still
// published key count) or, for providers without a key, with the client
// secret. Expiry is not checked: RP-Initiated Logout §2 accepts an expired
// ID token, the common case after an hour-long session. It returns the
// token's sid (the session it was issued in; "" if it has none).
func (s *Service) validIDTokenHint(ctx context.Context, r *http.Request, sc store.Scope, c *client, hint string) (string, bool) {
	var payload []byte
	var err error
	if c.cfg.SigningKey == "" {
		if c.secret == "" {
			return "", false
		}
		payload, _, err = jwt.VerifyHMAC(hint, []byte(c.secret), []jose.SignatureAlgorithm{jose.HS256})
	} else {
		var keys jwt.Keys
		if keys, err = s.publishedKeys(ctx, sc, c); err != nil {
			s.logError(ctx, "end-session: loading the provider's keys", err)
			return "", false
		}
		payload, _, err = jwt.Verify(hint, keys, keyAlgorithms(keys))
	}
	if err != nil {
		return "", false
	}
	cl, err := jwt.ParseClaims(payload)
	if err != nil || cl.Issuer != s.issuer(r, c) || !cl.Audience.Contains(c.provider.ClientID) {
		return "", false
	}
	var sid struct {
		SID string `json:"sid"`
	}
	json.Unmarshal(payload, &sid)
	return sid.SID, true
}

func (s *Service) publishedKeys(ctx context.Context, sc store.Scope, c *client) (jwt.Keys, error) {
	raw, err := s.Keys.JWKS(ctx, sc, mustID(c.cfg.SigningKey))
	if err != nil {
		return nil, err
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, err
	}
	return jwt.Keys(set.Keys), nil
}

// keyAlgorithms are the algorithms the published keys declare: a token
// naming any other is refused before its signature is looked at.
func keyAlgorithms(keys jwt.Keys) []jose.SignatureAlgorithm {
	var out []jose.SignatureAlgorithm
	for _, k := range keys {
		if a := jose.SignatureAlgorithm(k.Algorithm); a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// logoutRefused shows why a logout request was not followed.
func (s *Service) logoutRefused(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.Web.Challenge(w, r, httpx.Lang(r), status, &flow.AccessDeniedChallenge{
		Base: flow.Base{Component: flow.ComponentAccessDenied}, ErrorMessage: msg})
}
