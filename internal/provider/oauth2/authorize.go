package oauth2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/provider"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

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
