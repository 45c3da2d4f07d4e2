package session

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// impersonatorKey holds, in Data.Values, the user who started an
// impersonation; the session's user is then the impersonated one, so every
// package that reads UserID acts as that user without knowing about it.
const impersonatorKey = "impersonator"

// ErrImpersonating refuses an impersonation inside another: ending it
// would otherwise restore the wrong user.
var ErrImpersonating = errors.New("session: already impersonating")

// Impersonator is the user behind an impersonation, if one is running.
func (s *Session) Impersonator() uuid.NullUUID { return impersonatorOf(s.Data) }

// ImpersonatorOf reads the impersonator of a stored session (for lists of
// sessions, which are not loaded from a request).
func ImpersonatorOf(rec store.Session) uuid.NullUUID {
	var d Data
	if json.Unmarshal(rec.Data, &d) != nil {
		return uuid.NullUUID{}
	}
	return impersonatorOf(d)
}

func impersonatorOf(d Data) uuid.NullUUID {
	var id uuid.UUID
	raw, ok := d.Values[impersonatorKey]
	if !ok || json.Unmarshal(raw, &id) != nil || id == uuid.Nil {
		return uuid.NullUUID{}
	}
	return uuid.NullUUID{UUID: id, Valid: true}
}

// Impersonate makes the logged-in session act as target and remembers who
// started it. It writes at once, without a new cookie: the browser and its
// CSRF token stay the same, as in Authentik, where the session carries both
// users.
func (m *Manager) Impersonate(ctx context.Context, s *Session, target uuid.UUID) error {
	if !s.Authenticated() || s.isNew {
		return errors.New("session: impersonation needs a logged-in session")
	}
	if s.Impersonator().Valid {
		return ErrImpersonating
	}
	s.SetValue(impersonatorKey, s.rec.UserID.UUID)
	s.rec.UserID = uuid.NullUUID{UUID: target, Valid: true}
	return m.write(ctx, s)
}

// EndImpersonation gives the session back to the impersonator and returns
// who that is; ok is false when no impersonation was running.
func (m *Manager) EndImpersonation(ctx context.Context, s *Session) (original uuid.UUID, ok bool, err error) {
	imp := s.Impersonator()
	if !imp.Valid {
		return uuid.Nil, false, nil
	}
	s.SetValue(impersonatorKey, nil)
	s.rec.UserID = imp
	return imp.UUID, true, m.write(ctx, s)
}

func (m *Manager) write(ctx context.Context, s *Session) error {
	b, err := json.Marshal(s.Data)
	if err != nil {
		return err
	}
	s.rec.Data, s.rec.LastSeen = b, m.Now()
	if err := s.sc.Sessions().Save(ctx, s.rec); err != nil {
		return err
	}
	s.dirty = false
	return nil
}

// End ends a stored session that is not the request's own (an admin or the
// user revoking it from a list) the way Logout does: the Ended hook hears
// of it, so applications signed in through it get their back-channel
// logout. ctx is the request's that ends it, for the issuer those
// applications know.
func (m *Manager) End(ctx context.Context, sc store.Scope, id uuid.UUID) error {
	rec, err := sc.Sessions().Get(ctx, id)
	if err != nil {
		return err
	}
	return m.delete(ctx, sc, *rec)
}
