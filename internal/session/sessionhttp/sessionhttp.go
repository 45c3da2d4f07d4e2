// Package sessionhttp is the session package's HTTP binding: it reads the
// session cookie from a request and writes the cookies a session or a flow
// hands back (session.Cookie) as Set-Cookie headers. The session package
// itself knows no transport, so that the flow engine can run a session for
// a client that is not a browser; the HTTP front ends (flow pages, the
// API, OAuth2) use the Manager here.
package sessionhttp

import (
	"context"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Manager is a session.Manager as HTTP handlers use it; its other methods
// (Login, Impersonate, End, ...) are the session manager's own.
type Manager struct {
	*session.Manager
}

// New returns the HTTP binding of m.
func New(m *session.Manager) *Manager { return &Manager{Manager: m} }

// Load returns the request's session (session.Manager.Open with the
// cookie r presents). A session an admin impersonates through names them
// in the request's httpx.Info, so that every event the request records
// does.
func (m *Manager) Load(ctx context.Context, r *http.Request, sc store.Scope) (*session.Session, error) {
	secret := ""
	if c, err := r.Cookie(session.CookieName); err == nil {
		secret = c.Value
	}
	s, err := m.Open(ctx, sc, secret, client(ctx, r))
	if err != nil {
		return nil, err
	}
	if imp := s.Impersonator(); imp.Valid {
		httpx.From(ctx).Impersonator = imp
	}
	return s, nil
}

// Save stores the session if it changed and sets its cookie when it was
// issued anew or cleared.
func (m *Manager) Save(ctx context.Context, w http.ResponseWriter, r *http.Request, s *session.Session) error {
	cookies, err := m.Manager.Save(ctx, s, client(ctx, r))
	SetCookies(w, cookies)
	return err
}

func client(ctx context.Context, r *http.Request) session.Client {
	info := httpx.From(ctx)
	return session.Client{IP: info.ClientIP, UserAgent: r.UserAgent(), Secure: info.Secure}
}

// SetCookies adds a Set-Cookie header for each cookie.
func SetCookies(w http.ResponseWriter, cookies []session.Cookie) {
	for _, c := range cookies {
		same := http.SameSiteLaxMode
		if c.SameSite == session.SameSiteStrict {
			same = http.SameSiteStrictMode
		}
		http.SetCookie(w, &http.Cookie{Name: c.Name, Value: c.Value, Path: c.Path, Domain: c.Domain, MaxAge: c.MaxAge,
			HttpOnly: c.HTTPOnly, Secure: c.Secure, SameSite: same})
	}
}
