package core

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// DefaultTokenDuration is Authentik's default_token_duration (days=1).
const DefaultTokenDuration = 24 * time.Hour

// AttrTokenExpires is the user attribute that lets users without
// add_token make tokens that never expire (Authentik's).
const AttrTokenExpires = "goauthentik.io/user/token-expires"

// AttrTokenMaxLifetime is the user attribute (Authentik's, a timedelta
// such as "days=30") that raises how far ahead users without add_token
// may set an expiry; without it, DefaultTokenDuration.
const AttrTokenMaxLifetime = "goauthentik.io/user/token-maximum-lifetime"

// permAddToken lets its holder choose any expiry, for tokens of the users
// they may act on.
const permAddToken = "authentik_core.add_token"

// maxTokenLifetime is how long a token may live when its maker lacks
// add_token. Authentik reads the attribute from the user and their
// groups; here only the user's counts, set by whoever may change the
// user, so that change_group alone cannot lengthen its holder's tokens.
func maxTokenLifetime(owner *store.User) time.Duration {
	if v, ok := owner.Attributes[AttrTokenMaxLifetime].(string); ok {
		if d, err := config.ParseDuration(v); err == nil && d > 0 {
			return d
		}
	}
	return DefaultTokenDuration
}

// NewToken is a token to mint.
type NewToken struct {
	// Owner is whose token it is: minting one for someone is acting on
	// them (a token is its owner's identity). Nil: the actor's own user.
	Owner       uuid.UUID
	Identifier  string // unique among the owner's tokens; generated when ""
	Intent      store.TokenIntent
	Description string
	// Expires is when the token expires; nil takes the default, one day.
	Expires *time.Time
	// Expiring false asks for a token that never expires; nil is true.
	Expiring *bool
}

// CreateToken mints a token and returns it with its secret, which is
// stored hashed and never shown again. An actor without add_token (making
// their own) gets Authentik's limits: an expiry at most a day ahead, or
// the owner's token-maximum-lifetime, and a token that never expires only
// when an admin allowed it on the owner (token-expires false).
func (w Writer) CreateToken(ctx context.Context, sc store.Scope, in NewToken) (*store.Token, string, error) {
	owner, err := w.tokenOwner(ctx, sc, in.Owner)
	if err != nil {
		return nil, "", err
	}
	t := &store.Token{UserID: owner.ID, Intent: store.IntentAPI, Identifier: in.Identifier, Description: in.Description}
	if in.Intent != "" {
		t.Intent = in.Intent
		if t.Intent != store.IntentAPI && t.Intent != store.IntentAppPassword {
			return nil, "", store.Invalid("intent", "must be api or app_password")
		}
	}
	if t.Expires, err = w.tokenExpiry(owner, in); err != nil {
		return nil, "", err
	}
	var secret string
	err = w.write(ctx, sc, func(tx store.Scope) ([]*store.Event, error) {
		var err error
		if secret, err = w.c.CreateToken(ctx, tx, t, ""); err != nil {
			return nil, err
		}
		return []*store.Event{ModelEvent("model_created", ModelToken, t.ID, t.Identifier, nil)}, nil
	}, OnUser(owner.ID))
	if err != nil {
		return nil, "", err
	}
	return t, secret, nil
}

func (w Writer) tokenOwner(ctx context.Context, sc store.Scope, id uuid.UUID) (*store.User, error) {
	if id == uuid.Nil {
		if w.actor == nil || w.actor.User == nil {
			return nil, store.Invalid("user", "is required")
		}
		return w.actor.User, nil
	}
	u, err := sc.Users().Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, store.Invalid("user", "no such user")
	}
	return u, err
}

// tokenExpiry applies the lifetime rules: zero is never.
func (w Writer) tokenExpiry(owner *store.User, in NewToken) (time.Time, error) {
	admin := w.actor.can(permAddToken)
	expiring := in.Expiring == nil || *in.Expiring
	if !expiring && in.Expires != nil {
		return time.Time{}, store.Invalid("expires", "must be absent when expiring is false")
	}
	if !admin {
		// Authentik lets users make non-expiring tokens only when an
		// admin allowed it on them.
		if v, ok := owner.Attributes[AttrTokenExpires].(bool); !ok || v {
			expiring = true
		}
	}
	now, limit := w.c.Now(), maxTokenLifetime(owner)
	switch {
	case !expiring:
		return time.Time{}, nil
	case in.Expires == nil && !admin:
		return now.Add(min(DefaultTokenDuration, limit)), nil
	case in.Expires == nil:
		return now.Add(DefaultTokenDuration), nil
	case !in.Expires.After(now):
		return time.Time{}, store.Invalid("expires", "must be in the future")
	case !admin && in.Expires.After(now.Add(limit)):
		return time.Time{}, store.Invalid("expires", "must be at most %s from now", config.FormatDuration(limit))
	}
	return *in.Expires, nil
}

// DeleteToken deletes a token (acting on its owner).
func (w Writer) DeleteToken(ctx context.Context, sc store.Scope, id uuid.UUID) error {
	t, err := sc.Tokens().Get(ctx, id)
	if err != nil {
		return err
	}
	return w.write(ctx, sc, func(tx store.Scope) ([]*store.Event, error) {
		if err := tx.Tokens().Delete(ctx, id); err != nil {
			return nil, err
		}
		return []*store.Event{ModelEvent("model_deleted", ModelToken, id, t.Identifier, nil)}, nil
	}, OnUser(t.UserID))
}
