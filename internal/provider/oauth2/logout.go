package oauth2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/crypto"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/job"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// OpenID Connect Back-Channel Logout 1.0: when a browser session ends,
// every application that received tokens in it gets a logout token POSTed
// to its logout_uri, from the job queue so a slow or unreachable
// application neither delays the logout nor misses it for a short outage.

// LogoutJobKind is the job that delivers one logout token.
const LogoutJobKind = "oauth2.backchannel_logout"

const (
	// kindLogoutSent marks that an application was told a session ended,
	// so the logout through end-session and the session's end in the same
	// request announce it once.
	kindLogoutSent = "oauth2_logout_sent"
	// backchannelEvent is the events member that makes a JWT a logout
	// token (Back-Channel Logout §2.4).
	backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"
	// logoutTokenTTL is short: the token is fresh for every attempt, and
	// the application checks it the moment it arrives.
	logoutTokenTTL = 2 * time.Minute
	// logoutAttempts spans about half an hour with the queue's backoff,
	// enough for an application's restart or deployment.
	logoutAttempts = 8
)

// logoutClient does not follow redirects: a logout token is for the
// registered URI only.
var logoutClient = &http.Client{Timeout: 10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// EnableBackchannelLogout registers the delivery job on q and returns the
// hook for session.Manager.Ended. Register it before q runs.
func (s *Service) EnableBackchannelLogout(q *job.Queue) func(context.Context, store.Scope, store.Session) {
	q.Register(LogoutJobKind, s.deliverLogout, job.MaxAttempts(logoutAttempts), job.Timeout(30*time.Second))
	s.logoutQueue = q
	return s.sessionEnded
}

// sessionEnded revokes every token issued in the ended session (Authentik
// deletes them with the session) and tells each application that received
// some. A failure is logged: the logout itself has already happened. The
// issuer the applications know is the one the ending request's host
// names (ctx's httpx.Info).
func (s *Service) sessionEnded(ctx context.Context, sc store.Scope, ended store.Session) {
	if !ended.UserID.Valid {
		return
	}
	arts, err := sessionArtifacts(ctx, sc, ended.ID, ended.UserID.UUID)
	if err != nil {
		s.Log.Error("logout: listing the session's tokens", "error", err)
		return
	}
	if _, err := sc.Artifacts().ConsumeSession(ctx, ended.ID, s.Now()); err != nil {
		s.Log.Error("logout: revoking the session's tokens", "error", err)
	}
	u, err := sc.Users().Get(ctx, ended.UserID.UUID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.Log.Error("logout: loading the user", "error", err)
	}
	newest := map[uuid.UUID]time.Time{}
	for _, a := range arts {
		if a.CreatedAt.After(newest[a.ProviderID]) {
			newest[a.ProviderID] = a.CreatedAt
		}
	}
	for pid, at := range newest {
		c, err := s.byProviderID(ctx, sc, pid)
		if errors.Is(err, errNoClient) {
			continue
		}
		if err == nil {
			// The session is gone: the mark only has to outlive this request.
			err = s.notifyLogout(ctx, nil, sc, c, ended.ID, u, at, s.Now().Add(time.Hour))
		}
		if err != nil {
			s.Log.Error("logout: queueing a back-channel logout", "provider", pid, "error", err)
		}
	}
}

// signOut ends one application's part of a session that goes on: its
// grants issued in the session are revoked and it is told over the back
// channel (Authentik's end-session does both for the calling application).
func (s *Service) signOut(ctx context.Context, r *http.Request, sc store.Scope, c *client, sess store.Session, u *store.User) error {
	arts, err := sessionArtifacts(ctx, sc, sess.ID, u.ID)
	if err != nil {
		return err
	}
	grants := map[uuid.UUID]bool{}
	var newest time.Time
	for _, a := range arts {
		if a.ProviderID != c.provider.ID {
			continue
		}
		grants[a.GrantID] = true
		if a.CreatedAt.After(newest) {
			newest = a.CreatedAt
		}
	}
	if len(grants) == 0 {
		return nil // the application has nothing from this session: a logout from elsewhere
	}
	for g := range grants {
		if _, err := sc.Artifacts().ConsumeGrant(ctx, g, s.Now()); err != nil {
			return err
		}
	}
	return s.notifyLogout(ctx, r, sc, c, sess.ID, u, newest, sess.Expires)
}

// sessionArtifacts lists the codes and tokens a user received in a
// session, revoked and expired ones included: an application stays signed
// in with an expired access token.
func sessionArtifacts(ctx context.Context, sc store.Scope, sessionID, userID uuid.UUID) ([]*store.Artifact, error) {
	var out []*store.Artifact
	for _, kind := range []string{kindCode, kindAccess, kindRefresh} {
		list, err := sc.Artifacts().ListForUser(ctx, userID, kind)
		if err != nil {
			return nil, err
		}
		for _, a := range list {
			if a.SessionID.Valid && a.SessionID.UUID == sessionID {
				out = append(out, a)
			}
		}
	}
	return out, nil
}

func (s *Service) byProviderID(ctx context.Context, sc store.Scope, id uuid.UUID) (*client, error) {
	p, err := sc.Providers().Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoClient
	}
	if err != nil {
		return nil, err
	}
	return s.byClientID(ctx, sc, p.ClientID)
}

// logoutMark is the data of a kindLogoutSent artifact.
type logoutMark struct {
	At time.Time `json:"at"`
}

// notifyLogout queues a logout token for c about session sessionID, unless
// c was already told after it received its newest token there (issued at
// newest): a second logout token for the same sign-in would be noise, but
// a sign-in after the last notice needs one of its own. keep is how long
// the mark must last.
func (s *Service) notifyLogout(ctx context.Context, r *http.Request, sc store.Scope, c *client, sessionID uuid.UUID,
	u *store.User, newest, keep time.Time) error {
	q := s.logoutQueue
	if q == nil || c.cfg.BackchannelLogoutURI == "" {
		return nil
	}
	now := s.Now()
	mark, _ := json.Marshal(logoutMark{At: now})
	key := crypto.HashToken("oauth2-logout/" + sc.TenantID().String() + "/" + sessionID.String() + "/" + c.provider.ID.String())
	prev, err := sc.Artifacts().GetByKey(ctx, kindLogoutSent, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		err = sc.Artifacts().Create(ctx, &store.Artifact{Kind: kindLogoutSent, KeyHash: key, ProviderID: c.provider.ID,
			Data: mark, Expires: later(keep, now.Add(time.Hour))})
		if errors.Is(err, store.ErrConflict) {
			return nil // a concurrent logout of the same session got there first
		}
	case err == nil:
		var m logoutMark
		if json.Unmarshal(prev.Data, &m) == nil && !newest.After(m.At) {
			return nil
		}
		err = sc.Artifacts().SetData(ctx, prev.ID, prev.UserID, mark)
	}
	if err != nil {
		return err
	}
	p := logoutJob{ClientID: c.provider.ClientID, ProviderID: c.provider.ID, Issuer: s.issuerAt(ctx, r, c),
		SID: sidFor(uuid.NullUUID{UUID: sessionID, Valid: true})}
	if u != nil {
		p.Subject = subject(c, sc.TenantID(), u)
	}
	_, err = q.EnqueueTx(ctx, sc, LogoutJobKind, p)
	return err
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// issuerAt is the provider's issuer as the request that ended the session
// saw it; without a request, the configured external URL or the host.
func (s *Service) issuerAt(ctx context.Context, r *http.Request, c *client) string {
	if r == nil {
		r = (&http.Request{Host: httpx.From(ctx).Host}).WithContext(ctx)
	}
	return s.issuer(r, c)
}

// logoutJob is what the job needs to build the token when it runs; iss
// and sub are fixed when the session ends, since the request (host) and
// the user may be gone by then.
type logoutJob struct {
	ClientID   string    `json:"client_id"`
	ProviderID uuid.UUID `json:"provider_id"`
	Issuer     string    `json:"iss"`
	Subject    string    `json:"sub,omitempty"`
	SID        string    `json:"sid"`
}

// deliverLogout POSTs a freshly signed logout token (Back-Channel Logout
// §2.5). Network errors and 5xx, 408, 429 are retried; any other answer
// means the application refused the token, which retrying cannot change.
func (s *Service) deliverLogout(ctx context.Context, j *job.Job) error {
	var p logoutJob
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return job.Permanent(fmt.Errorf("oauth2: unreadable back-channel logout job: %w", err))
	}
	if !j.TenantID.Valid {
		return job.Permanent(errors.New("oauth2: back-channel logout job without a tenant"))
	}
	sc := s.Store.Scope(j.TenantID.UUID)
	c, err := s.byClientID(ctx, sc, p.ClientID)
	if errors.Is(err, errNoClient) || (err == nil && c.provider.ID != p.ProviderID) {
		return nil // the provider was deleted: nobody is left to tell
	}
	if err != nil {
		return err
	}
	uri := c.cfg.BackchannelLogoutURI
	if uri == "" {
		return nil // an admin turned it off since
	}
	tok, err := s.logoutToken(ctx, sc, c, p)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri,
		strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return job.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := logoutClient.Do(req)
	if err != nil {
		return fmt.Errorf("oauth2: back-channel logout to %s: %w", uri, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code >= 500, code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return fmt.Errorf("oauth2: back-channel logout to %s: HTTP %d", uri, code)
	default:
		return job.Permanent(fmt.Errorf("oauth2: back-channel logout to %s refused: HTTP %d", uri, code))
	}
}

// logoutToken signs the logout token of Back-Channel Logout §2.4: no
// nonce, which would let it pass for an ID token.
func (s *Service) logoutToken(ctx context.Context, sc store.Scope, c *client, p logoutJob) (string, error) {
	sign, err := s.signer(ctx, sc, c)
	if err != nil {
		return "", err
	}
	now := s.Now().UTC()
	claims := map[string]any{"iss": p.Issuer, "aud": c.provider.ClientID, "iat": now.Unix(),
		"exp": now.Add(logoutTokenTTL).Unix(), "jti": randomToken(16), "sid": p.SID,
		"events": map[string]any{backchannelEvent: map[string]any{}}}
	if p.Subject != "" {
		claims["sub"] = p.Subject
	}
	return sign.Sign(claims, "logout+jwt")
}

// isHTTPURL reports an absolute http(s) URL with a host.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
