// Package core holds the identity rules that sit above storage: creating
// users with hashed passwords, checking passwords (and upgrading old hashes
// on the way), issuing and checking tokens, deciding who is a superuser, and
// the first-start bootstrap. It knows nothing about HTTP.
package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/crypto"
	"github.com/gatehouse-id/gatehouse/internal/crypto/password"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Names shared with Authentik's conventions (ours says gatehouse).
const (
	AdminUsername    = "akadmin"
	AdminGroupName   = "gatehouse Admins"
	BootstrapTokenID = "gatehouse-bootstrap-token"
	// TokenLength is Authentik's default_token_length.
	TokenLength = 60
)

// Core is safe for concurrent use.
type Core struct {
	Store  store.Store
	Hasher *password.Hasher
	Log    *slog.Logger
	Now    func() time.Time
	// Catalog lists the full permission names the API checks, so that a
	// role's permission named without its app label (view_user) compares
	// equal to the full name (authentik_core.view_user). Nil compares
	// names as they are.
	Catalog func() []string
}

// New returns a Core with the real clock.
func New(st store.Store, h *password.Hasher, log *slog.Logger) *Core {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Core{Store: st, Hasher: h, Log: log, Now: time.Now}
}

// ErrWeakPassword is returned for a password too short to set.
var ErrWeakPassword = errors.New("password too short")

// MinPasswordLength applies where no password policy is bound (CLI, API);
// flows apply their own policies on top.
const MinPasswordLength = 8

// CreateUser stores u, hashing plain when it is not empty.
func (c *Core) CreateUser(ctx context.Context, sc store.Scope, u *store.User, plain string) error {
	if plain != "" {
		if err := checkLength(plain); err != nil {
			return err
		}
		h, err := c.Hasher.Hash(ctx, plain)
		if err != nil {
			return err
		}
		u.PasswordHash, u.PasswordChangeDate = h, c.Now()
	}
	return sc.Users().Create(ctx, u)
}

func checkLength(plain string) error {
	if len([]rune(plain)) < MinPasswordLength {
		return store.Invalid("password", "must be at least %d characters", MinPasswordLength)
	}
	return nil
}

// SetPassword hashes plain and stores it as the user's password.
func (c *Core) SetPassword(ctx context.Context, sc store.Scope, userID uuid.UUID, plain string) error {
	if err := checkLength(plain); err != nil {
		return err
	}
	h, err := c.Hasher.Hash(ctx, plain)
	if err != nil {
		return err
	}
	return sc.Users().SetPassword(ctx, userID, h, c.Now())
}

// CheckPassword verifies plain against u's hash. A hash in an older format
// or with weaker parameters (Authentik's Django pbkdf2, bcrypt) is replaced
// by a current argon2id hash after a successful check. A nil user spends the
// same work as a real check, so callers can pass an unknown user straight in
// and never answer faster for it.
func (c *Core) CheckPassword(ctx context.Context, sc store.Scope, u *store.User, plain string) (bool, error) {
	if u == nil || !u.HasUsablePassword() {
		c.Hasher.Dummy(ctx, plain)
		return false, ctx.Err()
	}
	ok, rehash, err := c.Hasher.Verify(ctx, plain, u.PasswordHash)
	if err != nil {
		// An unreadable stored hash is an operator problem, not the
		// user's: log it, and answer as for a wrong password.
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		c.Log.Warn("stored password hash cannot be verified", "user", u.ID, "error", err)
		return false, nil
	}
	if ok && rehash {
		if h, err := c.Hasher.Hash(ctx, plain); err == nil {
			// Only while the stored hash is still the one just checked: a
			// password set in the meantime (an admin's reset) must not be
			// replaced by the old one. The change date is kept: the
			// password did not change.
			_, err := sc.Users().Update(ctx, u.ID, func(cur *store.User) error {
				if cur.PasswordHash != u.PasswordHash {
					return errPasswordChanged
				}
				cur.PasswordHash = h
				return nil
			})
			if err != nil && !errors.Is(err, errPasswordChanged) {
				c.Log.Warn("password rehash not saved", "user", u.ID, "error", err)
			}
		}
	}
	return ok, nil
}

var errPasswordChanged = errors.New("password changed since it was checked")

// IsSuperuser reports whether any of the user's effective groups (direct
// or inherited) is a superuser group.
func (c *Core) IsSuperuser(ctx context.Context, sc store.Scope, userID uuid.UUID) (bool, error) {
	gs, err := sc.Groups().ForUser(ctx, userID, true)
	if err != nil {
		return false, err
	}
	for _, g := range gs {
		if g.IsSuperuser {
			return true, nil
		}
	}
	return false, nil
}

// CreateToken stores t with a new random secret, or with secret when it is
// given (bootstrap tokens), and returns the secret. Only its hash is kept.
func (c *Core) CreateToken(ctx context.Context, sc store.Scope, t *store.Token, secret string) (string, error) {
	if secret == "" {
		secret = crypto.Token(TokenLength)
	}
	if t.Identifier == "" {
		t.Identifier = fmt.Sprintf("%s-%s", t.Intent, strings.ToLower(crypto.Token(12)))
	}
	t.KeyHash = crypto.HashToken(secret)
	if err := sc.Tokens().Create(ctx, t); err != nil {
		return "", err
	}
	return secret, nil
}

// ErrBadToken covers unknown, expired, wrong-intent tokens and inactive
// owners alike, so a caller cannot probe which one it was.
var ErrBadToken = errors.New("invalid token")

// AuthenticateToken finds the active owner of a token secret with intent.
func (c *Core) AuthenticateToken(ctx context.Context, sc store.Scope, secret string, intent store.TokenIntent) (*store.Token, *store.User, error) {
	if secret == "" || len(secret) > 512 {
		return nil, nil, ErrBadToken
	}
	t, err := sc.Tokens().GetByKeyHash(ctx, crypto.HashToken(secret))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, ErrBadToken
	}
	if err != nil {
		return nil, nil, err
	}
	if t.Intent != intent || t.Expired(c.Now()) {
		return nil, nil, ErrBadToken
	}
	u, err := sc.Users().Get(ctx, t.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !u.IsActive) {
		return nil, nil, ErrBadToken
	}
	if err != nil {
		return nil, nil, err
	}
	return t, u, nil
}
