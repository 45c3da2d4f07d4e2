package core

import (
	"context"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// userFields are a user's fields by Authentik's names: what a
// model_updated event compares.
func userFields(u *store.User) map[string]any {
	return map[string]any{"username": u.Username, "name": u.Name, "email": u.Email, "email_verified": u.EmailVerified,
		"is_active": u.IsActive, "type": string(u.Type), "path": u.Path, "attributes": u.Attributes}
}

// CreateUser stores u, hashing plain when it is not empty (at least
// MinPasswordLength characters); a u.PasswordHash already set is kept
// when plain is empty (a blueprint's, hashed by its own hook). A new user
// holds nothing, so the rule has nothing to ask.
func (w Writer) CreateUser(ctx context.Context, sc store.Scope, u *store.User, plain string) error {
	// Hashed before the transaction: hashing inside it would hold
	// SQLite's single writer for the hash's duration.
	if err := w.c.hashInto(ctx, u, plain); err != nil {
		return err
	}
	return w.write(ctx, sc, func(tx store.Scope) ([]*store.Event, error) {
		if err := tx.Users().Create(ctx, u); err != nil {
			return nil, err
		}
		return []*store.Event{ModelEvent("model_created", ModelUser, u.ID, u.Username, nil)}, nil
	})
}

// UpdateUser applies change to the user whose version is version (any
// version when 0; store.ErrConflict otherwise). Any change is acting on
// the user (MayActOn). A user left inactive has every session ended in
// the same transaction, not at its expiry.
func (w Writer) UpdateUser(ctx context.Context, sc store.Scope, id uuid.UUID, version int64, change func(*store.User) error) (*store.User, error) {
	u, _, err := w.updateUser(ctx, sc, id, version, change)
	return u, err
}

// DeactivateUser is UpdateUser making the user inactive; it reports how
// many sessions it ended.
func (w Writer) DeactivateUser(ctx context.Context, sc store.Scope, id uuid.UUID) (sessionsEnded int, err error) {
	_, n, err := w.updateUser(ctx, sc, id, 0, func(u *store.User) error { u.IsActive = false; return nil })
	return n, err
}

func (w Writer) updateUser(ctx context.Context, sc store.Scope, id uuid.UUID, version int64, change func(*store.User) error) (*store.User, int, error) {
	var out *store.User
	var ended int
	err := w.write(ctx, sc, func(tx store.Scope) ([]*store.Event, error) {
		u, before, err := updated(ctx, id, version, tx.Users().Update, func(u *store.User) int64 { return u.Version }, userFields, change)
		if err != nil {
			return nil, err
		}
		if !u.IsActive {
			if ended, err = tx.Sessions().DeleteForUser(ctx, u.ID, uuid.Nil); err != nil {
				return nil, err
			}
		}
		out = u
		return []*store.Event{ModelEvent("model_updated", ModelUser, u.ID, u.Username,
			Changes(before, userFields(u)))}, nil
	}, OnUser(id))
	return out, ended, err
}

// DeleteUser deletes a user (acting on them).
func (w Writer) DeleteUser(ctx context.Context, sc store.Scope, id uuid.UUID) error {
	return w.write(ctx, sc, func(tx store.Scope) ([]*store.Event, error) {
		return deleted(ctx, ModelUser, id, tx.Users().Get, func(u *store.User) string { return u.Username }, tx.Users().Delete)
	}, OnUser(id))
}

// ResetPassword sets a user's password for them (acting on them): a
// reset, which ends what the old password let in (SetPassword), except
// the session keep (the actor's own, uuid.Nil for none). It records
// password_set naming the user, and who set it ("by").
func (w Writer) ResetPassword(ctx context.Context, sc store.Scope, id uuid.UUID, plain string, keep uuid.UUID) error {
	if _, err := sc.Users().Get(ctx, id); err != nil {
		return err
	}
	// Asked apart from the write: hashing inside its transaction would
	// hold SQLite's single writer for the hash's duration.
	if err := w.c.Guard(ctx, sc, w.actor.powers(), nil, OnUser(id)); err != nil {
		return err
	}
	if err := w.c.SetPassword(ctx, sc, id, plain, PasswordWrite{Reset: true, Session: keep}); err != nil {
		return err
	}
	e := &store.Event{Action: "password_set", UserID: uuid.NullUUID{UUID: id, Valid: true}, Context: map[string]any{}}
	if w.actor != nil && w.actor.User != nil {
		e.Context["by"] = w.actor.User.Username
	}
	w.Record(ctx, sc, e)
	return nil
}
