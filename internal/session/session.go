// Package session keeps browser sessions server-side. The cookie carries a
// random secret; the database keeps only its hash and the session's data
// (login facts, the current flow plan, the CSRF secret), so any replica can
// serve the next request and a stolen database hands out no sessions.
//
// The package knows no transport: Open takes the secret the client
// presented and Save returns the cookies to send as values (Cookie), so
// the flow engine, which runs sessions for HTTP and non-HTTP clients
// alike, does not depend on net/http. The HTTP front ends read and write
// the cookie through session/sessionhttp.
package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/crypto"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// CookieName is the session cookie.
const CookieName = "gatehouse_session"

// Data is what a session remembers between requests.
type Data struct {
	CSRF string `json:"csrf,omitempty"`
	// Plan is the current flow plan, encoded by the flow package.
	Plan json.RawMessage `json:"plan,omitempty"`
	// AuthTime and AMR describe the login (OIDC auth_time and amr).
	AuthTime time.Time `json:"auth_time,omitzero"`
	AMR      []string  `json:"amr,omitempty"`
	// NeedsLogin is set when an application asked for a new login
	// (prompt=login, max_age): the authentication flow then runs as for a
	// visitor, and the login it ends with clears it.
	NeedsLogin bool `json:"needs_login,omitempty"`
	// Values holds other packages' small state (e.g. a pending OAuth request).
	Values map[string]json.RawMessage `json:"values,omitempty"`
}

// Session is one browser's session for the length of a request.
type Session struct {
	rec   *store.Session
	Data  Data
	sc    store.Scope
	isNew bool
	dirty bool
	// secret is set when the cookie must be (re)issued.
	secret string
	// ttl is the cookie's max age; 0 means a browser-session cookie.
	ttl time.Duration
	// end makes Save delete the session instead (logout from a flow).
	end bool
	// replaces is the logged-in session a new login replaces; Save ends it.
	replaces *store.Session
}

// EndOnSave makes the next Save end the session and clear its cookie.
func (s *Session) EndOnSave() { s.end = true }

// ID is the session's public identifier (for listing and revoking).
func (s *Session) ID() uuid.UUID { return s.rec.ID }

// UserID is the logged-in user, if any.
func (s *Session) UserID() uuid.NullUUID { return s.rec.UserID }

// Authenticated reports whether a user is logged in.
func (s *Session) Authenticated() bool { return s.rec.UserID.Valid }

// Record exposes the stored row (IP, user agent, times) read-only.
func (s *Session) Record() store.Session { return *s.rec }

// MarkDirty asks Save to write Data.
func (s *Session) MarkDirty() { s.dirty = true }

// Manager loads and saves sessions.
type Manager struct {
	// UnauthenticatedAge bounds sessions that never logged in.
	UnauthenticatedAge time.Duration
	// DefaultAge is how long a logged-in session lives when the login
	// stage says "until the browser closes" (the cookie then has no
	// Max-Age, but the server still forgets it after this long idle).
	DefaultAge   time.Duration
	CookieDomain string
	Now          func() time.Time
	// Ended, when set, is told about every stored session that a logout
	// deletes, with the context of the request that ended it (the host it
	// came for names the issuer): protocol packages, which this package
	// must not import, notify the applications the session signed in to
	// (OpenID back-channel logout). It runs in the transaction that
	// deletes the session, and sc is that transaction's scope: what it
	// writes and the jobs it queues (job.Queue.EnqueueTx) are stored with
	// the deletion or not at all.
	Ended func(ctx context.Context, sc store.Scope, ended store.Session)
}

// Client is what a session records of the client that uses it.
type Client struct {
	IP, UserAgent string
	// Secure is true when the client reached us over TLS: the session
	// cookie is Secure then.
	Secure bool
}

// NewManager returns a manager with Authentik-like defaults.
func NewManager(unauthenticatedAge time.Duration, cookieDomain string) *Manager {
	if unauthenticatedAge <= 0 {
		unauthenticatedAge = 24 * time.Hour
	}
	return &Manager{UnauthenticatedAge: unauthenticatedAge, DefaultAge: 24 * time.Hour, CookieDomain: cookieDomain, Now: time.Now}
}

// Open returns the session whose cookie holds secret ("" when the client
// presented none), or a new one that is stored only if something is saved
// in it. Sessions are per tenant: a cookie presented to another tenant's
// host finds nothing.
func (m *Manager) Open(ctx context.Context, sc store.Scope, secret string, c Client) (*Session, error) {
	if secret != "" && len(secret) <= 128 {
		rec, err := sc.Sessions().GetByKeyHash(ctx, crypto.HashToken(secret))
		switch {
		case err == nil && m.Now().Before(rec.Expires):
			s := &Session{rec: rec, sc: sc}
			if len(rec.Data) > 0 {
				if err := json.Unmarshal(rec.Data, &s.Data); err != nil {
					// Unreadable state is dropped, not fatal: the user
					// starts the flow again.
					s.Data, s.dirty = Data{}, true
				}
			}
			return s, nil
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	now := m.Now()
	return &Session{
		rec: &store.Session{ID: uuid.Must(uuid.NewV7()), IP: c.IP, UserAgent: c.UserAgent,
			CreatedAt: now, LastSeen: now, Expires: now.Add(m.UnauthenticatedAge)},
		sc: sc, isNew: true,
	}, nil
}

// touchEvery limits last-seen writes to one per session per minute.
const touchEvery = time.Minute

// Save stores the session if it changed and returns the cookies to send
// the client: the session cookie when it is (re)issued or cleared. They
// are to be sent even with an error, which may come after the cookie was
// cleared.
func (m *Manager) Save(ctx context.Context, s *Session, c Client) ([]Cookie, error) {
	now := m.Now()
	if s.end {
		return m.logout(ctx, s, c.Secure)
	}
	if s.isNew && !s.dirty {
		return nil, nil
	}
	if s.replaces != nil {
		if err := m.end(ctx, s.sc, *s.replaces); err != nil {
			return nil, err
		}
		s.replaces = nil
	}
	touch := now.Sub(s.rec.LastSeen) > touchEvery
	if !s.dirty && !touch && s.secret == "" {
		return nil, nil
	}
	s.rec.LastSeen, s.rec.IP = now, c.IP
	if c.UserAgent != "" {
		s.rec.UserAgent = c.UserAgent
	}
	if s.rec.UserID.Valid && s.ttl == 0 && touch {
		// Sliding expiry for browser-session logins.
		s.rec.Expires = now.Add(m.DefaultAge)
	}
	b, err := json.Marshal(s.Data)
	if err != nil {
		return nil, err
	}
	s.rec.Data = b
	if s.isNew && s.secret == "" {
		s.secret = newSecret()
	}
	if s.secret != "" {
		s.rec.KeyHash = crypto.HashToken(s.secret)
	}
	if s.isNew {
		err = s.sc.Sessions().Create(ctx, s.rec)
	} else {
		err = s.sc.Sessions().Save(ctx, s.rec)
	}
	if err != nil {
		return nil, err
	}
	var out []Cookie
	if s.secret != "" {
		out = append(out, m.cookie(c.Secure, s.secret, s.ttl))
	}
	s.isNew, s.dirty, s.secret = false, false, ""
	return out, nil
}

func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// cookie is the session cookie: SameSite=Lax over HTTP and HTTPS alike
// (Authentik uses None over HTTPS), so a page of another site can neither
// send it with a form POST nor load our pages with it in a frame or
// behind an image. The links and redirects that bring a user here from an
// application are top-level GETs, which Lax lets through; the cross-site
// POSTs that need the session (OIDC authorize and end-session by POST)
// are re-posted from our own page (oauth2's repostWithCookie). An empty
// value clears it.
func (m *Manager) cookie(secure bool, value string, ttl time.Duration) Cookie {
	c := Cookie{Name: CookieName, Value: value, Path: "/", Domain: m.CookieDomain, HTTPOnly: true,
		Secure: secure, SameSite: SameSiteLax}
	if ttl > 0 {
		c.MaxAge = int(ttl.Seconds())
	}
	if value == "" {
		c.MaxAge = -1
	}
	return c
}

// Login binds the session to user and issues a new secret, so a session ID
// planted before login (fixation) is worthless after it. ttl 0 means until
// the browser closes.
//
// Logging in over a logged-in session (prompt=login, max_age, or as
// someone else) starts a new session: the old one ends when this one is
// saved, and its applications hear of it, so no token or impersonation of
// the old login carries over. Until then the old login stands: a link
// that asks for a new login logs nobody out by itself.
func (m *Manager) Login(s *Session, userID uuid.UUID, ttl time.Duration, amr []string) {
	now := m.Now()
	s.Data.NeedsLogin = false
	if s.rec.UserID.Valid && !s.isNew {
		old := *s.rec
		s.replaces = &old
		s.rec = &store.Session{ID: uuid.Must(uuid.NewV7()), IP: old.IP, UserAgent: old.UserAgent, CreatedAt: now, LastSeen: now}
		s.isNew = true
		delete(s.Data.Values, impersonatorKey)
	}
	s.rec.UserID = uuid.NullUUID{UUID: userID, Valid: true}
	s.Data.AuthTime, s.Data.AMR = now, amr
	s.Data.CSRF = "" // a new CSRF secret with the new identity
	s.ttl = ttl
	if ttl > 0 {
		s.rec.Expires = now.Add(ttl)
	} else {
		s.rec.Expires = now.Add(m.DefaultAge)
	}
	s.secret = newSecret()
	s.dirty = true
}

// logout ends the session and returns the cookie that clears it.
func (m *Manager) logout(ctx context.Context, s *Session, secure bool) ([]Cookie, error) {
	clear := []Cookie{m.cookie(secure, "", 0)}
	if s.isNew {
		return clear, nil
	}
	err := m.end(ctx, s.sc, *s.rec)
	*s = Session{rec: &store.Session{ID: uuid.Must(uuid.NewV7())}, sc: s.sc, isNew: true}
	return clear, err
}

// end deletes a stored session and tells Ended, in one transaction. Only
// the request that deleted the row reports it, so a session ended twice
// at once is announced once; for the other it is already gone, which is
// no error.
func (m *Manager) end(ctx context.Context, sc store.Scope, ended store.Session) error {
	err := m.delete(ctx, sc, ended)
	if errors.Is(err, store.ErrNotFound) {
		err = nil
	}
	return err
}

// delete deletes ended and, in the same transaction, tells Ended;
// ErrNotFound if it was already gone.
func (m *Manager) delete(ctx context.Context, sc store.Scope, ended store.Session) error {
	return sc.Tx(ctx, func(tx store.Scope) error {
		if err := tx.Sessions().Delete(ctx, ended.ID); err != nil {
			return err
		}
		if m.Ended != nil {
			m.Ended(ctx, tx, ended)
		}
		return nil
	})
}

// CSRFToken returns the session's CSRF secret, creating it on first use.
func (s *Session) CSRFToken() string {
	if s.Data.CSRF == "" {
		s.Data.CSRF = newSecret()
		s.dirty = true
	}
	return s.Data.CSRF
}

// CheckCSRF compares a submitted token with the session's in constant time.
func (s *Session) CheckCSRF(token string) bool {
	return s.Data.CSRF != "" && token != "" && crypto.Equal(token, s.Data.CSRF)
}

// Value decodes a stored value into v; false if absent.
func (s *Session) Value(key string, v any) bool {
	raw, ok := s.Data.Values[key]
	return ok && json.Unmarshal(raw, v) == nil
}

// SetValue stores v under key (nil deletes it).
func (s *Session) SetValue(key string, v any) {
	if v == nil {
		if _, ok := s.Data.Values[key]; ok {
			delete(s.Data.Values, key)
			s.dirty = true
		}
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	if s.Data.Values == nil {
		s.Data.Values = map[string]json.RawMessage{}
	}
	s.Data.Values[key] = b
	s.dirty = true
}
