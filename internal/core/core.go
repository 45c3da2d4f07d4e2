// Package core is the domain layer above storage: the identity rules
// (hashing and checking passwords, upgrading old hashes on the way,
// issuing and checking tokens, deciding who is a superuser, the
// first-start bootstrap), the rule of who may act on whom (authz.go,
// guard.go), and the one write path for users, groups, roles, tokens,
// applications and providers (write.go): every front end (the REST API,
// the CLI, blueprints) writes them through Core.As(actor), which applies
// the rule, records Authentik's model_* events and invalidates caches.
// Its inputs are plain Go values; it knows nothing about HTTP.
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
	"github.com/gatehouse-id/gatehouse/internal/invalidate"
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
	// KeepSessionsOnPasswordChange turns off what SetPassword ends
	// (sessions.end_on_password_change: false).
	KeepSessionsOnPasswordChange bool
	// SessionEnded, when set, is told about each session SetPassword ends,
	// inside the transaction that stores the password (tx is its scope),
	// so that the jobs it queues there (OpenID back-channel logouts) go
	// out if and only if the password is stored. The composition root
	// sets it to the protocol packages' hook (session.Manager.Ended's),
	// which core must not import.
	SessionEnded func(ctx context.Context, tx store.Scope, ended store.Session)
	// Events records the model events of domain writes; nil records none.
	Events EventWriter
	// Bus announces domain writes to every replica's caches; nil
	// announces nothing (a process with no caches).
	Bus *invalidate.Bus
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

// CreateUser stores u, hashing plain when it is not empty. It is the
// storage step alone: no actor, no rule, no event. Flows use it for the
// user who enrolls (their stage records its own event), Bootstrap for
// akadmin; a write made by someone goes through As(actor).CreateUser.
func (c *Core) CreateUser(ctx context.Context, sc store.Scope, u *store.User, plain string) error {
	if err := c.hashInto(ctx, u, plain); err != nil {
		return err
	}
	return sc.Users().Create(ctx, u)
}

// hashInto sets u's password to plain, hashed; "" leaves it as it is.
func (c *Core) hashInto(ctx context.Context, u *store.User, plain string) error {
	if plain == "" {
		return nil
	}
	if err := checkLength(plain); err != nil {
		return err
	}
	h, err := c.Hasher.Hash(ctx, plain)
	if err != nil {
		return err
	}
	u.PasswordHash, u.PasswordChangeDate = h, c.Now()
	return nil
}

func checkLength(plain string) error {
	if len([]rune(plain)) < MinPasswordLength {
		return store.Invalid("password", "must be at least %d characters", MinPasswordLength)
	}
	return nil
}

// PasswordWrite says how a password is being replaced.
type PasswordWrite struct {
	// Reset is a password set for the user rather than changed by them
	// knowing the old one: the recovery flow, an admin (API, CLI), an
	// impersonating admin. The old password may be in other hands.
	Reset bool
	// Session is the session the write is made in, kept logged in (the
	// user changing their own password stays logged in there); uuid.Nil
	// for none.
	Session uuid.UUID
}

// SetPassword hashes plain and stores it as the user's password, and ends
// what the old password let anyone in (passwordReplaced). Every password
// write goes through here, so the rule holds whatever the path.
func (c *Core) SetPassword(ctx context.Context, sc store.Scope, userID uuid.UUID, plain string, w PasswordWrite) error {
	if err := checkLength(plain); err != nil {
		return err
	}
	h, err := c.Hasher.Hash(ctx, plain)
	if err != nil {
		return err
	}
	return sc.Tx(ctx, func(tx store.Scope) error {
		if err := tx.Users().SetPassword(ctx, userID, h, c.Now()); err != nil {
			return err
		}
		return c.passwordReplaced(ctx, tx, userID, w)
	})
}

// passwordReplaced ends, in the transaction that stores the new password,
// what the old one opened: every other session of the user, and every
// OAuth code and token not issued in the kept session (refresh tokens
// included: a session's tokens end with it, as at logout). A reset also
// deletes the user's app passwords, which were as good as the password
// to whoever held it; API tokens stay (automation the user or an admin
// manages, and lists, on its own).
func (c *Core) passwordReplaced(ctx context.Context, tx store.Scope, userID uuid.UUID, w PasswordWrite) error {
	if c.KeepSessionsOnPasswordChange {
		return nil
	}
	var ending []*store.Session
	if c.SessionEnded != nil {
		// Listed before they are deleted, so the hook hears of each. A
		// session that appears in between is deleted all the same, and its
		// tokens revoked with the rest.
		list, err := tx.Sessions().ListForUser(ctx, userID)
		if err != nil {
			return err
		}
		for _, s := range list {
			if s.ID != w.Session {
				ending = append(ending, s)
			}
		}
	}
	sessions, err := tx.Sessions().DeleteForUser(ctx, userID, w.Session)
	if err != nil {
		return err
	}
	tokens, err := tx.Artifacts().ConsumeForUser(ctx, userID, w.Session, c.Now())
	if err != nil {
		return err
	}
	for _, s := range ending {
		c.SessionEnded(ctx, tx, *s)
	}
	apps := 0
	if w.Reset {
		list, err := tx.Tokens().ListForUser(ctx, userID)
		if err != nil {
			return err
		}
		for _, t := range list {
			if t.Intent != store.IntentAppPassword {
				continue
			}
			if err := tx.Tokens().Delete(ctx, t.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			apps++
		}
	}
	if sessions+tokens+apps > 0 {
		c.Log.Info("password replaced: old access ended", "user", userID, "reset", w.Reset,
			"sessions", sessions, "oauth_tokens", tokens, "app_passwords", apps)
	}
	return nil
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
// Like CreateUser it is the storage step alone; a token someone mints goes
// through As(actor).CreateToken, which applies the lifetime rules.
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
